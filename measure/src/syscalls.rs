//! The system calls and context switches each echo server of chapter 3
//! makes per message, counted by `perf stat` (Linux only, and only where
//! perf may read the kernel's tracepoints). The server runs under perf,
//! pinned to one core, and the chapter's load generator in this process on
//! the other, as in the `echo` benchmark.

use crate::echo::{SERVERS, has_taskset, load, start_command};
use crate::micro::Mode;
use crate::results::{Machine, Point, Results};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

/// What perf counts, as perf names it, and as the table names it.
pub const EVENTS: [(&str, &str); 6] = [
    ("raw_syscalls:sys_enter", "all system calls"),
    ("syscalls:sys_enter_recvfrom", "recvfrom"),
    ("syscalls:sys_enter_sendto", "sendto"),
    ("syscalls:sys_enter_epoll_wait", "epoll_wait"),
    ("syscalls:sys_enter_futex", "futex"),
    ("context-switches", "context switches"),
];

pub const CONNECTIONS: [usize; 2] = [100, 1000];

/// Messages per run, spread over the connections.
const MESSAGES: usize = 200_000;

fn has_perf() -> bool {
    Command::new("perf")
        .args(["stat", "-x,", "-e", EVENTS[0].0, "--", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && !String::from_utf8_lossy(&o.stderr).contains("not supported")
        })
}

/// One run: the server under perf, loaded with `MESSAGES` messages over
/// `connections`; the counts per message, in the order of `EVENTS`.
fn run(
    kind: &str,
    connections: usize,
    pinned: bool,
) -> Result<Vec<f64>, String> {
    let out = std::env::temp_dir()
        .join(format!("measure-syscalls-{}.csv", std::process::id()));
    let events: Vec<&str> = EVENTS.iter().map(|(e, _)| *e).collect();
    let mut cmd = Command::new("perf");
    cmd.args(["stat", "-x,", "-e", &events.join(","), "-o"])
        .arg(&out)
        .arg("--");
    let server = start_command(kind, pinned);
    cmd.arg(server.get_program()).args(server.get_args());
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start perf: {e}"))?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let port: u16 = line
        .trim()
        .parse()
        .map_err(|_| format!("the server printed no port, but {line:?}"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let per = (MESSAGES / connections) as u64;
    let r = load::run_load(addr, connections, per, Duration::from_secs(20));
    // The server is perf's child: once it ends, perf writes the counts.
    // (A signal, not a pipe: a process started in the background may
    // ignore SIGINT, so SIGTERM.)
    let perf = child.id().to_string();
    let _ = Command::new("pkill").args(["-TERM", "-P", &perf]).status();
    let _ = child.wait();
    let r = r.map_err(|e| format!("the load generator failed: {e}"))?;
    let text = std::fs::read_to_string(&out)
        .map_err(|e| format!("no counts from perf: {e}"))?;
    let _ = std::fs::remove_file(&out);
    let msgs = r.messages.max(1) as f64;
    let count = |event: &str| -> Option<f64> {
        let row = text.lines().find(|l| l.split(',').nth(2) == Some(event))?;
        row.split(',').next()?.parse().ok()
    };
    EVENTS
        .iter()
        .map(|(event, _)| {
            let n =
                count(event).ok_or(format!("perf did not count {event}"))?;
            Ok(n / msgs)
        })
        .collect()
}

/// `None` where perf cannot count system calls: the saved results stay.
pub fn measure(mode: Mode) -> Option<Results> {
    if !cfg!(target_os = "linux") || !has_perf() {
        eprintln!("syscalls: needs Linux and a perf that may trace syscalls");
        return None;
    }
    let runs = match mode {
        Mode::Quick => 1,
        Mode::Full => 3,
    };
    let machine = Machine::this(); // Before pinning: it counts the cores.
    let pinned = has_taskset() && machine.cores >= 2;
    let _pin = crate::echo::Pin::this_process(pinned, machine.cores);
    let mut points = Vec::new();
    for (kind, name) in SERVERS {
        for c in CONNECTIONS {
            let mut samples = vec![Vec::new(); EVENTS.len()];
            for _ in 0..runs {
                let counts = match run(kind, c, pinned) {
                    Ok(counts) => counts,
                    Err(e) => {
                        eprintln!("syscalls: {name}, {c} connections: {e}");
                        return None;
                    }
                };
                for (s, v) in samples.iter_mut().zip(counts) {
                    s.push(v);
                }
            }
            eprintln!("syscalls: {name}, {c} connections: {samples:?}");
            for ((_, label), samples) in EVENTS.iter().zip(samples) {
                points.push(Point {
                    series: format!("{name} | {label}"),
                    x: c as u64,
                    samples,
                    runs: 0,
                });
            }
        }
    }
    Some(Results {
        bench: "syscalls".into(),
        machine,
        mode: mode.name().into(),
        method: format!(
            "each echo server run under `perf stat -e {}`, {}, while \
             the chapter's load generator sends {MESSAGES} messages of {} \
             bytes over the connections; the counts, divided by the \
             messages, include accepting and closing the connections \
             (a few calls each); {runs} run(s) per row",
            EVENTS.map(|(e, _)| e).join(","),
            if pinned {
                "server pinned to core 0, load generator to core 1"
            } else {
                "not pinned to cores"
            },
            load::MESSAGE_LEN,
        ),
        unit: "per message".into(),
        points,
    })
}
