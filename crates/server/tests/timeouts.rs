//! The session timeouts, with 1-second limits so the tests are quick: an idle client, a
//! client trickling a command line one byte at a time (slowloris), and a stalled DATA.
//!
//! The bounds asserted are loose at the top (the machine may be loaded) but always well
//! below what a per-read timer would allow the trickling client, which is the point.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Dir;

const TIMEOUT: &str = "421 4.4.2 Timeout exceeded, closing connection\r\n";

#[test]
fn idle_client_is_cut_off() {
    let dir = Dir::new();
    let tern = dir.start(1, "[limits]\ncommand_timeout = \"1s\"\n");
    let mut c = tern.client();
    c.ehlo();
    let start = Instant::now();
    c.expect(TIMEOUT);
    let waited = start.elapsed();
    c.expect_closed();
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
}

#[test]
fn trickling_client_is_cut_off() {
    let dir = Dir::new();
    let tern = dir.start(1, "[limits]\ncommand_timeout = \"1s\"\n");
    let mut c = tern.client();
    let start = Instant::now();
    // One byte every 300 ms for up to 30 s, never a whole line: a timer restarted by each
    // read would never fire while this runs.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let mut stream = match c.stream.try_clone() {
            Ok(s) => s,
            Err(e) => panic!("try_clone: {e}"),
        };
        std::thread::spawn(move || {
            for _ in 0..100 {
                if stop.load(Ordering::Relaxed) || stream.write_all(b"N").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(300));
            }
        })
    };
    c.expect(TIMEOUT);
    let waited = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = writer.join();
    c.expect_closed();
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
}

#[test]
fn stalled_data_is_cut_off() {
    let dir = Dir::new();
    let tern = dir.start(
        1,
        "[limits]\ncommand_timeout = \"60s\"\ndata_timeout = \"1s\"\n",
    );
    let mut c = tern.client();
    c.ehlo();
    c.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
    c.cmd("RCPT TO:<b@y.test>", "250 2.1.5 Recipient ok\r\n");
    c.cmd("DATA", "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n");
    c.send("Subject: half a message\r\n");
    let start = Instant::now();
    c.expect(TIMEOUT);
    let waited = start.elapsed();
    c.expect_closed();
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
    // Far below the 60 s command timeout: DATA has its own.
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert_eq!(tern.queue_list(), vec![]);
}
