//! The harness of the process-level tests: a sink on a free loopback port and a sender
//! run to completion, both with JSON reports.

#![allow(dead_code)] // each test file uses its own part of the harness

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_tern-loadtest");
/// No test run may take longer than this; a hang is a failure, not a stuck CI.
pub const LIMIT: Duration = Duration::from_secs(60);

pub struct Sink {
    pub child: Child,
    pub port: u16,
    pub json: PathBuf,
}

impl Sink {
    pub fn start(dir: &Path, args: &[&str]) -> Sink {
        let json = dir.join("sink.json");
        let mut child = Command::new(BIN)
            .args([
                "sink",
                "--listen",
                "127.0.0.1:0",
                "--threads",
                "2",
                "--duration",
                "50s",
            ])
            .arg("--json")
            .arg(&json)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sink");
        let stderr = child.stderr.take().expect("sink stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("tern-loadtest sink: listening on ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("sink did not report its address");
            }
        };
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        Sink { child, port, json }
    }

    pub fn target(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Waits for the sink to stop by itself (--exit-after) and returns its report.
    pub fn report(mut self) -> Value {
        let status = wait(&mut self.child);
        assert!(status.success(), "sink exit {status:?}");
        serde_json::from_str(&std::fs::read_to_string(&self.json).unwrap()).unwrap()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn wait(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("process did not stop within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `send` to completion; returns its exit code and JSON report.
pub fn send(dir: &Path, target: &str, args: &[&str]) -> (i32, Value) {
    let (code, report, _) = send_full(dir, target, args);
    (code, report.expect("send wrote no report"))
}

/// Runs `send` to completion; returns its exit code, JSON report (none when it could not
/// start) and stderr.
pub fn send_full(dir: &Path, target: &str, args: &[&str]) -> (i32, Option<Value>, String) {
    let json = dir.join("send.json");
    // A run that cannot start writes no report; an older one must not stand in for it.
    let _ = std::fs::remove_file(&json);
    let mut child = Command::new(BIN)
        .args([
            "send",
            "--target",
            target,
            "--threads",
            "2",
            "--timeout",
            "10s",
        ])
        .arg("--json")
        .arg(&json)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start send");
    // Read on a thread so a chatty stderr cannot fill the pipe and stall the child.
    let mut stderr = child.stderr.take().expect("send stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let status = wait(&mut child);
    let err = reader.join().unwrap_or_default();
    let report = std::fs::read_to_string(&json)
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    (status.code().unwrap_or(-1), report, err)
}

/// Splits a saved file into its X-Sink lines and the message.
pub fn split_saved(data: &[u8]) -> (Vec<String>, &[u8]) {
    let mut lines = Vec::new();
    let mut rest = data;
    while rest.starts_with(b"X-Sink-") {
        let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        lines.push(String::from_utf8(rest[..end].to_vec()).unwrap());
        rest = &rest[end + 2..];
    }
    (lines, rest)
}
