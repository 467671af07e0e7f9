use std::process::ExitCode;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;

const THREADS: u64 = 100;
const INCREMENTS: u64 = 1000;
const DEFAULT_RUNS: usize = 100;

/// Runs the experiment `runs` times and returns the updates lost by each
/// run, sorted.
fn lost_per_run(runs: usize) -> Vec<u64> {
    let mut lost: Vec<u64> = (0..runs)
        .map(|_| THREADS * INCREMENTS - execute())
        .collect();
    lost.sort_unstable();
    lost
}

fn median(sorted: &[u64]) -> u64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

fn parse_runs(arg: Option<String>) -> Result<usize, String> {
    match arg {
        None => Ok(DEFAULT_RUNS),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("expected a positive number of runs, got {s:?}")),
        },
    }
}

fn main() -> ExitCode {
    let runs = match parse_runs(std::env::args().nth(1)) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            eprintln!("usage: ch01-no-listing-01-lost-update-runs [RUNS]");
            return ExitCode::from(2);
        }
    };
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let lost = lost_per_run(runs);
    assert!(lost.iter().all(|&l| l <= THREADS * INCREMENTS));
    let with_losses = lost.iter().filter(|&&l| l > 0).count();
    println!("cores: {cores}");
    println!("runs: {runs}, runs that lost updates: {with_losses}");
    println!(
        "lost updates per run: min {}, median {}, max {}",
        lost[0],
        median(&lost),
        lost[runs - 1]
    );
    ExitCode::SUCCESS
}

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 1-3
// (listings/ch01-threads/03-lost-update/src/main.rs), so that this folder
// builds on its own. The book's tests check that each item is the same Rust
// as in its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch01-threads/03-lost-update/src/main.rs
fn incr(counter: &AtomicU64, start: &Barrier) {
    start.wait();
    for _ in 0..INCREMENTS {
        let v = counter.load(Relaxed);
        counter.store(v + 1, Relaxed);
    }
}

fn execute() -> u64 {
    let counter = AtomicU64::new(0);
    let start = Barrier::new(THREADS as usize);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| incr(&counter, &start));
        }
    });
    counter.into_inner()
}
// END COPY

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_number_of_runs() {
        assert_eq!(parse_runs(None), Ok(DEFAULT_RUNS));
        assert_eq!(parse_runs(Some("7".into())), Ok(7));
        assert!(parse_runs(Some("0".into())).is_err());
        assert!(parse_runs(Some("-3".into())).is_err());
        assert!(parse_runs(Some("many".into())).is_err());
    }

    #[test]
    fn median_of_odd_and_even_lengths() {
        assert_eq!(median(&[1, 5, 9]), 5);
        assert_eq!(median(&[1, 3, 5, 9]), 4);
    }

    #[test]
    fn every_run_loses_at_most_all_its_updates() {
        let lost = lost_per_run(5);
        assert_eq!(lost.len(), 5);
        assert!(lost.is_sorted());
        assert!(lost.iter().all(|&l| l <= THREADS * INCREMENTS));
    }
}
