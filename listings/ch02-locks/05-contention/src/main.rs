mod counters;

const THREADS: usize = 8;
const PER_THREAD: u64 = 10_000;

type Way = fn(usize, u64) -> counters::Tally;

/// The six ways to count, by name; only the first may lose updates.
const WAYS: [(&str, Way); 6] = [
    ("racy", counters::racy),
    ("mutex", counters::mutex),
    ("atomic", counters::atomic),
    ("per_thread", counters::per_thread),
    ("owner", counters::owner),
    ("tasks", counters::tasks),
];

/// Two of them again, timed as the article timed them.
const ARTICLE: [(&str, Way); 2] = [
    ("racy", counters::racy_as_the_article),
    ("mutex", counters::mutex_as_the_article),
];

fn main() {
    let expected = THREADS as u64 * PER_THREAD;
    println!("{THREADS} workers x {PER_THREAD} increments = {expected}");
    for (name, count) in WAYS {
        let tally = count(THREADS, PER_THREAD);
        if name == "racy" {
            assert!(tally.count <= expected);
        } else {
            assert_eq!(tally.count, expected, "{name}");
        }
        let ms = tally.time.as_secs_f64() * 1e3;
        println!("{name:>10}: {}, counted in {ms:.2} ms", tally.count);
    }
    for (name, count) in ARTICLE {
        let tally = count(THREADS, PER_THREAD);
        assert!(tally.count <= expected);
        let ms = tally.time.as_secs_f64() * 1e3;
        println!("{name:>10}: {}, spawn to join in {ms:.2} ms", tally.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Tests that start many threads take turns, so that one test's count
    /// of live threads does not include another's.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    fn alone() -> std::sync::MutexGuard<'static, ()> {
        ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
    }

    const THREAD_COUNTS: [usize; 4] = [1, 2, 8, 100];

    #[test]
    fn every_way_but_racy_counts_every_increment() {
        let _alone = alone();
        for (name, count) in WAYS[1..].iter().chain(&ARTICLE[1..]) {
            for threads in THREAD_COUNTS {
                let expected = threads as u64 * 1000;
                assert_eq!(
                    count(threads, 1000).count,
                    expected,
                    "{name} {threads}"
                );
            }
        }
    }

    #[test]
    fn racy_never_counts_more_than_every_increment() {
        let _alone = alone();
        for threads in THREAD_COUNTS {
            let most = threads as u64 * 1000;
            assert!(counters::racy(threads, 1000).count <= most);
            let article = counters::racy_as_the_article(threads, 1000);
            assert!(article.count <= most);
        }
    }

    #[test]
    fn a_single_racy_thread_loses_nothing() {
        let _alone = alone();
        assert_eq!(counters::racy(1, 1000).count, 1000);
    }

    #[test]
    fn the_span_runs_from_the_first_start_to_the_last_end() {
        let _alone = alone();
        use std::time::{Duration, Instant};
        let before = Instant::now();
        let (runs, span) = counters::on_threads(4, || {
            let entered = Instant::now();
            std::thread::sleep(Duration::from_millis(10));
            (entered, Instant::now())
        });
        let first = runs.iter().map(|r| r.0).min().unwrap();
        let last = runs.iter().map(|r| r.1).max().unwrap();
        assert!(before <= span.start && span.start <= first);
        // Generous bounds: the test may share the cores with other tests.
        let close = Duration::from_millis(100);
        assert!(first - span.start < close, "the span starts too early");
        assert!(last <= span.end && span.end - last < close);
    }

    /// No thread counts before every thread exists: each one, as it
    /// starts its work, finds the process with all of them alive.
    #[cfg(target_os = "linux")]
    #[test]
    fn no_thread_starts_before_every_thread_exists() {
        let _alone = alone();
        fn threads_alive() -> usize {
            let me = procfs::process::Process::myself().unwrap();
            usize::try_from(me.status().unwrap().threads).unwrap()
        }
        use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        const N: usize = 50;
        let read = AtomicUsize::new(0);
        let (seen, _) = counters::on_threads(N, || {
            let alive = threads_alive();
            // No thread may end, and leave, before every one has looked.
            read.fetch_add(1, SeqCst);
            while read.load(SeqCst) < N {
                std::thread::yield_now();
            }
            alive
        });
        // The N threads, this test's own and the test harness's main one.
        let fewest = seen.into_iter().min().unwrap();
        assert!(fewest >= N + 2, "a thread started with {fewest} alive");
    }

    #[test]
    fn every_way_times_its_counting() {
        let _alone = alone();
        use std::time::{Duration, Instant};
        for (name, count) in WAYS {
            let before = Instant::now();
            let tally = count(2, 100_000);
            assert!(tally.time > Duration::ZERO, "{name} timed nothing");
            assert!(tally.time <= before.elapsed(), "{name}");
        }
    }

    #[test]
    fn no_increments_count_zero() {
        let _alone = alone();
        for (name, count) in WAYS {
            assert_eq!(count(4, 0).count, 0, "{name}");
        }
    }
}
