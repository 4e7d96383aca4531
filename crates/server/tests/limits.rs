//! Every configured limit, seen from a client: the exact reply, what happens to the
//! session afterwards, and that nothing refused reaches the queue.

mod common;

use std::net::IpAddr;

use common::{queued_id, Client, Dir, GREETING};

const TOO_MANY_CONNECTIONS: &str = "421 4.7.0 Too many connections, try again later\r\n";

#[test]
fn command_line_too_long() {
    let dir = Dir::new();
    let tern = dir.start(1, "");
    let mut c = tern.client();
    c.ehlo();
    // Over 512 octets but arriving whole: refused, the session goes on.
    c.cmd(
        &format!("NOOP {}", "x".repeat(600)),
        "500 5.5.2 Line too long\r\n",
    );
    c.cmd("NOOP", "250 2.0.0 Ok\r\n");
    // Far over any limit, in pieces: dropped as it arrives, one reply at its end.
    c.send(format!("MAIL FROM:<{}", "a".repeat(4000)));
    c.send("b".repeat(4000));
    c.send("@x.test>\r\n");
    c.expect("500 5.5.2 Line too long\r\n");
    // No transaction was started by the dropped MAIL.
    c.cmd("RCPT TO:<b@y.test>", "503 5.5.1 Need MAIL before RCPT\r\n");
    c.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
    c.cmd("QUIT", "221 2.0.0 mx.test closing connection\r\n");
}

#[test]
fn too_many_recipients() {
    let dir = Dir::new();
    let tern = dir.start(1, "[limits]\nmax_recipients = 100\n");
    let mut c = tern.client();
    c.ehlo();
    let mut batch = String::from("MAIL FROM:<a@x.test>\r\n");
    for i in 0..101 {
        batch.push_str(&format!("RCPT TO:<r{i}@y.test>\r\n"));
    }
    c.send(&batch);
    let mut want = String::from("250 2.1.0 Sender ok\r\n");
    want.push_str(&"250 2.1.5 Recipient ok\r\n".repeat(100));
    want.push_str("452 4.5.3 Too many recipients\r\n");
    assert_eq!(c.replies(102), want);
    // The transaction goes on with the first 100.
    c.cmd("DATA", "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n");
    c.send("Subject: many\r\n\r\nhi\r\n.\r\n");
    let id = queued_id(&c.reply());
    let listed = tern.queue_list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    let rcpts: Vec<&str> = listed[0].to.split(", ").collect();
    assert_eq!(rcpts.len(), 100);
    assert_eq!(rcpts[0], "<r0@y.test> (queued)");
    assert_eq!(rcpts[99], "<r99@y.test> (queued)");
}

#[test]
fn message_too_big() {
    let dir = Dir::new();
    let tern = dir.start(1, "[limits]\nmax_message_size = \"64KiB\"\n");
    let mut c = tern.client();
    c.ehlo();
    c.cmd(
        "MAIL FROM:<a@x.test> SIZE=65537",
        "552 5.3.4 Message size exceeds fixed limit of 65536 bytes\r\n",
    );
    // Exactly the limit is allowed, both announced and sent.
    c.cmd("MAIL FROM:<a@x.test> SIZE=65536", "250 2.1.0 Sender ok\r\n");
    c.cmd("RCPT TO:<b@y.test>", "250 2.1.5 Recipient ok\r\n");
    c.cmd("DATA", "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n");
    let fits = body_of_len(65536);
    c.send(&fits);
    c.send(".\r\n");
    let id = queued_id(&c.reply());
    // One byte more, without SIZE: refused after the end of data, and the session goes on.
    c.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
    c.cmd("RCPT TO:<b@y.test>", "250 2.1.5 Recipient ok\r\n");
    c.cmd("DATA", "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n");
    c.send(body_of_len(65537));
    c.send(".\r\n");
    c.expect("552 5.3.4 Message size exceeds fixed maximum message size\r\n");
    // And over BDAT, in two chunks that only together pass the limit.
    c.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
    c.cmd("RCPT TO:<b@y.test>", "250 2.1.5 Recipient ok\r\n");
    c.send(format!("BDAT 40000\r\n{}", "b".repeat(40000)));
    c.expect("250 2.0.0 40000 octets received\r\n");
    c.send(format!("BDAT 40000 LAST\r\n{}", "c".repeat(40000)));
    c.expect("552 5.3.4 Message size exceeds fixed maximum message size\r\n");
    c.cmd("NOOP", "250 2.0.0 Ok\r\n");
    c.cmd("QUIT", "221 2.0.0 mx.test closing connection\r\n");

    let listed = tern.queue_list();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(tern.queue_show(&id).message(), fits.as_slice());
}

/// CRLF lines of 'a's, `len` bytes in all.
fn body_of_len(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        let n = (len - v.len()).min(1000);
        if n >= 3 {
            v.extend(std::iter::repeat_n(b'a', n - 2));
            v.extend_from_slice(b"\r\n");
        } else {
            // The last one or two bytes: a short line still ending in LF.
            v.extend_from_slice(&b"\r\n"[2 - n..]);
        }
    }
    assert_eq!(v.len(), len);
    assert!(v.ends_with(b"\n"));
    v
}

#[test]
fn bare_newline_rejected_by_default() {
    let dir = Dir::new();
    let tern = dir.start(1, "");
    let mut c = tern.client();
    c.ehlo();
    for body in [
        "Subject: x\r\n\r\nbare\nlf\r\n",
        "Subject: x\r\n\r\nbare\rcr\r\n",
    ] {
        c.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
        c.cmd("RCPT TO:<b@y.test>", "250 2.1.5 Recipient ok\r\n");
        c.cmd("DATA", "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n");
        c.send(format!("{body}.\r\n"));
        c.expect("550 5.5.2 Message contains bare CR or LF, which is not allowed\r\n");
    }
    // The smuggling shape: a bare-LF "end of data" must neither end the message nor be
    // stored; the real end comes later and the message is still refused.
    c.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
    c.cmd("RCPT TO:<b@y.test>", "250 2.1.5 Recipient ok\r\n");
    c.cmd("DATA", "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n");
    c.send("hi\r\n\n.\nMAIL FROM:<evil@x.test>\r\n.\r\n");
    c.expect("550 5.5.2 Message contains bare CR or LF, which is not allowed\r\n");
    c.cmd("NOOP", "250 2.0.0 Ok\r\n");
    assert_eq!(tern.queue_list(), vec![]);
}

#[test]
fn bare_newline_normalized() {
    let dir = Dir::new();
    let tern = dir.start(1, "[limits]\nbare_newline = \"normalize\"\n");
    let mut c = tern.client();
    c.ehlo();
    let id = c.send_message(
        "a@x.test",
        &["b@y.test"],
        b"Subject: x\r\n\r\nbare\nlf\rcr\r\n",
    );
    c.cmd("QUIT", "221 2.0.0 mx.test closing connection\r\n");
    assert_eq!(
        tern.queue_show(&id).message(),
        b"Subject: x\r\n\r\nbare\r\nlf\r\ncr\r\n"
    );
}

#[test]
fn too_many_bad_commands() {
    let dir = Dir::new();
    let tern = dir.start(1, "[limits]\nmax_bad_commands = 3\n");
    let mut c = tern.client();
    c.cmd("FOO", "500 5.5.1 Command unrecognized\r\n");
    // Good commands in between do not reset the count.
    c.cmd("NOOP", "250 2.0.0 Ok\r\n");
    c.cmd("MAIL FROM:<a@x.test>", "503 5.5.1 Send HELO/EHLO first\r\n");
    c.send("BAR\r\n");
    assert_eq!(
        c.replies(2),
        "500 5.5.1 Command unrecognized\r\n421 4.7.0 Too many errors, closing connection\r\n"
    );
    c.expect_closed();
    // The server keeps serving others.
    let mut d = tern.client();
    d.cmd("NOOP", "250 2.0.0 Ok\r\n");
}

#[test]
fn connections_per_ip() {
    let dir = Dir::new();
    let tern = dir.start(1, "[limits]\nmax_connections_per_ip = 2\n");
    let mut a = tern.client();
    let _b = tern.client();
    let mut third = Client::connect(tern.addr());
    third.expect(TOO_MANY_CONNECTIONS);
    third.expect_closed();
    // Another address is not counted with 127.0.0.1.
    let other: IpAddr = [127, 0, 0, 2].into();
    let mut c = Client::connect_from(other, tern.addr());
    c.expect(GREETING);
    // When one closes, its place is free again.
    a.cmd("QUIT", "221 2.0.0 mx.test closing connection\r\n");
    a.expect_closed();
    let mut again = Client::connect(tern.addr());
    again.expect(GREETING);
    again.cmd("NOOP", "250 2.0.0 Ok\r\n");
}

#[test]
fn connections_per_core() {
    let dir = Dir::new();
    let tern = dir.start(1, "[limits]\nmax_connections_per_core = 2\n");
    // Each from its own address, so only the per-core limit can refuse.
    let ip = |n: u8| IpAddr::from([127, 0, 0, n]);
    let mut a = Client::connect_from(ip(11), tern.addr());
    a.expect(GREETING);
    let mut b = Client::connect_from(ip(12), tern.addr());
    b.expect(GREETING);
    let mut third = Client::connect_from(ip(13), tern.addr());
    third.expect(TOO_MANY_CONNECTIONS);
    third.expect_closed();
    b.cmd("QUIT", "221 2.0.0 mx.test closing connection\r\n");
    b.expect_closed();
    let mut again = Client::connect_from(ip(13), tern.addr());
    again.expect(GREETING);
    a.cmd("NOOP", "250 2.0.0 Ok\r\n");
}

#[test]
fn connections_per_ip_count_across_cores() {
    // SO_REUSEPORT spreads one client's connections over both cores; the limit is still
    // the total.
    let dir = Dir::new();
    let tern = dir.start(2, "[limits]\nmax_connections_per_ip = 3\n");
    let open: Vec<Client> = (0..3).map(|_| tern.client()).collect();
    for _ in 0..4 {
        let mut extra = Client::connect(tern.addr());
        extra.expect(TOO_MANY_CONNECTIONS);
        extra.expect_closed();
    }
    drop(open);
}
