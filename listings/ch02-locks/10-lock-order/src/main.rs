use std::sync::{Barrier, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

static A: Mutex<u64> = Mutex::new(0);
static B: Mutex<u64> = Mutex::new(0);
static MEET: Barrier = Barrier::new(2);

// ANCHOR: here
/// Adds one to both counters, holding both locks so that they stay equal.
fn add_to_both(first: &Mutex<u64>, second: &Mutex<u64>) {
    MEET.wait(); // New: we meet before taking any lock
    let mut x = first.lock().unwrap();
    let mut y = second.lock().unwrap();
    *x += 1;
    *y += 1;
}

fn start() -> [JoinHandle<()>; 2] {
    let x = thread::spawn(|| add_to_both(&A, &B));
    let y = thread::spawn(|| add_to_both(&A, &B)); // New: the same order
    [x, y]
}

fn main() {
    let threads = start();
    assert!(all_finish_within(&threads, Duration::from_secs(10)));
    let (a, b) = (*A.lock().unwrap(), *B.lock().unwrap());
    assert_eq!((a, b), (2, 2));
    println!("both threads finished: A = {a}, B = {b}");
}
// ANCHOR_END: here

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 2-9
// (listings/ch02-locks/09-deadlock/src/main.rs), so that this folder builds
// on its own. The book's tests check that each item is the same Rust as in
// its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch02-locks/09-deadlock/src/main.rs
/// Waits up to `limit` for every thread to finish, and says whether they
/// all did. We poll, because a deadlocked thread would never let a `join`
/// return.
fn all_finish_within(threads: &[JoinHandle<()>], limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if threads.iter().all(|t| t.is_finished()) {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}
// END COPY

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_threads_finish() {
        let threads = start();
        assert!(all_finish_within(&threads, Duration::from_secs(10)));
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*A.lock().unwrap(), *B.lock().unwrap());
    }
}
