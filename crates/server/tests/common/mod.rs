//! The harness of the process-level tests: it runs the real `tern` binary on a temporary
//! data_dir and a free loopback port, waits for its ready line, and talks to it over raw
//! sockets.
//!
//! Every wait is on a condition with a deadline (a line on stderr, a reply, the end of the
//! process), never a bare sleep, and the deadlines are generous: the suite runs on a
//! shared 2-core machine next to other builds. A [`Tern`] kills its process when dropped,
//! so a failing assertion never leaves a server behind.
// Each test file uses a different part of the harness.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The hostname every test server uses in its greeting and Received header.
pub const HOST: &str = "mx.test";
/// How long a server may take to print its ready line (it replays its queue first).
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a client waits for any one reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped server may take to exit (the drain grace is 10 s).
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// The greeting of every test server.
pub const GREETING: &str = "220 mx.test ESMTP tern\r\n";

/// A test's own directory: the config files and the data_dir, deleted at the end. It
/// outlives the servers started on it, so a test can kill one and start the next on the
/// same queue.
pub struct Dir {
    tmp: TempDir,
}

impl Dir {
    pub fn new() -> Dir {
        match tempfile::tempdir() {
            Ok(tmp) => Dir { tmp },
            Err(e) => panic!("tempdir: {e}"),
        }
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path().join("data")
    }

    /// The segment files of shard `n`, oldest first.
    pub fn segments(&self, shard: usize) -> Vec<PathBuf> {
        let dir = self.data_dir().join("queue").join(format!("shard-{shard}"));
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) => panic!("read_dir {}: {e}", dir.display()),
        };
        let mut segs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "seg"))
            .collect();
        segs.sort();
        segs
    }

    /// Writes a config for this directory: `cores`, a fresh free port, hostname mx.test,
    /// and `extra` (whole `[limits]`, `[relay]`, `[queue]` sections) appended. Every domain
    /// is held (a `hold` route), because these tests read what was accepted back from the
    /// queue: without it the delivery workers would try to deliver (and bounce) it.
    pub fn config(&self, cores: usize, extra: &str) -> Settings {
        let port = free_port();
        let text = format!(
            "[server]\nhostname = \"{HOST}\"\ncores = {cores}\ndata_dir = \"{}\"\n\n\
             [[listener]]\naddress = \"127.0.0.1:{port}\"\n\n{extra}\n\n\
             [[route]]\ndomains = [\"*\"]\nhold = true\n",
            self.data_dir().display()
        );
        let path = self.path().join(format!("tern-{port}.toml"));
        if let Err(e) = std::fs::write(&path, text) {
            panic!("write {}: {e}", path.display());
        }
        Settings { path, port }
    }

    /// Starts a server on this directory and waits until it is ready.
    pub fn start(&self, cores: usize, extra: &str) -> Tern {
        Tern::start(self.config(cores, extra))
    }
}

/// A config file written by [`Dir::config`] and the port it names.
#[derive(Clone)]
pub struct Settings {
    pub path: PathBuf,
    pub port: u16,
}

/// A port nobody listens on now: bound by the kernel's choice, then released.
pub fn free_port() -> u16 {
    let l = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => panic!("bind 127.0.0.1:0: {e}"),
    };
    match l.local_addr() {
        Ok(a) => a.port(),
        Err(e) => panic!("local_addr: {e}"),
    }
}

/// Lines of a child's stderr, collected by a thread, with a condition variable to wait on.
#[derive(Default)]
struct Log {
    lines: Mutex<(Vec<String>, bool)>,
    changed: Condvar,
}

impl Log {
    fn push(&self, line: Option<String>) {
        let mut g = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        match line {
            Some(l) => g.0.push(l),
            None => g.1 = true,
        }
        self.changed.notify_all();
    }

    /// Waits until a line satisfies `pred`; false on timeout or when stderr closed first.
    fn wait_for(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut g = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if g.0.iter().any(|l| pred(l)) {
                return true;
            }
            let now = Instant::now();
            if g.1 || now >= deadline {
                return false;
            }
            g = match self.changed.wait_timeout(g, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Waits until the child's stderr is closed and every line read.
    fn wait_closed(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut g = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        while !g.1 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            g = match self.changed.wait_timeout(g, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }

    fn text(&self) -> String {
        let g = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        g.0.join("\n")
    }
}

/// A running `tern serve`; killed (SIGKILL) and reaped when dropped.
pub struct Tern {
    child: Child,
    pub settings: Settings,
    log: Arc<Log>,
    exited: Option<ExitStatus>,
}

impl Tern {
    /// Starts `tern serve --config` and waits for `tern: ready on ...`.
    pub fn start(settings: Settings) -> Tern {
        let t = Tern::spawn(settings);
        let want = format!("tern: ready on 127.0.0.1:{} with ", t.settings.port);
        if !t.log.wait_for(|l| l.starts_with(&want), READY_TIMEOUT) {
            panic!("tern did not get ready; stderr:\n{}", t.log.text());
        }
        t
    }

    /// Starts `tern serve --config` without waiting for anything.
    pub fn spawn(settings: Settings) -> Tern {
        let child = Command::new(env!("CARGO_BIN_EXE_tern"))
            .arg("serve")
            .arg("--config")
            .arg(&settings.path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => panic!("spawn tern: {e}"),
        };
        let log = Arc::new(Log::default());
        if let Some(stderr) = child.stderr.take() {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    match line {
                        Ok(l) => log.push(Some(l)),
                        Err(_) => break,
                    }
                }
                log.push(None);
            });
        }
        Tern {
            child,
            settings,
            log,
            exited: None,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.settings.port))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A client connected from 127.0.0.1 that has read the greeting.
    pub fn client(&self) -> Client {
        let mut c = Client::connect(self.addr());
        c.expect(GREETING);
        c
    }

    /// Everything the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.log.text()
    }

    /// Waits for a stderr line containing `needle`.
    pub fn wait_for_stderr(&self, needle: &str, timeout: Duration) -> bool {
        self.log.wait_for(|l| l.contains(needle), timeout)
    }

    /// Sends SIGTERM (with kill(1): the tests deny unsafe code, so no libc::kill).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        match status {
            Ok(s) if s.success() => {}
            other => panic!("kill -TERM {}: {other:?}", self.pid()),
        }
    }

    /// SIGKILL, at once, and reap the process.
    pub fn kill9(&mut self) {
        // Child::kill sends SIGKILL.
        if let Err(e) = self.child.kill() {
            panic!("kill -9 {}: {e}", self.pid());
        }
        match self.child.wait() {
            Ok(s) => self.exited = Some(s),
            Err(e) => panic!("wait {}: {e}", self.pid()),
        }
    }

    /// Waits for the process to end by itself; panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(s)) => {
                    self.exited = Some(s);
                    // So that the caller sees every line the process wrote.
                    assert!(self.log.wait_closed(timeout), "stderr still open");
                    return s;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => panic!(
                    "tern did not exit within {timeout:?}; stderr:\n{}",
                    self.stderr()
                ),
                Err(e) => panic!("try_wait: {e}"),
            }
        }
    }

    /// `tern queue list` on this server's config.
    pub fn queue_list(&self) -> Vec<Listed> {
        queue_list(&self.settings.path)
    }

    /// `tern queue show ID` on this server's config.
    pub fn queue_show(&self, id: &str) -> Shown {
        queue_show(&self.settings.path, id)
    }
}

impl Drop for Tern {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the tern binary to completion.
pub fn tern(args: &[&std::ffi::OsStr]) -> Output {
    match Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("running tern {args:?}: {e}"),
    }
}

/// One line of `tern queue list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub bytes: u64,
    /// `<a@b>` as printed.
    pub from: String,
    /// What follows `to `: `<c@d> (queued), <e@f> (queued)`.
    pub to: String,
}

/// Runs `tern queue list --config FILE` and parses it, checking the count line.
pub fn queue_list(config: &Path) -> Vec<Listed> {
    let out = tern(&[
        "queue".as_ref(),
        "list".as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "queue list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<&str> = text.lines().collect();
    let Some(last) = lines.pop() else {
        panic!("queue list printed nothing")
    };
    // Every domain is held in these tests (see `Dir::config`): a recipient reads "queued"
    // until the delivery worker has looked at it and "deferred" (held) after; which one a
    // test sees is a race, and both mean "still in the queue".
    let lines: Vec<String> = lines
        .iter()
        .map(|l| l.replace(" (deferred)", " (queued)"))
        .collect();
    let listed: Vec<Listed> = lines.iter().map(|l| parse_listed(l)).collect();
    assert_eq!(
        last,
        format!("{} message(s) queued", listed.len()),
        "{text}"
    );
    listed
}

fn parse_listed(line: &str) -> Listed {
    // ID  ARRIVAL  N bytes  from <a@b>  to <c@d> (queued)
    let fields: Vec<&str> = line.splitn(4, "  ").collect();
    let (id, bytes, rest) = match fields.as_slice() {
        [id, _arrival, bytes, rest] => (id, bytes, rest),
        _ => panic!("bad queue list line {line:?}"),
    };
    let bytes = bytes
        .strip_suffix(" bytes")
        .and_then(|b| b.parse().ok())
        .unwrap_or_else(|| panic!("bad size in {line:?}"));
    let (from, to) = rest
        .strip_prefix("from ")
        .and_then(|r| r.split_once("  to "))
        .unwrap_or_else(|| panic!("bad envelope in {line:?}"));
    Listed {
        id: (*id).to_owned(),
        bytes,
        from: from.to_owned(),
        to: to.to_owned(),
    }
}

/// `tern queue show ID`: the header lines and the stored body.
#[derive(Debug)]
pub struct Shown {
    pub header: String,
    /// The stored body: the Received header, then the message as received.
    pub stored: Vec<u8>,
}

impl Shown {
    /// The message after tern's Received header, checking that header's shape.
    pub fn message(&self) -> &[u8] {
        strip_received(&self.stored)
    }
}

/// Runs `tern queue show ID --config FILE`.
pub fn queue_show(config: &Path, id: &str) -> Shown {
    let out = tern(&[
        "queue".as_ref(),
        "show".as_ref(),
        id.as_ref(),
        "--config".as_ref(),
        config.as_os_str(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "queue show {id} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = out.stdout;
    let split = find(&stdout, b"\n\n").unwrap_or_else(|| panic!("no blank line in queue show"));
    let header = String::from_utf8_lossy(&stdout[..split]).into_owned();
    let stored = stdout[split + 2..].to_vec();
    assert!(header.starts_with(&format!("id: {id}\n")), "{header}");
    assert!(
        header.ends_with(&format!("\nsize: {} bytes", stored.len())),
        "size line does not match the {} bytes shown:\n{header}",
        stored.len()
    );
    Shown { header, stored }
}

/// The body after tern's `Received:` header, which is folded with CRLF TAB and ends at
/// the first CRLF not followed by a TAB.
pub fn strip_received(stored: &[u8]) -> &[u8] {
    assert!(
        stored.starts_with(b"Received: from "),
        "stored body does not start with a Received header: {:?}",
        String::from_utf8_lossy(&stored[..stored.len().min(200)])
    );
    let mut at = 0;
    loop {
        let Some(i) = find(&stored[at..], b"\r\n") else {
            panic!("unterminated Received header")
        };
        let end = at + i + 2;
        if stored.get(end) != Some(&b'\t') {
            let header = String::from_utf8_lossy(&stored[..end]);
            assert!(header.contains(&format!("by {HOST}")), "{header}");
            return &stored[end..];
        }
        at = end;
    }
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The id in `250 2.0.0 Ok: queued as ID`.
pub fn queued_id(reply: &str) -> String {
    let line = reply.trim_end_matches("\r\n");
    match line.strip_prefix("250 2.0.0 Ok: queued as ") {
        Some(id) if !id.is_empty() && !id.contains(char::is_whitespace) => id.to_owned(),
        _ => panic!("not a queued reply: {reply:?}"),
    }
}

/// A raw SMTP client over `std::net::TcpStream`, reading whole replies.
pub struct Client {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        match TcpStream::connect_timeout(&addr, REPLY_TIMEOUT) {
            Ok(s) => Client::wrap(s),
            Err(e) => panic!("connect {addr}: {e}"),
        }
    }

    /// Connects from a chosen local address (any of 127/8 works on Linux loopback).
    pub fn connect_from(local: IpAddr, addr: SocketAddr) -> Client {
        use socket2::{Domain, Socket, Type};
        let s =
            Socket::new(Domain::IPV4, Type::STREAM, None).unwrap_or_else(|e| panic!("socket: {e}"));
        s.bind(&SocketAddr::new(local, 0).into())
            .unwrap_or_else(|e| panic!("bind {local}: {e}"));
        s.connect_timeout(&addr.into(), REPLY_TIMEOUT)
            .unwrap_or_else(|e| panic!("connect {addr} from {local}: {e}"));
        Client::wrap(s.into())
    }

    /// A client over a stream connected elsewhere.
    pub fn from_stream(stream: TcpStream) -> Client {
        Client::wrap(stream)
    }

    fn wrap(stream: TcpStream) -> Client {
        let _ = stream.set_nodelay(true);
        if let Err(e) = stream.set_read_timeout(Some(REPLY_TIMEOUT)) {
            panic!("set_read_timeout: {e}");
        }
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        if let Err(e) = self.stream.write_all(bytes.as_ref()) {
            panic!("write: {e}");
        }
    }

    /// Sends, reporting failure instead of panicking (for clients of a server that may
    /// be killed under them).
    pub fn try_send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Reads one whole reply (every line up to `ddd SP` or a bare `ddd`), as text.
    pub fn reply(&mut self) -> String {
        match self.try_reply() {
            Ok(r) => r,
            Err(e) => panic!("{e}; read so far: {:?}", String::from_utf8_lossy(&self.buf)),
        }
    }

    /// Like [`Client::reply`] but reports a closed or failed connection as an error.
    pub fn try_reply(&mut self) -> Result<String, String> {
        let mut scanned = 0;
        loop {
            while let Some(i) = find(&self.buf[scanned..], b"\r\n") {
                let line_end = scanned + i + 2;
                let line = &self.buf[scanned..line_end - 2];
                scanned = line_end;
                if line.len() < 3 || line.get(3) == Some(&b'-') {
                    continue;
                }
                let reply: Vec<u8> = self.buf.drain(..line_end).collect();
                return String::from_utf8(reply).map_err(|e| format!("reply not UTF-8: {e}"));
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("connection closed before a whole reply".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }

    /// Reads `n` replies and returns them concatenated.
    pub fn replies(&mut self, n: usize) -> String {
        (0..n).map(|_| self.reply()).collect()
    }

    /// Reads one reply and checks it byte for byte.
    pub fn expect(&mut self, want: &str) {
        let got = self.reply();
        assert_eq!(got, want);
    }

    /// Sends a command line and checks the reply.
    pub fn cmd(&mut self, line: &str, want: &str) {
        self.send(format!("{line}\r\n"));
        self.expect(want);
    }

    /// EHLO, checking only that it succeeded.
    pub fn ehlo(&mut self) {
        self.send("EHLO client.test\r\n");
        let r = self.reply();
        assert!(r.starts_with("250-mx.test greets client.test\r\n"), "{r}");
    }

    /// Asserts that the server closes the connection (EOF or reset) with nothing more to
    /// say, within the reply timeout.
    pub fn expect_closed(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unread bytes before close: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => panic!(
                    "expected close, got {:?}",
                    String::from_utf8_lossy(&chunk[..n])
                ),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
                Err(e) => panic!("expected close, got error {e}"),
            }
        }
    }

    /// MAIL, RCPT, DATA and the body (already dot-stuffed, ending in CRLF), one command at
    /// a time; returns the queue id.
    pub fn send_message(&mut self, from: &str, to: &[&str], wire_body: &[u8]) -> String {
        self.cmd(&format!("MAIL FROM:<{from}>"), "250 2.1.0 Sender ok\r\n");
        for rcpt in to {
            self.cmd(&format!("RCPT TO:<{rcpt}>"), "250 2.1.5 Recipient ok\r\n");
        }
        self.cmd("DATA", "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n");
        self.send(wire_body);
        self.send(".\r\n");
        queued_id(&self.reply())
    }
}

/// Dot-stuffs a CRLF message for DATA (RFC 5321 4.5.2).
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut line_start = true;
    for &b in message {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    out
}
