//! How many threads one process can park at once on this machine: each
//! sample is a fresh process (`measure probe-thread-limit CAP`).

use crate::bench::{Bench, Child, Mode, no_claims};
use crate::render::list;
use crate::results::{Machine, Point, Results, Unit};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

pub const BENCH: Bench = Bench {
    name: "thread-limit",
    run,
    render,
    claims: no_claims,
    child: Some(Child {
        command: PROBE,
        run: probe,
    }),
};

/// The subcommand that parks as many threads as it can in a fresh
/// process: `measure probe-thread-limit CAP`. It prints its progress,
/// then how many it parked.
pub const PROBE: &str = "probe-thread-limit";

fn probe(args: &[String]) -> Result<(), String> {
    let cap = match args.first() {
        Some(n) => n.parse().map_err(|e| format!("CAP `{n}`: {e}"))?,
        None => 100_000,
    };
    println!("{}", most_threads(cap));
    Ok(())
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

/// `vm.max_map_count`, or `?` where it cannot be read.
fn max_map_count() -> String {
    #[cfg(target_os = "linux")]
    if let Ok(n) = procfs::sys::vm::max_map_count() {
        return n.to_string();
    }
    "?".into()
}

/// `kernel.threads-max`, or `?` where it cannot be read.
fn threads_max() -> String {
    #[cfg(target_os = "linux")]
    if let Ok(n) = procfs::sys::kernel::threads_max() {
        return n.to_string();
    }
    "?".into()
}

/// How many threads one process can park at once on this machine.
fn run(mode: Mode) -> Option<Results> {
    const CAP: u64 = 100_000;
    let runs = match mode {
        Mode::Quick => 2,
        Mode::Full => 3,
    };
    let exe = std::env::current_exe().unwrap();
    let mut samples = Vec::new();
    for _ in 0..runs {
        let out = Command::new(&exe)
            .args([PROBE, &CAP.to_string()])
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
    Some(Results::new(
        "thread-limit",
        Machine::this(),
        mode,
        format!(
            "{runs} fresh processes; each spawns threads (default stack size) \
             that wait on a condition variable, until spawning fails (or \
             the process aborts: std aborts when a new thread cannot map \
             its signal stack; the count is then the last multiple of 256 \
             reported), {CAP} are parked, or a minute has passed; the \
             limits read on \
             this machine: vm.max_map_count = {}, kernel.threads-max = {}",
            max_map_count(),
            threads_max()
        ),
        Unit::Count,
        vec![Point::new(MOST_THREADS, 0, samples)],
    ))
}

fn render(r: &Results) -> Vec<(&'static str, String)> {
    vec![(
        "thread-limit.md",
        list(
            r,
            "how far one process got",
            "threads",
            "median, and below it min–max over fresh processes",
        ),
    )]
}
