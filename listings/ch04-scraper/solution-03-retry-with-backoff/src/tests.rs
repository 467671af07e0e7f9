use super::*;
use std::time::Instant;

#[tokio::test]
async fn waits_longer_before_each_try_and_stops_at_a_success() {
    let start = Instant::now();
    let mut made = Vec::new();
    let result: Result<u32, String> =
        retry(5, Duration::from_millis(20), |n| {
            made.push(start.elapsed());
            async move { if n < 3 { Err(format!("no {n}")) } else { Ok(n) } }
        })
        .await;
    assert_eq!(result, Ok(3));
    assert_eq!(made.len(), 4, "attempts made");
    // From below only: a busy machine makes waits longer, never shorter.
    let waits: Vec<Duration> = made.windows(2).map(|w| w[1] - w[0]).collect();
    for (wait, at_least) in waits.iter().zip([20, 40, 80]) {
        assert!(
            *wait >= Duration::from_millis(at_least),
            "waits {waits:?}: each twice the one before, from 20 ms"
        );
    }
}

#[tokio::test]
async fn gives_the_last_error_after_the_last_try() {
    let mut made = 0;
    let result: Result<(), u32> = retry(3, Duration::from_millis(1), |n| {
        made += 1;
        async move { Err(n) }
    })
    .await;
    assert_eq!((result, made), (Err(2), 3));
    let mut made = 0;
    let _: Result<(), u32> = retry(0, Duration::ZERO, |n| {
        made += 1;
        async move { Err(n) }
    })
    .await;
    assert_eq!(made, 1, "0 tries is one try");
}
