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

/// A computation in progress holds up only the threads that want its key.
#[test]
fn a_slow_computation_does_not_hold_up_other_keys() {
    use std::sync::mpsc;
    let cache = Arc::new(Cache::default());
    cache.get_or_compute(1, |_| "one".into());
    let (go, wait) = mpsc::channel::<()>();
    let c = cache.clone();
    let slow = thread::spawn(move || {
        c.get_or_compute(2, move |_| {
            wait.recv_timeout(Duration::from_secs(10)).unwrap();
            "two".into()
        })
    });
    thread::sleep(Duration::from_millis(100)); // Key 2 is being computed.
    let (done, seen) = mpsc::channel();
    let c = cache.clone();
    thread::spawn(move || done.send(c.get_or_compute(1, |_| unreachable!())));
    let one = seen.recv_timeout(Duration::from_secs(5));
    go.send(()).unwrap();
    assert_eq!(*slow.join().unwrap(), "two");
    assert!(one.is_ok(), "reading key 1 waited for key 2's computation");
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
