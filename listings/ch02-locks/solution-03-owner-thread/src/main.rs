//! A solution to exercise 2-3.
//!
//! The exercise: share a count without sharing it: one thread owns it,
//! and the others send it messages.

use std::sync::mpsc::{self, Sender};
use std::thread;

/// What the owner thread is asked to do.
enum Message {
    Add(u64),
    /// Send the count back on this channel.
    Get(Sender<u64>),
}

/// A handle on the count. Clones send to the same owner; the owner ends
/// once every handle is dropped.
#[derive(Clone)]
pub struct Counter {
    owner: Sender<Message>,
}

// ANCHOR: task
/// Starts the thread that owns the count, and returns a handle on it.
pub fn spawn_counter() -> Counter {
    let (owner, messages) = mpsc::channel();
    thread::spawn(move || {
        let mut count = 0;
        // Ends when every `Counter`, and so every sender, is dropped.
        for message in messages {
            match message {
                Message::Add(n) => count += n,
                Message::Get(reply) => {
                    let _ = reply.send(count);
                }
            }
        }
    });
    Counter { owner }
}

impl Counter {
    pub fn add(&self, n: u64) {
        self.owner.send(Message::Add(n)).expect("the owner is gone");
    }

    /// The count, once every `add` sent before this call is counted.
    pub fn get(&self) -> u64 {
        let (reply, answer) = mpsc::channel();
        self.owner
            .send(Message::Get(reply))
            .expect("the owner is gone");
        answer.recv().expect("the owner is gone")
    }
}
// ANCHOR_END: task

fn main() {
    let counter = spawn_counter();
    counter.add(2);
    println!("{}", counter.get());
}

#[cfg(test)]
mod tests;
