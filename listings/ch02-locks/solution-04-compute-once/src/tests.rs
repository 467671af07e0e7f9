use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

#[test]
fn computes_a_value_and_then_reuses_it() {
    let cache = Cache::default();
    assert_eq!(*cache.get_or_compute(1, |k| format!("v{k}")), "v1");
    let again = cache.get_or_compute(1, |_| panic!("computed twice"));
    assert_eq!(*again, "v1");
    assert_eq!(*cache.get_or_compute(2, |k| format!("v{k}")), "v2");
}

#[test]
fn each_key_is_computed_once_by_threads_asking_at_once() {
    let cache = Arc::new(Cache::default());
    let computed = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (cache, computed) = (cache.clone(), computed.clone());
            thread::spawn(move || {
                for key in 0..50 {
                    let value = cache.get_or_compute(key, |k| {
                        computed.fetch_add(1, Ordering::SeqCst);
                        // Slow, so that the other threads ask meanwhile.
                        thread::sleep(Duration::from_millis(1));
                        format!("v{k}")
                    });
                    assert_eq!(*value, format!("v{key}"));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(computed.load(Ordering::SeqCst), 50, "computations");
}
