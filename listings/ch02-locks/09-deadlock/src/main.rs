use std::process;
use std::sync::{Barrier, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

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

// ANCHOR: here
static A: Mutex<u64> = Mutex::new(0);
static B: Mutex<u64> = Mutex::new(0);
static MEET: Barrier = Barrier::new(2);

/// Adds one to both counters, holding both locks so that they stay equal.
fn add_to_both(first: &Mutex<u64>, second: &Mutex<u64>) {
    let mut x = first.lock().unwrap();
    MEET.wait(); // Each thread now holds its first lock.
    let mut y = second.lock().unwrap();
    *x += 1;
    *y += 1;
}

fn start() -> [JoinHandle<()>; 2] {
    let x = thread::spawn(|| add_to_both(&A, &B));
    let y = thread::spawn(|| add_to_both(&B, &A)); // the other order
    [x, y]
}
// ANCHOR_END: here

// ANCHOR: main
fn main() {
    let threads = start();
    if all_finish_within(&threads, Duration::from_secs(1)) {
        println!("both threads finished");
    } else {
        println!("after one second, neither thread has finished:");
        println!("each one waits for a lock that the other holds");
        // Nothing will ever wake them: we end the process, and them with it.
        process::exit(0);
    }
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_threads_deadlock() {
        let threads = start();
        assert!(!all_finish_within(&threads, Duration::from_millis(300)));
        assert!(!threads[0].is_finished() && !threads[1].is_finished());
    }
}
