//! The ratios the prose states. Each is rendered, with the measured value,
//! into `src/measurements/<bench>-claims.md`, which the chapter includes;
//! rendering fails when a claim no longer holds on the committed results,
//! and so does the test that re-renders them. Only ratios that are stable
//! on a noisy two-core machine belong here: never an absolute time.

use crate::render::{Bound, Claim};
use crate::results::{Point, Results};

const ECHO_THREADS: &str = crate::echo::SERVERS[0].1;
const ECHO_EVENT_LOOP: &str = crate::echo::SERVERS[1].1;
const ECHO_REACTOR: &str = crate::echo::SERVERS[2].1;
const ECHO_TOKIO_CT: &str = crate::echo::SERVERS[3].1;
const ECHO_TOKIO_MT: &str = crate::echo::SERVERS[4].1;

/// Medians of one metric of two echo servers at `x` connections, in the
/// `echo` or the `syscalls` results (series `<server> | <metric>`).
fn echo_metric(
    r: &Results,
    a: &str,
    b: &str,
    metric: &str,
    x: u64,
) -> Option<(f64, f64)> {
    let a = r.point(&format!("{a} | {metric}"), x)?.median();
    let b = r.point(&format!("{b} | {metric}"), x)?.median();
    Some((a, b))
}

fn lat() -> f64 {
    crate::scraper::LATENCY.as_nanos() as f64
}

fn medians(r: &Results, a: (&str, u64), b: (&str, u64)) -> Option<(f64, f64)> {
    Some((r.point(a.0, a.1)?.median(), r.point(b.0, b.1)?.median()))
}

pub fn all() -> Vec<Claim> {
    use crate::contention::{ALONE_TIME, EMPTY_WHOLE, side_by_side};
    use crate::contention::{ATOMIC, MUTEX, MUTEX_WHOLE, PER_THREAD};
    use crate::contention::{RACY, RACY_LOST, RACY_WHOLE, TASKS};
    use crate::memory::{PARKED_TASKS, PARKED_THREADS};
    use crate::micro::{PINGPONG_CROSSBEAM, PINGPONG_CT, PINGPONG_STD};
    use crate::micro::{POOL_JOBS, TASKS_MT, THREADS};
    use crate::scraper::THREADS as PER_PLANET;
    use crate::scraper::{REACTOR, SEQUENTIAL, TOKIO, TOKIO_DEFAULT, cpu};
    vec![
        Claim {
            bench: "echo",
            text: "At 100 connections, our reactor with protocols served \
                   {ratio} times as many messages per second as tokio's \
                   current-thread runtime",
            bound: Bound::AtLeast(0.9),
            ratio: |r| medians(r, (ECHO_REACTOR, 100), (ECHO_TOKIO_CT, 100)),
        },
        Claim {
            bench: "echo",
            text: "In every row, the load generator kept at least {ratio} \
                   of its core busy: it, as much as the server, sets the \
                   pace",
            bound: Bound::CountAtLeast(0.85),
            ratio: |r| {
                let load = r
                    .points
                    .iter()
                    .filter(|p| p.series.ends_with("| load CPU"));
                let least = load.map(|p| p.median()).reduce(f64::min)?;
                Some((least, 1.0))
            },
        },
        Claim {
            bench: "echo",
            text: "At 100 connections, our reactor spent {ratio} times the \
                   server CPU per message of tokio's current-thread runtime",
            bound: Bound::Between(0.9, 1.1),
            ratio: |r| {
                echo_metric(r, ECHO_REACTOR, ECHO_TOKIO_CT, "server CPU", 100)
            },
        },
        Claim {
            bench: "echo",
            text: "At 1000 connections, our reactor spent {ratio} times the \
                   server CPU per message of tokio's current-thread runtime",
            bound: Bound::Between(0.9, 1.1),
            ratio: |r| {
                echo_metric(r, ECHO_REACTOR, ECHO_TOKIO_CT, "server CPU", 1000)
            },
        },
        Claim {
            bench: "echo",
            text: "At 1000 connections, our reactor's 99th-percentile round \
                   trip was {ratio} times that of tokio's current-thread \
                   runtime",
            bound: Bound::Below(1.2),
            ratio: |r| echo_metric(r, ECHO_REACTOR, ECHO_TOKIO_CT, "p99", 1000),
        },
        Claim {
            bench: "echo",
            text: "At 100 connections, the thread-per-connection server \
                   spent {ratio} times the CPU per message of our reactor",
            bound: Bound::AtLeast(1.2),
            ratio: |r| {
                echo_metric(r, ECHO_THREADS, ECHO_REACTOR, "server CPU", 100)
            },
        },
        Claim {
            bench: "echo",
            text: "At 1000 connections, our reactor served {ratio} times as \
                   many messages per second as the thread-per-connection \
                   server",
            bound: Bound::AtLeast(1.2),
            ratio: |r| medians(r, (ECHO_REACTOR, 1000), (ECHO_THREADS, 1000)),
        },
        Claim {
            bench: "echo",
            text: "At 100 connections, our reactor served {ratio} times as \
                   many messages per second as the thread-per-connection \
                   server",
            bound: Bound::AtLeast(1.1),
            ratio: |r| medians(r, (ECHO_REACTOR, 100), (ECHO_THREADS, 100)),
        },
        Claim {
            bench: "echo",
            text: "On one core, at 1000 connections, the multi-thread \
                   runtime's 99th-percentile round trip was {ratio} times \
                   the current-thread runtime's",
            bound: Bound::AtLeast(1.5),
            ratio: |r| {
                echo_metric(r, ECHO_TOKIO_MT, ECHO_TOKIO_CT, "p99", 1000)
            },
        },
        Claim {
            bench: "syscalls",
            text: "At 100 connections, our reactor made {ratio} times as \
                   many system calls per message as tokio's current-thread \
                   runtime",
            bound: Bound::Between(0.95, 1.05),
            ratio: |r| {
                echo_metric(
                    r,
                    ECHO_REACTOR,
                    ECHO_TOKIO_CT,
                    "all system calls",
                    100,
                )
            },
        },
        Claim {
            bench: "syscalls",
            text: "At 1000 connections, our reactor made {ratio} times as \
                   many system calls per message as tokio's current-thread \
                   runtime",
            bound: Bound::Between(0.95, 1.05),
            ratio: |r| {
                echo_metric(
                    r,
                    ECHO_REACTOR,
                    ECHO_TOKIO_CT,
                    "all system calls",
                    1000,
                )
            },
        },
        Claim {
            bench: "syscalls",
            text: "At 100 connections, our reactor made {ratio} `recvfrom` \
                   calls per message",
            bound: Bound::CountBetween(0.95, 1.1),
            ratio: |r| {
                let p = r.point(&format!("{ECHO_REACTOR} | recvfrom"), 100)?;
                Some((p.median(), 1.0))
            },
        },
        Claim {
            bench: "syscalls",
            text: "At 100 connections, our reactor made {ratio} `sendto` \
                   calls per message",
            bound: Bound::CountBetween(0.95, 1.1),
            ratio: |r| {
                let p = r.point(&format!("{ECHO_REACTOR} | sendto"), 100)?;
                Some((p.median(), 1.0))
            },
        },
        Claim {
            bench: "syscalls",
            text: "At 1000 connections, tokio's multi-thread runtime made \
                   {ratio} times as many system calls per message as its \
                   current-thread runtime",
            bound: Bound::Between(0.95, 1.05),
            ratio: |r| {
                echo_metric(
                    r,
                    ECHO_TOKIO_MT,
                    ECHO_TOKIO_CT,
                    "all system calls",
                    1000,
                )
            },
        },
        Claim {
            bench: "syscalls",
            text: "Listing 3-2, which reads until `WouldBlock`, made {ratio} \
                   `recvfrom` calls per message",
            bound: Bound::CountAtLeast(1.5),
            ratio: |r| {
                let p =
                    r.point(&format!("{ECHO_EVENT_LOOP} | recvfrom"), 100)?;
                Some((p.median(), 1.0))
            },
        },
        Claim {
            bench: "syscalls",
            text: "The thread-per-connection server made {ratio} context \
                   switches per message at 1000 connections",
            bound: Bound::CountAtLeast(0.5),
            ratio: |r| {
                let cs = format!("{ECHO_THREADS} | context switches");
                Some((r.point(&cs, 1000)?.median(), 1.0))
            },
        },
        Claim {
            bench: "scraper",
            text: "With 200 planets, the tokio scraper took {ratio} times \
                   the time of two round trips (2 × latency)",
            bound: Bound::Below(1.3),
            ratio: |r| Some((r.point(TOKIO, 200)?.median(), 2.0 * lat())),
        },
        Claim {
            bench: "scraper",
            text: "With 1000 planets, the tokio scraper took {ratio} times \
                   the time of two round trips",
            bound: Bound::Below(2.0),
            ratio: |r| Some((r.point(TOKIO, 1000)?.median(), 2.0 * lat())),
        },
        Claim {
            bench: "scraper",
            text: "With 200 planets, the scraper on our own reactor, all on \
                   one thread, took {ratio} times the time of two round trips",
            bound: Bound::Below(1.4),
            ratio: |r| Some((r.point(REACTOR, 200)?.median(), 2.0 * lat())),
        },
        Claim {
            bench: "scraper",
            text: "With 1000 planets, the scraper on our own reactor took \
                   {ratio} times the time of two round trips",
            bound: Bound::Below(2.5),
            ratio: |r| Some((r.point(REACTOR, 1000)?.median(), 2.0 * lat())),
        },
        Claim {
            bench: "scraper",
            text: "With 1000 planets, the process used {ratio} times as much \
                   CPU time during the runs on our reactor as during the \
                   tokio runs",
            bound: Bound::Below(1.5),
            ratio: |r| {
                let (ours, theirs) = (cpu(REACTOR), cpu(TOKIO));
                medians(r, (&ours, 1000), (&theirs, 1000))
            },
        },
        Claim {
            bench: "scraper",
            text: "With 1000 planets, the scraper on our one-thread reactor \
                   took {ratio} times as long as the tokio scraper",
            bound: Bound::Below(2.0),
            ratio: |r| medians(r, (REACTOR, 1000), (TOKIO, 1000)),
        },
        Claim {
            bench: "scraper",
            text: "With 200 planets, the scraper with a thread per planet \
                   took {ratio} times the time of two round trips",
            bound: Bound::Below(1.5),
            ratio: |r| Some((r.point(PER_PLANET, 200)?.median(), 2.0 * lat())),
        },
        Claim {
            bench: "scraper",
            text: "With 1000 planets, the scraper with a thread per planet \
                   took {ratio} times the time of two round trips",
            bound: Bound::Below(5.0),
            ratio: |r| Some((r.point(PER_PLANET, 1000)?.median(), 2.0 * lat())),
        },
        Claim {
            bench: "scraper",
            text: "With 1000 planets and its default bound of 100 planets at \
                   a time, the tokio scraper took {ratio} times the time of \
                   ten waves of two round trips (20 × latency), the least \
                   that bound allows",
            bound: Bound::Between(1.0, 1.5),
            ratio: |r| {
                Some((r.point(TOKIO_DEFAULT, 1000)?.median(), 20.0 * lat()))
            },
        },
        Claim {
            bench: "scraper",
            text: "With 200 planets, the sequential scraper took {ratio} \
                   times the time of 2n downloads in a row (2n × latency)",
            bound: Bound::Below(1.05),
            ratio: |r| {
                Some((r.point(SEQUENTIAL, 200)?.median(), 400.0 * lat()))
            },
        },
        Claim {
            bench: "contention",
            text: "With the article's own setting, 100 threads of 1000 \
                   increments each timed from the first spawn to the last \
                   join, the Mutex version took {ratio} times as long as the \
                   racy one",
            bound: Bound::Below(2.0),
            ratio: |r| medians(r, (MUTEX_WHOLE, 100), (RACY_WHOLE, 100)),
        },
        Claim {
            bench: "contention",
            text: "Spawning and joining 100 threads that count nothing took \
                   {ratio} times as long as the racy version's whole run: \
                   most of that run is starting and joining threads",
            bound: Bound::AtLeast(0.5),
            ratio: |r| medians(r, (EMPTY_WHOLE, 100), (RACY_WHOLE, 100)),
        },
        Claim {
            bench: "contention",
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
            bench: "contention",
            text: "In the runs outside criterion, two threads counting side \
                   by side under the Mutex took {ratio} times as long per \
                   increment as one thread alone",
            bound: Bound::AtLeast(1.5),
            ratio: |r| {
                let side = Point {
                    series: String::new(),
                    x: 2,
                    samples: side_by_side(r)?,
                    runs: 0,
                };
                if side.samples.is_empty() {
                    return None;
                }
                Some((side.median(), r.point(ALONE_TIME, 1)?.median()))
            },
        },
        Claim {
            bench: "contention",
            text: "With 2 threads, the racy version took {ratio} times as \
                   long per increment as per-thread counts, which share no \
                   cache line",
            bound: Bound::AtLeast(2.0),
            ratio: |r| medians(r, (RACY, 2), (PER_THREAD, 2)),
        },
        Claim {
            bench: "contention",
            text: "With 2 threads, the racy version lost a median {ratio}% \
                   of its increments",
            bound: Bound::CountAtLeast(1.0),
            ratio: |r| Some((r.point(RACY_LOST, 2)?.median(), 1.0)),
        },
        Claim {
            bench: "contention",
            text: "With 100 threads, taking turns on the cores, the racy \
                   version lost a median {ratio}% of its increments",
            bound: Bound::CountBetween(0.0, 5.0),
            ratio: |r| Some((r.point(RACY_LOST, 100)?.median(), 1.0)),
        },
        Claim {
            bench: "contention",
            text: "With 2 threads of 50 000 increments each, the Mutex \
                   version took {ratio} times as long per increment as the \
                   racy one",
            bound: Bound::AtLeast(3.0),
            ratio: |r| medians(r, (MUTEX, 2), (RACY, 2)),
        },
        Claim {
            bench: "contention",
            text: "With 8 threads, the Mutex took {ratio} times as long per \
                   increment as the atomic fetch_add",
            bound: Bound::AtLeast(2.0),
            ratio: |r| medians(r, (MUTEX, 8), (ATOMIC, 8)),
        },
        Claim {
            bench: "contention",
            text: "With 8 threads, the Mutex took {ratio} times as long per \
                   increment as per-thread counts summed at the end",
            bound: Bound::AtLeast(3.0),
            ratio: |r| medians(r, (MUTEX, 8), (PER_THREAD, 8)),
        },
        Claim {
            bench: "contention",
            text: "Per-thread counts, which share nothing, took {ratio} \
                   times as long per increment with 100 threads as with \
                   one: at a hundred threads, taking turns on the cores and \
                   ending threads is most of the time",
            bound: Bound::AtLeast(10.0),
            ratio: |r| medians(r, (PER_THREAD, 100), (PER_THREAD, 1)),
        },
        Claim {
            bench: "contention",
            text: "One cooperative task took {ratio} times as long per \
                   increment as each of 100: the runtime's turn between \
                   rounds is shared by the tasks it wakes",
            bound: Bound::AtLeast(2.0),
            ratio: |r| medians(r, (TASKS, 1), (TASKS, 100)),
        },
        Claim {
            bench: "contention",
            text: "With 8 workers, the cooperative tasks took {ratio} times \
                   as long per increment as the Mutex, in wall-clock time, \
                   with the tasks on one core and the threads on two",
            bound: Bound::AtLeast(1.5),
            ratio: |r| medians(r, (TASKS, 8), (MUTEX, 8)),
        },
        Claim {
            bench: "contention",
            text: "With 100 workers, the cooperative tasks took {ratio} \
                   times as long per increment as the Mutex, in wall-clock \
                   time again",
            bound: Bound::AtLeast(1.2),
            ratio: |r| medians(r, (TASKS, 100), (MUTEX, 100)),
        },
        Claim {
            bench: "spawn",
            text: "Spawning and joining 10 000 OS threads took {ratio} times \
                   as long as spawning and joining 10 000 tokio tasks on the \
                   multi-thread runtime",
            bound: Bound::AtLeast(10.0),
            ratio: |r| medians(r, (THREADS, 10_000), (TASKS_MT, 10_000)),
        },
        Claim {
            bench: "spawn",
            text: "Per thread, spawning and joining 10 000 OS threads cost \
                   {ratio} times as much as spawning and joining 10",
            bound: Bound::AtLeast(0.8),
            ratio: |r| {
                let (many, few) = medians(r, (THREADS, 10_000), (THREADS, 10))?;
                Some((many / 10_000.0, few / 10.0))
            },
        },
        Claim {
            bench: "spawn",
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
            bench: "spawn",
            text: "Spawning and joining 10 000 OS threads took {ratio} times \
                   as long as running 10 000 jobs on a pool with one thread \
                   per core",
            bound: Bound::AtLeast(20.0),
            ratio: |r| medians(r, (THREADS, 10_000), (POOL_JOBS, 10_000)),
        },
        Claim {
            bench: "spawn",
            text: "Spawning and awaiting 10 000 tokio tasks on the \
                   multi-thread runtime took {ratio} times as long as \
                   running 10 000 jobs on that pool",
            bound: Bound::AtLeast(1.2),
            ratio: |r| medians(r, (TASKS_MT, 10_000), (POOL_JOBS, 10_000)),
        },
        Claim {
            bench: "handoff",
            text: "A round trip between two threads over crossbeam channels \
                   took {ratio} times as long as one between two tasks on a \
                   current-thread runtime",
            // Below the ratio of the fastest crossbeam sample to the
            // slowest task one (1.18 in the recorded run): outside the
            // spread.
            bound: Bound::AtLeast(1.1),
            ratio: |r| medians(r, (PINGPONG_CROSSBEAM, 2), (PINGPONG_CT, 2)),
        },
        Claim {
            bench: "handoff-parking",
            text: "Waiting for each reply over crossbeam's channel, the main \
                   thread parked in the kernel {ratio} times per round trip",
            bound: Bound::CountBetween(0.0, 0.1),
            ratio: |r| Some((r.point(PINGPONG_CROSSBEAM, 2)?.median(), 1.0)),
        },
        Claim {
            bench: "handoff-parking",
            text: "Over std's channel, it parked {ratio} times per round trip",
            bound: Bound::CountBetween(0.5, 1.0),
            ratio: |r| Some((r.point(PINGPONG_STD, 2)?.median(), 1.0)),
        },
        Claim {
            bench: "memory",
            text: "A parked OS thread held {ratio} times as much resident \
                   memory as a parked tokio task",
            bound: Bound::AtLeast(10.0),
            ratio: |r| {
                medians(r, (PARKED_THREADS, 10_000), (PARKED_TASKS, 10_000))
            },
        },
    ]
}
