use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;

const THREADS: u64 = 100;
const INCREMENTS: u64 = 1000;

// ANCHOR: here
fn incr(counter: &AtomicU64, start: &Barrier) {
    start.wait();
    for _ in 0..INCREMENTS {
        // New: read, add and write back, as one indivisible operation
        counter.fetch_add(1, Relaxed);
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
    // Every thread has finished: nothing can still be adding.
    counter.into_inner()
}

fn main() {
    let count = execute();
    assert_eq!(count, THREADS * INCREMENTS); // New: no update is lost
    println!("count = {count}");
}
// ANCHOR_END: here

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_update_is_lost() {
        for _ in 0..5 {
            assert_eq!(execute(), THREADS * INCREMENTS);
        }
    }

    #[test]
    fn fetch_add_returns_the_value_it_replaced() {
        let counter = AtomicU64::new(41);
        assert_eq!(counter.fetch_add(1, Relaxed), 41);
        assert_eq!(counter.load(Relaxed), 42);
    }
}
