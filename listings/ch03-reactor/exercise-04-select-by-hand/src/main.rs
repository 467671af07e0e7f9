//! Exercise 3-4: `select` for two futures, by hand: whichever finishes
//! first wins, and the other is handed back, to go on with or to drop.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Which future finished first: its output, and the other future.
#[derive(Debug, PartialEq)]
pub enum First<A: Future, B: Future> {
    Left(A::Output, B),
    Right(B::Output, A),
}

/// Two futures raced; `None` once the race is over.
pub struct Select2<A, B> {
    both: Option<(A, B)>,
}

pub fn select2<A: Future + Unpin, B: Future + Unpin>(
    a: A,
    b: B,
) -> Select2<A, B> {
    Select2 { both: Some((a, b)) }
}

// ANCHOR: task
impl<A: Future + Unpin, B: Future + Unpin> Future for Select2<A, B> {
    type Output = First<A, B>;

    /// Polls `a`, then `b`: the first found ready wins (so `a`, if both
    /// are), and the loser is handed back in `First`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Your code here: poll `a` then `b` (`Pin::new(&mut ...)`); when one
        // is ready, take both out of `self.both` and return the winner's
        // output with the other future.
        todo!("race the two")
    }
}
// ANCHOR_END: task

fn main() {
    let race = select2(std::future::ready(1), std::future::pending::<u32>());
    let mut race = std::pin::pin!(race);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    if let Poll::Ready(First::Left(n, _)) = race.as_mut().poll(&mut cx) {
        println!("left won with {n}");
    }
}

#[cfg(test)]
mod tests;
