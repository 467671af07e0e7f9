//! Chapter 3's echo servers under the chapter's own load generator:
//! messages per second, round-trip latency, and the CPU each side spends,
//! at 10, 100 and 1000 connections. The server runs in a child process
//! pinned to one core, the load generator in this process pinned to the
//! other (with `taskset`, when the machine has it), so that neither steals
//! the other's core. The code measured is the listings' own.

#[path = "../../../listings/ch03-reactor/02-event-loop/src/main.rs"]
#[allow(dead_code)]
mod event_loop;
#[path = "../../../listings/ch03-reactor/10-echo-load/src/load.rs"]
#[allow(dead_code)]
pub mod load;
#[path = "../../../listings/ch03-reactor/03-protocols/src/main.rs"]
#[allow(dead_code)]
mod protocols;
#[path = "../../../listings/ch03-reactor/01-thread-per-connection/src/main.rs"]
#[allow(dead_code)]
mod thread_per_connection;
#[path = "../../../listings/ch03-reactor/08-tokio-echo/src/main.rs"]
#[allow(dead_code)]
mod tokio_echo;

use crate::bench::{Bench, Child, Mode};
use crate::claim::{Bound, Claim, medians};
use crate::render::panels as panels_figure;
use crate::render::{
    Panel, fmt_tick, footer, header, metric_lines, series_lines, spread,
};
use crate::results::{Machine, Metric, Point, Results, Unit};
use std::fmt::Write as _;
use std::io;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

pub const BENCH: Bench = Bench {
    name: "echo",
    run,
    render,
    claims,
    child: Some(Child {
        command: SERVE_ECHO,
        run: serve,
    }),
};

/// The subcommand that runs one server in a child process.
pub const SERVE_ECHO: &str = "serve-echo";

/// One of chapter 3's echo servers.
#[derive(Clone, Copy)]
pub struct Server {
    /// How `measure serve-echo` names it.
    pub kind: &'static str,
    /// Its series in the results.
    pub label: &'static str,
    /// Serves echo on the listener, in the child process.
    pub serve: fn(TcpListener) -> io::Result<()>,
}

/// tokio's multi-thread runtime with two workers, as on a two-core
/// machine, though the process is confined to one core like every other
/// server here.
fn tokio_two_workers(listener: TcpListener) -> io::Result<()> {
    tokio_echo::run_multi_thread(listener, 2)
}

pub const THREADS: Server = Server {
    kind: "threads",
    label: "thread per connection (3-1)",
    serve: thread_per_connection::run,
};
pub const EVENT_LOOP: Server = Server {
    kind: "event-loop",
    label: "our event loop on mio (3-2)",
    serve: event_loop::run,
};
pub const REACTOR: Server = Server {
    kind: "reactor",
    label: "our reactor with protocols (3-3)",
    serve: protocols::run,
};
pub const TOKIO_CT: Server = Server {
    kind: "tokio-ct",
    label: "tokio, current-thread runtime (3-8)",
    serve: tokio_echo::run_current_thread,
};
pub const TOKIO_MT: Server = Server {
    kind: "tokio-mt",
    label: "tokio, multi-thread runtime (3-8)",
    serve: tokio_two_workers,
};
/// Every server, in the order measured and shown.
pub const SERVERS: [Server; 5] =
    [THREADS, EVENT_LOOP, REACTOR, TOKIO_CT, TOKIO_MT];
pub const CONNECTIONS: [usize; 3] = [10, 100, 1000];

/// In the child process (`measure serve-echo KIND`): serve echo with the
/// server `KIND` on a fresh port of 127.0.0.1, after printing that port.
fn serve(args: &[String]) -> Result<(), String> {
    let kind = args.first().map(String::as_str).unwrap_or_default();
    let Some(server) = SERVERS.iter().find(|s| s.kind == kind) else {
        return Err(format!("unknown server `{kind}`"));
    };
    let listener = crate::net::listener_with_backlog(4096);
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    println!("{port}");
    use std::io::Write;
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    (server.serve)(listener).map_err(|e| e.to_string())
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
    cmd.args([SERVE_ECHO, kind]);
    cmd
}

/// Starts the server child, pinned to core 0 when possible; its address.
fn start(kind: &str, pinned: bool) -> (std::process::Child, SocketAddr) {
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

fn run(mode: Mode) -> Option<Results> {
    if !cfg!(target_os = "linux") {
        eprintln!("echo: needs Linux, to read the server's CPU time");
        return None;
    }
    let (runs, limit) = match mode {
        Mode::Quick => (3, Duration::from_millis(800)),
        Mode::Full => (5, Duration::from_secs(3)),
    };
    let machine = Machine::this(); // Before pinning: it counts the cores.
    let pinned = has_taskset() && machine.cores >= 2;
    let pin = Pin::this_process(pinned, machine.cores);
    let mut points = Vec::new();
    for Server {
        kind, label: name, ..
    } in SERVERS
    {
        let (mut child, addr) = start(kind, pinned);
        for c in CONNECTIONS {
            // A short run first, so that every connection is accepted and
            // every buffer allocated before we measure.
            let _ = load::run_load(addr, c, 1_000, Duration::from_millis(200));
            let mut point = Point::new(name, c as u64, Vec::new());
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
    Some(Results::new(
        "echo",
        machine,
        mode,
        format!(
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
        Unit::MsgPerSec,
        points,
    ))
}

/// The other figures of a row, kept as metrics of the server's series.
#[derive(Default)]
struct Extra {
    p50: Vec<f64>,
    p99: Vec<f64>,
    server_cpu: Vec<f64>,
    load_cpu: Vec<f64>,
}

/// The median round trip of a run.
pub const P50: Metric = Metric {
    name: "p50",
    unit: Unit::Ns,
};
/// The 99th-percentile round trip of a run.
pub const P99: Metric = Metric {
    name: "p99",
    unit: Unit::Ns,
};
/// The server's CPU time per message.
pub const SERVER_CPU: Metric = Metric {
    name: "server CPU",
    unit: Unit::Ns,
};
/// The load generator's CPU time as a share of one core.
pub const LOAD_CPU: Metric = Metric {
    name: "load CPU",
    unit: Unit::Share,
};

impl Extra {
    fn into_points(self, name: &str, x: u64) -> Vec<Point> {
        [
            (P50, self.p50),
            (P99, self.p99),
            (SERVER_CPU, self.server_cpu),
            (LOAD_CPU, self.load_cpu),
        ]
        .into_iter()
        .map(|(m, samples)| Point::metric(name, m, x, samples))
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

fn echo_table(r: &Results) -> String {
    let mut t = header(&r.bench);
    t.push_str("\n\n");
    t.push_str(
        "| server | connections | messages/s | p50 | p99 | server CPU per message | load generator CPU |\n",
    );
    t.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    let servers = r.series();
    for s in &servers {
        for x in r.xs() {
            let Some(p) = r.point(s, x) else { continue };
            let m = |metric: Metric| r.metric(s, metric, x);
            let time = |metric: Metric| {
                m(metric).map_or("–".into(), |p| spread(metric.unit, p, 1.0))
            };
            let rate = format!(
                "{:.0}<br><small>{:.0}–{:.0}</small>",
                p.median(),
                p.min(),
                p.max()
            );
            let _ = writeln!(
                t,
                "| {s} | {x} | {rate} | {} | {} | {} | {} |",
                time(P50),
                time(P99),
                time(SERVER_CPU),
                m(LOAD_CPU).map_or("–".into(), |p| spread(
                    LOAD_CPU.unit,
                    p,
                    1.0
                )),
            );
        }
    }
    t.push_str(&footer(
        r,
        "median over the runs, and below it min–max; p50 and p99 are the \
         round-trip percentiles of each run",
    ));
    t
}

fn render(r: &Results) -> Vec<(&'static str, String)> {
    let p99 = metric_lines(r, P99);
    let rate = |v: f64| fmt_tick(Unit::MsgPerSec, v);
    let time = |v: f64| fmt_tick(Unit::Ns, v);
    let panels = vec![
        Panel {
            title: "Messages per second, by number of connections",
            x_desc: "connections",
            y_desc: "messages per second",
            log_x: true,
            log_y: false,
            y_label: &rate,
            lines: series_lines(r, false),
            limits: Vec::new(),
        },
        Panel {
            title: "99th-percentile round trip, by number of connections",
            x_desc: "connections",
            y_desc: "round trip, p99",
            log_x: true,
            log_y: true,
            y_label: &time,
            lines: p99,
            limits: Vec::new(),
        },
    ];
    let figure =
        panels_figure(r, panels, "marks: median; bars: min–max over the runs");
    vec![("echo.md", echo_table(r)), ("echo.svg", figure)]
}

/// Medians of one metric of two echo servers at `x` connections, in the
/// `echo` or the `syscalls` results.
pub fn two_servers(
    r: &Results,
    a: Server,
    b: Server,
    metric: Metric,
    x: u64,
) -> Option<(f64, f64)> {
    let a = r.metric(a.label, metric, x)?.median();
    let b = r.metric(b.label, metric, x)?.median();
    Some((a, b))
}

fn claims() -> Vec<Claim> {
    vec![
        Claim {
            text: "At 100 connections, our reactor with protocols served \
                   {ratio} times as many messages per second as tokio's \
                   current-thread runtime",
            bound: Bound::AtLeast(0.9),
            ratio: |r| medians(r, (REACTOR.label, 100), (TOKIO_CT.label, 100)),
        },
        Claim {
            text: "In every row, the load generator kept at least {ratio} \
                   of its core busy: it, as much as the server, sets the \
                   pace",
            bound: Bound::CountAtLeast(0.85),
            ratio: |r| {
                let load = r
                    .points
                    .iter()
                    .filter(|p| p.metric.as_deref() == Some(LOAD_CPU.name));
                let least = load.map(|p| p.median()).reduce(f64::min)?;
                Some((least, 1.0))
            },
        },
        Claim {
            text: "At 100 connections, our reactor spent {ratio} times the \
                   server CPU per message of tokio's current-thread runtime",
            bound: Bound::Between(0.9, 1.1),
            ratio: |r| two_servers(r, REACTOR, TOKIO_CT, SERVER_CPU, 100),
        },
        Claim {
            text: "At 1000 connections, our reactor spent {ratio} times the \
                   server CPU per message of tokio's current-thread runtime",
            bound: Bound::Between(0.9, 1.1),
            ratio: |r| two_servers(r, REACTOR, TOKIO_CT, SERVER_CPU, 1000),
        },
        Claim {
            text: "At 1000 connections, our reactor's 99th-percentile round \
                   trip was {ratio} times that of tokio's current-thread \
                   runtime",
            bound: Bound::Below(1.2),
            ratio: |r| two_servers(r, REACTOR, TOKIO_CT, P99, 1000),
        },
        Claim {
            text: "At 100 connections, the thread-per-connection server \
                   spent {ratio} times the CPU per message of our reactor",
            bound: Bound::AtLeast(1.2),
            ratio: |r| two_servers(r, THREADS, REACTOR, SERVER_CPU, 100),
        },
        Claim {
            text: "At 1000 connections, our reactor served {ratio} times as \
                   many messages per second as the thread-per-connection \
                   server",
            bound: Bound::AtLeast(1.2),
            ratio: |r| medians(r, (REACTOR.label, 1000), (THREADS.label, 1000)),
        },
        Claim {
            text: "At 100 connections, our reactor served {ratio} times as \
                   many messages per second as the thread-per-connection \
                   server",
            bound: Bound::AtLeast(1.1),
            ratio: |r| medians(r, (REACTOR.label, 100), (THREADS.label, 100)),
        },
        Claim {
            text: "On one core, at 1000 connections, the multi-thread \
                   runtime's 99th-percentile round trip was {ratio} times \
                   the current-thread runtime's",
            bound: Bound::AtLeast(1.5),
            ratio: |r| two_servers(r, TOKIO_MT, TOKIO_CT, P99, 1000),
        },
    ]
}
