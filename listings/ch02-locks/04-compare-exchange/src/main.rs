use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::thread;

const TICKETS: u64 = 1000;
const BUYERS: usize = 100;
const WANTED: u64 = 20;

// ANCHOR: here
/// Takes the next ticket if one is left, and returns its number.
fn take_ticket(sold: &AtomicU64) -> Option<u64> {
    let mut seen = sold.load(Relaxed);
    loop {
        if seen == TICKETS {
            return None;
        }
        // Store `seen + 1`, but only if the count is still `seen`.
        match sold.compare_exchange(seen, seen + 1, Relaxed, Relaxed) {
            Ok(_) => return Some(seen),
            Err(now) => seen = now, // Another thread sold one: try again.
        }
    }
}
// ANCHOR_END: here

/// Each buyer tries to take `WANTED` tickets. Returns the count of tickets
/// sold and the numbers of the tickets the buyers got, sorted.
fn sell() -> (u64, Vec<u64>) {
    let sold = AtomicU64::new(0);
    let start = Barrier::new(BUYERS);
    let mut tickets: Vec<u64> = thread::scope(|s| {
        let buyers: Vec<_> = (0..BUYERS)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    (0..WANTED)
                        .filter_map(|_| take_ticket(&sold))
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        buyers.into_iter().flat_map(|b| b.join().unwrap()).collect()
    });
    tickets.sort_unstable();
    (sold.into_inner(), tickets)
}

fn main() {
    let (sold, tickets) = sell();
    assert_eq!(sold, TICKETS);
    // Ticket numbers 0, 1, 2, ... each went to exactly one buyer.
    assert!(tickets.iter().copied().eq(0..TICKETS));
    let wanted = BUYERS as u64 * WANTED;
    println!(
        "wanted: {wanted}, sold: {sold}, handed out: {}",
        tickets.len()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_oversold() {
        for _ in 0..5 {
            let (sold, tickets) = sell();
            assert_eq!(sold, TICKETS);
            assert!(tickets.iter().copied().eq(0..TICKETS));
        }
    }

    #[test]
    fn tickets_are_numbered_in_order() {
        let sold = AtomicU64::new(TICKETS - 2);
        assert_eq!(take_ticket(&sold), Some(TICKETS - 2));
        assert_eq!(take_ticket(&sold), Some(TICKETS - 1));
        assert_eq!(take_ticket(&sold), None);
        assert_eq!(sold.load(Relaxed), TICKETS);
    }
}
