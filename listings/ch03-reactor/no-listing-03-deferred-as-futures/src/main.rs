//! Each idea of Twisted's `Deferred`, as the `futures` crate and tokio
//! spell it: a pending result is a future, a chain is a combinator, a
//! `DeferredList` is a join or a select, and cancelling is dropping.

extern crate futures; // `mdbook test` links crates by name
extern crate tokio; // `mdbook test` links crates by name

use futures::channel::oneshot;
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
/// On futures that cannot fail, `addCallback` is `map`, and a callback
/// that returns a `Deferred` is `then`. On futures of a `Result`:
/// `addCallback(f).addErrback(g)` is `and_then(f).or_else(g)`, where `g`
/// also sees a failure of `f`; `addCallbacks(f, g)` is one step, where
/// it does not: `map_ok_or_else(g, f)`.
async fn chains() {
    let n = later(10, 1).map(|n| n * 2).then(|n| later(10, n + 1)).await;
    println!("map, then then: {n}");
    let recovered = outcome(10, 5, Some("boom"))
        .and_then(|n| async move { Ok(n + 1) }) // Skipped: a failure.
        .or_else(|why| async move { Ok::<_, String>(why.len() as u64) })
        .await;
    println!("and_then skipped, or_else recovered: {recovered:?}");
    let one_step = outcome(10, 5, None)
        .map_ok_or_else(
            |why| format!("errback: {why}"),
            |n| format!("callback: {n}"),
        )
        .await;
    println!("map_ok_or_else: {one_step}");
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
    // No fireOnOne flag, consumeErrors=True: every result, in order.
    let all = future::join_all(three()).await;
    println!("join_all: {all:?}");
    // Near fireOnOneErrback: the first failure, as soon as it comes; but
    // the others are dropped, where Twisted lets them run.
    let start = Instant::now();
    let first_failure = future::try_join_all(three()).await;
    let early = start.elapsed() < Duration::from_millis(30);
    println!("try_join_all: {first_failure:?}, before the slowest: {early}");
    // Near fireOnOneCallback: the first success, and the others handed
    // back; if all fail, the last failure, where Twisted calls back with
    // the list.
    let (first, rest) = future::select_ok(three().map(Box::pin)).await.unwrap();
    println!("select_ok: {first}, {} still pending", rest.len());
    drop(rest); // Cancelled.
}
// ANCHOR_END: lists

// ANCHOR: fire
/// `callback(value)` is the producer's side: a oneshot channel's sender.
/// `send` takes the sender by value, so firing twice does not compile.
async fn fire() {
    let (sender, result) = oneshot::channel::<u64>();
    tokio::spawn(async move {
        sleep(Duration::from_millis(10)).await;
        let _ = sender.send(42); // Err only if nobody waits any more.
    });
    println!("fired by another task: {:?}", result.await);
}
// ANCHOR_END: fire

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
    fire().await;
    cancel().await;
}
