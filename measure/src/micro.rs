//! Micro-benchmarks, run with criterion: spawning threads and tasks,
//! handing a message back and forth, and the ways to count of chapter 2.
//! Criterion takes the samples; we read every sample back from the files
//! it writes (`<target>/criterion/<group>/.../new/sample.json`), so the
//! tables show the spread, not only an estimate.

use crate::results::{Machine, Point, Results};
use criterion::{BenchmarkId, Criterion, SamplingMode};
use serde_json::Value;
use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Quick,
    Full,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Quick => "quick",
            Mode::Full => "full",
        }
    }

    fn criterion(self) -> Criterion {
        let (samples, warm, measure) = match self {
            Mode::Quick => (10, 200, 800),
            Mode::Full => (30, 1000, 4000),
        };
        Criterion::default()
            .sample_size(samples)
            .warm_up_time(Duration::from_millis(warm))
            .measurement_time(Duration::from_millis(measure))
            .without_plots()
    }

    pub(crate) fn samples(self) -> usize {
        match self {
            Mode::Quick => 10,
            Mode::Full => 30,
        }
    }
}

/// Criterion's output directory for a group, found as criterion 0.8 finds
/// it (`Criterion::default`): `$CRITERION_HOME`, else `criterion/` in the
/// target directory, which `$CARGO_TARGET_DIR` names or else cargo
/// reports.
fn group_dir(group: &str) -> PathBuf {
    static HOME: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let home = HOME.get_or_init(|| {
        if let Some(home) = std::env::var_os("CRITERION_HOME") {
            return PathBuf::from(home);
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let mut cmd = cargo_metadata::MetadataCommand::new();
                if let Some(cargo) = std::env::var_os("CARGO") {
                    cmd.cargo_path(cargo);
                }
                cmd.manifest_path(crate::root().join("Cargo.toml"))
                    .no_deps()
                    .other_options(vec!["--offline".to_string()])
                    .exec()
                    .expect("cargo metadata, for criterion's directory")
                    .target_directory
                    .into_std_path_buf()
            });
        target.join("criterion")
    });
    home.join(group)
}

/// Every point of a finished group, per-iteration times in nanoseconds.
fn harvest(group: &str) -> Vec<Point> {
    let mut points = Vec::new();
    let mut stack = vec![group_dir(group)];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() && entry.file_name() != "base" {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n == "benchmark.json")
                && p.parent().is_some_and(|d| d.ends_with("new"))
            {
                points.push(read_point(p.parent().unwrap()));
            }
        }
    }
    points
}

fn read_point(dir: &Path) -> Point {
    let read = |f: &str| -> Value {
        serde_json::from_str(&fs::read_to_string(dir.join(f)).unwrap()).unwrap()
    };
    let id = read("benchmark.json");
    let sample = read("sample.json");
    let nums = |v: &Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let iters = nums(&sample["iters"]);
    let times = nums(&sample["times"]);
    Point {
        series: id["function_id"].as_str().unwrap().to_string(),
        x: id["value_str"].as_str().unwrap().parse().unwrap(),
        samples: times.iter().zip(&iters).map(|(t, i)| t / i).collect(),
        runs: 0,
    }
}

/// Runs one criterion group and collects its samples, in the order the
/// series were declared.
pub(crate) fn run_group(
    mode: Mode,
    group: &str,
    series_order: &[&str],
    define: impl FnOnce(
        &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    ),
) -> Vec<Point> {
    let _ = fs::remove_dir_all(group_dir(group));
    let mut c = mode.criterion();
    let mut g = c.benchmark_group(group);
    g.sampling_mode(SamplingMode::Flat);
    define(&mut g);
    g.finish();
    let mut points = harvest(group);
    // Reading another directory than criterion wrote finds nothing: say so
    // rather than return no points.
    assert!(
        !points.is_empty(),
        "no criterion samples under {}: criterion wrote them elsewhere",
        group_dir(group).display()
    );
    points.sort_by_key(|p| {
        let s = series_order.iter().position(|s| *s == p.series);
        (s.unwrap_or(usize::MAX), p.x)
    });
    points
}

// ---- spawn and join -----------------------------------------------------

pub const THREADS: &str = "OS threads";
pub const TASKS_MT: &str = "tokio tasks, multi-thread runtime";
pub const TASKS_CT: &str = "tokio tasks, current-thread runtime";
pub const POOL_JOBS: &str = "jobs on a pool, one thread per core";

#[path = "../../listings/ch01-threads/no-listing-02-thread-pool/src/pool.rs"]
#[allow(dead_code)]
mod pool;

/// Hands `n` jobs to the pool and waits until every one has run.
fn run_on_pool(pool: &pool::Pool, n: u64) {
    let (done, finished) = crossbeam::channel::unbounded();
    for i in 0..n {
        let done = done.clone();
        pool.execute(move || done.send(black_box(i)).unwrap());
    }
    drop(done);
    for _ in finished {}
}

fn spawn_threads(n: u64) {
    let handles: Vec<_> = (0..n)
        .map(|i| thread::spawn(move || black_box(i)))
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

fn spawn_tasks(rt: &tokio::runtime::Runtime, n: u64) {
    rt.block_on(async {
        let handles: Vec<_> = (0..n)
            .map(|i| tokio::spawn(async move { black_box(i) }))
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    });
}

pub fn spawn(mode: Mode) -> Results {
    let mt = tokio::runtime::Runtime::new().unwrap();
    let ct = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let pool = pool::Pool::new(cores).expect("the pool's threads");
    let thread_ns = [10, 100, 1_000, 10_000];
    let task_ns = [10, 100, 1_000, 10_000, 100_000];
    let order = [THREADS, TASKS_MT, TASKS_CT, POOL_JOBS];
    let points = run_group(mode, "spawn", &order, |g| {
        for n in thread_ns {
            g.bench_with_input(BenchmarkId::new(THREADS, n), &n, |b, &n| {
                b.iter(|| spawn_threads(n))
            });
        }
        for n in task_ns {
            g.bench_with_input(BenchmarkId::new(TASKS_MT, n), &n, |b, &n| {
                b.iter(|| spawn_tasks(&mt, n))
            });
            g.bench_with_input(BenchmarkId::new(TASKS_CT, n), &n, |b, &n| {
                b.iter(|| spawn_tasks(&ct, n))
            });
            g.bench_with_input(BenchmarkId::new(POOL_JOBS, n), &n, |b, &n| {
                b.iter(|| run_on_pool(&pool, n))
            });
        }
    });
    Results {
        bench: "spawn".into(),
        machine: Machine::this(),
        mode: mode.name().into(),
        method: format!(
            "criterion 0.8, {} samples per point; a sample is the mean time \
             to spawn N and then join all N (threads: std::thread::spawn, \
             join; tasks: tokio::spawn inside block_on, await each handle; \
             pool: the book's pool of one thread per core, each job sending \
             on a channel that the caller drains), the runtime and the pool \
             built once beforehand",
            mode.samples()
        ),
        unit: "ns".into(),
        points,
    }
}

// ---- hand-off -----------------------------------------------------------

pub const PINGPONG_CROSSBEAM: &str = "two threads, crossbeam channels";
pub const PINGPONG_STD: &str = "two threads, std mpsc channels";
pub const PINGPONG_CT: &str = "two tasks, current-thread runtime";
pub const PINGPONG_MT: &str = "two tasks, multi-thread runtime";

/// `iters` round trips between this thread and an echo thread, over a
/// pair of channels made by `channel`.
fn pingpong_threads<S, R>(
    iters: u64,
    channel: fn() -> (S, R),
    send: fn(&S, u64) -> bool,
    recv: fn(&R) -> Option<u64>,
) -> Duration
where
    S: Send + 'static,
    R: Send + 'static,
{
    let (to_echo, echo_rx) = channel();
    let (to_main, main_rx) = channel();
    let echo = thread::spawn(move || {
        while let Some(v) = recv(&echo_rx) {
            if !send(&to_main, v) {
                break;
            }
        }
    });
    let start = Instant::now();
    for i in 0..iters {
        assert!(send(&to_echo, i));
        black_box(recv(&main_rx).unwrap());
    }
    let elapsed = start.elapsed();
    drop(to_echo);
    echo.join().unwrap();
    elapsed
}

fn pingpong_crossbeam(iters: u64) -> Duration {
    use crossbeam::channel::{Receiver, Sender, bounded};
    pingpong_threads(
        iters,
        || bounded::<u64>(1),
        |s: &Sender<u64>, v| s.send(v).is_ok(),
        |r: &Receiver<u64>| r.recv().ok(),
    )
}

fn pingpong_std(iters: u64) -> Duration {
    use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
    pingpong_threads(
        iters,
        || sync_channel::<u64>(1),
        |s: &SyncSender<u64>, v| s.send(v).is_ok(),
        |r: &Receiver<u64>| r.recv().ok(),
    )
}

fn pingpong_tasks(rt: &tokio::runtime::Runtime, iters: u64) -> Duration {
    use tokio::sync::mpsc;
    rt.block_on(async {
        let (to_echo, mut echo_rx) = mpsc::channel::<u64>(1);
        let (to_main, mut main_rx) = mpsc::channel::<u64>(1);
        let echo = tokio::spawn(async move {
            while let Some(v) = echo_rx.recv().await {
                to_main.send(v).await.unwrap();
            }
        });
        // The pinging side is a task too, so both ends are scheduled the
        // same way on either runtime.
        let ping = tokio::spawn(async move {
            let start = Instant::now();
            for i in 0..iters {
                to_echo.send(i).await.unwrap();
                black_box(main_rx.recv().await.unwrap());
            }
            start.elapsed()
        });
        let elapsed = ping.await.unwrap();
        echo.await.unwrap();
        elapsed
    })
}

/// How often the main thread parks in the kernel per round trip, over
/// each channel between threads: the voluntary context switches it makes
/// during 100 000 round trips, divided by their number. `None` where the
/// count cannot be read (see `sys::thread_voluntary_switches`).
pub fn handoff_parking(mode: Mode) -> Option<Results> {
    const TRIPS: u64 = 100_000;
    let runs = if mode == Mode::Quick { 5 } else { 15 };
    type PingPong = fn(u64) -> Duration;
    let channels: [(&str, PingPong); 2] = [
        (PINGPONG_CROSSBEAM, pingpong_crossbeam),
        (PINGPONG_STD, pingpong_std),
    ];
    let mut points = Vec::new();
    // A thread's context switches, or the reason there are none to read.
    let switches = || match crate::sys::thread_voluntary_switches() {
        Ok(n) => Some(n),
        Err(e) => {
            eprintln!("handoff-parking cannot run here: {e}");
            None
        }
    };
    for (series, pingpong) in channels {
        let mut samples = Vec::new();
        for _ in 0..runs {
            let before = switches()?;
            pingpong(TRIPS);
            let after = switches()?;
            samples.push(after.saturating_sub(before) as f64 / TRIPS as f64);
        }
        points.push(Point {
            series: series.into(),
            x: 2,
            samples,
            runs: 0,
        });
    }
    Some(Results {
        bench: "handoff-parking".into(),
        machine: Machine::this(),
        mode: mode.name().into(),
        method: format!(
            "the round trips of the hand-off benchmark, {TRIPS} per run, \
             {runs} runs per channel; a sample is the number of voluntary \
             context switches the main thread made in one run (from \
             /proc/thread-self/status), divided by the round trips: how \
             often it parked in the kernel to wait for a reply"
        ),
        unit: "per".into(),
        points,
    })
}

pub fn handoff(mode: Mode) -> Results {
    let mt = tokio::runtime::Runtime::new().unwrap();
    let ct = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let order = [PINGPONG_CROSSBEAM, PINGPONG_STD, PINGPONG_CT, PINGPONG_MT];
    let points = run_group(mode, "handoff", &order, |g| {
        g.bench_with_input(
            BenchmarkId::new(PINGPONG_CROSSBEAM, 2),
            &2,
            |b, _| b.iter_custom(pingpong_crossbeam),
        );
        g.bench_with_input(BenchmarkId::new(PINGPONG_STD, 2), &2, |b, _| {
            b.iter_custom(pingpong_std)
        });
        g.bench_with_input(BenchmarkId::new(PINGPONG_CT, 2), &2, |b, _| {
            b.iter_custom(|n| pingpong_tasks(&ct, n))
        });
        g.bench_with_input(BenchmarkId::new(PINGPONG_MT, 2), &2, |b, _| {
            b.iter_custom(|n| pingpong_tasks(&mt, n))
        });
    });
    Results {
        bench: "handoff".into(),
        machine: Machine::this(),
        mode: mode.name().into(),
        method: format!(
            "criterion 0.8, {} samples per point; a sample is the mean time \
             of one round trip (send a number, wait for it to come back) \
             over channels of capacity 1, timed after both ends are running",
            mode.samples()
        ),
        unit: "ns".into(),
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Criterion's samples are read where criterion writes them: a group
    /// of one tiny benchmark, run for real, is found again.
    #[test]
    fn criterion_writes_where_we_read() {
        let points = run_group(Mode::Quick, "self-test", &["sum"], |g| {
            g.bench_function(BenchmarkId::new("sum", 3), |b| {
                b.iter(|| black_box(1u64) + black_box(2u64))
            });
        });
        assert_eq!(points.len(), 1);
        assert_eq!((points[0].series.as_str(), points[0].x), ("sum", 3));
        assert_eq!(points[0].samples.len(), Mode::Quick.samples());
        let _ = fs::remove_dir_all(group_dir("self-test"));
    }
}
