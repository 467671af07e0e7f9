extern crate rlimit; // `mdbook test` links crates by name
extern crate tokio; // `mdbook test` links crates by name

use std::env;
use std::io::{self, ErrorKind};
use std::thread;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Builder, Runtime};

// ANCHOR: here
/// Accepts clients for ever, and gives each one a task of its own.
pub async fn serve(listener: TcpListener) -> io::Result<()> {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
            Err(e) => {
                // Out of file descriptors, most likely: the client waits
                // in the backlog while we wait a little, then try again.
                eprintln!("accept: {e}; retrying in 100 ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            // An error ends this client's task, and nothing else.
            let _ = echo(stream).await;
        });
    }
}

/// Sends back every byte the client sends, until it closes.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let (mut reader, mut writer) = stream.split();
    tokio::io::copy(&mut reader, &mut writer).await?;
    Ok(())
}
// ANCHOR_END: here

// ANCHOR: runtimes
/// The echo server on one thread, like our reactor.
pub fn run_current_thread(listener: std::net::TcpListener) -> io::Result<()> {
    let runtime = Builder::new_current_thread().enable_all().build()?;
    serve_on(runtime, listener)
}

/// The echo server on `workers` threads that steal work from each other.
pub fn run_multi_thread(
    listener: std::net::TcpListener,
    workers: usize,
) -> io::Result<()> {
    let runtime = Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    serve_on(runtime, listener)
}

fn serve_on(
    runtime: Runtime,
    listener: std::net::TcpListener,
) -> io::Result<()> {
    listener.set_nonblocking(true)?; // Tokio expects it.
    runtime.block_on(async { serve(TcpListener::from_std(listener)?).await })
}
// ANCHOR_END: runtimes

fn main() -> io::Result<()> {
    let addr = env::args().nth(1).unwrap_or("127.0.0.1:7000".into());
    let listener = std::net::TcpListener::bind(&addr)?;
    println!("echo server on {}", listener.local_addr()?);
    // A connection is a file descriptor: we take all the kernel allows.
    #[cfg(unix)]
    println!("open files: up to {}", rlimit::increase_nofile_limit(!0)?);
    let workers = thread::available_parallelism().map_or(1, |n| n.get());
    run_multi_thread(listener, workers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::io::{Read, Write};
    use std::net::{Shutdown, SocketAddr};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// The tests count the process's file descriptors and its memory,
    /// so they run one at a time.
    static SERIAL: Mutex<()> = Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn start(multi: bool) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            if multi {
                run_multi_thread(listener, 2)
            } else {
                run_current_thread(listener)
            }
        });
        assert!(served(addr));
        thread::sleep(Duration::from_millis(100));
        addr
    }

    fn connect(addr: SocketAddr) -> std::net::TcpStream {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s
    }

    fn served(addr: SocketAddr) -> bool {
        let mut c = connect(addr);
        c.write_all(b"still there?").unwrap();
        let mut buf = [0; 12];
        c.read_exact(&mut buf).is_ok() && &buf == b"still there?"
    }

    /// The process's open file descriptors (Linux lists them in
    /// `/proc/self/fd`, macOS and the BSDs in `/dev/fd`).
    fn open_fds() -> usize {
        let dir = if cfg!(target_os = "linux") {
            "/proc/self/fd"
        } else {
            "/dev/fd"
        };
        fs::read_dir(dir).unwrap().count()
    }

    /// How many clients a test may hold open at once, up to `wanted`.
    /// Each costs two descriptors in this process (its end and the
    /// server's), so we first raise our soft limit on open files to the
    /// hard limit; under `ulimit -n 1024`, which sets both, that is
    /// still fewer than a thousand clients.
    fn clients_allowed(wanted: usize) -> usize {
        let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let spare = limit.saturating_sub(open_fds() + 64) / 2;
        assert!(spare >= 200, "only {spare} clients fit in `ulimit -n`");
        wanted.min(spare)
    }

    fn fds_back_to(before: usize) -> bool {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if open_fds() <= before {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Resident memory of the process, in bytes, from `/proc/self/status`:
    /// Linux only. Elsewhere `None`, and memory bounds go unchecked.
    fn rss() -> Option<usize> {
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    fn round_trips(addr: SocketAddr) {
        let mut clients: Vec<_> = (0..20).map(|_| connect(addr)).collect();
        for (i, c) in clients.iter_mut().enumerate() {
            c.write_all(format!("{i:04}").as_bytes()).unwrap();
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let mut buf = [0; 4];
            c.read_exact(&mut buf).unwrap();
            assert_eq!(buf, format!("{i:04}").as_bytes());
        }
    }

    #[test]
    fn echoes_on_one_thread() {
        let _s = serial();
        round_trips(start(false));
    }

    #[test]
    fn echoes_on_two_threads() {
        let _s = serial();
        round_trips(start(true));
    }

    #[test]
    fn flushes_everything_before_closing() {
        let _s = serial();
        let addr = start(false);
        let before = open_fds();
        let mut c = connect(addr);
        let data: Vec<u8> = (0..4_000_000u32).map(|i| i as u8).collect();
        let mut writer = c.try_clone().unwrap();
        let sent = data.clone();
        let w = thread::spawn(move || {
            writer.write_all(&sent).unwrap();
            writer.shutdown(Shutdown::Write).unwrap();
        });
        let mut back = Vec::new();
        c.read_to_end(&mut back).unwrap();
        w.join().unwrap();
        assert!(
            back == data,
            "echoed {} of {} bytes",
            back.len(),
            data.len()
        );
        drop(c);
        assert!(fds_back_to(before));
    }

    #[test]
    fn a_client_that_never_reads_costs_bounded_memory() {
        let _s = serial();
        let addr = start(false);
        let before = (open_fds(), rss());
        let mut hog = connect(addr);
        hog.set_write_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        let (mut sent, start) = (0, Instant::now());
        while sent < 256 << 20 && start.elapsed() < Duration::from_secs(5) {
            match hog.write(&chunk) {
                Ok(n) => sent += n,
                Err(_) => break,
            }
        }
        assert!(sent < 256 << 20, "the server kept reading");
        if let (Some(before), Some(after)) = (before.1, rss()) {
            let grown = after.saturating_sub(before);
            assert!(grown < 16 << 20, "memory grew by {grown} bytes");
        }
        assert!(served(addr));
        drop(hog);
        assert!(fds_back_to(before.0));
    }

    #[test]
    fn a_thousand_clients_reset_at_once() {
        let _s = serial();
        let addr = start(true);
        let before = open_fds();
        let n = clients_allowed(1000);
        let mut clients: Vec<_> = (0..n).map(|_| connect(addr)).collect();
        for c in &mut clients {
            c.write_all(b"x").unwrap();
        }
        thread::sleep(Duration::from_millis(200));
        drop(clients); // Echoes unread: each close is a reset.
        assert!(fds_back_to(before));
        assert!(served(addr));
    }

    /// Eight threads open a thousand connections as fast as they can,
    /// each held open until all of its thread's are, so the server has
    /// them all at once (the old version of this test opened them one at
    /// a time). Every one must be served.
    #[test]
    fn a_burst_of_connections_held_open_together() {
        let _s = serial();
        let addr = start(false);
        let before = open_fds();
        let per_thread = clients_allowed(1000) / 8;
        let workers: Vec<_> = (0..8)
            .map(|_| {
                thread::spawn(move || {
                    // Connect them all first, holding each open.
                    let mut held: Vec<_> =
                        (0..per_thread).map(|_| connect(addr)).collect();
                    let mut ok = 0;
                    for c in &mut held {
                        let mut buf = [0; 4];
                        c.write_all(b"ping").unwrap();
                        ok += usize::from(c.read_exact(&mut buf).is_ok());
                    }
                    ok
                })
            })
            .collect();
        let ok: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(ok, 8 * per_thread);
        assert!(fds_back_to(before));
        assert!(served(addr));
    }
    /// Runs the test `name` of this module again, alone, in a child
    /// process, and checks that it passed there: the test changes the
    /// process's limit on open files, which the other tests share.
    /// Returns `true` in the child, where the test's body is to run.
    #[cfg(unix)]
    fn in_a_child_process(name: &str) -> bool {
        if std::env::var_os("BOOK_TEST_CHILD").is_some() {
            return true;
        }
        // This module's path, without the crate's name: `tests`.
        let module = module_path!().split_once("::").unwrap().1;
        let test = format!("{module}::{name}");
        let child =
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([test.as_str(), "--exact", "--test-threads=1"])
                .env("BOOK_TEST_CHILD", "1")
                .output()
                .unwrap();
        let out = String::from_utf8_lossy(&child.stdout);
        let err = String::from_utf8_lossy(&child.stderr);
        assert!(
            child.status.success() && out.contains("1 passed"),
            "{test} failed in its child process:\n{out}\n{err}"
        );
        false
    }

    /// A client takes the process's last file descriptor, so the server
    /// cannot accept it: `accept` fails with `EMFILE`. The server must
    /// wait, not stop, and serve that client and others once
    /// descriptors are free again.
    #[test]
    #[cfg(unix)] // Descriptors and their limit are Unix's.
    fn out_of_file_descriptors_the_server_waits() {
        use std::os::fd::AsRawFd;
        if !in_a_child_process("out_of_file_descriptors_the_server_waits") {
            return;
        }
        let addr = start(false);
        assert!(served(addr)); // Up, with all it needs open.
        let (soft, hard) = rlimit::Resource::NOFILE.get().unwrap();
        // The lowest free descriptor is the next one handed out; a limit
        // one above it leaves exactly one: for the client's socket.
        let lowest = fs::File::open(std::env::current_exe().unwrap()).unwrap();
        let limit = lowest.as_raw_fd() as u64 + 1;
        drop(lowest);
        rlimit::Resource::NOFILE.set(limit, hard).unwrap();
        let mut client = std::net::TcpStream::connect(addr);
        // The kernel completed the connection; the server could not take
        // it. Give its `accept` time to fail, a few times.
        thread::sleep(Duration::from_millis(300));
        rlimit::Resource::NOFILE.set(soft, hard).unwrap();
        let client = client.as_mut().expect("the client got no socket");
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        client.write_all(b"ping").unwrap();
        let mut buf = [0; 4];
        client
            .read_exact(&mut buf)
            .expect("the waiting client was lost");
        assert_eq!(&buf, b"ping");
        assert!(served(addr));
    }
}
