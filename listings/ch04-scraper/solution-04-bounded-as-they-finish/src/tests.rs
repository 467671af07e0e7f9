use super::*;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::sleep;

type Job = Pin<Box<dyn Future<Output = u64> + Send>>;

/// Jobs that sleep `ms[i]` and return `i`, counting how many run at once.
fn jobs(ms: &[u64], most: &Arc<AtomicUsize>) -> Vec<Job> {
    let now = Arc::new(AtomicUsize::new(0));
    ms.iter()
        .enumerate()
        .map(|(i, &ms)| {
            let (now, most) = (now.clone(), most.clone());
            Box::pin(async move {
                let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(at_once, Ordering::SeqCst);
                sleep(Duration::from_millis(ms)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                i as u64
            }) as Job
        })
        .collect()
}

#[tokio::test]
async fn never_more_than_at_once_and_every_job_runs() {
    let most = Arc::new(AtomicUsize::new(0));
    let done = run_bounded(jobs(&[5; 10], &most), 3).await;
    assert_eq!(most.load(Ordering::SeqCst), 3, "jobs at once");
    let mut indices: Vec<usize> = done.iter().map(|(i, _)| *i).collect();
    indices.sort();
    assert_eq!(indices, (0..10).collect::<Vec<_>>());
    assert!(done.iter().all(|(i, out)| *i as u64 == *out));
}

#[tokio::test]
async fn a_job_starts_as_soon_as_one_finishes_and_results_come_as_they_do() {
    // Two at a time: job 0 takes long; jobs 1 to 4 go through the other
    // place one after the other, and all finish before job 0.
    let most = Arc::new(AtomicUsize::new(0));
    let done = run_bounded(jobs(&[400, 10, 10, 10, 10], &most), 2).await;
    let order: Vec<usize> = done.iter().map(|(i, _)| *i).collect();
    assert_eq!(order, [1, 2, 3, 4, 0], "not in batches, and as they finish");
}
