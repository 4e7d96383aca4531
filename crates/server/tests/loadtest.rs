//! The bundled load generator against the real `tern serve`: a small bounded run whose
//! counts must match what the queue holds afterwards (the loadtest issue's "send against
//! tern serve" test; send against sink is in loadtest/tests).

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::Dir;
use tern_loadtest::args::{self, Command};
use tern_loadtest::send;

/// Runs `tern-loadtest send ARGS` in this process and returns its statistics.
fn send(extra: &[&str], port: u16) -> tern_loadtest::stats::SendStats {
    let mut argv: Vec<String> = ["send", "--target"].iter().map(|s| s.to_string()).collect();
    argv.push(format!("127.0.0.1:{port}"));
    argv.extend(extra.iter().map(|s| s.to_string()));
    let opts = match args::parse(&argv) {
        Ok(Command::Send(o)) => o,
        other => panic!("send arguments {argv:?}: {other:?}"),
    };
    let threads = opts.threads;
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
    match send::run(shared) {
        Ok((stats, _)) => stats,
        Err(e) => panic!("send failed to run: {e}"),
    }
}

#[test]
fn send_against_tern_serve_every_message_is_queued() {
    let dir = Dir::new();
    let tern = dir.start(2, "");
    let mut total = 0;
    for mode in [
        &["--pipelining"][..],
        &["--pipelining", "--chunking"][..],
        &[][..],
    ] {
        let mut args = vec![
            "--connections",
            "4",
            "--messages",
            "60",
            "--rcpts",
            "2",
            "--size",
            "2KB",
            "--threads",
            "1",
            "--to",
            "r{n}.{r}@d{n%3}.test",
        ];
        args.extend_from_slice(mode);
        let stats = send(&args, tern.settings.port);
        assert_eq!((stats.ok, stats.failed), (60, 0), "{mode:?}");
        assert_eq!(stats.rcpts_ok, 120, "{mode:?}");
        assert_eq!(stats.data_codes.get(&250), Some(&60), "{mode:?}");
        assert_eq!(stats.connection_errors, 0, "{mode:?}");
        total += 60;
        let listed = tern.queue_list();
        assert_eq!(listed.len(), total, "{mode:?}");
    }
    // Each queued message has its two recipients.
    for l in tern.queue_list() {
        assert_eq!(l.to.split(", ").count(), 2, "{}", l.to);
    }
}
