//! `kill -9` in the middle of delivery: after the restart every accepted message reaches
//! the sink, and a message arrives twice only if it was inside the window between the
//! sink's 250 and tern's fdatasync of the outcome: at most the transactions in flight on a
//! connection, two with PIPELINING (a body's end carries the next MAIL).

mod common;

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::{wait_for, Dir, Sink, SinkState};

const MESSAGES: usize = 30;

#[test]
fn kill_9_during_delivery_loses_nothing() {
    let state = Arc::new(SinkState::default());
    // Slow answers keep deliveries in flight when the kill comes.
    state.delay_ms.store(60, Ordering::SeqCst);
    let sink = Sink::start_with(0, &["example.net"], Arc::clone(&state));
    // One connection at a time: at most its two transactions in flight (the delivery
    // window) are inside the duplicate window at the kill.
    let dir = Dir::new();
    let mut tern = dir.start_routed(&format!(
        "[delivery]\nretry_initial = \"1s\"\nretry_max = \"1s\"\nmax_connections_per_host = 1\n\n\
         [[route]]\ndomains = [\"*\"]\nsmarthost = [\"127.0.0.1:{}\"]\n",
        sink.addr.port()
    ));
    let mut c = tern.client();
    c.cmd_class("EHLO client.test", "2");
    for i in 0..MESSAGES {
        let body = format!("Subject: n{i}\r\n\r\nmessage number {i}\r\n");
        c.send_transaction(
            "MAIL FROM:<alice@example.org>",
            &["RCPT TO:<bob@example.net>"],
            body.as_bytes(),
        );
    }
    c.quit();
    assert!(
        wait_for(Duration::from_secs(10), || sink.count() >= 5),
        "delivery did not start"
    );
    tern.kill9();
    let at_kill = sink.count();
    assert!(
        at_kill < MESSAGES,
        "the kill came too late to test anything"
    );
    tern.restart();
    let distinct = || {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for m in sink.messages() {
            let subject = m
                .body
                .split(|&b| b == b'\n')
                .find(|l| l.starts_with(b"Subject: "))
                .map(|l| String::from_utf8_lossy(l).trim_end().to_owned())
                .unwrap_or_default();
            *seen.entry(subject).or_default() += 1;
        }
        seen
    };
    assert!(
        wait_for(Duration::from_secs(30), || distinct().len() == MESSAGES),
        "only {} of {MESSAGES} delivered after the restart",
        distinct().len()
    );
    std::thread::sleep(Duration::from_secs(1));
    let seen = distinct();
    let dups: usize = seen.values().map(|n| n - 1).sum();
    assert!(
        dups <= 2,
        "{dups} duplicates; at most the two in flight at the kill: {seen:?}"
    );
    assert!(seen.values().all(|&n| n >= 1));
    tern.kill9();
    let list = tern.queue_list_text();
    assert!(
        list.ends_with("0 message(s) queued\n"),
        "still queued:\n{list}"
    );
}
