//! A solution to exercise 4-4.
//!
//! The exercise: run many downloads with at most `at_once` in flight, and
//! hand back each result as soon as it is there.

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
    let at_once = at_once.max(1);
    let mut waiting = jobs.into_iter().enumerate();
    let mut running = JoinSet::new();
    let mut done = Vec::new();
    loop {
        while running.len() < at_once {
            let Some((i, job)) = waiting.next() else {
                break;
            };
            running.spawn(async move { (i, job.await) });
        }
        match running.join_next().await {
            Some(Ok(finished)) => done.push(finished),
            Some(Err(e)) => std::panic::resume_unwind(e.into_panic()),
            None => return done,
        }
    }
}
// ANCHOR_END: task

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let jobs: Vec<_> = (0..3u64).map(|n| async move { n * 2 }).collect();
    println!("{:?}", run_bounded(jobs, 2).await);
}

#[cfg(test)]
mod tests;
