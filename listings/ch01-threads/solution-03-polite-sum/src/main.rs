//! A solution to exercise 1-3.
//!
//! The exercise: a long computation in a task that lets the others run.

extern crate tokio; // `mdbook test` links crates by name

use tokio::task;

// ANCHOR: task
/// The sum of `0..n`, computed in a task that yields to the runtime
/// (`task::yield_now().await`) after every `every` additions, so that the
/// other tasks of a current-thread runtime keep running meanwhile.
pub async fn polite_sum(n: u64, every: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        sum += i;
        if every > 0 && (i + 1) % every == 0 {
            task::yield_now().await;
        }
    }
    sum
}
// ANCHOR_END: task

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!("{}", polite_sum(10_000_000, 100_000).await);
}

#[cfg(test)]
mod tests;
