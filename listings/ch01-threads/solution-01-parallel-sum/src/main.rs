//! A solution to exercise 1-1.
//!
//! The exercise: sum numbers on several threads, each summing its own
//! share, with scoped threads that borrow the numbers.

use std::thread;

// ANCHOR: task
/// The sum of `numbers`, computed on `threads` threads (0 is taken as 1):
/// each thread sums its own contiguous share, and the shares are added.
pub fn parallel_sum(numbers: &[u64], threads: usize) -> u64 {
    let threads = threads.max(1);
    // Shares of `len / threads`, rounded up, so that there are at most
    // `threads` of them; an empty slice has none.
    let share = numbers.len().div_ceil(threads).max(1);
    thread::scope(|s| {
        let sums: Vec<_> = numbers
            .chunks(share)
            .map(|chunk| s.spawn(move || chunk.iter().sum::<u64>()))
            .collect();
        sums.into_iter().map(|h| h.join().unwrap()).sum()
    })
}
// ANCHOR_END: task

fn main() {
    let numbers: Vec<u64> = (1..=1000).collect();
    println!("{}", parallel_sum(&numbers, 4));
}

#[cfg(test)]
mod tests;
