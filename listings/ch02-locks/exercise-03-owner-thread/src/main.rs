//! Exercise 2-3: share a count without sharing it: one thread owns it,
//! and the others send it messages.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

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
    // Your code here: make a channel, spawn the owner thread, which holds
    // the count and answers each message, and return the sending end.
    todo!("the owner thread")
}

impl Counter {
    pub fn add(&self, n: u64) {
        self.owner.send(Message::Add(n)).expect("the owner is gone");
    }

    /// The count, once every `add` sent before this call is counted.
    pub fn get(&self) -> u64 {
        // Your code here: send a `Get` with a channel of your own, and
        // wait for the answer on it.
        todo!("ask the owner for the count")
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
