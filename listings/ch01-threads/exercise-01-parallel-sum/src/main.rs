//! Exercise 1-1: sum numbers on several threads, each summing its own
//! share, with scoped threads that borrow the numbers.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

use std::thread;

// ANCHOR: task
/// The sum of `numbers`, computed on `threads` threads (0 is taken as 1):
/// each thread sums its own contiguous share, and the shares are added.
pub fn parallel_sum(numbers: &[u64], threads: usize) -> u64 {
    // Your code here: split `numbers` into `threads` shares, sum each on a
    // thread of its own (`thread::scope`), and add the sums.
    todo!("sum {} numbers on {threads} threads", numbers.len())
}
// ANCHOR_END: task

fn main() {
    let numbers: Vec<u64> = (1..=1000).collect();
    println!("{}", parallel_sum(&numbers, 4));
}

#[cfg(test)]
mod tests;
