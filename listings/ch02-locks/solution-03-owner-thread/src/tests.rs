use super::*;

#[test]
fn counts_what_is_added() {
    let counter = spawn_counter();
    assert_eq!(counter.get(), 0);
    counter.add(5);
    counter.add(7);
    assert_eq!(counter.get(), 12);
}

#[test]
fn threads_add_through_clones_and_nothing_is_lost() {
    let counter = spawn_counter();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let counter = counter.clone();
            thread::spawn(move || {
                for _ in 0..1000 {
                    counter.add(1);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(counter.get(), 8000);
}
