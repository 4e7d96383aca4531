//! Shared by the delivery tests: a sink SMTP server (std threads driving
//! `tern_proto::server::Session`), a `tern serve` child process with its own data
//! directory, and a tiny SMTP client. Everything on loopback; every process started here is
//! killed by its guard.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tern_proto::server::{Action, ClientInfo, Message, Session, SessionConfig, StoreError};

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    l.local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `cond` every 20 ms until it holds or `limit` passes.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    cond()
}

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
    pub fn start(port: u16, accept_domains: &[&str]) -> Sink {
        Sink::start_with(port, accept_domains, Arc::default())
    }

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

    pub fn messages(&self) -> Vec<Message> {
        self.state
            .messages
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.state.messages.lock().map(|m| m.len()).unwrap_or(0)
    }

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

fn serve(
    tcp: TcpStream,
    domains: &[String],
    st: &SinkState,
    tls: Option<Arc<rustls::ServerConfig>>,
) {
    let _ = tcp.set_nonblocking(false);
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(30)));
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

/// A `tern serve` process with its own data directory and config.
#[derive(Debug)]
pub struct Tern {
    pub dir: TempDir,
    pub port: u16,
    pub config: PathBuf,
    child: Option<Child>,
}

impl Tern {
    /// Writes a config (one core, a listener on a free port, `extra` appended) and starts
    /// tern; returns once it accepts connections.
    /// The listener port is picked free just before; should another process take it in
    /// between (tests run in parallel), tern exits and another port is tried.
    pub fn start(extra: &str) -> Tern {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let config = dir.path().join("tern.toml");
        let mut t = Tern {
            dir,
            port: 0,
            config,
            child: None,
        };
        for _ in 0..5 {
            t.port = free_port();
            let text = format!(
                "[server]\nhostname = \"tern.test\"\ncores = 1\ndata_dir = \"{}\"\n\n[[listener]]\naddress = \"127.0.0.1:{}\"\n\n{extra}",
                t.dir.path().join("data").display(),
                t.port
            );
            std::fs::write(&t.config, text).unwrap_or_else(|e| panic!("write config: {e}"));
            if t.try_start() {
                return t;
            }
        }
        panic!("tern did not start listening");
    }

    /// Starts (again) the server on the same config and data.
    pub fn restart(&mut self) {
        assert!(self.try_start(), "tern did not start listening");
    }

    /// Starts tern and waits until it listens; false if it exited or never listened.
    fn try_start(&mut self) -> bool {
        let child = Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn tern: {e}"));
        self.child = Some(child);
        let port = self.port;
        let mut exited = false;
        let up = wait_for(Duration::from_secs(10), || {
            exited = self
                .child
                .as_mut()
                .is_some_and(|c| matches!(c.try_wait(), Ok(Some(_))));
            exited || TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        if !up || exited {
            self.kill9();
            return false;
        }
        true
    }

    /// SIGKILL, as a crash.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `tern queue list` output (reads the data directory offline).
    pub fn queue_list(&self) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_tern"))
            .args(["queue", "list", "--config"])
            .arg(&self.config)
            .output()
            .unwrap_or_else(|e| panic!("tern queue list: {e}"));
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }
}

impl Drop for Tern {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A minimal SMTP client for the tests: sends each command and checks the reply class.
#[derive(Debug)]
pub struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    pub fn connect(port: u16) -> Client {
        let w = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect: {e}"));
        let _ = w.set_read_timeout(Some(Duration::from_secs(10)));
        let r = BufReader::new(w.try_clone().unwrap_or_else(|e| panic!("{e}")));
        let mut c = Client { r, w };
        c.expect("2");
        c
    }

    /// Reads one (multi-line) reply and returns it.
    pub fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            if self.r.read_line(&mut line).unwrap_or(0) == 0 {
                return all;
            }
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    pub fn expect(&mut self, class: &str) -> String {
        let r = self.reply();
        assert!(r.starts_with(class), "expected {class}xx, got {r:?}");
        r
    }

    pub fn cmd(&mut self, line: &str, class: &str) -> String {
        self.w
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        self.expect(class)
    }

    /// One message: MAIL, RCPTs, DATA with `wire` (already dot-stuffed, ending in CRLF,
    /// without the final dot).
    pub fn send(&mut self, mail: &str, rcpts: &[&str], wire: &[u8]) -> String {
        self.cmd(mail, "2");
        for r in rcpts {
            self.cmd(r, "2");
        }
        self.cmd("DATA", "3");
        self.w.write_all(wire).unwrap_or_else(|e| panic!("{e}"));
        self.w.write_all(b".\r\n").unwrap_or_else(|e| panic!("{e}"));
        self.expect("2")
    }

    pub fn quit(mut self) {
        let _ = self.w.write_all(b"QUIT\r\n");
        let _ = self.reply();
    }
}

/// Sends one message through tern on `port`.
pub fn submit(port: u16, mail: &str, rcpts: &[&str], wire: &[u8]) {
    let mut c = Client::connect(port);
    c.cmd("EHLO client.test", "2");
    c.send(mail, rcpts, wire);
    c.quit();
}

/// Splits a stored body at the end of its first header field (tern's Received:).
pub fn after_received(body: &[u8]) -> (&[u8], &[u8]) {
    assert!(
        body.starts_with(b"Received: "),
        "no Received first: {:?}",
        String::from_utf8_lossy(body)
    );
    let mut i = 0;
    loop {
        let Some(p) = body[i..].windows(2).position(|w| w == b"\r\n") else {
            return (body, b"");
        };
        i += p + 2;
        if !matches!(body.get(i), Some(b' ' | b'\t')) {
            return body.split_at(i);
        }
    }
}

pub fn path_display(p: &Path) -> String {
    p.display().to_string()
}
