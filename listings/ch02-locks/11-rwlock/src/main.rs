use std::sync::{Barrier, RwLock};
use std::thread;

const READERS: usize = 4;

// ANCHOR: here
/// Starts `readers` threads that each take the read lock and, while they
/// hold it, wait for all the others. Returns how many planets each saw.
fn read_all_at_once(
    planets: &RwLock<Vec<String>>,
    readers: usize,
) -> Vec<usize> {
    let all_inside = Barrier::new(readers);
    thread::scope(|s| {
        let handles: Vec<_> = (0..readers)
            .map(|_| {
                s.spawn(|| {
                    let list = planets.read().unwrap();
                    // Passes only when every reader holds the read lock.
                    all_inside.wait();
                    list.len()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}
// ANCHOR_END: here

// ANCHOR: main
fn main() {
    let planets = RwLock::new(vec!["planet-a.example".to_string()]);
    let seen = read_all_at_once(&planets, READERS);
    println!("{READERS} readers held the lock at once, and saw {seen:?}");

    // A writer gets the lock alone: no reader is inside.
    planets
        .write()
        .unwrap()
        .push("planet-b.example".to_string());
    let seen = read_all_at_once(&planets, READERS);
    println!("after one write, they saw {seen:?}");
}
// ANCHOR_END: main

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_share_the_lock() {
        let planets = RwLock::new(vec![String::new(); 3]);
        assert_eq!(read_all_at_once(&planets, 8), vec![3; 8]);
    }

    #[test]
    fn a_reader_keeps_writers_out_but_lets_readers_in() {
        let planets = RwLock::new(Vec::<String>::new());
        let _reading = planets.read().unwrap();
        assert!(planets.try_write().is_err());
        assert!(planets.try_read().is_ok());
    }

    #[test]
    fn a_writer_keeps_everyone_out() {
        let planets = RwLock::new(Vec::<String>::new());
        let _writing = planets.write().unwrap();
        assert!(planets.try_read().is_err());
        assert!(planets.try_write().is_err());
    }
}
