//! What a parked thread and a parked task hold in memory: a whole-process
//! figure, so each sample is a fresh process (`measure probe-memory ...`)
//! that reads its own resident set size before and after parking N.

use crate::bench::{Bench, Child, Mode};
use crate::claim::{Bound, Claim, medians};
use crate::render::list;
use crate::results::{Machine, Point, Results, Unit};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

pub const BENCH: Bench = Bench {
    name: "memory",
    run,
    render,
    claims,
    child: Some(Child {
        command: PROBE,
        run: probe_command,
    }),
};

/// The subcommand that parks threads or tasks in a fresh process:
/// `measure probe-memory threads|tasks N`.
pub const PROBE: &str = "probe-memory";
/// What the probe parks, as the command line names it.
const THREADS_KIND: &str = "threads";
const TASKS_KIND: &str = "tasks";

pub const PARKED_THREADS: &str = "parked OS threads";
pub const PARKED_TASKS: &str = "parked tokio tasks";
pub const N: u64 = 10_000;

/// The resident set size of this process, in bytes.
fn rss() -> Result<u64, String> {
    crate::sys::resident_bytes().map_err(|e| format!("resident memory: {e}"))
}

/// In the probe process: park N threads or tasks and print how much the
/// resident set grew, in bytes.
fn probe_command(args: &[String]) -> Result<(), String> {
    let kind = args.first().map(String::as_str).unwrap_or_default();
    let n = match args.get(1) {
        Some(n) => n.parse().map_err(|e| format!("N `{n}`: {e}"))?,
        None => N,
    };
    println!("{}", probe(kind, n)?);
    Ok(())
}

/// Parks `n` threads or tasks; how much the resident set grew, in bytes.
fn probe(kind: &str, n: u64) -> Result<u64, String> {
    match kind {
        THREADS_KIND => {
            let release = Arc::new(Barrier::new(n as usize + 1));
            let parked = Arc::new(AtomicUsize::new(0));
            let before = rss()?;
            let handles: Vec<_> = (0..n)
                .map(|_| {
                    let release = release.clone();
                    let parked = parked.clone();
                    std::thread::Builder::new()
                        .spawn(move || {
                            parked.fetch_add(1, Ordering::SeqCst);
                            release.wait();
                        })
                        .map_err(|e| format!("spawning a thread failed: {e}"))
                })
                .collect::<Result<_, _>>()?;
            while parked.load(Ordering::SeqCst) < n as usize {
                std::thread::sleep(Duration::from_millis(1));
            }
            let after = rss()?;
            release.wait();
            for h in handles {
                h.join().unwrap();
            }
            Ok(after.saturating_sub(before))
        }
        TASKS_KIND => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(async {
                let release =
                    Arc::new(tokio::sync::Barrier::new(n as usize + 1));
                let before = rss()?;
                let handles: Vec<_> = (0..n)
                    .map(|_| {
                        let release = release.clone();
                        tokio::spawn(async move {
                            release.wait().await;
                        })
                    })
                    .collect();
                // One turn of the run queue polls every task once: each
                // reaches the barrier and parks.
                tokio::task::yield_now().await;
                let after = rss()?;
                release.wait().await;
                for h in handles {
                    h.await.unwrap();
                }
                Ok(after.saturating_sub(before))
            })
        }
        _ => Err(format!("unknown kind `{kind}`: threads or tasks")),
    }
}

/// Runs the probe in fresh processes and collects the samples (Linux: it
/// reads the resident set from /proc).
fn run(mode: Mode) -> Option<Results> {
    if !cfg!(target_os = "linux") {
        eprintln!("memory: needs Linux, to read the resident set size");
        return None;
    }
    let runs = match mode {
        Mode::Quick => 5,
        Mode::Full => 15,
    };
    let exe = std::env::current_exe().unwrap();
    let mut points = Vec::new();
    for (series, kind) in
        [(PARKED_THREADS, THREADS_KIND), (PARKED_TASKS, TASKS_KIND)]
    {
        let mut samples = Vec::new();
        for _ in 0..runs {
            let out = Command::new(&exe)
                .args([PROBE, kind, &N.to_string()])
                .output()
                .expect("cannot start the memory probe");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "memory probe failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            samples.push(text.trim().parse::<f64>().unwrap());
        }
        eprintln!("memory: {series}: {samples:?}");
        points.push(Point::new(series, N, samples));
    }
    Some(Results::new(
        "memory",
        Machine::this(),
        mode,
        format!(
            "{runs} fresh processes per row; each parks {N} threads (blocked \
             on a std Barrier, default stack size) or {N} tasks (awaiting a \
             tokio Barrier on a current-thread runtime) and reports the growth \
             of its resident set (VmRSS in /proc/self/status)"
        ),
        Unit::Bytes,
        points,
    ))
}

fn render(r: &Results) -> Vec<(&'static str, String)> {
    vec![(
        "memory.md",
        list(
            r,
            "10 000 of them",
            "resident memory",
            "growth of the resident set for 10 000, median, and below it min–max over fresh processes",
        ),
    )]
}

fn claims() -> Vec<Claim> {
    vec![Claim {
        text: "A parked OS thread held {ratio} times as much resident \
                   memory as a parked tokio task",
        bound: Bound::AtLeast(10.0),
        ratio: |r| medians(r, (PARKED_THREADS, 10_000), (PARKED_TASKS, 10_000)),
    }]
}
