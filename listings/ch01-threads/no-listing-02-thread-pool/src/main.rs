//! A thread pool, the middle ground between a thread per job and tasks:
//! threads created once, and jobs that take turns on them.

mod pool;

use std::time::Duration;

use crossbeam::channel;
use pool::Pool;

const THREADS: usize = 2;
const JOBS: u64 = 1000;

/// Runs `JOBS` small jobs on the pool and adds up what they send back.
fn sum_of_squares(pool: &Pool) -> u64 {
    let (results, collected) = channel::unbounded();
    for i in 0..JOBS {
        let results = results.clone();
        pool.execute(move || results.send(i * i).unwrap());
    }
    drop(results); // Ours is gone; the jobs' copies go when they finish.
    collected.iter().sum()
}

/// Fills every thread of the pool with a job that waits, then queues one
/// more: it can only run once a waiting job lets its thread go.
fn blocked_jobs_hold_their_threads(pool: &Pool) {
    let (release, released) = channel::unbounded::<()>();
    for _ in 0..THREADS {
        let released = released.clone();
        pool.execute(move || released.recv().unwrap());
    }
    let (ran, has_run) = channel::bounded(1);
    pool.execute(move || ran.send(()).unwrap());
    let waited = has_run.recv_timeout(Duration::from_millis(200)).is_err();
    println!("while {THREADS} jobs wait, one more job waits: {waited}");
    release.send(()).unwrap(); // One waiting job ends, and frees a thread.
    let ran = has_run.recv_timeout(Duration::from_secs(10)).is_ok();
    println!("once one of them ends, it runs: {ran}");
    for _ in 1..THREADS {
        release.send(()).unwrap();
    }
}

fn main() {
    let pool = match Pool::new(THREADS) {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("cannot start the pool: {e}");
            std::process::exit(1);
        }
    };
    let sum = sum_of_squares(&pool);
    println!("{JOBS} jobs on {THREADS} threads: the squares add up to {sum}");
    blocked_jobs_hold_their_threads(&pool);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    #[test]
    fn every_job_runs_once() {
        let pool = Pool::new(THREADS).unwrap();
        let expected: u64 = (0..JOBS).map(|i| i * i).sum();
        assert_eq!(sum_of_squares(&pool), expected);
    }

    #[test]
    fn dropping_the_pool_waits_for_the_queued_jobs() {
        let done = Arc::new(AtomicU64::new(0));
        let pool = Pool::new(2).unwrap();
        for _ in 0..100 {
            let done = done.clone();
            pool.execute(move || {
                std::thread::sleep(Duration::from_millis(1));
                done.fetch_add(1, Relaxed);
            });
        }
        drop(pool);
        assert_eq!(done.load(Relaxed), 100);
    }

    #[test]
    fn a_job_that_panics_leaves_its_thread_to_the_next_job() {
        let pool = Pool::new(1).unwrap();
        pool.execute(|| panic!("a job fails"));
        let (ran, has_run) = channel::bounded(1);
        pool.execute(move || ran.send(()).unwrap());
        let waited = has_run.recv_timeout(Duration::from_secs(10));
        assert!(waited.is_ok(), "the only thread died with the first job");
    }

    #[test]
    fn a_job_waits_while_every_thread_is_taken() {
        let pool = Pool::new(1).unwrap();
        let (release, released) = channel::bounded::<()>(1);
        pool.execute(move || released.recv().unwrap());
        let (ran, has_run) = channel::bounded(1);
        pool.execute(move || ran.send(()).unwrap());
        // Nothing can run it: the only thread waits for `release`.
        assert!(has_run.recv_timeout(Duration::from_millis(50)).is_err());
        release.send(()).unwrap();
        assert!(has_run.recv_timeout(Duration::from_secs(10)).is_ok());
    }

    #[test]
    fn a_pool_of_no_threads_is_refused() {
        let err = Pool::new(0).err().expect("no threads, no pool");
        assert!(err.to_string().contains("at least one thread"));
    }
}
