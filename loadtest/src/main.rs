//! `tern-loadtest`: see the library docs and `tern-loadtest --help`.
//!
//! Exit codes: 0 success; 1 messages failed (send, without `--allow-errors`); 2 usage
//! error; 3 the run could not start or its report could not be written.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use tern_loadtest::args::{self, Command, SendOptions, SinkOptions, USAGE};
use tern_loadtest::stats::{SendReport, SinkReport};
use tern_loadtest::{send, sink};

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match args::parse(&argv) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Send(o)) => run_send(o),
        Ok(Command::Sink(o)) => run_sink(o),
        Err(e) => {
            eprintln!("tern-loadtest: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn write_json(path: &std::path::Path, report: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn run_send(opts: SendOptions) -> ExitCode {
    let threads = opts.threads;
    let json = opts.json.clone();
    let allow_errors = opts.allow_errors;
    let shared = Arc::new(send::Shared {
        opts,
        start: Instant::now(),
        done: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        p99: (0..threads).map(|_| AtomicU64::new(0)).collect(),
        finished: AtomicUsize::new(0),
        abort: AtomicBool::new(false),
        first_error: Mutex::new(None),
    });
    let first_error = Arc::clone(&shared);
    let (stats, elapsed) = match send::run(shared) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tern-loadtest send: {e}");
            return ExitCode::from(3);
        }
    };
    let report = SendReport::new(&stats, elapsed);
    print!("{}", report.table());
    if let Some(e) = shared_error(&first_error) {
        eprintln!("tern-loadtest send: {e}");
    }
    if let Some(path) = json {
        if let Err(e) = write_json(&path, &report) {
            eprintln!("tern-loadtest send: {e}");
            return ExitCode::from(3);
        }
    }
    if report.failed > 0 && !allow_errors {
        eprintln!(
            "tern-loadtest send: {} of {} messages failed (--allow-errors to exit 0)",
            report.failed, report.messages
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn shared_error(shared: &send::Shared) -> Option<String> {
    shared.first_error.lock().ok().and_then(|mut e| e.take())
}

fn run_sink(opts: SinkOptions) -> ExitCode {
    let json = opts.json.clone();
    let result = sink::run(opts, |addr| {
        // Always printed: a script or test that asked for port 0 needs to learn the port.
        eprintln!("tern-loadtest sink: listening on {addr}");
    });
    let (stats, elapsed) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tern-loadtest sink: {e}");
            return ExitCode::from(3);
        }
    };
    let report = SinkReport::new(&stats, elapsed);
    print!("{}", report.table());
    if let Some(path) = json {
        if let Err(e) = write_json(&path, &report) {
            eprintln!("tern-loadtest sink: {e}");
            return ExitCode::from(3);
        }
    }
    ExitCode::SUCCESS
}
