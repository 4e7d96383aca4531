//! A sink SMTP server for the delivery tests to relay into: std threads driving
//! `tern_proto::server::Session` (the same state machine tern serves with), optionally
//! offering STARTTLS, keeping what it stores in memory. [`SinkState`] lets a test make it
//! slow, make it fail the next transactions with 451, or drop DSN from its EHLO, and
//! counts what happened.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use tern_proto::server::{Action, ClientInfo, Message, Session, SessionConfig, StoreError};

use super::REPLY_TIMEOUT;

/// What the sink shares with the test.
#[derive(Debug, Default)]
pub struct SinkState {
    /// Messages stored (answered 250), in order.
    pub messages: Mutex<Vec<Message>>,
    /// Answer this many of the next end-of-data with 451 instead of storing.
    pub fail_next: AtomicUsize,
    /// Every end-of-data seen, stored or not.
    pub transactions: AtomicUsize,
    /// Connections accepted.
    pub connections: AtomicUsize,
    /// Wait this many milliseconds before answering each end-of-data.
    pub delay_ms: AtomicUsize,
    /// STARTTLS handshakes completed.
    pub tls_sessions: AtomicUsize,
    /// Do not offer DSN (RFC 3461) in EHLO.
    pub no_dsn: AtomicBool,
    stop: AtomicBool,
}

/// A small SMTP server: accepts mail for `accept_domains` from anyone (so relaying
/// elsewhere gets 554 5.7.1), and stores what it gets in memory.
#[derive(Debug)]
pub struct Sink {
    pub addr: SocketAddr,
    pub state: Arc<SinkState>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Sink {
    /// A sink on 127.0.0.1:`port` (0: any free port, read it from [`Sink::addr`]).
    pub fn start(port: u16, accept_domains: &[&str]) -> Sink {
        Sink::start_with(port, accept_domains, Arc::default())
    }

    /// A sink whose state the test made (and keeps a handle on) beforehand.
    pub fn start_with(port: u16, accept_domains: &[&str], state: Arc<SinkState>) -> Sink {
        Sink::start_tls(port, accept_domains, state, None)
    }

    /// A sink that offers STARTTLS with `tls`.
    pub fn start_tls(
        port: u16,
        accept_domains: &[&str],
        state: Arc<SinkState>,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Sink {
        let listener =
            TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("sink bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("{e}"));
        let domains: Vec<String> = accept_domains.iter().map(|d| d.to_string()).collect();
        let st = Arc::clone(&state);
        // A non-blocking accept, polled, so that the thread sees `stop` without needing a
        // connection to wake it.
        let thread = thread::spawn(move || {
            while !st.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        st.connections.fetch_add(1, Ordering::SeqCst);
                        let (st, domains, tls) = (Arc::clone(&st), domains.clone(), tls.clone());
                        thread::spawn(move || serve(stream, &domains, &st, tls));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Sink {
            addr,
            state,
            thread: Some(thread),
        }
    }

    /// The messages stored so far, in order.
    pub fn messages(&self) -> Vec<Message> {
        self.state
            .messages
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    /// How many messages are stored so far.
    pub fn count(&self) -> usize {
        self.state.messages.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Stops accepting; connections already open run to their end.
    pub fn stop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A connection before and after STARTTLS, so one read/write loop serves both.
enum SinkStream {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ServerConnection, TcpStream>>),
}

impl Read for SinkStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            SinkStream::Plain(s) => s.read(buf),
            SinkStream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for SinkStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            SinkStream::Plain(s) => s.write(buf),
            SinkStream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            SinkStream::Plain(s) => s.flush(),
            SinkStream::Tls(s) => s.flush(),
        }
    }
}

/// One connection: feeds what it reads to the session and writes what the session says,
/// until the session closes or the peer goes away (any I/O error ends it quietly: the
/// test asserts on what was stored, not on how a connection ended).
fn serve(
    tcp: TcpStream,
    domains: &[String],
    st: &SinkState,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let _ = tcp.set_nonblocking(false);
    let _ = tcp.set_read_timeout(Some(REPLY_TIMEOUT));
    let mut stream = SinkStream::Plain(tcp);
    let mut cfg = SessionConfig::new("sink.test");
    cfg.accept_domains = domains.to_vec();
    cfg.features.starttls = tls.is_some();
    cfg.features.dsn = !st.no_dsn.load(Ordering::SeqCst);
    let mut s = Session::new(
        Rc::new(cfg),
        ClientInfo {
            relay_allowed: false,
            tls: false,
        },
    );
    s.greet();
    let mut buf = vec![0u8; 64 << 10];
    let (mut start, mut end) = (0, 0);
    loop {
        let (used, action) = s.input(&buf[start..end]);
        start += used;
        match action {
            Action::NeedInput => {}
            Action::StoreMessage => {
                st.transactions.fetch_add(1, Ordering::SeqCst);
                let msg = s.take_message();
                let delay = st.delay_ms.load(Ordering::SeqCst) as u64;
                thread::sleep(Duration::from_millis(delay));
                let fail = st
                    .fail_next
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if fail {
                    s.stored(Err(StoreError::Io));
                } else {
                    if let (Some(m), Ok(mut all)) = (msg, st.messages.lock()) {
                        all.push(m);
                    }
                    s.stored(Ok("SINK"));
                }
                continue;
            }
            Action::StartTls => {
                let _ = stream.write_all(s.output());
                let n = s.output().len();
                s.consume_output(n);
                let (SinkStream::Plain(tcp), Some(cfg)) = (stream, tls.clone()) else {
                    return;
                };
                let Ok(conn) = rustls::ServerConnection::new(cfg) else {
                    return;
                };
                let mut tls_stream = rustls::StreamOwned::new(conn, tcp);
                while tls_stream.conn.is_handshaking() {
                    if tls_stream.conn.complete_io(&mut tls_stream.sock).is_err() {
                        return;
                    }
                }
                st.tls_sessions.fetch_add(1, Ordering::SeqCst);
                stream = SinkStream::Tls(Box::new(tls_stream));
                // Bytes sent before the handshake must not count (the session said so).
                start = 0;
                end = 0;
                s.tls_started();
                continue;
            }
            _ => {
                let _ = stream.write_all(s.output());
                return;
            }
        }
        if stream.write_all(s.output()).is_err() {
            return;
        }
        let n = s.output().len();
        s.consume_output(n);
        if start == end {
            start = 0;
            end = 0;
        }
        match stream.read(&mut buf[end..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => end += n,
        }
    }
}
