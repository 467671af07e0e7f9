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
