//! A solution to exercise 1-1.
//!
//! The exercise: apply a function to every item, on several threads, and
//! keep the results in the order of the items.

use std::thread;

// ANCHOR: task
/// `f` of every item of `items`, in the order of the items, computed on at
/// most `threads` threads (0 is taken as 1): each thread maps its own
/// contiguous share of the items. `f` is called once per item.
pub fn parallel_map<T, U, F>(items: &[T], threads: usize, f: F) -> Vec<U>
where
    T: Sync,
    U: Send,
    F: Fn(&T) -> U + Sync,
{
    let share = items.len().div_ceil(threads.max(1)).max(1);
    let f = &f;
    thread::scope(|s| {
        let shares: Vec<_> = items
            .chunks(share)
            .map(|chunk| {
                s.spawn(move || chunk.iter().map(f).collect::<Vec<U>>())
            })
            .collect();
        // Joined in the order they were spawned: the order of the items.
        shares
            .into_iter()
            .flat_map(|h| h.join().expect("f panicked"))
            .collect()
    })
}
// ANCHOR_END: task

fn main() {
    let words = ["one", "two", "three"];
    println!("{:?}", parallel_map(&words, 2, |w| w.len()));
}

#[cfg(test)]
mod tests;
