extern crate tokio; // `mdbook test` links crates by name

use std::env;
use std::io::{self, ErrorKind};
use std::thread;

use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Builder, Runtime};

// ANCHOR: here
/// Accepts clients for ever, and gives each one a task of its own.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
            Err(e) => return Err(e),
        };
        tokio::spawn(async move {
            // An error ends this client's task, and nothing else.
            let _ = echo(stream).await;
        });
    }
}

/// Sends back every byte the client sends, until it closes.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let (mut reader, mut writer) = stream.split();
    tokio::io::copy(&mut reader, &mut writer).await?;
    Ok(())
}
// ANCHOR_END: here

// ANCHOR: runtimes
/// The echo server on one thread, like our reactor.
pub fn run_current_thread(listener: std::net::TcpListener) -> io::Result<()> {
    let runtime = Builder::new_current_thread().enable_all().build()?;
    serve_on(runtime, listener)
}

/// The echo server on `workers` threads that steal work from each other.
pub fn run_multi_thread(
    listener: std::net::TcpListener,
    workers: usize,
) -> io::Result<()> {
    let runtime = Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    serve_on(runtime, listener)
}

fn serve_on(
    runtime: Runtime,
    listener: std::net::TcpListener,
) -> io::Result<()> {
    listener.set_nonblocking(true)?; // Tokio expects it.
    runtime.block_on(async { serve(TcpListener::from_std(listener)?).await })
}
// ANCHOR_END: runtimes

fn main() -> io::Result<()> {
    let addr = env::args().nth(1).unwrap_or("127.0.0.1:7000".into());
    let listener = std::net::TcpListener::bind(&addr)?;
    println!("echo server on {}", listener.local_addr()?);
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    run_multi_thread(listener, workers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Shutdown, SocketAddr};
    use std::time::Duration;

    fn start(multi: bool) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            if multi {
                run_multi_thread(listener, 2)
            } else {
                run_current_thread(listener)
            }
        });
        addr
    }

    fn round_trips(addr: SocketAddr) {
        let mut clients: Vec<_> = (0..20)
            .map(|_| {
                let s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                s
            })
            .collect();
        for (i, c) in clients.iter_mut().enumerate() {
            c.write_all(format!("{i:04}").as_bytes()).unwrap();
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let mut buf = [0; 4];
            c.read_exact(&mut buf).unwrap();
            assert_eq!(buf, format!("{i:04}").as_bytes());
        }
        let c = &mut clients[0];
        c.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        c.read_to_end(&mut rest).unwrap(); // The server closes too.
        assert!(rest.is_empty());
    }

    #[test]
    fn echoes_on_one_thread() {
        round_trips(start(false));
    }

    #[test]
    fn echoes_on_two_threads() {
        round_trips(start(true));
    }
}
