//! Each idea of Twisted's `Deferred`, as the `futures` crate and tokio
//! spell it: a pending result is a future, a chain is a combinator, a
//! `DeferredList` is a join or a select, and cancelling is dropping.

extern crate futures; // `mdbook test` links crates by name
extern crate tokio; // `mdbook test` links crates by name

use futures::future::{self, Either, FutureExt, TryFutureExt};
use std::time::Duration;
use tokio::time::{Instant, sleep};

// ANCHOR: sources
/// `value`, `ms` milliseconds from now: `later`, as a future.
async fn later(ms: u64, value: u64) -> u64 {
    sleep(Duration::from_millis(ms)).await;
    value
}

/// A result that may fail: `Ok(value)`, or `Err(why)` if `why` is set.
async fn outcome(
    ms: u64,
    value: u64,
    why: Option<&str>,
) -> Result<u64, String> {
    sleep(Duration::from_millis(ms)).await;
    why.map_or(Ok(value), |why| Err(why.to_string()))
}
// ANCHOR_END: sources

// ANCHOR: chains
/// `addCallback` is `map`; a callback that returns a Deferred is `then`;
/// `addCallbacks` on a result that may fail is `and_then` and `or_else`.
async fn chains() {
    let n = later(10, 1).map(|n| n * 2).then(|n| later(10, n + 1)).await;
    println!("map, then then: {n}");
    let recovered = outcome(10, 5, Some("boom"))
        .and_then(|n| async move { Ok(n + 1) }) // Skipped: a failure.
        .or_else(|why| async move { Ok::<_, String>(why.len() as u64) })
        .await;
    println!("and_then skipped, or_else recovered: {recovered:?}");
}
// ANCHOR_END: chains

// ANCHOR: lists
/// `DeferredList` and its options.
async fn lists() {
    let three = || {
        [
            outcome(30, 1, None),
            outcome(10, 2, Some("second failed")),
            outcome(20, 3, None),
        ]
    };
    // The default, with consumeErrors: every result, failures included.
    let all = future::join_all(three()).await;
    println!("join_all: {all:?}");
    // fireOnOneErrback: the first failure, as soon as it comes.
    let start = Instant::now();
    let first_failure = future::try_join_all(three()).await;
    let early = start.elapsed() < Duration::from_millis(30);
    println!("try_join_all: {first_failure:?}, before the slowest: {early}");
    // fireOnOneCallback: the first success; the others are dropped.
    let (first, _rest) =
        future::select_ok(three().map(Box::pin)).await.unwrap();
    println!("select_ok: {first}");
}
// ANCHOR_END: lists

// ANCHOR: cancel
/// Prints when it is dropped: which is how a future is cancelled.
struct Noisy(&'static str);

impl Drop for Noisy {
    fn drop(&mut self) {
        println!("{}: dropped before it finished", self.0);
    }
}

async fn slow() -> u64 {
    let _noisy = Noisy("slow");
    sleep(Duration::from_secs(60)).await; // Its timer goes when dropped.
    1
}

/// `Deferred.cancel()`: drop the future. `select` hands back the one that
/// lost, to go on with or to drop.
async fn cancel() {
    let (slow, soon) = (Box::pin(slow()), Box::pin(later(10, 2)));
    match future::select(slow, soon).await {
        Either::Left((n, _)) => println!("slow won: {n}"),
        Either::Right((n, slow)) => {
            println!("later won: {n}");
            drop(slow); // What Twisted's `cancel` asks of a Deferred.
            println!("and slow is gone");
        }
    }
}
// ANCHOR_END: cancel

#[tokio::main(flavor = "current_thread")]
async fn main() {
    chains().await;
    lists().await;
    cancel().await;
}
