//! Exercise 2-1: count words on several threads, sharing nothing while
//! they count: each thread fills a tally of its own, and the tallies are
//! merged at the end.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

use std::collections::HashMap;
use std::thread;

// ANCHOR: task
/// How many times each word occurs in `texts` (words are what
/// `split_whitespace` gives, as they are), counted on at most `threads`
/// threads (0 is taken as 1). Each thread counts its own share of the
/// texts in a `HashMap` of its own, with no lock; the maps are merged once
/// the threads are done.
pub fn word_counts(texts: &[&str], threads: usize) -> HashMap<String, usize> {
    // Your code here: share the texts out (`chunks`), give each share a
    // scoped thread that returns its own `HashMap`, then merge the maps.
    todo!("{} texts on {threads} threads", texts.len())
}
// ANCHOR_END: task

fn main() {
    let texts = ["the cat", "the dog", "a cat"];
    let mut counts: Vec<_> = word_counts(&texts, 2).into_iter().collect();
    counts.sort();
    println!("{counts:?}");
}

#[cfg(test)]
mod tests;
