//! A solution to exercise 1-4.
//!
//! The exercise: blocking work goes to tokio's blocking pool, off the
//! thread that runs the tasks.

extern crate tokio; // `mdbook test` links crates by name

use std::thread::{self, ThreadId};

// ANCHOR: task
/// The sum of `data`'s bytes, computed on tokio's pool of blocking threads
/// (`tokio::task::spawn_blocking`), so that the thread that runs the tasks
/// is free meanwhile. Returns the sum, and the thread that computed it.
pub async fn checksum_elsewhere(data: Vec<u8>) -> (u64, ThreadId) {
    tokio::task::spawn_blocking(move || {
        let sum = data.iter().map(|&b| u64::from(b)).sum();
        (sum, thread::current().id())
    })
    .await
    .expect("the checksum panicked")
}
// ANCHOR_END: task

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (sum, _) = checksum_elsewhere(vec![1; 1 << 20]).await;
    println!("{sum}");
}

#[cfg(test)]
mod tests;
