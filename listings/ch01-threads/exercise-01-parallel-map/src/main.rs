//! Exercise 1-1: apply a function to every item, on several threads, and
//! keep the results in the order of the items.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

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
    // Your code here: cut `items` into shares (`chunks`), map each share
    // on a thread of `thread::scope`, and put the results back in order.
    todo!("map {} items on {threads} threads", items.len())
}
// ANCHOR_END: task

fn main() {
    let words = ["one", "two", "three"];
    println!("{:?}", parallel_map(&words, 2, |w| w.len()));
}

#[cfg(test)]
mod tests;
