use std::io::{self, Write};
use std::thread;

// ANCHOR: here
/// A report of three lines, which must stay together.
fn report(id: u32) -> io::Result<()> {
    // One lock for the three lines: other threads' `println!`s and
    // reports wait until `out` is dropped.
    let mut out = io::stdout().lock();
    writeln!(out, "report {id}: first line")?;
    writeln!(out, "report {id}: second line")?;
    writeln!(out, "report {id}: third line")?;
    Ok(())
}
// ANCHOR_END: here

fn main() -> io::Result<()> {
    thread::scope(|s| {
        let threads: Vec<_> =
            (0..4).map(|id| s.spawn(move || report(id))).collect();
        threads.into_iter().try_for_each(|t| t.join().unwrap())
    })
}
