//! Six ways for many workers to count to the same total. Each function
//! starts `threads` workers (threads, or tasks for `tasks`), each adds one
//! `per_thread` times, and the function returns the final count with the
//! time the counting took.

extern crate crossbeam; // `mdbook test` links crates by name
extern crate tokio; // `mdbook test` links crates by name

use std::cell::Cell;
use std::hint::black_box;
use std::ops::Range;
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam::channel;
use tokio::runtime::Builder;
use tokio::task::{self, LocalSet};

// ANCHOR: tally
/// What a way to count returns: the count it reached, and the time from
/// the moment the first worker began counting to the moment the count was
/// complete. Starting and joining the workers is not part of it.
pub struct Tally {
    pub count: u64,
    pub time: Duration,
}

impl Tally {
    fn new(count: u64, span: Range<Instant>) -> Tally {
        let time = span.end.saturating_duration_since(span.start);
        Tally { count, time }
    }
}
// ANCHOR_END: tally

/// Runs `work` on `threads` threads, all released at the same moment.
/// Returns what each of them returned, and the span from the first one's
/// start to the last one's end.
// ANCHOR: on-threads
pub fn on_threads<T: Send>(
    threads: usize,
    work: impl Fn() -> T + Sync,
) -> (Vec<T>, Range<Instant>) {
    let arrived = AtomicUsize::new(0);
    let runs: Vec<(T, Instant, Instant)> = thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    arrived.fetch_add(1, Relaxed);
                    while arrived.load(Relaxed) < threads {
                        thread::yield_now();
                    }
                    let began = Instant::now();
                    (work(), began, Instant::now())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let now = Instant::now(); // The span of no threads at all is empty.
    let first = runs.iter().map(|r| r.1).min().unwrap_or(now);
    let last = runs.iter().map(|r| r.2).max().unwrap_or(now);
    (runs.into_iter().map(|r| r.0).collect(), first..last)
}
// ANCHOR_END: on-threads

// ANCHOR: racy
pub fn racy(threads: usize, per_thread: u64) -> Tally {
    let counter = AtomicU64::new(0);
    let (_, span) = on_threads(threads, || {
        for _ in 0..per_thread {
            let v = counter.load(Relaxed);
            counter.store(v + 1, Relaxed); // Updates can be lost here.
        }
    });
    Tally::new(counter.into_inner(), span)
}
// ANCHOR_END: racy

// ANCHOR: mutex
pub fn mutex(threads: usize, per_thread: u64) -> Tally {
    let counter = Mutex::new(0);
    let (_, span) = on_threads(threads, || {
        for _ in 0..per_thread {
            *counter.lock().unwrap() += 1;
        }
    });
    Tally::new(counter.into_inner().unwrap(), span)
}
// ANCHOR_END: mutex

// ANCHOR: atomic
pub fn atomic(threads: usize, per_thread: u64) -> Tally {
    let counter = AtomicU64::new(0);
    let (_, span) = on_threads(threads, || {
        for _ in 0..per_thread {
            counter.fetch_add(1, Relaxed);
        }
    });
    Tally::new(counter.into_inner(), span)
}
// ANCHOR_END: atomic

// ANCHOR: per-thread
pub fn per_thread(threads: usize, per_thread: u64) -> Tally {
    let (counts, span) = on_threads(threads, || {
        let mut count = 0;
        for _ in 0..per_thread {
            // `black_box` keeps the optimiser from replacing the loop with
            // a single addition: we want to time real increments.
            count = black_box(count) + 1;
        }
        count
    });
    Tally::new(counts.iter().sum(), span)
}
// ANCHOR_END: per-thread

// ANCHOR: owner
pub fn owner(threads: usize, per_thread: u64) -> Tally {
    let (tx, rx) = channel::bounded(1024);
    let total = threads as u64 * per_thread;
    thread::scope(|s| {
        let owner = s.spawn(move || {
            let mut count = 0; // Only this thread ever touches the count.
            let mut complete = None;
            for n in rx {
                count += n;
                if count == total {
                    complete = Some(Instant::now()); // The last increment.
                }
            }
            (count, complete)
        });
        let (_, span) = on_threads(threads, || {
            for _ in 0..per_thread {
                tx.send(1).unwrap();
            }
        });
        drop(tx); // The last sender is gone: the owner's loop ends.
        let (count, complete) = owner.join().unwrap();
        Tally::new(count, span.start..complete.unwrap_or(span.end))
    })
}
// ANCHOR_END: owner

// ANCHOR: tasks
pub fn tasks(tasks: usize, per_task: u64) -> Tally {
    let runtime = Builder::new_current_thread().build().unwrap();
    let counter = Rc::new(Cell::new(0));
    let span = LocalSet::new().block_on(&runtime, async {
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
        let began = Instant::now(); // No task runs before the first await.
        for h in handles {
            h.await.unwrap();
        }
        began..Instant::now()
    });
    Tally::new(counter.get(), span)
}
// ANCHOR_END: tasks

/// Spawns `threads` threads that each run `work` as soon as they start,
/// with no wait for the others, and joins them all: the article's way.
/// Returns the span from before the first spawn to after the last join.
pub fn spawned_and_joined(
    threads: usize,
    work: impl Fn() + Sync,
) -> Range<Instant> {
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(&work);
        }
    });
    start..Instant::now()
}

/// The racy counter timed as the article timed it.
pub fn racy_as_the_article(threads: usize, per_thread: u64) -> Tally {
    let counter = AtomicU64::new(0);
    let span = spawned_and_joined(threads, || {
        for _ in 0..per_thread {
            let v = counter.load(Relaxed);
            counter.store(v + 1, Relaxed);
        }
    });
    Tally::new(counter.into_inner(), span)
}

/// The locked counter, timed the same way.
pub fn mutex_as_the_article(threads: usize, per_thread: u64) -> Tally {
    let counter = Mutex::new(0);
    let span = spawned_and_joined(threads, || {
        for _ in 0..per_thread {
            *counter.lock().unwrap() += 1;
        }
    });
    Tally::new(counter.into_inner().unwrap(), span)
}

// The book shows excerpts of this file, and compiles each one as a program
// of its own. A program needs a `main`: this one does nothing. The real one
// is in `main.rs`.
#[allow(dead_code)]
fn main() {}
