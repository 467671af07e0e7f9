extern crate tokio; // `mdbook test` links crates by name

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

// ANCHOR: here
/// A two-line message for the connection's owner, and where to send the
/// outcome of writing it.
struct Message {
    id: usize,
    done: oneshot::Sender<io::Result<()>>,
}

/// The only task that touches the connection. It writes one message at a
/// time, so no message is ever cut in two, and no lock is needed.
async fn owner(mut conn: DuplexStream, mut inbox: mpsc::Receiver<Message>) {
    while let Some(Message { id, done }) = inbox.recv().await {
        let written = async {
            conn.write_all(format!("BEGIN {id}\n").as_bytes()).await?;
            conn.write_all(format!("END {id}\n").as_bytes()).await
        };
        // The sender may have stopped waiting: then nobody hears it.
        let _ = done.send(written.await);
    }
} // Every sender is gone: the connection is dropped, and closed.
// ANCHOR_END: here

// ANCHOR: send
/// Hands the message to the owner and waits for the outcome.
async fn send(inbox: mpsc::Sender<Message>, id: usize) -> io::Result<()> {
    let (done, outcome) = oneshot::channel();
    let gone = || io::Error::other("the owner is gone");
    inbox.send(Message { id, done }).await.map_err(|_| gone())?;
    outcome.await.map_err(|_| gone())?
}
// ANCHOR_END: send

/// Starts the owner of a connection and a reader of its other end: the
/// owner's inbox, and what the reader will have read once the owner is
/// gone.
fn start() -> (mpsc::Sender<Message>, JoinHandle<String>) {
    let (ours, mut theirs) = tokio::io::duplex(64);
    let (inbox, messages) = mpsc::channel(16);
    tokio::spawn(owner(ours, messages));
    let reader = tokio::spawn(async move {
        let mut received = String::new();
        theirs.read_to_string(&mut received).await.unwrap();
        received
    });
    (inbox, reader)
}

/// Starts `senders` tasks and the owner, and returns what arrived.
async fn send_all(senders: usize) -> String {
    let (inbox, reader) = start();
    let tasks: Vec<_> = (0..senders)
        .map(|id| tokio::spawn(send(inbox.clone(), id)))
        .collect();
    drop(inbox); // The tasks hold the only senders now.
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    reader.await.unwrap()
}

#[tokio::main]
async fn main() {
    let received = send_all(10).await;
    let messages = received.lines().count() / 2;
    assert!(none_cut_in_two(&received));
    println!("received {messages} messages, none cut in two");
}

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 2-14
// (listings/ch02-locks/14-tokio-mutex/src/main.rs), so that this folder
// builds on its own. The book's tests check that each item is the same Rust
// as in its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch02-locks/14-tokio-mutex/src/main.rs
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
// END COPY

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn messages_arrive_whole() {
        let received = send_all(100).await;
        assert_eq!(received.lines().count(), 200);
        assert!(none_cut_in_two(&received));
    }

    /// Senders cancelled while they wait cut no message.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_cancelled_sender_cuts_nothing() {
        let (inbox, reader) = start();
        let tasks: Vec<_> = (0..100)
            .map(|id| tokio::spawn(send(inbox.clone(), id)))
            .collect();
        drop(inbox);
        // Wherever each is: waiting to send, or waiting for its answer.
        for (i, task) in tasks.into_iter().enumerate() {
            if i % 2 == 0 {
                task.abort();
            }
        }
        let received = reader.await.unwrap();
        assert!(none_cut_in_two(&received), "{received}");
    }
}
