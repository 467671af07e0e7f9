extern crate tokio; // `mdbook test` links crates by name

use std::env;
use std::future::Future;
use std::io::{self, ErrorKind};
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How many members the server serves at once; more wait their turn.
pub const MAX_MEMBERS: usize = 10_000;

/// A line, and the member who sent it.
type Message = Arc<(usize, Vec<u8>)>;

// ANCHOR: here
/// Accepts members, `limit` at a time at most, each one a task, until
/// `shutdown` completes; then tells those still there, and waits until
/// they are gone, `GRACE` at most.
pub async fn serve(
    listener: TcpListener,
    limit: usize,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    // Every member's task receives every message. A member that falls
    // more than 256 messages behind loses the oldest ones.
    let (room, _) = broadcast::channel::<Message>(256);
    let (stop, stopping) = watch::channel(false);
    let mut members = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    for id in 1.. {
        // At the limit, we wait for a member to leave instead of
        // accepting: newcomers wait in the kernel's listen backlog.
        let full = members.len() >= limit;
        let stream = tokio::select! {
            stream = accept(&listener), if !full => stream,
            Some(_) = members.join_next(), if full => continue,
            () = &mut shutdown => break,
        };
        let (room, stopping) = (room.clone(), stopping.clone());
        members.spawn(member(stream, id, room, stopping));
        while members.try_join_next().is_some() {} // Forget those gone.
    }
    drop(listener); // New members are refused from now on.
    let _ = stop.send(true);
    // A member stuck in a write to a client that does not read never
    // sees `stopping`: after `GRACE`, its task is aborted.
    let all = async { while members.join_next().await.is_some() {} };
    if tokio::time::timeout(GRACE, all).await.is_err() {
        members.shutdown().await;
    }
    Ok(())
}

/// How long members may take to leave after a shutdown.
pub const GRACE: Duration = Duration::from_secs(5);
// ANCHOR_END: here

// ANCHOR: member

async fn member(
    mut stream: TcpStream,
    id: usize,
    room: broadcast::Sender<Message>,
    mut stopping: watch::Receiver<bool>,
) -> io::Result<()> {
    let mut heard = room.subscribe();
    let (reader, mut writer) = stream.split();
    let mut reader = BufReader::new(reader);
    writer
        .write_all(format!("you are user {id}\n").as_bytes())
        .await?;
    let mut line = Vec::new();
    loop {
        tokio::select! {
            read = read_line(&mut reader, &mut line) => {
                if !read? {
                    return Ok(()); // The member left.
                }
                if line.len() > MAX_LINE {
                    return writer.write_all(b"line too long\n").await;
                }
                let mut message = format!("user {id}: ").into_bytes();
                message.append(&mut line);
                let _ = room.send(Arc::new((id, message)));
            }
            message = heard.recv() => match message {
                Ok(message) if message.0 != id => {
                    writer.write_all(&message.1).await?;
                }
                Ok(_) | Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return Ok(()),
            },
            _ = stopping.changed() => {
                // Bounded, so that a member who does not read cannot
                // hold the shutdown up.
                let bye = writer.write_all(b"server shutting down\n");
                let _ = tokio::time::timeout(Duration::from_secs(1), bye).await;
                return Ok(());
            }
        }
    }
}
// ANCHOR_END: member

/// The next member. An error that is not the client's own (most likely,
/// no file descriptor left) pauses the loop for 100 ms.
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

// ANCHOR: read-line
/// Reads until a newline, keeping what it read in `line`, so that it can
/// be cancelled and called again. Stops past `MAX_LINE` bytes. Returns
/// `false` at the end of the stream.
async fn read_line<R>(reader: &mut R, line: &mut Vec<u8>) -> io::Result<bool>
where
    R: AsyncBufReadExt + Unpin,
{
    while !line.ends_with(b"\n") && line.len() <= MAX_LINE {
        let room_left = (MAX_LINE + 1 - line.len()) as u64;
        if reader.take(room_left).read_until(b'\n', line).await? == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}
// ANCHOR_END: read-line

/// The chat server on a current-thread runtime, until Ctrl-C.
pub fn run(listener: std::net::TcpListener) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    listener.set_nonblocking(true)?;
    runtime.block_on(async {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        serve(TcpListener::from_std(listener)?, MAX_MEMBERS, ctrl_c).await
    })
}

// --------------------------------------------------------------------------
// Below: code copied unchanged from Listing 3-5
// (listings/ch03-reactor/05-timers/src/main.rs), so that this folder builds
// on its own. The book's tests check that each item is the same Rust as in
// its source.
// --------------------------------------------------------------------------

// COPY FROM listings/ch03-reactor/05-timers/src/main.rs
/// The longest line we accept, newline excluded.
pub const MAX_LINE: usize = 1024;
// END COPY

// COPY FROM listings/ch03-reactor/05-timers/src/main.rs
fn main() -> io::Result<()> {
    let addr = env::args().nth(1).unwrap_or("127.0.0.1:7000".into());
    let listener = std::net::TcpListener::bind(&addr)?;
    println!("chat server on {}", listener.local_addr()?);
    run(listener)
}
// END COPY

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, Read, Write};
    use std::net::SocketAddr;
    use std::thread;
    use std::time::Duration;

    type Client =
        (std::net::TcpStream, std::io::BufReader<std::net::TcpStream>);

    fn start() -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || run(listener));
        addr
    }

    fn join(addr: SocketAddr) -> Client {
        let s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut r = std::io::BufReader::new(s.try_clone().unwrap());
        assert!(read_line_of(&mut r).starts_with("you are user "));
        (s, r)
    }

    fn read_line_of(r: &mut std::io::BufReader<std::net::TcpStream>) -> String {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        line
    }

    #[test]
    fn a_line_goes_to_everyone_else() {
        let addr = start();
        let (mut a, _ra) = join(addr);
        let (_b, mut rb) = join(addr);
        let (_c, mut rc) = join(addr);
        thread::sleep(Duration::from_millis(50)); // All have subscribed.
        a.write_all(b"hel").unwrap();
        thread::sleep(Duration::from_millis(50));
        a.write_all(b"lo\n\xff\x00\n").unwrap();
        for r in [&mut rb, &mut rc] {
            assert!(read_line_of(r).ends_with(": hello\n"));
            let mut raw = Vec::new();
            r.read_until(b'\n', &mut raw).unwrap();
            assert!(raw.ends_with(b": \xff\x00\n"));
        }
    }

    #[test]
    fn an_overlong_line_closes_that_connection_only() {
        let addr = start();
        let (mut a, mut ra) = join(addr);
        let (mut b, _rb) = join(addr);
        let (_c, mut rc) = join(addr);
        thread::sleep(Duration::from_millis(50));
        a.write_all(&vec![b'x'; 4 * MAX_LINE]).unwrap();
        assert_eq!(read_line_of(&mut ra), "line too long\n");
        let mut rest = Vec::new();
        ra.get_mut().read_to_end(&mut rest).unwrap(); // Closed.
        b.write_all(b"still here\n").unwrap();
        assert!(read_line_of(&mut rc).ends_with(": still here\n"));
    }

    /// A chat server of `limit` members at most, on a thread of its own,
    /// that shuts down when `stop` is sent.
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
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let shutdown = async {
                    let _ = stopped.await;
                };
                serve(TcpListener::from_std(listener)?, limit, shutdown).await
            })
        });
        (addr, stop, server)
    }

    #[test]
    fn a_shutdown_tells_the_members_and_refuses_new_ones() {
        let (addr, stop, server) = start_stoppable(10);
        let (_a, mut ra) = join(addr);
        let (_b, mut rb) = join(addr);
        stop.send(()).unwrap();
        for r in [&mut ra, &mut rb] {
            assert_eq!(read_line_of(r), "server shutting down\n");
            assert_eq!(read_line_of(r), ""); // Then the connection ends.
        }
        server.join().unwrap().unwrap(); // And so does the server.
        assert!(std::net::TcpStream::connect(addr).is_err());
    }

    #[test]
    fn at_the_limit_a_newcomer_waits_its_turn() {
        let (addr, _stop, _server) = start_stoppable(2);
        let a = join(addr);
        let _b = join(addr);
        // Connected by the kernel, but not accepted: no greeting yet.
        let c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut rc = std::io::BufReader::new(c.try_clone().unwrap());
        let mut line = String::new();
        assert!(rc.read_line(&mut line).is_err(), "greeted: {line}");
        drop(a); // A member leaves: `c` gets its place.
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        line.clear();
        rc.read_line(&mut line).unwrap();
        assert!(line.starts_with("you are user "), "{line}");
    }

    #[test]
    fn a_member_who_never_reads_cannot_hold_the_shutdown_up() {
        let (addr, stop, server) = start_stoppable(10);
        let (mut talker, _rt) = join(addr);
        let (_deaf, _rd) = join(addr); // Never reads a byte.
        thread::sleep(Duration::from_millis(50)); // Both have subscribed.
        // Enough lines to fill the deaf member's socket buffers, so that
        // its task waits in a write.
        let line = [vec![b'x'; 1000], vec![b'\n']].concat();
        talker
            .set_write_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        for _ in 0..20_000 {
            if talker.write_all(&line).is_err() {
                break;
            }
        }
        let t = std::time::Instant::now();
        stop.send(()).unwrap();
        while !server.is_finished() && t.elapsed() < GRACE * 2 {
            thread::sleep(Duration::from_millis(50));
        }
        assert!(server.is_finished(), "still running after {:?}", GRACE * 2);
        server.join().unwrap().unwrap();
    }
}
