extern crate tokio; // `mdbook test` links crates by name

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time;

// ANCHOR: here
/// Waits its turn at the lock, and never looks at the count.
async fn wait_in_line(visitors: Arc<Mutex<u64>>) {
    let count = visitors.lock().unwrap(); // Never borrowed...
    drop(count); // ...so this `drop` is enough: the future is `Send`.
    time::sleep(Duration::from_millis(10)).await;
}
// ANCHOR_END: here

#[tokio::main]
async fn main() {
    let visitors = Arc::new(Mutex::new(0));
    tokio::spawn(wait_in_line(visitors)).await.unwrap();
    println!("spawned, and done");
}
