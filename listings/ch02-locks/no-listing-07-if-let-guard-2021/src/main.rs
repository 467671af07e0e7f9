use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// The top of the stack; when it is empty, refills it and returns 0.
/// The same code as in the edition-2024 listing; clippy's `if_let_mutex`
/// refuses it in this edition, as an error.
#[allow(clippy::if_let_mutex)]
fn pop_or_refill(stack: &std::sync::Mutex<Vec<u32>>) -> u32 {
    if let Some(top) = stack.lock().unwrap().pop() {
        top // The guard made in the condition still lives here...
    } else {
        // ...and, in the 2021 edition, here too: a deadlock.
        stack.lock().unwrap().push(1);
        0
    }
}

/// `pop_or_refill` on an empty stack, on a thread of its own, waited for
/// one second at most.
fn try_refill() -> Result<u32, RecvTimeoutError> {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(pop_or_refill(&Default::default()));
    });
    finished.recv_timeout(Duration::from_secs(1))
}

// --------------------------------------------------------------------------
// Below: code copied unchanged from
// listings/ch02-locks/no-listing-06-if-let-guard/src/main.rs, so that this
// folder builds on its own. The book's tests check that each item is the same
// Rust as in its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch02-locks/no-listing-06-if-let-guard/src/main.rs
fn main() {
    match try_refill() {
        Ok(n) => println!("refilled, returned {n}"),
        Err(RecvTimeoutError::Timeout) => {
            println!("still waiting after 1 s: deadlocked")
        }
        // std's `Mutex` may panic, rather than block, when the thread
        // that holds it locks it again: its documentation allows both.
        Err(RecvTimeoutError::Disconnected) => {
            println!("the second lock() panicked")
        }
    }
}
// END COPY

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_2021_the_else_branch_deadlocks() {
        assert_eq!(try_refill(), Err(RecvTimeoutError::Timeout));
    }
}
