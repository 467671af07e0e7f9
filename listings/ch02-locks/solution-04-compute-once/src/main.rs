//! A solution to exercise 2-4.
//!
//! The exercise: a cache that many threads read at once, and that computes
//! each value once, however many threads ask for it at the same time.

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
        let found = self.slots.read().unwrap().get(&key).cloned();
        let slot = match found {
            Some(slot) => slot,
            // Another thread may make the slot between our two locks:
            // `entry` keeps the first one made.
            None => self.slots.write().unwrap().entry(key).or_default().clone(),
        };
        // Outside the locks: a slow `compute` holds up only the threads
        // that want this very key.
        slot.get_or_init(|| Arc::new(compute(key))).clone()
    }
}
// ANCHOR_END: task

fn main() {
    let cache = Cache::default();
    println!("{}", cache.get_or_compute(7, |k| format!("seven is {k}")));
}

#[cfg(test)]
mod tests;
