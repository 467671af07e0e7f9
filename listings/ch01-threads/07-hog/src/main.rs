extern crate tokio; // `mdbook test` links crates by name

use std::time::Duration;

use tokio::runtime::Builder;
use tokio::time::{self, Instant};

const PERIOD: Duration = Duration::from_millis(10);
const TICKS: u32 = 60;
const HOG: Duration = Duration::from_millis(500);

/// Keeps the CPU busy for `work` without ever giving the runtime a chance
/// to run anything else.
fn spin(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

// ANCHOR: here
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

async fn hog(work: Duration) {
    let start = Instant::now();
    while start.elapsed() < work {
        spin(Duration::from_millis(1)); // one millisecond of work
    }
}
// ANCHOR_END: here

// ANCHOR: run
fn worst_lateness(work: Duration, ticks: u32) -> Duration {
    let runtime = Builder::new_current_thread().enable_time().build().unwrap();
    runtime.block_on(async {
        let start = Instant::now();
        let ticker = tokio::spawn(ticker(start, ticks));
        tokio::spawn(hog(work));
        ticker.await.unwrap()
    })
}
// ANCHOR_END: run

fn main() {
    let worst = worst_lateness(HOG, TICKS);
    println!("worst lateness: {} ms", worst.as_millis());
    // The first tick is due 10 ms after `start`; the hog keeps the only
    // thread until at least 500 ms after it.
    assert!(worst >= HOG - PERIOD);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hog_delays_the_ticker_by_its_whole_run() {
        let work = Duration::from_millis(100);
        let worst = worst_lateness(work, 15);
        assert!(worst >= work - PERIOD, "worst lateness {worst:?}");
    }
}
