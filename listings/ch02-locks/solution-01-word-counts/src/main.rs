//! A solution to exercise 2-1.
//!
//! The exercise: count words on several threads, sharing nothing while
//! they count: each thread fills a tally of its own, and the tallies are
//! merged at the end.

use std::collections::HashMap;
use std::thread;

// ANCHOR: task
/// How many times each word occurs in `texts` (words are what
/// `split_whitespace` gives, as they are), counted on at most `threads`
/// threads (0 is taken as 1). Each thread counts its own share of the
/// texts in a `HashMap` of its own, with no lock; the maps are merged once
/// the threads are done.
pub fn word_counts(texts: &[&str], threads: usize) -> HashMap<String, usize> {
    let share = texts.len().div_ceil(threads.max(1)).max(1);
    let tallies: Vec<HashMap<String, usize>> = thread::scope(|s| {
        let counting: Vec<_> = texts
            .chunks(share)
            .map(|chunk| {
                s.spawn(move || {
                    let mut mine = HashMap::new();
                    for word in chunk.iter().flat_map(|t| t.split_whitespace())
                    {
                        *mine.entry(word.to_string()).or_insert(0) += 1;
                    }
                    mine
                })
            })
            .collect();
        counting.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total = HashMap::new();
    for tally in tallies {
        for (word, n) in tally {
            *total.entry(word).or_insert(0) += n;
        }
    }
    total
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
