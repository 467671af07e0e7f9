//! The system calls and context switches each echo server of chapter 3
//! makes per message, counted by `perf stat` (Linux only, and only where
//! perf may read the kernel's tracepoints). The server runs under perf,
//! pinned to one core, and the chapter's load generator in this process on
//! the other, as in the `echo` benchmark.

use super::echo::two_servers;
use super::echo::{EVENT_LOOP, REACTOR, THREADS, TOKIO_CT, TOKIO_MT};
use super::echo::{SERVERS, Server, has_taskset, load, start_command};
use crate::bench::{Bench, Mode};
use crate::claim::{Bound, Claim};
use crate::render::{fmt_value, footer, header};
use crate::results::{Machine, Metric, Point, Results, Unit};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

pub const BENCH: Bench = Bench {
    name: "syscalls",
    run,
    render,
    claims,
    child: None,
};

/// What perf counts: (as perf names it, the metric of each server's series
/// that records it, and the table's column).
pub const EVENTS: [(&str, Metric); 6] = [
    ("raw_syscalls:sys_enter", ALL_CALLS),
    ("syscalls:sys_enter_recvfrom", RECVFROM),
    ("syscalls:sys_enter_sendto", SENDTO),
    ("syscalls:sys_enter_epoll_wait", per_message("epoll_wait")),
    ("syscalls:sys_enter_futex", per_message("futex")),
    ("context-switches", CONTEXT_SWITCHES),
];
pub const ALL_CALLS: Metric = per_message("all system calls");
pub const RECVFROM: Metric = per_message("recvfrom");
pub const SENDTO: Metric = per_message("sendto");
pub const CONTEXT_SWITCHES: Metric = per_message("context switches");

/// A count per message echoed.
const fn per_message(name: &'static str) -> Metric {
    Metric {
        name,
        unit: Unit::PerMessage,
    }
}

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
fn run_once(
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
fn run(mode: Mode) -> Option<Results> {
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
    let _pin = super::echo::Pin::this_process(pinned, machine.cores);
    let mut points = Vec::new();
    for Server {
        kind, label: name, ..
    } in SERVERS
    {
        for c in CONNECTIONS {
            let mut samples = vec![Vec::new(); EVENTS.len()];
            for _ in 0..runs {
                let counts = match run_once(kind, c, pinned) {
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
            for ((_, metric), samples) in EVENTS.iter().zip(samples) {
                points.push(Point::metric(name, *metric, c as u64, samples));
            }
        }
    }
    Some(Results::new(
        "syscalls",
        machine,
        mode,
        format!(
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
        Unit::PerMessage,
        points,
    ))
}

fn syscalls_table(r: &Results) -> String {
    let mut t = header(&r.bench);
    t.push_str("\n\n");
    // One row per server and connection count, one column per event
    // counted.
    let servers = r.series();
    let columns: Vec<Metric> = EVENTS
        .iter()
        .map(|(_, m)| *m)
        .filter(|m| {
            r.points.iter().any(|p| p.metric.as_deref() == Some(m.name))
        })
        .collect();
    let names: Vec<&str> = columns.iter().map(|m| m.name).collect();
    let _ = writeln!(t, "| server | connections | {} |", names.join(" | "));
    let _ = writeln!(t, "|---|---:|{}", "---:|".repeat(columns.len()));
    for s in &servers {
        for x in r.xs() {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| {
                    r.metric(s, *c, x)
                        .map_or("–".into(), |p| fmt_value(c.unit, p.median()))
                })
                .collect();
            let _ = writeln!(t, "| {s} | {x} | {} |", cells.join(" | "));
        }
    }
    t.push_str(&footer(r, "per message echoed, median over the runs"));
    t
}

fn render(r: &Results) -> Vec<(&'static str, String)> {
    vec![("syscalls.md", syscalls_table(r))]
}

fn claims() -> Vec<Claim> {
    vec![
        Claim {
            text: "At 100 connections, our reactor made {ratio} times as \
                   many system calls per message as tokio's current-thread \
                   runtime",
            bound: Bound::Between(0.95, 1.05),
            ratio: |r| two_servers(r, REACTOR, TOKIO_CT, ALL_CALLS, 100),
        },
        Claim {
            text: "At 1000 connections, our reactor made {ratio} times as \
                   many system calls per message as tokio's current-thread \
                   runtime",
            bound: Bound::Between(0.95, 1.05),
            ratio: |r| two_servers(r, REACTOR, TOKIO_CT, ALL_CALLS, 1000),
        },
        Claim {
            text: "At 100 connections, our reactor made {ratio} `recvfrom` \
                   calls per message",
            bound: Bound::CountBetween(0.95, 1.1),
            ratio: |r| {
                let p = r.metric(REACTOR.label, RECVFROM, 100)?;
                Some((p.median(), 1.0))
            },
        },
        Claim {
            text: "At 100 connections, our reactor made {ratio} `sendto` \
                   calls per message",
            bound: Bound::CountBetween(0.95, 1.1),
            ratio: |r| {
                let p = r.metric(REACTOR.label, SENDTO, 100)?;
                Some((p.median(), 1.0))
            },
        },
        Claim {
            text: "At 1000 connections, tokio's multi-thread runtime made \
                   {ratio} times as many system calls per message as its \
                   current-thread runtime",
            bound: Bound::Between(0.95, 1.05),
            ratio: |r| two_servers(r, TOKIO_MT, TOKIO_CT, ALL_CALLS, 1000),
        },
        Claim {
            text: "Listing 3-2, which reads until `WouldBlock`, made {ratio} \
                   `recvfrom` calls per message",
            bound: Bound::CountAtLeast(1.5),
            ratio: |r| {
                let p = r.metric(EVENT_LOOP.label, RECVFROM, 100)?;
                Some((p.median(), 1.0))
            },
        },
        Claim {
            text: "The thread-per-connection server made {ratio} context \
                   switches per message at 1000 connections",
            bound: Bound::CountAtLeast(0.5),
            ratio: |r| {
                let cs = r.metric(THREADS.label, CONTEXT_SWITCHES, 1000)?;
                Some((cs.median(), 1.0))
            },
        },
    ]
}
