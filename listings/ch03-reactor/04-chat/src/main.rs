extern crate mio; // `mdbook test` links crates by name
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

    /// Puts the connection on the reactor's list, once.
    fn mark_dirty(&self, outbox: &mut Outbox) {
        if !outbox.queued {
            outbox.queued = true;
            self.dirty.borrow_mut().push(self.token);
        }
    }
}

impl Reactor {
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

// ANCHOR: chat
/// Everyone in the chat room, by member number.
type Room = Rc<RefCell<HashMap<usize, Transport>>>;

/// The longest line we accept, newline excluded.
pub const MAX_LINE: usize = 1024;

struct Chat {
    id: usize,
    room: Room,
    line: Vec<u8>, // The start of a line whose end has not come yet.
}

impl Protocol for Chat {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(format!("you are user {}\n", self.id).as_bytes());
        self.room.borrow_mut().insert(self.id, transport.clone());
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.line.extend_from_slice(data);
        while let Some(end) = self.line.iter().position(|&b| b == b'\n') {
            if end > MAX_LINE {
                break;
            }
            let line: Vec<u8> = self.line.drain(..=end).collect();
            let mut message = format!("user {}: ", self.id).into_bytes();
            message.extend_from_slice(&line);
            for (&id, other) in self.room.borrow().iter() {
                if id != self.id {
                    other.write(&message);
                }
            }
        }
        if self.line.len() > MAX_LINE {
            transport.write(b"line too long\n");
            transport.lose_connection();
        }
    }

    fn connection_lost(&mut self, _reason: Lost) {
        self.room.borrow_mut().remove(&self.id);
    }
}

// ANCHOR_END: chat

// ANCHOR: chat-run
/// A chat server on our reactor: each line goes to everyone else.
pub fn run(listener: std::net::TcpListener) -> io::Result<()> {
    let room = Room::default();
    let mut members = 0;
    let mut reactor = Reactor::new()?;
    reactor.listen_tcp(listener, move || {
        members += 1;
        let (id, room, line) = (members, room.clone(), Vec::new());
        Box::new(Chat { id, room, line }) as Box<dyn Protocol>
    })?;
    reactor.run()
}
// ANCHOR_END: chat-run

fn main() -> io::Result<()> {
    let addr = env::args().nth(1).unwrap_or("127.0.0.1:7000".into());
    let listener = std::net::TcpListener::bind(&addr)?;
    println!("chat server on {}", listener.local_addr()?);
    run(listener)
}

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 3-3
// (listings/ch03-reactor/03-protocols/src/main.rs), so that this folder
// builds on its own. The book's tests check that each item is the same Rust
// as in its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch03-reactor/03-protocols/src/main.rs
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
// END COPY

// COPY FROM listings/ch03-reactor/03-protocols/src/main.rs
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

/// Reads, or pieces produced, per connection per turn of the loop: a
/// client that never stops sending, or a producer that never stops
/// writing, gives way to the others after this many.
const STEPS_PER_TURN: usize = 16;

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

/// Runs a protocol callback. A panic in it becomes an error, which
/// closes that one connection.
fn guard(f: impl FnOnce()) -> io::Result<()> {
    panic::catch_unwind(AssertUnwindSafe(f))
        .map_err(|_| io::Error::other("protocol panicked"))
}

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
// END COPY

// COPY FROM listings/ch03-reactor/03-protocols/src/main.rs
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
    use std::io::{BufRead, BufReader};
    use std::net::{SocketAddr, TcpStream};
    use std::sync::Mutex;
    use std::thread;
    use std::time::{Duration, Instant};

    /// The tests count the process's file descriptors: one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || run(listener));
        drop(join(addr)); // Once it serves, the reactor is running.
        thread::sleep(Duration::from_millis(100));
        addr
    }

    /// Joins the room; returns the writing side and a line reader.
    fn join(addr: SocketAddr) -> (TcpStream, BufReader<TcpStream>) {
        let s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        assert!(read_line(&mut r).starts_with("you are user "));
        (s, r)
    }

    fn read_line(r: &mut BufReader<TcpStream>) -> String {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        line
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

    /// Two new members can still talk.
    fn served(addr: SocketAddr) -> bool {
        let (mut a, _ra) = join(addr);
        let (_b, mut rb) = join(addr);
        a.write_all(b"ping\n").unwrap();
        read_line(&mut rb).ends_with(": ping\n")
    }

    #[test]
    fn a_line_goes_to_everyone_else() {
        let _s = serial();
        let addr = start();
        let before = open_fds();
        let (mut a, mut ra) = join(addr);
        let (_b, mut rb) = join(addr);
        let (_c, mut rc) = join(addr);
        a.write_all(b"hel").unwrap();
        thread::sleep(Duration::from_millis(50));
        a.write_all(b"lo\nbye\n").unwrap();
        for r in [&mut rb, &mut rc] {
            assert!(read_line(r).ends_with(": hello\n"));
            assert!(read_line(r).ends_with(": bye\n"));
        }
        ra.get_ref().set_nonblocking(true).unwrap();
        let mut buf = [0; 1];
        assert!(ra.get_mut().read(&mut buf).is_err(), "no echo to sender");
        drop((a, ra, _b, rb, _c, rc));
        assert!(fds_back_to(before));
    }

    #[test]
    fn garbage_is_relayed_as_bytes() {
        let _s = serial();
        let addr = start();
        let (mut a, _ra) = join(addr);
        let (_b, mut rb) = join(addr);
        a.write_all(b"\xff\x00\xfe\r\n").unwrap();
        let mut line = Vec::new();
        rb.read_until(b'\n', &mut line).unwrap();
        assert!(line.ends_with(b": \xff\x00\xfe\r\n"));
        assert!(served(addr));
    }

    #[test]
    fn an_overlong_line_closes_that_connection_only() {
        let _s = serial();
        let addr = start();
        let before = open_fds();
        let (mut a, mut ra) = join(addr);
        let (_b, mut rb) = join(addr);
        a.write_all(&vec![b'x'; 4 * MAX_LINE]).unwrap();
        assert_eq!(read_line(&mut ra), "line too long\n");
        assert_eq!(read_line(&mut ra), ""); // Then the end of the stream.
        rb.get_ref().set_nonblocking(true).unwrap();
        let mut buf = [0; 1];
        assert!(rb.get_mut().read(&mut buf).is_err(), "nothing relayed");
        assert!(served(addr));
        drop((a, ra, _b, rb));
        assert!(fds_back_to(before));
    }

    /// The chat, with two things more: a member may close another's
    /// connection with `kick N`, and everyone hears when one leaves.
    struct Moderated(Chat);

    impl Protocol for Moderated {
        fn connection_made(&mut self, transport: &Transport) {
            self.0.connection_made(transport);
        }

        fn data_received(&mut self, transport: &Transport, data: &[u8]) {
            let kicked = std::str::from_utf8(data)
                .ok()
                .and_then(|line| line.trim().strip_prefix("kick "))
                .and_then(|id| id.parse::<usize>().ok());
            let room = self.0.room.clone();
            match kicked.and_then(|id| room.borrow().get(&id).cloned()) {
                Some(other) => other.lose_connection(),
                None => self.0.data_received(transport, data),
            }
        }

        fn connection_lost(&mut self, reason: Lost) {
            self.0.connection_lost(reason);
            let news = format!("user {} left\n", self.0.id);
            for other in self.0.room.borrow().values() {
                other.write(news.as_bytes());
            }
        }
    }

    /// A member kicked by another is closed while the reactor sends
    /// what protocols wrote; the news, written from `connection_lost`
    /// then, must still go out at once, with no other event to come
    /// (this reactor has no timers: it sleeps in `poll` until a socket
    /// is ready).
    #[test]
    fn news_written_while_closing_is_sent_at_once() {
        let _s = serial();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            let room = Room::default();
            let mut members = 0;
            let mut reactor = Reactor::new()?;
            reactor.listen_tcp(listener, move || {
                members += 1;
                let (id, room, line) = (members, room.clone(), Vec::new());
                Box::new(Moderated(Chat { id, room, line })) as Box<_>
            })?;
            reactor.run()
        });
        let (_a, mut ra) = join(addr);
        let (mut b, mut rb) = join(addr);
        b.write_all(b"kick 1\n").unwrap();
        assert_eq!(read_line(&mut ra), ""); // Closed.
        rb.get_ref()
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        assert_eq!(read_line(&mut rb), "user 1 left\n");
    }

    #[test]
    fn a_member_who_never_reads_is_dropped() {
        let _s = serial();
        let addr = start();
        let before = open_fds();
        let (_hog, mut rhog) = join(addr);
        let (mut talker, _rt) = join(addr);
        // A member who reads everything, and tells us when it has all.
        let (_r, mut reader) = join(addr);
        let all_read = thread::spawn(move || {
            let mut line = read_line(&mut reader);
            while !line.ends_with(": end\n") {
                assert!(!line.is_empty(), "the reader was disconnected");
                line = read_line(&mut reader);
            }
        });
        let line = [vec![b'x'; 1000], vec![b'\n']].concat();
        // 8 MiB of lines: more than the kernel and MAX_OUTBOX hold.
        for _ in 0..8 * 1024 {
            talker.write_all(&line).unwrap();
        }
        talker.write_all(b"end\n").unwrap();
        // Once the reader has every line, the server has handled them
        // all, and written them to the hog's outbox, or closed it.
        all_read.join().unwrap();
        // The hog's connection ends after at most what was buffered: the
        // server closes it, which it hears as an end of stream or, with
        // bytes it never read left behind, a reset. A read that times out
        // means the connection was still open.
        let mut got = 0;
        let mut buf = vec![0; 64 * 1024];
        loop {
            match rhog.get_mut().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("the hog's connection stayed open: {e}"),
            }
        }
        assert!(got < 8 << 20, "the hog got everything");
        assert!(served(addr));
        drop((_hog, rhog, talker, _rt, _r));
        assert!(fds_back_to(before));
    }
}
