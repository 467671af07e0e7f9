extern crate crossbeam; // `mdbook test` links crates by name

use std::thread;

use crossbeam::atomic::AtomicCell;

const READERS: usize = 4;
const READS: u64 = 100_000;

// Two settings, so that a mix of the two is easy to spot.
const SMALL: Limits = Limits {
    connections: 10,
    request_bytes: 1_000,
    timeout_ms: 100,
};
const LARGE: Limits = Limits {
    connections: 1_000,
    request_bytes: 100_000,
    timeout_ms: 10_000,
};

// ANCHOR: limits
#[derive(Clone, Copy, PartialEq)]
struct Limits {
    connections: u64,
    request_bytes: u64,
    timeout_ms: u64,
}
// ANCHOR_END: limits

/// One thread keeps switching the limits while readers read them; returns
/// how many reads saw a mix of the two settings.
// ANCHOR: here
fn torn_reads() -> u64 {
    let limits = AtomicCell::new(SMALL);
    let done = AtomicCell::new(false);
    thread::scope(|s| {
        s.spawn(|| {
            while !done.load() {
                limits.store(LARGE);
                limits.store(SMALL);
            }
        });
        let readers: Vec<_> = (0..READERS)
            .map(|_| {
                s.spawn(|| {
                    (0..READS)
                        .map(|_| limits.load()) // a copy of the whole struct
                        .filter(|l| *l != SMALL && *l != LARGE)
                        .count() as u64
                })
            })
            .collect();
        let torn = readers.into_iter().map(|r| r.join().unwrap()).sum();
        done.store(true);
        torn
    })
}
// ANCHOR_END: here

fn main() {
    println!("lock-free: {}", AtomicCell::<Limits>::is_lock_free());
    let torn = torn_reads();
    assert_eq!(torn, 0);
    println!("reads: {}, torn: {torn}", READERS as u64 * READS);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_read_is_torn() {
        assert_eq!(torn_reads(), 0);
    }

    #[test]
    fn a_small_cell_is_a_plain_atomic() {
        let count = AtomicCell::new(0u32);
        assert!(AtomicCell::<u32>::is_lock_free());
        assert_eq!(count.fetch_add(1), 0);
        assert_eq!(count.swap(7), 1);
        assert_eq!(count.load(), 7);
    }
}
