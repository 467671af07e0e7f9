extern crate tokio; // `mdbook test` links crates by name

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time;

// ANCHOR: here
/// Listing 2-12's `visit`. clippy refuses it (`await_holding_lock`); we
/// allow it here, to see what the lint is for.
#[allow(clippy::await_holding_lock)]
async fn visit(visitors: Arc<Mutex<u64>>) -> u64 {
    let mut count = visitors.lock().unwrap();
    *count += 1;
    time::sleep(Duration::from_millis(10)).await; // the slow greeting
    *count
}

/// Two visitors in one task on one thread: no `tokio::spawn`, so nothing
/// needs to be `Send`, and the compiler accepts it.
fn two_visitors() -> (u64, u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let visitors = Arc::new(Mutex::new(0));
    let (a, b) = (visitors.clone(), visitors);
    runtime.block_on(async { tokio::join!(visit(a), visit(b)) })
}
// ANCHOR_END: here

/// Runs `two_visitors` on a thread of its own, and waits for it one
/// second at most: what it returned, or why not.
fn try_two_visitors() -> Result<(u64, u64), RecvTimeoutError> {
    let (done, finished) = mpsc::channel();
    // If it never returns, the thread stays blocked until the process
    // ends; this one goes on.
    std::thread::spawn(move || {
        let _ = done.send(two_visitors());
    });
    finished.recv_timeout(Duration::from_secs(1))
}

fn main() {
    match try_two_visitors() {
        Ok(numbers) => println!("the visitors got {numbers:?}"),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_visitors_in_one_task_never_finish() {
        // Blocked, not panicked: a panic (a runtime without timers, say)
        // would be another failure than the one this listing shows.
        let result = try_two_visitors();
        assert!(
            matches!(result, Err(RecvTimeoutError::Timeout)),
            "{result:?}"
        );
    }
}
