//! The price of contention (chapter 2): the six ways to count of the
//! contention listing, benchmarked by criterion. The code measured is the
//! listing's own file, compiled here through `#[path]`, so the book's code
//! and the measured code cannot drift apart.
//!
//! Each way returns the time its counting took, from the first worker's
//! start (all released together) to the complete count; that is what the
//! main series time. Two more series time the racy and the Mutex versions
//! the way the article did, from the first spawn to the last join.
//! A last series records the share of increments the racy version lost in
//! the very runs that were timed.

#[path = "../../listings/ch02-locks/05-contention/src/counters.rs"]
#[allow(dead_code)]
mod counters;

use crate::micro::{Mode, run_group};
use crate::results::{Machine, Point, Results};
use criterion::BenchmarkId;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Increments per measurement, split evenly between the threads, as in the
/// article's 100 threads x 1000 increments.
pub const TOTAL: u64 = 100_000;
pub const THREADS: [usize; 5] = [1, 2, 4, 8, 100];

pub const RACY: &str = "racy load/store";
pub const MUTEX: &str = "Mutex";
pub const ATOMIC: &str = "atomic fetch_add";
pub const PER_THREAD: &str = "per-thread counts";
pub const OWNER: &str = "owner thread + channel";
pub const TASKS: &str = "cooperative tasks";
/// The racy and Mutex versions timed from the first spawn to the last
/// join, as the article timed them.
pub const RACY_WHOLE: &str = "racy, spawn to join";
pub const MUTEX_WHOLE: &str = "Mutex, spawn to join";
/// Threads that do nothing, spawned and joined the same way: what the
/// two series above pay before they count anything.
pub const EMPTY_WHOLE: &str = "no counting, spawn to join";
/// The share of the racy version's increments that were lost, in percent.
pub const RACY_LOST: &str = "racy: increments lost";

type Way = fn(usize, u64) -> counters::Tally;

pub const WAYS: [(&str, Way); 6] = [
    (RACY, counters::racy),
    (MUTEX, counters::mutex),
    (ATOMIC, counters::atomic),
    (PER_THREAD, counters::per_thread),
    (OWNER, counters::owner),
    (TASKS, counters::tasks),
];

/// Spawns and joins `threads` threads that do nothing, as the article's
/// versions spawn and join theirs; `_per_thread` is ignored.
fn empty_as_the_article(threads: usize, _per_thread: u64) -> counters::Tally {
    let span = counters::spawned_and_joined(threads, || ());
    counters::Tally {
        count: 0,
        time: span.end - span.start,
    }
}

const WHOLE: [(&str, Way); 3] = [
    (RACY_WHOLE, counters::racy_as_the_article),
    (MUTEX_WHOLE, counters::mutex_as_the_article),
    (EMPTY_WHOLE, empty_as_the_article),
];

/// The Mutex way run by run, outside criterion, on one thread and on two,
/// alternately: each run's time per increment, and for two threads how
/// much of the run both spent counting (0: one after the other; 1: side by
/// side all along). The time and overlap series hold the runs in the same
/// order.
pub const PAIR_TIME: &str = "2-thread Mutex runs: time per increment";
pub const PAIR_OVERLAP: &str = "2-thread Mutex runs: overlap";
pub const ALONE_TIME: &str = "1-thread Mutex runs: time per increment";
/// How many runs of each, in full mode.
pub const PAIR_RUNS: usize = 200;
/// The overlap above which two threads count "side by side".
pub const SIDE_BY_SIDE: f64 = 0.9;

/// One run of the listing's Mutex loop on `threads` threads through the
/// listing's `on_threads`, with each thread's own start and end recorded:
/// its time per increment, and the share of the run during which every
/// thread was counting.
fn mutex_run(threads: usize, per_thread: u64) -> (f64, f64) {
    let counter = std::sync::Mutex::new(0u64);
    let (runs, span) = counters::on_threads(threads, || {
        let began = Instant::now();
        for _ in 0..per_thread {
            *counter.lock().unwrap() += 1;
        }
        (began, Instant::now())
    });
    let last_start = runs.iter().map(|r| r.0).max().unwrap_or(span.start);
    let first_end = runs.iter().map(|r| r.1).min().unwrap_or(span.end);
    let all = span.end - span.start;
    let both = first_end.saturating_duration_since(last_start);
    let ns = all.as_nanos() as f64 / (threads as u64 * per_thread) as f64;
    (ns, both.as_secs_f64() / all.as_secs_f64().max(1e-12))
}

/// The runs with two threads whose overlap makes them "side by side".
pub fn side_by_side(r: &Results) -> Option<Vec<f64>> {
    let time = &r.point(PAIR_TIME, 2)?.samples;
    let overlap = &r.point(PAIR_OVERLAP, 2)?.samples;
    Some(
        time.iter()
            .zip(overlap)
            .filter(|(_, o)| **o > SIDE_BY_SIDE)
            .map(|(t, _)| *t)
            .collect(),
    )
}

/// The series in the order the table shows them.
pub const SERIES: [&str; 10] = [
    RACY,
    MUTEX,
    ATOMIC,
    PER_THREAD,
    OWNER,
    TASKS,
    RACY_WHOLE,
    MUTEX_WHOLE,
    EMPTY_WHOLE,
    RACY_LOST,
];

pub fn measure(mode: Mode) -> Results {
    // Per thread count: the share lost by each criterion sample of the
    // racy version (criterion calls the routine once per sample, after
    // its warm-up calls; the last `samples` calls are the samples).
    let lost: RefCell<BTreeMap<u64, Vec<f64>>> = RefCell::default();
    let mut points = run_group(mode, "contention", &SERIES, |g| {
        for (name, way) in WAYS {
            for threads in THREADS {
                let per_thread = TOTAL / threads as u64;
                let expected = per_thread * threads as u64;
                g.bench_with_input(
                    BenchmarkId::new(name, threads),
                    &threads,
                    |b, &t| {
                        b.iter_custom(|iters| {
                            let mut time = Duration::ZERO;
                            let mut counted = 0;
                            for _ in 0..iters {
                                let tally = way(t, per_thread);
                                time += tally.time;
                                counted += tally.count;
                            }
                            if name == RACY {
                                let all = expected * iters;
                                let share = (all - counted) as f64 / all as f64;
                                lost.borrow_mut()
                                    .entry(t as u64)
                                    .or_default()
                                    .push(100.0 * share);
                            }
                            time
                        })
                    },
                );
            }
        }
        for (name, way) in WHOLE {
            for threads in THREADS {
                let per_thread = TOTAL / threads as u64;
                g.bench_with_input(
                    BenchmarkId::new(name, threads),
                    &threads,
                    |b, &t| {
                        b.iter_custom(|iters| {
                            (0..iters).map(|_| way(t, per_thread).time).sum()
                        })
                    },
                );
            }
        }
    });
    // Per increment, so that thread counts compare.
    for p in &mut points {
        let increments = (TOTAL / p.x) * p.x;
        for s in &mut p.samples {
            *s /= increments as f64;
        }
    }
    for (x, shares) in lost.into_inner() {
        let keep = shares.len().min(mode.samples());
        points.push(Point {
            series: RACY_LOST.into(),
            x,
            samples: shares[shares.len() - keep..].to_vec(),
            runs: 0,
        });
    }
    let runs = match mode {
        Mode::Full => PAIR_RUNS,
        Mode::Quick => PAIR_RUNS / 4,
    };
    let (mut alone, mut pairs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        alone.push(mutex_run(1, TOTAL).0);
        pairs.push(mutex_run(2, TOTAL / 2));
    }
    let series = [
        (ALONE_TIME, 1, alone),
        (PAIR_TIME, 2, pairs.iter().map(|p| p.0).collect()),
        (PAIR_OVERLAP, 2, pairs.iter().map(|p| p.1).collect()),
    ];
    for (name, x, samples) in series {
        points.push(Point {
            series: name.into(),
            x,
            samples,
            runs: 0,
        });
    }
    Results {
        bench: "contention".into(),
        machine: Machine::this(),
        mode: mode.name().into(),
        method: format!(
            "criterion 0.8, {} samples per point; a sample is the mean, over \
             the runs criterion makes, of one run's time divided by its \
             {TOTAL} increments (split evenly over the threads or tasks). \
             A run's time is its counting: from the first worker's start, \
             all released together once every thread exists (they wait \
             awake, yielding, not asleep), to the complete count, thread \
             start and join left out. The \"spawn to join\" series time \
             the racy and Mutex counters as the article did: each thread \
             counts as soon as it is spawned, and the time runs from before \
             the first spawn to after the last join; \"no counting\" \
             spawns and joins threads that do nothing, the same way. \
             \"Increments lost\" is the share of the racy version's \
             increments missing from its counts in the runs of each sample. \
             Criterion sizes its iterations on the time returned, so the \
             benchmark runs longer than its nominal time. Apart from \
             criterion, {runs} runs of the Mutex way on 1 thread and \
             {runs} on 2, alternately, record each run's time per increment \
             and, on 2 threads, the share of the run during which both were \
             counting",
            mode.samples()
        ),
        unit: "ns".into(),
        points,
    }
}
