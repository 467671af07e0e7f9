extern crate crossbeam; // `mdbook test` links crates by name

use std::thread;

use crossbeam::channel::{self, Receiver};
use crossbeam::select;

// ANCHOR: here
/// Adds up the jobs it receives until it is told to stop.
fn worker(jobs: Receiver<u64>, stop: Receiver<()>) -> u64 {
    let mut total = 0;
    loop {
        // Waits until one of the two channels has a message.
        select! {
            recv(jobs) -> job => {
                let job = job.unwrap();
                println!("worker: job {job}");
                total += job;
            }
            recv(stop) -> _ => {
                println!("worker: stop");
                return total;
            }
        }
    }
}
// ANCHOR_END: here

// ANCHOR: main
fn main() {
    // Capacity 0: each `send` waits until the worker takes the job.
    let (jobs_tx, jobs_rx) = channel::bounded(0);
    let (stop_tx, stop_rx) = channel::bounded(1);
    let worker = thread::spawn(move || worker(jobs_rx, stop_rx));
    for job in 1..=3 {
        jobs_tx.send(job).unwrap();
    }
    stop_tx.send(()).unwrap();
    let total = worker.join().unwrap();
    assert_eq!(total, 6);
    println!("main: the jobs add up to {total}");
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worker_takes_every_job_handed_over_before_the_stop() {
        for _ in 0..20 {
            let (jobs_tx, jobs_rx) = channel::bounded(0);
            let (stop_tx, stop_rx) = channel::bounded(1);
            let w = thread::spawn(move || worker(jobs_rx, stop_rx));
            for job in 1..=10 {
                jobs_tx.send(job).unwrap();
            }
            stop_tx.send(()).unwrap();
            assert_eq!(w.join().unwrap(), 55);
        }
    }

    #[test]
    fn an_unbounded_channel_never_makes_the_sender_wait() {
        let (tx, rx) = channel::unbounded();
        for i in 0..10_000 {
            tx.send(i).unwrap(); // Nobody receives yet.
        }
        assert_eq!(rx.len(), 10_000);
    }

    #[test]
    fn a_full_bounded_channel_refuses_more() {
        let (tx, _rx) = channel::bounded(2);
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert!(tx.try_send(3).is_err());
    }
}
