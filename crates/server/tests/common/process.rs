//! The `tern` child process: a test's directory, the config files written into it, and a
//! running `tern serve` whose stderr is collected line by line so a test can wait for its
//! ready line (or any other) with a deadline.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tempfile::TempDir;

use super::{wait_for, Client, Deadline};

/// The hostname of a server from [`Dir::config`], in its greeting and Received header.
pub const HOST: &str = "mx.test";
/// The hostname of a server from [`Dir::routed_config`]: the delivery tests find it in the
/// Received header and the DSNs that reach their sink.
pub const RELAY_HOST: &str = "tern.test";
/// How long a server may take to print its ready line (it replays its queue first).
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a client waits for any one reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a stopped server may take to exit (the drain grace is 10 s).
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

/// The greeting of a server from [`Dir::config`].
pub const GREETING: &str = "220 mx.test ESMTP tern\r\n";

/// How many fresh ports a start tries when another process takes the one it picked.
const PORT_TRIES: usize = 5;

/// A test's own directory: the config files, other files a test needs (certificates) and
/// the data_dir, deleted at the end. It outlives the servers started on it, so a test can
/// kill one and start the next on the same queue.
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

    /// Writes `contents` to the file `name` in this directory and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(name);
        if let Err(e) = std::fs::write(&path, contents) {
            panic!("write {}: {e}", path.display());
        }
        path
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
        self.write_config(
            HOST,
            cores,
            &format!("{extra}\n\n[[route]]\ndomains = [\"*\"]\nhold = true\n"),
        )
    }

    /// Writes a config for the delivery tests: one core, a fresh free port, hostname
    /// tern.test, and `extra` appended, which brings its own `[[route]]`s (to a [`Sink`]
    /// or held) and `[delivery]` settings.
    ///
    /// [`Sink`]: super::Sink
    pub fn routed_config(&self, extra: &str) -> Settings {
        self.write_config(RELAY_HOST, 1, extra)
    }

    fn write_config(&self, hostname: &str, cores: usize, rest: &str) -> Settings {
        let port = free_port();
        let text = format!(
            "[server]\nhostname = \"{hostname}\"\ncores = {cores}\ndata_dir = \"{}\"\n\n\
             [[listener]]\naddress = \"127.0.0.1:{port}\"\n\n{rest}",
            self.data_dir().display()
        );
        Settings {
            path: self.write(&format!("tern-{port}.toml"), text),
            port,
            hostname: hostname.to_owned(),
        }
    }

    /// Starts a server on a [`Dir::config`] and waits until it is ready.
    pub fn start(&self, cores: usize, extra: &str) -> Tern {
        self.start_fresh(|| self.config(cores, extra))
    }

    /// Starts a server on a [`Dir::routed_config`] and waits until it is ready.
    pub fn start_routed(&self, extra: &str) -> Tern {
        self.start_fresh(|| self.routed_config(extra))
    }

    /// The port in a new config is free only when picked: tests run in parallel, and
    /// should another process bind it before tern does, tern says so and exits. That is
    /// the harness's race, not the server's failure, so it writes a config with a fresh
    /// port and tries again.
    fn start_fresh(&self, config: impl Fn() -> Settings) -> Tern {
        for _ in 0..PORT_TRIES {
            let t = Tern::spawn(config());
            if t.wait_ready() {
                return t;
            }
            let lost = format!("tern: cannot listen on 127.0.0.1:{}: ", t.settings.port);
            if !t.stderr().contains(&lost) {
                panic!("tern did not get ready; stderr:\n{}", t.stderr());
            }
        }
        panic!("tern lost its port {PORT_TRIES} times in a row");
    }
}

/// A config file written by a [`Dir`], the port it listens on and the hostname it names.
#[derive(Clone)]
pub struct Settings {
    pub path: PathBuf,
    pub port: u16,
    pub hostname: String,
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

    /// Waits until `done` holds for the lines so far and whether stderr is closed; false
    /// on timeout. Woken by each new line rather than polling, so a ready line is seen the
    /// moment it is read.
    fn wait(&self, timeout: Duration, mut done: impl FnMut(&[String], bool) -> bool) -> bool {
        let deadline = Deadline::after(timeout);
        let mut g = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if done(&g.0, g.1) {
                return true;
            }
            let Some(left) = deadline.remaining() else {
                return false;
            };
            g = match self.changed.wait_timeout(g, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Waits until a line satisfies `pred`; false on timeout or when stderr closed first.
    fn wait_for(&self, pred: impl Fn(&str) -> bool, timeout: Duration) -> bool {
        let mut found = false;
        self.wait(timeout, |lines, closed| {
            found = lines.iter().any(|l| pred(l));
            found || closed
        });
        found
    }

    /// Waits until the child's stderr is closed and every line read.
    fn wait_closed(&self, timeout: Duration) -> bool {
        self.wait(timeout, |_, closed| closed)
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
        if !t.wait_ready() {
            panic!("tern did not get ready; stderr:\n{}", t.stderr());
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

    /// Starts the server again on the same config and data, once this one has ended
    /// ([`Tern::kill9`] or [`Tern::wait_exit`]), and waits until it is ready.
    pub fn restart(&mut self) {
        assert!(self.exited.is_some(), "restart of a server still running");
        *self = Tern::start(self.settings.clone());
    }

    /// Waits for the ready line; false if it did not come in time or the process ended.
    fn wait_ready(&self) -> bool {
        let want = format!("tern: ready on 127.0.0.1:{} with ", self.settings.port);
        self.log.wait_for(|l| l.starts_with(&want), READY_TIMEOUT)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.settings.port))
    }

    pub fn port(&self) -> u16 {
        self.settings.port
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// This server's greeting.
    pub fn greeting(&self) -> String {
        format!("220 {} ESMTP tern\r\n", self.settings.hostname)
    }

    /// A client connected from 127.0.0.1 that has read the greeting.
    pub fn client(&self) -> Client {
        let mut c = Client::connect(self.addr());
        c.expect(&self.greeting());
        c.host = self.settings.hostname.clone();
        c
    }

    /// Sends one message on a connection of its own: EHLO, [`Client::send_transaction`]
    /// with these MAIL and RCPT lines, QUIT.
    pub fn submit(&self, mail: &str, rcpts: &[&str], wire: &[u8]) {
        let mut c = self.client();
        c.ehlo();
        c.send_transaction(mail, rcpts, wire);
        c.quit();
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
        let child = &mut self.child;
        let mut status = None;
        wait_for(timeout, || {
            status = match child.try_wait() {
                Ok(s) => s,
                Err(e) => panic!("try_wait: {e}"),
            };
            status.is_some()
        });
        let Some(status) = status else {
            panic!(
                "tern did not exit within {timeout:?}; stderr:\n{}",
                self.stderr()
            )
        };
        self.exited = Some(status);
        // So that the caller sees every line the process wrote.
        assert!(self.log.wait_closed(timeout), "stderr still open");
        status
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

/// Runs the tern binary to completion, with nothing on stdin.
pub fn tern(args: &[impl AsRef<OsStr>]) -> Output {
    let shown: Vec<&OsStr> = args.iter().map(AsRef::as_ref).collect();
    match Command::new(env!("CARGO_BIN_EXE_tern"))
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(o) => o,
        Err(e) => panic!("running tern {shown:?}: {e}"),
    }
}
