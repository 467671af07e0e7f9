extern crate mio; // `mdbook test` links crates by name

use std::collections::HashMap;
use std::env;
use std::io::{self, ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

// ANCHOR: conn
/// One client: its socket, the bytes we owe it, and whether it has
/// closed its side.
struct Conn {
    stream: TcpStream,
    out: Vec<u8>,
    eof: bool,
}

impl Conn {
    /// Does all the work the socket allows right now. Returns
    /// `Ok(false)` when the connection is finished and can be closed.
    fn ready(&mut self) -> io::Result<bool> {
        let mut buf = [0; 16 * 1024];
        loop {
            // First we send what we owe; we read more only when we owe
            // nothing, so a client that does not read stops being read.
            while !self.out.is_empty() {
                match self.stream.write(&self.out) {
                    Ok(0) => return Err(ErrorKind::WriteZero.into()),
                    Ok(n) => drop(self.out.drain(..n)),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        return Ok(true); // Wait until it is writable.
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            if self.eof {
                return Ok(false); // Everything echoed: we may close.
            }
            match self.stream.read(&mut buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    return Ok(true); // Wait until it is readable.
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}
// ANCHOR_END: conn

// ANCHOR: here
const LISTENER: Token = Token(0);

/// Serves every client from this one thread.
pub fn run(listener: std::net::TcpListener) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut conns: HashMap<Token, Conn> = HashMap::new();
    let mut next_token = 1;
    let mut events = Events::with_capacity(1024);
    let mut retry: Option<Instant> = None; // When to accept again.
    loop {
        // The only place where the thread waits.
        let timeout =
            retry.map(|at| at.saturating_duration_since(Instant::now()));
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let mut accepting = retry.is_some_and(|at| at <= Instant::now());
        for event in &events {
            let token = event.token();
            if token == LISTENER {
                accepting = true;
                continue;
            }
            let Some(conn) = conns.get_mut(&token) else {
                continue; // Already closed.
            };
            if !matches!(conn.ready(), Ok(true)) {
                // Finished or failed: only this connection ends.
                let mut conn = conns.remove(&token).unwrap();
                let _ = poll.registry().deregister(&mut conn.stream);
            } // Dropping `conn` closes its socket.
        }
        if accepting {
            retry = None;
            if let Err(e) =
                accept(&listener, &poll, &mut conns, &mut next_token)
            {
                // Out of file descriptors, most likely. Clients wait in
                // the backlog, and no new event will come for them: we
                // try again on our own, 100 ms from now.
                eprintln!("accept: {e}; retrying in 100 ms");
                retry = Some(Instant::now() + Duration::from_millis(100));
            }
        }
    }
}
// ANCHOR_END: here

// ANCHOR: accept
/// Accepts every waiting client and registers it under a new token.
fn accept(
    listener: &TcpListener,
    poll: &Poll,
    conns: &mut HashMap<Token, Conn>,
    next_token: &mut usize,
) -> io::Result<()> {
    loop {
        let mut stream = match listener.accept() {
            Ok((stream, _peer)) => stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) if transient(&e) => continue,
            Err(e) => return Err(e),
        };
        let token = Token(*next_token);
        *next_token += 1;
        let both = Interest::READABLE | Interest::WRITABLE;
        poll.registry().register(&mut stream, token, both)?;
        let (out, eof) = (Vec::new(), false);
        conns.insert(token, Conn { stream, out, eof });
    }
}
// ANCHOR_END: accept

/// Accept errors that concern one client, not the listener.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Interrupted
            | ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
    )
}

fn main() -> io::Result<()> {
    let addr = env::args().nth(1).unwrap_or("127.0.0.1:7000".into());
    let listener = std::net::TcpListener::bind(&addr)?;
    println!("echo server on {}", listener.local_addr()?);
    run(listener)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Shutdown, SocketAddr};
    use std::thread;

    fn start() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || run(listener));
        addr
    }

    fn connect(addr: SocketAddr) -> std::net::TcpStream {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    #[test]
    fn echoes_to_many_clients_on_one_thread() {
        let addr = start();
        let _idle = connect(addr);
        let mut clients: Vec<_> = (0..50).map(|_| connect(addr)).collect();
        for (i, c) in clients.iter_mut().enumerate() {
            c.write_all(format!("{i:04}").as_bytes()).unwrap();
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let mut buf = [0; 4];
            c.read_exact(&mut buf).unwrap();
            assert_eq!(buf, format!("{i:04}").as_bytes());
        }
    }

    #[test]
    fn flushes_everything_before_closing() {
        let addr = start();
        let mut c = connect(addr);
        let data: Vec<u8> = (0..2_000_000u32).map(|i| i as u8).collect();
        let mut writer = c.try_clone().unwrap();
        let sent = data.clone();
        let w = thread::spawn(move || {
            writer.write_all(&sent).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap();
        w.join().unwrap();
        assert_eq!(back, data);
    }
    /// A new client gets its bytes back.
    fn served(addr: SocketAddr) -> bool {
        let mut c = connect(addr);
        c.write_all(b"still there?").unwrap();
        let mut buf = [0; 12];
        c.read_exact(&mut buf).is_ok() && &buf == b"still there?"
    }

    /// Runs the test `name` of this module again, alone, in a child
    /// process, and checks that it passed there: the test changes the
    /// process's limit on open files, which the other tests share.
    /// Returns `true` in the child, where the test's body is to run.
    #[cfg(unix)]
    fn in_a_child_process(name: &str) -> bool {
        if std::env::var_os("BOOK_TEST_CHILD").is_some() {
            return true;
        }
        // This module's path, without the crate's name: `tests`.
        let module = module_path!().split_once("::").unwrap().1;
        let test = format!("{module}::{name}");
        let child =
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([test.as_str(), "--exact", "--test-threads=1"])
                .env("BOOK_TEST_CHILD", "1")
                .output()
                .unwrap();
        let out = String::from_utf8_lossy(&child.stdout);
        let err = String::from_utf8_lossy(&child.stderr);
        assert!(
            child.status.success() && out.contains("1 passed"),
            "{test} failed in its child process:\n{out}\n{err}"
        );
        false
    }

    /// A client takes the process's last file descriptor, so the server
    /// cannot accept it: `accept` fails with `EMFILE`. The server must
    /// wait, not stop, and serve that client and others once
    /// descriptors are free again.
    #[test]
    #[cfg(unix)] // Descriptors and their limit are Unix's.
    fn out_of_file_descriptors_the_server_waits() {
        use std::{fs, os::fd::AsRawFd};
        if !in_a_child_process("out_of_file_descriptors_the_server_waits") {
            return;
        }
        let addr = start();
        assert!(served(addr)); // Up, with all it needs open.
        let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
        // The lowest free descriptor is the next one handed out; a limit
        // one above it leaves exactly one: for the client's socket.
        let lowest = fs::File::open(std::env::current_exe().unwrap()).unwrap();
        let limit = lowest.as_raw_fd() as u64 + 1;
        drop(lowest);
        rlimit::Resource::NOFILE.set(limit, hard).unwrap();
        let mut client = std::net::TcpStream::connect(addr);
        // The kernel completed the connection; the server could not take
        // it. Give its `accept` time to fail, a few times.
        thread::sleep(Duration::from_millis(300));
        rlimit::Resource::NOFILE.set(soft, hard).unwrap();
        let client = client.as_mut().expect("the client got no socket");
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        client.write_all(b"ping").unwrap();
        let mut buf = [0; 4];
        client
            .read_exact(&mut buf)
            .expect("the waiting client was lost");
        assert_eq!(&buf, b"ping");
        assert!(served(addr));
    }
}
