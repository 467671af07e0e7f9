//! Readings from the system that more than one benchmark needs. On Linux,
//! `/proc` is read through the `procfs` crate; a reading that fails is an
//! error, never a zero, and CPU ticks are converted at the system's own
//! tick rate (`sysconf(_SC_CLK_TCK)`), not an assumed 100 per second.

use std::io;
use std::time::Duration;

/// CPU time (user and system) of this whole process, from the system's
/// per-process CPU clock (`CLOCK_PROCESS_CPUTIME_ID`, via `cpu-time`).
pub fn own_cpu() -> Duration {
    cpu_time::ProcessTime::now().as_duration()
}

/// CPU time (user and system) of another process, from `/proc/<pid>/stat`,
/// to the precision of the system's clock tick.
#[cfg(target_os = "linux")]
pub fn process_cpu(pid: u32) -> io::Result<Duration> {
    let stat = procfs::process::Process::new(pid as i32)
        .and_then(|p| p.stat())
        .map_err(io::Error::other)?;
    let ticks = stat.utime + stat.stime;
    Ok(Duration::from_secs_f64(
        ticks as f64 / procfs::ticks_per_second() as f64,
    ))
}

/// Elsewhere there is no `/proc` to read another process's CPU time from.
#[cfg(not(target_os = "linux"))]
pub fn process_cpu(_pid: u32) -> io::Result<Duration> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "another process's CPU time is read from /proc, on Linux only",
    ))
}

/// How many times the calling thread has given up its core of its own
/// accord (`voluntary_ctxt_switches` in `/proc/thread-self/status`): each
/// time it blocked in the kernel, parked on a futex say.
#[cfg(target_os = "linux")]
pub fn thread_voluntary_switches() -> io::Result<u64> {
    // `/proc/thread-self` links to `<pid>/task/<tid>`: the calling thread.
    let link = std::fs::read_link("/proc/thread-self")?;
    let tid = link
        .file_name()
        .and_then(|t| t.to_str()?.parse().ok())
        .ok_or_else(|| io::Error::other(format!("odd link {link:?}")))?;
    let status = procfs::process::Process::myself()
        .and_then(|p| p.task_from_tid(tid)?.status())
        .map_err(io::Error::other)?;
    status.voluntary_ctxt_switches.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "no voluntary_ctxt_switches (Linux before 2.6.23)",
        )
    })
}

#[cfg(not(target_os = "linux"))]
pub fn thread_voluntary_switches() -> io::Result<u64> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "context switches are read from /proc, on Linux only",
    ))
}

/// The resident set of this process, in bytes (`VmRSS` of
/// `/proc/self/status`).
#[cfg(target_os = "linux")]
pub fn resident_bytes() -> io::Result<u64> {
    let status = procfs::process::Process::myself()
        .and_then(|p| p.status())
        .map_err(io::Error::other)?;
    let kib = status.vmrss.ok_or_else(|| {
        io::Error::other("no VmRSS in /proc/self/status (a kernel thread?)")
    })?;
    Ok(kib * 1024)
}

#[cfg(not(target_os = "linux"))]
pub fn resident_bytes() -> io::Result<u64> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "resident memory is read from /proc, on Linux only",
    ))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn readings_are_real_numbers_not_zeros() {
        // Burn 50 ms of this thread's CPU, however busy the cores are.
        let start = cpu_time::ThreadTime::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let ours = process_cpu(std::process::id()).unwrap();
        assert!(ours >= Duration::from_millis(10), "{ours:?}");
        assert!(own_cpu() >= ours.saturating_sub(Duration::from_millis(20)));
        assert!(resident_bytes().unwrap() > 1024 * 1024);
        thread_voluntary_switches().unwrap();
    }

    #[test]
    fn a_process_that_is_not_there_is_an_error() {
        // Pids are below 2^22 on Linux (`pid_max`'s ceiling).
        assert!(process_cpu(u32::MAX / 2).is_err());
    }
}
