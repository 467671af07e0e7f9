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
        counter.set(counter.get() + 1);
        // We pass the baton: every other task may run before we resume.
        task::yield_now().await;
    }
}

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
// ANCHOR_END: here

fn main() {
    let count = execute();
    assert_eq!(count, TASKS * INCREMENTS);
    println!("count = {count}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_update_is_lost() {
        assert_eq!(execute(), 100_000);
    }
}
