//! Six ways for many workers to count to the same total. Each function
//! starts `threads` workers (threads, or tasks for `tasks`), each adds one
//! `per_thread` times, and the function returns the final count.

extern crate crossbeam; // `mdbook test` links crates by name
extern crate tokio; // `mdbook test` links crates by name

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Barrier, Mutex};
use std::thread;

use crossbeam::channel;
use tokio::runtime::Builder;
use tokio::task::{self, LocalSet};

// ANCHOR: on-threads
/// Runs `work` on `threads` threads, which all start at the same moment,
/// and returns what each of them returned.
fn on_threads<T: Send>(threads: usize, work: impl Fn() -> T + Sync) -> Vec<T> {
    let start = Barrier::new(threads);
    thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    work()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}
// ANCHOR_END: on-threads

// ANCHOR: racy
pub fn racy(threads: usize, per_thread: u64) -> u64 {
    let counter = AtomicU64::new(0);
    on_threads(threads, || {
        for _ in 0..per_thread {
            let v = counter.load(Relaxed);
            counter.store(v + 1, Relaxed); // Updates can be lost here.
        }
    });
    counter.into_inner()
}
// ANCHOR_END: racy

// ANCHOR: mutex
pub fn mutex(threads: usize, per_thread: u64) -> u64 {
    let counter = Mutex::new(0);
    on_threads(threads, || {
        for _ in 0..per_thread {
            *counter.lock().unwrap() += 1;
        }
    });
    counter.into_inner().unwrap()
}
// ANCHOR_END: mutex

// ANCHOR: atomic
pub fn atomic(threads: usize, per_thread: u64) -> u64 {
    let counter = AtomicU64::new(0);
    on_threads(threads, || {
        for _ in 0..per_thread {
            counter.fetch_add(1, Relaxed);
        }
    });
    counter.into_inner()
}
// ANCHOR_END: atomic

// ANCHOR: per-thread
pub fn per_thread(threads: usize, per_thread: u64) -> u64 {
    let counts = on_threads(threads, || {
        let mut count = 0;
        for _ in 0..per_thread {
            // `black_box` keeps the optimiser from replacing the loop with
            // a single addition: we want to time real increments.
            count = black_box(count) + 1;
        }
        count
    });
    counts.iter().sum()
}
// ANCHOR_END: per-thread

// ANCHOR: owner
pub fn owner(threads: usize, per_thread: u64) -> u64 {
    // At most 1024 increments wait in the channel: a worker that gets too
    // far ahead of the owner waits for it to catch up.
    let (tx, rx) = channel::bounded(1024);
    thread::scope(|s| {
        let owner = s.spawn(move || {
            let mut count = 0; // Only this thread ever touches the count.
            for n in rx {
                count += n;
            }
            count
        });
        on_threads(threads, || {
            for _ in 0..per_thread {
                tx.send(1).unwrap();
            }
        });
        drop(tx); // The last sender is gone: the owner's loop ends.
        owner.join().unwrap()
    })
}
// ANCHOR_END: owner

// ANCHOR: tasks
pub fn tasks(tasks: usize, per_task: u64) -> u64 {
    let runtime = Builder::new_current_thread().build().unwrap();
    let counter = Rc::new(Cell::new(0));
    LocalSet::new().block_on(&runtime, async {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let counter = counter.clone();
                task::spawn_local(async move {
                    for _ in 0..per_task {
                        counter.set(counter.get() + 1);
                        task::yield_now().await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
    });
    counter.get()
}
// ANCHOR_END: tasks

// The book shows excerpts of this file, and compiles each one as a program
// of its own. A program needs a `main`: this one does nothing. The real one
// is in `main.rs`.
#[allow(dead_code)]
fn main() {}
