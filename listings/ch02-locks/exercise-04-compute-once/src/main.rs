//! Exercise 2-4: a cache that many threads read at once, and that computes
//! each value once, however many threads ask for it at the same time.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

/// Values by key; a key's slot is made once, and filled once.
#[derive(Default)]
pub struct Cache {
    slots: RwLock<HashMap<u64, Arc<OnceLock<Arc<String>>>>>,
}

// ANCHOR: task
impl Cache {
    /// The value of `key`, computed by `compute` if no thread has yet.
    /// `compute` runs at most once per key, even when threads ask for the
    /// same key at the same time; threads asking for keys already computed
    /// take only the read lock, and do not wait for one another.
    pub fn get_or_compute(
        &self,
        key: u64,
        compute: impl FnOnce(u64) -> String,
    ) -> Arc<String> {
        // Your code here: find the key's slot under the read lock, or make
        // it under the write lock; then fill the slot once
        // (`OnceLock::get_or_init`), outside both locks.
        todo!("the value of key {key}")
    }
}
// ANCHOR_END: task

fn main() {
    let cache = Cache::default();
    println!("{}", cache.get_or_compute(7, |k| format!("seven is {k}")));
}

#[cfg(test)]
mod tests;
