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

#[path = "../../../listings/ch02-locks/05-contention/src/counters.rs"]
#[allow(dead_code)]
mod counters;

use crate::bench::{Bench, Mode};
use crate::claim::{Bound, Claim, medians};
use crate::micro::run_group;
use crate::render::{Figure, Line, RANKS, by_series, figure, header};
use crate::render::{series_lines, spread};
use crate::results::{Machine, Point, Results, Unit};
use criterion::BenchmarkId;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

pub const BENCH: Bench = Bench {
    name: "contention",
    run,
    render,
    claims,
    child: None,
};

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

fn run(mode: Mode) -> Option<Results> {
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
        let samples = shares[shares.len() - keep..].to_vec();
        points.push(Point::new(RACY_LOST, x, samples));
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
        points.push(Point::new(name, x, samples));
    }
    Some(Results::new(
        "contention",
        Machine::this(),
        mode,
        format!(
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
        Unit::Ns,
        points,
    ))
}

/// The two-thread Mutex runs, grouped by how much the two threads'
/// counting overlapped.
fn pairs_table(r: &Results) -> String {
    let mut t = header(&r.bench);
    t.push_str("\n\n");
    let (Some(time), Some(overlap), Some(alone)) = (
        r.point(PAIR_TIME, 2),
        r.point(PAIR_OVERLAP, 2),
        r.point(ALONE_TIME, 1),
    ) else {
        return t + "No runs outside criterion were recorded.\n";
    };
    let runs: Vec<(f64, f64)> = time
        .samples
        .iter()
        .copied()
        .zip(overlap.samples.iter().copied())
        .collect();
    t.push_str("| runs of the Mutex way | runs | time per increment |\n");
    t.push_str("|---|---:|---:|\n");
    let _ = writeln!(
        t,
        "| one thread alone | {} | {} |",
        alone.samples.len(),
        spread(Unit::Ns, alone, 1.0)
    );
    let side = format!("{:.0}%", SIDE_BY_SIDE * 100.0);
    let groups = [
        (
            "two threads, one after the other (overlap up to 10%)".into(),
            -1.0,
            0.1,
        ),
        (
            format!("two threads, partly at the same time (10% to {side})"),
            0.1,
            SIDE_BY_SIDE,
        ),
        (
            format!("two threads, side by side (overlap over {side})"),
            SIDE_BY_SIDE,
            2.0,
        ),
    ];
    for (label, lo, hi) in groups {
        let times: Vec<f64> = runs
            .iter()
            .filter(|(_, o)| *o > lo && *o <= hi)
            .map(|(t, _)| *t)
            .collect();
        let cell = if times.is_empty() {
            "none".to_string()
        } else {
            spread(Unit::Ns, &Point::of(times.clone()), 1.0)
        };
        let _ = writeln!(t, "| {label} | {} | {cell} |", times.len());
    }
    let _ = write!(
        t,
        "\n*Machine: {}. Mode: {}. Method: runs outside criterion, one \
         thread and two alternately, each doing {} increments under the \
         listing's Mutex loop, released together by the listing's \
         `on_threads`; overlap is the share of a run during which both \
         threads were counting. Cells: time per increment, median, and \
         below it min–max over the runs. {RANKS}.*\n",
        r.machine.describe(),
        r.mode,
        TOTAL,
    );
    t
}

fn render(r: &Results) -> Vec<(&'static str, String)> {
    let mut main = r.clone();
    let apart = [PAIR_TIME, PAIR_OVERLAP, ALONE_TIME];
    main.points.retain(|p| !apart.contains(&p.series.as_str()));
    let table = by_series(
        &main,
        "way of counting / threads",
        |s| {
            if s == RACY_LOST {
                Unit::Percent
            } else {
                Unit::Ns
            }
        },
        "time per increment (a run's time divided by its \
         increments), median, and below it min–max over the \
         samples; for the lost increments, the share of \
         increments lost",
    );
    let counting: Vec<Line> = series_lines(r, false)
        .into_iter()
        .filter(|(s, _)| WAYS.iter().any(|(w, _)| w == s))
        .collect();
    let figure = figure(
        r,
        Figure {
            title: "Time per increment while counting, by way of counting",
            x_desc: "threads (or tasks)",
            y_desc: "time per increment",
            log_x: true,
            note: "marks: median; bars: min–max over the samples",
        },
        counting,
    );
    vec![
        ("contention-pairs.md", pairs_table(r)),
        ("contention.md", table),
        ("contention.svg", figure),
    ]
}

fn claims() -> Vec<Claim> {
    vec![
        Claim {
            text: "With the article's own setting, 100 threads of 1000 \
                   increments each timed from the first spawn to the last \
                   join, the Mutex version took {ratio} times as long as the \
                   racy one",
            bound: Bound::Below(2.0),
            ratio: |r| medians(r, (MUTEX_WHOLE, 100), (RACY_WHOLE, 100)),
        },
        Claim {
            text: "Spawning and joining 100 threads that count nothing took \
                   {ratio} times as long as the racy version's whole run: \
                   most of that run is starting and joining threads",
            bound: Bound::AtLeast(0.5),
            ratio: |r| medians(r, (EMPTY_WHOLE, 100), (RACY_WHOLE, 100)),
        },
        Claim {
            text: "What the Mutex version's counting added to its run came \
                   to {ratio} times the cost of starting and joining its 100 \
                   threads",
            bound: Bound::Below(1.5),
            ratio: |r| {
                let (m, e) =
                    medians(r, (MUTEX_WHOLE, 100), (EMPTY_WHOLE, 100))?;
                Some((m - e, e))
            },
        },
        Claim {
            text: "In the runs outside criterion, two threads counting side \
                   by side under the Mutex took {ratio} times as long per \
                   increment as one thread alone",
            bound: Bound::AtLeast(1.5),
            ratio: |r| {
                let side = Point::of(side_by_side(r)?);
                if side.samples.is_empty() {
                    return None;
                }
                Some((side.median(), r.point(ALONE_TIME, 1)?.median()))
            },
        },
        Claim {
            text: "With 2 threads, the racy version took {ratio} times as \
                   long per increment as per-thread counts, which share no \
                   cache line",
            bound: Bound::AtLeast(2.0),
            ratio: |r| medians(r, (RACY, 2), (PER_THREAD, 2)),
        },
        Claim {
            text: "With 2 threads, the racy version lost a median {ratio}% \
                   of its increments",
            bound: Bound::CountAtLeast(1.0),
            ratio: |r| Some((r.point(RACY_LOST, 2)?.median(), 1.0)),
        },
        Claim {
            text: "With 100 threads, taking turns on the cores, the racy \
                   version lost a median {ratio}% of its increments",
            bound: Bound::CountBetween(0.0, 5.0),
            ratio: |r| Some((r.point(RACY_LOST, 100)?.median(), 1.0)),
        },
        Claim {
            text: "With 2 threads of 50 000 increments each, the Mutex \
                   version took {ratio} times as long per increment as the \
                   racy one",
            bound: Bound::AtLeast(3.0),
            ratio: |r| medians(r, (MUTEX, 2), (RACY, 2)),
        },
        Claim {
            text: "With 8 threads, the Mutex took {ratio} times as long per \
                   increment as the atomic fetch_add",
            bound: Bound::AtLeast(2.0),
            ratio: |r| medians(r, (MUTEX, 8), (ATOMIC, 8)),
        },
        Claim {
            text: "With 8 threads, the Mutex took {ratio} times as long per \
                   increment as per-thread counts summed at the end",
            bound: Bound::AtLeast(3.0),
            ratio: |r| medians(r, (MUTEX, 8), (PER_THREAD, 8)),
        },
        Claim {
            text: "Per-thread counts, which share nothing, took {ratio} \
                   times as long per increment with 100 threads as with \
                   one: at a hundred threads, taking turns on the cores and \
                   ending threads is most of the time",
            bound: Bound::AtLeast(10.0),
            ratio: |r| medians(r, (PER_THREAD, 100), (PER_THREAD, 1)),
        },
        Claim {
            text: "One cooperative task took {ratio} times as long per \
                   increment as each of 100: the runtime's turn between \
                   rounds is shared by the tasks it wakes",
            bound: Bound::AtLeast(2.0),
            ratio: |r| medians(r, (TASKS, 1), (TASKS, 100)),
        },
        Claim {
            text: "With 8 workers, the cooperative tasks took {ratio} times \
                   as long per increment as the Mutex, in wall-clock time, \
                   with the tasks on one core and the threads on two",
            bound: Bound::AtLeast(1.5),
            ratio: |r| medians(r, (TASKS, 8), (MUTEX, 8)),
        },
        Claim {
            text: "With 100 workers, the cooperative tasks took {ratio} \
                   times as long per increment as the Mutex, in wall-clock \
                   time again",
            bound: Bound::AtLeast(1.2),
            ratio: |r| medians(r, (TASKS, 100), (MUTEX, 100)),
        },
    ]
}
