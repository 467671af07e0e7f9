//! How long received bytes wait before their handler runs: a thread per
//! connection against an event loop, while other threads keep the cores
//! busy. The client writes, on one of 100 connections at a time, the
//! instant it sends; the handler subtracts it from the instant its read
//! returns. Both sides live in one process and share one clock.

use crate::bench::{Bench, Mode, no_claims};
use crate::render::{Figure, fmt_value, footer, header, spread};
use crate::results::{Machine, Point, Results, Unit};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub const BENCH: Bench = Bench {
    name: "latency",
    run,
    render,
    claims: no_claims,
    child: None,
};

pub const THREAD_PER_CONNECTION: &str = "thread per connection";
pub const EVENT_LOOP: &str = "event loop (tokio, current-thread)";
const CONNECTIONS: usize = 100;

type Delays = Arc<Mutex<Vec<f64>>>;

fn delay_since(base: Instant, msg: [u8; 8]) -> f64 {
    let sent = u64::from_le_bytes(msg) as f64;
    base.elapsed().as_nanos() as f64 - sent
}

/// One handler thread per connection, blocked in `read` until bytes come.
fn threads_server(listener: TcpListener, base: Instant, delays: Delays) {
    let mut handlers = Vec::new();
    for _ in 0..CONNECTIONS {
        let (mut stream, _) = listener.accept().unwrap();
        let delays = delays.clone();
        handlers.push(thread::spawn(move || {
            let mut msg = [0u8; 8];
            while stream.read_exact(&mut msg).is_ok() {
                let d = delay_since(base, msg);
                delays.lock().unwrap().push(d);
            }
        }));
    }
    for h in handlers {
        h.join().unwrap();
    }
}

/// One thread, one tokio current-thread runtime, a task per connection.
fn event_loop_server(listener: TcpListener, base: Instant, delays: Delays) {
    use tokio::io::AsyncReadExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    rt.block_on(async {
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        let mut tasks = Vec::new();
        for _ in 0..CONNECTIONS {
            let (mut stream, _) = listener.accept().await.unwrap();
            let delays = delays.clone();
            tasks.push(tokio::spawn(async move {
                let mut msg = [0u8; 8];
                while stream.read_exact(&mut msg).await.is_ok() {
                    let d = delay_since(base, msg);
                    delays.lock().unwrap().push(d);
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

fn run_once(series: &str, busy: usize, messages: usize) -> Vec<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let base = Instant::now();
    let delays: Delays = Arc::default();
    let server = {
        let delays = delays.clone();
        let event_loop = series == EVENT_LOOP;
        thread::spawn(move || {
            if event_loop {
                event_loop_server(listener, base, delays)
            } else {
                threads_server(listener, base, delays)
            }
        })
    };
    let mut conns: Vec<TcpStream> = (0..CONNECTIONS)
        .map(|_| {
            let s = TcpStream::connect(addr).unwrap();
            s.set_nodelay(true).unwrap();
            s
        })
        .collect();
    // Let every handler reach its first read before the load starts.
    thread::sleep(Duration::from_millis(100));
    let stop = Arc::new(AtomicBool::new(false));
    let spinners: Vec<_> = (0..busy)
        .map(|_| {
            let stop = stop.clone();
            thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    for i in 0..messages {
        let sent = base.elapsed().as_nanos() as u64;
        conns[i % CONNECTIONS]
            .write_all(&sent.to_le_bytes())
            .unwrap();
        thread::sleep(Duration::from_micros(200));
    }
    drop(conns.drain(..));
    server.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    for s in spinners {
        s.join().unwrap();
    }
    let delays = std::mem::take(&mut *delays.lock().unwrap());
    assert_eq!(delays.len(), messages, "every message reaches its handler");
    delays
}

fn run(mode: Mode) -> Option<Results> {
    let (messages, runs) = match mode {
        Mode::Quick => (1_000, 3),
        Mode::Full => (3_000, 5),
    };
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let mut points = Vec::new();
    for series in [THREAD_PER_CONNECTION, EVENT_LOOP] {
        for busy in [0, cores, 2 * cores] {
            let mut samples = Vec::new();
            for _ in 0..runs {
                samples.extend(run_once(series, busy, messages));
            }
            eprintln!("latency: {series}, {busy} busy threads: done");
            points.push(Point {
                runs,
                ..Point::new(series, busy as u64, samples)
            });
        }
    }
    Some(Results::new(
        "latency",
        Machine::this(),
        mode,
        format!(
            "{runs} runs per row of {messages} messages of 8 bytes, one \
             every 200 µs, \
             round-robin over {CONNECTIONS} loopback TCP connections \
             (TCP_NODELAY); a sample is the time from just before the \
             client's write to the return of the handler's read; the busy \
             threads spin in the same process for the whole run"
        ),
        Unit::Ns,
        points,
    ))
}

fn latency_table(r: &Results) -> String {
    let mut t = header(&r.bench);
    t.push_str("\n\n");
    t.push_str("| handler | busy threads | p50 | p99 | p99.9 | max |\n");
    t.push_str("|---|---:|---:|---:|---:|---:|\n");
    let runs = |p: &Point, q: f64| {
        spread(r.unit, &Point::of(p.per_run_quantile(q)), 1.0)
    };
    for p in &r.points {
        let _ = writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} |",
            p.series,
            p.x,
            runs(p, 0.5),
            runs(p, 0.99),
            runs(p, 0.999),
            fmt_value(r.unit, p.max()).replace(' ', "&nbsp;"),
        );
    }
    t.push_str(&footer(
        r,
        "each percentile is the median over the runs of that percentile \
         within a run, and below it min–max over the runs; max is the largest delay of \
         all runs",
    ));
    t
}

fn render(r: &Results) -> Vec<(&'static str, String)> {
    let mut lines = Vec::new();
    for s in r.series() {
        for (q, label) in [(0.5, "p50"), (0.99, "p99")] {
            let pts = r
                .points
                .iter()
                .filter(|p| p.series == s)
                .map(|p| {
                    let v = Point::of(p.per_run_quantile(q));
                    (p.x as f64, v.median(), v.min(), v.max())
                })
                .collect();
            lines.push((format!("{s}, {label}"), pts));
        }
    }
    let figure = crate::render::figure(
        r,
        Figure {
            title: "Bytes arrived to handler running",
            x_desc: "busy threads spinning beside the server",
            y_desc: "delay",
            log_x: false,
            note: "marks: median over runs; bars: min–max over runs",
        },
        lines,
    );
    vec![("latency.md", latency_table(r)), ("latency.svg", figure)]
}
