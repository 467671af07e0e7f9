//! The planet scrapers of chapter 4 against the book's planet server: wall
//! time for n planets at 50 ms per response, against the limits of two
//! round trips (2 x latency) and of 2n downloads in a row (2n x latency),
//! and a timeline of every request of one run. The code measured is the
//! listings' own: each `main.rs` is compiled here as a module.

#[path = "../../listings/ch04-scraper/04-reactor/src/main.rs"]
#[allow(dead_code)]
mod reactor;
#[path = "../../listings/ch04-scraper/02-sequential/src/main.rs"]
#[allow(dead_code)]
mod sequential;
#[path = "../../listings/ch04-scraper/03-threads/src/main.rs"]
#[allow(dead_code)]
mod threads;
#[path = "../../listings/ch04-scraper/05-tokio/src/main.rs"]
#[allow(dead_code)]
mod tokio_scraper;

use crate::micro::Mode;
use crate::results::{Machine, Point, Results};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

pub const LATENCY: Duration = Duration::from_millis(50);
pub const SEQUENTIAL: &str = "sequential";
pub const THREADS: &str = "a thread per planet";
pub const REACTOR: &str = "our reactor, one thread";
pub const TOKIO: &str = "tokio tasks";
/// The tokio scraper with the bound its `main` has when not told
/// otherwise (`Limits::default().concurrent`, 100), where `TOKIO` has n.
pub const TOKIO_DEFAULT: &str = "tokio tasks, default bound (100)";
/// What the series of the CPU time of `series` is called.
pub fn cpu(series: &str) -> String {
    format!("{series}: CPU time{CPU_SUFFIX}")
}
/// The end of every CPU-time series' name.
pub const CPU_SUFFIX: &str = " (process)";
const TIMEOUT: Duration = Duration::from_secs(30);

/// A listener on 127.0.0.1 whose queue of connections waiting to be
/// accepted holds `backlog` (std's `bind` asks for 128: a thousand
/// scrapers connecting at once would overflow it, and the kernel would
/// make some of them retry, hundreds of milliseconds later).
pub fn listener_with_backlog(backlog: u32) -> TcpListener {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(backlog).unwrap().into_std().unwrap();
        // Blocking, as `TcpListener::bind` leaves it: each server sets the
        // mode it needs.
        listener.set_nonblocking(false).unwrap();
        listener
    })
}

/// A fresh planet server with `n` healthy planets; its planet URLs.
fn server(n: usize) -> (sequential::planet_server::Server, Vec<Url>) {
    // The listener the listings' `main` serves on, backlog and all.
    let listener = sequential::planet_server::listener().unwrap();
    let config = sequential::planet_server::Config {
        planets: n,
        latency: LATENCY,
        ..Default::default()
    };
    let server = sequential::planet_server::start(listener, config).unwrap();
    let urls = server
        .planet_urls()
        .iter()
        .map(|u| Url::parse(u).unwrap())
        .collect();
    (server, urls)
}

/// One run of one scraper: its wall time, the process's CPU time over
/// the same span, and every request's (url, start, end).
type Run = (Duration, Duration, Vec<(String, Duration, Duration)>);

/// Wall time and the process's CPU time, from the same start: both
/// cover the scrape alone, not the server's start or the client's set-up.
struct Stopwatch(Instant, Duration);

impl Stopwatch {
    fn start() -> Stopwatch {
        Stopwatch(Instant::now(), crate::sys::own_cpu())
    }

    fn stop(&self) -> (Duration, Duration) {
        let cpu = crate::sys::own_cpu().saturating_sub(self.1);
        (self.0.elapsed(), cpu)
    }
}

fn check(ok: usize, n: usize, series: &str) {
    assert_eq!(ok, n, "{series}: every planet must be scraped");
}

fn run(series: &str, n: usize) -> Run {
    let (_server, urls) = server(n);
    // The previous run's server ends on a thread of its own, after its
    // `Server` is dropped: give it time, so that its CPU time is not
    // counted in this run's.
    std::thread::sleep(Duration::from_millis(200));
    match series {
        SEQUENTIAL => {
            let client = sequential::client(TIMEOUT, &[]);
            let log = sequential::Log::new();
            let watch = Stopwatch::start();
            let rows = sequential::scrape(&client, &urls, &log);
            let (wall, cpu) = watch.stop();
            check(rows.iter().filter(|r| r.found.is_ok()).count(), n, series);
            (wall, cpu, log.requests())
        }
        THREADS => {
            let client = threads::client(TIMEOUT, &[]);
            let log = threads::Log::new();
            let watch = Stopwatch::start();
            let rows = threads::scrape(&client, &urls, &log);
            let (wall, cpu) = watch.stop();
            check(rows.iter().filter(|r| r.found.is_ok()).count(), n, series);
            (wall, cpu, log.requests())
        }
        REACTOR => {
            let watch = Stopwatch::start();
            let (rows, requests) = reactor::scrape(&urls, n);
            let (wall, cpu) = watch.stop();
            check(rows.iter().filter(|r| r.found.is_ok()).count(), n, series);
            (wall, cpu, requests)
        }
        TOKIO | TOKIO_DEFAULT => {
            let rt = tokio::runtime::Runtime::new().unwrap();
            let concurrent = match series {
                TOKIO => n,
                _ => tokio_scraper::Limits::default().concurrent,
            };
            rt.block_on(async {
                let client = tokio_scraper::client(&[]).unwrap();
                let limits = tokio_scraper::Limits {
                    concurrent,
                    request: TIMEOUT,
                    planet: TIMEOUT,
                    ..Default::default()
                };
                let log = Arc::new(tokio_scraper::Log::new());
                let bar = indicatif::ProgressBar::hidden();
                let watch = Stopwatch::start();
                let rows =
                    tokio_scraper::scrape(&client, &urls, limits, &log, &bar)
                        .await;
                let (wall, cpu) = watch.stop();
                check(
                    rows.iter().filter(|r| r.found.is_ok()).count(),
                    n,
                    series,
                );
                (wall, cpu, log.requests())
            })
        }
        _ => unreachable!("unknown scraper {series}"),
    }
}

pub fn measure(mode: Mode) -> Results {
    let ns: &[usize] = &[10, 50, 200, 1000];
    let mut points = Vec::new();
    for series in [SEQUENTIAL, THREADS, REACTOR, TOKIO, TOKIO_DEFAULT] {
        for &n in ns {
            // Below 100 planets the default bound is no bound at all.
            if series == TOKIO_DEFAULT && n <= 100 {
                continue;
            }
            // 2000 downloads in a row take 100 s: only the full mode waits
            // for them, and only once.
            let runs = match (mode, series, n) {
                (Mode::Quick, SEQUENTIAL, 1000) => continue,
                (Mode::Full, SEQUENTIAL, 1000) => 1,
                (Mode::Quick, SEQUENTIAL, 200) => 1,
                (Mode::Quick, _, _) => 3,
                (Mode::Full, _, _) => 5,
            };
            let mut samples = Vec::new();
            let mut cpu = Vec::new();
            for _ in 0..runs {
                let (wall, cpu_time, _) = run(series, n);
                samples.push(wall.as_nanos() as f64);
                cpu.push(cpu_time.as_nanos() as f64);
            }
            eprintln!("scraper: {series}, n = {n}: {samples:?}, cpu {cpu:?}");
            points.push(Point {
                series: series.into(),
                x: n as u64,
                samples,
                runs: 0,
            });
            points.push(Point {
                series: self::cpu(series),
                x: n as u64,
                samples: cpu,
                runs: 0,
            });
        }
    }
    Results {
        bench: "scraper".into(),
        machine: Machine::this(),
        mode: mode.name().into(),
        method: format!(
            "the listings' scrape functions against the book's planet \
             server in the same process (its listen backlog raised to 4096), \
             {} ms per response, healthy planets; a sample is the wall time of one whole run (all n \
             planets and their first articles), a fresh server per run; \
             the reactor's and tokio's bounds on concurrent planets set to \
             n, and tokio's to its default of 100 in the series that says \
             so; the CPU time covers the same span as the wall time, the \
             scrape alone; {} runs per \
             point ({}), fewer for the slow sequential ones; the CPU time \
             is that of the whole process (scraper and server), from \
             the per-process CPU clock (CLOCK_PROCESS_CPUTIME_ID)",
            LATENCY.as_millis(),
            if mode == Mode::Quick { 3 } else { 5 },
            mode.name()
        ),
        unit: "ns".into(),
        points,
    }
}

/// The timeline: every request of one run at n = 10, sequential and on
/// tokio. Each point is one request: x is its index, the two samples are
/// its start and end, in nanoseconds from the run's start.
pub fn timeline(mode: Mode) -> Results {
    let mut points = Vec::new();
    for series in [SEQUENTIAL, REACTOR, TOKIO] {
        let (_, _, mut requests) = run(series, 10);
        requests.sort_by_key(|r| r.1);
        for (i, (_url, start, end)) in requests.into_iter().enumerate() {
            points.push(Point {
                series: series.into(),
                x: i as u64,
                samples: vec![start.as_nanos() as f64, end.as_nanos() as f64],
                runs: 0,
            });
        }
    }
    Results {
        bench: "scraper-timeline".into(),
        machine: Machine::this(),
        mode: mode.name().into(),
        method: format!(
            "one run of each scraper over 10 planets at {} ms per response; \
             each request's start and end as the scraper logged them",
            LATENCY.as_millis()
        ),
        unit: "ns".into(),
        points,
    }
}
