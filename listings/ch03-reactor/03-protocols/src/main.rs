extern crate mio; // `mdbook test` links crates by name
extern crate rlimit; // `mdbook test` links crates by name
extern crate socket2; // `mdbook test` links crates by name

use std::cell::RefCell;
use std::collections::HashMap;
use std::env;
use std::io::{self, ErrorKind, Read, Write};
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

// ANCHOR: traits
/// What the reactor calls when something happens on a connection.
pub trait Protocol {
    fn connection_made(&mut self, _transport: &Transport) {}
    fn data_received(&mut self, transport: &Transport, data: &[u8]);
    /// The peer will send nothing more. We may still write: the
    /// connection closes once what we wrote is sent.
    fn read_connection_lost(&mut self, _transport: &Transport) {}
    /// The outbox is empty: write the next piece. Called between
    /// `register_producer` and `unregister_producer` only.
    fn resume_producing(&mut self, _transport: &Transport) {}
    fn connection_lost(&mut self, _reason: Lost) {}
}

/// Builds one protocol for each new connection.
pub trait Factory {
    fn build_protocol(&mut self) -> Box<dyn Protocol>;
}

impl<F: FnMut() -> Box<dyn Protocol>> Factory for F {
    fn build_protocol(&mut self) -> Box<dyn Protocol> {
        self()
    }
}

/// Why a connection ended: the `reason` of Twisted's `connectionLost`.
#[derive(Debug)]
pub enum Lost {
    /// Cleanly: the peer closed, or we did with `lose_connection`, once
    /// all we wrote was handed to the kernel.
    Done,
    /// By `abort_connection`: what was not sent yet is dropped.
    Aborted,
    /// By an error: a reset by the peer (`ConnectionReset`), a peer that
    /// does not read, a protocol that panicked...
    Failed(io::Error),
}
// ANCHOR_END: traits

// ANCHOR: transport
/// The most unsent bytes a connection holds: a write that would pass
/// it closes the connection. To send more, write as a producer.
pub const MAX_OUTBOX: usize = 1 << 20;

/// A protocol's handle on its connection. The reactor does the I/O.
#[derive(Clone)]
pub struct Transport {
    token: Token,
    outbox: Rc<RefCell<Outbox>>,
    dirty: Rc<RefCell<Vec<Token>>>, // Connections with bytes to send.
}

#[derive(Default)]
struct Outbox {
    bytes: Vec<u8>,
    closing: bool,   // The protocol asked to close, after a flush.
    overflow: bool,  // The peer reads too slowly: close it now.
    queued: bool,    // Its token is on the reactor's dirty list.
    aborted: bool,   // The protocol asked to close now.
    producing: bool, // Call `resume_producing` when it is empty.
}

impl Outbox {
    /// A producer that wrote nothing, and asked for nothing else.
    fn paused(&self) -> bool {
        self.producing
            && self.bytes.is_empty()
            && !(self.overflow || self.aborted)
    }
}
// ANCHOR_END: transport

// ANCHOR: write
impl Transport {
    pub fn write(&self, data: &[u8]) {
        let mut outbox = self.outbox.borrow_mut();
        // After `lose_connection`, only a producer may still write.
        let closed = outbox.closing && !outbox.producing;
        if closed || outbox.overflow || outbox.aborted {
            return;
        }
        if outbox.bytes.len() + data.len() > MAX_OUTBOX {
            outbox.overflow = true; // We will not buffer without limit.
        } else {
            outbox.bytes.extend_from_slice(data);
        }
        self.mark_dirty(&mut outbox);
    }

    /// Closes the connection once everything written is sent.
    pub fn lose_connection(&self) {
        let mut outbox = self.outbox.borrow_mut();
        outbox.closing = true;
        self.mark_dirty(&mut outbox);
    }

    /// Closes the connection now, dropping what is not sent yet:
    /// Twisted's `abortConnection`.
    pub fn abort_connection(&self) {
        let mut outbox = self.outbox.borrow_mut();
        outbox.aborted = true;
        self.mark_dirty(&mut outbox);
    }

    /// Puts the connection on the reactor's list, once.
    fn mark_dirty(&self, outbox: &mut Outbox) {
        if !outbox.queued {
            outbox.queued = true;
            self.dirty.borrow_mut().push(self.token);
        }
    }
    // ANCHOR_END: write

    // ANCHOR: producer
    /// Makes the protocol a producer (Twisted's `registerProducer`, for
    /// a pull producer): each time its outbox is empty, the reactor calls
    /// its `resume_producing`, until it calls `unregister_producer`. One
    /// that writes nothing when called is asked again after the next
    /// read, or when the connection is written to or registered again.
    pub fn register_producer(&self) {
        let mut outbox = self.outbox.borrow_mut();
        outbox.producing = true;
        self.mark_dirty(&mut outbox);
    }

    pub fn unregister_producer(&self) {
        let mut outbox = self.outbox.borrow_mut();
        outbox.producing = false;
        self.mark_dirty(&mut outbox);
    }
    // ANCHOR_END: producer
}

/// One connection, as the reactor sees it.
struct Connection {
    stream: TcpStream,
    protocol: Box<dyn Protocol>,
    transport: Transport,
    eof: bool,         // The peer has closed its side.
    readable: bool,    // The socket may hold bytes not read yet.
    peer_closed: bool, // An event said the peer closed, or failed.
    more: bool,        // Its last turn ended with work left.
    scheduled: bool,   // It is on the reactor's ready list.
}

// ANCHOR: short-reads
/// On epoll and kqueue, a read that does not fill the buffer took all
/// the socket held, and bytes that arrive later raise a new event: no
/// need to read again only to hear `WouldBlock`. tokio counts on the
/// same (in 1.54, `io/poll_evented.rs`); mio does not promise it, so
/// elsewhere we read until `WouldBlock`. An event that says the peer
/// closed raises no other: then we read on until the end of stream.
const SHORT_READS: bool = cfg!(all(
    not(mio_unsupported_force_poll_poll),
    any(
        target_os = "linux",
        target_os = "android",
        target_os = "illumos",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
    )
));
// ANCHOR_END: short-reads

// ANCHOR: drive
/// Reads, or pieces produced, per connection per turn of the loop: a
/// client that never stops sending, or a producer that never stops
/// writing, gives way to the others after this many.
const STEPS_PER_TURN: usize = 16;

impl Connection {
    /// Does the work the socket allows now, at most `STEPS_PER_TURN`
    /// reads or pieces produced; no read unless `read`. `Ok(false)`:
    /// close it.
    fn drive(&mut self, read: bool) -> io::Result<bool> {
        for _ in 0..STEPS_PER_TURN {
            if self.transport.outbox.borrow().aborted {
                return Ok(false); // Now, whatever is left to send.
            }
            if !self.flush()? {
                return Ok(true); // Wait until it is writable.
            }
            // We owe nothing: now we may close, produce, or read more.
            let outbox = self.transport.outbox.borrow();
            let (closing, producing) = (outbox.closing, outbox.producing);
            drop(outbox);
            // A producer keeps the connection open until it unregisters,
            // as in Twisted.
            if !producing && (closing || self.eof) {
                return Ok(false);
            }
            if producing {
                guard(|| self.protocol.resume_producing(&self.transport))?;
                if !self.transport.outbox.borrow().paused() {
                    continue; // A piece to send, or a change to act on.
                }
            } // A producer with nothing to send yet lets us read,
            if closing || self.eof {
                // or, with nothing more to read, wait for it; a reset
                // meanwhile is the connection's error.
                return match self.stream.take_error()? {
                    Some(e) => Err(e),
                    None => Ok(true),
                };
            }
            if !self.readable {
                return Ok(true); // Wait until it is readable.
            }
            if !read {
                self.more = true; // Bytes may wait: its next turn reads.
                return Ok(true);
            }
            if !self.receive()? {
                return Ok(true); // Wait until it is readable.
            }
        }
        self.more = true; // Its turn is over, with work left.
        Ok(true)
    }
    // ANCHOR_END: drive

    // ANCHOR: receive
    /// Reads once, and hands what came to the protocol. `Ok(false)`:
    /// there was nothing to read.
    fn receive(&mut self) -> io::Result<bool> {
        let mut buf = [0; 16 * 1024];
        let (p, t) = (&mut self.protocol, &self.transport);
        match self.stream.read(&mut buf) {
            Ok(0) => {
                // The peer is done sending; we may still answer.
                self.eof = true;
                guard(|| p.read_connection_lost(t))?;
            }
            Ok(n) => {
                // A short read took all there was (see `SHORT_READS`).
                if n < buf.len() && SHORT_READS && !self.peer_closed {
                    self.readable = false;
                }
                guard(|| p.data_received(t, &buf[..n]))?;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                self.readable = false;
                return Ok(false);
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        Ok(true)
    }
}
// ANCHOR_END: receive

// ANCHOR: flush
impl Connection {
    /// Sends what we can. `Ok(true)` when nothing is left to send.
    fn flush(&mut self) -> io::Result<bool> {
        let mut outbox = self.transport.outbox.borrow_mut();
        if outbox.overflow {
            return Err(io::Error::other("peer does not read"));
        }
        while !outbox.bytes.is_empty() {
            match self.stream.write(&outbox.bytes) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => drop(outbox.bytes.drain(..n)),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    return Ok(false);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }
}
// ANCHOR_END: flush

// ANCHOR: guard
/// Runs a protocol callback. A panic in it becomes an error, which
/// closes that one connection.
fn guard(f: impl FnOnce()) -> io::Result<()> {
    panic::catch_unwind(AssertUnwindSafe(f))
        .map_err(|_| io::Error::other("protocol panicked"))
}
// ANCHOR_END: guard

// ANCHOR: reactor
/// Watches sockets through the kernel and calls protocols.
pub struct Reactor {
    poll: Poll,
    listeners: HashMap<Token, (TcpListener, Box<dyn Factory>)>,
    connections: HashMap<Token, Connection>,
    next_token: usize,
    dirty: Rc<RefCell<Vec<Token>>>,
    paused: Vec<(Token, Instant)>, // Listeners to retry, and when.
    ready: Vec<Token>, // Connections whose turn ended with work left.
}
// ANCHOR_END: reactor

impl Reactor {
    pub fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            poll: Poll::new()?,
            listeners: HashMap::new(),
            connections: HashMap::new(),
            next_token: 0,
            dirty: Rc::default(),
            paused: Vec::new(),
            ready: Vec::new(),
        })
    }

    fn token(&mut self) -> Token {
        self.next_token += 1;
        Token(self.next_token)
    }

    /// Accepts connections on `listener`, each with a new protocol.
    pub fn listen_tcp(
        &mut self,
        listener: std::net::TcpListener,
        factory: impl Factory + 'static,
    ) -> io::Result<()> {
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let token = self.token();
        self.poll.registry().register(
            &mut listener,
            token,
            Interest::READABLE,
        )?;
        self.listeners.insert(token, (listener, Box::new(factory)));
        Ok(())
    }
}

// ANCHOR: run
impl Reactor {
    /// Runs the loop for ever: wait for events, call protocols.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            match self.poll.poll(&mut events, self.timeout()) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                result => result?,
            }
            self.retry_accepts(); // New: listeners that ran out of files.
            for event in &events {
                if self.listeners.contains_key(&event.token()) {
                    self.accept(event.token());
                } else {
                    self.note(event);
                    self.drive(event.token(), true);
                }
            }
            self.drive_ready();
            self.drive_dirty();
        }
    }
    // ANCHOR_END: run

    // ANCHOR: drive-one
    /// Lets one connection make progress, reading from it if `read`;
    /// closes it if it is done.
    fn drive(&mut self, token: Token, read: bool) {
        let Some(conn) = self.connections.get_mut(&token) else {
            return; // Closed already.
        };
        if conn.transport.outbox.borrow().aborted {
            return self.close(token, Lost::Aborted);
        }
        let driven = conn.drive(read);
        // Its writes are sent, or wait for a writable event or its
        // next turn: the dirty list need not drive it again.
        conn.transport.outbox.borrow_mut().queued = false;
        if conn.transport.outbox.borrow().aborted {
            return self.close(token, Lost::Aborted);
        }
        match driven {
            Ok(true) => {
                // Work left: a turn next round, on the ready list once.
                let more = mem::take(&mut conn.more);
                if more && !mem::replace(&mut conn.scheduled, true) {
                    self.ready.push(token);
                }
            }
            Ok(false) => self.close(token, Lost::Done),
            Err(e) => self.close(token, Lost::Failed(e)),
        }
    }
}
// ANCHOR_END: drive-one

// ANCHOR: fair
impl Reactor {
    /// Notes what an event says about a connection's reading side.
    fn note(&mut self, event: &Event) {
        if let Some(conn) = self.connections.get_mut(&event.token()) {
            let closed = event.is_read_closed() || event.is_error();
            conn.readable |= event.is_readable() || closed;
            conn.peer_closed |= closed;
        }
    }

    /// Gives another turn to the connections whose turn ended with work
    /// left: they will raise no new event for it.
    fn drive_ready(&mut self) {
        // Each connection is on the list once at most (`scheduled`).
        debug_assert!({
            let mut seen = std::collections::HashSet::new();
            self.ready.iter().all(|token| seen.insert(*token))
        });
        for token in mem::take(&mut self.ready) {
            if let Some(conn) = self.connections.get_mut(&token) {
                conn.scheduled = false;
            }
            self.drive(token, true);
        }
    }
}
// ANCHOR_END: fair

// ANCHOR: dirty
impl Reactor {
    /// Sends what protocols wrote outside their own turn: a chat message
    /// goes to every other connection. Sending may close a connection,
    /// whose `connection_lost` may write again, so we go on until the
    /// list stays empty; bytes left on it would wait for the next event.
    fn drive_dirty(&mut self) {
        loop {
            let dirty = self.dirty.take();
            if dirty.is_empty() {
                return;
            }
            for token in dirty {
                let Some(conn) = self.connections.get(&token) else {
                    continue; // Closed already.
                };
                // Not queued: it was driven since, by an event or its own
                // drive (a producer's writes queue it again).
                let queued =
                    mem::take(&mut conn.transport.outbox.borrow_mut().queued);
                if queued {
                    // No read here: bytes to read wait for the connection's
                    // turn, or the loop could stay in this list for ever.
                    self.drive(token, false);
                }
            }
        }
    }
}
// ANCHOR_END: dirty

// ANCHOR: accept-retry
impl Reactor {
    /// `accept` failed for a reason that is not the client's: most
    /// likely the process is out of file descriptors (`EMFILE`), or
    /// the system out of them or of memory. The connection waits in the
    /// listen backlog, and edge-triggered readiness will not report the
    /// listener again for it: we retry on our own, a little later.
    fn pause(&mut self, token: Token, e: io::Error) {
        eprintln!("accept: {e}; retrying in {ACCEPT_RETRY:?}");
        self.paused.push((token, Instant::now() + ACCEPT_RETRY));
    }

    /// Accepts again on the listeners whose pause is over.
    fn retry_accepts(&mut self) {
        let now = Instant::now();
        let (due, later) =
            self.paused.drain(..).partition(|(_, at)| *at <= now);
        self.paused = later;
        for (token, _) in due {
            self.accept(token);
        }
    }

    /// How long `poll` may sleep: until the next retry of a listener,
    /// or for ever (`None`).
    fn timeout(&self) -> Option<Duration> {
        if !self.ready.is_empty() {
            return Some(Duration::ZERO); // Work left: no sleep.
        }
        let now = Instant::now();
        let next = self.paused.iter().map(|(_, at)| *at).min();
        next.map(|at| at.saturating_duration_since(now))
    }
}

/// How long a listener rests after `accept` failed for lack of resources.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
// ANCHOR_END: accept-retry

// ANCHOR: accept
impl Reactor {
    /// Accepts every connection waiting on `token`'s listener.
    fn accept(&mut self, token: Token) {
        if self.paused.iter().any(|(paused, _)| *paused == token) {
            return; // It rests; `retry_accepts` will call us.
        }
        loop {
            let (listener, _) = &self.listeners[&token];
            let mut stream = match listener.accept() {
                Ok((stream, _peer)) => stream,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if transient(&e) => continue,
                Err(e) => return self.pause(token, e),
            };
            let conn_token = self.token();
            let both = Interest::READABLE | Interest::WRITABLE;
            let registry = self.poll.registry();
            if let Err(e) = registry.register(&mut stream, conn_token, both) {
                eprintln!("accept: {e}; connection dropped");
                continue; // Dropping `stream` closes it; others go on.
            }
            let (_, factory) = self.listeners.get_mut(&token).unwrap();
            let mut protocol = factory.build_protocol();
            let transport = Transport {
                token: conn_token,
                outbox: Rc::default(),
                dirty: self.dirty.clone(),
            };
            let made = guard(|| protocol.connection_made(&transport));
            let conn = Connection {
                stream,
                protocol,
                transport,
                eof: false,
                readable: true,
                peer_closed: false,
                more: false,
                scheduled: false,
            };
            self.connections.insert(conn_token, conn);
            match made {
                Ok(()) => self.drive(conn_token, true),
                Err(e) => self.close(conn_token, Lost::Failed(e)),
            }
        }
    }
    // ANCHOR_END: accept

    fn close(&mut self, token: Token, reason: Lost) {
        let Some(mut conn) = self.connections.remove(&token) else {
            return;
        };
        // From now on, writes through this transport are dropped.
        let mut outbox = conn.transport.outbox.borrow_mut();
        (outbox.closing, outbox.bytes) = (true, Vec::new());
        drop(outbox);
        let _ = self.poll.registry().deregister(&mut conn.stream);
        if let Lost::Aborted = reason {
            // A reset, not a close, as Twisted's abort does: the peer
            // must not take what it got for all there was.
            let linger = Some(Duration::ZERO);
            let _ = socket2::SockRef::from(&conn.stream).set_linger(linger);
        }
        let _ = guard(|| conn.protocol.connection_lost(reason));
    } // Dropping `conn` closes its socket.
}

// ANCHOR: echo
/// Twisted's classic first protocol.
struct Echo;

impl Protocol for Echo {
    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        transport.write(data);
    }
}

/// An echo server on our reactor.
pub fn run(listener: std::net::TcpListener) -> io::Result<()> {
    let mut reactor = Reactor::new()?;
    reactor.listen_tcp(listener, || Box::new(Echo) as Box<dyn Protocol>)?;
    reactor.run()
}
// ANCHOR_END: echo

fn main() -> io::Result<()> {
    let addr = env::args().nth(1).unwrap_or("127.0.0.1:7000".into());
    let listener = std::net::TcpListener::bind(&addr)?;
    println!("echo server on {}", listener.local_addr()?);
    // A connection is a file descriptor: we take all the kernel allows.
    #[cfg(unix)]
    println!("open files: up to {}", rlimit::increase_nofile_limit(!0)?);
    run(listener)
}

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 3-2
// (listings/ch03-reactor/02-event-loop/src/main.rs), so that this folder
// builds on its own. The book's tests check that each item is the same Rust
// as in its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch03-reactor/02-event-loop/src/main.rs
/// Accept errors that concern one client, not the listener.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Interrupted
            | ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
    )
}
// END COPY

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::net::{Shutdown, SocketAddr};
    use std::sync::Mutex;
    use std::thread;
    use std::time::{Duration, Instant};

    /// The tests count the process's file descriptors and its memory,
    /// so they run one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a reactor thread named `name` with the given factory.
    fn start_with<F>(name: &str, factory: F) -> SocketAddr
    where
        F: Factory + Send + 'static,
    {
        let addr = spawn_reactor(name, factory);
        // Once it has served a client and closed that connection, the
        // reactor holds all the descriptors it holds when idle.
        assert!(served(addr));
        thread::sleep(Duration::from_millis(100));
        addr
    }

    /// A reactor on a thread of its own, serving `factory`'s protocols.
    fn spawn_reactor<F>(name: &str, factory: F) -> SocketAddr
    where
        F: Factory + Send + 'static,
    {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let mut reactor = Reactor::new()?;
                reactor.listen_tcp(listener, factory)?;
                reactor.run()
            })
            .unwrap();
        addr
    }

    fn start() -> SocketAddr {
        start_with("echo", || Box::new(Echo) as Box<dyn Protocol>)
    }

    fn connect(addr: SocketAddr) -> std::net::TcpStream {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    /// A new client gets its bytes back.
    fn served(addr: SocketAddr) -> bool {
        let mut c = connect(addr);
        c.write_all(b"still there?").unwrap();
        let mut buf = [0; 12];
        c.read_exact(&mut buf).is_ok() && &buf == b"still there?"
    }

    /// The process's open file descriptors: Linux lists them in
    /// `/proc/self/fd` (read through `procfs`), macOS and the BSDs in
    /// `/dev/fd`.
    fn open_fds() -> usize {
        #[cfg(target_os = "linux")]
        let count = procfs::process::Process::myself().unwrap().fd_count();
        #[cfg(not(target_os = "linux"))]
        let count = std::fs::read_dir("/dev/fd").map(|d| d.count());
        count.unwrap()
    }

    /// How many clients a test may hold open at once, up to `wanted`.
    /// Each costs two descriptors in this process (its end and the
    /// server's), so we first raise our soft limit on open files to the
    /// hard limit; under `ulimit -n 1024`, which sets both, that is
    /// still fewer than a thousand clients.
    fn clients_allowed(wanted: usize) -> usize {
        let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let spare = limit.saturating_sub(open_fds() + 64) / 2;
        assert!(spare >= 200, "only {spare} clients fit in `ulimit -n`");
        wanted.min(spare)
    }

    /// Waits (at most 5 s) until the process holds no more descriptors
    /// than `before`.
    fn fds_back_to(before: usize) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if open_fds() <= before {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Resident memory of the process, in bytes, from `/proc/self/status`
    /// (through `procfs`): Linux only. Elsewhere, or where `/proc` cannot
    /// be read, `None`, and memory bounds go unchecked.
    fn rss() -> Option<usize> {
        #[cfg(target_os = "linux")]
        {
            let me = procfs::process::Process::myself().ok()?;
            let kib = me.status().ok()?.vmrss?;
            usize::try_from(kib * 1024).ok()
        }
        #[cfg(not(target_os = "linux"))]
        None
    }

    /// CPU time, in clock ticks, of the thread of ours named `name`
    /// (Linux: `/proc`, through `procfs`). A thread that ends while we
    /// look is skipped.
    #[cfg(target_os = "linux")]
    fn cpu_ticks_of(name: &str) -> u64 {
        let me = procfs::process::Process::myself().unwrap();
        for task in me.tasks().unwrap().flatten() {
            let Ok(stat) = task.stat() else { continue };
            if stat.comm == name {
                return stat.utime + stat.stime;
            }
        }
        panic!("no thread named {name}");
    }

    /// Clock ticks per second, the unit of `cpu_ticks_of`.
    #[cfg(target_os = "linux")]
    fn ticks_per_second() -> u64 {
        procfs::ticks_per_second()
    }

    #[test]
    fn a_silent_client_blocks_nobody() {
        let _s = serial();
        let addr = start();
        let before = open_fds();
        let silent = connect(addr);
        assert!(served(addr));
        drop(silent);
        assert!(fds_back_to(before));
    }

    #[test]
    fn a_byte_at_a_time() {
        let _s = serial();
        let addr = start();
        let before = open_fds();
        let mut slow = connect(addr);
        for &b in b"slow" {
            slow.write_all(&[b]).unwrap();
            assert!(served(addr)); // Others are served meanwhile.
            let mut one = [0];
            slow.read_exact(&mut one).unwrap();
            assert_eq!(one[0], b);
            thread::sleep(Duration::from_millis(100));
        }
        drop(slow);
        assert!(fds_back_to(before));
    }

    // ANCHOR: never-reads
    #[test]
    fn a_client_that_never_reads_costs_bounded_memory() {
        let _s = serial();
        let addr = start();
        let before = (open_fds(), rss());
        let mut hog = connect(addr);
        hog.set_write_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        let (mut sent, start) = (0, Instant::now());
        // Bounded in bytes and in time; we expect the writes to stall.
        while sent < 256 << 20 && start.elapsed() < Duration::from_secs(5) {
            match hog.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break, // Stalled: the server stopped reading.
            }
        }
        assert!(sent < 256 << 20, "the server kept reading");
        if let (Some(before), Some(after)) = (before.1, rss()) {
            let grown = after.saturating_sub(before);
            assert!(grown < 16 << 20, "memory grew by {grown} bytes");
        }
        assert!(served(addr));
        drop(hog);
        assert!(fds_back_to(before.0));
    }
    // ANCHOR_END: never-reads

    #[test]
    fn flushes_everything_before_closing() {
        let _s = serial();
        let addr = start();
        let before = open_fds();
        let mut c = connect(addr);
        let data: Vec<u8> = (0..4_000_000u32).map(|i| i as u8).collect();
        let mut writer = c.try_clone().unwrap();
        let sent = data.clone();
        let w = thread::spawn(move || {
            writer.write_all(&sent).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap(); // Ends when the server closes.
        w.join().unwrap();
        assert!(
            back == data,
            "echoed {} of {} bytes",
            back.len(),
            data.len()
        );
        drop(c);
        assert!(fds_back_to(before));
        assert!(served(addr)); // The reactor is alive.
    }

    #[test]
    fn a_thousand_clients_reset_at_once() {
        let _s = serial();
        let addr = start();
        let before = open_fds();
        let n = clients_allowed(1000);
        let mut clients: Vec<_> = (0..n).map(|_| connect(addr)).collect();
        for c in &mut clients {
            c.write_all(b"x").unwrap();
        }
        thread::sleep(Duration::from_millis(200));
        // Each closes with its echo unread: the kernel sends a reset.
        drop(clients);
        assert!(fds_back_to(before));
        assert!(served(addr));
    }

    /// Eight threads open a thousand connections as fast as they can,
    /// each held open until all of its thread's are, so the server has
    /// them all at once (the old version of this test opened them one at
    /// a time). Every one must be served.
    #[test]
    fn a_burst_of_connections_held_open_together() {
        let _s = serial();
        let addr = start();
        let before = open_fds();
        let per_thread = clients_allowed(1000) / 8;
        let workers: Vec<_> = (0..8)
            .map(|_| {
                thread::spawn(move || {
                    // Connect them all first, holding each open.
                    let mut held: Vec<_> =
                        (0..per_thread).map(|_| connect(addr)).collect();
                    let mut ok = 0;
                    for c in &mut held {
                        let mut buf = [0; 4];
                        c.write_all(b"ping").unwrap();
                        ok += usize::from(c.read_exact(&mut buf).is_ok());
                    }
                    ok
                })
            })
            .collect();
        let ok: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(ok, 8 * per_thread);
        assert!(fds_back_to(before));
        assert!(served(addr));
    }

    struct Fragile;

    impl Protocol for Fragile {
        fn data_received(&mut self, t: &Transport, data: &[u8]) {
            if data.starts_with(b"boom") {
                panic!("a bug in one protocol");
            }
            t.write(data);
        }
    }

    #[test]
    fn a_panicking_protocol_closes_only_its_connection() {
        let _s = serial();
        let addr =
            start_with("fragile", || Box::new(Fragile) as Box<dyn Protocol>);
        let before = open_fds();
        let mut victim = connect(addr);
        let mut bystander = connect(addr);
        victim.write_all(b"boom").unwrap();
        let mut buf = [0; 1];
        // The victim sees its connection end, without an echo: an end of
        // stream, or a reset. A read that times out is a failure.
        match victim.read(&mut buf) {
            Ok(0) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            other => panic!("the victim's connection went on: {other:?}"),
        }
        bystander.write_all(b"y").unwrap();
        bystander.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"y");
        assert!(served(addr));
        drop((victim, bystander));
        assert!(fds_back_to(before));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn idle_means_no_cpu() {
        let _s = serial();
        let addr =
            start_with("idle-reactor", || Box::new(Echo) as Box<dyn Protocol>);
        let _idle = connect(addr);
        assert!(served(addr));
        let before = cpu_ticks_of("idle-reactor");
        thread::sleep(Duration::from_secs(1));
        // A busy loop would burn every tick of that second; an idle
        // reactor, at most the one the clock was in.
        let burnt = cpu_ticks_of("idle-reactor") - before;
        assert!(burnt <= 1, "{burnt} of {} ticks", ticks_per_second());
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
        use std::os::fd::AsRawFd;
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

    /// Counts what it hears, and says how much once the peer is done;
    /// answers `ping`; on `abort`, writes a little and aborts. Reports
    /// each reason for closing on `lost`.
    struct Tally {
        bytes: usize,
        lost: std::sync::mpsc::Sender<String>,
    }

    impl Protocol for Tally {
        fn data_received(&mut self, t: &Transport, data: &[u8]) {
            self.bytes += data.len();
            if data.ends_with(b"ping") {
                t.write(b"pong");
            }
            if data.ends_with(b"abort") {
                t.write(&[b'x'; 64 * 1024]); // Never sent.
                t.abort_connection();
            }
        }

        fn read_connection_lost(&mut self, t: &Transport) {
            t.write(format!("got {} bytes\n", self.bytes).as_bytes());
        }

        fn connection_lost(&mut self, reason: Lost) {
            let reason = match reason {
                Lost::Failed(e) => format!("Failed({:?})", e.kind()),
                other => format!("{other:?}"),
            };
            let _ = self.lost.send(reason);
        }
    }

    fn start_tally() -> (SocketAddr, std::sync::mpsc::Receiver<String>) {
        let (lost, reasons) = std::sync::mpsc::channel();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            let mut reactor = Reactor::new()?;
            reactor.listen_tcp(listener, move || {
                let lost = lost.clone();
                Box::new(Tally { bytes: 0, lost }) as Box<dyn Protocol>
            })?;
            reactor.run()
        });
        (addr, reasons)
    }

    #[test]
    fn a_protocol_answers_after_the_peer_is_done() {
        let _s = serial();
        let (addr, reasons) = start_tally();
        let mut c = connect(addr);
        c.write_all(&[b'y'; 100_000]).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap(); // Then the server closes.
        assert_eq!(answer, "got 100000 bytes\n");
        let reason = reasons.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(reason, "Done");
    }

    #[test]
    fn connection_lost_says_why() {
        let _s = serial();
        let (addr, reasons) = start_tally();
        let why = || reasons.recv_timeout(Duration::from_secs(5)).unwrap();
        // Aborted: what it wrote is dropped, and the connection ends.
        // The peer hears a reset, not a clean end of stream.
        let mut c = connect(addr);
        c.write_all(b"abort").unwrap();
        let mut got = Vec::new();
        let e = c.read_to_end(&mut got).expect_err("an abort is no close");
        assert_eq!(e.kind(), ErrorKind::ConnectionReset);
        assert!(got.is_empty(), "{} bytes sent after the abort", got.len());
        assert_eq!(why(), "Aborted");
        // Failed: the peer closes with bytes it never read, so its
        // kernel sends a reset, which our next read reports.
        let mut c = connect(addr);
        c.write_all(b"ping").unwrap();
        c.peek(&mut [0; 4]).unwrap(); // The pong is here, unread.
        drop(c);
        assert_eq!(why(), "Failed(ConnectionReset)");
        // Done: the peer closes, and we owe nothing.
        let c = connect(addr);
        c.shutdown(Shutdown::Write).unwrap();
        drop(c);
        assert_eq!(why(), "Done");
    }

    /// A protocol with work to do: each read takes 1 ms of CPU and is
    /// acknowledged with one byte; `sleep` holds the loop for 200 ms, as a
    /// slow callback would; `produce` makes it a producer that writes 16
    /// bytes at a time and never stops.
    struct Worker;

    impl Protocol for Worker {
        fn data_received(&mut self, transport: &Transport, data: &[u8]) {
            match data {
                b"sleep" => thread::sleep(Duration::from_millis(200)),
                b"produce" => transport.register_producer(),
                _ => {}
            }
            let t = Instant::now();
            while t.elapsed() < Duration::from_millis(1) {
                std::hint::spin_loop();
            }
            transport.write(b"k");
        }
        fn resume_producing(&mut self, transport: &Transport) {
            transport.write(&[b'p'; 16]);
        }
    }

    fn start_worker() -> SocketAddr {
        spawn_reactor("worker", || Box::new(Worker) as Box<dyn Protocol>)
    }

    /// The slowest of ten one-byte round trips of a new client to
    /// `addr`; `Duration::MAX` if one was not served within 5 s.
    fn slowest_of_ten_round_trips(addr: SocketAddr) -> Duration {
        let mut c = connect(addr);
        let mut slowest = Duration::ZERO;
        for _ in 0..10 {
            let t = Instant::now();
            c.write_all(b"x").unwrap();
            if c.read_exact(&mut [0; 1]).is_err() {
                return Duration::MAX;
            }
            slowest = slowest.max(t.elapsed());
        }
        slowest
    }

    #[test]
    fn a_producer_that_never_stops_does_not_hold_the_loop() {
        let _s = serial();
        let addr = start_worker();
        // Small pieces to a client that reads them at once: the socket
        // always takes the next, and only the turn's end stops it.
        let mut hog = connect(addr);
        hog.write_all(b"produce").unwrap();
        let mut rx = hog.try_clone().unwrap();
        let reader = thread::spawn(move || {
            let mut buf = [0; 64 * 1024];
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(3) {
                if matches!(rx.read(&mut buf), Ok(0) | Err(_)) {
                    break;
                }
            }
        });
        thread::sleep(Duration::from_millis(100)); // It is in full flow.
        // Meanwhile, another client's round trips stay short.
        let slowest = slowest_of_ten_round_trips(addr);
        reader.join().unwrap();
        drop(hog);
        assert!(slowest < Duration::from_millis(250), "{slowest:?}");
    }

    /// As above, but the hog also sends a byte every millisecond: each
    /// raises an event on a connection that may be on the ready list
    /// already, which must not put it there twice (the reactor's debug
    /// assertion checks it, and others' round trips stay short).
    #[test]
    fn a_producer_whose_peer_keeps_talking_is_on_the_ready_list_once() {
        let _s = serial();
        let addr = start_worker();
        let mut hog = connect(addr);
        hog.write_all(b"produce").unwrap();
        let (mut rx, mut tx) = (hog.try_clone().unwrap(), hog);
        let t = Instant::now();
        let reader = thread::spawn(move || {
            let mut buf = [0; 64 * 1024];
            while t.elapsed() < Duration::from_secs(3) {
                if matches!(rx.read(&mut buf), Ok(0) | Err(_)) {
                    break;
                }
            }
        });
        let talker = thread::spawn(move || {
            while t.elapsed() < Duration::from_secs(3) {
                if tx.write_all(b".").is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(1));
            }
        });
        thread::sleep(Duration::from_millis(1000)); // Many rounds.
        let slowest = slowest_of_ten_round_trips(addr);
        reader.join().unwrap();
        talker.join().unwrap();
        assert!(slowest < Duration::from_millis(250), "{slowest:?}");
    }

    #[test]
    fn a_peer_that_sent_and_closed_while_we_were_busy_is_served() {
        let _s = serial();
        let addr = start_worker();
        let mut b = connect(addr);
        b.write_all(b"hi").unwrap();
        b.read_exact(&mut [0; 1]).unwrap(); // Accepted, and idle.
        // While the loop sleeps in another client's callback, `b` sends
        // its last bytes and closes: one event will say both.
        let mut a = connect(addr);
        a.write_all(b"sleep").unwrap();
        thread::sleep(Duration::from_millis(50));
        b.write_all(b"hello").unwrap();
        b.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).unwrap(); // Times out if we wait for ever.
        assert_eq!(got, b"k"); // One read took "hello", the next the end.
    }

    /// Writes `total` bytes in pieces, as a producer, then closes.
    struct Producer {
        left: usize,
    }

    impl Protocol for Producer {
        fn connection_made(&mut self, transport: &Transport) {
            transport.register_producer();
        }
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
        fn resume_producing(&mut self, transport: &Transport) {
            let piece = self.left.min(MAX_OUTBOX); // All the outbox holds.
            transport.write(&vec![b'p'; piece]);
            self.left -= piece;
            if self.left == 0 {
                transport.unregister_producer();
                transport.lose_connection();
            }
        }
    }

    #[test]
    fn a_producer_sends_more_than_the_outbox_holds() {
        let _s = serial();
        let total = 16 * MAX_OUTBOX;
        let addr = spawn_reactor("producer", move || {
            Box::new(Producer { left: total }) as Box<dyn Protocol>
        });
        let mut got = Vec::new();
        connect(addr).read_to_end(&mut got).unwrap();
        assert_eq!(got.len(), total);
        // The same bytes in one write pass the bound: the connection is
        // closed, as `MAX_OUTBOX` says.
        let addr = spawn_reactor("one-write", || {
            struct Greedy;
            impl Protocol for Greedy {
                fn connection_made(&mut self, transport: &Transport) {
                    transport.write(&vec![b'g'; MAX_OUTBOX + 1]);
                }
                fn data_received(&mut self, _: &Transport, _: &[u8]) {}
            }
            Box::new(Greedy) as Box<dyn Protocol>
        });
        let mut got = Vec::new();
        let _ = connect(addr).read_to_end(&mut got);
        assert!(got.len() <= MAX_OUTBOX, "{} bytes", got.len());
    }

    /// A producer with nothing to send yet, until the client says `go`.
    struct Lazy {
        go: bool,
    }

    impl Protocol for Lazy {
        fn connection_made(&mut self, transport: &Transport) {
            transport.register_producer();
        }
        fn data_received(&mut self, _: &Transport, data: &[u8]) {
            self.go |= data == b"go";
        }
        fn resume_producing(&mut self, transport: &Transport) {
            if self.go {
                transport.write(b"data");
                transport.unregister_producer();
                transport.lose_connection();
            }
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_producer_with_nothing_to_send_waits_without_spinning() {
        let _s = serial();
        let addr = spawn_reactor("lazy", || {
            Box::new(Lazy { go: false }) as Box<dyn Protocol>
        });
        let mut c = connect(addr);
        thread::sleep(Duration::from_millis(100));
        let before = cpu_ticks_of("lazy");
        thread::sleep(Duration::from_secs(1));
        // A loop that called it again and again would burn every tick.
        let burnt = cpu_ticks_of("lazy") - before;
        assert!(burnt <= 1, "{burnt} of {} ticks", ticks_per_second());
        c.write_all(b"go").unwrap();
        let mut got = Vec::new();
        c.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"data");
    }

    /// `drive_dirty` sends and closes, but does not read: reading there,
    /// two connections that write to each other could keep the loop in
    /// the list for ever. Bytes to read wait for the connection's turn.
    #[test]
    fn the_dirty_list_does_not_read() {
        let _s = serial();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = connect(listener.local_addr().unwrap());
        let (ours, _) = listener.accept().unwrap();
        ours.set_nonblocking(true).unwrap();
        client.write_all(b"unread").unwrap();
        thread::sleep(Duration::from_millis(50)); // It has arrived.
        // An echo connection, as `accept` makes one, given a byte to send.
        let mut reactor = Reactor::new().unwrap();
        let token = reactor.token();
        let transport = Transport {
            token,
            outbox: Rc::default(),
            dirty: reactor.dirty.clone(),
        };
        let conn = Connection {
            stream: TcpStream::from_std(ours),
            protocol: Box::new(Echo),
            transport: transport.clone(),
            eof: false,
            readable: true,
            peer_closed: false,
            more: false,
            scheduled: false,
        };
        reactor.connections.insert(token, conn);
        transport.write(b"!");
        reactor.drive_dirty();
        let mut got = [0; 1];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"!");
        // Not read yet: the connection waits for its turn.
        assert_eq!(reactor.ready, [token]);
        reactor.drive_ready();
        let mut got = [0; 6];
        client.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"unread");
    }

    /// Pieces, as a producer: `pieces` of them, then it unregisters.
    /// It starts when the peer is done sending, or at once with a
    /// `lose_connection` first if `close_first`.
    struct Pieces {
        pieces: usize,
        close_first: bool,
    }

    impl Protocol for Pieces {
        fn connection_made(&mut self, transport: &Transport) {
            if self.close_first {
                transport.register_producer();
                transport.lose_connection(); // After the producer is done.
            }
        }
        fn data_received(&mut self, _: &Transport, _: &[u8]) {}
        fn read_connection_lost(&mut self, transport: &Transport) {
            transport.register_producer();
        }
        fn resume_producing(&mut self, transport: &Transport) {
            if self.pieces == 0 {
                transport.unregister_producer();
                transport.lose_connection();
            } else {
                self.pieces -= 1;
                transport.write(b"piece ");
            }
        }
    }

    #[test]
    fn a_producer_keeps_the_connection_open_until_it_is_done() {
        let _s = serial();
        for close_first in [false, true] {
            let addr = spawn_reactor("pieces", move || {
                let pieces = 3;
                Box::new(Pieces {
                    pieces,
                    close_first,
                }) as Box<dyn Protocol>
            });
            let mut c = connect(addr);
            c.shutdown(Shutdown::Write).unwrap(); // Done sending.
            let mut got = Vec::new();
            c.read_to_end(&mut got).unwrap();
            assert_eq!(got, b"piece piece piece ", "{close_first}");
        }
    }
}
