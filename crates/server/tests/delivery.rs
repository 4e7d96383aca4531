//! Delivery end to end: a client sends through `tern serve`, which relays over a smarthost
//! route into a sink SMTP server on loopback.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{after_received, free_port, wait_for, Dir, Sink, SinkState};
use tern_proto::ReversePath;

fn route_to(port: u16) -> String {
    format!(
        "[delivery]\nretry_initial = \"1s\"\nretry_max = \"2s\"\nidle_timeout = \"1s\"\n\n\
         [[route]]\ndomains = [\"*\"]\nsmarthost = [\"127.0.0.1:{port}\"]\n"
    )
}

/// What the client sends after DATA (dot-stuffed), and what must arrive (unstuffed).
const WIRE: &[u8] = b"Subject: dots and bytes\r\nFrom: alice@example.org\r\n\r\n..leading dot\r\n.\
..\r\nh\xc3\xa9llo 8-bit \xff\xfe\r\nlast line\r\n";
const BODY: &[u8] = b"Subject: dots and bytes\r\nFrom: alice@example.org\r\n\r\n.leading dot\r\n.\
.\r\nh\xc3\xa9llo 8-bit \xff\xfe\r\nlast line\r\n";

#[test]
fn relays_envelope_and_body_byte_for_byte() {
    let sink = Sink::start(0, &["example.net", "example.org"]);
    let dir = Dir::new();
    let tern = dir.start_routed(&route_to(sink.addr.port()));
    tern.submit(
        "MAIL FROM:<alice@example.org> BODY=8BITMIME",
        &["RCPT TO:<bob@example.net>", "RCPT TO:<carol@example.net>"],
        WIRE,
    );
    assert!(
        wait_for(Duration::from_secs(10), || sink.count() == 1),
        "not delivered"
    );
    let got = sink.messages().remove(0);
    assert_eq!(got.envelope.from.to_string(), "<alice@example.org>");
    let rcpts: Vec<String> = got
        .envelope
        .rcpts
        .iter()
        .map(|r| r.path.to_string())
        .collect();
    assert_eq!(rcpts, ["<bob@example.net>", "<carol@example.net>"]);
    assert_eq!(
        got.envelope.params.body,
        Some(tern_proto::BodyType::EightBitMime)
    );
    let (received, rest) = after_received(&got.body);
    assert_eq!(rest, BODY);
    let received = String::from_utf8_lossy(received);
    assert!(received.contains("by tern.test"), "{received}");
    // One transaction for both recipients, and nothing more afterwards.
    thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.state.transactions.load(Ordering::SeqCst), 1);
}

#[test]
fn temporary_failure_is_retried_and_delivered_once() {
    let state = Arc::new(SinkState::default());
    state.fail_next.store(1, Ordering::SeqCst);
    let sink = Sink::start_with(0, &["example.net"], Arc::clone(&state));
    let dir = Dir::new();
    let tern = dir.start_routed(&route_to(sink.addr.port()));
    tern.submit(
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<bob@example.net>"],
        WIRE,
    );
    assert!(
        wait_for(Duration::from_secs(15), || sink.count() == 1),
        "not delivered after the retry"
    );
    assert!(
        state.transactions.load(Ordering::SeqCst) == 2,
        "one 451, one 250"
    );
    thread::sleep(Duration::from_secs(3));
    assert_eq!(sink.count(), 1, "delivered exactly once");
    assert_eq!(state.transactions.load(Ordering::SeqCst), 2);
}

#[test]
fn permanent_failure_bounces_to_the_sender() {
    // The sink takes example.org (the sender's domain) but refuses relaying to
    // nowhere.example with 554 5.7.1.
    let sink = Sink::start(0, &["example.org"]);
    let dir = Dir::new();
    let tern = dir.start_routed(&route_to(sink.addr.port()));
    tern.submit(
        "MAIL FROM:<alice@example.org> ENVID=env42",
        &["RCPT TO:<nobody@nowhere.example> ORCPT=rfc822;orig@nowhere.example"],
        WIRE,
    );
    assert!(
        wait_for(Duration::from_secs(10), || sink.count() == 1),
        "no bounce"
    );
    let bounce = sink.messages().remove(0);
    assert_eq!(bounce.envelope.from, ReversePath::Null);
    let to: Vec<String> = bounce
        .envelope
        .rcpts
        .iter()
        .map(|r| r.path.to_string())
        .collect();
    assert_eq!(to, ["<alice@example.org>"]);
    let text = String::from_utf8_lossy(&bounce.body).into_owned();
    for want in [
        "To: <alice@example.org>\r\n",
        "Content-Type: multipart/report; report-type=delivery-status;",
        "Content-Type: message/delivery-status\r\n",
        "Reporting-MTA: dns; tern.test\r\n",
        "Original-Envelope-Id: env42\r\n",
        "Arrival-Date: ",
        "Final-Recipient: rfc822; nobody@nowhere.example\r\n",
        "Original-Recipient: rfc822; orig@nowhere.example\r\n",
        "Action: failed\r\n",
        "Status: 5.7.1\r\n",
        "Remote-MTA: dns; 127.0.0.1\r\n",
        "Diagnostic-Code: smtp; 554 5.7.1 ",
        "Content-Type: message/rfc822\r\n",
        "h\u{e9}llo 8-bit",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // The original came back whole, after its Received header.
    assert!(bounce.body.windows(BODY.len()).any(|w| w == BODY));
    // The bounce itself was delivered once; nothing else arrives.
    thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.count(), 1);
}

#[test]
fn sink_down_defers_then_delivers_when_it_starts() {
    let port = free_port();
    let dir = Dir::new();
    let tern = dir.start_routed(&route_to(port));
    tern.submit(
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<bob@example.net>"],
        WIRE,
    );
    thread::sleep(Duration::from_millis(1500));
    let sink = Sink::start(port, &["example.net"]);
    assert!(
        wait_for(Duration::from_secs(15), || sink.count() == 1),
        "not delivered after the sink came up"
    );
    let got = sink.messages();
    let (_, rest) = after_received(&got[0].body);
    assert_eq!(rest, BODY);
}

#[test]
fn held_domain_stays_queued_and_listed() {
    let sink = Sink::start(0, &["example.net", "hold.example"]);
    let dir = Dir::new();
    let mut tern = dir.start_routed(&format!(
        "[[route]]\ndomains = [\"hold.example\"]\nhold = true\n\n{}",
        route_to(sink.addr.port())
    ));
    tern.submit(
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<x@hold.example>", "RCPT TO:<bob@example.net>"],
        WIRE,
    );
    assert!(wait_for(Duration::from_secs(10), || sink.count() == 1));
    thread::sleep(Duration::from_millis(500));
    tern.kill9();
    let got = sink.messages();
    let rcpts: Vec<String> = got[0]
        .envelope
        .rcpts
        .iter()
        .map(|r| r.path.to_string())
        .collect();
    assert_eq!(
        rcpts,
        ["<bob@example.net>"],
        "only the routed recipient went out"
    );
    let list = tern.queue_list_text();
    assert!(
        list.contains("to <x@hold.example> (deferred), <bob@example.net> (delivered)"),
        "{list}"
    );
    assert!(list.ends_with("1 message(s) queued\n"), "{list}");
}

#[test]
fn reject_route_refuses_at_rcpt() {
    let dir = Dir::new();
    let tern = dir.start_routed(
        "[[route]]\ndomains = [\"*.blocked.example\"]\nreject = \"550 5.1.2 Not served here\"\n",
    );
    let mut c = tern.client();
    c.cmd_class("EHLO client.test", "2");
    c.cmd_class("MAIL FROM:<alice@example.org>", "2");
    let r = c.cmd_class("RCPT TO:<x@a.blocked.example>", "5");
    assert_eq!(r, "550 5.1.2 Not served here\r\n");
    c.cmd_class("RCPT TO:<x@blocked.example>", "2");
    c.quit();
}

#[test]
fn delay_notice_once_for_notify_delay() {
    // example.net's hop always says 451; the sender's domain goes to a second sink.
    let stuck = Arc::new(SinkState::default());
    stuck.fail_next.store(usize::MAX, Ordering::SeqCst);
    let hop = Sink::start_with(0, &["example.net"], Arc::clone(&stuck));
    let home = Sink::start(0, &["example.org"]);
    let dir = Dir::new();
    let tern = dir.start_routed(&format!(
        "[delivery]\nretry_initial = \"1s\"\nretry_max = \"1s\"\ndelay_warning = \"2s\"\n\n\
         [[route]]\ndomains = [\"example.net\"]\nsmarthost = [\"127.0.0.1:{}\"]\n\n\
         [[route]]\ndomains = [\"example.org\"]\nsmarthost = [\"127.0.0.1:{}\"]\n",
        hop.addr.port(),
        home.addr.port()
    ));
    tern.submit(
        "MAIL FROM:<alice@example.org>",
        &[
            "RCPT TO:<bob@example.net> NOTIFY=DELAY,FAILURE",
            "RCPT TO:<carol@example.net>",
        ],
        WIRE,
    );
    assert!(
        wait_for(Duration::from_secs(10), || home.count() == 1),
        "no delay notice"
    );
    // Attempts go on every second; no second notice comes.
    thread::sleep(Duration::from_secs(3));
    assert!(stuck.transactions.load(Ordering::SeqCst) >= 4);
    assert_eq!(home.count(), 1);
    let notice = home.messages().remove(0);
    assert_eq!(notice.envelope.from, ReversePath::Null);
    let text = String::from_utf8_lossy(&notice.body).into_owned();
    assert!(
        text.contains("Subject: Delayed Mail (still being retried)\r\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "Final-Recipient: rfc822; bob@example.net\r\nAction: delayed\r\nStatus: 4.3.0\r\n"
        ),
        "{text}"
    );
    assert!(
        !text.contains("carol@example.net\r\nAction"),
        "carol did not ask: {text}"
    );
}

#[test]
fn connections_are_reused_within_the_per_host_limit() {
    let sink = Sink::start(0, &["example.net"]);
    let dir = Dir::new();
    let tern = dir.start_routed(&format!(
        "[delivery]\nidle_timeout = \"5s\"\nmax_connections_per_host = 1\n\n\
         [[route]]\ndomains = [\"*\"]\nsmarthost = [\"127.0.0.1:{}\"]\n",
        sink.addr.port()
    ));
    let mut c = tern.client();
    c.cmd_class("EHLO client.test", "2");
    for _ in 0..5 {
        c.send_transaction(
            "MAIL FROM:<alice@example.org>",
            &["RCPT TO:<bob@example.net>"],
            WIRE,
        );
    }
    c.quit();
    assert!(wait_for(Duration::from_secs(10), || sink.count() == 5));
    assert_eq!(
        sink.state.connections.load(Ordering::SeqCst),
        1,
        "one cached connection"
    );
}

#[test]
fn one_connection_per_pending_job_not_per_limit() {
    // Regression: with one message queued, the worker used to open as many connections as
    // max_connections_per_host allowed, nine of them idle.
    let sink = Sink::start(0, &["example.net"]);
    let dir = Dir::new();
    let tern = dir.start_routed(&route_to(sink.addr.port()));
    tern.submit(
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<bob@example.net>"],
        WIRE,
    );
    assert!(wait_for(Duration::from_secs(10), || sink.count() == 1));
    thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.state.connections.load(Ordering::SeqCst), 1);
}

#[test]
fn relayed_notice_when_the_hop_lacks_dsn() {
    let state = Arc::new(SinkState::default());
    state.no_dsn.store(true, Ordering::SeqCst);
    let sink = Sink::start_with(0, &["example.net", "example.org"], Arc::clone(&state));
    let dir = Dir::new();
    let tern = dir.start_routed(&route_to(sink.addr.port()));
    tern.submit(
        "MAIL FROM:<alice@example.org> ENVID=e1",
        &[
            "RCPT TO:<bob@example.net> NOTIFY=SUCCESS",
            "RCPT TO:<carol@example.net>",
        ],
        WIRE,
    );
    assert!(
        wait_for(Duration::from_secs(10), || sink.count() == 2),
        "got {}",
        sink.count()
    );
    let got = sink.messages();
    // The hop does not offer DSN, so NOTIFY is not passed on; tern reports instead.
    assert!(got[0]
        .envelope
        .rcpts
        .iter()
        .all(|r| r.params.notify.is_none()));
    let notice = &got[1];
    assert_eq!(notice.envelope.from, ReversePath::Null);
    let text = String::from_utf8_lossy(&notice.body).into_owned();
    assert!(
        text.contains("Subject: Relayed Mail Delivery Report\r\n"),
        "{text}"
    );
    assert!(
        text.contains("Final-Recipient: rfc822; bob@example.net\r\nAction: relayed\r\nStatus: 2.0.0\r\nRemote-MTA: dns; 127.0.0.1\r\n"),
        "{text}"
    );
    assert!(!text.contains("carol@example.net\r\nAction"), "{text}");
    thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.count(), 2);
}

/// Several messages over one pipelining connection (two transactions in flight, BDAT to
/// this sink), every other one refused at RCPT: each accepted message arrives with its own
/// sender and recipient, and each refused one bounces. (A refused BDAT transaction leaves
/// its MAIL in place on the server; without the RSET that closes it, the next message's
/// RCPT would join the previous sender's transaction.)
#[test]
fn refusals_inside_a_pipelined_window_do_not_mix_envelopes() {
    let sink = Sink::start(0, &["example.org"]);
    let dir = Dir::new();
    let tern = dir.start_routed(&format!(
        "[delivery]\nmax_connections_per_host = 1\n\n\
         [[route]]\ndomains = [\"*\"]\nsmarthost = [\"127.0.0.1:{}\"]\n",
        sink.addr.port()
    ));
    let mut c = tern.client();
    c.cmd_class("EHLO client.test", "2");
    for i in 0..6 {
        let rcpt = if i % 2 == 0 {
            format!("RCPT TO:<nobody{i}@nowhere.example>")
        } else {
            format!("RCPT TO:<r{i}@example.org>")
        };
        c.send_transaction(
            &format!("MAIL FROM:<s{i}@example.org>"),
            &[rcpt.as_str()],
            format!("Subject: n{i}\r\n\r\nbody {i}\r\n").as_bytes(),
        );
    }
    c.quit();
    assert!(
        wait_for(Duration::from_secs(15), || sink.count() == 6),
        "got {} of 3 messages and 3 bounces",
        sink.count()
    );
    let mut relayed = Vec::new();
    let mut bounced = Vec::new();
    for m in sink.messages() {
        let rcpts: Vec<String> = m
            .envelope
            .rcpts
            .iter()
            .map(|r| r.path.to_string())
            .collect();
        match &m.envelope.from {
            ReversePath::Null => bounced.extend(rcpts),
            from => relayed.push((from.to_string(), rcpts)),
        }
    }
    relayed.sort();
    bounced.sort();
    let want: Vec<(String, Vec<String>)> = [1, 3, 5]
        .iter()
        .map(|i| {
            (
                format!("<s{i}@example.org>"),
                vec![format!("<r{i}@example.org>")],
            )
        })
        .collect();
    assert_eq!(relayed, want);
    assert_eq!(
        bounced,
        ["<s0@example.org>", "<s2@example.org>", "<s4@example.org>"]
    );
}
