//! A solution to exercise 2-2.
//!
//! The exercise: move money between accounts, each behind its own lock,
//! from many threads, without a deadlock and without losing a cent.

use std::sync::Mutex;

pub struct Bank {
    accounts: Vec<Mutex<u64>>,
}

impl Bank {
    pub fn new(balances: &[u64]) -> Bank {
        let accounts = balances.iter().map(|&b| Mutex::new(b)).collect();
        Bank { accounts }
    }

    pub fn balance(&self, account: usize) -> u64 {
        *self.accounts[account].lock().unwrap()
    }

    pub fn total(&self) -> u64 {
        (0..self.accounts.len()).map(|a| self.balance(a)).sum()
    }
}

// ANCHOR: task
impl Bank {
    /// Moves `amount` from `from` to `to`, holding both accounts' locks so
    /// that no one sees the money in neither or in both. Returns `false`,
    /// and moves nothing, if `from` holds less than `amount`. Must not
    /// deadlock when other threads transfer the other way at the same
    /// time, nor when `from` and `to` are the same account.
    pub fn transfer(&self, from: usize, to: usize, amount: u64) -> bool {
        if from == to {
            // One lock: taking it twice would deadlock this very thread.
            return *self.accounts[from].lock().unwrap() >= amount;
        }
        // Both locks, the lower index first: two transfers in opposite
        // directions take them in the same order, so neither can hold
        // one while waiting for the other's.
        let (low, high) = (from.min(to), from.max(to));
        let mut low_guard = self.accounts[low].lock().unwrap();
        let mut high_guard = self.accounts[high].lock().unwrap();
        let (source, target) = if from == low {
            (&mut *low_guard, &mut *high_guard)
        } else {
            (&mut *high_guard, &mut *low_guard)
        };
        if *source < amount {
            return false;
        }
        *source -= amount;
        *target += amount;
        true
    }
}
// ANCHOR_END: task

fn main() {
    let bank = Bank::new(&[100, 0]);
    println!("{} {}", bank.transfer(0, 1, 30), bank.total());
}

#[cfg(test)]
mod tests;
