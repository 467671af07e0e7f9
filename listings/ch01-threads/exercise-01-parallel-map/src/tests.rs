use super::*;
use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn maps_every_item_once_in_order() {
    for len in [0, 1, 2, 7, 100] {
        let items: Vec<u64> = (0..len).collect();
        for threads in [0, 1, 2, 3, 8, 16] {
            let calls = AtomicUsize::new(0);
            let out = parallel_map(&items, threads, |n| {
                calls.fetch_add(1, Ordering::SeqCst);
                n * 10
            });
            let expected: Vec<u64> = items.iter().map(|n| n * 10).collect();
            assert_eq!(out, expected, "{len} items on {threads} threads");
            assert_eq!(calls.load(Ordering::SeqCst), len as usize, "calls");
        }
    }
}

#[test]
fn uses_threads_of_its_own_and_no_more_than_asked() {
    let items: Vec<u32> = (0..64).collect();
    for threads in [2, 4] {
        let seen = Mutex::new(HashSet::new());
        parallel_map(&items, threads, |_| {
            seen.lock().unwrap().insert(thread::current().id());
        });
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.len(), threads, "threads used, {threads} asked");
        assert!(!seen.contains(&thread::current().id()), "on the caller's");
    }
}
