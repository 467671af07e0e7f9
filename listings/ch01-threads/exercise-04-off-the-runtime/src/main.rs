//! Exercise 1-4: blocking work goes to tokio's blocking pool, off the
//! thread that runs the tasks.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

extern crate tokio; // `mdbook test` links crates by name

use std::thread::{self, ThreadId};

// ANCHOR: task
/// The sum of `data`'s bytes, computed on tokio's pool of blocking threads
/// (`tokio::task::spawn_blocking`), so that the thread that runs the tasks
/// is free meanwhile. Returns the sum, and the thread that computed it.
pub async fn checksum_elsewhere(data: Vec<u8>) -> (u64, ThreadId) {
    // Your code here: hand the work to `tokio::task::spawn_blocking`, and
    // await its result.
    todo!("sum {} bytes on another thread", data.len())
}
// ANCHOR_END: task

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (sum, _) = checksum_elsewhere(vec![1; 1 << 20]).await;
    println!("{sum}");
}

#[cfg(test)]
mod tests;
