use super::*;

fn tasks_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn sums_the_bytes() {
    let rt = tasks_thread();
    let data: Vec<u8> = (0..=255).cycle().take(10_000).collect();
    let expected: u64 = data.iter().map(|&b| u64::from(b)).sum();
    assert_eq!(rt.block_on(checksum_elsewhere(data)).0, expected);
    assert_eq!(rt.block_on(checksum_elsewhere(Vec::new())).0, 0);
}

#[test]
fn computes_on_the_runtimes_blocking_pool() {
    use std::sync::{Arc, Mutex};
    // On a current-thread runtime, only the threads of its blocking pool
    // are started by the runtime: the hook sees those, and no other.
    let pool = Arc::new(Mutex::new(Vec::new()));
    let seen = pool.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .on_thread_start(move || {
            seen.lock().unwrap().push(thread::current().id())
        })
        .build()
        .unwrap();
    let (_, computed_on) = rt.block_on(checksum_elsewhere(vec![7; 100]));
    assert_ne!(computed_on, thread::current().id(), "on the tasks' thread");
    assert!(
        pool.lock().unwrap().contains(&computed_on),
        "the sum ran on a thread of its own, not on tokio's blocking pool"
    );
}
