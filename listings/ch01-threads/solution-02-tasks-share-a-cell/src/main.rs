//! A solution to exercise 1-2.
//!
//! The exercise: tasks on one thread share a count in an `Rc<RefCell<_>>`,
//! with no lock, and take turns at each `.await`.

extern crate tokio; // `mdbook test` links crates by name

use std::cell::RefCell;
use std::rc::Rc;
use tokio::task::{self, LocalSet};

// ANCHOR: task
/// Runs `tasks` tasks on a current-thread runtime. Each records its number
/// (0, 1, ...) in a shared log `per_task` times, and yields to the others
/// (`task::yield_now().await`) after each record. Returns the log.
///
/// The log is an `Rc<RefCell<Vec<usize>>>`: no lock, no atomic. `Rc` is
/// not `Send`, so the tasks are spawned with `task::spawn_local`, on a
/// `LocalSet`.
pub fn take_turns(tasks: usize, per_task: usize) -> Vec<usize> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let log: Rc<RefCell<Vec<usize>>> = Rc::default();
    LocalSet::new().block_on(&runtime, async {
        let handles: Vec<_> = (0..tasks)
            .map(|me| {
                let log = log.clone();
                task::spawn_local(async move {
                    for _ in 0..per_task {
                        log.borrow_mut().push(me);
                        task::yield_now().await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    log.take()
}
// ANCHOR_END: task

fn main() {
    println!("{:?}", take_turns(3, 2));
}

#[cfg(test)]
mod tests;
