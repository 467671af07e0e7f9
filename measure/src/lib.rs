//! The book's measurements: benchmarks that produce the raw results in
//! `measure/results/`, and the renderer that turns them into the tables and
//! figures under `src/measurements/`. See `cargo measure --help`.

pub mod claims;
pub mod contention;
pub mod echo;
pub mod latency;
pub mod memory;
pub mod micro;
pub mod render;
pub mod results;
pub mod scraper;
pub mod sys;
#[cfg(unix)]
pub mod syscalls;

use std::path::PathBuf;

/// Every benchmark, in the order `cargo measure` runs them.
pub const BENCHES: &[&str] = &[
    "spawn",
    "handoff",
    "handoff-parking",
    "memory",
    "thread-limit",
    "latency",
    "contention",
    "echo",
    "syscalls",
    "scraper",
    "scraper-timeline",
];

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Runs one benchmark and returns its raw results; `None` when it
/// cannot run on this machine.
pub fn run(bench: &str, mode: micro::Mode) -> Option<results::Results> {
    Some(match bench {
        "spawn" => micro::spawn(mode),
        "handoff" => micro::handoff(mode),
        "handoff-parking" => return micro::handoff_parking(mode),
        #[cfg(target_os = "linux")]
        "memory" => memory::measure(mode),
        "thread-limit" => memory::limit(mode),
        "latency" => latency::measure(mode),
        "contention" => contention::measure(mode),
        #[cfg(target_os = "linux")]
        "echo" => echo::measure(mode),
        #[cfg(unix)]
        "syscalls" => return syscalls::measure(mode),
        "scraper" => scraper::measure(mode),
        "scraper-timeline" => scraper::timeline(mode),
        _ => return None,
    })
}
