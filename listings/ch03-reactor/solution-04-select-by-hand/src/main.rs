//! A solution to exercise 3-4.
//!
//! The exercise: `select` for two futures, by hand: whichever finishes
//! first wins, and the other is handed back, to go on with or to drop.

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
        let this = self.get_mut();
        let (a, b) = this.both.as_mut().expect("polled after the race ended");
        if let Poll::Ready(out) = Pin::new(a).poll(cx) {
            let (_, b) = this.both.take().unwrap();
            return Poll::Ready(First::Left(out, b));
        }
        if let Poll::Ready(out) = Pin::new(b).poll(cx) {
            let (a, _) = this.both.take().unwrap();
            return Poll::Ready(First::Right(out, a));
        }
        Poll::Pending
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
