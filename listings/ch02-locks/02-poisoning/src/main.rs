use std::panic;
use std::sync::Mutex;
use std::thread;

/// Replaces the default panic message with the same text minus its note
/// about `RUST_BACKTRACE` and the thread's id (printed since Rust 1.91),
/// so that the output is the same on every run and machine.
fn short_panic_messages() {
    panic::set_hook(Box::new(|info| {
        let current = thread::current();
        let name = current.name().unwrap_or("<unnamed>");
        let place = info.location().unwrap();
        let message = info.payload_as_str().unwrap_or("Box<dyn Any>");
        eprintln!("thread '{name}' panicked at {place}:\n{message}");
    }));
}

// ANCHOR: transfer
struct Accounts {
    alice: u64,
    bob: u64,
}

fn transfer(accounts: &Mutex<Accounts>, amount: u64, fail_halfway: bool) {
    let mut acc = accounts.lock().unwrap();
    acc.alice -= amount;
    if fail_halfway {
        panic!("transfer of {amount} interrupted");
    }
    acc.bob += amount;
}
// ANCHOR_END: transfer

// ANCHOR: here
fn main() {
    short_panic_messages();
    let accounts = Mutex::new(Accounts {
        alice: 100,
        bob: 100,
    });
    let crashed =
        thread::scope(|s| s.spawn(|| transfer(&accounts, 30, true)).join());
    assert!(crashed.is_err());

    let Err(poisoned) = accounts.lock() else {
        unreachable!("a thread panicked while it held the lock");
    };
    println!("lock() returned an error: {poisoned}");
    let mut acc = poisoned.into_inner();
    println!("inside: alice = {}, bob = {}", acc.alice, acc.bob);
    acc.alice += 30; // We undo the half-done transfer,
    drop(acc);
    accounts.clear_poison(); // and declare the data sound again.

    let acc = accounts.lock().unwrap();
    println!("repaired: alice = {}, bob = {}", acc.alice, acc.bob);
}
// ANCHOR_END: here

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_holding_the_lock_poisons_it() {
        let accounts = Mutex::new(Accounts { alice: 100, bob: 0 });
        let crashed =
            thread::scope(|s| s.spawn(|| transfer(&accounts, 40, true)).join());
        assert!(crashed.is_err());
        assert!(accounts.is_poisoned());
        let Err(poisoned) = accounts.lock() else {
            panic!("the lock should be poisoned");
        };
        let acc = poisoned.into_inner();
        assert_eq!((acc.alice, acc.bob), (60, 0));
        drop(acc);
        accounts.clear_poison();
        assert!(accounts.lock().is_ok());
    }

    #[test]
    fn a_panic_without_the_lock_does_not() {
        let accounts = Mutex::new(Accounts { alice: 100, bob: 0 });
        let crashed = thread::scope(|s| {
            s.spawn(|| {
                transfer(&accounts, 40, false);
                panic!("after the transfer");
            })
            .join()
        });
        assert!(crashed.is_err());
        assert!(!accounts.is_poisoned());
        let acc = accounts.lock().unwrap();
        assert_eq!((acc.alice, acc.bob), (60, 40));
    }
}
