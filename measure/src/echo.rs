//! Chapter 3's echo servers under the chapter's own load generator:
//! messages per second, round-trip latency, and the CPU each side spends,
//! at 10, 100 and 1000 connections. The server runs in a child process
//! pinned to one core, the load generator in this process pinned to the
//! other (with `taskset`, when the machine has it), so that neither steals
//! the other's core. The code measured is the listings' own.

#[path = "../../listings/ch03-reactor/02-event-loop/src/main.rs"]
#[allow(dead_code)]
mod event_loop;
#[path = "../../listings/ch03-reactor/10-echo-load/src/load.rs"]
#[allow(dead_code)]
pub mod load;
#[path = "../../listings/ch03-reactor/03-protocols/src/main.rs"]
#[allow(dead_code)]
mod protocols;
#[path = "../../listings/ch03-reactor/01-thread-per-connection/src/main.rs"]
#[allow(dead_code)]
mod thread_per_connection;
#[path = "../../listings/ch03-reactor/08-tokio-echo/src/main.rs"]
#[allow(dead_code)]
mod tokio_echo;

use crate::micro::Mode;
use crate::results::{Machine, Point, Results};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const SERVERS: [(&str, &str); 5] = [
    ("threads", "thread per connection (3-1)"),
    ("event-loop", "our event loop on mio (3-2)"),
    ("reactor", "our reactor with protocols (3-3)"),
    ("tokio-ct", "tokio, current-thread runtime (3-8)"),
    ("tokio-mt", "tokio, multi-thread runtime (3-8)"),
];
pub const CONNECTIONS: [usize; 3] = [10, 100, 1000];

/// In the child process: serve echo with the server `kind` on a fresh
/// port of 127.0.0.1, after printing that port.
pub fn serve(kind: &str) -> std::io::Result<()> {
    let listener = crate::scraper::listener_with_backlog(4096);
    println!("{}", listener.local_addr()?.port());
    use std::io::Write;
    std::io::stdout().flush()?;
    match kind {
        "threads" => thread_per_connection::run(listener),
        "event-loop" => event_loop::run(listener),
        "reactor" => protocols::run(listener),
        "tokio-ct" => tokio_echo::run_current_thread(listener),
        // Two workers, as on a two-core machine, though the process is
        // confined to one core like every other server here.
        "tokio-mt" => tokio_echo::run_multi_thread(listener, 2),
        _ => Err(std::io::Error::other(format!("unknown server `{kind}`"))),
    }
}

pub fn has_taskset() -> bool {
    Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The command that runs the server `kind`, pinned to core 0 if asked.
pub fn start_command(kind: &str, pinned: bool) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if pinned {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(["serve-echo", kind]);
    cmd
}

/// Starts the server child, pinned to core 0 when possible; its address.
fn start(kind: &str, pinned: bool) -> (Child, SocketAddr) {
    let mut cmd = start_command(kind, pinned);
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start the echo server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("the server printed no port");
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}

pub fn measure(mode: Mode) -> Results {
    let (runs, limit) = match mode {
        Mode::Quick => (3, Duration::from_millis(800)),
        Mode::Full => (5, Duration::from_secs(3)),
    };
    let machine = Machine::this(); // Before pinning: it counts the cores.
    let pinned = has_taskset() && machine.cores >= 2;
    let pin = Pin::this_process(pinned, machine.cores);
    let mut points = Vec::new();
    for (kind, name) in SERVERS {
        let (mut child, addr) = start(kind, pinned);
        for c in CONNECTIONS {
            // A short run first, so that every connection is accepted and
            // every buffer allocated before we measure.
            let _ = load::run_load(addr, c, 1_000, Duration::from_millis(200));
            let mut point = Point {
                series: name.into(),
                x: c as u64,
                samples: Vec::new(),
                runs: 0,
            };
            let mut extra = Extra::default();
            for _ in 0..runs {
                let server_cpu = || {
                    crate::sys::process_cpu(child.id())
                        .expect("the echo server's CPU time")
                };
                let before = server_cpu();
                let r = load::run_load(addr, c, 10_000_000, limit)
                    .expect("the load generator failed");
                let server = server_cpu().saturating_sub(before);
                let msgs = r.messages as f64; // Never 0: see `run_load`.
                point.samples.push(r.messages_per_sec);
                extra.p50.push(r.p50.as_nanos() as f64);
                extra.p99.push(r.p99.as_nanos() as f64);
                extra.server_cpu.push(server.as_nanos() as f64 / msgs);
                extra
                    .load_cpu
                    .push(r.cpu.as_secs_f64() / r.elapsed.as_secs_f64());
            }
            eprintln!(
                "echo: {name}, {c} connections: {:?} msg/s",
                point.samples
            );
            points.push(point);
            points.extend(extra.into_points(name, c as u64));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    drop(pin); // Every core again, for the benchmarks that follow.
    Results {
        bench: "echo".into(),
        machine,
        mode: mode.name().into(),
        method: format!(
            "the chapter's load generator (Listing 3-10: one thread, \
             closed loop, {}-byte messages, each connection sends its next \
             message once the last is echoed whole) against each server \
             in a child process; {}; after a 200 ms warm-up, {runs} runs of \
             {} ms per row; server CPU from /proc/PID/stat (in clock \
             ticks, at the rate the system reports) \
             divided by the messages; load generator CPU as a share of one \
             core",
            load::MESSAGE_LEN,
            if pinned {
                "server pinned to core 0, load generator to core 1 (taskset)"
            } else {
                "not pinned to cores (no taskset, or one core)"
            },
            limit.as_millis()
        ),
        unit: "msg/s".into(),
        points,
    }
}

/// The other figures of a row, kept as series of their own whose names
/// end in the metric: `<server> | p50` and so on.
#[derive(Default)]
struct Extra {
    p50: Vec<f64>,
    p99: Vec<f64>,
    server_cpu: Vec<f64>,
    load_cpu: Vec<f64>,
}

pub const METRICS: [&str; 4] = ["p50", "p99", "server CPU", "load CPU"];

impl Extra {
    fn into_points(self, name: &str, x: u64) -> Vec<Point> {
        [self.p50, self.p99, self.server_cpu, self.load_cpu]
            .into_iter()
            .zip(METRICS)
            .map(|(samples, m)| Point {
                series: format!("{name} | {m}"),
                x,
                samples,
                runs: 0,
            })
            .collect()
    }
}

/// This process pinned to core 1 while it lives, when `pinned`; every
/// core again once dropped.
pub struct Pin {
    all: Option<String>,
}

impl Pin {
    pub fn this_process(pinned: bool, cores: usize) -> Pin {
        let set = |cpus: &str| {
            let pid = std::process::id().to_string();
            let _ = Command::new("taskset")
                .args(["-a", "-p", "-c", cpus, &pid])
                .stdout(Stdio::null())
                .status();
        };
        if !pinned {
            return Pin { all: None };
        }
        set("1");
        Pin {
            all: Some(format!("0-{}", cores - 1)),
        }
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        if let Some(all) = &self.all {
            let pid = std::process::id().to_string();
            let _ = Command::new("taskset")
                .args(["-a", "-p", "-c", all, &pid])
                .stdout(Stdio::null())
                .status();
        }
    }
}
