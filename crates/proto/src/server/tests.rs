//! Session tests: exact bytes on the wire for every sequencing rule, limit and sub-state.

use std::rc::Rc;

use super::*;
use crate::body::BareNewline;
use crate::reply;

fn config() -> SessionConfig {
    let mut c = SessionConfig::new("mx.test");
    c.max_message_size = 100;
    c.max_recipients = 2;
    c.max_bad_commands = 5;
    c.accept_domains = vec!["ours.test".into()];
    c
}

fn session_with(c: SessionConfig, relay: bool) -> Session {
    let mut s = Session::new(
        Rc::new(c),
        ClientInfo {
            relay_allowed: relay,
            tls: false,
        },
    );
    s.greet();
    s
}

fn session() -> Session {
    session_with(config(), true)
}

/// Feeds `input` whole, answers store actions with the id "ID1", and returns the output
/// produced (as text) and the last action.
fn talk(s: &mut Session, input: &[u8]) -> (String, Action) {
    let mut pos = 0;
    let action = loop {
        let (used, action) = s.input(&input[pos..]);
        pos += used;
        match action {
            Action::StoreMessage => {
                assert!(s.take_message().is_some());
                s.stored(Ok("ID1"));
            }
            a => break a,
        }
    };
    let out = String::from_utf8_lossy(s.output()).into_owned();
    s.consume_output(s.output().len());
    (out, action)
}

fn after_greeting(s: &mut Session) {
    let n = s.output().len();
    assert_eq!(s.output(), b"220 mx.test ESMTP tern\r\n");
    s.consume_output(n);
}

fn ehlo(s: &mut Session) {
    after_greeting(s);
    let (out, _) = talk(s, b"EHLO c.test\r\n");
    assert!(out.starts_with("250-mx.test greets c.test\r\n"), "{out}");
}

#[test]
fn ehlo_advertises_the_default_extensions() {
    let mut s = session();
    after_greeting(&mut s);
    let (out, a) = talk(&mut s, b"EHLO c.test\r\n");
    assert_eq!(
        out,
        "250-mx.test greets c.test\r\n250-PIPELINING\r\n250-SIZE 100\r\n250-8BITMIME\r\n\
250-CHUNKING\r\n250-BINARYMIME\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 HELP\r\n"
    );
    assert_eq!(a, Action::NeedInput);
}

#[test]
fn helo_reply_and_no_esmtp_params() {
    let mut s = session();
    after_greeting(&mut s);
    let (out, _) = talk(&mut s, b"HELO c.test\r\nMAIL FROM:<a@x.test> SIZE=10\r\n");
    assert_eq!(
        out,
        "250 mx.test Hello c.test\r\n555 5.5.4 Unsupported parameter\r\n"
    );
}

#[test]
fn full_pipelined_transaction() {
    let mut s = session();
    ehlo(&mut s);
    let (out, a) = talk(
        &mut s,
        b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n",
    );
    assert_eq!(
        out,
        "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n"
    );
    assert_eq!(a, Action::NeedInput);
    let (used, a) = s.input(b"Subject: t\r\n\r\n..dot\r\n.\r\nQUIT\r\n");
    assert_eq!((used, &a), (24, &Action::StoreMessage));
    let m = s.take_message().unwrap();
    assert_eq!(m.body, b"Subject: t\r\n\r\n.dot\r\n");
    assert_eq!(m.envelope.rcpts.len(), 1);
    assert_eq!(m.envelope.from.to_string(), "<a@x.test>");
    // Nothing more is consumed until the message is stored.
    assert_eq!(s.input(b"QUIT\r\n"), (0, Action::NeedInput));
    s.stored(Ok("ID9"));
    let (out, a) = talk(&mut s, b"QUIT\r\n");
    assert_eq!(
        out,
        "250 2.0.0 Ok: queued as ID9\r\n221 2.0.0 mx.test closing connection\r\n"
    );
    assert_eq!(a, Action::Close);
}

#[test]
fn store_failures_never_say_250() {
    for (err, want) in [
        (
            StoreError::DiskFull,
            "452 4.3.1 Insufficient system storage, try again later\r\n",
        ),
        (
            StoreError::Io,
            "451 4.3.0 Local error in processing, try again later\r\n",
        ),
        (
            StoreError::ShuttingDown,
            "421 4.3.2 Service shutting down, closing connection\r\n",
        ),
    ] {
        let mut s = session();
        ehlo(&mut s);
        let (_, a) = talk(
            &mut s,
            b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n",
        );
        assert_eq!(a, Action::NeedInput);
        s.consume_output(s.output().len());
        assert_eq!(s.input(b"x\r\n.\r\n").1, Action::StoreMessage);
        s.stored(Err(err));
        assert_eq!(String::from_utf8_lossy(s.output()), want);
    }
}

#[test]
fn refuse_message_sends_the_given_reply_and_never_250() {
    let cases: &[(reply::Reply, &str, Option<Action>)] = &[
        (
            reply::Reply::new(550, Some(reply::Enhanced(5, 7, 1)), "No thanks"),
            "550 5.7.1 No thanks\r\n",
            None,
        ),
        (
            reply::Reply::new(451, Some(reply::Enhanced(4, 0, 0)), "Later"),
            "451 4.0.0 Later\r\n",
            None,
        ),
        (
            reply::Reply::new(250, Some(reply::Enhanced(2, 0, 0)), "Sneaky"),
            "451 4.3.0 Local error in processing, try again later\r\n",
            None,
        ),
        (
            reply::Reply::new(421, Some(reply::Enhanced(4, 3, 2)), "Bye"),
            "421 4.3.2 Bye\r\n",
            Some(Action::Close),
        ),
    ];
    for (r, want, action) in cases {
        let mut s = session();
        ehlo(&mut s);
        let (_, a) = talk(
            &mut s,
            b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n",
        );
        assert_eq!(a, Action::NeedInput);
        s.consume_output(s.output().len());
        assert_eq!(s.input(b"x\r\n.\r\nNOOP\r\n").1, Action::StoreMessage);
        assert_eq!(&s.refuse_message(r), action);
        assert_eq!(String::from_utf8_lossy(s.output()), *want);
        s.consume_output(s.output().len());
        if action.is_none() {
            // Back in the command state: the pipelined NOOP is answered.
            let (out, _) = talk(&mut s, b"NOOP\r\n");
            assert_eq!(out, "250 2.0.0 Ok\r\n");
        } else {
            assert!(s.is_closed());
        }
    }
}

#[test]
fn sequencing_errors() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"MAIL FROM:<a@x.test>\r\n",
            "503 5.5.1 Send HELO/EHLO first\r\n",
        ),
        (
            b"EHLO c\r\nRCPT TO:<b@y.test>\r\n",
            "503 5.5.1 Need MAIL before RCPT\r\n",
        ),
        (b"EHLO c\r\nDATA\r\n", "503 5.5.1 Need MAIL before RCPT\r\n"),
        (
            b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nDATA\r\n",
            "503 5.5.1 Need RCPT before DATA\r\n",
        ),
        (
            b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nMAIL FROM:<a@x.test>\r\n",
            "503 5.5.1 Sender already specified\r\n",
        ),
        (
            b"EHLO c\r\nBDAT 3\r\nabc",
            "503 5.5.1 Need MAIL before RCPT\r\n",
        ),
        (
            b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nBDAT 3\r\nabcDATA\r\n",
            "503 5.5.1 DATA not allowed in a BDAT transaction\r\n",
        ),
        (
            b"EHLO c\r\nMAIL FROM:<a@x.test> BODY=BINARYMIME\r\nRCPT TO:<b@y.test>\r\nDATA\r\n",
            "503 5.5.1 DATA not allowed in a BDAT transaction\r\n",
        ),
    ];
    for (input, last) in cases {
        let mut s = session();
        after_greeting(&mut s);
        let (out, _) = talk(&mut s, input);
        assert!(
            out.ends_with(last),
            "{}: {out}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn simple_commands() {
    let mut c = config();
    c.max_bad_commands = 20;
    let mut s = session_with(c, true);
    ehlo(&mut s);
    let (out, _) = talk(&mut s, b"NOOP\r\nRSET\r\nVRFY bob\r\nEXPN list\r\nHELP\r\nTURN\r\nATRN\r\nETRN x.test\r\nSTARTTLS\r\nAUTH PLAIN\r\nFOO\r\n");
    assert_eq!(
        out,
        "250 2.0.0 Ok\r\n250 2.0.0 Reset state\r\n\
252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n\
502 5.5.1 EXPN not available\r\n\
214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP\r\n214 2.0.0 See RFC 5321\r\n\
502 5.5.1 TURN not implemented\r\n502 5.5.1 Command not implemented\r\n\
502 5.5.1 Command not implemented\r\n502 5.5.1 Command not implemented\r\n\
502 5.5.1 Command not implemented\r\n500 5.5.1 Command unrecognized\r\n"
    );
}

#[test]
fn too_many_bad_commands_closes() {
    let mut s = session();
    after_greeting(&mut s);
    let (out, a) = talk(&mut s, b"X\r\nX\r\nX\r\nX\r\nX\r\nX\r\n");
    assert_eq!(out.matches("500 5.5.1").count(), 5);
    assert!(out.ends_with("421 4.7.0 Too many errors, closing connection\r\n"));
    assert_eq!(a, Action::Close);
    assert!(s.is_closed());
}

#[test]
fn line_too_long_is_discarded_to_its_end() {
    let mut s = session();
    ehlo(&mut s);
    let mut long = b"NOOP ".to_vec();
    long.extend(std::iter::repeat_n(b'x', 600));
    long.extend_from_slice(b"\r\nNOOP\r\n");
    let (out, _) = talk(&mut s, &long);
    assert_eq!(out, "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");

    // A line longer than any limit, arriving in pieces, is dropped as it comes.
    let mut s = session();
    ehlo(&mut s);
    let chunk = vec![b'y'; 4000];
    let (used, a) = s.input(&chunk);
    assert_eq!((used, a), (4000, Action::NeedInput));
    let (used, _) = s.input(&chunk);
    assert_eq!(used, 4000);
    let (out, _) = talk(&mut s, b"yyy\r\nNOOP\r\n");
    assert_eq!(out, "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
}

#[test]
fn mail_size_and_body_size_limits() {
    let mut s = session();
    ehlo(&mut s);
    let (out, _) = talk(&mut s, b"MAIL FROM:<a@x.test> SIZE=101\r\n");
    assert_eq!(
        out,
        "552 5.3.4 Message size exceeds fixed limit of 100 bytes\r\n"
    );
    let mut input = b"MAIL FROM:<a@x.test> SIZE=100\r\nRCPT TO:<b@y.test>\r\nDATA\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'z', 150));
    input.extend_from_slice(b"\r\n.\r\nNOOP\r\n");
    let (out, _) = talk(&mut s, &input);
    assert!(
        out.ends_with(
            "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n\
552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.0.0 Ok\r\n"
        ),
        "{out}"
    );
}

#[test]
fn recipient_limit_and_relay_control() {
    let mut s = session_with(config(), false);
    ehlo(&mut s);
    let (out, _) = talk(
        &mut s,
        b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@elsewhere.test>\r\nRCPT TO:<b@OURS.test>\r\n\
RCPT TO:<Postmaster>\r\nRCPT TO:<c@ours.test>\r\n",
    );
    assert_eq!(
        out,
        "250 2.1.0 Sender ok\r\n554 5.7.1 Relay access denied\r\n250 2.1.5 Recipient ok\r\n\
250 2.1.5 Recipient ok\r\n452 4.5.3 Too many recipients\r\n"
    );
}

#[test]
fn utf8_addresses_need_smtputf8() {
    let mut s = session();
    ehlo(&mut s);
    let (out, _) = talk(
        &mut s,
        "MAIL FROM:<jö@x.test>\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<ü@y.test>\r\nRSET\r\n\
MAIL FROM:<jö@x.test> SMTPUTF8\r\nRCPT TO:<ü@y.test>\r\n"
            .as_bytes(),
    );
    assert_eq!(
        out,
        "553 5.6.7 Non-ASCII addresses require SMTPUTF8\r\n250 2.1.0 Sender ok\r\n\
553 5.6.7 Non-ASCII addresses require SMTPUTF8\r\n250 2.0.0 Reset state\r\n\
250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n"
    );
}

#[test]
fn parameters_of_extensions_not_offered_are_unknown() {
    let mut c = config();
    c.features.dsn = false;
    c.features.eightbitmime = false;
    let mut s = session_with(c, true);
    ehlo(&mut s);
    let (out, _) = talk(
        &mut s,
        b"MAIL FROM:<a@x.test> RET=FULL\r\nMAIL FROM:<a@x.test> BODY=8BITMIME\r\n\
MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test> NOTIFY=NEVER\r\n",
    );
    assert_eq!(
        out,
        "555 5.5.4 Unsupported parameter\r\n555 5.5.4 Unsupported parameter\r\n\
250 2.1.0 Sender ok\r\n555 5.5.4 Unsupported parameter\r\n"
    );
}

#[test]
fn bdat_chunks_binary_safe_and_exact() {
    let mut s = session();
    ehlo(&mut s);
    let mut input =
        b"MAIL FROM:<a@x.test> BODY=BINARYMIME\r\nRCPT TO:<b@y.test>\r\nBDAT 5\r\n\0\r\n.\n"
            .to_vec();
    input.extend_from_slice(b"BDAT 3 LAST\r\n\r\n.NOOP\r\n");
    let mut pos = 0;
    let (used, a) = s.input(&input);
    pos += used;
    assert_eq!(a, Action::StoreMessage);
    assert_eq!(s.take_message().unwrap().body, b"\0\r\n.\n\r\n.");
    s.stored(Ok("ID2"));
    let (used, a) = s.input(&input[pos..]);
    assert_eq!((pos + used, a), (input.len(), Action::NeedInput));
    let out = String::from_utf8_lossy(s.output()).into_owned();
    assert!(
        out.ends_with(
            "250 2.0.0 5 octets received\r\n250 2.0.0 Ok: queued as ID2\r\n250 2.0.0 Ok\r\n"
        ),
        "{out}"
    );
}

#[test]
fn bdat_zero_last_and_chunk_split_across_reads() {
    let mut s = session();
    ehlo(&mut s);
    talk(
        &mut s,
        b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nBDAT 4\r\nab",
    );
    let (out, _) = talk(&mut s, b"cdBDAT 0 LAST\r\n");
    assert_eq!(
        out,
        "250 2.0.0 4 octets received\r\n250 2.0.0 Ok: queued as ID1\r\n"
    );
}

#[test]
fn refused_bdat_chunk_is_still_consumed() {
    let mut s = session();
    ehlo(&mut s);
    // No MAIL: the chunk "QUIT\r\n" must be skipped, not executed.
    let (out, a) = talk(&mut s, b"BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n");
    assert_eq!(out, "503 5.5.1 Need MAIL before RCPT\r\n250 2.0.0 Ok\r\n");
    assert_eq!(a, Action::NeedInput);
}

#[test]
fn bdat_over_size_is_drained_then_refused() {
    let mut s = session();
    ehlo(&mut s);
    let mut input = b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nBDAT 150 LAST\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'q', 150));
    input.extend_from_slice(b"NOOP\r\n");
    let (out, _) = talk(&mut s, &input);
    assert!(
        out.ends_with(
            "552 5.3.4 Message size exceeds fixed maximum message size\r\n250 2.0.0 Ok\r\n"
        ),
        "{out}"
    );
}

#[test]
fn bare_newline_rejected_by_default_and_normalized_on_request() {
    let mut s = session();
    ehlo(&mut s);
    let input = b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\na\nb\r\n.\r\n";
    let (out, _) = talk(&mut s, input);
    assert!(
        out.ends_with("550 5.5.2 Message contains bare CR or LF, which is not allowed\r\n"),
        "{out}"
    );

    let mut c = config();
    c.bare_newline = BareNewline::Normalize;
    let mut s = session_with(c, true);
    ehlo(&mut s);
    let (used, a) = s.input(input);
    assert_eq!((used, a), (input.len(), Action::StoreMessage));
    assert_eq!(s.take_message().unwrap().body, b"a\r\nb\r\n");
}

#[test]
fn smuggled_end_of_data_does_not_end_the_message() {
    let mut s = session();
    ehlo(&mut s);
    // "\n.\n" must not end DATA: the MAIL after it is message content.
    let input = b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\nx\n.\nMAIL FROM:<evil@x.test>\r\n.\r\n";
    let (out, a) = talk(&mut s, input);
    assert_eq!(a, Action::NeedInput);
    assert!(
        out.ends_with("550 5.5.2 Message contains bare CR or LF, which is not allowed\r\n"),
        "{out}"
    );
    assert_eq!(out.matches("250 2.1.0").count(), 1);
}

#[test]
fn auth_plain_and_login_exchanges() {
    let mut c = config();
    c.features.auth = vec!["PLAIN", "LOGIN"];
    c.features.auth_requires_tls = false;
    let mut s = session_with(c.clone(), false);
    ehlo(&mut s);
    let line = b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n";
    let (used, a) = s.input(line);
    assert_eq!(used, line.len());
    let Action::Authenticate(req) = a else {
        panic!("{a:?}")
    };
    assert_eq!(
        (req.user.as_str(), req.password.as_str()),
        ("alice", "secret")
    );
    s.auth_result(Some("alice"));
    let (out, _) = talk(
        &mut s,
        b"AUTH PLAIN\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@far.test>\r\n",
    );
    assert_eq!(
        out,
        "235 2.7.0 Authentication successful\r\n503 5.5.1 Already authenticated\r\n\
250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n"
    );

    let mut s = session_with(c.clone(), false);
    ehlo(&mut s);
    let (out, _) = talk(&mut s, b"AUTH LOGIN\r\n");
    assert_eq!(out, "334 VXNlcm5hbWU6\r\n");
    let (out, _) = talk(&mut s, b"YWxpY2U=\r\n");
    assert_eq!(out, "334 UGFzc3dvcmQ6\r\n");
    let (_, a) = s.input(b"d3Jvbmc=\r\n");
    let Action::Authenticate(req) = a else {
        panic!("{a:?}")
    };
    assert_eq!(
        (req.user.as_str(), req.password.as_str()),
        ("alice", "wrong")
    );
    s.auth_result(None);
    let (out, _) = talk(
        &mut s,
        b"AUTH PLAIN\r\n*\r\nAUTH CRAM-MD5\r\nAUTH PLAIN !!!\r\n",
    );
    assert_eq!(
        out,
        "535 5.7.8 Authentication credentials invalid\r\n334 \r\n501 5.0.0 Authentication cancelled\r\n\
504 5.5.4 Unrecognized authentication type\r\n501 5.5.2 Invalid base64 data\r\n"
    );

    // Over plaintext, AUTH is refused when it requires TLS, and not advertised.
    c.features.auth_requires_tls = true;
    let mut s = session_with(c, false);
    after_greeting(&mut s);
    let (out, _) = talk(&mut s, b"EHLO c\r\nAUTH PLAIN\r\n");
    assert!(!out.contains("AUTH PLAIN LOGIN"));
    assert!(
        out.ends_with("538 5.7.11 Encryption required for requested authentication mechanism\r\n")
    );
}

#[test]
fn starttls_discards_pipelined_plaintext() {
    let mut c = config();
    c.features.starttls = true;
    let mut s = session_with(c, true);
    ehlo(&mut s);
    let input = b"STARTTLS\r\nMAIL FROM:<injected@x.test>\r\n";
    let (used, a) = s.input(input);
    assert_eq!((used, a), (input.len(), Action::StartTls));
    assert_eq!(s.output(), b"220 2.0.0 Ready to start TLS\r\n");
    s.consume_output(s.output().len());
    s.tls_started();
    // The session starts over: EHLO is needed again, STARTTLS is no longer offered.
    let (out, _) = talk(&mut s, b"MAIL FROM:<a@x.test>\r\nEHLO c\r\nSTARTTLS\r\n");
    assert!(
        out.starts_with("503 5.5.1 Send HELO/EHLO first\r\n"),
        "{out}"
    );
    assert!(!out.contains("250-STARTTLS"));
    assert!(out.ends_with("503 5.5.1 TLS already active\r\n"));
}

#[test]
fn etrn_is_handed_to_the_runtime() {
    let mut c = config();
    c.features.etrn = true;
    let mut s = session_with(c, true);
    ehlo(&mut s);
    let (_, a) = s.input(b"ETRN @ours.test\r\n");
    assert_eq!(a, Action::Etrn("@ours.test".into()));
    s.etrn_result(&reply::ETRN_STARTED);
    assert_eq!(s.output(), b"250 2.0.0 Queuing started\r\n");
}

#[test]
fn shutdown_refuses_new_transactions() {
    let mut s = session();
    ehlo(&mut s);
    talk(&mut s, b"MAIL FROM:<a@x.test>\r\n");
    assert_eq!(s.begin_shutdown(), None);
    let (out, _) = talk(
        &mut s,
        b"RCPT TO:<b@y.test>\r\nDATA\r\nx\r\n.\r\nMAIL FROM:<a@x.test>\r\n",
    );
    assert!(out.ends_with("250 2.0.0 Ok: queued as ID1\r\n421 4.3.2 Service shutting down, closing connection\r\n"), "{out}");
    let mut idle = session();
    ehlo(&mut idle);
    assert_eq!(idle.begin_shutdown(), Some(Action::Close));
}

#[test]
fn timeout_and_refusal_close_with_421() {
    let mut s = session();
    after_greeting(&mut s);
    assert_eq!(s.timeout(), Action::Close);
    assert_eq!(
        s.output(),
        b"421 4.4.2 Timeout exceeded, closing connection\r\n"
    );
    let mut s = Session::new(Rc::new(config()), ClientInfo::default());
    assert_eq!(s.refuse_connection(), Action::Close);
    assert_eq!(
        s.output(),
        b"421 4.7.0 Too many connections, try again later\r\n"
    );
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    /// Runs `input` through a fresh session in the given pieces, answering every action the
    /// same way, and returns everything the session wrote plus the stored bodies.
    fn run(input: &[u8], cuts: &[usize], bare: BareNewline) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut c = config();
        c.bare_newline = bare;
        c.max_message_size = 300;
        c.features.etrn = true;
        let mut s = session_with(c, false);
        let mut out = Vec::new();
        let mut bodies = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
        cuts.push(input.len());
        cuts.sort_unstable();
        'outer: for cut in cuts {
            buf.extend_from_slice(&input[fed..cut.max(fed)]);
            fed = cut.max(fed);
            loop {
                let (used, action) = s.input(&buf);
                buf.drain(..used);
                match action {
                    Action::NeedInput => break,
                    Action::StoreMessage => {
                        bodies.push(s.take_message().map(|m| m.body).unwrap_or_default());
                        s.stored(Ok("X"));
                    }
                    Action::Authenticate(_) => s.auth_result(None),
                    Action::Etrn(_) => s.etrn_result(&reply::ETRN_STARTED),
                    Action::StartTls => s.tls_started(),
                    Action::Close => break 'outer,
                }
            }
        }
        out.extend_from_slice(s.output());
        (out, bodies)
    }

    fn script() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            Just(b"EHLO c.test\r\n".to_vec()),
            Just(b"HELO c.test\r\n".to_vec()),
            Just(b"MAIL FROM:<a@x.test> SIZE=20\r\n".to_vec()),
            Just(b"RCPT TO:<b@ours.test>\r\n".to_vec()),
            Just(b"RCPT TO:<b@far.test>\r\n".to_vec()),
            Just(b"DATA\r\n".to_vec()),
            Just(b"RSET\r\n".to_vec()),
            Just(b"NOOP\r\n".to_vec()),
            Just(b"ETRN ours.test\r\n".to_vec()),
            Just(b".\r\n".to_vec()),
            Just(b"\r\n.\r\n".to_vec()),
            (0u64..40, any::<bool>()).prop_map(|(n, last)| {
                let mut v = format!("BDAT {n}{}\r\n", if last { " LAST" } else { "" }).into_bytes();
                v.extend(std::iter::repeat_n(b'b', n as usize));
                v
            }),
            proptest::collection::vec(
                prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), any::<u8>()],
                0..40
            ),
        ];
        proptest::collection::vec(piece, 0..25).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn any_split_gives_the_same_replies_and_bodies(
            input in script(),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
            normalize in any::<bool>(),
        ) {
            let bare = if normalize { BareNewline::Normalize } else { BareNewline::Reject };
            let whole = run(&input, &[], bare);
            let split = run(&input, &cuts, bare);
            prop_assert_eq!(whole, split);
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(
            input in proptest::collection::vec(any::<u8>(), 0..600),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            run(&input, &cuts, BareNewline::Reject);
            let mut prefixed = b"EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\n".to_vec();
            prefixed.extend_from_slice(&input);
            run(&prefixed, &cuts, BareNewline::Normalize);
        }
    }
}

#[test]
fn rcpt_refused_by_reject_route() {
    let mut c = config();
    c.max_recipients = 10;
    let pat = |p: &str| match DomainPattern::parse(p) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    let no = crate::reply::Reply::new(
        550,
        Some(crate::reply::Enhanced(5, 1, 2)),
        "Domain not served here",
    );
    c.rcpt_routes = vec![
        (pat("ok.blocked.test"), None),
        (pat("*.blocked.test"), Some(no.clone())),
        (pat("blocked.test"), Some(no)),
    ];
    let mut s = session_with(c, true);
    let (out, _) = talk(
        &mut s,
        b"EHLO c\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<u@blocked.test>\r\n\
RCPT TO:<u@A.Blocked.TEST>\r\nRCPT TO:<u@ok.blocked.test>\r\nRCPT TO:<u@elsewhere.test>\r\n\
RCPT TO:<Postmaster>\r\n",
    );
    let replies: Vec<&str> = out
        .split("\r\n")
        .filter(|l| !l.starts_with("250-"))
        .collect();
    assert_eq!(
        replies[..7],
        [
            "220 mx.test ESMTP tern",
            "250 HELP",
            "250 2.1.0 Sender ok",
            "550 5.1.2 Domain not served here",
            "550 5.1.2 Domain not served here",
            "250 2.1.5 Recipient ok",
            "250 2.1.5 Recipient ok",
        ]
    );
}
