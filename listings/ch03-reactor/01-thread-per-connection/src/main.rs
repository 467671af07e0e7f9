use std::env;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

// ANCHOR: here
/// Accepts clients for ever, and gives each one a thread of its own.
pub fn run(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _peer) = match listener.accept() {
            Ok(accepted) => accepted,
            // A client that gave up before we accepted it: not our error.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            // Out of file descriptors, most likely: the client waits in
            // the backlog, and we wait a little before we try again.
            Err(e) => {
                eprintln!("accept: {e}; retrying in 100 ms");
                thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let spawned = thread::Builder::new().spawn(move || {
            // An error ends this client's thread, and nothing else.
            let _ = echo(stream);
        });
        if let Err(e) = spawned {
            // No thread for it: this client's connection is closed.
            eprintln!("spawn: {e}");
        }
    }
}

/// Sends back every byte the client sends, until it closes.
fn echo(mut stream: TcpStream) -> io::Result<()> {
    let mut buf = [0; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()), // The client closed its side.
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        stream.write_all(&buf[..n])?; // Blocks while the client is slow.
    }
}
// ANCHOR_END: here

// ANCHOR: main
fn main() -> io::Result<()> {
    let addr = env::args().nth(1).unwrap_or("127.0.0.1:7000".into());
    let listener = TcpListener::bind(&addr)?;
    println!("echo server on {}", listener.local_addr()?);
    run(listener)
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Shutdown, SocketAddr};
    use std::time::Instant;

    fn start() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || run(listener));
        addr
    }

    fn connect(addr: SocketAddr) -> TcpStream {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    #[test]
    fn echoes_while_another_client_sits_idle() {
        let addr = start();
        let _idle = connect(addr);
        let mut c = connect(addr);
        c.write_all(b"hello").unwrap();
        let mut buf = [0; 5];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
    }

    #[test]
    fn flushes_everything_before_closing() {
        let addr = start();
        let mut c = connect(addr);
        let data: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
        let mut writer = c.try_clone().unwrap();
        let sent = data.clone();
        let w = thread::spawn(move || {
            writer.write_all(&sent).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let start = Instant::now();
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap();
        w.join().unwrap();
        assert_eq!(back, data);
        assert!(start.elapsed() < Duration::from_secs(5));
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
