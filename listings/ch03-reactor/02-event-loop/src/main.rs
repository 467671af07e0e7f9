extern crate mio; // `mdbook test` links crates by name

use std::collections::HashMap;
use std::env;
use std::io::{self, ErrorKind, Read, Write};

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
    loop {
        // The only place where the thread waits.
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for event in &events {
            let token = event.token();
            if token == LISTENER {
                accept(&listener, &poll, &mut conns, &mut next_token)?;
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
    }
}
// ANCHOR_END: here

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
    use std::time::Duration;

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
}
