use std::sync::{Barrier, Mutex};
use std::thread;

const THREADS: u64 = 100;
const INCREMENTS: u64 = 1000;

// ANCHOR: here
// New: a Mutex that owns the counter, instead of an AtomicU64
fn incr(counter: &Mutex<u64>, start: &Barrier) {
    start.wait();
    for _ in 0..INCREMENTS {
        // New: the critical section is the life of the guard
        let mut count = counter.lock().unwrap();
        *count += 1;
    } // The guard is dropped here, and the lock released.
}

fn execute() -> u64 {
    let counter = Mutex::new(0);
    let start = Barrier::new(THREADS as usize);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| incr(&counter, &start));
        }
    });
    counter.into_inner().unwrap()
}
// ANCHOR_END: here

fn main() {
    let count = execute();
    assert_eq!(count, THREADS * INCREMENTS);
    println!("count = {count}");
}

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
    fn the_guard_releases_the_lock_when_dropped() {
        let counter = Mutex::new(0);
        {
            let mut count = counter.lock().unwrap();
            *count += 1;
            // While the guard lives, nobody else gets the lock.
            assert!(counter.try_lock().is_err());
        }
        assert_eq!(*counter.try_lock().unwrap(), 1);
    }
}
