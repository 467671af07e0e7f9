//! Exercise 2-1: count on many threads with no lock and no lost update:
//! each thread counts on its own, and the counts are added at the end.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

use std::thread;

// ANCHOR: task
/// Counts to `threads * per_thread`: `threads` threads each count
/// `per_thread` increments in a counter of their own (no `Mutex`, no
/// atomic), and the total is the sum of what their `join`s return.
pub fn count(threads: usize, per_thread: u64) -> u64 {
    // Your code here: spawn the threads, let each count in a local
    // variable and return it, then add up what the joins return.
    todo!("{threads} threads of {per_thread} increments")
}
// ANCHOR_END: task

fn main() {
    println!("{}", count(100, 1000));
}

#[cfg(test)]
mod tests;
