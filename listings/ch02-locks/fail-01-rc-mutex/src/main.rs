use std::rc::Rc;
use std::sync::Mutex;
use std::thread;

// ANCHOR: here
fn main() {
    let counter = Rc::new(Mutex::new(0u64));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let counter = counter.clone(); // One more owner.
            thread::spawn(move || *counter.lock().unwrap() += 1)
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    println!("count = {}", counter.lock().unwrap());
}
// ANCHOR_END: here
