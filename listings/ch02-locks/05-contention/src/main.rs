mod counters;

const THREADS: usize = 8;
const PER_THREAD: u64 = 10_000;

type Way = fn(usize, u64) -> u64;

/// The six ways to count, by name; only the first may lose updates.
const WAYS: [(&str, Way); 6] = [
    ("racy", counters::racy),
    ("mutex", counters::mutex),
    ("atomic", counters::atomic),
    ("per_thread", counters::per_thread),
    ("owner", counters::owner),
    ("tasks", counters::tasks),
];

fn main() {
    let expected = THREADS as u64 * PER_THREAD;
    println!("{THREADS} workers x {PER_THREAD} increments = {expected}");
    for (name, count) in WAYS {
        let counted = count(THREADS, PER_THREAD);
        if name == "racy" {
            assert!(counted <= expected);
        } else {
            assert_eq!(counted, expected, "{name}");
        }
        println!("{name:>10}: {counted}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREAD_COUNTS: [usize; 4] = [1, 2, 8, 100];

    #[test]
    fn every_way_but_racy_counts_every_increment() {
        for (name, count) in &WAYS[1..] {
            for threads in THREAD_COUNTS {
                let expected = threads as u64 * 1000;
                assert_eq!(count(threads, 1000), expected, "{name} {threads}");
            }
        }
    }

    #[test]
    fn racy_never_counts_more_than_every_increment() {
        for threads in THREAD_COUNTS {
            assert!(counters::racy(threads, 1000) <= threads as u64 * 1000);
        }
    }

    #[test]
    fn a_single_racy_thread_loses_nothing() {
        assert_eq!(counters::racy(1, 1000), 1000);
    }

    #[test]
    fn no_increments_count_zero() {
        for (name, count) in WAYS {
            assert_eq!(count(4, 0), 0, "{name}");
        }
    }
}
