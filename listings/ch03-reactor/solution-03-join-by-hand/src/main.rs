//! A solution to exercise 3-3.
//!
//! The exercise: `join` for two futures, written as a `Future` by hand,
//! as Section 3.8 wrote `first_article`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Two futures polled together, and the outputs of those that finished.
pub struct Join2<A: Future, B: Future> {
    a: A,
    b: B,
    a_out: Option<A::Output>,
    b_out: Option<B::Output>,
}

/// No field is pinned: `poll` reaches `a` and `b` through `Pin::new`,
/// which needs them `Unpin`, and the outputs are never pinned.
impl<A: Future + Unpin, B: Future + Unpin> Unpin for Join2<A, B> {}

pub fn join2<A: Future, B: Future>(a: A, b: B) -> Join2<A, B> {
    Join2 {
        a,
        b,
        a_out: None,
        b_out: None,
    }
}

// ANCHOR: task
impl<A: Future + Unpin, B: Future + Unpin> Future for Join2<A, B> {
    type Output = (A::Output, B::Output);

    /// Polls each future that has not finished yet, keeps its output when
    /// it does, and is ready with both outputs once both have finished.
    /// A future that has finished is never polled again.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.a_out.is_none() {
            this.a_out = match Pin::new(&mut this.a).poll(cx) {
                Poll::Ready(out) => Some(out),
                Poll::Pending => None,
            };
        }
        if this.b_out.is_none() {
            this.b_out = match Pin::new(&mut this.b).poll(cx) {
                Poll::Ready(out) => Some(out),
                Poll::Pending => None,
            };
        }
        if this.a_out.is_some() && this.b_out.is_some() {
            let a = this.a_out.take().unwrap();
            Poll::Ready((a, this.b_out.take().unwrap()))
        } else {
            Poll::Pending
        }
    }
}
// ANCHOR_END: task

fn main() {
    let both = join2(std::future::ready(1), std::future::ready("one"));
    let mut both = std::pin::pin!(both);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    println!("{:?}", both.as_mut().poll(&mut cx));
}

#[cfg(test)]
mod tests;
