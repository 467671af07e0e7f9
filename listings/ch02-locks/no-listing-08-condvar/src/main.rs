use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};
use std::thread;

// ANCHOR: here
/// Jobs that workers wait for without spinning: a `Mutex` for the data,
/// a `Condvar` for the waiting.
#[derive(Default)]
struct Queue {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    jobs: VecDeque<u64>,
    closed: bool,
}

impl Queue {
    fn push(&self, job: u64) {
        self.state.lock().unwrap().jobs.push_back(job);
        self.changed.notify_one(); // One job: one worker to wake.
    }

    fn close(&self) {
        self.state.lock().unwrap().closed = true;
        self.changed.notify_all(); // Every waiting worker must hear it.
    }
    // ANCHOR_END: here

    // ANCHOR: pop
    /// The next job, or `None` once the queue is closed and empty.
    fn pop(&self) -> Option<u64> {
        let mut state = self.state.lock().unwrap();
        loop {
            if let Some(job) = state.jobs.pop_front() {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            // Unlocks, sleeps until notified, locks again. A wake-up may
            // come with nothing to do (the docs allow spurious ones, and
            // another worker may have taken the job): so, check again.
            state = self.changed.wait(state).unwrap();
        }
    }
}
// ANCHOR_END: pop

/// Four workers sum the jobs 1 to `n` that the main thread pushes.
fn sum_with_workers(n: u64) -> u64 {
    let queue = Queue::default();
    thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut sum = 0;
                    while let Some(job) = queue.pop() {
                        sum += job;
                    }
                    sum
                })
            })
            .collect();
        for job in 1..=n {
            queue.push(job);
        }
        queue.close();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    })
}

fn main() {
    println!("four workers summed 1 to 100: {}", sum_with_workers(100));
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn every_job_is_done_once_and_every_worker_ends() {
        let (done, finished) = mpsc::channel();
        thread::spawn(move || {
            for _ in 0..100 {
                let _ = done.send(sum_with_workers(1000));
            }
        });
        for _ in 0..100 {
            // A worker that was never woken would hold this up for ever.
            let sum = finished.recv_timeout(Duration::from_secs(10));
            assert_eq!(sum.expect("a worker was never woken"), 500_500);
        }
    }
}
