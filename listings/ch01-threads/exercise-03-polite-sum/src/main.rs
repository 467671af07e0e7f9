//! Exercise 1-3: a long computation in a task that lets the others run.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

extern crate tokio; // `mdbook test` links crates by name

use tokio::task;

// ANCHOR: task
/// The sum of `0..n`, computed in a task that yields to the runtime
/// (`task::yield_now().await`) after every `every` additions, so that the
/// other tasks of a current-thread runtime keep running meanwhile.
pub async fn polite_sum(n: u64, every: u64) -> u64 {
    // Your code here: add up `0..n`, and yield after every `every`
    // additions.
    todo!("sum 0..{n}, yielding every {every}")
}
// ANCHOR_END: task

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("{}", polite_sum(10_000_000, 100_000).await);
}

#[cfg(test)]
mod tests;
