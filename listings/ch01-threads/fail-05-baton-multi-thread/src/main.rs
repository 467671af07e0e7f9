extern crate tokio; // `mdbook test` links crates by name

use std::cell::Cell;
use std::rc::Rc;

use tokio::task;

// ANCHOR: here
async fn incr(counter: Rc<Cell<u64>>) {
    for _ in 0..1000 {
        counter.set(counter.get() + 1);
        task::yield_now().await;
    }
}

#[tokio::main]
async fn main() {
    let counter = Rc::new(Cell::new(0));
    let tasks: Vec<_> = (0..100)
        .map(|_| tokio::spawn(incr(counter.clone())))
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    println!("count = {}", counter.get());
}
// ANCHOR_END: here
