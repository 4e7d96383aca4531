//! The client session, step by step, with the exact bytes it writes and the events it gives.

use tern_proto::client::{
    local, BodyFormat, ClientEvent, ClientOptions, ClientSession, ProtocolError, ReplyError,
    TlsPolicy, UsageError,
};
use tern_proto::{BodyType, Enhanced, Ret};

mod client_common;
use client_common::*;

const BODY: &[u8] = b"Subject: t\r\n\r\n..hello\r\n.\r\n";

const ALL: &[&str] = &[
    "PIPELINING",
    "SIZE 1000",
    "8BITMIME",
    "DSN",
    "ENHANCEDSTATUSCODES",
    "SMTPUTF8",
];

#[test]
fn greeting_ehlo_and_capabilities() {
    let s = connected(&["PIPELINING", "SIZE 1000", "STARTTLS"], opts().no_tls());
    assert!(s.is_esmtp());
    assert!(!s.is_tls());
    assert!(s.capabilities().pipelining);
    assert_eq!(s.capabilities().size, Some(1000));
}

trait NoTls {
    fn no_tls(self) -> Self;
}
impl NoTls for ClientOptions {
    fn no_tls(mut self) -> Self {
        self.tls = TlsPolicy::Disabled;
        self
    }
}

#[test]
fn pipelined_transaction_in_one_write() {
    let mut s = connected(ALL, opts());
    s.send_mail(&envelope(&["bob", "carol"])).unwrap();
    assert_eq!(
        take(&mut s),
        "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n\
         RCPT TO:<carol@example.net>\r\nDATA\r\n"
    );
    s.input(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 Go ahead\r\n");
    assert_eq!(
        events(&mut s),
        [ClientEvent::NeedBody(BodyFormat::DotStuffed)]
    );
    assert_eq!(take(&mut s), "");
    s.send_body(BODY).unwrap();
    assert_eq!(take(&mut s).as_bytes(), BODY);
    s.input(b"250 2.0.0 Ok: queued as 9\r\n");
    let r = done(&mut s);
    assert!(!r.local);
    assert_eq!(r.mail.enhanced, Some(Enhanced(2, 1, 0)));
    assert_eq!(r.rcpts.len(), 2);
    assert_eq!(r.data.as_ref().unwrap().text, "Ok: queued as 9");
    assert!(r.delivered(0) && r.delivered(1));
    assert!(s.is_idle());

    s.quit().unwrap();
    assert_eq!(take(&mut s), "QUIT\r\n");
    s.input(b"221 2.0.0 Bye\r\n");
    assert!(matches!(events(&mut s).as_slice(), [ClientEvent::Closed(r)] if r.code == 221));
    assert!(s.is_closed());
}

#[test]
fn lock_step_without_pipelining() {
    let mut s = connected(&["SIZE", "8BITMIME"], opts());
    s.send_mail(&envelope(&["bob", "carol"])).unwrap();
    let steps: &[(&[u8], &str)] = &[
        (b"", "MAIL FROM:<alice@example.org>\r\n"),
        (b"250 Ok\r\n", "RCPT TO:<bob@example.net>\r\n"),
        (b"250 Ok\r\n", "RCPT TO:<carol@example.net>\r\n"),
        (b"250 Ok\r\n", "DATA\r\n"),
    ];
    for (reply, want) in steps {
        s.input(reply);
        assert_eq!(take(&mut s), *want);
        assert_eq!(events(&mut s), []);
    }
    s.input(b"354 Go\r\n");
    assert_eq!(
        events(&mut s),
        [ClientEvent::NeedBody(BodyFormat::DotStuffed)]
    );
    s.send_body(BODY).unwrap();
    take(&mut s);
    s.input(b"250 Ok\r\n");
    let r = done(&mut s);
    assert_eq!(codes(&r, 2), [250, 250]);
}

#[test]
fn lock_step_mail_refused_sends_nothing_more() {
    let mut s = connected(&[], opts());
    s.send_mail(&envelope(&["bob", "carol"])).unwrap();
    take(&mut s);
    s.input(b"550 5.7.1 Sender blocked\r\n");
    assert_eq!(take(&mut s), "");
    let r = done(&mut s);
    assert!(r.rcpts.is_empty());
    assert_eq!(codes(&r, 2), [550, 550]);
    assert!(s.is_idle());
}

#[test]
fn ehlo_refused_falls_back_to_helo() {
    let mut s = ClientSession::new(opts());
    s.input(b"220 old.example SMTP\r\n");
    assert_eq!(take(&mut s), "EHLO relay.example\r\n");
    s.input(b"500 5.5.1 Command unrecognized\r\n");
    assert_eq!(take(&mut s), "HELO relay.example\r\n");
    assert_eq!(events(&mut s), []);
    s.input(b"250 old.example\r\n");
    assert_eq!(events(&mut s), [ClientEvent::Ready]);
    assert!(!s.is_esmtp());
    assert_eq!(s.capabilities(), &Default::default());
    // No extension parameters over plain SMTP, even when the envelope has them.
    let mut env = envelope(&["bob"]);
    env.params.size = Some(10);
    env.params.body = Some(BodyType::EightBitMime);
    env.params.ret = Some(Ret::Full);
    s.send_mail(&env).unwrap();
    assert_eq!(take(&mut s), "MAIL FROM:<alice@example.org>\r\n");
}

#[test]
fn ehlo_temporary_failure_fails_the_session() {
    let mut s = ClientSession::new(opts());
    s.input(b"220 mx\r\n");
    take(&mut s);
    s.input(b"451 4.3.0 Try later\r\n");
    assert!(matches!(events(&mut s).as_slice(), [ClientEvent::Failed(r)] if r.code == 451));
    assert_eq!(take(&mut s), "QUIT\r\n");
    s.input(b"221 Bye\r\n");
    assert!(matches!(events(&mut s).as_slice(), [ClientEvent::Closed(r)] if r.code == 221));
}

#[test]
fn helo_refused_too_fails_the_session() {
    let mut s = ClientSession::new(opts());
    s.input(b"220 mx\r\n");
    s.input(b"502 no\r\n");
    s.input(b"554 go away\r\n");
    assert_eq!(
        take(&mut s),
        "EHLO relay.example\r\nHELO relay.example\r\nQUIT\r\n"
    );
    assert!(matches!(events(&mut s).as_slice(), [ClientEvent::Failed(r)] if r.code == 554));
}

#[test]
fn refused_greeting_fails_and_quits() {
    let mut s = ClientSession::new(opts());
    s.input(b"554-No service\r\n554 for you\r\n");
    assert_eq!(take(&mut s), "QUIT\r\n");
    match events(&mut s).as_slice() {
        [ClientEvent::Failed(r)] => assert_eq!(r.text, "No service\nfor you"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn busy_greeting_421_closes() {
    let mut s = ClientSession::new(opts());
    s.input(b"421 4.7.0 Too busy\r\n");
    assert_eq!(take(&mut s), "");
    assert!(matches!(events(&mut s).as_slice(), [ClientEvent::Closed(r)] if r.code == 421));
    assert!(s.is_closed());
}

#[test]
fn mixed_recipient_results() {
    let mut s = connected(ALL, opts());
    s.send_mail(&envelope(&["a", "b", "c", "d"])).unwrap();
    take(&mut s);
    s.input(
        b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n\
          451 4.3.0 Try later\r\n250 2.1.5 Ok\r\n354 Go\r\n",
    );
    assert_eq!(
        events(&mut s),
        [ClientEvent::NeedBody(BodyFormat::DotStuffed)]
    );
    s.send_body(BODY).unwrap();
    take(&mut s);
    s.input(b"250 2.0.0 Ok\r\n");
    let r = done(&mut s);
    assert_eq!(codes(&r, 4), [250, 550, 451, 250]);
    assert_eq!(r.outcome(1).enhanced, Some(Enhanced(5, 1, 1)));
    assert_eq!(
        (0..4).map(|i| r.delivered(i)).collect::<Vec<_>>(),
        [true, false, false, true]
    );
}

#[test]
fn final_reply_failure_decides_accepted_recipients() {
    let mut s = connected(ALL, opts());
    s.send_mail(&envelope(&["a", "b"])).unwrap();
    take(&mut s);
    s.input(b"250 Ok\r\n550 No\r\n250 Ok\r\n354 Go\r\n");
    events(&mut s);
    s.send_body(BODY).unwrap();
    take(&mut s);
    s.input(b"554 5.7.1 Spam\r\n");
    let r = done(&mut s);
    assert_eq!(codes(&r, 2), [550, 554]);
    assert_eq!(r.outcome(0).text, "No");
    assert_eq!(r.outcome(1).enhanced, Some(Enhanced(5, 7, 1)));
}

#[test]
fn all_recipients_rejected_pipelined_sends_no_body_and_resets() {
    let mut s = connected(ALL, opts());
    s.send_mail(&envelope(&["a", "b"])).unwrap();
    take(&mut s);
    s.input(b"250 Ok\r\n550 5.1.1 No\r\n550 5.1.1 No\r\n554 5.5.1 No valid recipients\r\n");
    assert_eq!(events(&mut s), []);
    assert_eq!(take(&mut s), "RSET\r\n");
    s.input(b"250 2.0.0 Reset\r\n");
    let r = done(&mut s);
    assert_eq!(codes(&r, 2), [550, 550]);
    assert_eq!(r.data.map(|d| d.code), Some(554));
    assert!(s.is_idle());
    assert_eq!(s.send_body(BODY), Err(UsageError::BodyNotExpected));
}

#[test]
fn all_recipients_rejected_lock_step_skips_data() {
    let mut s = connected(&[], opts());
    s.send_mail(&envelope(&["a"])).unwrap();
    take(&mut s);
    s.input(b"250 Ok\r\n");
    assert_eq!(take(&mut s), "RCPT TO:<a@example.net>\r\n");
    s.input(b"550 No\r\n");
    assert_eq!(take(&mut s), "RSET\r\n");
    s.input(b"250 Ok\r\n");
    let r = done(&mut s);
    assert_eq!(r.data, None);
    assert_eq!(codes(&r, 1), [550]);
}

#[test]
fn pipelined_mail_refused_decides_everyone() {
    let mut s = connected(ALL, opts());
    s.send_mail(&envelope(&["a", "b"])).unwrap();
    take(&mut s);
    s.input(b"550 5.7.1 Sender refused\r\n503 5.5.1 Need MAIL\r\n503 5.5.1 Need MAIL\r\n");
    s.input(b"503 5.5.1 Need RCPT\r\n");
    assert_eq!(take(&mut s), "RSET\r\n");
    s.input(b"250 Ok\r\n");
    let r = done(&mut s);
    assert_eq!(codes(&r, 2), [550, 550]);
}

#[test]
fn pipelined_354_without_recipients_is_ended_empty() {
    // RFC 2920 3.1 says the server must refuse DATA here; one that does not gets a lone dot.
    let mut s = connected(ALL, opts());
    s.send_mail(&envelope(&["a"])).unwrap();
    take(&mut s);
    s.input(b"250 Ok\r\n550 No\r\n354 Go\r\n");
    assert_eq!(events(&mut s), []);
    assert_eq!(take(&mut s), ".\r\n");
    s.input(b"554 No recipients\r\n");
    assert_eq!(take(&mut s), "RSET\r\n");
    s.input(b"250 Ok\r\n");
    assert_eq!(codes(&done(&mut s), 1), [550]);
}

#[test]
fn bdat_when_chunking_is_offered() {
    let mut s = connected(&["PIPELINING", "CHUNKING"], opts());
    s.send_mail(&envelope(&["a", "b"])).unwrap();
    // No DATA, and the body waits for the RCPT replies.
    assert_eq!(
        take(&mut s),
        "MAIL FROM:<alice@example.org>\r\nRCPT TO:<a@example.net>\r\nRCPT TO:<b@example.net>\r\n"
    );
    s.input(b"250 Ok\r\n250 Ok\r\n");
    assert_eq!(events(&mut s), []);
    s.input(b"250 Ok\r\n");
    assert_eq!(events(&mut s), [ClientEvent::NeedBody(BodyFormat::Raw)]);
    s.send_body(b"Subject: x\r\n\r\n.raw\r\n").unwrap();
    assert_eq!(take(&mut s), "BDAT 20 LAST\r\nSubject: x\r\n\r\n.raw\r\n");
    s.input(b"250 2.0.0 20 octets received\r\n");
    assert_eq!(codes(&done(&mut s), 2), [250, 250]);
}

#[test]
fn bdat_lock_step_and_rejected() {
    let mut s = connected(&["CHUNKING"], opts());
    s.send_mail(&envelope(&["a"])).unwrap();
    take(&mut s);
    s.input(b"250 Ok\r\n");
    assert_eq!(take(&mut s), "RCPT TO:<a@example.net>\r\n");
    s.input(b"550 No\r\n");
    assert_eq!(events(&mut s), []);
    assert_eq!(take(&mut s), "RSET\r\n");
    s.input(b"250 Ok\r\n");
    assert_eq!(codes(&done(&mut s), 1), [550]);
}

#[test]
fn starttls_then_ehlo_again() {
    let mut s = ClientSession::new(opts());
    s.input(b"220 mx\r\n");
    take(&mut s);
    s.input(b"250-mx\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 STARTTLS\r\n");
    assert_eq!(take(&mut s), "STARTTLS\r\n");
    assert_eq!(events(&mut s), []);
    s.input(b"220 2.0.0 Ready to start TLS\r\n");
    assert_eq!(events(&mut s), [ClientEvent::StartTls]);
    assert_eq!(s.send_mail(&envelope(&["a"])), Err(UsageError::NotIdle));
    s.tls_established().unwrap();
    assert!(s.is_tls());
    // What was learnt in plaintext is forgotten (RFC 3207 4.2).
    assert_eq!(s.capabilities(), &Default::default());
    assert_eq!(take(&mut s), "EHLO relay.example\r\n");
    s.input(b"250-mx\r\n250 PIPELINING\r\n");
    assert_eq!(events(&mut s), [ClientEvent::Ready]);
    assert!(s.capabilities().pipelining && !s.capabilities().chunking);
    assert_eq!(s.tls_established(), Err(UsageError::NotExpected));
}

#[test]
fn plaintext_after_starttls_220_is_refused() {
    // Same read as the 220: an injected reply must not be taken as coming over TLS.
    let mut s = ClientSession::new(opts());
    s.input(b"220 mx\r\n250-mx\r\n250 STARTTLS\r\n");
    take(&mut s);
    s.input(b"220 Go\r\n250 injected\r\n");
    assert_eq!(
        events(&mut s),
        [
            ClientEvent::StartTls,
            ClientEvent::ProtocolError(ProtocolError::PlaintextAfterStartTls),
            ClientEvent::Closed(local::PROTOCOL_ERROR),
        ]
    );
    // In a later read, before the handshake.
    let mut s = ClientSession::new(opts());
    s.input(b"220 mx\r\n250-mx\r\n250 STARTTLS\r\n220 Go\r\n");
    events(&mut s);
    s.input(b"2");
    assert_eq!(
        events(&mut s),
        [
            ClientEvent::ProtocolError(ProtocolError::PlaintextAfterStartTls),
            ClientEvent::Closed(local::PROTOCOL_ERROR),
        ]
    );
}

#[test]
fn starttls_refused_opportunistic_continues_required_fails() {
    let mut s = ClientSession::new(opts());
    s.input(b"220 mx\r\n250-mx\r\n250 STARTTLS\r\n454 4.7.0 TLS not available\r\n");
    assert_eq!(take(&mut s), "EHLO relay.example\r\nSTARTTLS\r\n");
    assert_eq!(events(&mut s), [ClientEvent::Ready]);
    assert!(!s.is_tls());

    let mut o = opts();
    o.tls = TlsPolicy::Required;
    let mut s = ClientSession::new(o);
    s.input(b"220 mx\r\n250-mx\r\n250 STARTTLS\r\n454 4.7.0 TLS not available\r\n");
    assert_eq!(take(&mut s), "EHLO relay.example\r\nSTARTTLS\r\nQUIT\r\n");
    assert!(matches!(events(&mut s).as_slice(), [ClientEvent::Failed(r)] if r.code == 454));
}

#[test]
fn tls_policies_when_starttls_is_not_offered() {
    let mut o = opts();
    o.tls = TlsPolicy::Required;
    let mut s = ClientSession::new(o.clone());
    s.input(b"220 mx\r\n250-mx\r\n250 PIPELINING\r\n");
    assert_eq!(take(&mut s), "EHLO relay.example\r\nQUIT\r\n");
    assert_eq!(
        events(&mut s),
        [ClientEvent::Failed(local::TLS_NOT_AVAILABLE)]
    );

    // Implicit TLS: nothing to upgrade, required is satisfied.
    let mut s = ClientSession::new_tls(o);
    s.input(b"220 mx\r\n250-mx\r\n250 STARTTLS\r\n");
    assert_eq!(take(&mut s), "EHLO relay.example\r\n");
    assert_eq!(events(&mut s), [ClientEvent::Ready]);

    let s = connected(&["STARTTLS"], opts().no_tls());
    assert!(!s.is_tls());
}

#[test]
fn server_421_mid_transaction_ends_it_and_closes() {
    let mut s = connected(ALL, opts());
    s.send_mail(&envelope(&["a", "b", "c"])).unwrap();
    take(&mut s);
    s.input(b"250 Ok\r\n250 Ok\r\n421 4.3.2 Shutting down\r\n");
    let ev = events(&mut s);
    let [ClientEvent::TransactionDone(r), ClientEvent::Closed(c)] = ev.as_slice() else {
        panic!("{ev:?}");
    };
    assert_eq!(c.code, 421);
    assert_eq!(codes(r, 3), [421, 421, 421]);
    assert_eq!(r.rcpts[0].code, 250);
    assert!(s.is_closed());
    assert_eq!(take(&mut s), "");
    // Nothing more happens once closed.
    s.input(b"250 Ok\r\n");
    assert_eq!(events(&mut s), []);
}

#[test]
fn unsolicited_421_while_idle_closes() {
    let mut s = connected(&[], opts());
    s.input(b"421 4.4.2 Idle timeout\r\n");
    assert!(matches!(events(&mut s).as_slice(), [ClientEvent::Closed(r)] if r.code == 421));
}

#[test]
fn abort_after_body_defers_everyone_still_open() {
    let mut s = connected(ALL, opts());
    s.send_mail(&envelope(&["a", "b"])).unwrap();
    take(&mut s);
    s.input(b"250 Ok\r\n250 Ok\r\n550 No\r\n354 Go\r\n");
    events(&mut s);
    s.send_body(BODY).unwrap();
    s.abort(local::CONNECTION_LOST);
    let ev = events(&mut s);
    let [ClientEvent::TransactionDone(r), ClientEvent::Closed(c)] = ev.as_slice() else {
        panic!("{ev:?}");
    };
    assert_eq!(c, &local::CONNECTION_LOST);
    assert_eq!(codes(r, 2), [421, 550]);
    assert_eq!(r.outcome(0), &local::CONNECTION_LOST);
    assert_eq!(take(&mut s), "");
    s.abort(local::CONNECTION_LOST);
    assert_eq!(events(&mut s), []);
}

#[test]
fn abort_before_any_reply() {
    let mut s = connected(ALL, opts());
    s.send_mail(&envelope(&["a"])).unwrap();
    s.abort(local::CONNECTION_LOST);
    match events(&mut s).as_slice() {
        [ClientEvent::TransactionDone(r), ClientEvent::Closed(_)] => {
            assert_eq!(r.mail, local::CONNECTION_LOST);
            assert!(!r.delivered(0));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unexpected_and_malformed_replies_close() {
    let mut s = connected(&[], opts());
    s.input(b"250 Hello?\r\n");
    assert_eq!(
        events(&mut s),
        [
            ClientEvent::ProtocolError(ProtocolError::Unexpected),
            ClientEvent::Closed(local::PROTOCOL_ERROR)
        ]
    );

    let mut s = connected(ALL, opts());
    s.send_mail(&envelope(&["a"])).unwrap();
    s.input(b"250 Ok\r\nhello\r\n");
    let ev = events(&mut s);
    assert_eq!(
        ev[0],
        ClientEvent::ProtocolError(ProtocolError::Malformed(ReplyError::BadCode))
    );
    let ClientEvent::TransactionDone(r) = &ev[1] else {
        panic!("{ev:?}")
    };
    assert_eq!(r.mail.code, 250);
    assert_eq!(r.outcome(0), &local::PROTOCOL_ERROR);
    assert_eq!(ev[2], ClientEvent::Closed(local::PROTOCOL_ERROR));

    // A reply arriving while the session waits for the driver's body is out of turn.
    let mut s = connected(ALL, opts());
    s.send_mail(&envelope(&["a"])).unwrap();
    s.input(b"250 Ok\r\n250 Ok\r\n354 Go\r\n250 Ok\r\n");
    let ev = events(&mut s);
    assert_eq!(ev[0], ClientEvent::NeedBody(BodyFormat::DotStuffed));
    assert_eq!(ev[1], ClientEvent::ProtocolError(ProtocolError::Unexpected));
}

#[test]
fn usage_errors_leave_the_session_as_it_was() {
    let mut s = ClientSession::new(opts());
    assert_eq!(s.send_mail(&envelope(&["a"])), Err(UsageError::NotIdle));
    assert_eq!(s.quit(), Err(UsageError::NotIdle));
    let mut s = connected(&["PIPELINING"], opts());
    assert_eq!(s.send_mail(&envelope(&[])), Err(UsageError::NoRecipients));
    assert_eq!(s.send_body(BODY), Err(UsageError::BodyNotExpected));
    s.send_mail(&envelope(&["a"])).unwrap();
    take(&mut s);
    s.input(b"250 Ok\r\n250 Ok\r\n354 Go\r\n");
    events(&mut s);
    for bad in [&b"no terminator\r\n"[..], b"x.\r\n", b"\r\n.\r\n\r\n", b""] {
        assert_eq!(s.send_body(bad), Err(UsageError::UnterminatedBody));
    }
    assert_eq!(take(&mut s), "");
    s.send_body(b".\r\n").unwrap();
    assert_eq!(take(&mut s), ".\r\n");
}

#[test]
fn several_transactions_on_one_connection() {
    let mut s = connected(ALL, opts());
    for i in 0..3 {
        s.send_mail(&envelope(&["a"])).unwrap();
        assert!(take(&mut s).ends_with("DATA\r\n"));
        s.input(b"250 Ok\r\n250 Ok\r\n354 Go\r\n");
        assert_eq!(
            events(&mut s),
            [ClientEvent::NeedBody(BodyFormat::DotStuffed)]
        );
        s.send_body(BODY).unwrap();
        take(&mut s);
        s.input(format!("250 Ok: queued as {i}\r\n").as_bytes());
        let r = done(&mut s);
        assert_eq!(r.outcome(0).text, format!("Ok: queued as {i}"));
    }
}

#[test]
fn output_can_be_taken_in_pieces() {
    let mut s = connected(ALL, opts());
    s.send_mail(&envelope(&["a"])).unwrap();
    let all = s.output().to_vec();
    s.consume_output(5);
    assert_eq!(s.output(), &all[5..]);
    s.consume_output(usize::MAX);
    assert_eq!(s.output(), b"");
}

/// A scripted driver: feeds each round of server bytes in the given pieces and reacts to
/// events as a delivery worker would. Returns everything written and every event seen.
fn run_script(
    ehlo: &str,
    rounds: &[&[u8]],
    cuts: &[usize],
    messages: usize,
) -> (String, Vec<ClientEvent>) {
    let mut s = ClientSession::new(opts());
    let mut written = String::new();
    let mut seen = Vec::new();
    let mut left = messages;
    let mut greeting = b"220 mx\r\n".to_vec();
    greeting.extend_from_slice(ehlo.as_bytes());
    let mut all_rounds: Vec<&[u8]> = vec![&greeting];
    all_rounds.extend_from_slice(rounds);
    let mut cut = cuts.iter().copied();
    for round in all_rounds {
        let mut at = 0;
        while at < round.len() {
            let step = cut.next().map_or(round.len(), |c| 1 + c % round.len());
            let end = (at + step).min(round.len());
            s.input(&round[at..end]);
            at = end;
            while let Some(ev) = s.poll_event() {
                match &ev {
                    ClientEvent::Ready | ClientEvent::TransactionDone(_) if left > 0 => {
                        left -= 1;
                        s.send_mail(&envelope(&["a", "b"])).unwrap();
                    }
                    ClientEvent::Ready | ClientEvent::TransactionDone(_) => s.quit().unwrap(),
                    ClientEvent::NeedBody(BodyFormat::DotStuffed) => s.send_body(BODY).unwrap(),
                    ClientEvent::NeedBody(BodyFormat::Raw) => s.send_body(b"raw").unwrap(),
                    _ => {}
                }
                seen.push(ev);
            }
            written.push_str(&take(&mut s));
        }
    }
    (written, seen)
}

/// Two transactions (one recipient of two refused each time) then QUIT, for each way the
/// body can travel; rounds end where the driver must act before the server can answer.
fn scripts() -> Vec<(&'static str, Vec<&'static [u8]>)> {
    let data: &[u8] = b"250 Ok\r\n250 Ok\r\n550 No\r\n354 Go\r\n";
    let bdat: &[u8] = b"250 Ok\r\n250 Ok\r\n550 No\r\n";
    let fin: &[u8] = b"250 2.0.0 Ok: queued\r\n";
    let bye: &[u8] = b"221 2.0.0 Bye\r\n";
    vec![
        (
            "250-mx\r\n250 PIPELINING\r\n",
            vec![data, fin, data, fin, bye],
        ),
        ("250 mx\r\n", vec![data, fin, data, fin, bye]),
        (
            "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
            vec![bdat, fin, bdat, fin, bye],
        ),
    ]
}

proptest::proptest! {
    #[test]
    fn any_split_of_server_bytes_gives_the_same_session(
        which in 0usize..3,
        cuts in proptest::collection::vec(proptest::prelude::any::<usize>(), 0..40),
    ) {
        let (ehlo, rounds) = &scripts()[which];
        let whole = run_script(ehlo, rounds, &[], 2);
        let split = run_script(ehlo, rounds, &cuts, 2);
        proptest::prop_assert_eq!(&split, &whole);
        // And the unsplit run is the session we mean: two transactions, then a clean close.
        let done = whole.1.iter().filter(|e| matches!(e, ClientEvent::TransactionDone(_))).count();
        proptest::prop_assert_eq!(done, 2);
        proptest::prop_assert!(whole.0.starts_with("EHLO relay.example\r\nMAIL FROM:"));
        proptest::prop_assert!(whole.0.ends_with("QUIT\r\n"));
        proptest::prop_assert!(matches!(whole.1.last(), Some(ClientEvent::Closed(r)) if r.code == 221));
    }
}
