use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;

const THREADS: u64 = 100;
const INCREMENTS: u64 = 1000;

// ANCHOR: here
fn incr(counter: &AtomicU64, start: &Barrier) {
    // We wait for every thread, so that they all race from the same line.
    start.wait();
    for _ in 0..INCREMENTS {
        let v = counter.load(Relaxed);
        // Another thread may store its own value right here.
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
// ANCHOR_END: here

fn main() {
    let count = execute();
    assert!(count <= THREADS * INCREMENTS);
    let lost = THREADS * INCREMENTS - count;
    println!("count = {count}, lost updates = {lost}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_never_exceeds_the_increments() {
        for _ in 0..10 {
            let count = execute();
            assert!(count <= THREADS * INCREMENTS);
            // Not a law: a hostile schedule could end lower. But losing
            // over 99% of the updates would point at a bug in our code.
            assert!(count >= INCREMENTS);
        }
    }
}
