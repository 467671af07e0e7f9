use super::*;
use std::cell::Cell;

/// Attempts that fail until attempt `succeeds_at`, each fired at once;
/// the attempts made are counted in `made`.
fn attempts(
    succeeds_at: u32,
    made: Rc<Cell<u32>>,
) -> impl Fn(u32) -> Deferred<u32> {
    move |n| {
        made.set(made.get() + 1);
        let d = Deferred::new();
        let _ = if n == succeeds_at {
            d.callback(n * 10)
        } else {
            d.errback(Failure(format!("attempt {n}")))
        };
        d
    }
}

/// The final result of a chain, once it has one.
fn outcome(d: &Deferred<u32>) -> Rc<RefCell<Option<Result<u32, Failure>>>> {
    let got = Rc::new(RefCell::new(None));
    let (ok, err) = (got.clone(), got.clone());
    d.add_callbacks(
        move |v| {
            *ok.borrow_mut() = Some(Ok(v));
            Step::Value(v)
        },
        move |f| {
            *err.borrow_mut() = Some(Err(f.clone()));
            Step::Value(0)
        },
    );
    got
}

#[test]
fn tries_again_until_an_attempt_succeeds() {
    let made = Rc::new(Cell::new(0));
    let d = retry(5, attempts(2, made.clone()));
    assert_eq!(*outcome(&d).borrow(), Some(Ok(20)));
    assert_eq!(made.get(), 3, "attempts made");
}

#[test]
fn gives_the_last_failure_after_the_last_try() {
    let made = Rc::new(Cell::new(0));
    let d = retry(3, attempts(99, made.clone()));
    let expected = Some(Err(Failure("attempt 2".into())));
    assert_eq!(*outcome(&d).borrow(), expected);
    assert_eq!(made.get(), 3, "attempts made");
    let made = Rc::new(Cell::new(0));
    let d = retry(0, attempts(99, made.clone()));
    assert_eq!(made.get(), 1, "0 tries is one try");
    let _ = outcome(&d);
}

#[test]
fn waits_for_attempts_that_fire_later() {
    let pending: Rc<RefCell<Vec<Deferred<u32>>>> = Rc::default();
    let p = pending.clone();
    let d = retry(3, move |_| {
        let d = Deferred::new();
        p.borrow_mut().push(d.clone());
        d
    });
    let got = outcome(&d);
    assert_eq!(pending.borrow().len(), 1, "one attempt at a time");
    let first = pending.borrow()[0].clone();
    first.errback(Failure("no".into())).unwrap();
    assert_eq!(pending.borrow().len(), 2, "the second attempt started");
    assert_eq!(*got.borrow(), None);
    let second = pending.borrow()[1].clone();
    second.callback(7).unwrap();
    assert_eq!(*got.borrow(), Some(Ok(7)));
}
