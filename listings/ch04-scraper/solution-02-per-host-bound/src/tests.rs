use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::{sleep, timeout};

#[tokio::test]
async fn at_most_limit_at_once_per_host() {
    let bound = Arc::new(PerHost::new(3));
    let (now, most) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (bound, now, most) = (bound.clone(), now.clone(), most.clone());
            tokio::spawn(async move {
                let _permit = bound.acquire("a.example").await;
                let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(at_once, Ordering::SeqCst);
                sleep(Duration::from_millis(20)).await;
                now.fetch_sub(1, Ordering::SeqCst);
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(most.load(Ordering::SeqCst), 3, "downloads at once");
}

#[tokio::test]
async fn one_busy_host_does_not_hold_up_another() {
    let bound = PerHost::new(2);
    let _a1 = bound.acquire("a.example").await;
    let _a2 = bound.acquire("a.example").await;
    let b = timeout(Duration::from_secs(5), bound.acquire("b.example")).await;
    assert!(b.is_ok(), "b.example waited for a.example");
    let third =
        timeout(Duration::from_millis(50), bound.acquire("a.example")).await;
    assert!(third.is_err(), "a third permit for a.example");
}
