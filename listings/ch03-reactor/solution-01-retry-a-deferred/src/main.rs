//! A solution to exercise 3-1.
//!
//! The exercise: a `Deferred` that tries again: an errback that returns
//! the next attempt's `Deferred`. The `Deferred` is Section 3.7's.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;

// ANCHOR: task
/// The result of `attempt(0)`; if its `Deferred` fails, of `attempt(1)`;
/// and so on, `tries` attempts at most (0 is taken as 1). The returned
/// `Deferred` fires with the first success, or with the last failure.
/// Each attempt starts only once the one before has failed.
pub fn retry<T: 'static>(
    tries: u32,
    attempt: impl Fn(u32) -> Deferred<T> + 'static,
) -> Deferred<T> {
    next(0, tries.max(1), Rc::new(attempt))
}

/// Attempt `n`, with an errback that starts attempt `n + 1` while fewer
/// than `tries` were made.
fn next<T: 'static>(
    n: u32,
    tries: u32,
    attempt: Rc<dyn Fn(u32) -> Deferred<T>>,
) -> Deferred<T> {
    let d = attempt(n);
    if n + 1 < tries {
        d.add_errback(move |_| Step::Wait(next(n + 1, tries, attempt)));
    }
    d
}
// ANCHOR_END: task

fn main() {
    let d = retry(3, |n| {
        let d = Deferred::new();
        let _ = match n {
            2 => d.callback(n),
            _ => d.errback(Failure(format!("attempt {n} failed"))),
        };
        d
    });
    d.add_callback(|n| {
        println!("succeeded at attempt {n}");
        Step::Value(n)
    });
}

// --------------------------------------------------------------------------
// Below: code copied unchanged from Section 3.7's listing
// (listings/ch03-reactor/no-listing-02-deferred/src/main.rs), so that this
// folder builds on its own. The book's tests check that each item is the same
// Rust as in its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch03-reactor/no-listing-02-deferred/src/main.rs
/// An error on its way down a chain: Twisted's `Failure`.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a callback or an errback returns: the next result, or a pending
/// one that the chain waits for before it goes on.
pub enum Step<T> {
    Value(T),
    Fail(Failure),
    Wait(Deferred<T>),
}

/// A result that is not there yet, and what to do with it.
pub struct Deferred<T>(Rc<RefCell<Chain<T>>>);

type Callback<T> = Box<dyn FnOnce(T) -> Step<T>>;
type Errback<T> = Box<dyn FnOnce(Failure) -> Step<T>>;

struct Chain<T> {
    fired: bool,
    /// The current result: `None` before `fired`, and while the chain
    /// waits for another `Deferred` or runs one of its steps.
    result: Option<Result<T, Failure>>,
    steps: VecDeque<(Callback<T>, Errback<T>)>,
    /// The `Deferred` whose chain waits for this one's result.
    waiting: Option<Deferred<T>>,
    /// The result went on to the chain that waited for it.
    handed_over: bool,
    canceller: Option<Box<dyn FnOnce()>>,
}

/// `callback` or `errback` on a `Deferred` that had fired already.
#[derive(Debug, PartialEq)]
pub struct AlreadyCalled;

impl<T> Clone for Deferred<T> {
    fn clone(&self) -> Self {
        Deferred(self.0.clone())
    }
}

impl<T: 'static> Default for Deferred<T> {
    fn default() -> Self {
        Deferred::new()
    }
}

impl<T: 'static> Deferred<T> {
    pub fn new() -> Self {
        Deferred(Rc::new(RefCell::new(Chain {
            fired: false,
            result: None,
            steps: VecDeque::new(),
            waiting: None,
            handed_over: false,
            canceller: None,
        })))
    }

    /// Twisted's `addCallbacks`: one step of the chain. On a value, the
    /// step calls `callback`; on a failure, `errback`. Either may turn
    /// the one into the other.
    pub fn add_callbacks(
        &self,
        callback: impl FnOnce(T) -> Step<T> + 'static,
        errback: impl FnOnce(Failure) -> Step<T> + 'static,
    ) -> &Self {
        let step = (Box::new(callback) as Callback<T>, Box::new(errback) as _);
        let mut chain = self.0.borrow_mut();
        assert!(
            !chain.handed_over,
            "a step added to a Deferred whose result went to another chain"
        );
        chain.steps.push_back(step);
        drop(chain);
        self.run(); // Fired already? Then the step runs now.
        self
    }

    /// A step for values; a failure passes by it, unchanged.
    pub fn add_callback(
        &self,
        callback: impl FnOnce(T) -> Step<T> + 'static,
    ) -> &Self {
        self.add_callbacks(callback, Step::Fail)
    }

    /// A step for failures; a value passes by it, unchanged.
    pub fn add_errback(
        &self,
        errback: impl FnOnce(Failure) -> Step<T> + 'static,
    ) -> &Self {
        self.add_callbacks(Step::Value, errback)
    }
}

impl<T: 'static> Deferred<T> {
    /// Fires with a value: the chain runs, now.
    pub fn callback(&self, value: T) -> Result<(), AlreadyCalled> {
        self.fire(Ok(value))
    }

    /// Fires with a failure: the chain runs, from errback to errback.
    pub fn errback(&self, failure: Failure) -> Result<(), AlreadyCalled> {
        self.fire(Err(failure))
    }

    fn fire(&self, result: Result<T, Failure>) -> Result<(), AlreadyCalled> {
        let mut chain = self.0.borrow_mut();
        if chain.fired {
            return Err(AlreadyCalled);
        }
        chain.fired = true;
        chain.result = Some(result);
        let canceller = chain.canceller.take();
        drop(chain);
        drop(canceller); // Its captures may hold this very `Deferred`.
        self.run();
        Ok(())
    }

    /// Runs the steps that can run: until none is left, or one returned
    /// a `Deferred` that has no result yet.
    fn run(&self) {
        loop {
            let mut chain = self.0.borrow_mut();
            if chain.result.is_none() {
                // Not fired yet, or waiting for another `Deferred`, or a
                // step running, which goes on from where it is when done.
                return;
            }
            let Some((callback, errback)) = chain.steps.pop_front() else {
                // The end of the chain: a chain waiting for ours goes on.
                let Some(waiting) = chain.waiting.take() else {
                    return;
                };
                let result = chain.result.take().unwrap();
                chain.handed_over = true;
                drop(chain);
                waiting.resume(result);
                return;
            };
            let result = chain.result.take().unwrap();
            // A step may add steps to this chain, or look at it: no
            // borrow may be held while it runs.
            drop(chain);
            let step = panic::catch_unwind(AssertUnwindSafe(|| match result {
                Ok(value) => callback(value),
                Err(failure) => errback(failure),
            }));
            let step = step.unwrap_or_else(|_| {
                Step::Fail(Failure("a step panicked".into()))
            });
            let next = match step {
                Step::Value(value) => Ok(value),
                Step::Fail(failure) => Err(failure),
                Step::Wait(other) => match self.wait_for(other) {
                    Some(result) => result, // It had fired: go on.
                    None => return,         // Its chain will resume ours.
                },
            };
            self.0.borrow_mut().result = Some(next);
        }
    }

    /// Makes this chain wait for `other`'s result: now, if `other` has
    /// it and nothing left to run; otherwise, once `other`'s chain ends.
    fn wait_for(&self, other: Deferred<T>) -> Option<Result<T, Failure>> {
        if Rc::ptr_eq(&self.0, &other.0) {
            let why = "a step returned the Deferred it belongs to";
            return Some(Err(Failure(why.into())));
        }
        let mut theirs = other.0.borrow_mut();
        if theirs.waiting.is_some() || theirs.handed_over {
            let why = "a step returned a Deferred that another chain took";
            return Some(Err(Failure(why.into())));
        }
        if theirs.result.is_some() && theirs.steps.is_empty() {
            theirs.handed_over = true;
            return theirs.result.take();
        }
        theirs.waiting = Some(self.clone());
        drop(theirs);
        other.run(); // It may be able to go on now.
        None
    }

    fn resume(&self, result: Result<T, Failure>) {
        self.0.borrow_mut().result = Some(result);
        self.run();
    }
}

impl<T: 'static> Deferred<T> {
    /// A `Deferred` that `cancel` stops with `stop`: Twisted's canceller.
    pub fn with_canceller(stop: impl FnOnce() + 'static) -> Self {
        let d = Deferred::new();
        d.0.borrow_mut().canceller = Some(Box::new(stop));
        d
    }

    /// Gives up on the result: the canceller stops the work, and the
    /// chain runs with a `cancelled` failure. Too late, it does nothing.
    pub fn cancel(&self) {
        let stop = self.0.borrow_mut().canceller.take();
        if let Some(stop) = stop {
            stop();
        }
        let _ = self.errback(Failure("cancelled".into()));
    }

    pub fn has_fired(&self) -> bool {
        self.0.borrow().fired
    }
}

impl<T> Drop for Chain<T> {
    /// A failure that no errback handled is not lost in silence.
    fn drop(&mut self) {
        if let Some(Err(failure)) = &self.result {
            eprintln!("Unhandled error in Deferred: {failure}");
        }
    }
}
// END COPY

#[cfg(test)]
mod tests;
