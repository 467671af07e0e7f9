//! The price of contention (chapter 2): the six ways to count of the
//! contention listing, benchmarked by criterion. The code measured is the
//! listing's own file, compiled here through `#[path]`, so the book's code
//! and the measured code cannot drift apart.

#[path = "../../listings/ch02-locks/05-contention/src/counters.rs"]
#[allow(dead_code)]
mod counters;

use crate::micro::{Mode, run_group};
use crate::results::{Machine, Results};
use criterion::BenchmarkId;

/// Increments per measurement, split evenly between the threads, as in the
/// seed's 100 threads x 1000 increments.
pub const TOTAL: u64 = 100_000;
pub const THREADS: [usize; 5] = [1, 2, 4, 8, 100];

type Way = (&'static str, fn(usize, u64) -> u64);

pub const WAYS: [Way; 6] = [
    ("racy load/store", counters::racy),
    ("Mutex", counters::mutex),
    ("atomic fetch_add", counters::atomic),
    ("per-thread counts", counters::per_thread),
    ("owner thread + channel", counters::owner),
    ("cooperative tasks", counters::tasks),
];

pub fn measure(mode: Mode) -> Results {
    let order: Vec<&str> = WAYS.iter().map(|(n, _)| *n).collect();
    let mut points = run_group(mode, "contention", &order, |g| {
        for (name, way) in WAYS {
            for threads in THREADS {
                let per_thread = TOTAL / threads as u64;
                g.bench_with_input(
                    BenchmarkId::new(name, threads),
                    &threads,
                    |b, &t| b.iter(|| way(t, per_thread)),
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
    Results {
        bench: "contention".into(),
        machine: Machine::this(),
        mode: mode.name().into(),
        method: format!(
            "criterion 0.8, {} samples per point; a sample is the mean time \
             of one run of {TOTAL} increments split evenly over the threads \
             (or tasks), thread start and join included as in the seed's \
             timing, divided by the number of increments",
            mode.samples()
        ),
        unit: "ns".into(),
        points,
    }
}
