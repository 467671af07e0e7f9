//! The rendered book, checked in a real browser: a headless Chromium,
//! driven over the DevTools protocol by `chromiumoxide`, opens every
//! page of a built book (as `file://` URLs: nothing is served) and
//! reports what a reader would run into.
//!
//! - Every page, at 1280 px and at a phone's 390 px, with its `<details>`
//!   opened: no console error, no uncaught exception, no resource that
//!   fails to load, no request that leaves the machine, every image
//!   loaded, and nothing in the text column, the menu bar or the page
//!   arrows overflowing sideways. At 1280 px nothing may even scroll
//!   sideways inside its own box; on the phone, code blocks and tables
//!   may (an 80-column listing cannot fit 390 px), nothing else may.
//! - In each of mdBook's themes, chosen from its menu and rendered: the
//!   contrast of listing captions, file names, the "does not compile"
//!   label, prose, links, inline code and the base colour of code blocks,
//!   measured as WCAG 2 defines it, at least [`MIN_CONTRAST`] : 1.
//! - The search box: each term finds something, and each of the first
//!   [`RESULTS_OPENED`] results opens a page whose section (the heading
//!   it names, up to the next heading of its level) contains the term.
//! - `print.html`: every page's headings (`h1` to `h3`) are among its
//!   own, in order, and Chromium prints it to a PDF of at least one page
//!   per chapter page.
//! - Every link and `#fragment` resolves ([`crate::links::broken`]).
//!
//! A screenshot of every page at both widths, and the PDF, go to a
//! folder for a person to look at. `404.html` is left out: its links are
//! absolute paths for a web server's root, which `file://` cannot follow.
//! `toc.html` is the sidebar for readers without JavaScript, shown inside
//! each page; it is not opened on its own.

use chromiumoxide::cdp::browser_protocol::browser::GetBrowserCommandLineParams;
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::log::{
    EventEntryAdded, LogEntryLevel,
};
use chromiumoxide::cdp::browser_protocol::network::EventRequestWillBeSent;
use chromiumoxide::cdp::browser_protocol::page::{
    AddScriptToEvaluateOnNewDocumentParams, CaptureScreenshotFormat,
    CaptureScreenshotParams, PrintToPdfParams, Viewport,
};
use chromiumoxide::cdp::js_protocol::runtime::{
    ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown,
    RemoteObject,
};
use chromiumoxide::detection::{DetectionOptions, default_executable};
use chromiumoxide::{Browser, BrowserConfig, Page};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// mdBook's themes, by the names its theme menu uses.
pub const THEMES: [&str; 5] = ["light", "rust", "coal", "navy", "ayu"];

/// The lowest contrast accepted: WCAG 2's level AA for text of body size.
pub const MIN_CONTRAST: f64 = 4.5;

/// The windows each page is opened in: width, height, and whether the
/// browser behaves as a phone's (the page's `viewport` meta tag applies).
pub const WINDOWS: [(u32, u32, bool); 2] =
    [(1280, 800, false), (390, 844, true)];

/// The search results opened per term (mdBook lists up to 30).
pub const RESULTS_OPENED: usize = 5;

/// How long any one step may take before the check gives up on it.
const STEP: Duration = Duration::from_secs(60);

/// Where a Chromium was found, as chromiumoxide finds one: `$CHROME`,
/// then the usual names on the `PATH` (`chrome`, `google-chrome-stable`,
/// `chromium`, `chromium-browser`, Edge's), then a few fixed places (the
/// registry on Windows, the usual apps on macOS, `/opt` folders on
/// Linux); `Err` says why none was.
///
/// Some of those places are folders (chromiumoxide accepts anything that
/// exists); a folder is not a browser, so it counts as none found.
pub fn find_chrome() -> Result<PathBuf, String> {
    let path = default_executable(DetectionOptions::default())?;
    if path.is_dir() {
        return Err(format!("{} is a folder, not a browser", path.display()));
    }
    Ok(path)
}

/// One headless Chromium with one page, and the console errors that page
/// has logged and nobody has read yet. Its methods block: the browser's
/// connection runs on a runtime of its own. Once a step has timed out,
/// every later step fails at once: the page is no longer trusted.
pub struct Chrome {
    page: Page,
    console: Arc<Mutex<Vec<String>>>,
    browser: Browser,
    hung: AtomicBool,
    _profile: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

fn err(e: impl std::fmt::Display) -> String {
    format!("{e:#}")
}

impl Chrome {
    /// Starts the Chromium at `path` with a fresh, throw-away profile.
    ///
    /// Its sandbox is off: the browser opens only the book's own files,
    /// and the sandbox cannot start as root or in many containers.
    pub fn launch(path: &Path) -> Result<Chrome, String> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(err)?;
        let profile = tempfile::tempdir().map_err(err)?;
        let config = BrowserConfig::builder()
            .chrome_executable(path)
            .no_sandbox()
            .user_data_dir(profile.path())
            .window_size(WINDOWS[0].0, WINDOWS[0].1)
            .viewport(None)
            .request_timeout(STEP)
            .launch_timeout(STEP)
            // chromiumoxide adds the leading `--` itself (given one, it
            // would pass `----name`, which Chromium ignores).
            .arg("disable-component-update")
            .arg("no-default-browser-check")
            // Every host name fails to resolve at once, and no proxy is
            // used: a request that would leave the machine is still seen
            // (and reported), but waits for no network.
            .arg(("host-resolver-rules", "MAP * ~NOTFOUND"))
            .arg("no-proxy-server")
            .build()?;
        let console = Arc::new(Mutex::new(Vec::new()));
        let (browser, page) = rt.block_on(async {
            let (browser, mut handler) =
                Browser::launch(config).await.map_err(err)?;
            tokio::spawn(
                async move { while handler.next().await.is_some() {} },
            );
            // The flags must have reached Chromium as flags: on a machine
            // without DNS a remote host fails to resolve either way, so
            // the self-test alone cannot tell.
            let line = browser
                .execute(GetBrowserCommandLineParams {})
                .await
                .map_err(err)?;
            let want = "--host-resolver-rules=MAP * ~NOTFOUND";
            if !line.result.arguments.iter().any(|a| a == want) {
                return Err(format!(
                    "Chromium did not get {want}: {:?}",
                    line.result.arguments
                ));
            }
            let page = browser.new_page("about:blank").await.map_err(err)?;
            // chromiumoxide enables both already; the check relies on them.
            page.enable_log().await.map_err(err)?;
            page.enable_runtime().await.map_err(err)?;
            // print.html asks for the print dialog as soon as it loads,
            // and a pending print makes Chromium refuse to print to PDF.
            page.evaluate_on_new_document(
                AddScriptToEvaluateOnNewDocumentParams::new(
                    "window.print = () => { window.__bookPrintAsked = true; };",
                ),
            )
            .await
            .map_err(err)?;
            collect(&page, &console).await?;
            Ok::<_, String>((browser, page))
        })?;
        Ok(Chrome {
            page,
            console,
            browser,
            hung: AtomicBool::new(false),
            _profile: profile,
            rt,
        })
    }

    /// Runs `f` on the browser's runtime, for at most [`STEP`].
    fn run<T>(
        &self,
        f: impl Future<Output = Result<T, String>>,
    ) -> Result<T, String> {
        if self.hung.load(Ordering::Relaxed) {
            return Err("skipped: the browser stopped answering".into());
        }
        self.rt.block_on(async {
            match tokio::time::timeout(STEP, f).await {
                Ok(r) => r,
                Err(_) => {
                    self.hung.store(true, Ordering::Relaxed);
                    Err(format!("no answer in {STEP:?}"))
                }
            }
        })
    }

    /// Sizes the window: `width` × `height` CSS pixels, one device pixel
    /// each, as a phone's browser if `mobile`.
    pub fn window(
        &self,
        width: u32,
        height: u32,
        mobile: bool,
    ) -> Result<(), String> {
        let params =
            SetDeviceMetricsOverrideParams::new(width, height, 1.0, mobile);
        self.run(async {
            self.page.execute(params).await.map(|_| ()).map_err(err)
        })
    }

    /// Opens `url` and waits until it has loaded, fonts included, with
    /// every `<details>` opened. Returns what the console logged after
    /// the previous page was last read (late errors of that page).
    pub fn open(&self, url: &Url) -> Result<Vec<String>, String> {
        let mut bare = url.clone();
        bare.set_fragment(None);
        self.rt.block_on(async {
            tokio::time::sleep(Duration::from_millis(20)).await
        });
        let late = std::mem::take(&mut *self.console.lock().unwrap());
        self.run(async {
            let here = self.page.url().await.map_err(err)?.unwrap_or_default();
            if here.split('#').next() == Some(bare.as_str()) {
                // Only the fragment differs: the browser would not load
                // the page again, so leave it first.
                self.page.goto("about:blank").await.map_err(err)?;
            }
            self.page.goto(url.as_str()).await.map_err(err)?;
            Ok(())
        })?;
        self.eval::<bool>(
            "(async () => {
                if (document.readyState !== 'complete') {
                    await new Promise((r) => addEventListener('load', r, { once: true }));
                }
                await document.fonts.ready;
                return true;
            })()",
        )?;
        self.run(async {
            let script = include_str!("browser.js");
            self.page
                .evaluate_expression(script)
                .await
                .map(|_| ())
                .map_err(err)
        })?;
        // What the opened <details> show may need fonts of its own.
        self.eval::<bool>(
            "(async () => {
                __book.openDetails();
                document.body.offsetHeight; // lay out what they show
                await document.fonts.ready;
                return true;
            })()",
        )?;
        Ok(late)
    }

    /// Evaluates a JavaScript expression (a promise is awaited) and reads
    /// its value.
    pub fn eval<T: DeserializeOwned>(&self, expr: &str) -> Result<T, String> {
        self.run(async {
            let result =
                self.page.evaluate_expression(expr).await.map_err(err)?;
            result.into_value().map_err(|e| {
                format!("`{}`: {e}", expr.chars().take(60).collect::<String>())
            })
        })
    }

    /// The console errors, uncaught exceptions, failed loads and requests
    /// that left the machine, logged since the console was last read.
    /// What arrives later is returned by the next [`Chrome::open`].
    pub fn console(&self) -> Vec<String> {
        // Events arrive on the connection's own task; give the last ones
        // a moment.
        self.rt.block_on(async {
            tokio::time::sleep(Duration::from_millis(20)).await
        });
        std::mem::take(&mut *self.console.lock().unwrap())
    }

    /// Waits a quarter of a second (and the 20 ms of [`Chrome::console`])
    /// and reports, against `last` (the page open), what the console
    /// logged since it was last read: no later page will open to collect
    /// it.
    fn settle(&self, last: &str, report: &mut Report) {
        self.rt.block_on(async {
            tokio::time::sleep(Duration::from_millis(250)).await
        });
        report.late(last, self.console());
    }

    /// A JPEG of the whole page, as wide as the window (encoding a PNG of
    /// a long page takes several times as long).
    ///
    /// Not chromiumoxide's `full_page` screenshot: it resizes the window
    /// to the page, as a desktop's, and then drops the window's size, so
    /// the phone's window would be lost after the first page.
    pub fn screenshot(&self, to: &Path) -> Result<(), String> {
        let (width, height): (f64, f64) = self.eval(
            "[document.documentElement.clientWidth, document.scrollingElement.scrollHeight]",
        )?;
        let params = CaptureScreenshotParams {
            format: Some(CaptureScreenshotFormat::Jpeg),
            quality: Some(85),
            clip: Some(Viewport {
                x: 0.0,
                y: 0.0,
                width,
                height,
                scale: 1.0,
            }),
            from_surface: Some(true),
            capture_beyond_viewport: Some(true),
            optimize_for_speed: Some(true),
        };
        let data =
            self.run(async { self.page.execute(params).await.map_err(err) })?;
        let jpeg = base64::Engine::decode(
            &base64::prelude::BASE64_STANDARD,
            &data.result.data,
        )
        .map_err(err)?;
        std::fs::write(to, jpeg).map_err(err)
    }

    /// The page printed by Chromium, as a PDF.
    pub fn pdf(&self) -> Result<Vec<u8>, String> {
        self.run(async {
            self.page
                .pdf(PrintToPdfParams::default())
                .await
                .map_err(err)
        })
    }

    /// Clicks the element `selector` names, as a mouse would.
    fn click(&self, selector: &str) -> Result<(), String> {
        self.run(async {
            let el = self.page.find_element(selector).await.map_err(err)?;
            el.click().await.map(|_| ()).map_err(err)
        })
    }

    /// Clicks the element `selector` names, which gives it the focus, and
    /// types `text` with key events.
    fn type_into(&self, selector: &str, text: &str) -> Result<(), String> {
        self.run(async {
            let el = self.page.find_element(selector).await.map_err(err)?;
            el.click().await.map_err(err)?;
            el.type_str(text).await.map(|_| ()).map_err(err)
        })
    }
}

impl Drop for Chrome {
    /// Closes the browser and waits for its process (at most 10 s), so
    /// that the profile is removed after Chromium is done with it;
    /// chromiumoxide kills the process when it is dropped in any case.
    fn drop(&mut self) {
        let _ = self.rt.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), async {
                let _ = self.browser.close().await;
                let _ = self.browser.wait().await;
            })
            .await
        });
    }
}

/// Collects into `console` what a reader's console would show as an
/// error on `page`, and each request that leaves the machine (nothing in
/// the book may need the network).
async fn collect(
    page: &Page,
    console: &Arc<Mutex<Vec<String>>>,
) -> Result<(), String> {
    let mut log = page
        .event_listener::<EventEntryAdded>()
        .await
        .map_err(err)?;
    let mut calls = page
        .event_listener::<EventConsoleApiCalled>()
        .await
        .map_err(err)?;
    let mut thrown = page
        .event_listener::<EventExceptionThrown>()
        .await
        .map_err(err)?;
    let mut requests = page
        .event_listener::<EventRequestWillBeSent>()
        .await
        .map_err(err)?;
    let sink = Arc::clone(console);
    tokio::spawn(async move {
        loop {
            let line = tokio::select! {
                Some(e) = log.next() => (e.entry.level == LogEntryLevel::Error).then(|| {
                    match &e.entry.url {
                        Some(url) => format!("{} ({url})", e.entry.text),
                        None => e.entry.text.clone(),
                    }
                }),
                Some(e) = calls.next() => matches!(
                    e.r#type,
                    ConsoleApiCalledType::Error | ConsoleApiCalledType::Assert
                )
                .then(|| {
                    let args: Vec<String> = e.args.iter().map(show).collect();
                    format!("console.error: {}", args.join(" "))
                }),
                Some(e) = thrown.next() => {
                    let d = &e.exception_details;
                    let what = d.exception.as_ref().map(show).unwrap_or_else(|| d.text.clone());
                    Some(format!("uncaught exception: {what}"))
                }
                Some(e) = requests.next() => {
                    let url = &e.request.url;
                    let local = ["file:", "data:", "about:", "blob:", "chrome"]
                        .iter()
                        .any(|s| url.starts_with(s));
                    (!local).then(|| format!("asks the network for {url}"))
                }
                else => break,
            };
            if let Some(line) = line {
                sink.lock().unwrap().push(line);
            }
        }
    });
    Ok(())
}

/// A console argument as the console would print it.
fn show(o: &RemoteObject) -> String {
    match (&o.value, &o.description) {
        (Some(serde_json::Value::String(s)), _) => s.clone(),
        (Some(v), _) => v.to_string(),
        (None, Some(d)) => d.clone(),
        (None, None) => "?".into(),
    }
}

/// A built book to check.
pub struct Site<'a> {
    /// The folder `mdbook build` wrote.
    pub dir: &'a Path,
    /// Terms the search box must find.
    pub search: &'a [&'a str],
    /// Where to save screenshots and the PDF, if anywhere.
    pub shots: Option<&'a Path>,
}

/// What a check found: `problems` fail the test; `notes` say what was
/// checked and measured.
#[derive(Default)]
pub struct Report {
    pub problems: Vec<String>,
    pub notes: Vec<String>,
}

impl Report {
    /// Console lines that arrived after `whose` page was last read.
    fn late(&mut self, whose: &str, lines: Vec<String>) {
        for line in lines {
            self.problems
                .push(format!("{whose}: console, late: {line}"));
        }
    }
}

#[derive(serde::Deserialize)]
struct Contrast {
    theme: String,
    kind: Option<String>,
    count: Option<usize>,
    min: Option<f64>,
    #[serde(rename = "where")]
    location: Option<String>,
    #[serde(default)]
    errors: Vec<String>,
    error: Option<String>,
}

#[derive(serde::Deserialize)]
struct Section {
    found: bool,
    text: String,
}

/// The pages of the book that a reader opens, in reading order (the
/// order of the table of contents, `toc.html`), then any other: every HTML
/// file but `print.html` (checked on its own), `404.html` and `toc.html`.
pub fn pages(dir: &Path) -> Vec<PathBuf> {
    let toc = std::fs::read_to_string(dir.join("toc.html")).unwrap_or_default();
    let toc = scraper::Html::parse_document(&toc);
    let links = scraper::Selector::parse("a[href]").unwrap();
    let mut order: Vec<PathBuf> = Vec::new();
    for a in toc.select(&links) {
        let href = a.value().attr("href").unwrap_or_default();
        let path = PathBuf::from(href.split('#').next().unwrap_or_default());
        if path.extension().is_some_and(|e| e == "html")
            && !order.contains(&path)
        {
            order.push(path);
        }
    }
    let mut all: Vec<PathBuf> = crate::links::pages(dir)
        .into_iter()
        .filter(|p| {
            !["print.html", "404.html", "toc.html"]
                .iter()
                .any(|skip| p == Path::new(skip))
        })
        .collect();
    all.sort_by_key(|p| {
        order.iter().position(|o| o == p).unwrap_or(usize::MAX)
    });
    all
}

fn url_of(dir: &Path, page: &Path) -> Url {
    Url::from_file_path(dir.join(page)).expect("an absolute path")
}

/// Checks the book built in `site.dir` with the Chromium at `chrome`.
///
/// Two browsers share the work, one per window: the first opens every
/// page at 1280 px, measures contrast in each theme, then prints
/// `print.html`; the second opens every page as a phone, then searches.
pub fn check(chrome: &Path, site: &Site) -> Report {
    let mut report = Report::default();
    let pages = pages(site.dir);
    if pages.is_empty() {
        report
            .problems
            .push(format!("no pages in {}", site.dir.display()));
        return report;
    }
    for broken in crate::links::broken(site.dir) {
        report.problems.push(format!("link: {broken}"));
    }
    // One browser's share of the work, reported on its own.
    let in_a_browser = |work: &(dyn Fn(&Chrome, &mut Report) + Sync)| {
        let mut report = Report::default();
        match Chrome::launch(chrome) {
            Ok(c) => work(&c, &mut report),
            Err(e) => report
                .problems
                .push(format!("{} does not start: {e}", chrome.display())),
        }
        report
    };
    let (wide, phone) = std::thread::scope(|s| {
        let wide = s.spawn(|| {
            in_a_browser(&|c, report| {
                let titles = check_pages(c, site, &pages, WINDOWS[0], report);
                check_print(c, site, &titles, report);
                c.settle("print.html", report);
            })
        });
        let phone = s.spawn(|| {
            in_a_browser(&|c, report| {
                check_pages(c, site, &pages, WINDOWS[1], report);
                check_search(c, site, report);
                c.settle("the last page the search opened", report);
            })
        });
        (wide.join().unwrap(), phone.join().unwrap())
    });
    for r in [wide, phone] {
        report.problems.extend(r.problems);
        report.notes.extend(r.notes);
    }
    report
}

/// Every page in one window; at the wide one, also the themes' contrast
/// and each page's headings (`h1` to `h3`), returned in the order of the
/// pages.
fn check_pages(
    chrome: &Chrome,
    site: &Site,
    pages: &[PathBuf],
    (width, height, mobile): (u32, u32, bool),
    report: &mut Report,
) -> Vec<Vec<String>> {
    let mut titles = Vec::new();
    // (theme, kind) -> (lowest contrast, where, elements measured)
    let mut lowest: BTreeMap<(usize, String), (f64, String, usize)> =
        BTreeMap::new();
    // Where the time goes: opening, measuring, themes, screenshots.
    let mut spent = [Duration::ZERO; 4];
    let mut clock = std::time::Instant::now();
    let mut lap = |i: usize| {
        spent[i] += clock.elapsed();
        clock = std::time::Instant::now();
    };
    if let Err(e) = chrome.window(width, height, mobile) {
        report
            .problems
            .push(format!("cannot size the window to {width} px: {e}"));
        return titles;
    }
    let shots = site.shots.map(|s| s.join(format!("{width}px")));
    if let Some(s) = &shots
        && let Err(e) = std::fs::create_dir_all(s)
    {
        report
            .problems
            .push(format!("cannot make {}: {e}", s.display()));
        return titles;
    }
    let mut previous: Option<String> = None;
    for page in pages {
        let at = format!("{} at {width} px", page.display());
        lap(3);
        match chrome.open(&url_of(site.dir, page)) {
            Ok(late) => {
                let whose = previous.as_deref().unwrap_or("before the pages");
                report.late(whose, late);
            }
            Err(e) => {
                report.problems.push(format!("{at}: does not open: {e}"));
                continue;
            }
        }
        previous = Some(at.clone());
        lap(0);
        let scroll_ok = if mobile {
            "__book.phoneScrollOk"
        } else {
            "(() => false)"
        };
        let found: Result<(Vec<String>, Vec<String>), String> = chrome
            .eval(&format!("[__book.images(), __book.overflow({scroll_ok})]"));
        match found {
            Ok((images, overflow)) => {
                for src in images {
                    report
                        .problems
                        .push(format!("{at}: the image {src} did not load"));
                }
                for o in overflow {
                    report.problems.push(format!("{at}: overflow: {o}"));
                }
            }
            Err(e) => report.problems.push(format!("{at}: {e}")),
        }
        lap(1);
        // The screenshot comes before the themes are tried, in the
        // book's default theme.
        if let Some(s) = &shots {
            let name: Vec<String> = page
                .iter()
                .map(|c| c.to_string_lossy().into_owned())
                .collect();
            let file = s.join(name.join("_")).with_extension("jpg");
            if let Err(e) = chrome.screenshot(&file) {
                report.problems.push(format!("{at}: no screenshot: {e}"));
            }
        }
        lap(3);
        if !mobile {
            let themes = serde_json::to_string(&THEMES).unwrap();
            match chrome
                .eval::<Vec<Contrast>>(&format!("__book.contrast({themes})"))
            {
                Ok(rows) => contrast(&at, rows, &mut lowest, report),
                Err(e) => report.problems.push(format!("{at}: {e}")),
            }
            // index.html repeats the first chapter; print.html has it
            // once.
            if page != Path::new("index.html") {
                match chrome.eval::<Vec<String>>(
                    "__book.headings('main h1, main h2, main h3')",
                ) {
                    Ok(h) if h.is_empty() => {
                        report.problems.push(format!("{at}: no heading"))
                    }
                    Ok(h) => titles.push(h),
                    Err(e) => report.problems.push(format!("{at}: {e}")),
                }
            }
        }
        lap(2);
        for line in chrome.console() {
            report.problems.push(format!("{at}: console: {line}"));
        }
    }
    if let Some(p) = &previous {
        report.late(p, chrome.console());
    }
    lap(3);
    let themes = if mobile {
        String::new()
    } else {
        format!(", themes {:.1?}", spent[2])
    };
    report.notes.push(format!(
        "{} pages at {width} px{}: opening {:.1?}, measuring {:.1?}{themes}, \
         screenshots {:.1?}",
        pages.len(),
        if mobile { " (as a phone)" } else { "" },
        spent[0],
        spent[1],
        spent[3]
    ));
    if mobile {
        return titles;
    }
    let mut table = String::from(
        "lowest contrast per theme (WCAG ratio, at least 4.5 wanted):\n",
    );
    table.push_str(&format!("  {:<20}", ""));
    for t in THEMES {
        table.push_str(&format!("{t:>7}"));
    }
    let kinds: Vec<String> = {
        let mut k: Vec<String> =
            lowest.keys().map(|(_, k)| k.clone()).collect();
        k.sort();
        k.dedup();
        k
    };
    for kind in kinds {
        table.push_str(&format!("\n  {kind:<20}"));
        for t in 0..THEMES.len() {
            match lowest.get(&(t, kind.clone())) {
                Some((min, _, _)) if min.is_finite() => {
                    table.push_str(&format!("{min:>7.2}"))
                }
                _ => table.push_str(&format!("{:>7}", "-")),
            }
        }
        if let Some((_, _, count)) = lowest.get(&(0, kind.clone())) {
            table.push_str(&format!("   ({count} elements)"));
            if *count == 0 {
                report.problems.push(format!(
                    "no {kind} found on any page: its selector in \
                     browser.js may no longer match mdBook's HTML"
                ));
            }
        }
    }
    report.notes.push(table);
    titles
}

fn contrast(
    at: &str,
    rows: Vec<Contrast>,
    lowest: &mut BTreeMap<(usize, String), (f64, String, usize)>,
    report: &mut Report,
) {
    for row in rows {
        let Some(theme) = THEMES.iter().position(|t| *t == row.theme) else {
            report
                .problems
                .push(format!("{at}: unknown theme {}", row.theme));
            continue;
        };
        if let Some(e) = row.error {
            report
                .problems
                .push(format!("{at}, theme {}: {e}", row.theme));
            continue;
        }
        let kind = row.kind.unwrap_or_default();
        for e in row.errors {
            report
                .problems
                .push(format!("{at}, theme {}: {kind}: {e}", row.theme));
        }
        let count = row.count.unwrap_or(0);
        // A kind with nothing on this page still counts towards the book:
        // one that nothing matches anywhere is reported below.
        let min = row.min.unwrap_or(f64::INFINITY);
        let place = row.location.unwrap_or_default();
        if min < MIN_CONTRAST {
            report.problems.push(format!(
                "{at}, theme {}: {kind} contrast {min:.2} < {MIN_CONTRAST}: {place}",
                row.theme
            ));
        }
        let entry = lowest.entry((theme, kind)).or_insert((
            f64::INFINITY,
            String::new(),
            0,
        ));
        entry.2 += count;
        if min < entry.0 {
            entry.0 = min;
            entry.1 = place;
        }
    }
}

/// Types each term into the search box of the first page, then opens the
/// first [`RESULTS_OPENED`] results.
fn check_search(chrome: &Chrome, site: &Site, report: &mut Report) {
    if site.search.is_empty() {
        return;
    }
    let index = url_of(site.dir, Path::new("index.html"));
    for term in site.search {
        let links: Result<Vec<(String, String)>, String> = (|| {
            let late = chrome.open(&index)?;
            let whose = format!("the page before the search for `{term}`");
            report.late(&whose, late);
            chrome.click("#mdbook-search-toggle")?;
            // mdBook loads the index when the search bar first opens.
            chrome.eval::<bool>(
                "(async () => {
                    for (let i = 0; i < 400; i++) {
                        const outer = document.getElementById('mdbook-searchbar-outer');
                        if (window.search && window.search.index
                            && !outer.classList.contains('searching')) return true;
                        await new Promise((r) => setTimeout(r, 50));
                    }
                    throw new Error('the search index did not load in 20 s');
                })()",
            )?;
            chrome.type_into("#mdbook-searchbar", term)?;
            // Results are shown for the whole term once the header names
            // it (mdBook searches again at each key).
            let quoted = serde_json::to_string(&format!("'{term}'")).unwrap();
            chrome.eval(&format!(
                "(async () => {{
                    const header = document.getElementById('mdbook-searchresults-header');
                    for (let i = 0; i < 100 && !header.innerText.includes({quoted}); i++) {{
                        await new Promise((r) => setTimeout(r, 50));
                    }}
                    if (!header.innerText.includes({quoted})) {{
                        throw new Error('no results header for ' + {quoted} + ' in 5 s: ' + header.innerText);
                    }}
                    return [...document.querySelectorAll('#mdbook-searchresults li a')]
                        .map((a) => [a.href, a.textContent]);
                }})()"
            ))
        })();
        for line in chrome.console() {
            report
                .problems
                .push(format!("search for `{term}`: console: {line}"));
        }
        let links = match links {
            Ok(l) => l,
            Err(e) => {
                report.problems.push(format!("search for `{term}`: {e}"));
                continue;
            }
        };
        if links.is_empty() {
            report
                .problems
                .push(format!("search for `{term}` finds nothing"));
            continue;
        }
        report.notes.push(format!(
            "search for `{term}`: {} results, first: {}",
            links.len(),
            links[0].1
        ));
        for (href, label) in links.iter().take(RESULTS_OPENED) {
            let at = format!("search for `{term}`, result \"{label}\"");
            let Ok(url) = Url::parse(href) else {
                report.problems.push(format!("{at}: not a URL: {href}"));
                continue;
            };
            let section = chrome.open(&url).and_then(|late| {
                report.late(&format!("the page before {at}"), late);
                chrome.eval::<Section>("__book.sectionText()")
            });
            match section {
                Err(e) => {
                    report.problems.push(format!("{at}: does not open: {e}"))
                }
                Ok(s) if !s.found => report
                    .problems
                    .push(format!("{at}: {href} names no element of its page")),
                Ok(s)
                    if !s
                        .text
                        .to_lowercase()
                        .contains(&term.to_lowercase()) =>
                {
                    report.problems.push(format!(
                        "{at}: the section {href} opens does not mention it"
                    ))
                }
                Ok(_) => {}
            }
            for line in chrome.console() {
                report.problems.push(format!("{at}: console: {line}"));
            }
        }
    }
}

/// `print.html` holds every page's headings (`h1` to `h3`) in order,
/// loads without error, and prints to a PDF of at least one page per
/// chapter page.
fn check_print(
    chrome: &Chrome,
    site: &Site,
    headings_of_pages: &[Vec<String>],
    report: &mut Report,
) {
    let url = url_of(site.dir, Path::new("print.html"));
    match chrome.open(&url) {
        Ok(late) => report.late("the last page at 1280 px", late),
        Err(e) => {
            report
                .problems
                .push(format!("print.html does not open: {e}"));
            return;
        }
    }
    match chrome.eval::<(Vec<String>, Vec<String>)>(
        "[__book.headings('main h1, main h2, main h3'), __book.images()]",
    ) {
        Ok((headings, images)) => {
            let mut next = 0;
            for heading in headings_of_pages.iter().flatten() {
                match headings[next..].iter().position(|h| h == heading) {
                    Some(i) => next += i + 1,
                    None => report.problems.push(format!(
                        "print.html: no heading \"{heading}\" after its \
                         {next}th, where the pages have one"
                    )),
                }
            }
            for src in images {
                report
                    .problems
                    .push(format!("print.html: the image {src} did not load"));
            }
        }
        Err(e) => report.problems.push(format!("print.html: {e}")),
    }
    match chrome.pdf() {
        Ok(pdf) => {
            let pages = pdf_pages(&pdf);
            let book_pages = headings_of_pages.len();
            report.notes.push(format!(
                "print.html prints to {pages} PDF pages, with every \
                 <details> open"
            ));
            if pages < book_pages {
                report.problems.push(format!(
                    "print.html prints to {pages} pages, fewer than the \
                     book's {book_pages} pages"
                ));
            }
            if let Some(s) = site.shots
                && let Err(e) = std::fs::write(s.join("print.pdf"), &pdf)
            {
                report.problems.push(format!("cannot save print.pdf: {e}"));
            }
        }
        Err(e) => report
            .problems
            .push(format!("print.html does not print: {e}")),
    }
    for line in chrome.console() {
        report.problems.push(format!("print.html: console: {line}"));
    }
}

/// The pages of a PDF as Chromium writes it: its `/Type /Page` objects.
pub fn pdf_pages(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    pdf.windows(needle.len() + 1)
        .filter(|w| {
            w.starts_with(needle) && !w[needle.len()].is_ascii_alphabetic()
        })
        .count()
}
