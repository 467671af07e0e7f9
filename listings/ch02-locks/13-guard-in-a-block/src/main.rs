extern crate tokio; // `mdbook test` links crates by name

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time;

// ANCHOR: here
/// Gives the visitor the next number, after a slow greeting.
async fn visit(visitors: Arc<Mutex<u64>>) -> u64 {
    // New: the guard lives only inside this block
    let number = {
        let mut count = visitors.lock().unwrap();
        *count += 1;
        *count
    }; // The guard is dropped here, before any `.await`.
    time::sleep(Duration::from_millis(10)).await; // the slow greeting
    number
}
// ANCHOR_END: here

async fn hand_out(visitors: usize) -> Vec<u64> {
    let count = Arc::new(Mutex::new(0));
    let tasks: Vec<_> = (0..visitors)
        .map(|_| tokio::spawn(visit(count.clone())))
        .collect();
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort_unstable();
    numbers
}

#[tokio::main]
async fn main() {
    let numbers = hand_out(10).await;
    assert!(numbers.iter().copied().eq(1..=10));
    println!("numbers handed out: {numbers:?}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn every_number_is_handed_out_once() {
        let numbers = hand_out(200).await;
        assert!(numbers.iter().copied().eq(1..=200));
    }
}
