//! A round trip between two threads over channels (crossbeam's, std's)
//! and between two tokio tasks on either runtime (chapter 1), with
//! criterion.

use crate::bench::{Bench, Mode};
use crate::claim::{Bound, Claim, medians};
use crate::micro::run_group;
use crate::render::list;
use crate::results::{Machine, Results, Unit};
use criterion::BenchmarkId;
use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

pub const BENCH: Bench = Bench {
    name: "handoff",
    run,
    render,
    claims,
    child: None,
};

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

pub(crate) fn pingpong_crossbeam(iters: u64) -> Duration {
    use crossbeam::channel::{Receiver, Sender, bounded};
    pingpong_threads(
        iters,
        || bounded::<u64>(1),
        |s: &Sender<u64>, v| s.send(v).is_ok(),
        |r: &Receiver<u64>| r.recv().ok(),
    )
}

pub(crate) fn pingpong_std(iters: u64) -> Duration {
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

fn run(mode: Mode) -> Option<Results> {
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
    Some(Results::new(
        "handoff",
        Machine::this(),
        mode,
        format!(
            "criterion 0.8, {} samples per point; a sample is the mean time \
             of one round trip (send a number, wait for it to come back) \
             over channels of capacity 1, timed after both ends are running",
            mode.samples()
        ),
        Unit::Ns,
        points,
    ))
}

fn render(r: &Results) -> Vec<(&'static str, String)> {
    vec![(
        "handoff.md",
        list(
            r,
            "hand-off",
            "round trip",
            "median, and below it min–max over the samples",
        ),
    )]
}

fn claims() -> Vec<Claim> {
    vec![Claim {
        text: "A round trip between two threads over crossbeam channels \
                   took {ratio} times as long as one between two tasks on a \
                   current-thread runtime",
        // Below the ratio of the fastest crossbeam sample to the
        // slowest task one (1.18 in the recorded run): outside the
        // spread.
        bound: Bound::AtLeast(1.1),
        ratio: |r| medians(r, (PINGPONG_CROSSBEAM, 2), (PINGPONG_CT, 2)),
    }]
}
