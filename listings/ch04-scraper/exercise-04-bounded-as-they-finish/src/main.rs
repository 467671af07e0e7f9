//! Exercise 4-4: run many downloads with at most `at_once` in flight, and
//! hand back each result as soon as it is there.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

extern crate tokio; // `mdbook test` links crates by name

use std::future::Future;
use tokio::task::JoinSet;

// ANCHOR: task
/// Runs every job, at most `at_once` at a time (0 is taken as 1), each as
/// a tokio task, and returns (index of the job, its output) in the order
/// the jobs finished. A new job starts as soon as one finishes.
pub async fn run_bounded<T, Fut>(
    jobs: Vec<Fut>,
    at_once: usize,
) -> Vec<(usize, T)>
where
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    // Your code here: a `JoinSet` of at most `at_once` tasks, each
    // returning its index with its output; `join_next` gives them as they
    // finish, and each finished one makes room for the next job.
    todo!("{} jobs, {at_once} at a time", jobs.len())
}
// ANCHOR_END: task

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let jobs: Vec<_> = (0..3u64).map(|n| async move { n * 2 }).collect();
    println!("{:?}", run_bounded(jobs, 2).await);
}

#[cfg(test)]
mod tests;
