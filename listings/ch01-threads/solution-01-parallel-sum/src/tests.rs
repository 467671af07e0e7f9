use super::*;

#[test]
fn sums_like_one_thread_for_any_length_and_thread_count() {
    for len in [0, 1, 2, 7, 100, 1001] {
        let numbers: Vec<u64> = (0..len).map(|n| n * 3 + 1).collect();
        let expected: u64 = numbers.iter().sum();
        for threads in [1, 2, 3, 8, 16, 2000] {
            assert_eq!(
                parallel_sum(&numbers, threads),
                expected,
                "{len} numbers on {threads} threads"
            );
        }
    }
}

#[test]
fn zero_threads_means_one() {
    assert_eq!(parallel_sum(&[1, 2, 3], 0), 6);
}
