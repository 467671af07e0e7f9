extern crate rcgen; // `mdbook test` links crates by name
extern crate tokio; // `mdbook test` links crates by name
extern crate tokio_rustls; // `mdbook test` links crates by name

use std::io::Write;
use std::process::ExitCode;

// ANCHOR: main
fn main() -> ExitCode {
    let https = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--https") => true,
        Some(_) => {
            eprintln!("usage: ch04-01-planet-server [--https]");
            return ExitCode::from(2);
        }
    };
    let start = match https {
        true => planet_server::start_tls,
        false => planet_server::start,
    };
    let config = planet_server::Config::default();
    let planets = config.planets;
    let server = match planet_server::listener()
        .and_then(|listener| start(listener, config))
    {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: cannot start the planet server: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{planets} planets at {}/ (Ctrl-C to stop)", server.base);
    if let Some(certificate) = &server.certificate {
        // For clients to trust: `curl --cacert FILE URL`. A new file: one
        // that someone else left at that name is not ours to write.
        let name = format!("planet-server-{}.pem", std::process::id());
        let file = std::env::temp_dir().join(name);
        let written = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file)
            .and_then(|mut f| f.write_all(certificate.pem().as_bytes()));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
        println!("its certificate: {}", file.display());
    }
    // The server runs on its own thread; this one only keeps the
    // process alive until Ctrl-C ends it.
    loop {
        std::thread::park();
    }
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

    // ANCHOR: start
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
    // ANCHOR_END: start

    // ANCHOR: tls
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
    // ANCHOR_END: tls

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

    // ANCHOR: serve
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
    // ANCHOR_END: serve

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
            // ANCHOR: faults
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
            // ANCHOR_END: faults
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

#[cfg(test)]
mod tests {
    use super::planet_server::{self, Config, Fault, Server};
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    fn server(latency_ms: u64, faults: Vec<(usize, Fault)>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let latency = Duration::from_millis(latency_ms);
        let config = Config {
            planets: 10,
            latency,
            seed: 4,
            faults,
        };
        planet_server::start(listener, config).unwrap()
    }

    /// A connection to `server`, whose reads and writes give up after
    /// `wait`.
    fn connect(server: &Server, wait: Duration) -> TcpStream {
        let addr = server.base.trim_start_matches("http://");
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(wait)).unwrap();
        stream.set_write_timeout(Some(wait)).unwrap();
        stream
    }

    /// Sends `requests` on one connection and returns all that comes back
    /// before the server closes it or one second of silence.
    fn exchange(server: &Server, requests: &str) -> Vec<u8> {
        let mut stream = connect(server, Duration::from_secs(1));
        stream.write_all(requests.as_bytes()).unwrap();
        let mut received = Vec::new();
        let mut buf = [0; 65536];
        while let Ok(n @ 1..) = stream.read(&mut buf) {
            received.extend_from_slice(&buf[..n]);
        }
        received
    }

    fn get(server: &Server, path: &str) -> String {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        );
        String::from_utf8_lossy(&exchange(server, &request)).into_owned()
    }

    fn content_length(response: &str) -> usize {
        let line = response.lines().find(|l| l.starts_with("Content-Length"));
        line.unwrap()[16..].trim().parse().unwrap()
    }

    #[test]
    fn planets_link_to_the_expected_articles() {
        let server = server(0, vec![]);
        for p in 0..3 {
            let page = get(&server, &format!("/planet/{p}"));
            assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
            let (article, title) = server.expected(p);
            let path = &article[server.base.len()..];
            let href = path.replace('&', "&amp;");
            assert!(page.contains(&href[href.find("article").unwrap()..]));
            let page = get(&server, path);
            let title = title.replace('&', "&amp;").replace('\'', "&#39;");
            let title =
                title.replace('"', "&quot;").replace('\u{b7}', "&middot;");
            assert!(
                page.contains(&format!("<title>{title}</title>")),
                "{page}"
            );
        }
        assert!(get(&server, "/planet/10").starts_with("HTTP/1.1 404"));
    }

    #[test]
    fn one_connection_serves_several_requests() {
        let server = server(0, vec![]);
        let requests = "GET /planet/0 HTTP/1.1\r\nHost: x\r\n\r\n\
                        GET /planet/1 HTTP/1.1\r\nConnection: close\r\n\r\n";
        let received = exchange(&server, requests);
        let received = String::from_utf8_lossy(&received);
        assert_eq!(received.matches("HTTP/1.1 200 OK").count(), 2);
    }

    #[test]
    fn latency_does_not_hold_up_other_requests() {
        let server = server(200, vec![]);
        let started = Instant::now();
        std::thread::scope(|s| {
            for p in 0..10 {
                let server = &server;
                s.spawn(move || get(server, &format!("/planet/{p}")));
            }
        });
        // One after the other, that would take 10 x 200 ms.
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(200));
        assert!(elapsed < Duration::from_millis(3 * 200), "{elapsed:?}");
    }

    #[test]
    fn each_fault_shows() {
        use Fault::*;
        let faults = [NotFound, ServerError, NoArticleLink, RedirectLoop];
        let faults = faults.into_iter().enumerate().collect();
        let server = server(0, faults);
        assert!(get(&server, "/planet/0").starts_with("HTTP/1.1 404"));
        assert!(get(&server, "/planet/1").starts_with("HTTP/1.1 500"));
        assert!(!get(&server, "/planet/2").contains("title\"><a"));
        let moved = get(&server, "/planet/3");
        assert!(moved.starts_with("HTTP/1.1 302 Found\r\n"));
        assert!(moved.contains("\r\nLocation: /planet/3\r\n"));

        let faults = [NoTitle, CutShort, NeverFinishes, TooLarge, NotUtf8];
        let server = self::server(0, faults.into_iter().enumerate().collect());
        assert!(!get(&server, "/article/0/0").contains("<title>"));
        assert!(get(&server, "/article/0/1").contains("<title>"));
        for p in [1, 2] {
            let cut = get(&server, &format!("/article/{p}/0"));
            let body = &cut[cut.find("\r\n\r\n").unwrap() + 4..];
            assert!(body.len() < content_length(&cut));
        }
        let large = get(&server, "/article/3/0");
        assert_eq!(content_length(&large), planet_server::TOO_LARGE + 20);
        let raw = exchange(&server, "GET /article/4/0 HTTP/1.0\r\n\r\n");
        assert!(String::from_utf8(raw).is_err());
    }

    #[test]
    fn other_methods_are_refused_with_allow() {
        let server = server(0, vec![]);
        let request = "POST /planet/0 HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        let response = String::from_utf8(exchange(&server, request)).unwrap();
        assert!(response.starts_with("HTTP/1.1 405 "), "{response}");
        assert!(response.contains("\r\nAllow: GET, HEAD\r\n"), "{response}");
        // HEAD: the head of the GET, no body; then the next request.
        let requests = "HEAD /planet/0 HTTP/1.1\r\n\r\n\
                        \r\nGET /planet/0 HTTP/1.1\r\n\
                        Connection: close\r\n\r\n";
        let both =
            String::from_utf8_lossy(&exchange(&server, requests)).into_owned();
        assert_eq!(both.matches("HTTP/1.1 200 OK").count(), 2, "{both}");
        assert_eq!(both.matches("<!DOCTYPE html>").count(), 1, "{both}");
    }

    /// A request line that never ends: the server stops reading at 8 KiB
    /// and closes, instead of keeping all that comes.
    #[test]
    fn an_endless_request_line_is_cut_off() {
        let server = server(0, vec![]);
        let mut stream = connect(&server, Duration::from_secs(5));
        let t = Instant::now();
        let chunk = [b'a'; 64 * 1024];
        // Once the server has closed, a write fails (a reset).
        let mut sent = 0;
        while sent < 64 << 20 && stream.write_all(&chunk).is_ok() {
            sent += chunk.len();
        }
        // What the kernels' buffers hold on loopback, a few MiB, and not
        // what the server read: it stopped at 8 KiB.
        assert!(sent < 16 << 20, "the server took {sent} bytes");
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest); // Closed, or reset.
        assert!(rest.is_empty());
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    /// A header value in Latin-1 (obs-text), which HTTP allows.
    #[test]
    fn header_bytes_that_are_not_utf8_are_served() {
        let server = server(0, vec![]);
        let mut stream = connect(&server, Duration::from_secs(5));
        let request = b"GET /planet/0 HTTP/1.1\r\nX-Name: M\xfcller\r\n\
                        Connection: close\r\n\r\n";
        stream.write_all(request).unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));
    }

    #[test]
    fn the_web_as_it_is_shows() {
        use Fault::*;
        let knobs = [Chunked, Windows1252, MetaCharset, UpperCase, EarlyHints];
        let server = server(0, knobs.into_iter().enumerate().collect());
        let chunked = get(&server, "/planet/0");
        assert!(chunked.contains("\r\nTransfer-Encoding: Chunked\r\n"));
        assert!(!chunked.contains("Content-Length"));
        assert!(chunked.contains("\r\n\r\n3E8;planet=1\r\n<!DOCTYPE"));
        assert!(chunked.ends_with("\r\n0\r\n\r\n"), "{chunked}");
        assert!(get(&server, "/article/0/0").contains("Chunked"));
        // HTTP/1.0 knows no chunks: a length instead.
        let old = exchange(&server, "GET /planet/0 HTTP/1.0\r\n\r\n");
        let old = String::from_utf8(old).unwrap();
        assert!(content_length(&old) > 0 && !old.contains("Chunked"));

        let raw = |path: &str| {
            let request = format!("GET {path} HTTP/1.0\r\n\r\n");
            exchange(&server, &request)
        };
        let has = |haystack: &[u8], needle: &[u8]| {
            haystack.windows(needle.len()).any(|w| w == needle)
        };
        let cp1252 = raw("/article/1/0");
        assert!(has(
            &cp1252,
            b"Content-Type: text/html; charset=windows-1252"
        ));
        assert!(has(&cp1252, b" \xb7 ") && has(&cp1252, b"charset=\"utf-8"));
        let koi8 = raw("/article/2/0");
        assert!(has(&koi8, b"Content-Type: text/html\r\n"));
        assert!(has(&koi8, b"content=\"text/html; charset=KOI8-R\""));
        assert!(has(&koi8, b" \x9e "));

        assert!(
            get(&server, "/planet/3").contains("<H3 CLASS=\"title\"><A HREF")
        );
        assert!(get(&server, "/article/3/0").contains("<TITLE>"));

        let hints = get(&server, "/planet/4");
        assert!(hints.starts_with("HTTP/1.1 103 Early Hints\r\n"), "{hints}");
        assert!(hints.contains("\r\n\r\nHTTP/1.1 200 OK\r\n"), "{hints}");
        // HTTP/1.0 knows no interim responses either.
        let old = String::from_utf8(raw("/planet/4")).unwrap();
        assert!(old.starts_with("HTTP/1.1 200 OK\r\n"), "{old}");
    }

    /// The hint comes before the server's think time, the page after.
    #[test]
    fn early_hints_come_early() {
        let server = server(400, vec![(0, Fault::EarlyHints)]);
        let mut stream = connect(&server, Duration::from_secs(5));
        let started = Instant::now();
        stream.write_all(b"GET /planet/0 HTTP/1.1\r\n\r\n").unwrap();
        let mut buf = [0; 1024];
        let n = stream.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 103 Early Hints\r\n"));
        assert!(started.elapsed() < Duration::from_millis(300));
        let n = stream.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
        assert!(started.elapsed() >= Duration::from_millis(400));
    }

    #[test]
    fn a_moved_planet_with_a_relative_base() {
        let server = server(0, vec![(5, Fault::MovedBase)]);
        let moved = get(&server, "/planet/5");
        assert!(moved.starts_with("HTTP/1.1 301 "));
        assert!(moved.contains("\r\nLocation: /moved/planet/5\r\n"));
        let page = get(&server, "/moved/planet/5");
        assert!(page.contains("<base href=\"../based/\">"));
        let (article, _) = server.expected(5);
        assert!(article.ends_with("/moved/based/article/5/0"));
        let article = get(&server, &article[server.base.len()..]);
        assert!(article.starts_with("HTTP/1.1 200 OK"));
    }

    /// A TLS client on std's blocking socket, trusting `roots`.
    fn get_tls(
        server: &Server,
        roots: &[&rcgen::Certificate],
    ) -> Result<String, std::io::Error> {
        use tokio_rustls::rustls;
        let mut store = rustls::RootCertStore::empty();
        for root in roots {
            store.add(root.der().clone()).unwrap();
        }
        let provider = rustls::crypto::ring::default_provider();
        let config =
            rustls::ClientConfig::builder_with_provider(provider.into())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(store)
                .with_no_client_auth();
        let name = "127.0.0.1".try_into().unwrap();
        let mut tls =
            rustls::ClientConnection::new(config.into(), name).unwrap();
        let addr = server.base.trim_start_matches("https://");
        let mut socket = TcpStream::connect(addr)?;
        let mut stream = rustls::Stream::new(&mut tls, &mut socket);
        stream.write_all(
            b"GET /planet/1 HTTP/1.1\r\nConnection: close\r\n\r\n",
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    }

    #[test]
    fn https_with_a_certificate_made_on_the_spot() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = planet_server::start_tls(listener, Default::default());
        let server = server.unwrap();
        assert!(server.base.starts_with("https://127.0.0.1:"));
        let certificate = server.certificate.as_ref().unwrap();
        let page = get_tls(&server, &[certificate]).unwrap();
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        // `read_to_string` ended without error: a clean `close_notify`.
        assert!(page.ends_with("</html>\n"));
        // A certificate nobody vouches for is refused.
        let other = rcgen::generate_simple_self_signed(["127.0.0.1".into()]);
        let error = get_tls(&server, &[&other.unwrap().cert]).unwrap_err();
        let refused = error.to_string().contains("invalid peer certificate");
        assert!(refused, "{error}");
    }
}
