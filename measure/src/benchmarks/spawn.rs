//! Spawning and joining N threads, N tokio tasks on either runtime, and N
//! jobs on the book's thread pool (chapter 1), with criterion.

use crate::bench::{Bench, Mode};
use crate::claim::{Bound, Claim, medians};
use crate::micro::run_group;
use crate::render::{Figure, figure, grid, series_lines};
use crate::results::{Machine, Results, Unit};
use criterion::BenchmarkId;
use std::hint::black_box;
use std::thread;

pub const BENCH: Bench = Bench {
    name: "spawn",
    run,
    render,
    claims,
    child: None,
};

pub const THREADS: &str = "OS threads";
pub const TASKS_MT: &str = "tokio tasks, multi-thread runtime";
pub const TASKS_CT: &str = "tokio tasks, current-thread runtime";
pub const POOL_JOBS: &str = "jobs on a pool, one thread per core";

#[path = "../../../listings/ch01-threads/no-listing-02-thread-pool/src/pool.rs"]
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

fn run(mode: Mode) -> Option<Results> {
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
    Some(Results::new(
        "spawn",
        Machine::this(),
        mode,
        format!(
            "criterion 0.8, {} samples per point; a sample is the mean time \
             to spawn N and then join all N (threads: std::thread::spawn, \
             join; tasks: tokio::spawn inside block_on, await each handle; \
             pool: the book's pool of one thread per core, each job sending \
             on a channel that the caller drains), the runtime and the pool \
             built once beforehand",
            mode.samples()
        ),
        Unit::Ns,
        points,
    ))
}

fn render(r: &Results) -> Vec<(&'static str, String)> {
    vec![
        (
            "spawn.md",
            grid(
                r,
                "N",
                false,
                "time to start all N and wait for every one (spawn and join, or queue and run on the pool), median, and below it min–max over the samples",
            ),
        ),
        (
            "spawn.svg",
            figure(
                r,
                Figure {
                    title: "Start N and wait for all: cost per thread, task or pooled job",
                    x_desc: "N started, then waited for",
                    y_desc: "time per thread, task or job",
                    log_x: true,
                    note: "marks: median; bars: min–max over the samples",
                },
                series_lines(r, true),
            ),
        ),
    ]
}

fn claims() -> Vec<Claim> {
    vec![
        Claim {
            text: "Spawning and joining 10 000 OS threads took {ratio} times \
                   as long as spawning and joining 10 000 tokio tasks on the \
                   multi-thread runtime",
            bound: Bound::AtLeast(10.0),
            ratio: |r| medians(r, (THREADS, 10_000), (TASKS_MT, 10_000)),
        },
        Claim {
            text: "Per thread, spawning and joining 10 000 OS threads cost \
                   {ratio} times as much as spawning and joining 10",
            bound: Bound::AtLeast(0.8),
            ratio: |r| {
                let (many, few) = medians(r, (THREADS, 10_000), (THREADS, 10))?;
                Some((many / 10_000.0, few / 10.0))
            },
        },
        Claim {
            text: "On the multi-thread runtime, a task cost {ratio} times as \
                   much spawned among 10 as among 10 000",
            bound: Bound::AtLeast(3.0),
            ratio: |r| {
                let (few, many) =
                    medians(r, (TASKS_MT, 10), (TASKS_MT, 10_000))?;
                Some((few / 10.0, many / 10_000.0))
            },
        },
        Claim {
            text: "Spawning and joining 10 000 OS threads took {ratio} times \
                   as long as running 10 000 jobs on a pool with one thread \
                   per core",
            bound: Bound::AtLeast(20.0),
            ratio: |r| medians(r, (THREADS, 10_000), (POOL_JOBS, 10_000)),
        },
        Claim {
            text: "Spawning and awaiting 10 000 tokio tasks on the \
                   multi-thread runtime took {ratio} times as long as \
                   running 10 000 jobs on that pool",
            bound: Bound::AtLeast(1.2),
            ratio: |r| medians(r, (TASKS_MT, 10_000), (POOL_JOBS, 10_000)),
        },
    ]
}
