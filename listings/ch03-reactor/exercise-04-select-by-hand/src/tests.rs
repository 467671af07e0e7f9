use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Wake, Waker};

/// Pending `n` times (waking itself each time), then ready with `n`.
#[derive(Debug, PartialEq)]
struct Later(u32);

impl Future for Later {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.0 == 0 {
            return Poll::Ready(0);
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Notes that it was woken.
#[derive(Default)]
struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Polls `f` until it is ready; each `Pending` must come with a wake of
/// the waker polled with.
fn run<F: Future + Unpin>(mut f: F) -> F::Output {
    let woken = Arc::new(Woken::default());
    let waker = Waker::from(woken.clone());
    let mut cx = Context::from_waker(&waker);
    for _ in 0..1000 {
        if let Poll::Ready(out) = Pin::new(&mut f).poll(&mut cx) {
            return out;
        }
        let was = woken.0.swap(false, Ordering::SeqCst);
        assert!(was, "Pending, and the task's waker was not woken");
    }
    panic!("not ready after 1000 polls");
}

#[test]
fn the_first_ready_wins_and_the_other_comes_back() {
    match run(select2(Later(1), Later(4))) {
        First::Left(0, rest) => assert_eq!(rest, Later(3), "polled twice"),
        other => panic!("the left one should win: {other:?}"),
    }
    match run(select2(Later(5), Later(2))) {
        First::Right(0, rest) => assert_eq!(rest, Later(2)),
        other => panic!("the right one should win: {other:?}"),
    }
}

#[test]
fn the_left_wins_a_tie() {
    assert!(matches!(
        run(select2(Later(0), Later(0))),
        First::Left(0, Later(0))
    ));
}
