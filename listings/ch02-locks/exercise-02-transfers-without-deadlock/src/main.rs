//! Exercise 2-2: move money between accounts, each behind its own lock,
//! from many threads, without a deadlock and without losing a cent.
#![allow(dead_code, unused_imports, unused_variables)] // Until it is written.

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
        // Your code here: lock both accounts, always in the same order
        // whatever the direction (the lower index first, say).
        todo!("move {amount} from account {from} to account {to}")
    }
}
// ANCHOR_END: task

fn main() {
    let bank = Bank::new(&[100, 0]);
    println!("{} {}", bank.transfer(0, 1, 30), bank.total());
}

#[cfg(test)]
mod tests;
