//! A solution to exercise 2-1.
//!
//! The exercise: count on many threads with no lock and no lost update:
//! each thread counts on its own, and the counts are added at the end.

use std::thread;

// ANCHOR: task
/// Counts to `threads * per_thread`: `threads` threads each count
/// `per_thread` increments in a counter of their own (no `Mutex`, no
/// atomic), and the total is the sum of what their `join`s return.
pub fn count(threads: usize, per_thread: u64) -> u64 {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            thread::spawn(move || {
                let mut mine = 0;
                for _ in 0..per_thread {
                    mine += 1;
                }
                mine
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}
// ANCHOR_END: task

fn main() {
    println!("{}", count(100, 1000));
}

#[cfg(test)]
mod tests;
