//! What idle clients cost a thread-per-connection server: threads and
//! resident memory at 100, 1000 and 10 000 connections that send nothing.
//! The server is Listing 3-1's, in this process; so are the clients, so
//! each connection takes two file descriptors here.
//!
//! It reads `/proc/self/status`, which only Linux has: elsewhere it says
//! so and stops.
#![cfg_attr(not(target_os = "linux"), allow(dead_code, unused_imports))]

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
#[cfg(target_os = "linux")]
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// `/proc/self/status`, parsed by `procfs`. The file stays open, and is
/// read again from the start each time: at the limit, there may be no
/// file descriptor left to open it.
#[cfg(target_os = "linux")]
fn status() -> procfs::process::Status {
    use procfs::FromRead;
    static STATUS: OnceLock<File> = OnceLock::new();
    let file = STATUS.get_or_init(|| File::open("/proc/self/status").unwrap());
    let mut buf = vec![0; 64 * 1024];
    let n = file.read_at(&mut buf, 0).unwrap();
    procfs::process::Status::from_read(&buf[..n]).unwrap()
}

/// The threads of this process.
#[cfg(target_os = "linux")]
fn threads_alive() -> u64 {
    status().threads
}

/// The resident memory of this process, in KiB.
#[cfg(target_os = "linux")]
fn rss_kib() -> u64 {
    status().vmrss.expect("VmRSS in /proc/self/status")
}

#[cfg(not(target_os = "linux"))]
fn threads_alive() -> u64 {
    unreachable!("`main` stops before this, off Linux")
}

#[cfg(not(target_os = "linux"))]
fn rss_kib() -> u64 {
    unreachable!("`main` stops before this, off Linux")
}

/// Waits, at most 20 s, until the process has `threads` threads.
fn wait_for_threads(threads: u64) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if threads_alive() == threads {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Opens up to `n` idle connections, 100 at a time: the server's listen
/// backlog is short, and a connect that finds it full waits for a
/// retransmission. Stops at the first error.
fn connect(
    addr: SocketAddr,
    n: usize,
    base_threads: u64,
) -> (Vec<TcpStream>, Option<io::Error>) {
    let mut clients = Vec::with_capacity(n);
    while clients.len() < n {
        for _ in 0..100.min(n - clients.len()) {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                Ok(client) => clients.push(client),
                Err(e) => return (clients, Some(e)),
            }
        }
        // Every connection so far has been accepted, and has its thread.
        let threads = base_threads + clients.len() as u64;
        let start = Instant::now();
        while threads_alive() != threads {
            // The server's `accept` may be failing for want of a file
            // descriptor: it waits and retries, and we can tell by
            // trying to open a file ourselves.
            if let Err(e) = File::open("/dev/null") {
                return (clients, Some(e));
            }
            if start.elapsed() > Duration::from_secs(20) {
                let e = io::Error::other("the server fell behind");
                return (clients, Some(e));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
    (clients, None)
}

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("this probe reads /proc/self/status: it runs on Linux only");
}

#[cfg(target_os = "linux")]
fn main() -> io::Result<()> {
    // Each connection costs two descriptors: we take all the kernel
    // allows us, the hard limit, rather than the soft limit we got.
    let limit = rlimit::increase_nofile_limit(u64::MAX)?;
    println!("file descriptors allowed: {limit}");
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::spawn(move || run(listener));
    let base_threads = threads_alive();
    println!("idle clients | server threads | resident memory growth");
    for n in [100, 1000, 10_000] {
        let base_rss = rss_kib();
        let (clients, error) = connect(addr, n, base_threads);
        let opened = clients.len() as u64;
        if let Some(e) = error {
            let why = match e.raw_os_error() {
                Some(24) => "out of file descriptors".to_string(),
                _ => e.to_string(),
            };
            let threads = threads_alive() - base_threads;
            println!("{n:>12} | stopped at {threads} threads: {why}");
            break;
        }
        assert!(wait_for_threads(base_threads + opened), "threads missing");
        let grown = rss_kib().saturating_sub(base_rss) as f64 / 1024.0;
        let threads = threads_alive() - base_threads;
        println!("{n:>12} | {threads:>14} | {grown:.1} MiB");
        drop(clients); // Each thread reads the end of its stream and ends.
        assert!(wait_for_threads(base_threads), "threads left over");
    }
    Ok(())
}

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 3-1
// (listings/ch03-reactor/01-thread-per-connection/src/main.rs), so that this
// folder builds on its own. The book's tests check that each item is the
// same Rust as in its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch03-reactor/01-thread-per-connection/src/main.rs
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
// END COPY
