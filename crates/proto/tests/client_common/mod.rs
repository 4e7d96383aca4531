//! Helpers shared by the client session tests: a session connected to a scripted
//! server, envelopes, and the results of a transaction.
#![allow(dead_code)] // each test file uses its own subset

use tern_proto::client::{
    ClientEvent, ClientOptions, ClientSession, Envelope, Recipient, TransactionResult,
};
use tern_proto::{ForwardPath, MailParams, Mailbox, RcptParams, Reply, ReversePath};

/// Takes everything the session wants to write.
pub fn take(s: &mut ClientSession) -> String {
    let out = String::from_utf8(s.output().to_vec()).unwrap();
    s.consume_output(out.len());
    out
}

pub fn events(s: &mut ClientSession) -> Vec<ClientEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

pub fn opts() -> ClientOptions {
    ClientOptions::new("relay.example")
}

/// A session past greeting and EHLO, the EHLO reply listing `extensions`.
pub fn connected(extensions: &[&str], opts: ClientOptions) -> ClientSession {
    let mut s = ClientSession::new(opts);
    s.input(b"220 mx.example ESMTP\r\n");
    assert_eq!(take(&mut s), "EHLO relay.example\r\n");
    let mut lines = vec!["mx.example".to_owned()];
    lines.extend(extensions.iter().map(|x| x.to_string()));
    s.input(&Reply::new(250, None, lines.join("\n")).to_bytes(false));
    assert_eq!(events(&mut s), [ClientEvent::Ready]);
    assert!(s.is_idle());
    s
}

pub fn mbox(local: &str, domain: &str) -> Mailbox {
    Mailbox::from_parts(local, domain)
}

pub fn envelope(rcpts: &[&str]) -> Envelope {
    Envelope {
        from: ReversePath::Mailbox(mbox("alice", "example.org")),
        params: MailParams::default(),
        rcpts: rcpts
            .iter()
            .map(|r| Recipient {
                path: ForwardPath::Mailbox(mbox(r, "example.net")),
                params: RcptParams::default(),
            })
            .collect(),
    }
}

/// The one `TransactionDone` among the pending events (and nothing else).
pub fn done(s: &mut ClientSession) -> TransactionResult {
    match events(s).as_slice() {
        [ClientEvent::TransactionDone(r)] => r.clone(),
        other => panic!("expected TransactionDone, got {other:?}"),
    }
}

pub fn codes(r: &TransactionResult, n: usize) -> Vec<u16> {
    (0..n).map(|i| r.outcome(i).code).collect()
}
