//! One outbound SMTP connection: a glommio `TcpStream` (upgraded in place by STARTTLS)
//! driving a sans-IO `tern_proto::client::ClientSession`. This file only moves bytes,
//! runs the TLS handshake when the session asks, and enforces timeouts; every protocol
//! decision is the session's.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use futures_rustls::client::TlsStream;
use futures_rustls::TlsConnector;
use glommio::net::TcpStream;
use rustls::ClientConfig;
use tern_proto::client::{local, ClientEvent, ClientOptions, ClientSession, TlsPolicy};
use tern_proto::reply::{Enhanced, Reply};

use crate::tls::server_name;

/// Read buffer per connection: replies are short.
const READ_BUFFER: usize = 8 << 10;

/// Transactions in flight on one connection when the hop offers PIPELINING: two is what
/// it takes for a body's end to carry the next MAIL, RCPT and DATA (DATA cannot go further
/// ahead, RFC 2920 3.1), and it keeps what a hop that drops the connection leaves
/// unanswered small.
pub(crate) const WINDOW: usize = 2;

/// The socket, before and after STARTTLS.
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    /// Only during the handshake, or after it failed.
    Gone,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Plain(_) => "Plain",
            Stream::Tls(_) => "Tls",
            Stream::Gone => "Gone",
        })
    }
}

impl Stream {
    async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Tls(s) => s.read(buf).await,
            Stream::Gone => Err(ErrorKind::NotConnected.into()),
        }
    }

    async fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(buf).await,
            Stream::Tls(s) => {
                s.write_all(buf).await?;
                s.flush().await
            }
            Stream::Gone => Err(ErrorKind::NotConnected.into()),
        }
    }

    async fn close(&mut self) {
        match self {
            Stream::Plain(s) => {
                let _ = s.close().await;
            }
            Stream::Tls(s) => {
                let _ = s.close().await;
            }
            Stream::Gone => {}
        }
    }
}

/// An open connection whose session is idle (greeting, EHLO and STARTTLS done).
#[derive(Debug)]
pub(crate) struct Conn {
    stream: Stream,
    pub(crate) session: ClientSession,
    /// The address connected to.
    pub(crate) peer: SocketAddr,
    /// The host's name (smarthost as written, MX host): the Remote-MTA of outcomes.
    pub(crate) name: String,
    buf: Box<[u8]>,
}

/// The timeouts of a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    pub(crate) command: Duration,
}

/// How to secure a connection.
#[derive(Debug, Clone)]
pub(crate) struct TlsSetup {
    /// Whether STARTTLS is skipped, tried or demanded.
    pub(crate) policy: TlsPolicy,
    /// The client configuration for the handshake (unused when disabled).
    pub(crate) config: Arc<ClientConfig>,
}

/// Why a connection could not be opened.
#[derive(Debug)]
pub(crate) struct OpenFailed {
    /// The reply that decides the recipients if no other address works.
    pub(crate) reply: Reply,
    /// The TLS handshake failed (a plaintext retry may work when TLS is optional).
    pub(crate) tls: bool,
}

/// Why no connection could be set up with an address.
pub(crate) fn connect_failed(addr: SocketAddr, e: &std::io::Error) -> Reply {
    Reply::new(
        421,
        Some(Enhanced(4, 4, 1)),
        format!("Cannot connect to {addr}: {e}"),
    )
}

impl Conn {
    /// Connects to `addr` (known as `name`) and runs the session up to its first `Ready`,
    /// through STARTTLS when the policy and the hop agree.
    pub(crate) async fn open(
        name: &str,
        addr: SocketAddr,
        hello_name: &str,
        t: Timeouts,
        tls: &TlsSetup,
    ) -> Result<Conn, OpenFailed> {
        let failed = |reply| OpenFailed { reply, tls: false };
        let stream = TcpStream::connect_timeout(addr, t.connect)
            .await
            .map_err(|e| {
                let e: std::io::Error = e.into();
                failed(connect_failed(addr, &e))
            })?;
        let _ = stream.set_read_timeout(Some(t.command));
        let _ = stream.set_write_timeout(Some(t.command));
        let mut opts = ClientOptions::new(hello_name);
        opts.tls = tls.policy;
        opts.window = WINDOW;
        let mut conn = Conn {
            stream: Stream::Plain(stream),
            session: ClientSession::new(opts),
            peer: addr,
            name: name.trim_end_matches('.').to_owned(),
            buf: vec![0; READ_BUFFER].into_boxed_slice(),
        };
        loop {
            match conn.next_event().await {
                ClientEvent::Ready => return Ok(conn),
                ClientEvent::StartTls => {
                    let Stream::Plain(tcp) = std::mem::replace(&mut conn.stream, Stream::Gone)
                    else {
                        return Err(failed(local::PROTOCOL_ERROR));
                    };
                    let connector = TlsConnector::from(Arc::clone(&tls.config));
                    match connector.connect(server_name(name, addr.ip()), tcp).await {
                        Ok(s) => conn.stream = Stream::Tls(Box::new(s)),
                        Err(e) => {
                            return Err(OpenFailed {
                                reply: Reply::new(
                                    421,
                                    Some(Enhanced(4, 7, 5)),
                                    format!("TLS handshake with {name} ({addr}) failed: {e}"),
                                ),
                                tls: true,
                            })
                        }
                    }
                    if conn.session.tls_established().is_err() {
                        return Err(failed(local::PROTOCOL_ERROR));
                    }
                }
                ClientEvent::Failed(r) | ClientEvent::Closed(r) => {
                    conn.close().await;
                    return Err(failed(r));
                }
                ClientEvent::ProtocolError(_)
                | ClientEvent::NeedBody(_)
                | ClientEvent::TransactionDone(_) => {}
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
        self.stream.close().await;
    }
}
