//! What the network benchmarks share.

use std::net::TcpListener;

/// A listener on 127.0.0.1 whose queue of connections waiting to be
/// accepted holds `backlog` (std's `bind` asks for 128: a thousand
/// clients connecting at once would overflow it, and the kernel would
/// make some of them retry, hundreds of milliseconds later).
pub fn listener_with_backlog(backlog: u32) -> TcpListener {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(backlog).unwrap().into_std().unwrap();
        // Blocking, as `TcpListener::bind` leaves it: each server sets the
        // mode it needs.
        listener.set_nonblocking(false).unwrap();
        listener
    })
}
