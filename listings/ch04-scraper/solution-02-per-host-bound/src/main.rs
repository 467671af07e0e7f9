//! A solution to exercise 4-2.
//!
//! The exercise: a bound per host: at most `limit` downloads at once from
//! any one server, however many planets it hosts.

extern crate tokio; // `mdbook test` links crates by name

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One semaphore per host, made the first time the host is asked for.
pub struct PerHost {
    limit: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

// ANCHOR: task
impl PerHost {
    pub fn new(limit: usize) -> PerHost {
        PerHost {
            limit,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until fewer than `limit` permits of `host` are held, and
    /// returns one; dropping it lets the next task in. Hosts do not wait
    /// for each other.
    pub async fn acquire(&self, host: &str) -> OwnedSemaphorePermit {
        let semaphore = {
            let mut hosts = self.hosts.lock().unwrap();
            let limit = self.limit;
            let entry = hosts.entry(host.to_string());
            entry
                .or_insert_with(|| Arc::new(Semaphore::new(limit)))
                .clone()
        }; // The `Mutex` is let go before the `.await`.
        semaphore
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
}
// ANCHOR_END: task

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bound = PerHost::new(2);
    let _first = bound.acquire("planet.example").await;
    println!("one permit held");
}

#[cfg(test)]
mod tests;
