extern crate tokio; // `mdbook test` links crates by name

use std::sync::Arc;

use tokio::io::{self, AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::Mutex;

const SENDERS: usize = 10;

// ANCHOR: here
/// Sends a two-line message on the shared connection. Both lines must
/// arrive together, so we hold the lock across both writes.
async fn send(conn: Arc<Mutex<DuplexStream>>, id: usize) {
    let mut conn = conn.lock().await; // Waits without blocking the thread.
    let head = format!("BEGIN {id}\n");
    conn.write_all(head.as_bytes()).await.unwrap(); // May wait for room.
    let tail = format!("END {id}\n");
    conn.write_all(tail.as_bytes()).await.unwrap();
} // The guard is dropped here: the next sender may write.
// ANCHOR_END: here

// ANCHOR: send-all
/// Starts `senders` tasks on one connection and returns what arrived.
async fn send_all(senders: usize) -> String {
    // An in-memory connection, with room for 64 bytes in transit.
    let (ours, mut theirs) = io::duplex(64);
    let conn = Arc::new(Mutex::new(ours));
    let reader = tokio::spawn(async move {
        let mut received = String::new();
        theirs.read_to_string(&mut received).await.unwrap();
        received
    });
    let tasks: Vec<_> = (0..senders)
        .map(|id| tokio::spawn(send(conn.clone(), id)))
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    drop(conn); // Closes our end: the reader sees the end of the stream.
    reader.await.unwrap()
}
// ANCHOR_END: send-all

/// Whether every `BEGIN n` line is directly followed by its `END n`.
fn none_cut_in_two(received: &str) -> bool {
    let lines: Vec<&str> = received.lines().collect();
    lines.chunks(2).all(|pair| match pair {
        [head, tail] => {
            head.strip_prefix("BEGIN ").is_some()
                && head.strip_prefix("BEGIN ") == tail.strip_prefix("END ")
        }
        _ => false,
    })
}

#[tokio::main]
async fn main() {
    let received = send_all(SENDERS).await;
    let messages = received.lines().count() / 2;
    assert_eq!(messages, SENDERS);
    assert!(none_cut_in_two(&received));
    println!("received {messages} messages, none cut in two");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn messages_arrive_whole() {
        let received = send_all(100).await;
        assert_eq!(received.lines().count(), 200);
        assert!(none_cut_in_two(&received));
    }

    #[test]
    fn a_cut_message_is_noticed() {
        assert!(none_cut_in_two("BEGIN 1\nEND 1\nBEGIN 2\nEND 2\n"));
        assert!(!none_cut_in_two("BEGIN 1\nBEGIN 2\nEND 1\nEND 2\n"));
        assert!(!none_cut_in_two("BEGIN 1\n"));
    }
}
