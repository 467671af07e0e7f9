use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::thread;

// ANCHOR: here
/// Four threads that each add one, through an `Arc`: no scope, so each
/// thread owns a handle on the counter; whoever drops the last handle
/// frees it.
fn with_a_mutex() -> u64 {
    let counter = Arc::new(Mutex::new(0u64));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let counter = Arc::clone(&counter); // One more owner.
            thread::spawn(move || *counter.lock().unwrap() += 1)
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    // The threads are done, and their handles gone: ours is the last,
    // and `into_inner` takes the mutex out of it.
    Arc::into_inner(counter).unwrap().into_inner().unwrap()
}
// ANCHOR_END: here

/// The same with an atomic, which is `Sync` on its own.
fn with_an_atomic() -> u64 {
    let counter = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || counter.fetch_add(1, Relaxed))
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    counter.load(Relaxed)
}

fn main() {
    println!("with a mutex: count = {}", with_a_mutex());
    println!("with an atomic: count = {}", with_an_atomic());
}
