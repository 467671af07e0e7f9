use super::*;
use std::cell::Cell;
use std::thread;

fn failure_of(d: &Deferred<u32>) -> Rc<RefCell<Option<Failure>>> {
    let got = Rc::new(RefCell::new(None));
    let g = got.clone();
    d.add_errback(move |f| {
        *g.borrow_mut() = Some(f.clone());
        Step::Value(0)
    });
    got
}

#[test]
fn fails_a_deferred_that_does_not_fire_in_time() {
    let timers = Timers::default();
    let d = with_timeout(Deferred::new(), &timers, Duration::from_millis(5));
    let failed = failure_of(&d);
    thread::sleep(Duration::from_millis(20));
    timers.run_due();
    assert_eq!(*failed.borrow(), Some(Failure("timed out".into())));
}

#[test]
fn stops_the_work_through_the_canceller() {
    let timers = Timers::default();
    let stopped = Rc::new(Cell::new(false));
    let s = stopped.clone();
    let d: Deferred<u32> = Deferred::with_canceller(move || s.set(true));
    let d = with_timeout(d, &timers, Duration::ZERO);
    let failed = failure_of(&d);
    timers.run_due();
    assert!(stopped.get(), "the canceller did not run");
    assert_eq!(*failed.borrow(), Some(Failure("timed out".into())));
}

#[test]
fn another_failure_in_time_stays_what_it_was() {
    let timers = Timers::default();
    let d = with_timeout(Deferred::new(), &timers, Duration::from_secs(60));
    let failed = failure_of(&d);
    d.errback(Failure("refused".into())).unwrap();
    assert_eq!(*failed.borrow(), Some(Failure("refused".into())));
    assert!(timers.timeout().is_none(), "the timer is still there");
    let d = with_timeout(Deferred::new(), &timers, Duration::from_secs(60));
    let failed = failure_of(&d);
    d.cancel();
    assert_eq!(*failed.borrow(), Some(Failure("cancelled".into())));
}

#[test]
fn a_result_in_time_goes_through_and_cancels_the_timer() {
    let timers = Timers::default();
    let d = with_timeout(Deferred::new(), &timers, Duration::from_secs(60));
    assert!(timers.timeout().is_some(), "no timer was scheduled");
    d.callback(3).unwrap();
    let got = Rc::new(Cell::new(0));
    let g = got.clone();
    d.add_callback(move |v| {
        g.set(v);
        Step::Value(v)
    });
    assert_eq!(got.get(), 3);
    assert!(timers.timeout().is_none(), "the timer is still there");
}
