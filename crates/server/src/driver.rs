//! Drives one `tern_proto::server::Session` over a glommio TCP stream.
//!
//! This file only moves bytes: it reads into a fixed buffer, hands the unread bytes to the
//! session, writes its replies when it asks for input (the PIPELINING flush rule lives in the
//! session), and acts on the session's actions: store a message, close. Timeouts are
//! enforced here because the protocol core has no clock.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use glommio::timer::sleep;
use tern_proto::reply;
use tern_proto::server::{Action, Session, StoreError};

use crate::core::Core;

/// Read buffer per session. The session consumes every DATA and BDAT byte it is given and
/// leaves at most one partial command line (a few KiB at most, AUTH lines 12 KiB) unread,
/// so a fixed buffer never fills up.
const READ_BUFFER: usize = 64 << 10;

/// How long a draining session may still take to finish its transaction at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why the connection ended; for the caller's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The session closed (QUIT, 421, too many errors).
    Closed,
    /// The client went away.
    Disconnected,
    /// A timeout fired (421 4.4.2 was sent).
    TimedOut,
}

struct Conn {
    stream: TcpStream,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Conn {
    async fn flush(&mut self, session: &mut Session) -> std::io::Result<()> {
        if !session.output().is_empty() {
            self.stream.write_all(session.output()).await?;
            let n = session.output().len();
            session.consume_output(n);
        }
        Ok(())
    }

    /// Makes room at the end of the buffer by moving the unread bytes to the front.
    fn compact(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
    }
}

/// Sends the 421 a refused connection gets, and closes it.
pub async fn refuse(mut stream: TcpStream, session: &mut Session) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = stream.write_all(session.output()).await;
    let _ = stream.close().await;
}

/// Serves one accepted connection until it ends.
pub async fn serve(
    core: Rc<Core>,
    stream: TcpStream,
    mut session: Session,
    peer: SocketAddr,
) -> End {
    let mut conn = Conn {
        stream,
        buf: vec![0; READ_BUFFER].into_boxed_slice(),
        start: 0,
        end: 0,
    };
    let limits = &core.config.limits;
    let _ = conn.stream.set_write_timeout(Some(limits.command_timeout));
    session.greet();
    if conn.flush(&mut session).await.is_err() {
        return End::Disconnected;
    }
    // The deadline for the command line being read: set when a new line starts, kept while
    // it trickles in, so a client sending one byte at a time is cut off too (slowloris).
    let mut line_deadline = Instant::now() + limits.command_timeout;
    let mut stop_seen = false;
    // Set at shutdown for a session in a transaction: the end of its grace, whatever it
    // is reading (a command line or DATA).
    let mut grace_deadline: Option<Instant> = None;
    loop {
        let (used, action) = session.input(&conn.buf[conn.start..conn.end]);
        conn.start += used;
        match action {
            Action::NeedInput => {}
            Action::StoreMessage => {
                let result = match session.take_message() {
                    Some(message) => core.store(&session, peer, message).await,
                    None => Err(StoreError::Io),
                };
                if let Some(Action::Close) = session.stored(result.as_deref().map_err(|e| *e)) {
                    let _ = conn.flush(&mut session).await;
                    return End::Closed;
                }
                continue;
            }
            Action::Close => {
                let _ = conn.flush(&mut session).await;
                return End::Closed;
            }
            // The session asks for these only when `core::session_config` turns the
            // features on, which it does not until the runtime serves them; answer each
            // the way a server without the feature would, and go on.
            Action::Authenticate(_) => {
                session.auth_result(None);
                continue;
            }
            Action::Etrn(_) => {
                session.etrn_result(&reply::ETRN_UNABLE);
                continue;
            }
            Action::StartTls => {
                // 220 was already written: the client now expects a handshake, so the
                // connection cannot go on in plaintext.
                let _ = conn.flush(&mut session).await;
                return End::Closed;
            }
        }
        if conn.flush(&mut session).await.is_err() {
            return End::Disconnected;
        }
        if conn.start == conn.end {
            // Everything was consumed: the next byte starts a new command line.
            line_deadline = Instant::now() + limits.command_timeout;
        }
        conn.compact();
        if !stop_seen && core.stop.is_stopped() {
            stop_seen = true;
            if let Some(Action::Close) = session.begin_shutdown() {
                let _ = conn.flush(&mut session).await;
                return End::Closed;
            }
            // A transaction is open: let it finish, but not for long.
            grace_deadline = Some(Instant::now() + SHUTDOWN_GRACE);
        }
        let timeout = if session.in_data() {
            limits.data_timeout
        } else {
            line_deadline.saturating_duration_since(Instant::now())
        };
        if timeout.is_zero() || conn.stream.set_read_timeout(Some(timeout)).is_err() {
            session.timeout();
            let _ = conn.flush(&mut session).await;
            return End::TimedOut;
        }
        let read = {
            let Conn {
                stream, buf, end, ..
            } = &mut conn;
            let read = stream.read(&mut buf[*end..]);
            if let Some(grace) = grace_deadline {
                // Not the socket's read timeout: glommio arms that timer once per pending
                // read and keeps it when the read future is dropped (as the stop just did),
                // so a shorter timeout set now would be ignored and the session would keep
                // its old, minutes-long deadline past the end of the drain.
                let left = grace.saturating_duration_since(Instant::now());
                futures_lite::future::or(async { Some(read.await) }, async {
                    sleep(left).await;
                    Some(Err(std::io::Error::from(ErrorKind::TimedOut)))
                })
                .await
            } else if stop_seen {
                Some(read.await)
            } else {
                futures_lite::future::or(async { Some(read.await) }, async {
                    core.stop.wait().await;
                    None
                })
                .await
            }
        };
        match read {
            // Shutdown began while waiting: loop round to send the 421 (or go on draining).
            None => continue,
            Some(Ok(0)) => return End::Disconnected,
            Some(Ok(n)) => conn.end += n,
            Some(Err(e)) if e.kind() == ErrorKind::TimedOut => {
                session.timeout();
                let _ = conn.flush(&mut session).await;
                return End::TimedOut;
            }
            Some(Err(_)) => return End::Disconnected,
        }
    }
}
