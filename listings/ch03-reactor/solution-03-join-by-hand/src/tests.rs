use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Wake, Waker};

/// Pending `n` times (waking itself each time), then ready with `n`;
/// panics if polled after that.
struct Later {
    left: u32,
    n: u32,
    done: bool,
}

fn later(n: u32) -> Later {
    Later {
        left: n,
        n,
        done: false,
    }
}

impl Future for Later {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        assert!(!self.done, "polled after it was ready");
        if self.left == 0 {
            self.done = true;
            return Poll::Ready(self.n);
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Counts its wakes.
#[derive(Default)]
struct Wakes(AtomicUsize);

impl Wake for Wakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `f` until it is ready; the output and the number of polls. Each
/// `Pending` must come with a wake of the waker polled with, or the task
/// would never be polled again.
fn run<F: Future + Unpin>(mut f: F) -> (F::Output, u32) {
    let wakes = Arc::new(Wakes::default());
    let waker = Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    for polls in 1..1000 {
        if let Poll::Ready(out) = Pin::new(&mut f).poll(&mut cx) {
            return (out, polls);
        }
        let woken = wakes.0.swap(0, Ordering::SeqCst);
        assert!(woken > 0, "Pending, and the task's waker was not woken");
    }
    panic!("not ready after 1000 polls");
}

#[test]
fn ready_futures_join_at_once() {
    assert_eq!(
        run(join2(std::future::ready(1), std::future::ready('x'))),
        ((1, 'x'), 1)
    );
}

#[test]
fn ready_when_the_slower_is_and_finished_ones_are_left_alone() {
    assert_eq!(run(join2(later(2), later(5))), ((2, 5), 6));
    assert_eq!(run(join2(later(4), later(0))), ((4, 0), 5));
}
