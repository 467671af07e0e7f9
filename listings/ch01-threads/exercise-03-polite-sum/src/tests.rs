use super::*;
use std::cell::Cell;
use std::rc::Rc;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn sums_zero_to_n() {
    let rt = runtime();
    for (n, every) in [(0, 1), (1, 1), (10, 3), (100_000, 1000)] {
        let expected = (0..n).sum::<u64>();
        assert_eq!(rt.block_on(polite_sum(n, every)), expected, "n = {n}");
    }
}

#[test]
fn other_tasks_run_while_it_sums() {
    let rt = runtime();
    let turns = Rc::new(Cell::new(0u64));
    let local = task::LocalSet::new();
    let seen = local.block_on(&rt, async {
        let t = turns.clone();
        // Counts its turns for as long as it lives.
        let other = task::spawn_local(async move {
            loop {
                t.set(t.get() + 1);
                task::yield_now().await;
            }
        });
        polite_sum(1_000_000, 10_000).await;
        let seen = turns.get();
        other.abort();
        seen
    });
    // One turn at each of the 100 yields (tokio's `yield_now` lets every
    // other ready task run once); a little slack either way.
    assert!(
        (90..=110).contains(&seen),
        "the other task ran {seen} times while the sum ran: it should run \
         once at each of the 100 yields"
    );
}
