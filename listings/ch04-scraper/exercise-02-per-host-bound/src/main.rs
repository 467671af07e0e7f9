//! Exercise 4-2: a bound per host: at most `limit` downloads at once from
//! any one server, however many planets it hosts.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

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
        // Your code here: find or make the host's `Semaphore` under the
        // `Mutex` (and let the `Mutex` go), then `acquire_owned` on it.
        todo!("a permit for {host}")
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
