//! How often the main thread parks in the kernel per round trip of the
//! hand-off benchmark, over each channel between threads (Linux: it reads
//! the thread's context switches).

use super::handoff::{PINGPONG_CROSSBEAM, PINGPONG_STD};
use super::handoff::{pingpong_crossbeam, pingpong_std};
use crate::bench::{Bench, Mode};
use crate::claim::{Bound, Claim};
use crate::render::list;
use crate::results::{Machine, Point, Results, Unit};
use std::time::Duration;

pub const BENCH: Bench = Bench {
    name: "handoff-parking",
    run,
    render,
    claims,
    child: None,
};

/// How often the main thread parks in the kernel per round trip, over
/// each channel between threads: the voluntary context switches it makes
/// during 100 000 round trips, divided by their number. `None` where the
/// count cannot be read (see `sys::thread_voluntary_switches`).
fn run(mode: Mode) -> Option<Results> {
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
        points.push(Point::new(series, 2, samples));
    }
    Some(Results::new(
        "handoff-parking",
        Machine::this(),
        mode,
        format!(
            "the round trips of the hand-off benchmark, {TRIPS} per run, \
             {runs} runs per channel; a sample is the number of voluntary \
             context switches the main thread made in one run (from \
             /proc/thread-self/status), divided by the round trips: how \
             often it parked in the kernel to wait for a reply"
        ),
        Unit::Per,
        points,
    ))
}

fn render(r: &Results) -> Vec<(&'static str, String)> {
    vec![(
        "handoff-parking.md",
        list(
            r,
            "hand-off",
            "the main thread parked, per round trip",
            "median, and below it min–max over the runs",
        ),
    )]
}

fn claims() -> Vec<Claim> {
    vec![
        Claim {
            text: "Waiting for each reply over crossbeam's channel, the main \
                   thread parked in the kernel {ratio} times per round trip",
            bound: Bound::CountBetween(0.0, 0.1),
            ratio: |r| Some((r.point(PINGPONG_CROSSBEAM, 2)?.median(), 1.0)),
        },
        Claim {
            text: "Over std's channel, it parked {ratio} times per round trip",
            bound: Bound::CountBetween(0.5, 1.0),
            ratio: |r| Some((r.point(PINGPONG_STD, 2)?.median(), 1.0)),
        },
    ]
}
