extern crate tokio; // `mdbook test` links crates by name

use std::cell::Cell;
use std::rc::Rc;

use tokio::runtime::Builder;
use tokio::task::{self, LocalSet};

const TASKS: u64 = 100;
const INCREMENTS: u64 = 1000;

// ANCHOR: here
async fn incr(counter: Rc<Cell<u64>>) {
    for _ in 0..INCREMENTS {
        let v = counter.get();
        // We pass the baton while we still hold a value we have read.
        task::yield_now().await;
        counter.set(v + 1);
    }
}
// ANCHOR_END: here

fn main() {
    let count = execute();
    assert!(count <= TASKS * INCREMENTS);
    let lost = TASKS * INCREMENTS - count;
    println!("count = {count}, lost updates = {lost}");
}

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 1-4
// (listings/ch01-threads/04-baton/src/main.rs), so that this folder builds on
// its own. The book's tests check that each item is the same Rust as in its
// source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch01-threads/04-baton/src/main.rs
fn execute() -> u64 {
    let runtime = Builder::new_current_thread().build().unwrap();
    let counter = Rc::new(Cell::new(0));
    LocalSet::new().block_on(&runtime, async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| task::spawn_local(incr(counter.clone())))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    counter.get()
}
// END COPY

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_are_lost_on_a_single_thread() {
        let count = execute();
        assert!(count < TASKS * INCREMENTS);
    }
}
