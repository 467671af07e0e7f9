//! Readings from /proc that more than one benchmark needs.

use std::time::Duration;

/// CPU time (user and system) of a whole process, `"self"` or a pid, from
/// `/proc/<pid>/stat`, in ticks of 10 ms.
pub fn process_cpu(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_default();
    // The command name may hold spaces: count the fields after its ')'.
    // Every field is kept, the state letter and a tpgid of -1 included, so
    // that utime and stime (fields 14 and 15 of the line) are 11 and 12.
    let after = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    let ticks = tick(11).unwrap_or(0) + tick(12).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// How many times the calling thread has given up its core of its own
/// accord (`voluntary_ctxt_switches` in `/proc/thread-self/status`): each
/// time it blocked in the kernel, parked on a futex say. `None` where
/// there is no such file (Linux before 3.17, or another system).
pub fn thread_voluntary_switches() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/thread-self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with("voluntary_ctxt_switches:"))?;
    line.split(':').nth(1)?.trim().parse().ok()
}
