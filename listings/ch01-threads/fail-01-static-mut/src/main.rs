use std::thread;

// ANCHOR: here
static mut COUNTER: u64 = 0;

fn incr() {
    for _ in 0..1000 {
        COUNTER += 1;
    }
}

fn execute(f: fn()) {
    let threads: Vec<_> = (0..100).map(|_| thread::spawn(f)).collect();
    for t in threads {
        t.join().unwrap();
    }
}

fn main() {
    execute(incr);
}
// ANCHOR_END: here
