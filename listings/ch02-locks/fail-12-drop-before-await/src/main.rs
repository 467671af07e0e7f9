extern crate tokio; // `mdbook test` links crates by name

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time;

// ANCHOR: here
/// Gives the visitor the next number, after a slow greeting.
async fn visit(visitors: Arc<Mutex<u64>>) -> u64 {
    let mut count = visitors.lock().unwrap();
    *count += 1;
    let number = *count;
    drop(count); // Unlocked here, before the `.await`...
    time::sleep(Duration::from_millis(10)).await; // the slow greeting
    number
}
// ANCHOR_END: here

#[tokio::main]
async fn main() {
    let visitors = Arc::new(Mutex::new(0));
    let tasks: Vec<_> = (0..10)
        .map(|_| tokio::spawn(visit(visitors.clone())))
        .collect();
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort_unstable();
    println!("numbers handed out: {numbers:?}");
}
