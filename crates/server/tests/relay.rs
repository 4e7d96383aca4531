//! Relay control: a client outside `trusted_networks` may only send to `accept_domains`;
//! a trusted one may send anywhere. The untrusted client is a socket bound to 127.0.0.3
//! before it connects (every 127/8 address is loopback on Linux).

mod common;

use std::net::IpAddr;

use common::{Client, Dir, GREETING};

const CONFIG: &str =
    "[relay]\ntrusted_networks = [\"127.0.0.1/32\"]\naccept_domains = [\"ours.test\"]\n";

#[test]
fn untrusted_client_may_only_send_to_our_domains() {
    let dir = Dir::new();
    let tern = dir.start(1, CONFIG);
    let mut c = Client::connect_from(IpAddr::from([127, 0, 0, 3]), tern.addr());
    c.expect(GREETING);
    c.ehlo();
    c.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
    c.cmd(
        "RCPT TO:<x@other.test>",
        "554 5.7.1 Relay access denied\r\n",
    );
    // A domain that merely ends in ours is not ours.
    c.cmd(
        "RCPT TO:<x@notours.test>",
        "554 5.7.1 Relay access denied\r\n",
    );
    c.cmd("RCPT TO:<x@ours.test>", "250 2.1.5 Recipient ok\r\n");
    // Domains compare without regard to case.
    c.cmd("RCPT TO:<y@OURS.Test>", "250 2.1.5 Recipient ok\r\n");
    c.cmd("DATA", "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n");
    c.send("Subject: in\r\n\r\nhi\r\n.\r\n");
    let id = common::queued_id(&c.reply());
    c.cmd("QUIT", "221 2.0.0 mx.test closing connection\r\n");

    let listed = tern.queue_list();
    assert_eq!(listed.len(), 1);
    // Only the accepted recipients are in the envelope.
    assert_eq!(
        listed[0].to,
        "<x@ours.test> (queued), <y@OURS.Test> (queued)"
    );
    let shown = tern.queue_show(&id);
    assert!(
        shown.header.contains("\nclient: client.test [127.0.0.3]\n"),
        "{}",
        shown.header
    );
    // The Received header names the real client address.
    let stored = String::from_utf8_lossy(&shown.stored);
    assert!(
        stored.starts_with("Received: from client.test ([127.0.0.3])"),
        "{stored}"
    );
}

#[test]
fn trusted_client_may_relay_anywhere() {
    let dir = Dir::new();
    let tern = dir.start(1, CONFIG);
    let mut c = tern.client();
    c.ehlo();
    c.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
    c.cmd("RCPT TO:<x@other.test>", "250 2.1.5 Recipient ok\r\n");
    c.cmd("RCPT TO:<x@ours.test>", "250 2.1.5 Recipient ok\r\n");
    c.cmd("RSET", "250 2.0.0 Reset state\r\n");
    // The untrusted neighbour at the same moment is still refused: the decision is per
    // connection, by its own address.
    let mut u = Client::connect_from(IpAddr::from([127, 0, 0, 3]), tern.addr());
    u.expect(GREETING);
    u.ehlo();
    u.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
    u.cmd(
        "RCPT TO:<x@other.test>",
        "554 5.7.1 Relay access denied\r\n",
    );
    // With no accepted recipient there is nothing to send.
    u.cmd("DATA", "503 5.5.1 Need RCPT before DATA\r\n");
}
