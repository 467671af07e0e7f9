extern crate tokio; // `mdbook test` links crates by name

use std::time::Duration;

use tokio::runtime::Builder;
use tokio::task;
use tokio::time::{self, Instant};

const PERIOD: Duration = Duration::from_millis(10);
const TICKS: u32 = 60;
const HOG: Duration = Duration::from_millis(500);

// ANCHOR: here
// New: a plain function, not a task
fn hog(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        spin(Duration::from_millis(1)); // one millisecond of work
    }
}

fn worst_lateness(work: Duration, ticks: u32) -> Duration {
    let runtime = Builder::new_current_thread().enable_time().build().unwrap();
    runtime.block_on(async {
        let start = Instant::now();
        let ticker = tokio::spawn(ticker(start, ticks));
        task::spawn_blocking(move || hog(work)); // New: on another thread
        ticker.await.unwrap()
    })
}
// ANCHOR_END: here

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 1-8
// (listings/ch01-threads/08-hog-yield-now/src/main.rs), so that this folder
// builds on its own. The book's tests check that each item is the same Rust
// as in its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch01-threads/08-hog-yield-now/src/main.rs
/// Keeps the CPU busy for `work` without ever giving the runtime a chance
/// to run anything else.
fn spin(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

/// Wakes up every `PERIOD` after `start` and returns the worst lateness.
async fn ticker(start: Instant, ticks: u32) -> Duration {
    let mut worst = Duration::ZERO;
    for k in 1..=ticks {
        let expected = start + PERIOD * k;
        time::sleep_until(expected).await;
        worst = worst.max(expected.elapsed());
    }
    worst
}
// END COPY

// COPY FROM listings/ch01-threads/08-hog-yield-now/src/main.rs
fn main() {
    let worst = worst_lateness(HOG, TICKS);
    println!("worst lateness: {} ms", worst.as_millis());
}
// END COPY

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hog_on_the_blocking_pool_barely_delays_the_ticker() {
        let work = Duration::from_millis(300);
        let worst = worst_lateness(work, 35);
        // An order of magnitude, not a timing: a loaded machine may add a
        // few milliseconds, never the hog's whole run.
        assert!(worst < work / 10, "worst lateness {worst:?}");
    }
}
