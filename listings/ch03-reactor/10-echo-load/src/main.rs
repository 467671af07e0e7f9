extern crate mio; // `mdbook test` links crates by name

mod load;

use std::env;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

use load::{LoadReport, run_load};

/// Usage: `echo-load [ADDR CONNECTIONS MESSAGES]`. Without arguments, we
/// start an echo server of our own and measure a short run against it.
fn main() -> io::Result<()> {
    let args: Vec<String> = env::args().skip(1).collect();
    let (addr, connections, messages) = match &args[..] {
        [addr, c, m] => {
            (addr.parse().map_err(io::Error::other)?, num(c)?, num(m)?)
        }
        _ => (local_echo_server()?, 10, 1000),
    };
    let limit = Duration::from_secs(10);
    let report = run_load(addr, connections, messages as u64, limit)?;
    // Written, not printed: `println!` panics when the reader of our
    // output has gone (`| head`); a write returns the error instead.
    match print(&mut io::stdout().lock(), &report) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        result => result,
    }
}

fn num(s: &str) -> io::Result<usize> {
    s.parse().map_err(io::Error::other)
}

fn print(out: &mut impl Write, r: &LoadReport) -> io::Result<()> {
    writeln!(
        out,
        "{} connections, {} messages",
        r.connections, r.messages
    )?;
    let secs = r.elapsed.as_secs_f64();
    writeln!(out, "{:.0} messages/s over {secs:.2} s", r.messages_per_sec)?;
    let micros = |d: Duration| d.as_secs_f64() * 1e6;
    let (p50, p99) = (micros(r.p50), micros(r.p99));
    writeln!(out, "p50 {p50:.0} µs, p99 {p99:.0} µs")?;
    writeln!(out, "load generator CPU: {} ms", r.cpu.as_millis())
}

/// A thread-per-connection echo server on 127.0.0.1, for the demo.
fn local_echo_server() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let mut buf = [0; 4096];
                while let Ok(n @ 1..) = stream.read(&mut buf) {
                    if stream.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_round_trip() {
        let addr = local_echo_server().unwrap();
        let r = run_load(addr, 20, 50, Duration::from_secs(10)).unwrap();
        assert_eq!(r.messages, 20 * 50);
        assert!(r.p50 <= r.p99);
        assert!(r.messages_per_sec > 0.0);
    }

    #[test]
    fn stops_at_the_time_limit() {
        let addr = local_echo_server().unwrap();
        let limit = Duration::from_millis(300);
        let r = run_load(addr, 4, u64::MAX, limit).unwrap();
        assert!(r.elapsed < Duration::from_secs(2));
        assert!(r.messages > 0);
    }

    #[test]
    fn a_server_that_closes_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming() {
                drop(stream); // Closes at once.
            }
        });
        assert!(run_load(addr, 2, 10, Duration::from_secs(2)).is_err());
    }
}
