use std::env;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

// ANCHOR: here
/// Accepts clients for ever, and gives each one a thread of its own.
pub fn run(listener: TcpListener) -> io::Result<()> {
    loop {
        let (stream, _peer) = match listener.accept() {
            Ok(accepted) => accepted,
            // A client that gave up before we accepted it: not our error.
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            Err(e) => return Err(e),
        };
        thread::spawn(move || {
            // An error ends this client's thread, and nothing else.
            let _ = echo(stream);
        });
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
    use std::time::{Duration, Instant};

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
}
