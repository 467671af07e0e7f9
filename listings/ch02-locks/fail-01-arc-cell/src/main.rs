use std::cell::Cell;
use std::sync::Arc;
use std::thread;

// ANCHOR: here
fn main() {
    let counter = Arc::new(Cell::new(0u64));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let counter = counter.clone();
            thread::spawn(move || counter.set(counter.get() + 1))
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    println!("count = {}", counter.get());
}
// ANCHOR_END: here
