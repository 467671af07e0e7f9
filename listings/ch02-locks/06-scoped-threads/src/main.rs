extern crate crossbeam; // `mdbook test` links crates by name

use std::thread;

// ANCHOR: here
/// Sums `data` on `parts` threads, each summing its own slice of it.
fn sum_std(data: &[u64], parts: usize) -> u64 {
    let chunk = data.len().div_ceil(parts);
    thread::scope(|s| {
        let sums: Vec<_> = data
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().sum::<u64>()))
            .collect();
        sums.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

/// The same with crossbeam's scoped threads.
fn sum_crossbeam(data: &[u64], parts: usize) -> u64 {
    let chunk = data.len().div_ceil(parts);
    crossbeam::scope(|s| {
        let sums: Vec<_> = data
            .chunks(chunk)
            .map(|part| s.spawn(move |_| part.iter().sum::<u64>()))
            .collect();
        sums.into_iter().map(|h| h.join().unwrap()).sum()
    })
    .unwrap() // An error if a thread panicked and nobody joined it.
}
// ANCHOR_END: here

fn main() {
    let data: Vec<u64> = (1..=1000).collect();
    let (by_std, by_crossbeam) = (sum_std(&data, 4), sum_crossbeam(&data, 4));
    assert_eq!(by_std, 500_500);
    assert_eq!(by_crossbeam, 500_500);
    println!("std::thread::scope: {by_std}");
    println!("crossbeam::scope:   {by_crossbeam}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_scopes_sum_every_number_once() {
        let data: Vec<u64> = (1..=1000).collect();
        for parts in [1, 3, 4, 7, 1000] {
            assert_eq!(sum_std(&data, parts), 500_500, "{parts}");
            assert_eq!(sum_crossbeam(&data, parts), 500_500, "{parts}");
        }
    }

    #[test]
    fn crossbeam_reports_a_panic_as_an_error() {
        let result = crossbeam::scope(|s| {
            s.spawn(|_| panic!("on purpose"));
        });
        assert!(result.is_err());
    }
}
