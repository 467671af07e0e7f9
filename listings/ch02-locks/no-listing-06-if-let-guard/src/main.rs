use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

// ANCHOR: here
/// The top of the stack; when it is empty, refills it and returns 0.
fn pop_or_refill(stack: &Mutex<Vec<u32>>) -> u32 {
    if let Some(top) = stack.lock().unwrap().pop() {
        top // The guard made in the condition still lives here...
    } else {
        // ...and, since the 2024 edition, no longer here.
        stack.lock().unwrap().push(1);
        0
    }
}
// ANCHOR_END: here

/// `pop_or_refill` on an empty stack, on a thread of its own, waited for
/// one second at most.
fn try_refill() -> Result<u32, RecvTimeoutError> {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(pop_or_refill(&Mutex::new(Vec::new())));
    });
    finished.recv_timeout(Duration::from_secs(1))
}

fn main() {
    match try_refill() {
        Ok(n) => println!("refilled, returned {n}"),
        Err(RecvTimeoutError::Timeout) => {
            println!("still waiting after 1 s: deadlocked")
        }
        Err(RecvTimeoutError::Disconnected) => {
            println!("the second lock() panicked")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_else_branch_may_lock_again() {
        assert_eq!(try_refill(), Ok(0));
    }
}
