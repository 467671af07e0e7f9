extern crate encoding_rs; // `mdbook test` links crates by name
extern crate rcgen; // `mdbook test` links crates by name
extern crate scraper; // `mdbook test` links crates by name
extern crate tokio; // `mdbook test` links crates by name
extern crate tokio_rustls; // `mdbook test` links crates by name
extern crate ureq; // `mdbook test` links crates by name
extern crate url; // `mdbook test` links crates by name
extern crate webpki_root_certs; // `mdbook test` links crates by name

use std::error::Error;
use std::fmt;
use std::io::Read;
use std::process::ExitCode;
use std::sync::{LazyLock, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use encoding_rs::{Encoding, REPLACEMENT, UTF_8, WINDOWS_1252};
use encoding_rs::{UTF_16BE, UTF_16LE, X_USER_DEFINED};
use scraper::{ElementRef, Html, Selector};
use ureq::tls::{Certificate, RootCerts, TlsConfig};
use ureq::{Agent, ResponseExt};
use url::Url;

impl Default for Log {
    fn default() -> Log {
        Log::new()
    }
}

// ANCHOR: here

/// Scrapes every planet at once, one thread per planet.
pub fn scrape(client: &Agent, planets: &[Url], log: &Log) -> Vec<Row> {
    // Scoped threads may borrow `client`, `planets` and `log`: the scope
    // waits for every thread before it returns.
    thread::scope(|s| {
        let mut threads = Vec::new();
        for planet in planets {
            // New: each planet gets a thread of its own, if the system
            // has one to give: `spawn_scoped` returns the error where
            // `s.spawn` would panic.
            let work = move || first_article(client, planet, log);
            threads.push(thread::Builder::new().spawn_scoped(s, work));
        }
        // We join in input order, so the rows keep that order.
        let mut rows = Vec::new();
        for (planet, thread) in planets.iter().zip(threads) {
            let found = match thread.map(|thread| thread.join()) {
                Ok(Ok(found)) => found.map_err(|e| cause(&*e)),
                Ok(Err(_)) => Err("the thread panicked".to_string()),
                Err(e) => Err(format!("no thread for this planet: {e}")),
            };
            rows.push(Row {
                planet: planet.to_string(),
                found,
            });
        }
        rows
    })
}
// ANCHOR_END: here

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 4-2
// (listings/ch04-scraper/02-sequential/src/main.rs), so that this folder
// builds on its own. The book's tests check that each item is the same Rust
// as in its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch04-scraper/02-sequential/src/main.rs
/// Any error, with its cause; `Send` so that threads can return it.
type BoxError = Box<dyn Error + Send + Sync>;

/// We refuse bodies larger than this: a planet page is a few kilobytes.
const MAX_BODY: u64 = 1 << 20;
/// How long one request may take, from connecting to the last byte.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How many redirects we follow for one page, as a browser does.
const MAX_REDIRECTS: u32 = 10;

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

/// When each request started and ended, counted from one instant.
pub struct Log {
    start: Instant,
    requests: Mutex<Vec<(String, Duration, Duration)>>,
}

impl Log {
    pub fn new() -> Log {
        let requests = Mutex::new(Vec::new());
        Log {
            start: Instant::now(),
            requests,
        }
    }

    fn record(&self, url: &Url, started: Duration) {
        let ended = self.start.elapsed();
        let mut requests = self.requests.lock().unwrap();
        requests.push((url.to_string(), started, ended));
    }

    /// Every request that ended: its URL, when it started and ended.
    pub fn requests(&self) -> Vec<(String, Duration, Duration)> {
        self.requests.lock().unwrap().clone()
    }
}
// END COPY

// COPY FROM listings/ch04-scraper/02-sequential/src/main.rs
/// A client that gives up on a request after `timeout` in all, from
/// connecting to the last byte of the body. It trusts the authorities
/// that browsers trust (Mozilla's list), and `extra_roots`, certificates
/// in DER such as a test's own.
pub fn client(timeout: Duration, extra_roots: &[Vec<u8>]) -> Agent {
    let mozilla = webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter();
    let mozilla = mozilla.map(|der| Certificate::from_der(der));
    let extra = extra_roots.iter().map(|der| Certificate::from_der(der));
    let roots = mozilla.chain(extra).map(|root| root.to_owned());
    let tls = TlsConfig::builder().root_certs(RootCerts::from(roots));
    Agent::config_builder()
        .timeout_global(Some(timeout)) // Body included.
        .max_redirects(MAX_REDIRECTS)
        .http_status_as_error(false) // We name the status ourselves.
        .tls_config(tls.build())
        .build()
        .into()
}

/// Downloads `url`: its body, as text, and the URL it came from in the
/// end, after any redirect.
fn get(
    client: &Agent,
    url: &Url,
    log: &Log,
) -> Result<(Url, String), BoxError> {
    let started = log.start.elapsed();
    let result = (|| {
        let mut response = client.get(url.as_str()).call()?;
        if !response.status().is_success() {
            return Err(response.status().to_string().into()); // 404 Not...
        }
        let last = Url::parse(&response.get_uri().to_string())?;
        let header = response.headers().get("content-type");
        let content_type = header.and_then(|v| v.to_str().ok());
        let content_type = content_type.map(str::to_string);
        let mut body = Vec::new();
        // One byte more than we accept tells a full body from a huge one.
        let reader = response.body_mut().as_reader();
        reader.take(MAX_BODY + 1).read_to_end(&mut body)?;
        if body.len() as u64 > MAX_BODY {
            return Err(format!("body larger than {MAX_BODY} bytes").into());
        }
        Ok((last, decode(content_type.as_deref(), &body)?))
    })();
    log.record(url, started);
    result
}

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

/// The first article on `planet`, and its title: two downloads.
pub fn first_article(
    client: &Agent,
    planet: &Url,
    log: &Log,
) -> Result<Found, BoxError> {
    let (url, body) = get(client, planet, log)?;
    let page = Html::parse_document(&body);
    let link = page.select(&ARTICLE_LINK).next();
    let href = link.and_then(|a| a.value().attr("href"));
    let href = href.ok_or("no <h3><a href> on the planet page")?;
    // The link may be relative: we resolve it as a browser would.
    let article = base_url(&page, url).join(href)?;

    let page = Html::parse_document(&get(client, &article, log)?.1);
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

// COPY FROM listings/ch04-scraper/02-sequential/src/main.rs
/// An error and the errors that caused it, on one line.
fn cause(e: &(dyn Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(e) = source {
        line = format!("{line}: {e}");
        source = e.source();
    }
    line
}

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

fn run(args: Vec<String>) -> Result<bool, BoxError> {
    // With no arguments, we scrape the book's own planet server.
    let server;
    let planets = if args.is_empty() {
        let listener = planet_server::listener()?;
        server = planet_server::start(listener, Default::default())?;
        parse_planets(&server.planet_urls())?
    } else {
        parse_planets(&args)?
    };
    let client = client(TIMEOUT, &[]);
    let start = Instant::now();
    let rows = scrape(&client, &planets, &Log::new());
    for row in &rows {
        println!("{row}");
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("{} planet(s) in {seconds:.2} s", rows.len());
    Ok(rows.iter().all(|row| row.found.is_ok()))
}

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
    use std::net::TcpListener;

    fn server(planets: usize, ms: u64, faults: Vec<(usize, Fault)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
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

    /// Checks that each row is the one `server` expects.
    fn check_rows(server: &Server, rows: &[Row]) {
        assert_eq!(rows.len(), server.planet_urls().len());
        for (p, row) in rows.iter().enumerate() {
            assert_eq!(row.planet, format!("{}/planet/{p}", server.base));
            let (article, title) = server.expected(p);
            let expected = Ok(Found { article, title });
            assert_eq!(row.found, expected, "planet {p}: {:?}", row.found);
        }
    }

    #[test]
    fn every_row_is_the_expected_one() {
        let server = server(10, 0, (1..).zip(KNOBS).collect());
        let log = Log::new();
        let rows = scrape(&client(TIMEOUT, &[]), &urls(&server), &log);
        check_rows(&server, &rows);
        // Two requests a planet: ureq follows a redirect inside one.
        assert_eq!(log.requests().len(), 20);
    }

    #[test]
    fn https_with_a_certificate_we_were_told_to_trust() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let config = Config {
            planets: 10,
            latency: Duration::ZERO,
            seed: 7,
            faults: (1..).zip(KNOBS).collect(),
        };
        let server = planet_server::start_tls(listener, config).unwrap();
        let der = server.certificate.as_ref().unwrap().der().to_vec();
        let rows =
            scrape(&client(TIMEOUT, &[der]), &urls(&server), &Log::new());
        check_rows(&server, &rows);
        // Without it, the server is one nobody vouches for.
        let rows = scrape(&client(TIMEOUT, &[]), &urls(&server), &Log::new());
        for row in rows {
            let error = row.found.unwrap_err();
            assert!(error.contains("UnknownIssuer"), "{error}");
        }
    }

    #[test]
    fn each_fault_is_reported_with_its_cause() {
        use Fault::*;
        let faults = [
            (NotFound, "404 Not Found"),
            (ServerError, "500 Internal Server Error"),
            (NoArticleLink, "no <h3><a href> on the planet page"),
            (RedirectLoop, "too many redirects"),
            (NoTitle, "no <title>"),
            (CutShort, "Peer disconnected"),
            (NeverFinishes, "timeout: global"),
            (TooLarge, "body larger than 1048576 bytes"),
            (Trickle, "timeout: global"),
            (NotUtf8, "the body is not valid UTF-8"),
        ];
        let by_planet = faults.iter().enumerate();
        let server = server(11, 0, by_planet.map(|(p, f)| (p, f.0)).collect());
        let client = client(Duration::from_millis(500), &[]);
        let started = Instant::now();
        let rows = scrape(&client, &urls(&server), &Log::new());
        for (row, (fault, cause)) in rows.iter().zip(faults) {
            let error = row.found.as_ref().unwrap_err();
            assert!(error.contains(cause), "{fault:?}: {error}");
        }
        assert!(rows[10].found.is_ok(), "the others still complete");
        // The trickle, a minute long, was cut at 500 ms.
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn bodies_are_decoded_as_browsers_decode_them() {
        /// A `Content-Type`, a body, and the text or part of the error.
        type Case = (
            Option<&'static str>,
            &'static [u8],
            Result<&'static str, &'static str>,
        );
        // KOI8-R's 0x9e is a middle dot, and windows-1252's, the default,
        // is `ž`: each case below gives another text if its rule is not
        // followed.
        let cases: [Case; 10] = [
            // The header's charset, however it is written,
            (Some("text/html; Charset=\"KOI8-R\""), b"\x9e", Ok("\u{b7}")),
            (Some("text/html;charset=koi8-r;q=1"), b"\x9e", Ok("\u{b7}")),
            // then a `<meta>`, in either of its forms,
            (None, b"<meta charset=koi8-r>\x9e", Ok("\u{b7}")),
            (
                None,
                b"<meta http-equiv=content-type content='charset=koi8-r'>\x9e",
                Ok("\u{b7}"),
            ),
            // then UTF-8 if it is UTF-8, else windows-1252.
            (None, "caf\u{e9}".as_bytes(), Ok("caf\u{e9}")),
            (None, b"\x93q\x94", Ok("\u{201c}q\u{201d}")),
            // A byte-order mark overrules the header.
            (
                Some("text/html; charset=koi8-r"),
                b"\xef\xbb\xbf\xc3\xa9",
                Ok("\u{e9}"),
            ),
            // A `<meta>` that says UTF-16 means UTF-8; x-user-defined
            // means windows-1252.
            (None, b"<meta charset=utf-16>\xc3\xa9", Ok("\u{e9}")),
            (None, b"<meta charset=x-user-defined>\x9e", Ok("\u{17e}")),
            // Declared UTF-8, and it is not.
            (
                Some("text/html; charset=utf-8"),
                b"\xff",
                Err("not valid UTF-8"),
            ),
        ];
        for (content_type, body, expected) in cases {
            let decoded = decode(content_type, body);
            match (decoded, expected) {
                // The text after the last `>`: the `<meta>` is not text.
                (Ok(text), Ok(want)) => {
                    let text = text.rsplit('>').next().unwrap();
                    assert_eq!(text, want, "{body:?}");
                }
                (Err(e), Err(part)) => assert!(e.contains(part), "{e}"),
                (decoded, _) => panic!("{body:?}: {decoded:?}"),
            }
        }
        // A label browsers refuse to decode with (`replacement`).
        let refused = decode(Some("text/html; charset=iso-2022-kr"), b"x");
        assert!(refused.unwrap_err().contains("refuse"));
    }

    #[test]
    fn a_refused_connection_is_an_error_row() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr();
        let url = format!("http://{}/planet/0", port.unwrap());
        let client = client(TIMEOUT, &[]);
        let rows =
            scrape(&client, &parse_planets(&[url]).unwrap(), &Log::new());
        let error = rows[0].found.as_ref().unwrap_err();
        assert!(error.contains("Connection refused"), "{error}");
    }

    #[test]
    fn bad_arguments_are_refused() {
        let args = ["http://127.0.0.1/".to_string(), "planet".to_string()];
        assert!(parse_planets(&args).unwrap_err().contains("`planet`"));
        let ftp = ["ftp://127.0.0.1/".to_string()];
        assert!(parse_planets(&ftp).unwrap_err().contains("not an http"));
        assert!(run(vec!["nonsense".to_string()]).is_err());
    }

    #[test]
    fn the_planets_overlap() {
        // 10 planets, 100 ms each way: 2 x 10 x 100 ms = 2 s in a row.
        let server = server(10, 100, vec![]);
        let client = client(TIMEOUT, &[]);
        let started = Instant::now();
        let rows = scrape(&client, &urls(&server), &Log::new());
        let ratio = started.elapsed().as_secs_f64() / 2.0;
        assert!(rows.iter().all(|row| row.found.is_ok()));
        // Two round trips (0.1 of 2 s) at best; well under 2 s anyway.
        assert!((0.1..0.4).contains(&ratio), "{ratio}");
    }
}
