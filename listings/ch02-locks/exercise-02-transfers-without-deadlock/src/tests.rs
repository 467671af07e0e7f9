use super::*;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

#[test]
fn moves_money_or_refuses() {
    let bank = Bank::new(&[100, 5]);
    assert!(bank.transfer(0, 1, 30));
    assert_eq!((bank.balance(0), bank.balance(1)), (70, 35));
    assert!(!bank.transfer(1, 0, 36), "account 1 holds only 35");
    assert_eq!((bank.balance(0), bank.balance(1)), (70, 35));
    assert!(bank.transfer(1, 1, 10), "to oneself: nothing moves");
    assert_eq!(bank.total(), 105);
}

/// A transfer that must wait for one account does not hold the other
/// meanwhile: with account 0 held here, a transfer from 1 to 0 waits,
/// and account 1 stays free.
#[test]
fn a_waiting_transfer_holds_no_lock_that_another_would_need() {
    let bank = Arc::new(Bank::new(&[10, 10]));
    let held = bank.accounts[0].lock().unwrap();
    let b = bank.clone();
    let transfer = thread::spawn(move || b.transfer(1, 0, 1));
    thread::sleep(Duration::from_millis(200));
    let free = bank.accounts[1].try_lock().is_ok();
    drop(held);
    assert!(transfer.join().unwrap());
    assert!(
        free,
        "waiting for account 0, the transfer held account 1: a transfer \
         from 0 to 1 would now wait for it, and neither could go on"
    );
}

#[test]
fn opposite_transfers_at_once_finish_and_keep_the_total() {
    let bank = Arc::new(Bank::new(&[1000, 1000, 1000]));
    let threads: Vec<_> = [(0, 1), (1, 0), (1, 2), (2, 1), (2, 0), (0, 2)]
        .into_iter()
        .map(|(from, to)| {
            let bank = bank.clone();
            thread::spawn(move || {
                for _ in 0..20_000 {
                    bank.transfer(from, to, 1);
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while threads.iter().any(|t| !t.is_finished()) {
        // All three locks, in the order a right transfer takes them: the
        // money is never in neither account, nor in both.
        let all: Vec<_> =
            bank.accounts.iter().map(|a| a.lock().unwrap()).collect();
        let total: u64 = all.iter().map(|b| **b).sum();
        drop(all);
        assert_eq!(total, 3000, "seen in the middle of a transfer");
        assert!(
            Instant::now() < deadline,
            "the transfers have not finished after 30 s: a deadlock?"
        );
        thread::sleep(Duration::from_millis(10));
    }
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(bank.total(), 3000);
}
