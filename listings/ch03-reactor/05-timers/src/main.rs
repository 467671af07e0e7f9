extern crate mio; // `mdbook test` links crates by name
extern crate socket2; // `mdbook test` links crates by name

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::env;
use std::io::{self, ErrorKind, Read, Write};
use std::mem;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

// ANCHOR: timers
/// Identifies a scheduled callback, so that it can be cancelled.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct TimerId(u64);

/// Callbacks to run later: Twisted's `callLater`. A min-heap of
/// deadlines; the callbacks themselves live in a map, so that
/// cancelling one is removing it from the map.
#[derive(Clone, Default)]
pub struct Timers(Rc<RefCell<TimerQueue>>);

#[derive(Default)]
struct TimerQueue {
    deadlines: BinaryHeap<Reverse<(Instant, TimerId)>>,
    callbacks: HashMap<TimerId, Box<dyn FnOnce()>>,
    next_id: u64,
}

impl Timers {
    pub fn call_later(
        &self,
        delay: Duration,
        callback: impl FnOnce() + 'static,
    ) -> TimerId {
        let mut q = self.0.borrow_mut();
        q.next_id += 1;
        let id = TimerId(q.next_id);
        q.deadlines.push(Reverse((Instant::now() + delay, id)));
        q.callbacks.insert(id, Box::new(callback));
        id
    }

    /// Cancels a callback that has not run yet; otherwise does nothing.
    pub fn cancel(&self, id: TimerId) {
        self.0.borrow_mut().callbacks.remove(&id);
    }
}
// ANCHOR_END: timers

// ANCHOR: timeout
impl Timers {
    /// How long the reactor may sleep: until the next live deadline,
    /// or for ever (`None`) if no callback is waiting.
    fn timeout(&self) -> Option<Duration> {
        let mut q = self.0.borrow_mut();
        while let Some(&Reverse((at, id))) = q.deadlines.peek() {
            if q.callbacks.contains_key(&id) {
                return Some(at.saturating_duration_since(Instant::now()));
            }
            q.deadlines.pop(); // Cancelled: it must not wake us.
        }
        None
    }

    /// Runs every callback whose deadline has passed, earliest first.
    fn run_due(&self) {
        let now = Instant::now();
        loop {
            let mut q = self.0.borrow_mut();
            let Some(&Reverse((at, id))) = q.deadlines.peek() else {
                return;
            };
            if at > now {
                return;
            }
            q.deadlines.pop();
            let callback = q.callbacks.remove(&id);
            drop(q); // A callback may schedule or cancel others.
            if let Some(callback) = callback {
                let _ = guard(callback);
            }
        }
    }
}
// ANCHOR_END: timeout

/// Watches sockets through the kernel and calls protocols.
pub struct Reactor {
    poll: Poll,
    listeners: HashMap<Token, (TcpListener, Box<dyn Factory>)>,
    connections: HashMap<Token, Connection>,
    next_token: usize,
    dirty: Rc<RefCell<Vec<Token>>>,
    paused: Vec<(Token, Instant)>, // Listeners to retry, and when.
    ready: Vec<Token>, // Connections whose turn ended with work left.
    timers: Timers,    // New: callbacks to run later.
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
            timers: Timers::default(),
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
    /// A handle on the reactor's timers, for factories and protocols.
    pub fn timers(&self) -> Timers {
        self.timers.clone()
    }

    /// Runs the loop for ever: wait for events, call protocols.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            // New: we sleep until the next deadline, or until an event.
            let timeout = self.timeout();
            match self.poll.poll(&mut events, timeout) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                result => result?,
            }
            self.retry_accepts();
            for event in &events {
                if self.listeners.contains_key(&event.token()) {
                    self.accept(event.token());
                } else {
                    self.note(event);
                    self.drive(event.token(), true);
                }
            }
            self.drive_ready();
            self.timers.run_due(); // New: the callbacks whose time came.
            self.drive_dirty();
        }
    }
}
// ANCHOR_END: run

impl Reactor {
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

    /// How long `poll` may sleep: until the next timer, or the next
    /// retry of a listener, or for ever (`None`).
    fn timeout(&self) -> Option<Duration> {
        if !self.ready.is_empty() {
            return Some(Duration::ZERO); // Work left: no sleep.
        }
        let now = Instant::now();
        let next = self.paused.iter().map(|(_, at)| *at).min();
        let retry = next.map(|at| at.saturating_duration_since(now));
        retry.into_iter().chain(self.timers.timeout()).min()
    }
}

struct Chat {
    id: usize,
    room: Room,
    line: Vec<u8>, // The start of a line whose end has not come yet.
    timers: Timers,
    silence: Rc<Silence>,
}

impl Protocol for Chat {
    fn connection_made(&mut self, transport: &Transport) {
        transport.write(format!("you are user {}\n", self.id).as_bytes());
        self.room.borrow_mut().insert(self.id, transport.clone());
        watch(&self.timers, transport, &self.silence, self.silence.limit);
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.silence.last_heard.set(Instant::now());
        self.line.extend_from_slice(data);
        while let Some(end) = self.line.iter().position(|&b| b == b'\n') {
            if end > MAX_LINE {
                break;
            }
            let line: Vec<u8> = self.line.drain(..=end).collect();
            let mut message = format!("user {}: ", self.id).into_bytes();
            message.extend_from_slice(&line);
            broadcast(&self.room, Some(self.id), &message);
        }
        if self.line.len() > MAX_LINE {
            transport.write(b"line too long\n");
            transport.lose_connection();
        }
    }

    fn connection_lost(&mut self, _reason: Lost) {
        self.room.borrow_mut().remove(&self.id);
        if let Some(timer) = self.silence.timer.take() {
            self.timers.cancel(timer);
        }
    }
}

/// Sends `message` to every member except `from`.
fn broadcast(room: &Room, from: Option<usize>, message: &[u8]) {
    for (&id, member) in room.borrow().iter() {
        if Some(id) != from {
            member.write(message);
        }
    }
}

// ANCHOR: idle
/// How long a member has been silent, and the timer that watches it.
struct Silence {
    limit: Duration,
    last_heard: Cell<Instant>,
    timer: Cell<Option<TimerId>>,
}

/// Closes the connection once its member has been silent for
/// `silence.limit`. When the timer finds the member spoke meanwhile,
/// it sets itself again for the time that is left: one timer per
/// member, however much the member talks.
fn watch(
    timers: &Timers,
    t: &Transport,
    silence: &Rc<Silence>,
    after: Duration,
) {
    let (timers2, t2, s) = (timers.clone(), t.clone(), silence.clone());
    let timer = timers.call_later(after, move || {
        let silent = s.last_heard.get().elapsed();
        if silent >= s.limit {
            t2.write(b"idle too long\n");
            t2.lose_connection();
            // A member who does not read would keep that close waiting
            // for a flush for ever: we give it as long again, no more.
            let t3 = t2.clone();
            let abort = move || t3.abort_connection();
            s.timer.set(Some(timers2.call_later(s.limit, abort)));
        } else {
            watch(&timers2, &t2, &s, s.limit - silent);
        }
    });
    silence.timer.set(Some(timer));
}

/// Sends a line to everyone every `period`, for ever.
fn tick(timers: &Timers, room: &Room, period: Duration) {
    let (timers2, room2) = (timers.clone(), room.clone());
    timers.call_later(period, move || {
        broadcast(&room2, None, b"* tick\n");
        tick(&timers2, &room2, period);
    });
}
// ANCHOR_END: idle

// ANCHOR: chat-run
/// The chat server, with an idle timeout and a periodic tick.
pub fn run_with(
    listener: std::net::TcpListener,
    idle: Duration,
    period: Duration,
) -> io::Result<()> {
    let room = Room::default();
    let mut members = 0;
    let mut reactor = Reactor::new()?;
    let timers = reactor.timers();
    tick(&timers, &room, period);
    reactor.listen_tcp(listener, move || {
        members += 1;
        let silence = Rc::new(Silence {
            limit: idle,
            last_heard: Cell::new(Instant::now()),
            timer: Cell::new(None),
        });
        let (id, room, line) = (members, room.clone(), Vec::new());
        let timers = timers.clone();
        Box::new(Chat {
            id,
            room,
            line,
            timers,
            silence,
        }) as Box<dyn Protocol>
    })?;
    reactor.run()
}
// ANCHOR_END: chat-run

pub fn run(listener: std::net::TcpListener) -> io::Result<()> {
    run_with(listener, Duration::from_secs(300), Duration::from_secs(60))
}

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 3-4
// (listings/ch03-reactor/04-chat/src/main.rs), so that this folder builds on
// its own. The book's tests check that each item is the same Rust as in its
// source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch03-reactor/04-chat/src/main.rs
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
// END COPY

// COPY FROM listings/ch03-reactor/04-chat/src/main.rs
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
// END COPY

// COPY FROM listings/ch03-reactor/04-chat/src/main.rs
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
// END COPY

// COPY FROM listings/ch03-reactor/04-chat/src/main.rs
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
// END COPY

// COPY FROM listings/ch03-reactor/04-chat/src/main.rs
/// How long a listener rests after `accept` failed for lack of resources.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

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

/// Accept errors that concern one client, not the listener.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Interrupted
            | ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
    )
}

/// Everyone in the chat room, by member number.
type Room = Rc<RefCell<HashMap<usize, Transport>>>;

/// The longest line we accept, newline excluded.
pub const MAX_LINE: usize = 1024;
// END COPY

// COPY FROM listings/ch03-reactor/04-chat/src/main.rs
fn main() -> io::Result<()> {
    let addr = env::args().nth(1).unwrap_or("127.0.0.1:7000".into());
    let listener = std::net::TcpListener::bind(&addr)?;
    println!("chat server on {}", listener.local_addr()?);
    run(listener)
}
// END COPY

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::{SocketAddr, TcpStream};
    use std::thread;

    /// One test counts the process's file descriptors: one at a time.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start(idle: Duration, period: Duration) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || run_with(listener, idle, period));
        addr
    }

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

    #[test]
    fn timers_run_in_deadline_order_unless_cancelled() {
        let _s = serial();
        let timers = Timers::default();
        let log = Rc::new(RefCell::new(Vec::new()));
        for (name, ms) in [("b", 20), ("a", 10), ("c", 30)] {
            let log = log.clone();
            let id = timers.call_later(Duration::from_millis(ms), move || {
                log.borrow_mut().push(name)
            });
            if name == "c" {
                timers.cancel(id);
            }
        }
        assert!(timers.timeout().unwrap() <= Duration::from_millis(10));
        thread::sleep(Duration::from_millis(40));
        timers.run_due();
        assert_eq!(*log.borrow(), ["a", "b"]);
        assert_eq!(timers.timeout(), None); // Nothing left: sleep for ever.
    }

    #[test]
    fn a_silent_member_is_closed_a_talking_one_is_not() {
        let _s = serial();
        let addr = start(Duration::from_millis(400), Duration::from_secs(60));
        // The server starts the member's clock before it greets it.
        let joined = Instant::now();
        let (_silent, mut rs) = join(addr);
        // The silent member's side: what it hears, and when it is closed.
        let silent = thread::spawn(move || {
            let mut lines = Vec::new();
            loop {
                let line = read_line(&mut rs);
                if line.is_empty() {
                    return (lines, joined.elapsed());
                }
                lines.push(line);
            }
        });
        let (mut talker, mut rt) = join(addr);
        for _ in 0..8 {
            talker.write_all(b"hi\n").unwrap();
            thread::sleep(Duration::from_millis(100));
        }
        let (lines, closed_after) = silent.join().unwrap();
        assert_eq!(lines.last().unwrap(), "idle too long\n");
        // Closed after its 400 ms of silence, not before, and long before
        // the talker's 800 ms were over.
        assert!(
            (400..750).contains(&closed_after.as_millis()),
            "closed after {closed_after:?}"
        );
        // The talker, 800 ms later, is still there.
        let (mut other, _ro) = join(addr);
        other.write_all(b"still here?\n").unwrap();
        assert!(read_line(&mut rt).ends_with(": still here?\n"));
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

    /// How many bytes the kernel takes, on this machine, for a loopback
    /// peer that does not read.
    fn kernel_holds() -> usize {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let _peer = TcpStream::connect(listener.local_addr().unwrap());
        let (mut sender, _) = listener.accept().unwrap();
        sender.set_nonblocking(true).unwrap();
        let mut held = 0;
        while let Ok(n) = sender.write(&[0; 100_000]) {
            held += n;
            assert!(held < 256 << 20, "the kernel takes without end");
        }
        held
    }

    /// A member who neither talks nor reads, while another talks a lot:
    /// the kernel's buffers towards it fill up, and its outbox holds the
    /// rest. When its silence is up, the goodbye cannot be flushed; the
    /// server must close it anyway.
    #[test]
    fn a_silent_member_who_does_not_read_is_closed_too() {
        let _s = serial();
        let addr = start(Duration::from_millis(1500), Duration::from_secs(60));
        drop(join(addr)); // The server is up.
        thread::sleep(Duration::from_millis(100));
        let before = open_fds();
        let (hog, rhog) = join(addr);
        let (mut talker, rt) = join(addr);
        let line = [vec![b'x'; 999], vec![b'\n']].concat();
        // In 100 KB bursts, half a megabyte more than the kernel holds
        // for a peer that does not read: the outbox keeps that, less
        // than its bound of `MAX_OUTBOX`.
        let bursts = (kernel_holds() + (512 << 10)) / 100_000;
        let start = Instant::now();
        for _ in 0..bursts {
            for _ in 0..100 {
                talker.write_all(&line).unwrap();
            }
            thread::sleep(Duration::from_millis(2));
        }
        // All of it before the hog's silence is up, or the test is moot.
        assert!(start.elapsed() < Duration::from_millis(1200), "too slow");
        drop((talker, rt)); // The server closes its side too.
        // The hog's socket on the server's side is closed in the end:
        // only the hog's own two descriptors (its stream and the clone
        // that reads) remain.
        let deadline = Instant::now() + Duration::from_secs(6);
        while open_fds() > before + 2 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(open_fds(), before + 2, "the hog's connection stayed open");
        drop((hog, rhog));
    }

    #[test]
    fn everyone_hears_the_tick() {
        let _s = serial();
        let addr = start(Duration::from_secs(60), Duration::from_millis(100));
        let (_a, mut ra) = join(addr);
        let (_b, mut rb) = join(addr);
        assert_eq!(read_line(&mut ra), "* tick\n");
        assert_eq!(read_line(&mut rb), "* tick\n");
    }
}
