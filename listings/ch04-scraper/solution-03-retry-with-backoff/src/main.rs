//! A solution to exercise 4-3.
//!
//! The exercise: try a download again after a failure, waiting longer
//! each time.

extern crate tokio; // `mdbook test` links crates by name

use std::future::Future;
use std::time::Duration;

// ANCHOR: task
/// Runs `attempt(0)`, and while it fails and tries are left (`tries` in
/// all; 0 is taken as 1), waits and runs the next attempt: `first_wait`
/// before attempt 1, twice that before attempt 2, and so on. Returns the
/// first success, or the last error.
pub async fn retry<T, E, F, Fut>(
    tries: u32,
    first_wait: Duration,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let tries = tries.max(1);
    let mut wait = first_wait;
    let mut n = 0;
    loop {
        match attempt(n).await {
            Ok(value) => return Ok(value),
            Err(e) if n + 1 >= tries => return Err(e),
            Err(_) => {}
        }
        tokio::time::sleep(wait).await;
        wait = wait.saturating_mul(2);
        n += 1;
    }
}
// ANCHOR_END: task

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let result: Result<u32, String> =
        retry(3, Duration::from_millis(10), |n| async move {
            if n < 2 {
                Err(format!("attempt {n} failed"))
            } else {
                Ok(n)
            }
        })
        .await;
    println!("{result:?}");
}

#[cfg(test)]
mod tests;
