use super::*;

#[test]
fn no_increment_is_lost() {
    for (threads, per_thread) in [(1, 10), (2, 50_000), (100, 1000), (0, 5)] {
        assert_eq!(
            count(threads, per_thread),
            threads as u64 * per_thread,
            "{threads} threads of {per_thread}"
        );
    }
}
