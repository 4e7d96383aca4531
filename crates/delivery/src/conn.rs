//! One outbound SMTP connection: a glommio `TcpStream` driving a sans-IO
//! `tern_proto::client::ClientSession`. This file only moves bytes and enforces timeouts;
//! every protocol decision is the session's.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use tern_proto::client::{local, ClientEvent, ClientOptions, ClientSession, TlsPolicy};
use tern_proto::reply::{Enhanced, Reply};

/// Read buffer per connection: replies are short.
const READ_BUFFER: usize = 8 << 10;

/// An open connection whose session is idle (greeting and EHLO done).
#[derive(Debug)]
pub(crate) struct Conn {
    stream: TcpStream,
    pub(crate) session: ClientSession,
    /// The address connected to: the Remote-MTA of outcomes.
    pub(crate) peer: SocketAddr,
    buf: Box<[u8]>,
}

/// The timeouts of a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    pub(crate) command: Duration,
}

/// Why no connection could be set up with any address of a hop.
pub(crate) fn connect_failed(addr: SocketAddr, e: &std::io::Error) -> Reply {
    Reply::new(
        421,
        Some(Enhanced(4, 4, 1)),
        format!("Cannot connect to {addr}: {e}"),
    )
}

impl Conn {
    /// Connects to `addr` and runs the session up to its first `Ready`. `Err` carries the
    /// reply that decides the outcome: a local 4xx for a connection failure, or the
    /// server's refusal of the session.
    pub(crate) async fn open(
        addr: SocketAddr,
        hello_name: &str,
        t: Timeouts,
    ) -> Result<Conn, (Reply, bool)> {
        let stream = TcpStream::connect_timeout(addr, t.connect)
            .await
            .map_err(|e| {
                let e: std::io::Error = e.into();
                (connect_failed(addr, &e), false)
            })?;
        let _ = stream.set_read_timeout(Some(t.command));
        let _ = stream.set_write_timeout(Some(t.command));
        let mut opts = ClientOptions::new(hello_name);
        // Outbound TLS is not implemented yet: never offer to start it.
        opts.tls = TlsPolicy::Disabled;
        let mut conn = Conn {
            stream,
            session: ClientSession::new(opts),
            peer: addr,
            buf: vec![0; READ_BUFFER].into_boxed_slice(),
        };
        match conn.next_event().await {
            ClientEvent::Ready => Ok(conn),
            ClientEvent::Failed(r) | ClientEvent::Closed(r) => {
                conn.close().await;
                Err((r, true))
            }
            _ => {
                conn.close().await;
                Err((local::PROTOCOL_ERROR, true))
            }
        }
    }

    /// Writes what the session wants written, then reads until it has an event.
    pub(crate) async fn next_event(&mut self) -> ClientEvent {
        loop {
            if let Some(ev) = self.session.poll_event() {
                return ev;
            }
            if self.session.is_closed() {
                return ClientEvent::Closed(local::CONNECTION_LOST);
            }
            if !self.session.output().is_empty() {
                if self.stream.write_all(self.session.output()).await.is_err() {
                    self.session.abort(local::CONNECTION_LOST);
                    continue;
                }
                let n = self.session.output().len();
                self.session.consume_output(n);
            }
            match self.stream.read(&mut self.buf).await {
                Ok(0) => self.session.abort(local::CONNECTION_LOST),
                Ok(n) => self.session.input(&self.buf[..n]),
                Err(e) if e.kind() == ErrorKind::TimedOut => self.session.abort(Reply::new(
                    421,
                    Some(Enhanced(4, 4, 2)),
                    format!("Timed out waiting for {}", self.peer),
                )),
                Err(_) => self.session.abort(local::CONNECTION_LOST),
            }
        }
    }

    /// QUIT (when idle) and close.
    pub(crate) async fn close(mut self) {
        if self.session.quit().is_ok() {
            while !matches!(self.next_event().await, ClientEvent::Closed(_)) {}
        }
        let _ = self.stream.close().await;
    }
}
