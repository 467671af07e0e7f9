use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::thread;

// ANCHOR: here
/// Fills `data`, then raises `ready`: the `Release` store publishes every
/// write the thread made before it.
fn publish(data: &[AtomicU64], ready: &AtomicBool) {
    for (i, slot) in data.iter().enumerate() {
        slot.store(i as u64 * 10 + 10, Relaxed);
    }
    ready.store(true, Release);
}

/// Waits for `ready`, then reads `data`. The `Acquire` load that sees the
/// `Release` store sees every write made before that store, `Relaxed`
/// ones included: never a zero.
fn consume(data: &[AtomicU64], ready: &AtomicBool) -> Vec<u64> {
    while !ready.load(Acquire) {
        std::hint::spin_loop();
    }
    data.iter().map(|slot| slot.load(Relaxed)).collect()
}
// ANCHOR_END: here

/// One publication, the reader started first.
fn once() -> Vec<u64> {
    let data: Vec<AtomicU64> = (0..4).map(|_| AtomicU64::new(0)).collect();
    let ready = AtomicBool::new(false);
    thread::scope(|s| {
        let reader = s.spawn(|| consume(&data, &ready));
        s.spawn(|| publish(&data, &ready));
        reader.join().unwrap()
    })
}

fn main() {
    println!("the reader saw {:?}", once());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reader_always_sees_the_whole_publication() {
        for _ in 0..1000 {
            assert_eq!(once(), [10, 20, 30, 40]);
        }
    }
}
