//! The planet scrapers of chapter 4 against the book's planet server: wall
//! time for n planets at 50 ms per response, against the limits of two
//! round trips (2 x latency) and of 2n downloads in a row (2n x latency).
//! The code measured is the listings' own: each `main.rs` is compiled
//! here as a module. `scraper_timeline` draws one run's requests.

#[path = "../../../listings/ch04-scraper/04-reactor/src/main.rs"]
#[allow(dead_code)]
mod reactor;
#[path = "../../../listings/ch04-scraper/02-sequential/src/main.rs"]
#[allow(dead_code)]
mod sequential;
#[path = "../../../listings/ch04-scraper/03-threads/src/main.rs"]
#[allow(dead_code)]
mod threads;
#[path = "../../../listings/ch04-scraper/05-tokio/src/main.rs"]
#[allow(dead_code)]
mod tokio_scraper;

use crate::bench::{Bench, Mode};
use crate::claim::{Bound, Claim, medians};
use crate::render::spread;
use crate::render::trim_zeros;
use crate::render::{Line, Panel, fmt_tick, fmt_value, footer, header};
use crate::render::{metric_lines, series_lines};
use crate::results::{Machine, Metric, Point, Results, Unit};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

pub const BENCH: Bench = Bench {
    name: "scraper",
    run: |mode| Some(measure(mode)),
    render,
    claims,
    child: None,
};

pub const LATENCY: Duration = Duration::from_millis(50);
pub const SEQUENTIAL: &str = "sequential";
pub const THREADS: &str = "a thread per planet";
pub const REACTOR: &str = "our reactor, one thread";
pub const TOKIO: &str = "tokio tasks";
/// The tokio scraper with the bound its `main` has when not told
/// otherwise (`Limits::default().concurrent`, 100), where `TOKIO` has n.
pub const TOKIO_DEFAULT: &str = "tokio tasks, default bound (100)";
/// The CPU time of the whole process (scraper and server) during a run.
pub const CPU: Metric = Metric {
    name: "CPU time (process)",
    unit: Unit::Ns,
};
const TIMEOUT: Duration = Duration::from_secs(30);

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

pub(crate) fn scrape_once(series: &str, n: usize) -> Run {
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

fn measure(mode: Mode) -> Results {
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
                let (wall, cpu_time, _) = scrape_once(series, n);
                samples.push(wall.as_nanos() as f64);
                cpu.push(cpu_time.as_nanos() as f64);
            }
            eprintln!("scraper: {series}, n = {n}: {samples:?}, cpu {cpu:?}");
            points.push(Point::new(series, n as u64, samples));
            points.push(Point::metric(series, CPU, n as u64, cpu));
        }
    }
    Results::new(
        "scraper",
        Machine::this(),
        mode,
        format!(
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
        Unit::Ns,
        points,
    )
}

/// Two tables, a row per scraper and a column per n: the wall times, with
/// the two limits in the last rows, then the CPU times.
fn scraper_table(r: &Results) -> String {
    let mut t = header(&r.bench);
    t.push_str("\n\n");
    let xs = r.xs();
    let v = |ns: f64| fmt_value(Unit::Ns, ns).replace(' ', "&nbsp;");
    // One row per scraper, one column per n: the table stays four numbers
    // wide, whatever the number of scrapers.
    let table = |t: &mut String, metric: Option<Metric>| {
        let heads: Vec<String> =
            xs.iter().map(|x| format!("n = {x}")).collect();
        let _ = writeln!(t, "| scraper | {} |", heads.join(" | "));
        let _ = writeln!(t, "|---|{}", "---:|".repeat(xs.len()));
        for s in r.series() {
            let mut row = format!("| {s} |");
            for &x in &xs {
                let point = match metric {
                    None => r.point(&s, x),
                    Some(m) => r.metric(&s, m, x),
                };
                let cell = match point {
                    Some(p) => spread(r.unit, p, 1.0),
                    None => "not measured".into(),
                };
                let _ = write!(row, " {cell} |");
            }
            row.push('\n');
            t.push_str(&row);
        }
        if metric.is_none() {
            let limit = |name: &str, f: &dyn Fn(f64) -> f64| {
                let cells: Vec<String> =
                    xs.iter().map(|&x| v(f(x as f64))).collect();
                format!("| *{name}* | {} |\n", cells.join(" | "))
            };
            t.push_str(&limit("limit: 2 × latency", &|_| 2.0 * lat()));
            t.push_str(&limit("limit: 2n × latency", &|n| 2.0 * n * lat()));
        }
    };
    t.push_str("Wall time of a whole run:\n\n");
    table(&mut t, None);
    t.push_str(
        "\nCPU time of the whole process (scraper and server) \
                during the same runs:\n\n",
    );
    table(&mut t, Some(CPU));
    t.push_str(&footer(r, "median, and below it min–max over the runs"));
    t
}

fn render(r: &Results) -> Vec<(&'static str, String)> {
    let lat = lat();
    let concurrent: Vec<Line> = series_lines(r, false)
        .into_iter()
        .filter(|(s, _)| s != SEQUENTIAL && s != TOKIO_DEFAULT)
        .map(|(s, pts)| {
            let per = |v: f64| v / (2.0 * lat);
            let pts = pts
                .iter()
                .map(|&(x, m, lo, hi)| (x, per(m), per(lo), per(hi)));
            (s, pts.collect())
        })
        .collect();
    let sequential: Vec<Line> = series_lines(r, false)
        .into_iter()
        .filter(|(s, _)| s == SEQUENTIAL || s == TOKIO_DEFAULT)
        .collect();
    let bound = tokio_scraper::Limits::default().concurrent;
    let linear = r.xs().into_iter().map(|x| (x as f64, 2.0 * x as f64 * lat));
    let bounded = r.xs().into_iter().filter(|&x| x > bound as u64).map(|x| {
        // No more than `bound` planets in flight, each two round trips
        // long: at least ⌈n / bound⌉ × two round trips.
        (x as f64, 2.0 * (x as f64 / bound as f64).ceil() * lat)
    });
    let limits = vec![
        (
            "limit: 2n × latency (2n downloads in a row)".to_string(),
            linear.collect(),
        ),
        (
            format!("limit: ⌈n / {bound}⌉ × 2 × latency ({bound} in flight)"),
            bounded.collect(),
        ),
    ];
    let cpu = metric_lines(r, CPU);
    let ratio = |v: f64| trim_zeros(format!("{v:.1}×"));
    let time = |v: f64| fmt_tick(Unit::Ns, v);
    let panels = vec![
        Panel {
            title: "All planets at once: wall time in units of 2 × 50 ms (1× is the least)",
            x_desc: "n planets",
            y_desc: "wall time ÷ (2 × 50 ms)",
            log_x: true,
            log_y: false,
            y_label: &ratio,
            lines: concurrent,
            limits: Vec::new(),
        },
        Panel {
            title: "Sequential, and tokio with its default bound on planets in flight",
            x_desc: "n planets",
            y_desc: "wall time",
            log_x: true,
            log_y: true,
            y_label: &time,
            lines: sequential,
            limits,
        },
        Panel {
            title: "CPU time of the whole process (scraper and server) during a run",
            x_desc: "n planets",
            y_desc: "CPU time",
            log_x: true,
            log_y: false,
            y_label: &time,
            lines: cpu,
            limits: Vec::new(),
        },
    ];
    let figure = crate::render::panels(
        r,
        panels,
        "marks: median; bars: min–max over the runs",
    );
    vec![("scraper.md", scraper_table(r)), ("scraper.svg", figure)]
}

fn lat() -> f64 {
    LATENCY.as_nanos() as f64
}

fn claims() -> Vec<Claim> {
    vec![
        Claim {
            text: "With 200 planets, the tokio scraper took {ratio} times \
                   the time of two round trips (2 × latency)",
            bound: Bound::Below(1.3),
            ratio: |r| Some((r.point(TOKIO, 200)?.median(), 2.0 * lat())),
        },
        Claim {
            text: "With 1000 planets, the tokio scraper took {ratio} times \
                   the time of two round trips",
            bound: Bound::Below(2.0),
            ratio: |r| Some((r.point(TOKIO, 1000)?.median(), 2.0 * lat())),
        },
        Claim {
            text: "With 200 planets, the scraper on our own reactor, all on \
                   one thread, took {ratio} times the time of two round trips",
            bound: Bound::Below(1.4),
            ratio: |r| Some((r.point(REACTOR, 200)?.median(), 2.0 * lat())),
        },
        Claim {
            text: "With 1000 planets, the scraper on our own reactor took \
                   {ratio} times the time of two round trips",
            bound: Bound::Below(2.5),
            ratio: |r| Some((r.point(REACTOR, 1000)?.median(), 2.0 * lat())),
        },
        Claim {
            text: "With 1000 planets, the process used {ratio} times as much \
                   CPU time during the runs on our reactor as during the \
                   tokio runs",
            bound: Bound::Below(1.5),
            ratio: |r| {
                let ours = r.metric(REACTOR, CPU, 1000)?.median();
                let theirs = r.metric(TOKIO, CPU, 1000)?.median();
                Some((ours, theirs))
            },
        },
        Claim {
            text: "With 1000 planets, the scraper on our one-thread reactor \
                   took {ratio} times as long as the tokio scraper",
            bound: Bound::Below(2.0),
            ratio: |r| medians(r, (REACTOR, 1000), (TOKIO, 1000)),
        },
        Claim {
            text: "With 200 planets, the scraper with a thread per planet \
                   took {ratio} times the time of two round trips",
            bound: Bound::Below(1.5),
            ratio: |r| Some((r.point(THREADS, 200)?.median(), 2.0 * lat())),
        },
        Claim {
            text: "With 1000 planets, the scraper with a thread per planet \
                   took {ratio} times the time of two round trips",
            bound: Bound::Below(5.0),
            ratio: |r| Some((r.point(THREADS, 1000)?.median(), 2.0 * lat())),
        },
        Claim {
            text: "With 1000 planets and its default bound of 100 planets at \
                   a time, the tokio scraper took {ratio} times the time of \
                   ten times two round trips (20 × latency), the least \
                   that bound allows",
            bound: Bound::Between(1.0, 1.5),
            ratio: |r| {
                Some((r.point(TOKIO_DEFAULT, 1000)?.median(), 20.0 * lat()))
            },
        },
        Claim {
            text: "With 200 planets, the sequential scraper took {ratio} \
                   times the time of 2n downloads in a row (2n × latency)",
            bound: Bound::Below(1.05),
            ratio: |r| {
                Some((r.point(SEQUENTIAL, 200)?.median(), 400.0 * lat()))
            },
        },
    ]
}
