//! What a parked thread and a parked task hold in memory: a whole-process
//! figure, so each sample is a fresh process (`measure probe-memory ...`)
//! that reads its own resident set size before and after parking N.

use crate::micro::Mode;
use crate::results::{Machine, Point, Results};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

pub const PARKED_THREADS: &str = "parked OS threads";
pub const PARKED_TASKS: &str = "parked tokio tasks";
pub const N: u64 = 10_000;

/// The resident set size of this process, in bytes.
fn rss() -> Result<u64, String> {
    crate::sys::resident_bytes().map_err(|e| format!("resident memory: {e}"))
}

/// In the probe process: park `n` threads or tasks and print how much the
/// resident set grew, in bytes.
pub fn probe(kind: &str, n: u64) -> Result<u64, String> {
    match kind {
        "threads" => {
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
        "tasks" => {
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
        "limit" => Ok(most_threads(n)),
        _ => Err(format!("unknown kind `{kind}`: threads, tasks or limit")),
    }
}

/// Runs the probe in fresh processes and collects the samples.
pub fn measure(mode: Mode) -> Results {
    let runs = match mode {
        Mode::Quick => 5,
        Mode::Full => 15,
    };
    let exe = std::env::current_exe().unwrap();
    let mut points = Vec::new();
    for (series, kind) in [(PARKED_THREADS, "threads"), (PARKED_TASKS, "tasks")]
    {
        let mut samples = Vec::new();
        for _ in 0..runs {
            let out = Command::new(&exe)
                .args(["probe-memory", kind, &N.to_string()])
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
        points.push(Point {
            series: series.into(),
            x: N,
            samples,
            runs: 0,
        });
    }
    Results {
        bench: "memory".into(),
        machine: Machine::this(),
        mode: mode.name().into(),
        method: format!(
            "{runs} fresh processes per row; each parks {N} threads (blocked \
             on a std Barrier, default stack size) or {N} tasks (awaiting a \
             tokio Barrier on a current-thread runtime) and reports the growth \
             of its resident set (VmRSS in /proc/self/status)"
        ),
        unit: "bytes".into(),
        points,
    }
}

pub const MOST_THREADS: &str = "OS threads parked at once";

/// Parks threads until the system refuses one more, or `cap` are parked,
/// or a minute has passed; returns how many were parked at once.
fn most_threads(cap: u64) -> u64 {
    use std::sync::{Condvar, Mutex};
    let release = Arc::new((Mutex::new(false), Condvar::new()));
    let start = std::time::Instant::now();
    let mut handles = Vec::new();
    while (handles.len() as u64) < cap
        && start.elapsed() < Duration::from_secs(60)
    {
        let release = release.clone();
        let spawned = std::thread::Builder::new().spawn(move || {
            let (lock, cvar) = &*release;
            let mut go = lock.lock().unwrap();
            while !*go {
                go = cvar.wait(go).unwrap();
            }
        });
        match spawned {
            Ok(h) => {
                handles.push(h);
                // Progress, in case the process dies: std aborts when a new
                // thread cannot map its signal stack.
                if handles.len() % 256 == 0 {
                    use std::io::Write;
                    println!("{}", handles.len());
                    let _ = std::io::stdout().flush();
                }
            }
            Err(e) => {
                eprintln!("spawn failed after {} threads: {e}", handles.len());
                break;
            }
        }
    }
    let most = handles.len() as u64;
    *release.0.lock().unwrap() = true;
    release.1.notify_all();
    for h in handles {
        h.join().unwrap();
    }
    most
}

fn read_sys(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// How many threads one process can park at once on this machine.
pub fn limit(mode: Mode) -> Results {
    const CAP: u64 = 100_000;
    let runs = match mode {
        Mode::Quick => 2,
        Mode::Full => 3,
    };
    let exe = std::env::current_exe().unwrap();
    let mut samples = Vec::new();
    for _ in 0..runs {
        let out = Command::new(&exe)
            .args(["probe-memory", "limit", &CAP.to_string()])
            .output()
            .expect("cannot start the thread-limit probe");
        let text = String::from_utf8_lossy(&out.stdout);
        let last = text
            .lines()
            .rev()
            .find_map(|l| l.trim().parse::<f64>().ok())
            .expect("the probe reported no progress");
        samples.push(last);
        let err = String::from_utf8_lossy(&out.stderr);
        if let Some(line) = err.lines().find(|l| l.contains("failed")) {
            eprintln!("thread-limit: {line} ({})", out.status);
        }
    }
    Results {
        bench: "thread-limit".into(),
        machine: Machine::this(),
        mode: mode.name().into(),
        method: format!(
            "{runs} fresh processes; each spawns threads (default stack size) \
             that wait on a condition variable, until spawning fails (or \
             the process aborts: std aborts when a new thread cannot map \
             its signal stack; the count is then the last multiple of 256 \
             reported), {CAP} are parked, or a minute has passed; the \
             limits read on \
             this machine: vm.max_map_count = {}, kernel.threads-max = {}",
            read_sys("/proc/sys/vm/max_map_count"),
            read_sys("/proc/sys/kernel/threads-max")
        ),
        unit: "count".into(),
        points: vec![Point {
            series: MOST_THREADS.into(),
            x: 0,
            samples,
            runs: 0,
        }],
    }
}
