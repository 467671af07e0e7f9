use std::thread;

// ANCHOR: here
fn main() {
    let mut counter: u64 = 0;
    thread::scope(|s| {
        for _ in 0..100 {
            s.spawn(|| {
                for _ in 0..1000 {
                    counter += 1;
                }
            });
        }
    });
    println!("count = {counter}");
}
// ANCHOR_END: here
