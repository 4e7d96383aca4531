//! Graceful shutdown on SIGTERM: idle sessions are told `421 4.3.2` at once, a session in
//! the middle of a transaction may finish it (and gets 421 at its next MAIL), and the
//! process exits 0 with the finished message safely queued.

mod common;

use std::time::{Duration, Instant};

use common::{queued_id, Dir, EXIT_TIMEOUT};

const SHUTTING_DOWN: &str = "421 4.3.2 Service shutting down, closing connection\r\n";

#[test]
fn sigterm_drains_sessions_and_exits_zero() {
    let dir = Dir::new();
    let mut tern = dir.start(1, "");
    let mut idle = tern.client();
    idle.ehlo();
    let mut busy = tern.client();
    busy.ehlo();
    busy.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
    busy.cmd("RCPT TO:<b@y.test>", "250 2.1.5 Recipient ok\r\n");

    tern.terminate();
    let signalled = Instant::now();
    idle.expect(SHUTTING_DOWN);
    idle.expect_closed();
    // The idle session was told at once, not at its (5 minute) command timeout.
    assert!(signalled.elapsed() < Duration::from_secs(10));

    // The transaction in flight is finished and acknowledged...
    busy.cmd("DATA", "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n");
    let message = b"Subject: last one\r\n\r\nsent during shutdown\r\n";
    busy.send(message);
    busy.send(".\r\n");
    let id = queued_id(&busy.reply());
    // ...but no new one is started.
    busy.cmd("MAIL FROM:<a@x.test>", SHUTTING_DOWN);
    busy.expect_closed();

    let status = tern.wait_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0), "stderr:\n{}", tern.stderr());
    assert!(tern.stderr().contains("tern: stopped"), "{}", tern.stderr());

    let listed = tern.queue_list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(tern.queue_show(&id).message(), message);
}

#[test]
fn sigterm_with_no_sessions_exits_at_once() {
    let dir = Dir::new();
    let mut tern = dir.start(2, "");
    tern.terminate();
    let start = Instant::now();
    let status = tern.wait_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0), "stderr:\n{}", tern.stderr());
    // Nothing to drain: no waiting out the grace period.
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_session_that_never_finishes_does_not_hold_shutdown_forever() {
    let dir = Dir::new();
    let mut tern = dir.start(1, "");
    let mut stuck = tern.client();
    stuck.ehlo();
    stuck.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
    // And one stalled in the middle of DATA, whose own timeout (3 min) is longer still.
    let mut in_data = tern.client();
    in_data.ehlo();
    in_data.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
    in_data.cmd("RCPT TO:<b@y.test>", "250 2.1.5 Recipient ok\r\n");
    in_data.cmd("DATA", "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n");
    in_data.send("Subject: never ends\r\n");
    tern.terminate();
    // The client says nothing more. The drain grace is 10 s; the process must end soon
    // after it, and the session must be told why it is closed.
    let status = tern.wait_exit(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(0), "stderr:\n{}", tern.stderr());
    // It is cut off at the end of the grace with the timeout reply, not left to find a
    // closed socket when the process exits.
    for c in [&mut stuck, &mut in_data] {
        c.expect("421 4.4.2 Timeout exceeded, closing connection\r\n");
        c.expect_closed();
    }
    assert_eq!(tern.queue_list(), vec![]);
}
