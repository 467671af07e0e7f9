extern crate encoding_rs; // `mdbook test` links crates by name
extern crate httparse; // `mdbook test` links crates by name
extern crate mio; // `mdbook test` links crates by name
extern crate rcgen; // `mdbook test` links crates by name
extern crate rustls; // `mdbook test` links crates by name
extern crate scraper; // `mdbook test` links crates by name
extern crate socket2; // `mdbook test` links crates by name
extern crate tokio; // `mdbook test` links crates by name
extern crate tokio_rustls; // `mdbook test` links crates by name
extern crate url; // `mdbook test` links crates by name
extern crate webpki_root_certs; // `mdbook test` links crates by name

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::{Future, poll_fn};
use std::io::{self, ErrorKind, Read, Write};
use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::panic::{self, AssertUnwindSafe};
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Token};
use rustls::{ClientConfig, ClientConnection};
use url::{Host, Position};

/// A protocol's handle on its connection. The reactor does the I/O.
#[derive(Clone)]
pub struct Transport {
    token: Token,
    outbox: Rc<RefCell<Outbox>>,
    dirty: Rc<RefCell<Vec<Token>>>, // Connections with bytes to send.
    /// New in this chapter: a TLS session that what is written goes
    /// through (see `Tls`).
    tls: Option<Rc<RefCell<ClientConnection>>>,
}

impl Transport {
    // ANCHOR: tls-write
    pub fn write(&self, data: &[u8]) {
        let Some(tls) = &self.tls else {
            return self.write_raw(data);
        };
        // A record at a time, each handed to the outbox, which bounds
        // them as it bounds plain bytes. Before the handshake is done,
        // rustls keeps them itself, up to `MAX_OUTBOX` (`Tls::wrap`).
        for piece in data.chunks(16 * 1024) {
            match tls.borrow_mut().writer().write_all(piece) {
                Ok(()) => {}
                // rustls's buffer is full: as a full outbox would.
                Err(e) if e.kind() == ErrorKind::WriteZero => {
                    let mut outbox = self.outbox.borrow_mut();
                    outbox.overflow = true;
                    return self.mark_dirty(&mut outbox);
                }
                // The session failed: `Tls` closes the connection.
                Err(_) => return,
            }
            self.flush_tls();
        }
    }

    /// Hands the TLS records that are ready to the outbox.
    fn flush_tls(&self) {
        let Some(tls) = &self.tls else { return };
        let mut records = Vec::new();
        let mut tls = tls.borrow_mut();
        while tls.wants_write() && tls.write_tls(&mut records).is_ok() {}
        drop(tls);
        if !records.is_empty() {
            self.write_raw(&records);
        }
    }

    /// Ends the TLS session, if any, before the TCP end: so that the
    /// peer can tell the end from a cut.
    fn end_tls(&self) {
        if let Some(tls) = &self.tls {
            tls.borrow_mut().send_close_notify();
            self.flush_tls();
        }
    }
    // ANCHOR_END: tls-write

    fn write_raw(&self, data: &[u8]) {
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
        let producing = self.outbox.borrow().producing;
        if !producing {
            self.end_tls();
        }
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
        if self.outbox.borrow().closing {
            self.end_tls(); // The producer was the last to write.
        }
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
                tls: None,
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
            tls: None,
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

pub const MAX_HEADERS: usize = 100;

/// Sends a `GET` or a `HEAD` for `url`, within `timeouts`.
pub fn request(
    reactor: &mut Reactor,
    method: &'static str,
    url: &str,
    timeouts: Timeouts,
    on_page: impl FnOnce(io::Result<Page>) + 'static,
) {
    let (addr, host, path, https) = match target(url) {
        Ok(target) => target,
        Err(e) => return on_page(Err(e)),
    };
    // New: for https, a TLS session for the server's address.
    let session = match https {
        false => None,
        true => match ClientConnection::new(tls_config(), addr.ip().into()) {
            Ok(session) => Some(session),
            Err(e) => return on_page(Err(io::Error::other(e))),
        },
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    let timers = reactor.timers();
    reactor.connect_tcp(addr, move |transport| {
        let get_page = move |transport: &Transport| -> Box<dyn Protocol> {
            Box::new(GetPage {
                url: url.to_string(),
                request: request.into_bytes(),
                response: Response::new(method == "HEAD"),
                on_page: Some(Box::new(on_page)),
                clock: Clock::start(timers, timeouts, transport),
            })
        };
        match session {
            None => get_page(transport),
            Some(session) => Tls::wrap(transport, session, get_page),
        }
    });
}

/// Where to connect, what to send as `Host` and as the path, and whether
/// it is https, for an `http://` or (new) `https://` URL. The port is
/// the scheme's unless the URL says otherwise; the fragment (`#...`) is
/// not sent. The host must be an IP address: we resolve no names.
fn target(url: &str) -> io::Result<(SocketAddr, String, String, bool)> {
    let url = Url::parse(url).map_err(|e| invalid(&format!("{url}: {e}")))?;
    let https = match url.scheme() {
        "http" => false,
        "https" => true,
        _ => return Err(invalid("only http:// and https:// URLs")),
    };
    let ip: IpAddr = match url.host() {
        Some(Host::Ipv4(ip)) => ip.into(),
        Some(Host::Ipv6(ip)) => ip.into(),
        _ => return Err(invalid("not an IP address: we resolve no names")),
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let host = &url[Position::BeforeHost..Position::AfterPort];
    let path = &url[Position::BeforePath..Position::AfterQuery];
    Ok((SocketAddr::new(ip, port), host.into(), path.into(), https))
}

// ANCHOR: tls
/// TLS as a protocol between the transport and the protocol, as
/// Twisted's `TLSMemoryBIOProtocol` is. rustls's `ClientConnection` does
/// no I/O of its own: it takes the bytes that came, gives the bytes to
/// send, and keeps the state of the session in between, so it fits any
/// transport that moves bytes.
struct Tls {
    session: Rc<RefCell<ClientConnection>>,
    inner: Box<dyn Protocol>,
    /// The transport the inner protocol writes to: the real one, with
    /// the session in its `tls`, so that what it writes is encrypted.
    plain: Transport,
    /// The peer ended the session (`close_notify`) before the TCP end.
    closed: bool,
    /// Why the session failed, or `UnexpectedEof` for a TCP end that
    /// came without `close_notify`, which may be a cut.
    error: Option<io::Error>,
}

impl Tls {
    fn wrap(
        transport: &Transport,
        session: ClientConnection,
        build: impl FnOnce(&Transport) -> Box<dyn Protocol>,
    ) -> Box<dyn Protocol> {
        let mut session = session;
        session.set_buffer_limit(Some(MAX_OUTBOX));
        let session = Rc::new(RefCell::new(session));
        let tls = Some(session.clone());
        let plain = Transport {
            tls,
            ..transport.clone()
        };
        let inner = build(&plain);
        let (closed, error) = (false, None);
        Box::new(Tls {
            session,
            inner,
            plain,
            closed,
            error,
        })
    }

    /// Feeds `data` to the session: the plaintext it yields, and the
    /// error that stopped it, if one did, after that plaintext.
    fn decrypt(&mut self, mut data: &[u8]) -> (Vec<u8>, Option<io::Error>) {
        let mut plaintext = Vec::new();
        let mut session = self.session.borrow_mut();
        while !data.is_empty() {
            match session.read_tls(&mut data) {
                Ok(0) => {
                    // It reads nothing more after a `close_notify`.
                    debug_assert!(self.closed);
                    break;
                }
                Ok(_) => {}
                Err(e) => return (plaintext, Some(e)),
            }
            let state = match session.process_new_packets() {
                Ok(state) => state,
                Err(e) => {
                    // Good records before the bad one gave plaintext.
                    let _ = session.reader().read_to_end(&mut plaintext);
                    let e = invalid(&format!("TLS: {e}"));
                    return (plaintext, Some(e));
                }
            };
            let mut piece = vec![0; state.plaintext_bytes_to_read()];
            if let Err(e) = session.reader().read_exact(&mut piece) {
                return (plaintext, Some(e));
            }
            plaintext.extend_from_slice(&piece);
            self.closed |= state.peer_has_closed();
        }
        (plaintext, None)
    }
}

impl Protocol for Tls {
    fn connection_made(&mut self, _transport: &Transport) {
        self.plain.flush_tls(); // The `ClientHello`.
        self.inner.connection_made(&self.plain);
    }

    fn data_received(&mut self, _transport: &Transport, data: &[u8]) {
        let was_closed = self.closed;
        let (plaintext, error) = self.decrypt(data);
        self.plain.flush_tls(); // Our side of the handshake, or an alert.
        if !plaintext.is_empty() {
            self.inner.data_received(&self.plain, &plaintext);
        }
        if let Some(e) = error {
            // The alert that rustls queued goes out, then the TCP end,
            // even under a producer: nothing more can be sent.
            self.error = Some(e);
            self.plain.unregister_producer();
            return self.plain.lose_connection();
        }
        if self.closed && !was_closed {
            // The peer ended the session: as at a TCP end, we close once
            // what we wrote is sent, our own `close_notify` first.
            self.inner.read_connection_lost(&self.plain);
            self.plain.lose_connection();
        }
    }

    fn read_connection_lost(&mut self, _transport: &Transport) {
        if !self.closed {
            let why = "the peer closed without ending its TLS session";
            self.error = Some(io::Error::new(ErrorKind::UnexpectedEof, why));
            self.inner.read_connection_lost(&self.plain);
        }
    }

    fn resume_producing(&mut self, _transport: &Transport) {
        self.inner.resume_producing(&self.plain);
    }

    fn connection_lost(&mut self, reason: Lost) {
        let reason = match self.error.take() {
            Some(e) => Lost::Failed(e),
            None => reason,
        };
        self.inner.connection_lost(reason);
    }

    fn connection_failed(&mut self, error: io::Error) {
        self.inner.connection_failed(error);
    }
}
// ANCHOR_END: tls

thread_local! {
    /// The TLS configuration of this thread's https downloads.
    static TLS_CONFIG: RefCell<Option<Arc<ClientConfig>>> =
        const { RefCell::new(None) };
}

/// Trust the authorities that browsers trust (Mozilla's list), and
/// `extra_roots`, certificates in DER, for this thread's https.
pub fn trust(extra_roots: &[Vec<u8>]) -> io::Result<()> {
    let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned();
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(mozilla);
    for der in extra_roots {
        roots.add(der.clone().into()).map_err(io::Error::other)?;
    }
    // The `ring` provider, named rather than installed process-wide.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    TLS_CONFIG.with(|c| *c.borrow_mut() = Some(Arc::new(config)));
    Ok(())
}

/// This thread's TLS configuration: Mozilla's roots unless `trust` said
/// otherwise.
fn tls_config() -> Arc<ClientConfig> {
    if let Some(config) = TLS_CONFIG.with(|c| c.borrow().clone()) {
        return config;
    }
    trust(&[]).expect("a configuration without extra roots");
    TLS_CONFIG.with(|c| c.borrow().clone()).unwrap()
}

pub struct JoinHandle<T>(Rc<RefCell<Slot<T>>>);

// The scraper. Above: the parts of chapter 3's reactor and client that
// this listing changes, most of them for TLS. Below the scraper: the rest
// of the reactor and executor, copied from Listing 3-7 without its demo
// server, then what this listing shares with Listing 4-3.

use std::error::Error;
use std::fmt;
use std::process::ExitCode;
use std::sync::LazyLock;

// The `url` crate parses the arguments and resolves relative links.
use encoding_rs::{Encoding, REPLACEMENT, UTF_8, WINDOWS_1252};
use encoding_rs::{UTF_16BE, UTF_16LE, X_USER_DEFINED};
use scraper::{ElementRef, Html, Selector};
use url::Url;

/// When each request started and ended, counted from one instant. One
/// thread uses it: a `RefCell` is enough, where the threads needed a
/// `Mutex`.
pub struct Log {
    start: Instant,
    requests: RefCell<Vec<(String, Duration, Duration)>>,
}

impl Log {
    fn new() -> Log {
        let requests = RefCell::new(Vec::new());
        Log {
            start: Instant::now(),
            requests,
        }
    }

    fn record(&self, url: &Url, started: Duration) {
        let ended = self.start.elapsed();
        let mut requests = self.requests.borrow_mut();
        requests.push((url.to_string(), started, ended));
    }
}

// ANCHOR: address
/// The URL as `get_page` takes it: `http(s)://IP:PORT/path?query`. Our
/// client resolves no names (see chapter 3), so a host name is an error.
fn address_of(url: &Url) -> Result<String, String> {
    let scheme = url.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(format!("{scheme}: this client speaks only http(s)"));
    }
    let host = url.host_str().unwrap_or("");
    // An IPv6 address comes in brackets: `http://[::1]:8080/`.
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = bare.parse::<IpAddr>() else {
        return Err(format!(
            "`{host}` is a host name: this client takes IP addresses only"
        ));
    };
    let addr = SocketAddr::new(ip, url.port_or_known_default().unwrap_or(80));
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    Ok(format!("{scheme}://{addr}{}{query}", url.path()))
}
// ANCHOR_END: address

// ANCHOR: here
/// Downloads `url` with chapter 3's `get_page`: its body, as text.
async fn get(url: &Url, log: &Log) -> Result<(Url, String), String> {
    let started = log.start.elapsed();
    let result = fetch(url).await;
    log.record(url, started);
    result
}

async fn fetch(url: &Url) -> Result<(Url, String), String> {
    let page = get_page(&address_of(url)?).await;
    let page = page.map_err(|e| e.to_string())?;
    if page.status != 200 {
        // A 3xx `get_page` does not follow (300, 304...), or a redirect
        // without a `Location`.
        return Err(format!("HTTP status {}", page.status));
    }
    let last = Url::parse(&page.url).map_err(|e| e.to_string())?;
    let body = decode(page.header("content-type"), &page.body)?;
    Ok((last, body)) // `last`: after any redirect.
}
// ANCHOR_END: here

// ANCHOR: first-article
/// The first article on `planet`, and its title: two downloads.
pub async fn first_article(planet: &Url, log: &Log) -> Result<Found, String> {
    let (url, body) = get(planet, log).await?;
    let page = Html::parse_document(&body);
    let link = page.select(&ARTICLE_LINK).next();
    let href = link.and_then(|a| a.value().attr("href"));
    let href = href.ok_or("no <h3><a href> on the planet page")?;
    // The link may be relative: we resolve it as a browser would.
    let article = base_url(&page, url).join(href);
    let article = article.map_err(|e| e.to_string())?;

    let page = Html::parse_document(&get(&article, log).await?.1);
    let title = page.select(&TITLE).next().ok_or("no <title>")?;
    // One line, whatever the page's layout: runs of spaces, newlines
    // and tabs become one space.
    let title = title.text().collect::<String>();
    let title = title.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
    Ok(Found {
        article: article.to_string(),
        title,
    })
}

// ANCHOR_END: first-article

// ANCHOR: permits
/// At most so many at a time: a semaphore for our executor, as tokio's
/// `Semaphore` is for tokio's. One thread, so `Cell`s do. A permit that
/// is given back goes to the task that has waited longest, and wakes it.
pub struct Permits {
    free: Cell<usize>,
    waiting: RefCell<VecDeque<Rc<Waiter>>>,
}

#[derive(Default)]
struct Waiter {
    granted: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

/// One permit: dropping it gives it back.
pub struct Permit(Rc<Permits>);

impl Permits {
    pub fn new(n: usize) -> Rc<Permits> {
        let waiting = RefCell::default();
        Rc::new(Permits {
            free: Cell::new(n),
            waiting,
        })
    }

    /// Waits for a permit, in turn.
    pub async fn acquire(self: &Rc<Self>) -> Permit {
        if self.free.get() > 0 && self.waiting.borrow().is_empty() {
            self.free.set(self.free.get() - 1);
            return Permit(self.clone());
        }
        let me = Rc::new(Waiter::default());
        self.waiting.borrow_mut().push_back(me.clone());
        let mut queued = Queued(self, Some(me.clone()));
        poll_fn(|cx| match me.granted.get() {
            true => Poll::Ready(()),
            false => {
                *me.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
        queued.1 = None; // Granted: nothing to undo.
        Permit(self.clone())
    }

    fn release(&self) {
        let next = self.waiting.borrow_mut().pop_front();
        match next {
            Some(waiter) => {
                waiter.granted.set(true); // Handed over, not freed.
                if let Some(waker) = waiter.waker.take() {
                    waker.wake();
                }
            }
            None => self.free.set(self.free.get() + 1),
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// A place in the queue, left if the waiting future is dropped: a
/// permit granted meanwhile goes to the next one.
struct Queued<'a>(&'a Permits, Option<Rc<Waiter>>);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        let Queued(permits, Some(me)) = self else {
            return;
        };
        if me.granted.get() {
            permits.release();
        } else {
            permits.waiting.borrow_mut().retain(|w| !Rc::ptr_eq(w, me));
        }
    }
}
// ANCHOR_END: permits

// ANCHOR: scrape

/// Every request's URL, and when it started and ended.
pub type Requests = Vec<(String, Duration, Duration)>;

/// How many planets `main` scrapes at once unless told otherwise: as
/// polite as the tokio version.
pub const CONCURRENT: usize = 100;

/// Scrapes every planet, `concurrent` at most at a time, on this
/// thread, on our own reactor.
pub fn scrape(planets: &[Url], concurrent: usize) -> (Vec<Row>, Requests) {
    let log = Rc::new(Log::new());
    let permits = Permits::new(concurrent.max(1));
    // The future must own what it uses: a copy of the URLs, `Rc`s.
    let (urls, shared) = (planets.to_vec(), log.clone());
    let rows = block_on(async move {
        // A task per planet: each is polled only when its own page
        // arrives, or its turn comes.
        let tasks = urls.into_iter().map(|planet| {
            let (log, permits) = (shared.clone(), permits.clone());
            spawn(async move {
                let _permit = permits.acquire().await;
                let found = first_article(&planet, &log).await;
                let planet = planet.to_string();
                Row { planet, found }
            })
        });
        // Our `DeferredList`: the rows come back in input order.
        join_all(tasks.collect()).await
    });
    let rows = rows.unwrap_or_else(|e| {
        // No reactor at all (`epoll` refused, say): every planet failed.
        let row = |planet: &Url| Row {
            planet: planet.to_string(),
            found: Err(format!("no reactor: {e}")),
        };
        planets.iter().map(row).collect()
    });
    (rows, log.requests.take())
}
// ANCHOR_END: scrape

/// Splits `--concurrency N` (planets at once) from the planets.
fn parse_options(args: &[String]) -> Result<(usize, Vec<String>), String> {
    let (mut concurrent, mut planets) = (CONCURRENT, Vec::new());
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg != "--concurrency" {
            if arg.starts_with("--") {
                return Err(format!("{arg}: no such option"));
            }
            planets.push(arg.clone());
            continue;
        }
        let n = args.next().ok_or("--concurrency needs a value")?;
        let count = n.parse().ok().filter(|n| *n >= 1);
        concurrent = count.ok_or(format!("--concurrency {n}: not a count"))?;
    }
    Ok((concurrent, planets))
}

fn run(args: Vec<String>) -> Result<bool, Box<dyn Error>> {
    let (concurrent, args) = parse_options(&args)?;
    // With no planets, we scrape the book's own planet server, which
    // runs on a thread of its own: the scraper keeps this one.
    let server;
    let planets = if args.is_empty() {
        let listener = planet_server::listener()?;
        server = planet_server::start(listener, Default::default())?;
        parse_planets(&server.planet_urls())?
    } else {
        parse_planets(&args)?
    };
    let start = Instant::now();
    let (rows, _requests) = scrape(&planets, concurrent);
    for row in &rows {
        println!("{row}");
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("{} planet(s) in {seconds:.2} s", rows.len());
    Ok(rows.iter().all(|row| row.found.is_ok()))
}

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 3-7
// (listings/ch03-reactor/07-futures/src/main.rs), so that this folder builds
// on its own. The book's tests check that each item is the same Rust as in
// its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch03-reactor/07-futures/src/main.rs
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

/// The most unsent bytes a connection holds: a write that would pass
/// it closes the connection. To send more, write as a producer.
pub const MAX_OUTBOX: usize = 1 << 20;
// END COPY

// COPY FROM listings/ch03-reactor/07-futures/src/main.rs
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

// COPY FROM listings/ch03-reactor/07-futures/src/main.rs
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
    poll: mio::Poll,
    listeners: HashMap<Token, (TcpListener, Box<dyn Factory>)>,
    connections: HashMap<Token, Connection>,
    next_token: usize,
    dirty: Rc<RefCell<Vec<Token>>>,
    paused: Vec<(Token, Instant)>, // Listeners to retry, and when.
    ready: Vec<Token>, // Connections whose turn ended with work left.
    timers: Timers,    // New: callbacks to run later.
    waker: Arc<mio::Waker>, // New: interrupts `poll` from any thread.
}

/// The waker's token. Connections and listeners start at 1.
const WAKE: Token = Token(0);

impl Reactor {
    pub fn new() -> io::Result<Reactor> {
        let poll = mio::Poll::new()?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKE)?);
        Ok(Reactor {
            poll,
            listeners: HashMap::new(),
            connections: HashMap::new(),
            next_token: 0,
            dirty: Rc::default(),
            paused: Vec::new(),
            ready: Vec::new(),
            timers: Timers::default(),
            waker,
        })
    }

    /// A handle that makes the reactor's `poll` return, from any thread.
    pub fn waker(&self) -> Arc<mio::Waker> {
        self.waker.clone()
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
    /// A handle on the reactor's timers, for factories and protocols.
    pub fn timers(&self) -> Timers {
        self.timers.clone()
    }

    /// Runs the loop for ever: wait for events, call protocols.
    pub fn run(&mut self) -> io::Result<()> {
        loop {
            self.turn()?;
        }
    }

    /// One turn of the loop: wait for events or the next deadline, then
    /// call the protocols and the timers concerned.
    pub fn turn(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(256);
        self.wait(&mut events, true)?;
        self.dispatch(&events)
    }

    /// New: the first half of a turn. Waits for events until the next
    /// deadline; not at all unless `sleep`.
    pub fn wait(&mut self, events: &mut Events, sleep: bool) -> io::Result<()> {
        let timeout = match sleep {
            // Bytes that tasks wrote wait in an outbox: no sleep then.
            true if self.dirty.borrow().is_empty() => self.timeout(),
            _ => Some(Duration::ZERO),
        };
        match self.poll.poll(events, timeout) {
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            result => result,
        }
    }

    /// New: the second half. Calls the protocols and the timers that
    /// `events` and the clock concern.
    pub fn dispatch(&mut self, events: &Events) -> io::Result<()> {
        self.retry_accepts();
        for event in events {
            if event.token() == WAKE {
                continue; // It only had to end the `poll`.
            } else if self.listeners.contains_key(&event.token()) {
                self.accept(event.token());
            } else {
                self.note(event);
                self.drive(event.token(), true);
            }
        }
        self.drive_ready();
        self.timers.run_due();
        self.drive_dirty();
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
// END COPY

// COPY FROM listings/ch03-reactor/07-futures/src/main.rs
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

/// Accept errors that concern one client, not the listener.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Interrupted
            | ErrorKind::ConnectionAborted
            | ErrorKind::ConnectionReset
    )
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
// END COPY

// COPY FROM listings/ch03-reactor/07-futures/src/main.rs
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
pub fn get_page_then(
    reactor: &mut Reactor,
    url: &str,
    on_page: impl FnOnce(io::Result<Page>) + 'static,
) {
    request(reactor, "GET", url, Timeouts::default(), on_page);
}
// END COPY

// COPY FROM listings/ch03-reactor/07-futures/src/main.rs
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

/// Tasks: futures that run until they complete, polled when woken.
struct Executor {
    tasks: RefCell<HashMap<usize, Task>>,
    next_id: Cell<usize>,
    queue: Arc<Queue>,
}

struct Task {
    future: Pin<Box<dyn Future<Output = ()>>>,
    waker: Arc<TaskWaker>,
}

/// The tasks to poll again. A `Waker` may be called from any thread, so
/// the queue has a lock; and a wake from another thread must interrupt
/// the reactor's `poll`, or the task would wait for an unrelated event.
struct Queue {
    state: Mutex<QueueState>,
    reactor: Arc<mio::Waker>, // Makes `poll` return, from any thread.
}

#[derive(Default)]
struct QueueState {
    woken: Vec<usize>,
    sleeping: bool, // Our thread is in `poll`, or about to be.
}

/// What a task's `Waker` does: queue the task, once.
struct TaskWaker {
    id: usize,
    queued: AtomicBool, // On the queue already: tokio's NOTIFIED bit.
    queue: Arc<Queue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.queued.swap(true, Ordering::AcqRel) {
            return; // It will be polled once, however often it is woken.
        }
        let mut state = self.queue.state.lock().unwrap();
        state.woken.push(self.id);
        if mem::take(&mut state.sleeping) {
            let _ = self.queue.reactor.wake();
        }
    }
}

impl Executor {
    fn spawn(&self, future: impl Future<Output = ()> + 'static) {
        let id = self.next_id.get() + 1;
        self.next_id.set(id);
        let queue = self.queue.clone();
        let queued = AtomicBool::new(false);
        let waker = Arc::new(TaskWaker { id, queued, queue });
        waker.wake_by_ref(); // Poll it once.
        let task = Task {
            future: Box::pin(future),
            waker,
        };
        self.tasks.borrow_mut().insert(id, task);
    }

    /// Polls the tasks woken so far, once each. The ones they wake wait
    /// until the reactor has had its turn: a task that wakes itself
    /// again and again cannot starve the I/O.
    fn run_woken(&self) {
        let woken = mem::take(&mut self.queue.state.lock().unwrap().woken);
        for id in woken {
            // Out of the map while it runs, so that it may spawn.
            let Some(mut task) = self.tasks.borrow_mut().remove(&id) else {
                continue; // Finished already.
            };
            // From here on, a wake queues it again.
            task.waker.queued.swap(false, Ordering::AcqRel);
            let waker = Waker::from(task.waker.clone());
            let mut cx = Context::from_waker(&waker);
            if task.future.as_mut().poll(&mut cx).is_pending() {
                self.tasks.borrow_mut().insert(id, task);
            }
        }
    }
}

impl Executor {
    /// Whether our thread may sleep in `poll`: only if no task is woken.
    /// Checked and noted under the queue's lock, so that a wake from
    /// another thread comes either before (and we do not sleep) or after
    /// (and it sees `sleeping`, and interrupts the `poll`).
    fn may_sleep(&self) -> bool {
        let mut state = self.queue.state.lock().unwrap();
        state.sleeping = state.woken.is_empty();
        state.sleeping
    }

    fn awake(&self) {
        self.queue.state.lock().unwrap().sleeping = false;
    }
}

thread_local! {
    /// The reactor of this thread's `block_on`, for `get_page` to reach.
    static REACTOR: RefCell<Option<Reactor>> = const { RefCell::new(None) };
    /// Its executor, for `spawn` to reach.
    static EXECUTOR: RefCell<Option<Rc<Executor>>> =
        const { RefCell::new(None) };
}

/// Runs `future` to completion on this thread. The executor polls the
/// tasks that were woken; when none is, the reactor waits for events,
/// and the protocols' callbacks wake the tasks that were waiting.
pub fn block_on<T: 'static>(
    future: impl Future<Output = T> + 'static,
) -> io::Result<T> {
    let reactor = Reactor::new()?;
    let executor = Rc::new(Executor {
        tasks: RefCell::default(),
        next_id: Cell::new(0),
        queue: Arc::new(Queue {
            state: Mutex::default(),
            reactor: reactor.waker(),
        }),
    });
    REACTOR.with(|r| *r.borrow_mut() = Some(reactor));
    EXECUTOR.with(|e| *e.borrow_mut() = Some(executor.clone()));
    let main = spawn(future);
    let mut main = pin!(main);
    let mut cx = Context::from_waker(Waker::noop());
    let mut events = Events::with_capacity(256);
    let result = loop {
        executor.run_woken();
        if let Poll::Ready(output) = main.as_mut().poll(&mut cx) {
            break Ok(output);
        }
        let may_sleep = executor.may_sleep();
        let turned = REACTOR.with(|r| {
            let mut reactor = r.borrow_mut();
            let reactor = reactor.as_mut().unwrap();
            reactor.wait(&mut events, may_sleep)?;
            executor.awake(); // Wakes from here on need no mio `Waker`.
            reactor.dispatch(&events)
        });
        if let Err(e) = turned {
            break Err(e);
        }
    };
    // Tasks still running are dropped, and their connections closed.
    EXECUTOR.take();
    REACTOR.take();
    result
}

/// Runs `future` as a task of its own, beside the others: `spawn`
/// returns at once, and the handle is a future of the task's output.
pub fn spawn<T: 'static>(
    future: impl Future<Output = T> + 'static,
) -> JoinHandle<T> {
    let slot = Rc::new(RefCell::new(Slot::default()));
    let filler = slot.clone();
    let task = async move {
        let output = future.await;
        filler.borrow_mut().fill(output);
    };
    EXECUTOR.with(|e| {
        let e = e.borrow();
        e.as_ref().expect("spawn outside block_on").spawn(task);
    });
    JoinHandle(slot)
}
// END COPY

// COPY FROM listings/ch03-reactor/07-futures/src/main.rs
impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context) -> Poll<T> {
        self.0.borrow_mut().take(cx)
    }
}

/// Where a value is left for a future that awaits it, and the waker of
/// the task that awaits it.
struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            value: None,
            waker: None,
        }
    }
}

impl<T> Slot<T> {
    /// Leaves the value, and wakes the task that waits for it.
    fn fill(&mut self, value: T) {
        self.value = Some(value);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// The value if it is there; else notes whom to wake.
    fn take(&mut self, cx: &mut Context) -> Poll<T> {
        match self.value.take() {
            Some(value) => Poll::Ready(value),
            None => {
                self.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// The most redirects `get_page` follows.
pub const MAX_REDIRECTS: usize = 5;

/// Downloads `url`. A redirect (301, 302, 303, 307 or 308) is followed,
/// up to `MAX_REDIRECTS` times, its `Location` taken relative to the URL
/// that sent it, as Twisted's `getPage` follows them.
pub async fn get_page(url: &str) -> io::Result<Page> {
    let mut url = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        let page = get_page_once(&url).await?;
        let location = match page.status {
            301 | 302 | 303 | 307 | 308 => page.header("location"),
            _ => None,
        };
        let Some(location) = location else {
            return Ok(page);
        };
        let next = Url::parse(&url).and_then(|base| base.join(location));
        url = next
            .map_err(|e| invalid(&format!("bad Location: {e}")))?
            .into();
    }
    Err(invalid("too many redirects"))
}

/// One request, no redirect followed: the callback version, awaited.
async fn get_page_once(url: &str) -> io::Result<Page> {
    let slot = Rc::new(RefCell::new(Slot::default()));
    let filler = slot.clone();
    let on_page = move |page| filler.borrow_mut().fill(page);
    REACTOR.with(|r| {
        let mut reactor = r.borrow_mut();
        let reactor = reactor.as_mut().expect("get_page outside block_on");
        get_page_then(reactor, url, on_page);
    });
    poll_fn(|cx| slot.borrow_mut().take(cx)).await
}

/// Waits for all the futures, and returns their outputs in the same
/// order: Twisted's `DeferredList`.
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> =
        futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(&mut outputs) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            return Poll::Pending;
        }
        Poll::Ready(outputs.iter_mut().map(|o| o.take().unwrap()).collect())
    })
    .await
}
// END COPY

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 4-3
// (listings/ch04-scraper/03-threads/src/main.rs), so that this folder builds
// on its own. The book's tests check that each item is the same Rust as in
// its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch04-scraper/03-threads/src/main.rs
/// `//h3/a/@href` in the original XPath: a link right inside an `<h3>`.
static ARTICLE_LINK: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("h3 > a[href]").unwrap());
/// `/html/head/title`: the title in the document's head.
static TITLE: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("head > title").unwrap());
/// Any `<meta>`: one of them may name the page's charset.
static META: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("meta").unwrap());

/// The first article of a planet, and that article's title.
#[derive(Debug, PartialEq)]
pub struct Found {
    pub article: String,
    pub title: String,
}

/// One line of the report: a planet and what we found there.
#[derive(Debug)]
pub struct Row {
    pub planet: String,
    pub found: Result<Found, String>,
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.found {
            Ok(Found { article, title }) => {
                write!(f, "{} -> {article} \"{title}\"", self.planet)
            }
            Err(e) => write!(f, "{} -> error: {e}", self.planet),
        }
    }
}
// END COPY

// COPY FROM listings/ch04-scraper/03-threads/src/main.rs
/// What relative links on `page`, downloaded from `url`, start from:
/// its first `<base href>` in tree order, outside `<template>`s, as a
/// browser picks it, or else the URL it came from, the last one if it
/// was redirected.
fn base_url(page: &Html, url: Url) -> Url {
    let in_template = |e: &ElementRef| {
        let mut above = e.ancestors().filter_map(ElementRef::wrap);
        above.any(|a| a.value().name() == "template")
    };
    let base = page
        .tree
        .root()
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "base" && !in_template(e))
        .find_map(|e| e.value().attr("href"));
    let base = base.and_then(|href| url.join(href).ok());
    // A `data:` or `javascript:` base is ignored, as browsers do.
    let usable = |b: &Url| !matches!(b.scheme(), "data" | "javascript");
    base.filter(usable).unwrap_or(url)
}
// END COPY

// COPY FROM listings/ch04-scraper/03-threads/src/main.rs
/// The text of an HTML body, decoded as a browser decodes it: by its
/// byte-order mark if it has one, else by the charset of the
/// `Content-Type` header, else by a `<meta>` of its first 1024 bytes;
/// with none of these, as UTF-8 if it is UTF-8 and as windows-1252 (the
/// web's old default) if not. Bytes that the declared charset does not
/// allow are an error, rather than a title full of U+FFFD.
fn decode(content_type: Option<&str>, body: &[u8]) -> Result<String, String> {
    let declared = content_type.and_then(charset).or_else(|| meta(body));
    let encoding = match declared {
        Some(encoding) => encoding,
        None if std::str::from_utf8(body).is_ok() => UTF_8,
        None => WINDOWS_1252,
    };
    // `decode` lets a byte-order mark overrule `encoding`.
    let (text, used, malformed) = encoding.decode(body);
    if used == REPLACEMENT {
        return Err("the page's charset is one browsers refuse".to_string());
    }
    if malformed {
        return Err(format!("the body is not valid {}", used.name()));
    }
    Ok(text.into_owned())
}

/// The encoding that a `charset=` names in a `Content-Type` value, such
/// as `text/html; charset=utf-8`, the way the HTML standard extracts it
/// from a `<meta>`'s `content`: quoted with `"` or `'`, or bare.
fn charset(value: &str) -> Option<&'static Encoding> {
    let lower = value.to_ascii_lowercase();
    let mut from = 0;
    // The first `charset` that an `=` follows.
    let rest = loop {
        let at = from + lower[from..].find("charset")?;
        from = at + "charset".len();
        if let Some(rest) = value[from..].trim_start().strip_prefix('=') {
            break rest.trim_start();
        }
    };
    let label = match rest.chars().next()? {
        quote @ ('"' | '\'') => rest[1..].split(quote).next()?,
        _ => rest.split([';', ' ', '\t']).next()?,
    };
    Encoding::for_label(label.as_bytes())
}

/// The encoding that a `<meta charset>`, or a `<meta http-equiv=
/// "Content-Type">`, names in the first 1024 bytes of `body`.
fn meta(body: &[u8]) -> Option<&'static Encoding> {
    // The tags are ASCII, which windows-1252 reads right whatever the
    // page's encoding (a UTF-16 page has a byte-order mark instead).
    let start = &body[..body.len().min(1024)];
    let (start, _) = WINDOWS_1252.decode_without_bom_handling(start);
    let start = Html::parse_document(&start);
    let named = start.select(&META).find_map(|meta| {
        let meta = meta.value();
        if let Some(label) = meta.attr("charset") {
            return Encoding::for_label(label.trim().as_bytes());
        }
        let equiv = meta.attr("http-equiv")?;
        equiv.eq_ignore_ascii_case("content-type").then_some(())?;
        charset(meta.attr("content")?)
    });
    // A page whose `<meta>` we read as ASCII is not UTF-16, whatever it
    // says: the standard takes UTF-8 then, and windows-1252 for the
    // `x-user-defined` of old. (`replacement`, a label for encodings
    // that are unsafe to decode, stays: `decode` refuses it.)
    named.map(|encoding| match encoding {
        e if e == UTF_16LE || e == UTF_16BE => UTF_8,
        e if e == X_USER_DEFINED => WINDOWS_1252,
        e => e,
    })
}
// END COPY

// COPY FROM listings/ch04-scraper/03-threads/src/main.rs
/// The planets to scrape: the arguments, which must be http(s) URLs.
fn parse_planets(args: &[String]) -> Result<Vec<Url>, String> {
    let parse = |arg: &String| match Url::parse(arg) {
        Ok(url) if ["http", "https"].contains(&url.scheme()) => Ok(url),
        Ok(_) => Err(format!("`{arg}` is not an http:// URL")),
        Err(e) => Err(format!("`{arg}` is not a URL: {e}")),
    };
    args.iter().map(parse).collect()
}

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE, // Some planet failed.
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
// END COPY

// COPY FROM listings/ch04-scraper/03-threads/src/main.rs
/// The book's planet server. Every scraper listing of chapter 4 holds an
/// identical copy of this module (a test checks it), so that each listing
/// still builds when copied out alone.
pub mod planet_server {
    // Each listing uses a different part of the server.
    #![allow(dead_code)]

    use std::fmt::Write as _;
    use std::io;
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::io::AsyncWrite;
    use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::sync::oneshot;
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer;

    /// How many articles each planet lists.
    pub const ARTICLES: usize = 4;
    /// The size of an oversized body: larger than any scraper accepts.
    pub const TOO_LARGE: usize = 2 << 20;

    /// A way for one planet to misbehave.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Fault {
        /// The planet page answers 404 Not Found.
        NotFound,
        /// The planet page answers 500 Internal Server Error.
        ServerError,
        /// The planet page has no `<h3><a href>`.
        NoArticleLink,
        /// The planet page redirects to itself, forever.
        RedirectLoop,
        /// The first article has no `<title>`.
        NoTitle,
        /// The article's connection closes halfway through its body.
        CutShort,
        /// The article's response starts and never finishes.
        NeverFinishes,
        /// The article's body is `TOO_LARGE` bytes long.
        TooLarge,
        /// The article's body comes a byte every 100 ms: each read is
        /// quick, the whole takes about a minute.
        Trickle,
        /// The article's title holds bytes that are not UTF-8.
        NotUtf8,
        /// Not a fault: the article's title spans several lines, a word
        /// to a line, indented, as editors write it. A scraper must still
        /// print it on one line.
        SpreadTitle,
        /// Not a fault: the planet page has moved. `/planet/N` redirects
        /// to `/moved/planet/N`, whose links are relative to that URL.
        Moved,
        /// Not a fault: the planet page has a `<base href="/based/">`,
        /// and its links are relative to that.
        BaseHref,
        /// Not a fault: the planet page has moved as with `Moved`, and its
        /// `<base href="../based/">` is relative to the new URL.
        MovedBase,
        /// Not a fault: the planet page and the article come in chunks
        /// (`Transfer-Encoding: Chunked`, capitalised as some servers
        /// write it), without a `Content-Length`.
        Chunked,
        /// Not a fault: the article is in windows-1252, which its
        /// `Content-Type` header says, while a `<meta charset="utf-8">`
        /// left over from a template says otherwise: the header wins.
        Windows1252,
        /// Not a fault: the article is in KOI8-R, which only its
        /// `<meta http-equiv="Content-Type">` says. (Its middle dot is
        /// `ž` in windows-1252, the default: a scraper must read it.)
        MetaCharset,
        /// Not a fault: the planet page and the article write their tags
        /// in capitals, `<H3><A HREF=...>` and `<TITLE>`, as old pages do.
        UpperCase,
        /// Not a fault: an interim `103 Early Hints` response comes before
        /// the planet page's `200 OK`.
        EarlyHints,
    }

    /// What the server serves.
    #[derive(Clone, Debug)]
    pub struct Config {
        /// Planet pages `/planet/0` to `/planet/{planets - 1}`.
        pub planets: usize,
        /// How long the server waits before each response.
        pub latency: Duration,
        /// The same seed gives the same pages, byte for byte.
        pub seed: u64,
        /// Which planet misbehaves, and how.
        pub faults: Vec<(usize, Fault)>,
    }

    impl Default for Config {
        fn default() -> Config {
            Config {
                planets: 10,
                latency: Duration::from_millis(50),
                seed: 4,
                faults: Vec::new(),
            }
        }
    }

    /// A running server. Dropping it stops the server.
    pub struct Server {
        /// `http://127.0.0.1:PORT`, or `https://` for `start_tls`, without
        /// a final slash.
        pub base: String,
        /// For `start_tls`: the server's certificate, which a client must
        /// trust, since no authority signed it.
        pub certificate: Option<rcgen::Certificate>,
        config: Config,
        _stop: oneshot::Sender<()>,
    }

    impl Server {
        /// The URL of every planet page, in order.
        pub fn planet_urls(&self) -> Vec<String> {
            let base = &self.base;
            let planets = 0..self.config.planets;
            planets.map(|p| format!("{base}/planet/{p}")).collect()
        }

        /// What a scraper must find on `planet` when nothing goes wrong:
        /// the URL of its first article and that article's title.
        pub fn expected(&self, planet: usize) -> (String, String) {
            let site = Site::new(&self.config);
            let href = site.href(planet, 0).replace("&amp;", "&");
            let path = match site.fault(planet) {
                Some(Fault::Moved) => format!("/moved/article/{planet}/0"),
                Some(Fault::BaseHref) => format!("/based/article/{planet}/0"),
                Some(Fault::MovedBase) => {
                    format!("/moved/based/article/{planet}/0")
                }
                _ => href.trim_start_matches("..").to_string(),
            };
            let title = site.title(planet, 0);
            let author = site.author(planet, 0);
            let title = format!("{title} \u{b7} {author}'s blog");
            (format!("{}{path}", self.base), title)
        }
    }

    /// How many connections the kernel may hold for the server before it
    /// accepts them: enough for a thousand planets asked for at once.
    /// (`TcpListener::bind` asks for 128; Linux caps it at
    /// `net.core.somaxconn`, 4096 by default since 5.4.)
    pub const BACKLOG: u32 = 4096;

    /// A listener on a free port of 127.0.0.1, with a backlog of
    /// `BACKLOG`: the one `main` serves on, and the benchmarks too.
    pub fn listener() -> io::Result<std::net::TcpListener> {
        // tokio's `listen` needs a runtime, and the caller may be inside
        // one already: a runtime of its own, on a thread of its own.
        let make = || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .build()?;
            runtime.block_on(async {
                let socket = tokio::net::TcpSocket::new_v4()?;
                socket.bind(([127, 0, 0, 1], 0).into())?;
                let listener = socket.listen(BACKLOG)?.into_std()?;
                listener.set_nonblocking(false)?; // As `bind` leaves it.
                Ok(listener)
            })
        };
        let thread = std::thread::Builder::new().spawn(make)?;
        thread
            .join()
            .map_err(|_| io::Error::other("listener: a panic"))?
    }

    /// Serves on `listener` from a thread of its own, with a runtime of
    /// its own, so that blocking and async clients can use it alike.
    pub fn start(
        listener: std::net::TcpListener,
        config: Config,
    ) -> io::Result<Server> {
        start_with(listener, config, None)
    }

    fn start_with(
        listener: std::net::TcpListener,
        config: Config,
        tls: Option<(TlsAcceptor, rcgen::Certificate)>,
    ) -> io::Result<Server> {
        listener.set_nonblocking(true)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let base = format!("{scheme}://{}", listener.local_addr()?);
        let (acceptor, certificate) = tls.unzip();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel();
        let site = Arc::new(Site::new(&config));
        std::thread::Builder::new()
            .name("planet-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    tokio::select! {
                        _ = stopped => {} // The `Server` was dropped.
                        _ = accept(listener, site, acceptor) => {}
                    }
                })
            })?;
        Ok(Server {
            base,
            certificate,
            config,
            _stop: stop,
        })
    }

    /// Like `start`, over TLS: `https://`, with a certificate for
    /// 127.0.0.1 and `localhost` made on the spot and signed by its own
    /// key. A client trusts it only if told to (`Server::certificate`).
    pub fn start_tls(
        listener: std::net::TcpListener,
        config: Config,
    ) -> io::Result<Server> {
        let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let made = rcgen::generate_simple_self_signed(names);
        let rcgen::CertifiedKey { cert, signing_key } =
            made.map_err(io::Error::other)?;
        let key = PrivatePkcs8KeyDer::from(signing_key.serialize_der());
        // The `ring` provider, named, rather than a process-wide default.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| {
                builder
                    .with_no_client_auth()
                    .with_single_cert(vec![cert.der().clone()], key.into())
            })
            .map_err(io::Error::other)?;
        let acceptor = TlsAcceptor::from(Arc::new(tls));
        start_with(listener, config, Some((acceptor, cert)))
    }

    async fn accept(
        listener: std::net::TcpListener,
        site: Arc<Site>,
        tls: Option<TlsAcceptor>,
    ) {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        loop {
            match listener.accept().await {
                // An error on one connection ends that connection.
                Ok((stream, _)) => match &tls {
                    None => drop(tokio::spawn(serve(stream, site.clone()))),
                    Some(tls) => {
                        let handshake = tls.accept(stream);
                        let site = site.clone();
                        tokio::spawn(async move {
                            // A client that never ends its handshake is
                            // dropped after a while.
                            let wait = Duration::from_secs(10);
                            let shaken = tokio::time::timeout(wait, handshake);
                            if let Ok(Ok(stream)) = shaken.await {
                                let _ = serve(stream, site).await;
                            }
                        });
                    }
                },
                // Out of file descriptors, say: wait, then go on.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    /// One request: its path, and whether the client wants the connection
    /// closed after the response.
    struct Request {
        method: String,
        path: String,
        close: bool,
        /// HTTP/1.1, which knows interim responses and chunks; 1.0 does
        /// not.
        http11: bool,
    }

    /// Serves the requests of one connection, one after the other.
    async fn serve<S>(stream: S, site: Arc<Site>) -> io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (reader, mut writer) = tokio::io::split(stream);
        let mut reader = BufReader::new(reader);
        let idle = Duration::from_secs(30);
        // Between requests a client may keep the connection open, idle.
        while let Ok(Some(request)) =
            tokio::time::timeout(idle, read_request(&mut reader)).await?
        {
            let response = site.respond(&request);
            if response.early_hints {
                // At once, before the server's think time: what an early
                // hint is for.
                writer.write_all(EARLY_HINTS).await?;
                writer.flush().await?;
            }
            // A timer, not a sleeping thread: other connections go on.
            tokio::time::sleep(site.latency).await;
            let close = request.close || response.close;
            // One write per response: the head alone would wait for the
            // client's acknowledgment (Nagle's algorithm). A flush sends
            // what TLS still holds; on plain TCP it does nothing.
            if request.method == "HEAD" {
                // The head a GET would get, without the body.
                writer.write_all(&response.head(close)).await?;
                writer.flush().await?;
                if close {
                    break;
                }
                continue;
            }
            writer.write_all(&response.bytes(close)).await?;
            writer.flush().await?;
            match response.end {
                End::Whole if close => break,
                End::Whole => {}
                End::CutShort => break, // Closes the connection mid-body.
                End::Never => std::future::pending().await, // Never resumes.
                End::Trickle => {
                    for byte in &response.body {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        writer.write_all(&[*byte]).await?;
                        writer.flush().await?;
                    }
                    break;
                }
            }
        }
        // On TLS, a `close_notify` tells the client the end is the end.
        writer.shutdown().await
    }

    /// Reads a request's head. `None` when the client closed the
    /// connection, or sent something we do not serve.
    async fn read_request<R>(
        reader: &mut BufReader<R>,
    ) -> io::Result<Option<Request>>
    where
        R: AsyncRead + Unpin,
    {
        let mut line = String::new();
        if !read_line(reader, &mut line).await? {
            return Ok(None);
        }
        // An empty line before a request is to be ignored (RFC 9112).
        if line.trim_end().is_empty() && !read_line(reader, &mut line).await? {
            return Ok(None);
        }
        let mut words = line.split_whitespace();
        let (Some(method), Some(path), Some(version)) =
            (words.next(), words.next(), words.next())
        else {
            return Ok(None);
        };
        let mut request = Request {
            method: method.to_string(),
            path: path.to_string(),
            close: version != "HTTP/1.1",
            http11: version == "HTTP/1.1",
        };
        // The headers, up to the empty line; we read only `Connection`
        // and refuse request bodies and endless heads.
        for _ in 0..100 {
            if !read_line(reader, &mut line).await? {
                return Ok(None);
            }
            let header = line.trim_end();
            if header.is_empty() {
                return Ok(Some(request));
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let value = value.trim().to_ascii_lowercase();
            match name.to_ascii_lowercase().as_str() {
                "connection" if value.contains("close") => request.close = true,
                "connection" if value.contains("keep-alive") => {
                    request.close = false
                }
                "content-length" if value != "0" => return Ok(None),
                "transfer-encoding" => return Ok(None),
                _ => {}
            }
        }
        Ok(None)
    }

    /// The longest line of a request's head that we read.
    const MAX_LINE: u64 = 8 * 1024;

    /// Reads one line into `line`. `false` at the end of the stream, or
    /// for a line longer than `MAX_LINE`, of which no more is read.
    async fn read_line<R>(reader: &mut R, line: &mut String) -> io::Result<bool>
    where
        R: AsyncBufRead + Unpin,
    {
        let mut bytes = Vec::new();
        let mut limited = (&mut *reader).take(MAX_LINE + 1);
        let n = limited.read_until(b'\n', &mut bytes).await?;
        // Header values may hold bytes that are not UTF-8 (obs-text).
        *line = String::from_utf8_lossy(&bytes).into_owned();
        Ok(n > 0 && n as u64 <= MAX_LINE && line.ends_with('\n'))
    }

    /// An interim response, which `serve` sends before the final one.
    const EARLY_HINTS: &[u8] = b"HTTP/1.1 103 Early Hints\r\n\
        Link: </planet.css>; rel=preload; as=style\r\n\r\n";

    /// How a response ends.
    enum End {
        Whole,
        CutShort,
        Never,
        Trickle,
    }

    struct Response {
        status: &'static str,
        content_type: &'static str,
        location: Option<String>,
        body: Vec<u8>,
        close: bool,
        end: End,
        /// The body in chunks, without a `Content-Length`.
        chunked: bool,
        /// `EARLY_HINTS` before the response.
        early_hints: bool,
    }

    impl Response {
        fn page(status: &'static str, body: impl Into<Vec<u8>>) -> Response {
            Response {
                status,
                content_type: "text/html; charset=utf-8",
                location: None,
                body: body.into(),
                close: false,
                end: End::Whole,
                chunked: false,
                early_hints: false,
            }
        }

        /// The head, and as much of the body as we send.
        fn bytes(&self, close: bool) -> Vec<u8> {
            let mut bytes = self.head(close);
            let body = &self.body;
            if self.chunked {
                // Chunks of 1000 bytes, sizes in hex, the first with an
                // extension (`;name=value`), which a client must skip.
                for (i, chunk) in body.chunks(1000).enumerate() {
                    let ext = if i == 0 { ";planet=1" } else { "" };
                    let size = format!("{:X}{ext}\r\n", chunk.len());
                    bytes.extend_from_slice(size.as_bytes());
                    bytes.extend_from_slice(chunk);
                    bytes.extend_from_slice(b"\r\n");
                }
                bytes.extend_from_slice(b"0\r\n\r\n");
                return bytes;
            }
            bytes.extend_from_slice(match self.end {
                End::Whole => body,
                End::CutShort => &body[..body.len() / 2],
                End::Never => &body[..100],
                End::Trickle => &[], // `serve` sends it, slowly.
            });
            bytes
        }

        fn head(&self, close: bool) -> Vec<u8> {
            let mut head = String::new();
            let (status, content_type) = (self.status, self.content_type);
            let _ = write!(
                head,
                "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            );
            if self.chunked {
                head.push_str("Transfer-Encoding: Chunked\r\n");
            } else {
                let _ = write!(head, "Content-Length: {}\r\n", self.body.len());
            }
            if let Some(location) = &self.location {
                let _ = write!(head, "Location: {location}\r\n");
            }
            if self.status.starts_with("405") {
                head.push_str("Allow: GET, HEAD\r\n"); // As RFC 9110 asks.
            }
            if close {
                head.push_str("Connection: close\r\n");
            }
            head.push_str("\r\n");
            head.into_bytes()
        }
    }

    const OPENERS: [&str; 8] = [
        "Notes on",
        "A gentle look at",
        "Why I stopped fearing",
        "Benchmarking",
        "Ten things about",
        "Rewriting",
        "Debugging",
        "In praise of",
    ];
    const SUBJECTS: [&str; 10] = [
        "epoll & kqueue",
        "the borrow checker",
        "async cancellation",
        "lock-free queues",
        "\"zero-cost\" futures",
        "HTTP/1.1 keep-alive",
        "the reactor pattern",
        "green threads",
        "back-pressure",
        "Deferreds",
    ];
    const AUTHORS: [&str; 8] = [
        "Ada", "Barbara", "Chidi", "Dmitri", "Eun-ji", "Farid", "Greta", "Hugo",
    ];
    const TOPICS: [&str; 5] = ["Rust", "Python", "Systems", "Networks", "Unix"];

    /// The pages, computed from the seed on each request.
    struct Site {
        planets: usize,
        latency: Duration,
        seed: u64,
        faults: Vec<(usize, Fault)>,
    }

    /// SplitMix64: a few lines of arithmetic that turn a counter into
    /// well-mixed numbers, so the content needs no random-number crate.
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Escapes text for HTML, as a careful blog engine does.
    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;")
    }

    impl Site {
        fn new(config: &Config) -> Site {
            Site {
                planets: config.planets,
                latency: config.latency,
                seed: config.seed,
                faults: config.faults.clone(),
            }
        }

        fn fault(&self, planet: usize) -> Option<Fault> {
            let mut faults = self.faults.iter();
            faults.find(|(p, _)| *p == planet).map(|(_, f)| *f)
        }

        fn pick<'a>(&self, list: &[&'a str], salt: u64) -> &'a str {
            let n = mix(self.seed ^ mix(salt)) as usize;
            list[n % list.len()]
        }

        fn title(&self, planet: usize, article: usize) -> String {
            let salt = (planet * ARTICLES + article) as u64;
            let opener = self.pick(&OPENERS, salt * 2);
            let subject = self.pick(&SUBJECTS, salt * 2 + 1);
            // The day number keeps every title distinct.
            format!("{opener} {subject}, day {}", salt + 1)
        }

        fn author(&self, planet: usize, article: usize) -> &'static str {
            let salt = (planet * ARTICLES + article) as u64;
            self.pick(&AUTHORS, salt + (1 << 40))
        }

        /// The link to an article as the planet page writes it: absolute,
        /// relative, or with an escaped query string.
        fn href(&self, planet: usize, article: usize) -> String {
            match self.fault(planet) {
                // Relative to the page's final URL, or to its `<base>`.
                Some(Fault::Moved) => {
                    return format!("../article/{planet}/{article}");
                }
                Some(Fault::BaseHref | Fault::MovedBase) => {
                    return format!("article/{planet}/{article}");
                }
                _ => {}
            }
            match (planet + article) % 3 {
                0 => format!("/article/{planet}/{article}"),
                1 => format!("../article/{planet}/{article}"),
                _ => format!(
                    "/article/{planet}/{article}?from=planet&amp;utm=feed"
                ),
            }
        }

        fn respond(&self, request: &Request) -> Response {
            let mut response = self.route(request);
            // HTTP/1.0 knows neither chunks nor interim responses.
            response.chunked &= request.http11;
            response.early_hints &= request.http11;
            response
        }

        fn route(&self, request: &Request) -> Response {
            if request.method != "GET" && request.method != "HEAD" {
                let mut r = Response::page("405 Method Not Allowed", "");
                r.close = true;
                return r;
            }
            let path = request.path.split('?').next().unwrap_or("");
            let parts: Vec<&str> = path.split('/').skip(1).collect();
            let number = |s: &str| s.parse::<usize>().ok();
            match parts.as_slice() {
                [""] => Response::page("200 OK", self.index()),
                ["planet", p] => match number(p) {
                    Some(p) if p < self.planets => self.planet(p, false),
                    _ => Self::not_found(),
                },
                ["moved", "planet", p] => match number(p) {
                    Some(p) if self.moved(p) => self.planet(p, true),
                    _ => Self::not_found(),
                },
                ["article", p, a]
                | ["moved" | "based", "article", p, a]
                | ["moved", "based", "article", p, a] => {
                    match (number(p), number(a)) {
                        (Some(p), Some(a))
                            if p < self.planets && a < ARTICLES =>
                        {
                            self.article(p, a)
                        }
                        _ => Self::not_found(),
                    }
                }
                _ => Self::not_found(),
            }
        }

        fn moved(&self, planet: usize) -> bool {
            let fault = self.fault(planet);
            matches!(fault, Some(Fault::Moved | Fault::MovedBase))
        }

        fn not_found() -> Response {
            let body = "<html><body><h1>Not Found</h1></body></html>";
            Response::page("404 Not Found", body)
        }

        fn index(&self) -> String {
            let mut page = String::from(
                "<!DOCTYPE html>\n<html><head><title>Planets</title></head>\n\
                 <body><h1>Planets</h1>\n<ul>\n",
            );
            for p in 0..self.planets {
                let topic = self.pick(&TOPICS, p as u64);
                let _ = writeln!(
                    page,
                    "<li><a href=\"/planet/{p}\">Planet {topic} #{p}</a>"
                );
            }
            page.push_str("</ul>\n</body></html>\n");
            page
        }

        /// A planet page, messy as real ones are: links in the header and
        /// the sidebar, an `<h3>` without a link, entities, unclosed `<p>`s.
        fn planet(&self, p: usize, moved: bool) -> Response {
            match self.fault(p) {
                Some(Fault::NotFound) => return Self::not_found(),
                Some(Fault::ServerError) => {
                    let body = "<html><body>Internal error</body></html>";
                    return Response::page("500 Internal Server Error", body);
                }
                Some(Fault::RedirectLoop) => {
                    let mut r = Response::page("302 Found", "");
                    r.location = Some(format!("/planet/{p}"));
                    return r;
                }
                Some(Fault::Moved | Fault::MovedBase) if !moved => {
                    let mut r = Response::page("301 Moved Permanently", "");
                    r.location = Some(format!("/moved/planet/{p}"));
                    return r;
                }
                _ => {}
            }
            let topic = self.pick(&TOPICS, p as u64);
            let base = match self.fault(p) {
                Some(Fault::BaseHref) => "<base href=\"/based/\">\n",
                Some(Fault::MovedBase) => "<base href=\"../based/\">\n",
                _ => "",
            };
            let mut page = format!(
                "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n\
                 <meta charset=\"utf-8\">\n\
                 <meta name=\"generator\" content=\"Planet Venus\">\n\
                 <title>Planet {topic} #{p}</title>\n{base}\
                 <link rel=\"stylesheet\" href=\"/planet.css\">\n\
                 <link rel=\"alternate\" href=\"/planet/{p}/rss\">\n\
                 </head>\n<body>\n<div id=\"header\">\
                 <h1><a href=\"/\">Planet {topic}</a></h1>\n\
                 <p>What people write about {topic} &mdash; hourly.\n\
                 </div>\n<div id=\"sidebar\"><h3>Subscriptions</h3>\n<ul>\n"
            );
            for a in 0..ARTICLES {
                let author = self.author(p, a);
                let _ = writeln!(
                    page,
                    "<li><a href=\"http://blog.invalid/{author}/\">{author}</a>"
                );
            }
            page.push_str("</ul></div>\n<h3><a name=\"top\"></a>Latest</h3>\n");
            for a in 0..ARTICLES {
                let title = escape(&self.title(p, a));
                let href = self.href(p, a);
                let link = format!("<a href=\"{href}\">{title}</a>");
                let heading = match self.fault(p) {
                    Some(Fault::NoArticleLink) => {
                        format!("<h3 class=\"title\">{title}</h3>")
                    }
                    Some(Fault::UpperCase) => {
                        let link = link.replace("<a href", "<A HREF");
                        let link = link.replace("</a>", "</A>");
                        format!("<H3 CLASS=\"title\">{link}</H3>")
                    }
                    _ => format!("<h3 class=\"title\">{link}</h3>"),
                };
                let _ = write!(
                    page,
                    "<div class=\"entry\">\n<h2 class=\"date\">Day {}</h2>\n\
                     {heading}\n\
                     <p class=\"author\">by <a href=\"/\">{}</a>\n\
                     <div class=\"content\"><p>It starts with <em>one</em> \
                     socket &amp; ends <a href=\"{href}\">here&hellip;</a>\
                     </div>\n</div>\n",
                    p * ARTICLES + a + 1,
                    self.author(p, a),
                );
            }
            page.push_str("</body>\n</html>\n");
            let mut response = Response::page("200 OK", page);
            response.chunked = self.fault(p) == Some(Fault::Chunked);
            response.early_hints = self.fault(p) == Some(Fault::EarlyHints);
            response
        }

        fn article(&self, p: usize, a: usize) -> Response {
            let fault = if a == 0 { self.fault(p) } else { None };
            let title = escape(&self.title(p, a));
            let author = self.author(p, a);
            // The middle dot of the title, and the charset, as declared.
            let (charset, dot, content_type) = match fault {
                Some(Fault::Windows1252) => (
                    "<meta charset=\"utf-8\">\n",
                    &b"\xb7"[..],
                    "text/html; charset=windows-1252",
                ),
                Some(Fault::MetaCharset) => (
                    "<meta http-equiv=\"Content-Type\" \
                     content=\"text/html; charset=KOI8-R\">\n",
                    &b"\x9e"[..],
                    "text/html",
                ),
                _ => (
                    "<meta charset=\"utf-8\">\n",
                    &b"&middot;"[..],
                    "text/html; charset=utf-8",
                ),
            };
            let tag = match fault {
                Some(Fault::UpperCase) => "TITLE",
                _ => "title",
            };
            let mut body = b"<!DOCTYPE html>\n<html><head>\n".to_vec();
            body.extend_from_slice(charset.as_bytes());
            if fault != Some(Fault::NoTitle) {
                body.extend_from_slice(format!("<{tag}>").as_bytes());
                if fault == Some(Fault::NotUtf8) {
                    body.extend_from_slice(b"\xff\xfe ");
                }
                let mut words = title.clone().into_bytes();
                words.push(b' ');
                words.extend_from_slice(dot);
                words.extend_from_slice(
                    format!(" {author}&#39;s blog").as_bytes(),
                );
                if fault == Some(Fault::SpreadTitle) {
                    let mut spread = b"\n    ".to_vec();
                    for &b in &words {
                        match b {
                            b' ' => spread.extend_from_slice(b"\n    "),
                            b => spread.push(b),
                        }
                    }
                    words = spread;
                    words.push(b'\n');
                }
                body.extend_from_slice(&words);
                body.extend_from_slice(format!("</{tag}>").as_bytes());
            }
            let rest = format!(
                "\n</head>\n<body><article><h1>{title}</h1>\n\
                 <p>Threads or tasks? It depends.</article>\n"
            );
            body.extend_from_slice(rest.as_bytes());
            if fault == Some(Fault::TooLarge) {
                body.extend_from_slice(b"<!-- ");
                body.resize(TOO_LARGE, b'.');
                body.extend_from_slice(b" -->\n");
            }
            body.extend_from_slice(b"</body></html>\n");
            let mut response = Response::page("200 OK", body);
            response.content_type = content_type;
            response.chunked = fault == Some(Fault::Chunked);
            response.end = match fault {
                Some(Fault::CutShort) => End::CutShort,
                Some(Fault::NeverFinishes) => End::Never,
                Some(Fault::Trickle) => End::Trickle,
                _ => End::Whole,
            };
            response
        }
    }
}
// END COPY

#[cfg(test)]
mod tests {
    use super::planet_server::{self, Config, Fault, Server};
    use super::*;
    use std::sync::mpsc::Receiver;

    fn server(planets: usize, ms: u64, faults: Vec<(usize, Fault)>) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let latency = Duration::from_millis(ms);
        let config = Config {
            planets,
            latency,
            seed: 7,
            faults,
        };
        planet_server::start(listener, config).unwrap()
    }

    fn urls(server: &Server) -> Vec<Url> {
        parse_planets(&server.planet_urls()).unwrap()
    }

    /// Every knob of the planet server that is not a fault, each on a
    /// planet of its own, planet 0 plain.
    const KNOBS: [Fault; 9] = [
        Fault::SpreadTitle, // A title over several lines: one row still.
        Fault::Moved,       // Links relative to the URL after a redirect,
        Fault::BaseHref,    // to a `<base href>`,
        Fault::MovedBase,   // or to a relative base after a redirect.
        Fault::Chunked,
        Fault::Windows1252, // The charset in `Content-Type` only,
        Fault::MetaCharset, // or in a `<meta>` only.
        Fault::UpperCase,
        Fault::EarlyHints, // A `103` before the `200`.
    ];

    #[test]
    fn every_row_is_the_expected_one() {
        let server = server(10, 0, (1..).zip(KNOBS).collect());
        let (rows, requests) = scrape(&urls(&server), CONCURRENT);
        assert_eq!(rows.len(), 10);
        for (p, row) in rows.iter().enumerate() {
            assert_eq!(row.planet, format!("{}/planet/{p}", server.base));
            let (article, title) = server.expected(p);
            let expected = Ok(Found { article, title });
            assert_eq!(row.found, expected, "planet {p}");
        }
        // Two requests a planet; a redirect is not one more here: chapter
        // 3's `get_page` follows it inside one call.
        assert_eq!(requests.len(), 20);
    }

    #[test]
    fn faults_are_error_rows_and_the_others_complete() {
        use Fault::*;
        // Every fault but `NeverFinishes` and `Trickle`, which would wait
        // for the client's idle (10 s) and total (60 s) timeouts; chapter
        // 3's tests check both timeouts with short ones.
        let faults = [
            (NotFound, "HTTP status 404"),
            (ServerError, "HTTP status 500"),
            (NoArticleLink, "no <h3><a href> on the planet page"),
            (RedirectLoop, "too many redirects"),
            (NoTitle, "no <title>"),
            (CutShort, "response cut short"),
            (TooLarge, "response too large"),
            (NotUtf8, "the body is not valid UTF-8"),
        ];
        let by_planet = faults.iter().enumerate();
        let server = server(10, 0, by_planet.map(|(p, f)| (p, f.0)).collect());
        let (rows, _) = scrape(&urls(&server), CONCURRENT);
        for (row, (fault, cause)) in rows.iter().zip(faults) {
            let error = row.found.as_ref().unwrap_err();
            assert!(error.contains(cause), "{fault:?}: {error}");
        }
        for p in [8, 9] {
            let (article, title) = server.expected(p);
            assert_eq!(rows[p].found, Ok(Found { article, title }));
        }
    }

    #[test]
    fn fifty_planets_overlap_on_one_thread() {
        // 50 planets, 50 ms per response: 2 x 50 x 50 ms = 5 s in a row.
        let server = server(50, 50, vec![]);
        let started = Instant::now();
        let (rows, requests) = scrape(&urls(&server), CONCURRENT);
        let ratio = started.elapsed().as_secs_f64() / 5.0;
        assert!(rows.iter().all(|row| row.found.is_ok()));
        // Two round trips (0.02 of 5 s) at best; well under 5 s anyway.
        assert!((0.02..0.25).contains(&ratio), "{ratio}");
        // Every planet page was asked for before the first one came back.
        let first_end = requests.iter().map(|r| r.2).min().unwrap();
        let planets: Vec<_> = requests
            .iter()
            .filter(|r| r.0.contains("/planet/"))
            .collect();
        assert_eq!(planets.len(), 50);
        assert!(planets.iter().all(|r| r.1 < first_end));
    }

    #[test]
    fn names_and_refusals_are_error_rows() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed = port.local_addr().unwrap();
        drop(port);
        let args = [
            "http://localhost:8080/planet/0".to_string(),
            format!("https://{closed}/planet/0"),
            format!("http://{closed}/planet/0"),
        ];
        let planets = parse_planets(&args).unwrap();
        let (rows, _) = scrape(&planets, CONCURRENT);
        let error = |i: usize| rows[i].found.as_ref().unwrap_err().clone();
        assert!(
            error(0).contains("`localhost` is a host name"),
            "{}",
            error(0)
        );
        assert!(error(1).contains("refused"), "{}", error(1));
        assert!(error(2).contains("refused"), "{}", error(2));
    }

    #[test]
    fn https_through_our_tls_protocol() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let config = Config {
            planets: 10,
            latency: Duration::ZERO,
            seed: 7,
            faults: (1..).zip(KNOBS).collect(),
        };
        let server = planet_server::start_tls(listener, config).unwrap();
        let der = server.certificate.as_ref().unwrap().der().to_vec();
        trust(&[der]).unwrap();
        let (rows, _) = scrape(&urls(&server), CONCURRENT);
        for (p, row) in rows.iter().enumerate() {
            let (article, title) = server.expected(p);
            let expected = Ok(Found { article, title });
            assert_eq!(row.found, expected, "planet {p}");
        }
        // Without it, the server is one nobody vouches for.
        trust(&[]).unwrap();
        for row in scrape(&urls(&server), CONCURRENT).0 {
            let error = row.found.unwrap_err();
            assert!(error.contains("UnknownIssuer"), "{error}");
        }
    }

    /// How `tls_server` ends its response.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Ending {
        /// `close_notify`, then at once the TCP end.
        CloseNotify,
        /// `close_notify`; then it waits for the client's end, and keeps
        /// the TCP connection open 5 s more.
        CloseNotifyOnly,
        /// The TCP end alone: a cut, for all the client can tell.
        Cut,
    }

    /// A TLS server that answers one request with a body that ends where
    /// the connection does, ended as `ending` says. Returns its address,
    /// its certificate, and what it then saw of the client.
    fn tls_server(ending: Ending) -> (SocketAddr, Vec<u8>, Receiver<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        use tokio_rustls::rustls::pki_types::PrivatePkcs8KeyDer;
        let names = vec!["127.0.0.1".to_string()];
        let made = rcgen::generate_simple_self_signed(names).unwrap();
        let der = made.cert.der().to_vec();
        let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
        let provider = rustls::crypto::ring::default_provider();
        let config =
            rustls::ServerConfig::builder_with_provider(provider.into())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![made.cert.der().clone()], key.into())
                .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (saw, seen) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                listener.set_nonblocking(true).unwrap();
                let listener =
                    tokio::net::TcpListener::from_std(listener).unwrap();
                let (stream, _) = listener.accept().await.unwrap();
                let mut tls = match acceptor.accept(stream).await {
                    Ok(tls) => tls,
                    Err(e) => return saw.send(format!("handshake: {e}")),
                };
                let mut request = [0; 1024];
                let _ = tls.read(&mut request).await.unwrap();
                let response = b"HTTP/1.1 200 OK\r\n\r\nuntil the end";
                tls.write_all(response).await.unwrap();
                tls.flush().await.unwrap();
                match ending {
                    Ending::Cut => return Ok(()), // Dropped: TCP alone.
                    Ending::CloseNotify => {
                        let _ = tls.shutdown().await; // Both, at once.
                        return Ok(());
                    }
                    Ending::CloseNotifyOnly => {}
                }
                tls.get_mut().1.send_close_notify();
                tls.flush().await.unwrap(); // The TCP end stays open.
                // What the client does at the end: its `close_notify`
                // reads as the end of the stream; a bare close, an error.
                let end = tls.read(&mut request).await;
                let _ = saw.send(format!("client end: {end:?}"));
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            })
        });
        (addr, der, seen)
    }

    // `trust` sets this thread's configuration: each test runs on a
    // thread of its own, so one test's roots do not reach another.
    #[test]
    fn a_tls_session_ends_with_close_notify_both_ways() {
        for ending in [Ending::CloseNotify, Ending::CloseNotifyOnly] {
            let (addr, der, seen) = tls_server(ending);
            trust(&[der]).unwrap();
            let url = format!("https://{addr}/");
            let started = Instant::now();
            let page = block_on(async move { get_page(&url).await });
            let page = page.unwrap().unwrap();
            assert_eq!(page.body, b"until the end", "{ending:?}");
            // Not held until the server's TCP end, 5 s later.
            assert!(started.elapsed() < Duration::from_secs(2), "{ending:?}");
            if ending == Ending::CloseNotifyOnly {
                // We sent ours: the server read it as the end of stream.
                let end = seen.recv_timeout(Duration::from_secs(5));
                assert_eq!(end.unwrap(), "client end: Ok(0)");
            }
        }
    }

    #[test]
    fn a_tls_stream_cut_without_close_notify_is_an_error() {
        let (addr, der, _) = tls_server(Ending::Cut);
        trust(&[der]).unwrap();
        let url = format!("https://{addr}/");
        let page = block_on(async move { get_page(&url).await }).unwrap();
        let error = page.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedEof, "{error}");
        let message = error.to_string();
        assert!(
            message.contains("without ending its TLS session"),
            "{error}"
        );
    }

    #[test]
    fn a_certificate_we_refuse_gets_an_alert() {
        let (addr, _der, seen) = tls_server(Ending::CloseNotify);
        trust(&[]).unwrap();
        let url = format!("https://{addr}/");
        let page = block_on(async move { get_page(&url).await }).unwrap();
        assert!(page.unwrap_err().to_string().contains("UnknownIssuer"));
        // The server heard why, rather than a reset.
        let end = seen.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(end.contains("UnknownCA"), "{end}");
    }

    #[test]
    fn options_set_the_bound() {
        let args = |a: &[&str]| -> Vec<String> {
            a.iter().map(|s| s.to_string()).collect()
        };
        let parsed = parse_options(&args(&["--concurrency", "7", "p"]));
        assert_eq!(parsed.unwrap(), (7, vec!["p".to_string()]));
        assert_eq!(parse_options(&args(&["p"])).unwrap().0, CONCURRENT);
        for bad in [&["--concurrency", "0"][..], &["--concurrency"], &["--x"]] {
            assert!(parse_options(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_permits_bound_the_requests_in_flight() {
        let server = server(10, 50, vec![]);
        let (rows, requests) = scrape(&urls(&server), 2);
        assert!(rows.iter().all(|row| row.found.is_ok()));
        assert_eq!(requests.len(), 20);
        for (_, start, _) in &requests {
            let at = |r: &&(String, Duration, Duration)| {
                r.1 <= *start && *start < r.2
            };
            assert!(requests.iter().filter(at).count() <= 2);
        }
    }

    #[test]
    fn a_dropped_waiter_loses_no_permit() {
        let free = block_on(async {
            let permits = Permits::new(1);
            let mut cx = Context::from_waker(Waker::noop());
            let held = permits.acquire().await;
            {
                let mut waiting = pin!(permits.acquire());
                assert!(waiting.as_mut().poll(&mut cx).is_pending());
                drop(held); // Handed to the one waiting...
            } // ...which is dropped before it takes it.
            let mut next = pin!(permits.acquire());
            // Ready, and the permit it gave is dropped at once.
            assert!(next.as_mut().poll(&mut cx).is_ready(), "permit lost");
            // One dropped before its turn came leaves the queue: the
            // permit is not handed to it.
            let held = permits.acquire().await;
            {
                let mut waiting = pin!(permits.acquire());
                assert!(waiting.as_mut().poll(&mut cx).is_pending());
            }
            drop(held);
            permits.free.get()
        });
        assert_eq!(free.unwrap(), 1, "permit handed to a dropped waiter");
    }

    #[test]
    fn addresses_as_get_page_wants_them() {
        let url = |s: &str| address_of(&Url::parse(s).unwrap());
        let q = "http://127.0.0.1:8080/a/b?x=1&y=2";
        assert_eq!(url(q).unwrap(), q);
        let port80 = url("http://127.0.0.1/").unwrap();
        assert_eq!(port80, "http://127.0.0.1:80/");
        assert_eq!(url("http://[::1]:9/p").unwrap(), "http://[::1]:9/p");
        assert!(run(vec!["nonsense".to_string()]).is_err());
    }
}
