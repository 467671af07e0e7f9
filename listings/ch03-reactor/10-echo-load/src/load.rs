//! A closed-loop load generator for echo servers, on one thread.
//!
//! Each connection sends a message, waits for all of it to come back,
//! notes the round trip, and sends the next one. It uses only `std`,
//! `mio` and `cpu-time`, so other programs can include this file as a module.

extern crate cpu_time; // `mdbook test` links crates by name
extern crate mio; // `mdbook test` links crates by name

use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

/// The size of every message, in bytes.
pub const MESSAGE_LEN: usize = 64;

// ANCHOR: report
/// What one run of the load generator measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub connections: usize,
    /// Round trips completed (each message echoed whole).
    pub messages: u64,
    pub elapsed: Duration,
    pub messages_per_sec: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// CPU time the load generator's own thread used (10 ms steps).
    pub cpu: Duration,
}
// ANCHOR_END: report

/// One connection and where it is in its current round trip.
struct Client {
    stream: TcpStream,
    message: [u8; MESSAGE_LEN],
    written: usize,
    read: usize,
    echo: [u8; MESSAGE_LEN],
    sent_at: Instant,
    left: u64, // Messages still to send after the current one.
    done: bool,
}

impl Client {
    /// Makes all the progress the socket allows; returns the latency
    /// of each round trip finished on the way.
    fn progress(
        &mut self,
        deadline: Instant,
        latencies: &mut Vec<Duration>,
    ) -> io::Result<()> {
        while !self.done {
            if self.written < MESSAGE_LEN {
                match self.stream.write(&self.message[self.written..]) {
                    Ok(n) => self.written += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            match self.stream.read(&mut self.echo[self.read..]) {
                Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.read += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            if self.read == MESSAGE_LEN {
                if self.echo != self.message {
                    return Err(io::Error::other("wrong echo"));
                }
                let now = Instant::now();
                latencies.push(now - self.sent_at);
                if self.left == 0 || now >= deadline {
                    self.done = true;
                } else {
                    self.left -= 1;
                    self.message.rotate_left(1); // A different message.
                    (self.written, self.read, self.sent_at) = (0, 0, now);
                }
            }
        }
        Ok(())
    }
}

// ANCHOR: run-load
/// Opens `connections` connections to the echo server at `addr`, and
/// has each send up to `messages` messages of `MESSAGE_LEN` bytes, one
/// at a time, for at most `limit`.
pub fn run_load(
    addr: SocketAddr,
    connections: usize,
    messages: u64,
    limit: Duration,
) -> io::Result<LoadReport> {
    let mut poll = Poll::new()?;
    let mut clients = connect_all(&poll, addr, connections, messages)?;
    let cpu_before = thread_cpu()?;
    let start = Instant::now();
    let mut latencies = drive_all(&mut poll, &mut clients, start + limit)?;
    let elapsed = start.elapsed();
    let cpu = thread_cpu()?.saturating_sub(cpu_before);
    if latencies.is_empty() {
        return Err(io::Error::other("no round trip completed"));
    }
    latencies.sort_unstable();
    let at = |q: f64| nearest_rank(&latencies, q);
    Ok(LoadReport {
        connections,
        messages: latencies.len() as u64,
        elapsed,
        messages_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
        cpu,
    })
}
// ANCHOR_END: run-load

/// The q-quantile of sorted values by nearest rank: the smallest value
/// that at least a share `q` of them do not exceed (the p50 of [a, b] is
/// a). The book's `measure` uses the same convention. Not for an empty
/// slice.
pub fn nearest_rank<T: Copy>(sorted: &[T], q: f64) -> T {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Connects, and registers each connection under its index.
fn connect_all(
    poll: &Poll,
    addr: SocketAddr,
    connections: usize,
    messages: u64,
) -> io::Result<Vec<Client>> {
    if connections == 0 || messages == 0 {
        return Err(io::Error::other("nothing to measure"));
    }
    let mut clients = Vec::with_capacity(connections);
    for i in 0..connections {
        let stream = std::net::TcpStream::connect(addr)?;
        stream.set_nodelay(true)?; // Small messages go out at once.
        stream.set_nonblocking(true)?;
        let mut stream = TcpStream::from_std(stream);
        let interest = Interest::READABLE | Interest::WRITABLE;
        poll.registry().register(&mut stream, Token(i), interest)?;
        let mut message = [0; MESSAGE_LEN];
        for (j, b) in message.iter_mut().enumerate() {
            *b = (i + j) as u8;
        }
        clients.push(Client {
            stream,
            message,
            written: 0,
            read: 0,
            echo: [0; MESSAGE_LEN],
            sent_at: Instant::now(),
            left: messages - 1,
            done: false,
        });
    }
    Ok(clients)
}

/// Runs every client until it is done; returns the round trips' times.
/// Each client completes at least one round trip, or this fails.
fn drive_all(
    poll: &mut Poll,
    clients: &mut [Client],
    deadline: Instant,
) -> io::Result<Vec<Duration>> {
    let mut latencies = Vec::new();
    for client in clients.iter_mut() {
        client.sent_at = Instant::now();
        client.progress(deadline, &mut latencies)?;
    }
    let mut running = clients.iter().filter(|c| !c.done).count();
    let mut events = Events::with_capacity(1024);
    // Bounded: every client stops at its count or at the deadline, and
    // we wait at most a second past the deadline for the last echoes.
    let give_up = deadline + Duration::from_secs(1);
    while running > 0 {
        let Some(wait) = give_up.checked_duration_since(Instant::now()) else {
            return Err(ErrorKind::TimedOut.into());
        };
        match poll.poll(&mut events, Some(wait)) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            result => result?,
        }
        for event in &events {
            let client = &mut clients[event.token().0];
            if !client.done {
                client.progress(deadline, &mut latencies)?;
                running -= usize::from(client.done);
            }
        }
    }
    Ok(latencies)
}

/// CPU time (user and system) of the calling thread, from the system's
/// per-thread clock (`CLOCK_THREAD_CPUTIME_ID` on Linux and macOS).
pub fn thread_cpu() -> io::Result<Duration> {
    Ok(cpu_time::ThreadTime::try_now()?.as_duration())
}

// The book shows excerpts of this file, and compiles each one as a program
// of its own. A program needs a `main`: this one does nothing. The real one
// is in `main.rs`.
#[allow(dead_code)]
fn main() {}
