extern crate rlimit; // `mdbook test` links crates by name
extern crate tokio; // `mdbook test` links crates by name

use std::env;
use std::future::Future;
use std::io::{self, ErrorKind};
use std::pin::pin;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::{Builder, Runtime};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

// ANCHOR: here
/// Accepts clients, `limit` at a time at most, and gives each one a task
/// of its own, until `shutdown` completes; then lets the clients still
/// connected finish, for at most `GRACE`.
pub async fn serve(
    listener: TcpListener,
    limit: usize,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limit));
    let mut clients = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let next = async {
            // At the limit, we wait for a client to leave before we
            // accept: the next ones wait in the kernel's listen backlog.
            let permit = permits.clone().acquire_owned().await;
            (permit, accept(&listener).await)
        };
        let (permit, stream) = tokio::select! {
            next = next => next,
            () = &mut shutdown => break,
        };
        let permit = permit.expect("the semaphore is never closed");
        clients.spawn(async move {
            let _ = echo(stream).await; // An error ends this client alone.
            drop(permit);
        });
        while clients.try_join_next().is_some() {} // Forget the finished.
    }
    drop(listener); // New clients are refused from now on.
    finish(clients).await;
    Ok(())
}

// ANCHOR_END: here

// ANCHOR: echo
/// Sends back every byte the client sends, until it closes.
async fn echo(mut stream: TcpStream) -> io::Result<()> {
    let (mut reader, mut writer) = stream.split();
    tokio::io::copy(&mut reader, &mut writer).await?;
    Ok(())
}
// ANCHOR_END: echo

// ANCHOR: accept
/// The next client. An error that is not the client's own (most likely,
/// no file descriptor left) pauses the loop for 100 ms; the client waits
/// in the backlog meanwhile.
async fn accept(listener: &TcpListener) -> TcpStream {
    loop {
        match listener.accept().await {
            Ok((stream, _peer)) => return stream,
            Err(e) if e.kind() == ErrorKind::ConnectionAborted => continue,
            Err(e) => {
                eprintln!("accept: {e}; retrying in 100 ms");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
// ANCHOR_END: accept

// ANCHOR: finish
/// How long the clients still connected may go on after a shutdown.
pub const GRACE: Duration = Duration::from_secs(5);

/// Waits for the clients still connected, for at most `GRACE`; then cuts
/// the others (aborting a task drops its socket, which closes it).
async fn finish(mut clients: JoinSet<()>) {
    let all = async { while clients.join_next().await.is_some() {} };
    if tokio::time::timeout(GRACE, all).await.is_err() {
        eprintln!("shutdown: {} clients cut", clients.len());
        clients.shutdown().await;
    }
}
// ANCHOR_END: finish

// ANCHOR: runtimes
/// How many clients the server serves at once; more wait their turn.
pub const MAX_CLIENTS: usize = 10_000;

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

/// Serves until Ctrl-C (`SIGINT`).
fn serve_on(
    runtime: Runtime,
    listener: std::net::TcpListener,
) -> io::Result<()> {
    listener.set_nonblocking(true)?; // Tokio expects it.
    runtime.block_on(async {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        serve(TcpListener::from_std(listener)?, MAX_CLIENTS, ctrl_c).await
    })
}
// ANCHOR_END: runtimes

fn main() -> io::Result<()> {
    let addr = env::args().nth(1).unwrap_or("127.0.0.1:7000".into());
    let listener = std::net::TcpListener::bind(&addr)?;
    println!("echo server on {}; Ctrl-C stops it", listener.local_addr()?);
    // A connection is a file descriptor: we take all the kernel allows.
    #[cfg(unix)]
    println!("open files: up to {}", rlimit::increase_nofile_limit(!0)?);
    // ANCHOR: main
    // The cores this process may use, counted when it starts (on Linux,
    // its CPU affinity): on one, a second thread would only compete.
    match thread::available_parallelism().map_or(1, |n| n.get()) {
        1 => run_current_thread(listener)?,
        workers => run_multi_thread(listener, workers)?,
    }
    // ANCHOR_END: main
    println!("stopped");
    Ok(())
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

    /// The process's open file descriptors: Linux lists them in
    /// `/proc/self/fd` (read through `procfs`), macOS and the BSDs in
    /// `/dev/fd`.
    fn open_fds() -> usize {
        #[cfg(target_os = "linux")]
        let count = procfs::process::Process::myself().unwrap().fd_count();
        #[cfg(not(target_os = "linux"))]
        let count = std::fs::read_dir("/dev/fd").map(|d| d.count());
        count.unwrap()
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

    /// Resident memory of the process, in bytes, from `/proc/self/status`
    /// (through `procfs`): Linux only. Elsewhere, or where `/proc` cannot
    /// be read, `None`, and memory bounds go unchecked.
    fn rss() -> Option<usize> {
        #[cfg(target_os = "linux")]
        {
            let me = procfs::process::Process::myself().ok()?;
            let kib = me.status().ok()?.vmrss?;
            usize::try_from(kib * 1024).ok()
        }
        #[cfg(not(target_os = "linux"))]
        None
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

    /// A server on a thread of its own, `limit` clients at a time, that
    /// shuts down when `stop` is sent.
    fn start_stoppable(
        limit: usize,
    ) -> (
        SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        thread::JoinHandle<io::Result<()>>,
    ) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = thread::spawn(move || {
            let rt = Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async {
                let shutdown = async {
                    let _ = stopped.await;
                };
                serve(TcpListener::from_std(listener)?, limit, shutdown).await
            })
        });
        (addr, stop, server)
    }

    /// Sends `msg` and reads it back.
    fn echoes(c: &mut std::net::TcpStream, msg: &[u8]) -> bool {
        let mut back = vec![0; msg.len()];
        c.write_all(msg).is_ok()
            && c.read_exact(&mut back).is_ok()
            && back == msg
    }

    #[test]
    fn at_the_limit_the_next_client_waits_its_turn() {
        let _s = serial();
        let (addr, _stop, _server) = start_stoppable(2);
        let mut a = connect(addr);
        assert!(echoes(&mut a, b"a"));
        let mut b = connect(addr);
        assert!(echoes(&mut b, b"b"));
        // The kernel completes the connection, but the server does not
        // accept it while two clients are served.
        let mut c = connect(addr);
        c.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        assert!(!echoes(&mut c, b"c"), "a third client was served");
        drop(a); // A client leaves: `c` gets its turn.
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = [0; 1];
        c.read_exact(&mut got).unwrap(); // The byte it sent before.
        assert_eq!(&got, b"c");
        assert!(echoes(&mut b, b"b")); // Still served.
    }

    #[test]
    fn a_shutdown_lets_open_clients_finish_and_refuses_new_ones() {
        let _s = serial();
        let (addr, stop, server) = start_stoppable(10);
        let mut a = connect(addr);
        assert!(echoes(&mut a, b"before"));
        stop.send(()).unwrap();
        thread::sleep(Duration::from_millis(100));
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "a new client was let in after the shutdown"
        );
        assert!(echoes(&mut a, b"after"), "an open client was cut");
        drop(a); // Its task ends, and with it the server.
        let t = Instant::now();
        server.join().unwrap().unwrap();
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }

    #[test]
    fn a_client_that_stays_is_cut_after_the_grace_period() {
        let _s = serial();
        let (addr, stop, server) = start_stoppable(10);
        let mut a = connect(addr);
        assert!(echoes(&mut a, b"hello"));
        let t = Instant::now();
        stop.send(()).unwrap();
        server.join().unwrap().unwrap();
        let waited = t.elapsed();
        assert!(waited >= GRACE - Duration::from_millis(50), "{waited:?}");
        assert!(waited < GRACE + Duration::from_secs(2), "{waited:?}");
        // Its socket is closed: the next read ends.
        let mut rest = Vec::new();
        let _ = a.read_to_end(&mut rest);
        assert!(rest.is_empty());
    }
}
