//! Several transactions in flight on one connection (`ClientOptions::window`): the exact
//! bytes of each write, replies matched to transactions in order, and every transaction
//! ending in exactly one `TransactionDone`, also when the connection breaks mid-window.

use tern_proto::client::{local, Answered, BodyFormat, ClientEvent, ClientOptions, UsageError};

mod client_common;
use client_common::*;

const STUFFED: &[u8] = b"Subject: t\r\n\r\nhi\r\n.\r\n";
const RAW: &[u8] = b"Subject: t\r\n\r\nhi\r\n";

fn windowed(n: usize) -> ClientOptions {
    let mut o = opts();
    o.window = n;
    o
}

const MAIL1: &str = "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n";

/// Starts one eager BDAT transaction and gives it its body.
fn bdat(s: &mut tern_proto::client::ClientSession) {
    s.send_mail(&envelope(&["bob"])).unwrap();
    assert_eq!(events(s), [ClientEvent::NeedBody(BodyFormat::Raw)]);
    s.send_body(RAW).unwrap();
}

#[test]
fn bdat_window_writes_whole_transactions_without_waiting() {
    let mut s = connected(&["PIPELINING", "CHUNKING"], windowed(3));
    for _ in 0..3 {
        assert!(s.can_send_mail());
        bdat(&mut s);
    }
    assert!(!s.can_send_mail(), "the window is full");
    assert_eq!(s.in_flight(), 3);
    assert_eq!(s.send_mail(&envelope(&["bob"])), Err(UsageError::NotIdle));
    // RSET closes each: should every RCPT be refused, the failed BDAT would leave the
    // MAIL in place on the server, and the next transaction's MAIL would get 503.
    let one = format!("{MAIL1}BDAT 18 LAST\r\nSubject: t\r\n\r\nhi\r\nRSET\r\n");
    assert_eq!(take(&mut s), one.repeat(3));

    // The first transaction's four replies and the second's MAIL reply arrive.
    s.input(
        b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 queued 1\r\n250 2.0.0 Reset\r\n\
          250 2.1.0 Ok\r\n",
    );
    let r = done(&mut s);
    assert_eq!(codes(&r, 1), [250]);
    assert_eq!(r.data.as_ref().map(|d| d.text.as_ref()), Some("queued 1"));
    assert_eq!(s.in_flight(), 2);
    assert!(
        s.can_send_mail(),
        "a slot is free and the others are written"
    );
    assert_eq!(
        s.answered(),
        Answered {
            mail: 2,
            rcpt: 1,
            data: 0,
            body: 1
        }
    );
    s.input(b"250 2.1.5 Ok\r\n250 2.0.0 queued 2\r\n250 2.0.0 Reset\r\n");
    assert_eq!(codes(&done(&mut s), 1), [250]);
    s.input(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 queued 3\r\n");
    assert_eq!(events(&mut s), [], "done only once its RSET is answered");
    s.input(b"250 2.0.0 Reset\r\n");
    assert_eq!(codes(&done(&mut s), 1), [250]);
    assert!(s.is_idle());
    assert_eq!(s.in_flight(), 0);
    s.quit().unwrap();
    assert_eq!(take(&mut s), "QUIT\r\n");
}

#[test]
fn a_451_inside_a_window_belongs_to_its_own_transaction() {
    let mut s = connected(
        &["PIPELINING", "CHUNKING", "ENHANCEDSTATUSCODES"],
        windowed(3),
    );
    for _ in 0..3 {
        bdat(&mut s);
    }
    take(&mut s);
    s.input(
        b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 one\r\n250 2.0.0 Reset\r\n\
          250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n451 4.3.0 try later\r\n250 2.0.0 Reset\r\n\
          250 2.1.0 Ok\r\n550 5.1.1 no such user\r\n554 5.5.1 no valid recipients\r\n\
          250 2.0.0 Reset\r\n",
    );
    let results: Vec<_> = events(&mut s)
        .into_iter()
        .map(|e| match e {
            ClientEvent::TransactionDone(r) => r,
            other => panic!("expected TransactionDone, got {other:?}"),
        })
        .collect();
    assert_eq!(results.len(), 3);
    assert_eq!(codes(&results[0], 1), [250]);
    assert_eq!(codes(&results[1], 1), [451]);
    assert!(!results[1].delivered(0));
    // The recipient's own refusal decides, not the BDAT's 554 that followed it.
    assert_eq!(codes(&results[2], 1), [550]);
    assert_eq!(results[2].data.as_ref().map(|d| d.code), Some(554));
    assert!(s.is_idle());
    assert_eq!(
        take(&mut s),
        "",
        "nothing more: each transaction's RSET went with its BDAT"
    );
}

#[test]
fn data_window_sends_the_next_mail_with_the_body() {
    let mut s = connected(&["PIPELINING"], windowed(2));
    s.send_mail(&envelope(&["bob"])).unwrap();
    assert_eq!(take(&mut s), format!("{MAIL1}DATA\r\n"));
    assert!(
        !s.can_send_mail(),
        "DATA ends a batch: nothing before its 354"
    );
    s.input(b"250 Ok\r\n250 Ok\r\n354 Go\r\n");
    assert_eq!(
        events(&mut s),
        [ClientEvent::NeedBody(BodyFormat::DotStuffed)]
    );
    assert!(!s.can_send_mail(), "the body is still owed");
    s.send_body(STUFFED).unwrap();
    assert!(s.can_send_mail());
    s.send_mail(&envelope(&["bob"])).unwrap();
    assert!(!s.can_send_mail());
    let mut want = STUFFED.to_vec();
    want.extend_from_slice(format!("{MAIL1}DATA\r\n").as_bytes());
    assert_eq!(take(&mut s).as_bytes(), &want[..]);

    // One read: the first message's final reply and the second's batch.
    s.input(b"250 queued 1\r\n250 Ok\r\n250 Ok\r\n354 Go\r\n");
    let ev = events(&mut s);
    assert_eq!(ev.len(), 2);
    assert!(matches!(&ev[0], ClientEvent::TransactionDone(r) if r.delivered(0)));
    assert_eq!(ev[1], ClientEvent::NeedBody(BodyFormat::DotStuffed));
    s.send_body(STUFFED).unwrap();
    s.input(b"250 queued 2\r\n");
    assert!(done(&mut s).delivered(0));
    assert!(s.is_idle());
    assert_eq!(
        s.answered(),
        Answered {
            mail: 2,
            rcpt: 2,
            data: 2,
            body: 2
        }
    );
}

#[test]
fn refused_data_in_a_window_resets_before_the_next_mail() {
    let mut s = connected(&["PIPELINING"], windowed(2));
    s.send_mail(&envelope(&["bob"])).unwrap();
    take(&mut s);
    s.input(b"250 Ok\r\n550 no\r\n554 no valid recipients\r\n");
    assert_eq!(
        events(&mut s),
        [],
        "the transaction ends at the RSET's reply"
    );
    assert_eq!(take(&mut s), "RSET\r\n");
    // RSET is all it will write, so the next MAIL may follow it.
    assert!(s.can_send_mail());
    s.send_mail(&envelope(&["bob"])).unwrap();
    assert_eq!(take(&mut s), format!("{MAIL1}DATA\r\n"));
    s.input(b"250 Ok\r\n250 Ok\r\n250 Ok\r\n354 Go\r\n");
    let ev = events(&mut s);
    assert!(matches!(&ev[0], ClientEvent::TransactionDone(r) if codes(r, 1) == [550]));
    assert_eq!(ev[1], ClientEvent::NeedBody(BodyFormat::DotStuffed));
}

#[test]
fn abort_ends_every_transaction_in_flight() {
    let mut s = connected(&["PIPELINING", "CHUNKING"], windowed(4));
    for _ in 0..3 {
        bdat(&mut s);
    }
    take(&mut s);
    s.input(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 one\r\n250 2.1.0 Ok\r\n");
    assert!(done(&mut s).delivered(0));
    s.abort(local::CONNECTION_LOST);
    let ev = events(&mut s);
    assert_eq!(ev.len(), 3, "{ev:?}");
    for e in &ev[..2] {
        let ClientEvent::TransactionDone(r) = e else {
            panic!("{e:?}")
        };
        assert_eq!(r.outcome(0), &local::CONNECTION_LOST);
    }
    assert_eq!(ev[2], ClientEvent::Closed(local::CONNECTION_LOST));
    assert_eq!(s.in_flight(), 0);
}

#[test]
fn a_421_mid_window_answers_everything_in_flight() {
    let mut s = connected(&["PIPELINING", "CHUNKING"], windowed(2));
    bdat(&mut s);
    bdat(&mut s);
    take(&mut s);
    s.input(b"421 4.3.2 shutting down\r\n");
    let ev = events(&mut s);
    assert_eq!(ev.len(), 3, "{ev:?}");
    for e in &ev[..2] {
        assert!(matches!(e, ClientEvent::TransactionDone(r) if r.outcome(0).code == 421));
    }
    assert!(matches!(&ev[2], ClientEvent::Closed(r) if r.code == 421));
}

#[test]
fn a_window_needs_the_server_to_pipeline() {
    let mut s = connected(&["CHUNKING"], windowed(4));
    s.send_mail(&envelope(&["bob"])).unwrap();
    assert_eq!(
        events(&mut s),
        [],
        "lock-step BDAT waits for the RCPT reply"
    );
    assert!(!s.can_send_mail());
    assert_eq!(take(&mut s), "MAIL FROM:<alice@example.org>\r\n");
}

#[test]
fn a_window_of_one_is_one_transaction_at_a_time() {
    let mut s = connected(&["PIPELINING", "CHUNKING"], windowed(1));
    s.send_mail(&envelope(&["bob"])).unwrap();
    assert_eq!(
        events(&mut s),
        [],
        "the body waits for an accepted recipient"
    );
    assert_eq!(take(&mut s), MAIL1);
    assert!(!s.can_send_mail());
    s.input(b"250 Ok\r\n250 Ok\r\n");
    assert_eq!(events(&mut s), [ClientEvent::NeedBody(BodyFormat::Raw)]);
}

#[test]
fn a_local_refusal_in_a_window_comes_at_once() {
    let mut s = connected(&["PIPELINING", "CHUNKING", "SIZE 100"], windowed(3));
    bdat(&mut s);
    let mut big = envelope(&["bob"]);
    big.params.size = Some(1000);
    s.send_mail(&big).unwrap();
    let r = done(&mut s);
    assert!(r.local);
    assert_eq!(r.mail.code, 552);
    assert_eq!(s.in_flight(), 1, "the refused one never went out");
}

/// One scripted transaction: the server's code for MAIL, each RCPT and the BDAT.
#[derive(Debug, Clone)]
struct Scripted {
    mail: u16,
    rcpts: Vec<u16>,
    bdat: u16,
}

fn scripted() -> impl proptest::strategy::Strategy<Value = Scripted> {
    use proptest::prelude::*;
    let code = || prop_oneof![4 => Just(250u16), 1 => Just(451u16), 1 => Just(550u16)];
    (code(), proptest::collection::vec(code(), 1..4), code())
        .prop_map(|(mail, rcpts, bdat)| Scripted { mail, rcpts, bdat })
}

fn reply_bytes(code: u16) -> String {
    format!("{code} x\r\n")
}

proptest::proptest! {
    /// Whatever the window, the codes and where the server's bytes are cut, every
    /// transaction gets exactly its own replies, in order, and nothing is left in flight.
    #[test]
    fn windowed_bdat_results_match_the_script(
        window in 2usize..6,
        txns in proptest::collection::vec(scripted(), 1..12),
        cuts in proptest::collection::vec(1usize..40, 1..200),
    ) {
        let extensions = ["PIPELINING", "CHUNKING"];
        let mut s = connected(&extensions, windowed(window));
        let mut started = 0;
        // The server's replies to everything written so far, not yet fed to the session.
        let mut wire = String::new();
        let mut results = Vec::new();
        let mut cut = cuts.iter().cycle();
        while results.len() < txns.len() {
            while started < txns.len() && s.can_send_mail() {
                let t = &txns[started];
                let names: Vec<String> = (0..t.rcpts.len()).map(|i| format!("r{i}")).collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                s.send_mail(&envelope(&names)).unwrap();
                for e in events(&mut s) {
                    proptest::prop_assert_eq!(e, ClientEvent::NeedBody(BodyFormat::Raw));
                    s.send_body(RAW).unwrap();
                }
                take(&mut s);
                // A server answers every pipelined command, BDAT included.
                wire += &reply_bytes(t.mail);
                for &r in &t.rcpts {
                    wire += &reply_bytes(r);
                }
                wire += &reply_bytes(t.bdat);
                wire += &reply_bytes(250); // the RSET that closes an eager BDAT
                started += 1;
            }
            let n = (*cut.next().unwrap()).min(wire.len());
            s.input(&wire.as_bytes()[..n]);
            wire.drain(..n);
            for e in events(&mut s) {
                match e {
                    ClientEvent::TransactionDone(r) => results.push(r),
                    other => proptest::prop_assert!(false, "{other:?}"),
                }
            }
        }
        proptest::prop_assert!(s.is_idle());
        proptest::prop_assert_eq!(s.in_flight(), 0);
        for (t, r) in txns.iter().zip(&results) {
            proptest::prop_assert_eq!(r.mail.code, t.mail);
            let got: Vec<u16> = r.rcpts.iter().map(|x| x.code).collect();
            proptest::prop_assert_eq!(&got, &t.rcpts);
            proptest::prop_assert_eq!(r.data.as_ref().map(|d| d.code), Some(t.bdat));
            for i in 0..t.rcpts.len() {
                let decides = if t.mail != 250 {
                    t.mail
                } else if t.rcpts[i] != 250 {
                    t.rcpts[i]
                } else {
                    t.bdat
                };
                proptest::prop_assert_eq!(r.outcome(i).code, decides, "{:?} {:?}", t, r);
            }
        }
    }
}
