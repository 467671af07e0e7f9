//! Twisted's `Deferred`, written for our reactor: callbacks and errbacks
//! attached to a result that is not there yet, run in a chain once it is.
//! Below the demo: Listing 3-6's reactor and HTTP client, copied.

extern crate httparse; // `mdbook test` links crates by name
extern crate mio; // `mdbook test` links crates by name
extern crate socket2; // `mdbook test` links crates by name
extern crate url; // `mdbook test` links crates by name

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use url::{Host, Position, Url};

// ANCHOR: types
/// An error on its way down a chain: Twisted's `Failure`.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a callback or an errback returns: the next result, or a pending
/// one that the chain waits for before it goes on.
pub enum Step<T> {
    Value(T),
    Fail(Failure),
    Wait(Deferred<T>),
}

/// A result that is not there yet, and what to do with it.
pub struct Deferred<T>(Rc<RefCell<Chain<T>>>);

type Callback<T> = Box<dyn FnOnce(T) -> Step<T>>;
type Errback<T> = Box<dyn FnOnce(Failure) -> Step<T>>;

struct Chain<T> {
    fired: bool,
    /// The current result: `None` before `fired`, and while the chain
    /// waits for another `Deferred` or runs one of its steps.
    result: Option<Result<T, Failure>>,
    steps: VecDeque<(Callback<T>, Errback<T>)>,
    /// The `Deferred` whose chain waits for this one's result.
    waiting: Option<Deferred<T>>,
    /// The result went on to the chain that waited for it.
    handed_over: bool,
    canceller: Option<Box<dyn FnOnce()>>,
}
// ANCHOR_END: types

/// `callback` or `errback` on a `Deferred` that had fired already.
#[derive(Debug, PartialEq)]
pub struct AlreadyCalled;

impl<T> Clone for Deferred<T> {
    fn clone(&self) -> Self {
        Deferred(self.0.clone())
    }
}

impl<T: 'static> Default for Deferred<T> {
    fn default() -> Self {
        Deferred::new()
    }
}

// ANCHOR: add
impl<T: 'static> Deferred<T> {
    pub fn new() -> Self {
        Deferred(Rc::new(RefCell::new(Chain {
            fired: false,
            result: None,
            steps: VecDeque::new(),
            waiting: None,
            handed_over: false,
            canceller: None,
        })))
    }

    /// Twisted's `addCallbacks`: one step of the chain. On a value, the
    /// step calls `callback`; on a failure, `errback`. Either may turn
    /// the one into the other.
    pub fn add_callbacks(
        &self,
        callback: impl FnOnce(T) -> Step<T> + 'static,
        errback: impl FnOnce(Failure) -> Step<T> + 'static,
    ) -> &Self {
        let step = (Box::new(callback) as Callback<T>, Box::new(errback) as _);
        let mut chain = self.0.borrow_mut();
        assert!(
            !chain.handed_over,
            "a step added to a Deferred whose result went to another chain"
        );
        chain.steps.push_back(step);
        drop(chain);
        self.run(); // Fired already? Then the step runs now.
        self
    }

    /// A step for values; a failure passes by it, unchanged.
    pub fn add_callback(
        &self,
        callback: impl FnOnce(T) -> Step<T> + 'static,
    ) -> &Self {
        self.add_callbacks(callback, Step::Fail)
    }

    /// A step for failures; a value passes by it, unchanged.
    pub fn add_errback(
        &self,
        errback: impl FnOnce(Failure) -> Step<T> + 'static,
    ) -> &Self {
        self.add_callbacks(Step::Value, errback)
    }
}
// ANCHOR_END: add

// ANCHOR: fire
impl<T: 'static> Deferred<T> {
    /// Fires with a value: the chain runs, now.
    pub fn callback(&self, value: T) -> Result<(), AlreadyCalled> {
        self.fire(Ok(value))
    }

    /// Fires with a failure: the chain runs, from errback to errback.
    pub fn errback(&self, failure: Failure) -> Result<(), AlreadyCalled> {
        self.fire(Err(failure))
    }

    fn fire(&self, result: Result<T, Failure>) -> Result<(), AlreadyCalled> {
        let mut chain = self.0.borrow_mut();
        if chain.fired {
            return Err(AlreadyCalled);
        }
        chain.fired = true;
        chain.result = Some(result);
        let canceller = chain.canceller.take();
        drop(chain);
        drop(canceller); // Its captures may hold this very `Deferred`.
        self.run();
        Ok(())
    }

    /// Runs the steps that can run: until none is left, or one returned
    /// a `Deferred` that has no result yet.
    fn run(&self) {
        loop {
            let mut chain = self.0.borrow_mut();
            if chain.result.is_none() {
                // Not fired yet, or waiting for another `Deferred`, or a
                // step running, which goes on from where it is when done.
                return;
            }
            let Some((callback, errback)) = chain.steps.pop_front() else {
                // The end of the chain: a chain waiting for ours goes on.
                let Some(waiting) = chain.waiting.take() else {
                    return;
                };
                let result = chain.result.take().unwrap();
                chain.handed_over = true;
                drop(chain);
                waiting.resume(result);
                return;
            };
            let result = chain.result.take().unwrap();
            // A step may add steps to this chain, or look at it: no
            // borrow may be held while it runs.
            drop(chain);
            let step = panic::catch_unwind(AssertUnwindSafe(|| match result {
                Ok(value) => callback(value),
                Err(failure) => errback(failure),
            }));
            let step = step.unwrap_or_else(|_| {
                Step::Fail(Failure("a step panicked".into()))
            });
            let next = match step {
                Step::Value(value) => Ok(value),
                Step::Fail(failure) => Err(failure),
                Step::Wait(other) => match self.wait_for(other) {
                    Some(result) => result, // It had fired: go on.
                    None => return,         // Its chain will resume ours.
                },
            };
            self.0.borrow_mut().result = Some(next);
        }
    }

    /// Makes this chain wait for `other`'s result: now, if `other` has
    /// it and nothing left to run; otherwise, once `other`'s chain ends.
    fn wait_for(&self, other: Deferred<T>) -> Option<Result<T, Failure>> {
        if Rc::ptr_eq(&self.0, &other.0) {
            let why = "a step returned the Deferred it belongs to";
            return Some(Err(Failure(why.into())));
        }
        let mut theirs = other.0.borrow_mut();
        if theirs.waiting.is_some() || theirs.handed_over {
            let why = "a step returned a Deferred that another chain took";
            return Some(Err(Failure(why.into())));
        }
        if theirs.result.is_some() && theirs.steps.is_empty() {
            theirs.handed_over = true;
            return theirs.result.take();
        }
        theirs.waiting = Some(self.clone());
        drop(theirs);
        other.run(); // It may be able to go on now.
        None
    }

    fn resume(&self, result: Result<T, Failure>) {
        self.0.borrow_mut().result = Some(result);
        self.run();
    }
}
// ANCHOR_END: fire

// ANCHOR: cancel
impl<T: 'static> Deferred<T> {
    /// A `Deferred` that `cancel` stops with `stop`: Twisted's canceller.
    pub fn with_canceller(stop: impl FnOnce() + 'static) -> Self {
        let d = Deferred::new();
        d.0.borrow_mut().canceller = Some(Box::new(stop));
        d
    }

    /// Gives up on the result: the canceller stops the work, and the
    /// chain runs with a `cancelled` failure. Too late, it does nothing.
    pub fn cancel(&self) {
        let stop = self.0.borrow_mut().canceller.take();
        if let Some(stop) = stop {
            stop();
        }
        let _ = self.errback(Failure("cancelled".into()));
    }

    pub fn has_fired(&self) -> bool {
        self.0.borrow().fired
    }
}

impl<T> Drop for Chain<T> {
    /// A failure that no errback handled is not lost in silence.
    fn drop(&mut self) {
        if let Some(Err(failure)) = &self.result {
            eprintln!("Unhandled error in Deferred: {failure}");
        }
    }
}
// ANCHOR_END: cancel

// ANCHOR: sources
/// `value`, `delay` from now: a `Deferred` fired by the reactor's timers,
/// whose cancelling cancels the timer.
pub fn later<T: 'static>(
    timers: &Timers,
    delay: Duration,
    value: T,
) -> Deferred<T> {
    let id = Rc::new(Cell::new(None));
    // Weak: the timer holds the `Deferred`, which must not hold the timers.
    let (queue, id2) = (Rc::downgrade(&timers.0), id.clone());
    let d = Deferred::with_canceller(move || {
        if let (Some(queue), Some(id)) = (queue.upgrade(), id2.get()) {
            Timers(queue).cancel(id);
        }
    });
    let fire = d.clone();
    id.set(Some(timers.call_later(delay, move || {
        let _ = fire.callback(value);
    })));
    d
}

/// Listing 3-6's `get_page`, with a `Deferred` for its callback slot: the
/// body, as text. Like Twisted's `getPage`, a status other than 200, 201
/// or 202 is a failure.
pub fn get_page_deferred(reactor: &mut Reactor, url: &str) -> Deferred<String> {
    let d = Deferred::new();
    let fire = d.clone();
    get_page(reactor, url, move |page| {
        let _ = match page {
            Ok(page) if !(200..=202).contains(&page.status) => {
                fire.errback(Failure(format!("HTTP status {}", page.status)))
            }
            Ok(page) => {
                fire.callback(String::from_utf8_lossy(&page.body).into())
            }
            Err(e) => fire.errback(Failure(e.to_string())),
        };
    });
    d
}
// ANCHOR_END: sources

/// The text of an HTML fragment, its tags left out.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

// ANCHOR: hundred
/// The series' demo: a hundred pending results, callbacks attached to
/// each, then the reactor runs and fires them all.
fn hundred(reactor: &mut Reactor) -> io::Result<()> {
    let total = Rc::new(Cell::new(0));
    let pending: Vec<Deferred<u64>> =
        (0..100).map(|_| Deferred::new()).collect();
    for d in &pending {
        let total = total.clone();
        d.add_callback(|n| Step::Value(n * 2))
            .add_callback(move |n| {
                total.set(total.get() + n);
                Step::Value(n)
            });
    }
    println!(
        "100 pending results, 200 callbacks; total so far: {}",
        total.get()
    );
    let fire = pending.clone();
    reactor
        .timers()
        .call_later(Duration::from_millis(10), move || {
            for (i, d) in fire.iter().enumerate() {
                d.callback(i as u64).unwrap();
            }
        });
    reactor.run_until(|| pending.iter().all(Deferred::has_fired))?;
    println!("the reactor fired them; total: {}", total.get());
    Ok(())
}
// ANCHOR_END: hundred

// ANCHOR: chain
/// Each page's text, upper-cased; a failure skips the callbacks up to
/// the errback, which turns it back into a value.
fn chains(reactor: &mut Reactor, server: SocketAddr) -> io::Result<()> {
    let lines = Rc::new(RefCell::new(Vec::new()));
    let paths = ["/length", "/missing"];
    for (i, path) in paths.into_iter().enumerate() {
        let lines = lines.clone();
        get_page_deferred(reactor, &format!("http://{server}{path}"))
            .add_callback(|body| Step::Value(text_of(&body)))
            .add_callback(|text| Step::Value(text.to_uppercase()))
            .add_errback(|failure| Step::Value(format!("({failure})")))
            .add_callback(move |line| {
                lines.borrow_mut().push((i, format!("{path}: {line}")));
                Step::Value(line)
            });
    }
    reactor.run_until(|| lines.borrow().len() == paths.len())?;
    let mut lines = lines.take();
    lines.sort(); // In the order of the paths, not of the replies.
    for (_, line) in lines {
        println!("{line}");
    }
    Ok(())
}
// ANCHOR_END: chain

// ANCHOR: wait
/// A callback that returns a `Deferred`: the chain waits for its result.
fn waits(reactor: &mut Reactor) -> io::Result<()> {
    let timers = reactor.timers();
    let start = Instant::now();
    let waited = Rc::new(Cell::new(None));
    let d = Deferred::new();
    let seen = waited.clone();
    d.add_callback(move |n| {
        Step::Wait(later(&timers, Duration::from_millis(50), n + 1))
    })
    .add_callback(move |n| {
        seen.set(Some((n, start.elapsed())));
        Step::Value(n)
    });
    d.callback(1).unwrap();
    println!(
        "fired with 1; the second callback has run: {}",
        waited.get().is_some()
    );
    reactor.run_until(|| waited.get().is_some())?;
    let (n, elapsed) = waited.get().unwrap();
    let late = elapsed >= Duration::from_millis(50);
    println!("it got {n}, at least 50 ms later: {late}");
    Ok(())
}
// ANCHOR_END: wait

// ANCHOR: gone
/// Cancelling, and a failure that nobody handles.
fn gone(reactor: &mut Reactor) {
    let d = later(&reactor.timers(), Duration::from_secs(60), 7);
    d.add_errback(|failure| {
        println!("errback: {failure}");
        Step::Value(0)
    });
    d.cancel();
    println!(
        "cancelled; no timer left: {}",
        reactor.timers().timeout().is_none()
    );
    let lost: Deferred<u64> = Deferred::new();
    lost.errback(Failure("nobody listens".into())).unwrap();
    drop(lost); // The last handle: the failure is reported.
}
// ANCHOR_END: gone

fn main() -> io::Result<()> {
    let server = local_web_server()?; // On 127.0.0.1, in other threads.
    let mut reactor = Reactor::new()?;
    hundred(&mut reactor)?;
    chains(&mut reactor, server)?;
    waits(&mut reactor)?;
    gone(&mut reactor);
    Ok(())
}

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 3-6
// (listings/ch03-reactor/06-http-client/src/main.rs), so that this folder
// builds on its own. The book's tests check that each item is the same
// Rust as in its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch03-reactor/06-http-client/src/main.rs
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
    /// New: an outgoing connection could not be made.
    fn connection_failed(&mut self, _error: io::Error) {}
}

impl From<Lost> for io::Error {
    fn from(lost: Lost) -> io::Error {
        match lost {
            Lost::Done => truncated(),
            Lost::Aborted => {
                io::Error::new(ErrorKind::ConnectionAborted, "aborted")
            }
            Lost::Failed(e) => e,
        }
    }
}

/// One connection, as the reactor sees it.
struct Connection {
    stream: TcpStream,
    protocol: Box<dyn Protocol>,
    transport: Transport,
    eof: bool,         // The peer has closed its side.
    connecting: bool,  // New: the kernel is still connecting it.
    readable: bool,    // The socket may hold bytes not read yet.
    peer_closed: bool, // An event said the peer closed, or failed.
    more: bool,        // Its last turn ended with work left.
    scheduled: bool,   // It is on the reactor's ready list.
}

impl Connection {
    /// Whether a connection we started is up: `Ok(false)` while the
    /// kernel is still at it, an error if it failed (as `mio` advises).
    fn connected(&mut self) -> io::Result<bool> {
        if let Some(e) = self.stream.take_error()? {
            return Err(e);
        }
        match self.stream.peer_addr() {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

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

impl Reactor {
    /// A handle on the reactor's timers, for factories and protocols.
    pub fn timers(&self) -> Timers {
        self.timers.clone()
    }

    /// Runs the loop for ever: wait for events, call protocols.
    pub fn run(&mut self) -> io::Result<()> {
        self.run_until(|| false)
    }

    /// Runs the loop until `done()` says so: Twisted's `reactor.stop()`.
    pub fn run_until(&mut self, done: impl Fn() -> bool) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        while !done() {
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
            self.timers.run_due();
            self.drive_dirty();
        }
        Ok(())
    }
}

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
        if conn.connecting {
            match conn.connected() {
                Ok(false) => return, // Not yet.
                Ok(true) => {
                    conn.connecting = false;
                    let (p, t) = (&mut conn.protocol, &conn.transport);
                    if let Err(e) = guard(|| p.connection_made(t)) {
                        return self.close(token, Lost::Failed(e));
                    }
                }
                Err(e) => return self.close(token, Lost::Failed(e)),
            }
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
                connecting: false,
            };
            self.connections.insert(conn_token, conn);
            match made {
                Ok(()) => self.drive(conn_token, true),
                Err(e) => self.close(conn_token, Lost::Failed(e)),
            }
        }
    }
}

impl Reactor {
    /// Connects to `addr`, and gives the connection to the protocol that
    /// `build` makes for its transport: Twisted's `connectTCP`, with a
    /// factory of one. Returns at once; the protocol hears
    /// `connection_made`, or `connection_failed`, later.
    pub fn connect_tcp(
        &mut self,
        addr: SocketAddr,
        build: impl FnOnce(&Transport) -> Box<dyn Protocol>,
    ) {
        let token = self.token();
        let transport = Transport {
            token,
            outbox: Rc::default(),
            dirty: self.dirty.clone(),
        };
        // Built first, so that it may keep its transport: to abort the
        // connection, for one, before it is made.
        let mut protocol = build(&transport);
        let mut stream = match TcpStream::connect(addr) {
            Ok(stream) => stream, // Connecting: it does not wait.
            Err(e) => return drop(guard(|| protocol.connection_failed(e))),
        };
        let both = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self.poll.registry().register(&mut stream, token, both)
        {
            return drop(guard(|| protocol.connection_failed(e)));
        }
        let conn = Connection {
            stream,
            protocol,
            transport,
            eof: false,
            readable: true,
            peer_closed: false,
            more: false,
            scheduled: false,
            connecting: true,
        };
        self.connections.insert(token, conn);
    }
}

impl Reactor {
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
        let p = &mut conn.protocol;
        let _ = match conn.connecting {
            // It never connected: for its protocol, connecting failed.
            true => guard(|| p.connection_failed(reason.into())),
            false => guard(|| p.connection_lost(reason)),
        };
    } // Dropping `conn` closes its socket.
}

/// A downloaded page.
#[derive(Debug)]
pub struct Page {
    /// The URL it was fetched from.
    pub url: String,
    pub status: u16,
    /// Names in lower case. Bytes of a value that are not UTF-8 (HTTP
    /// allows them, as "obs-text") are replaced with U+FFFD.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Page {
    /// The value of the first header called `name`, in lower case.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut named = self.headers.iter().filter(|(n, _)| n == name);
        named.next().map(|(_, value)| value.as_str())
    }
}

/// The largest body we accept.
pub const MAX_RESPONSE: usize = 1 << 20;
/// The largest head (status line and headers) we accept, and the most
/// headers.
pub const MAX_HEAD: usize = 64 * 1024;
pub const MAX_HEADERS: usize = 100;

/// How long a download may take: `idle`, with no byte from the server
/// (connecting included), and `total`, from start to end.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    pub idle: Duration,
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        let (idle, total) = (Duration::from_secs(10), Duration::from_secs(60));
        Timeouts { idle, total }
    }
}

/// Fetches one page: Twisted's `getPage`, with a callback slot for
/// the result, filled once, as a `Deferred` fires once.
struct GetPage {
    url: String,
    request: Vec<u8>,
    response: Response,
    on_page: Option<Box<dyn FnOnce(io::Result<Page>)>>,
    clock: Rc<Clock>,
}

impl GetPage {
    /// Hands the result to the callback, the first time only.
    fn fire(&mut self, result: io::Result<Page>) {
        self.clock.stop();
        if let Some(on_page) = self.on_page.take() {
            let url = mem::take(&mut self.url);
            on_page(result.map(|page| Page { url, ..page }));
        }
    }

    /// What an abort means: ours, when a deadline passed.
    fn lost(&self, why: io::Error) -> io::Error {
        match self.clock.expired.get() {
            true => io::Error::new(ErrorKind::TimedOut, "timed out"),
            false => why,
        }
    }
}

impl Protocol for GetPage {
    fn connection_made(&mut self, transport: &Transport) {
        self.clock.touch(transport); // Connected: the idle wait restarts.
        transport.write(&self.request);
    }

    fn data_received(&mut self, transport: &Transport, data: &[u8]) {
        self.clock.touch(transport); // Bytes came: not idle.
        let result = match self.response.feed(data) {
            Ok(false) => return, // Not all there yet.
            Ok(true) => Ok(self.response.take_page()),
            Err(e) => Err(e),
        };
        self.fire(result);
        transport.lose_connection();
    }

    fn connection_lost(&mut self, reason: Lost) {
        // The server closed first: the page ends here, or is cut short.
        if self.on_page.is_some() {
            let result = match reason {
                Lost::Done => self.response.finish(),
                other => Err(self.lost(other.into())), // No end of page.
            };
            self.fire(result);
        }
    }

    fn connection_failed(&mut self, error: io::Error) {
        let error = self.lost(error);
        self.fire(Err(error));
    }
}

/// A download's two deadlines. When one passes, the connection is
/// aborted, and the download fails with `TimedOut`.
struct Clock {
    timers: Timers,
    idle: Duration,
    idle_timer: Cell<Option<TimerId>>,
    total_timer: Cell<Option<TimerId>>,
    expired: Cell<bool>,
}

impl Clock {
    fn start(timers: Timers, t: Timeouts, transport: &Transport) -> Rc<Clock> {
        let clock = Rc::new(Clock {
            timers,
            idle: t.idle,
            idle_timer: Cell::new(None),
            total_timer: Cell::new(None),
            expired: Cell::new(false),
        });
        clock.total_timer.set(Some(clock.alarm(t.total, transport)));
        clock.touch(transport);
        clock
    }

    /// The idle deadline starts again.
    fn touch(self: &Rc<Clock>, transport: &Transport) {
        let id = self.alarm(self.idle, transport);
        if let Some(old) = self.idle_timer.replace(Some(id)) {
            self.timers.cancel(old);
        }
    }
}

impl Clock {
    /// A timer that aborts the connection after `delay`. It holds the
    /// clock weakly: a finished download frees it.
    fn alarm(self: &Rc<Clock>, delay: Duration, t: &Transport) -> TimerId {
        let (clock, transport) = (Rc::downgrade(self), t.clone());
        self.timers.call_later(delay, move || {
            if let Some(clock) = clock.upgrade() {
                clock.expired.set(true);
            }
            transport.abort_connection();
        })
    }

    fn stop(&self) {
        for timer in [&self.idle_timer, &self.total_timer] {
            if let Some(id) = timer.take() {
                self.timers.cancel(id);
            }
        }
    }
}

/// Starts fetching `url`; `on_page` gets the page or the error later.
pub fn get_page(
    reactor: &mut Reactor,
    url: &str,
    on_page: impl FnOnce(io::Result<Page>) + 'static,
) {
    request(reactor, "GET", url, Timeouts::default(), on_page);
}

/// Sends a `GET` or a `HEAD` for `url`, within `timeouts`.
pub fn request(
    reactor: &mut Reactor,
    method: &'static str,
    url: &str,
    timeouts: Timeouts,
    on_page: impl FnOnce(io::Result<Page>) + 'static,
) {
    let (addr, host, path) = match target(url) {
        Ok(target) => target,
        Err(e) => return on_page(Err(e)),
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    let timers = reactor.timers();
    reactor.connect_tcp(addr, move |transport| {
        Box::new(GetPage {
            url: url.to_string(),
            request: request.into_bytes(),
            response: Response::new(method == "HEAD"),
            on_page: Some(Box::new(on_page)),
            clock: Clock::start(timers, timeouts, transport),
        })
    });
}

/// Where to connect, and what to send as `Host` and as the path, for
/// an `http://` URL. The port is 80 unless the URL says otherwise; the
/// fragment (`#...`) is not sent. The host must be an IP address: we
/// resolve no names.
fn target(url: &str) -> io::Result<(SocketAddr, String, String)> {
    let url = Url::parse(url).map_err(|e| invalid(&format!("{url}: {e}")))?;
    if url.scheme() != "http" {
        return Err(invalid("only http:// URLs"));
    }
    let ip: IpAddr = match url.host() {
        Some(Host::Ipv4(ip)) => ip.into(),
        Some(Host::Ipv6(ip)) => ip.into(),
        _ => return Err(invalid("not an IP address: we resolve no names")),
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let host = &url[Position::BeforeHost..Position::AfterPort];
    let path = &url[Position::BeforePath..Position::AfterQuery];
    Ok((SocketAddr::new(ip, port), host.into(), path.into()))
}

/// A response, parsed as it arrives. Body bytes are looked at once; a
/// head, chunk-size or trailer line that arrives in pieces is looked at
/// again, within its bound, never the response from the start.
struct Response {
    head_only: bool,  // It answers a `HEAD`: no body follows.
    pending: Vec<u8>, // Bytes not parsed yet.
    scanned: usize,   // How far `pending` holds no end of line we want.
    trailers: usize,  // Bytes of trailers so far.
    state: State,
    page: Page,
}

/// Where we are in the response.
#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    Head,             // The status line and headers.
    Length(usize),    // A body of known length: this many bytes left.
    ChunkSize,        // A chunked body: the next chunk's size line.
    ChunkData(usize), // This many bytes left in the chunk,
    ChunkEnd,         // then its CRLF.
    Trailers,         // After the last chunk: trailer lines, skipped.
    UntilClose,       // A body that ends when the server closes.
    Done,
}

impl Response {
    /// Takes the bytes that came. `Ok(true)`: the page is complete.
    fn feed(&mut self, data: &[u8]) -> io::Result<bool> {
        let mut input = mem::take(&mut self.pending);
        input.extend_from_slice(data);
        let mut at = 0;
        while self.state != State::Done {
            match self.step(&input[at..])? {
                Some(used) => at += used,
                None => break, // The rest needs more bytes.
            }
        }
        input.drain(..at);
        self.pending = input;
        Ok(self.state == State::Done)
    }
}

impl Response {
    fn new(head_only: bool) -> Response {
        let page = Page {
            url: String::new(),
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
        };
        let (pending, scanned, state) = (Vec::new(), 0, State::Head);
        Response {
            head_only,
            pending,
            scanned,
            trailers: 0,
            state,
            page,
        }
    }

    /// The server closed: the page ends here, or was cut short.
    fn finish(&mut self) -> io::Result<Page> {
        match self.state {
            State::UntilClose | State::Done => Ok(self.take_page()),
            _ => Err(truncated()),
        }
    }

    fn take_page(&mut self) -> Page {
        mem::replace(&mut self.page, Response::new(false).page)
    }
}

impl Response {
    /// Parses what it can of `input`: `Some(bytes used)`, or `None`
    /// when nothing can be done before more bytes come.
    fn step(&mut self, input: &[u8]) -> io::Result<Option<usize>> {
        let used = match self.state {
            State::Head => return self.head(input),
            State::Length(left) | State::ChunkData(left) => {
                let n = left.min(input.len());
                self.page.body.extend_from_slice(&input[..n]);
                self.state = match (self.state, left - n) {
                    (_, left) if left > 0 && n == 0 => return Ok(None),
                    (State::Length(_), 0) => State::Done,
                    (State::Length(_), left) => State::Length(left),
                    (_, 0) => State::ChunkEnd,
                    (_, left) => State::ChunkData(left),
                };
                n
            }
            State::ChunkSize => return self.chunk_size(input),
            State::ChunkEnd if input.len() < 2 => return Ok(None),
            State::ChunkEnd if input.starts_with(b"\r\n") => {
                self.state = State::ChunkSize;
                2
            }
            State::ChunkEnd => return Err(invalid("bad chunk")),
            State::Trailers => return self.trailer(input),
            State::UntilClose if input.is_empty() => return Ok(None),
            State::UntilClose => {
                self.page.body.extend_from_slice(input);
                input.len()
            }
            State::Done => return Ok(None),
        };
        if self.page.body.len() > MAX_RESPONSE {
            return Err(invalid("response too large"));
        }
        Ok(Some(used))
    }
}

impl Response {
    /// The status line and headers, once they are all there.
    fn head(&mut self, input: &[u8]) -> io::Result<Option<usize>> {
        // Parse only once the blank line that ends the head has come.
        let from = self.scanned.saturating_sub(3);
        if find(&input[from..], b"\n\r\n").is_none()
            && find(&input[from..], b"\n\n").is_none()
        {
            self.scanned = input.len();
            return match input.len() > MAX_HEAD {
                true => Err(invalid("head too large")),
                false => Ok(None),
            };
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut head = httparse::Response::new(&mut headers);
        // RFC 9112 asks a client to take a header folded over several
        // lines (obs-fold), as one line: httparse does, when asked.
        let mut config = httparse::ParserConfig::default();
        config.allow_obsolete_multiline_headers_in_responses(true);
        let used = match config.parse_response(&mut head, input) {
            Ok(httparse::Status::Complete(used)) => used,
            Ok(httparse::Status::Partial) => {
                self.scanned = input.len();
                return Ok(None);
            }
            Err(e) => return Err(invalid(&format!("bad response: {e}"))),
        };
        if used > MAX_HEAD {
            return Err(invalid("head too large"));
        }
        self.scanned = 0;
        let status = head.code.unwrap_or(0);
        if (100..200).contains(&status) && status != 101 {
            return Ok(Some(used)); // "100 Continue" and such: skipped.
        }
        self.page.status = status;
        self.page.headers = owned(head.headers);
        self.state = self.framing()?;
        Ok(Some(used))
    }
}

/// Headers as a page keeps them: names in lower case, values as text
/// (bytes that are not UTF-8 replaced), folded lines joined.
fn owned(headers: &[httparse::Header]) -> Vec<(String, String)> {
    let text = |h: &httparse::Header| {
        let value = String::from_utf8_lossy(h.value);
        let value = value.replace(['\r', '\n'], " "); // Unfolded.
        (h.name.to_ascii_lowercase(), value.trim().to_string())
    };
    headers.iter().map(text).collect()
}

impl Response {
    /// How the body is delimited (RFC 9112, section 6.3).
    fn framing(&self) -> io::Result<State> {
        let status = self.page.status;
        if self.head_only || status == 101 || status == 204 || status == 304 {
            return Ok(State::Done); // No body, whatever the headers say.
        }
        let list = |name: &str| -> Vec<String> {
            let named = self.page.headers.iter().filter(|(n, _)| n == name);
            let items = named.flat_map(|(_, value)| value.split(','));
            items.map(|item| item.trim().to_ascii_lowercase()).collect()
        };
        let codings = list("transfer-encoding");
        if codings == ["chunked"] {
            return Ok(State::ChunkSize);
        } else if !codings.is_empty() {
            let codings = codings.join(", ");
            return Err(invalid(&format!("unsupported coding: {codings}")));
        }
        let lengths = list("content-length");
        let Some(first) = lengths.first() else {
            return Ok(State::UntilClose); // HTTP/1.0's way.
        };
        let digits = |v: &String| v.bytes().all(|b| b.is_ascii_digit());
        let length = match lengths.iter().all(|v| v == first && digits(v)) {
            true => first.parse::<usize>().ok(),
            false => None,
        };
        match length {
            Some(0) => Ok(State::Done),
            Some(n) if n <= MAX_RESPONSE => Ok(State::Length(n)),
            Some(_) => Err(invalid("response too large")),
            None => Err(invalid("bad Content-Length")),
        }
    }
}

impl Response {
    /// A chunk's size line: hexadecimal, perhaps with extensions.
    fn chunk_size(&mut self, input: &[u8]) -> io::Result<Option<usize>> {
        // httparse takes an empty size for 0: RFC 9112 wants a digit.
        match input.first() {
            None => return Ok(None),
            Some(b) if !b.is_ascii_hexdigit() => {
                return Err(invalid("bad chunk size"));
            }
            Some(_) => {}
        }
        match httparse::parse_chunk_size(input) {
            Ok(httparse::Status::Complete((used, 0))) => {
                self.state = State::Trailers;
                Ok(Some(used))
            }
            Ok(httparse::Status::Complete((used, size))) => {
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                if size > MAX_RESPONSE - self.page.body.len() {
                    return Err(invalid("response too large"));
                }
                self.state = State::ChunkData(size);
                Ok(Some(used))
            }
            Ok(httparse::Status::Partial) if input.len() < 1024 => Ok(None),
            _ => Err(invalid("bad chunk size")),
        }
    }
}

impl Response {
    /// A line of the trailers after the last chunk, skipped; the empty
    /// line ends them, and the response.
    fn trailer(&mut self, input: &[u8]) -> io::Result<Option<usize>> {
        let from = self.scanned.saturating_sub(1);
        let Some(at) = find(&input[from..], b"\r\n") else {
            self.scanned = input.len(); // Not to be scanned again.
            return match self.trailers + input.len() > MAX_HEAD {
                true => Err(invalid("trailers too large")),
                false => Ok(None),
            };
        };
        let end = from + at;
        self.scanned = 0;
        self.trailers += end + 2;
        // A field, or the continuation of one (obs-fold: a space or a
        // tab first), or the empty line that ends them all.
        let line = &input[..end];
        let folded = matches!(line.first(), Some(b' ' | b'\t'));
        if end == 0 {
            self.state = State::Done;
        } else if !(folded || line.contains(&b':')) || self.trailers > MAX_HEAD
        {
            return Err(invalid("bad trailer"));
        }
        Ok(Some(end + 2))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, why.to_string())
}

fn truncated() -> io::Error {
    io::Error::new(ErrorKind::UnexpectedEof, "response cut short")
}

/// A small web server for the demo, a thread per connection, that
/// answers each path with its own kind of body.
fn local_web_server() -> io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut request = Vec::new();
                let mut buf = [0; 1024];
                while find(&request, b"\r\n\r\n").is_none() {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let path = String::from_utf8_lossy(&request)
                    .split(' ')
                    .nth(1)
                    .unwrap_or("")
                    .to_string();
                let _ = stream.write_all(&response_for(&path));
            }); // The stream is dropped: the connection closes.
        }
    });
    Ok(addr)
}

fn response_for(path: &str) -> Vec<u8> {
    let text: &[u8] = match path {
        "/length" => {
            b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n\
                       <p>in one go</p>"
        }
        "/chunked" => {
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                        3\r\n<p>\r\n9\r\nin chunks\r\n4\r\n</p>\r\n0\r\n\r\n"
        }
        "/close" => b"HTTP/1.0 200 OK\r\n\r\n<p>until the close</p>",
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
    };
    text.to_vec()
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

/// How long a listener rests after `accept` failed for lack of resources.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

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

    /// The steps a chain ran, in order, as text.
    fn log() -> Rc<RefCell<Vec<String>>> {
        Rc::default()
    }

    #[test]
    fn steps_run_in_order_once_fired_and_not_before() {
        let seen = log();
        let d = Deferred::new();
        let (a, b) = (seen.clone(), seen.clone());
        d.add_callback(move |n: u32| {
            a.borrow_mut().push(format!("first {n}"));
            Step::Value(n + 1)
        })
        .add_callback(move |n| {
            b.borrow_mut().push(format!("second {n}"));
            Step::Value(n)
        });
        assert!(seen.borrow().is_empty(), "a step ran before the result");
        d.callback(1).unwrap();
        assert_eq!(*seen.borrow(), ["first 1", "second 2"]);
    }

    #[test]
    fn a_step_added_after_the_result_runs_at_once() {
        let d = Deferred::new();
        d.callback(5).unwrap();
        let got = Rc::new(Cell::new(0));
        let g = got.clone();
        d.add_callback(move |n| {
            g.set(n);
            Step::Value(n)
        });
        assert_eq!(got.get(), 5);
    }

    #[test]
    fn a_failure_skips_callbacks_to_the_errback_which_recovers() {
        let seen = log();
        let d = Deferred::new();
        let (a, b, c) = (seen.clone(), seen.clone(), seen.clone());
        d.add_callback(move |n: u32| {
            a.borrow_mut().push("callback".into());
            Step::Value(n)
        })
        .add_errback(move |f| {
            b.borrow_mut().push(format!("errback {f}"));
            Step::Value(0)
        })
        .add_callback(move |n| {
            c.borrow_mut().push(format!("after {n}"));
            Step::Value(n)
        });
        d.errback(Failure("boom".into())).unwrap();
        assert_eq!(*seen.borrow(), ["errback boom", "after 0"]);
    }

    #[test]
    fn a_callback_that_fails_goes_to_the_next_errback() {
        let seen = log();
        let d = Deferred::new();
        let s = seen.clone();
        d.add_callback(|_: u32| Step::Fail(Failure("no".into())))
            .add_callback(|n| Step::Value(n + 100))
            .add_errback(move |f| {
                s.borrow_mut().push(f.0);
                Step::Value(7)
            });
        d.callback(1).unwrap();
        assert_eq!(*seen.borrow(), ["no"]);
    }

    #[test]
    fn a_returned_deferred_pauses_the_chain_until_it_fires() {
        let inner = Deferred::new();
        let outer = Deferred::new();
        let got = Rc::new(Cell::new(0));
        let (i, g) = (inner.clone(), got.clone());
        outer
            .add_callback(move |_: u32| Step::Wait(i))
            .add_callback(move |n| {
                g.set(n);
                Step::Value(n)
            });
        outer.callback(1).unwrap();
        assert_eq!(got.get(), 0, "the chain went on without the result");
        inner.callback(42).unwrap();
        assert_eq!(got.get(), 42);
    }

    #[test]
    fn a_returned_deferred_that_has_fired_lets_the_chain_go_on() {
        let inner = Deferred::new();
        inner.callback(9).unwrap();
        let outer = Deferred::new();
        let got = Rc::new(Cell::new(0));
        let g = got.clone();
        outer
            .add_callback(move |_: u32| Step::Wait(inner))
            .add_callback(move |n| {
                g.set(n);
                Step::Value(n)
            });
        outer.callback(1).unwrap();
        assert_eq!(got.get(), 9);
    }

    /// A chain's last value, once it has one: a step added for the test.
    fn last<T: Copy + 'static>(d: &Deferred<T>) -> Rc<Cell<Option<T>>> {
        let got = Rc::new(Cell::new(None));
        let g = got.clone();
        d.add_callback(move |v| {
            g.set(Some(v));
            Step::Value(v)
        });
        got
    }

    #[test]
    fn a_step_may_add_steps_to_its_own_chain() {
        let d = Deferred::new();
        let me = d.clone();
        d.add_callback(move |n: u32| {
            me.add_callback(|n| Step::Value(n * 10));
            Step::Value(n + 1)
        });
        let before = last(&d);
        d.callback(1).unwrap();
        // The added step goes to the end of the chain, as in Twisted.
        assert_eq!(before.get(), Some(2));
        assert_eq!(last(&d).get(), Some(20));
    }

    #[test]
    fn a_failure_of_the_awaited_deferred_reaches_the_errback() {
        let inner: Deferred<u32> = Deferred::new();
        let outer = Deferred::new();
        let i = inner.clone();
        outer
            .add_callback(move |_: u32| Step::Wait(i))
            .add_errback(|f| Step::Value(f.0.len() as u32));
        let got = last(&outer);
        outer.callback(1).unwrap();
        inner.errback(Failure("four".into())).unwrap();
        assert_eq!(got.get(), Some(4));
    }

    #[test]
    fn an_errback_may_wait_too_and_waits_nest() {
        let (a, b, c) = (Deferred::new(), Deferred::new(), Deferred::new());
        let c2 = c.clone();
        b.add_callback(move |_: u32| Step::Wait(c2));
        let b2 = b.clone();
        a.add_errback(move |_| Step::Wait(b2));
        let got = last(&a);
        a.errback(Failure("x".into())).unwrap();
        b.callback(0).unwrap();
        assert_eq!(got.get(), None, "a went on before c fired");
        c.callback(3).unwrap();
        assert_eq!(got.get(), Some(3));
    }

    #[test]
    fn a_step_that_panics_is_a_failure() {
        let d = Deferred::new();
        d.add_callback(|_: u32| panic!("a bug in a step"))
            .add_errback(|f| Step::Value(f.0.len() as u32));
        let got = last(&d);
        d.callback(1).unwrap();
        assert_eq!(got.get(), Some("a step panicked".len() as u32));
    }

    #[test]
    fn a_deferred_cannot_wait_for_itself_nor_for_a_taken_one() {
        let d = Deferred::new();
        let me = d.clone();
        d.add_callback(move |_: u32| Step::Wait(me))
            .add_errback(|_| Step::Value(7));
        let got = last(&d);
        d.callback(1).unwrap();
        assert_eq!(got.get(), Some(7));
        let shared = Deferred::new();
        let (x, y) = (Deferred::new(), Deferred::new());
        let (s1, s2) = (shared.clone(), shared.clone());
        x.add_callback(move |_: u32| Step::Wait(s1));
        y.add_callback(move |_: u32| Step::Wait(s2))
            .add_errback(|_| Step::Value(8));
        let (gx, gy) = (last(&x), last(&y));
        x.callback(0).unwrap();
        y.callback(0).unwrap();
        assert_eq!(gy.get(), Some(8), "the second waiter gets a failure");
        shared.callback(5).unwrap();
        assert_eq!(gx.get(), Some(5));
    }

    #[test]
    #[should_panic(expected = "went to another chain")]
    fn a_step_added_after_the_hand_over_is_refused() {
        let inner = Deferred::new();
        let outer = Deferred::new();
        let i = inner.clone();
        outer.add_callback(move |_: u32| Step::Wait(i));
        inner.callback(1).unwrap();
        outer.callback(1).unwrap();
        inner.add_callback(Step::Value);
    }

    #[test]
    fn a_deferred_fires_once() {
        let d = Deferred::new();
        d.callback(1).unwrap();
        assert_eq!(d.callback(2), Err(AlreadyCalled));
        assert_eq!(d.errback(Failure("late".into())), Err(AlreadyCalled));
    }

    #[test]
    fn cancel_stops_the_work_and_fails_the_chain_but_not_after_firing() {
        let stopped = Rc::new(Cell::new(false));
        let s = stopped.clone();
        let d: Deferred<u32> = Deferred::with_canceller(move || s.set(true));
        let failure = Rc::new(RefCell::new(None));
        let f = failure.clone();
        d.add_errback(move |e| {
            *f.borrow_mut() = Some(e);
            Step::Value(0)
        });
        d.cancel();
        assert!(stopped.get());
        assert_eq!(*failure.borrow(), Some(Failure("cancelled".into())));
        let fired = Deferred::with_canceller(|| panic!("cancelled too late"));
        fired.callback(1).unwrap();
        fired.cancel(); // Does nothing: the result is there.
    }

    #[test]
    fn later_fires_from_the_reactor_and_cancels_its_timer() {
        let mut reactor = Reactor::new().unwrap();
        let d = later(&reactor.timers(), Duration::from_millis(5), 3);
        let got = Rc::new(Cell::new(0));
        let g = got.clone();
        d.add_callback(move |n| {
            g.set(n);
            Step::Value(n)
        });
        reactor.run_until(|| got.get() != 0).unwrap();
        assert_eq!(got.get(), 3);
        let d = later(&reactor.timers(), Duration::from_secs(60), 3);
        d.add_errback(|_| Step::Value(0));
        d.cancel();
        assert!(reactor.timers().timeout().is_none(), "the timer is left");
    }
}
