//! A pool of threads: a fixed number of threads that run the jobs sent to
//! them, each job on whichever thread is free.

extern crate crossbeam; // `mdbook test` links crates by name

use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::thread::{self, JoinHandle};

use crossbeam::channel::{self, Receiver, Sender};

type Job = Box<dyn FnOnce() + Send>;

/// Threads that run the jobs sent to them.
// ANCHOR: pool
pub struct Pool {
    jobs: Option<Sender<Job>>, // `None` once the pool is being dropped
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `size` threads that wait for jobs, or says why it cannot.
    pub fn new(size: usize) -> io::Result<Pool> {
        if size == 0 {
            return Err(io::Error::other("a pool needs at least one thread"));
        }
        let (jobs, queue) = channel::unbounded::<Job>();
        let threads = (0..size)
            .map(|i| {
                let queue = queue.clone();
                let name = format!("pool-{i}");
                thread::Builder::new().name(name).spawn(move || work(queue))
            })
            .collect::<io::Result<_>>()?;
        let jobs = Some(jobs);
        Ok(Pool { jobs, threads })
    }
    // ANCHOR_END: pool

    // ANCHOR: execute
    /// Queues `job` for the first thread that is free.
    pub fn execute(&self, job: impl FnOnce() + Send + 'static) {
        let jobs = self.jobs.as_ref().expect("only `drop` takes the sender");
        // The threads hold the receivers and never end before the pool.
        jobs.send(Box::new(job))
            .expect("the pool's threads are gone");
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.jobs = None;
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// What each of the pool's threads does: run jobs until the queue closes.
fn work(queue: Receiver<Job>) {
    for job in queue {
        // A job that panics ends; its thread goes on.
        let _ = panic::catch_unwind(AssertUnwindSafe(job));
    }
}
// ANCHOR_END: execute

// The book shows excerpts of this file, and compiles each one as a program
// of its own. A program needs a `main`: this one does nothing. The real one
// is in `main.rs`.
#[allow(dead_code)]
fn main() {}
