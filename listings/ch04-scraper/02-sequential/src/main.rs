extern crate reqwest; // `mdbook test` links crates by name
extern crate scraper; // `mdbook test` links crates by name
extern crate tokio; // `mdbook test` links crates by name

use std::error::Error;
use std::fmt;
use std::io::Read;
use std::process::ExitCode;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::blocking::Client;
use scraper::{ElementRef, Html, Selector};

/// Any error, with its cause; `Send` so that threads can return it.
type BoxError = Box<dyn Error + Send + Sync>;

/// We refuse bodies larger than this: a planet page is a few kilobytes.
const MAX_BODY: u64 = 1 << 20;
/// How long one request may take, from connecting to the last byte.
const TIMEOUT: Duration = Duration::from_secs(5);

// ANCHOR: selectors
/// `//h3/a/@href` in the original XPath: a link right inside an `<h3>`.
static ARTICLE_LINK: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("h3 > a[href]").unwrap());
/// `/html/head/title`: the title in the document's head.
static TITLE: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("head > title").unwrap());
// ANCHOR_END: selectors

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

impl Default for Log {
    fn default() -> Log {
        Log::new()
    }
}

/// A client that gives up on a request after `timeout`.
pub fn client(timeout: Duration) -> reqwest::Result<Client> {
    Client::builder().timeout(timeout).build()
}

// ANCHOR: get
/// Downloads `url`: its body, as text.
fn get(
    client: &Client,
    url: &Url,
    log: &Log,
) -> Result<(Url, String), BoxError> {
    let started = log.start.elapsed();
    let deadline = Instant::now() + TIMEOUT;
    let result = (|| {
        let response = client.get(url.clone()).send()?.error_for_status()?;
        let last = response.url().clone(); // After any redirect.
        let mut body = Vec::new();
        // One byte more than we accept tells a full body from a huge one.
        let mut reader = response.take(MAX_BODY + 1);
        let mut buf = [0; 16 * 1024];
        loop {
            // The client's timeout bounds each read, not their sum: a body
            // that trickles in would never end. `TIMEOUT` bounds the sum.
            if Instant::now() > deadline {
                return Err(
                    format!("timed out: over {TIMEOUT:?} in all").into()
                );
            }
            match reader.read(&mut buf)? {
                0 => break,
                n => body.extend_from_slice(&buf[..n]),
            }
        }
        if body.len() as u64 > MAX_BODY {
            return Err(format!("body larger than {MAX_BODY} bytes").into());
        }
        Ok((last, String::from_utf8(body)?))
    })();
    log.record(url, started);
    result
}
// ANCHOR_END: get

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

// ANCHOR: here
/// The first article on `planet`, and its title: two downloads.
pub fn first_article(
    client: &Client,
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

/// Scrapes the planets one after the other.
pub fn scrape(client: &Client, planets: &[Url], log: &Log) -> Vec<Row> {
    let mut rows = Vec::new();
    for planet in planets {
        let found = first_article(client, planet, log);
        let found = found.map_err(|e| cause(&*e));
        rows.push(Row {
            planet: planet.to_string(),
            found,
        });
    }
    rows
}
// ANCHOR_END: here

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

// ANCHOR: main
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
    let client = client(TIMEOUT)?;
    let start = Instant::now();
    let rows = scrape(&client, &planets, &Log::new());
    for row in &rows {
        println!("{row}");
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("{} planet(s) in {seconds:.2} s", rows.len());
    Ok(rows.iter().all(|row| row.found.is_ok()))
}
// ANCHOR_END: main

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

    use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead};
    use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::net::TcpStream;
    use tokio::sync::oneshot;

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
        /// `http://127.0.0.1:PORT`, without a final slash.
        pub base: String,
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
        listener.set_nonblocking(true)?;
        let base = format!("http://{}", listener.local_addr()?);
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
                        _ = accept(listener, site) => {}
                    }
                })
            })?;
        Ok(Server {
            base,
            config,
            _stop: stop,
        })
    }

    async fn accept(listener: std::net::TcpListener, site: Arc<Site>) {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    // An error on one connection ends that connection.
                    tokio::spawn(serve(stream, site.clone()));
                }
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
    }

    /// Serves the requests of one connection, one after the other.
    async fn serve(stream: TcpStream, site: Arc<Site>) -> io::Result<()> {
        let (reader, mut writer) = stream.into_split();
        let mut reader = BufReader::new(reader);
        let idle = Duration::from_secs(30);
        // Between requests a client may keep the connection open, idle.
        while let Ok(Some(request)) =
            tokio::time::timeout(idle, read_request(&mut reader)).await?
        {
            // A timer, not a sleeping thread: other connections go on.
            tokio::time::sleep(site.latency).await;
            let response = site.respond(&request);
            let close = request.close || response.close;
            // One write per response: the head alone would wait for the
            // client's acknowledgment (Nagle's algorithm).
            if request.method == "HEAD" {
                // The head a GET would get, without the body.
                writer.write_all(&response.head(close)).await?;
                if close {
                    break;
                }
                continue;
            }
            writer.write_all(&response.bytes(close)).await?;
            match response.end {
                End::Whole if close => break,
                End::Whole => {}
                End::CutShort => break, // Closes the connection mid-body.
                End::Never => std::future::pending().await, // Never resumes.
                End::Trickle => {
                    for byte in &response.body {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        writer.write_all(&[*byte]).await?;
                    }
                    break;
                }
            }
        }
        Ok(())
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

    /// How a response ends.
    enum End {
        Whole,
        CutShort,
        Never,
        Trickle,
    }

    struct Response {
        status: &'static str,
        location: Option<String>,
        body: Vec<u8>,
        close: bool,
        end: End,
    }

    impl Response {
        fn page(status: &'static str, body: impl Into<Vec<u8>>) -> Response {
            let (location, close, end) = (None, false, End::Whole);
            let body = body.into();
            Response {
                status,
                location,
                body,
                close,
                end,
            }
        }

        /// The head, and as much of the body as we send.
        fn bytes(&self, close: bool) -> Vec<u8> {
            let mut bytes = self.head(close);
            let body = &self.body;
            bytes.extend_from_slice(match self.end {
                End::Whole => body,
                End::CutShort => &body[..body.len() / 2],
                End::Never => &body[..100],
                End::Trickle => &[], // `serve` sends it, slowly.
            });
            bytes
        }

        fn head(&self, close: bool) -> Vec<u8> {
            let mut head = format!(
                "HTTP/1.1 {}\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\n",
                self.status,
                self.body.len()
            );
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
                Some(Fault::BaseHref) => {
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
                    Some(p) if self.fault(p) == Some(Fault::Moved) => {
                        self.planet(p, true)
                    }
                    _ => Self::not_found(),
                },
                ["article", p, a] | ["moved" | "based", "article", p, a] => {
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
                Some(Fault::Moved) if !moved => {
                    let mut r = Response::page("301 Moved Permanently", "");
                    r.location = Some(format!("/moved/planet/{p}"));
                    return r;
                }
                _ => {}
            }
            let topic = self.pick(&TOPICS, p as u64);
            let base = match self.fault(p) {
                Some(Fault::BaseHref) => "<base href=\"/based/\">\n",
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
                let heading = if self.fault(p) == Some(Fault::NoArticleLink) {
                    title.clone()
                } else {
                    format!("<a href=\"{href}\">{title}</a>")
                };
                let _ = write!(
                    page,
                    "<div class=\"entry\">\n<h2 class=\"date\">Day {}</h2>\n\
                     <h3 class=\"title\">{heading}</h3>\n\
                     <p class=\"author\">by <a href=\"/\">{}</a>\n\
                     <div class=\"content\"><p>It starts with <em>one</em> \
                     socket &amp; ends <a href=\"{href}\">here&hellip;</a>\
                     </div>\n</div>\n",
                    p * ARTICLES + a + 1,
                    self.author(p, a),
                );
            }
            page.push_str("</body>\n</html>\n");
            Response::page("200 OK", page)
        }

        fn article(&self, p: usize, a: usize) -> Response {
            let fault = if a == 0 { self.fault(p) } else { None };
            let title = escape(&self.title(p, a));
            let author = self.author(p, a);
            let mut body = b"<!DOCTYPE html>\n<html><head>\n".to_vec();
            body.extend_from_slice(b"<meta charset=\"utf-8\">\n<title>");
            match fault {
                Some(Fault::NoTitle) => body.truncate(body.len() - 7),
                Some(Fault::NotUtf8) => body.extend_from_slice(b"\xff\xfe "),
                _ => {}
            }
            if fault != Some(Fault::NoTitle) {
                let mut rest = format!("{title} &middot; {author}&#39;s blog");
                if fault == Some(Fault::SpreadTitle) {
                    rest = format!("\n    {}\n", rest.replace(' ', "\n    "));
                }
                body.extend_from_slice(rest.as_bytes());
                body.extend_from_slice(b"</title>");
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

    #[test]
    fn every_row_is_the_expected_one() {
        // Planet 1's title spans several lines: its row is one line.
        // Planet 2 has moved, and planet 3 has a `<base href>`: their
        // links are relative to the new URL, and to the base.
        let knobs = [Fault::SpreadTitle, Fault::Moved, Fault::BaseHref];
        let server = server(6, 0, (1..).zip(knobs).collect());
        let log = Log::new();
        let rows = scrape(&client(TIMEOUT).unwrap(), &urls(&server), &log);
        for (p, row) in rows.iter().enumerate() {
            assert_eq!(row.planet, format!("{}/planet/{p}", server.base));
            let (article, title) = server.expected(p);
            assert_eq!(row.found, Ok(Found { article, title }));
        }
        assert_eq!(log.requests().len(), 12);
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
            (CutShort, "end of file before message length reached"),
            (NeverFinishes, "operation timed out"),
            (TooLarge, "body larger than 1048576 bytes"),
            (Trickle, "timed out: over 5s in all"),
            (NotUtf8, "invalid utf-8 sequence"),
        ];
        let by_planet = faults.iter().enumerate();
        let server = server(11, 0, by_planet.map(|(p, f)| (p, f.0)).collect());
        let client = client(Duration::from_millis(500)).unwrap();
        let rows = scrape(&client, &urls(&server), &Log::new());
        for (row, (fault, cause)) in rows.iter().zip(faults) {
            let error = row.found.as_ref().unwrap_err();
            assert!(error.contains(cause), "{fault:?}: {error}");
        }
        assert!(rows[10].found.is_ok(), "the others still complete");
    }

    #[test]
    fn a_refused_connection_is_an_error_row() {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr();
        let url = format!("http://{}/planet/0", port.unwrap());
        let client = client(TIMEOUT).unwrap();
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
    fn time_grows_with_2n_round_trips() {
        // 5 planets, 40 ms each way: 2 x 5 x 40 ms = 400 ms at least.
        let server = server(5, 40, vec![]);
        let client = client(TIMEOUT).unwrap();
        let log = Log::new();
        let started = Instant::now();
        scrape(&client, &urls(&server), &log);
        let ratio = started.elapsed().as_secs_f64() / 0.4;
        assert!((1.0..1.5).contains(&ratio), "{ratio}");
        // No request overlaps the next one.
        let requests = log.requests();
        assert!(requests.windows(2).all(|w| w[0].2 <= w[1].1));
    }
}
