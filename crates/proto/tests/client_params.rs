//! Which ESMTP parameters the client sends, and which messages it refuses locally, for
//! each set of extensions the next hop offers.

use tern_proto::client::{local, BodyFormat, ClientEvent, Envelope, Recipient};
use tern_proto::params::Orcpt;
use tern_proto::{
    BodyType, Enhanced, ForwardPath, MailParams, Notify, RcptParams, Ret, ReversePath,
};

mod client_common;
use client_common::*;

#[test]
fn chunking_can_be_turned_off_but_not_for_binarymime() {
    let mut o = opts();
    o.chunking = false;
    let mut s = connected(&["CHUNKING", "BINARYMIME"], o);
    s.send_mail(&envelope(&["a"])).unwrap();
    assert_eq!(take(&mut s), "MAIL FROM:<alice@example.org>\r\n");
    s.input(b"250 Ok\r\n250 Ok\r\n");
    assert_eq!(take(&mut s), "RCPT TO:<a@example.net>\r\nDATA\r\n");
    s.input(b"451 later\r\n");
    assert_eq!(take(&mut s), "RSET\r\n");
    s.input(b"250 Ok\r\n");
    assert_eq!(codes(&done(&mut s), 1), [451]);

    let mut env = envelope(&["a"]);
    env.params.body = Some(BodyType::BinaryMime);
    s.send_mail(&env).unwrap();
    assert_eq!(
        take(&mut s),
        "MAIL FROM:<alice@example.org> BODY=BINARYMIME\r\n"
    );
    s.input(b"250 Ok\r\n250 Ok\r\n");
    take(&mut s);
    assert_eq!(events(&mut s), [ClientEvent::NeedBody(BodyFormat::Raw)]);
}

#[test]
fn binarymime_without_chunking_is_refused_locally() {
    for ext in [&["BINARYMIME"][..], &["CHUNKING"], &[]] {
        let mut s = connected(ext, opts());
        let mut env = envelope(&["a"]);
        env.params.body = Some(BodyType::BinaryMime);
        s.send_mail(&env).unwrap();
        assert_eq!(take(&mut s), "");
        let r = done(&mut s);
        assert!(r.local);
        assert_eq!(r.outcome(0), &local::BINARY_NOT_SUPPORTED);
        assert_eq!(r.outcome(0).enhanced, Some(Enhanced(5, 6, 1)));
        assert!(s.is_idle());
    }
}

fn dsn_envelope() -> Envelope {
    let mut env = envelope(&["bob", "carol"]);
    env.params.ret = Some(Ret::Hdrs);
    env.params.envid = Some("id+1 2=3".into());
    env.rcpts[0].params.notify = Some(Notify {
        success: true,
        failure: true,
        ..Default::default()
    });
    env.rcpts[0].params.orcpt = Some(Orcpt {
        addr_type: "rfc822".into(),
        addr: "bob+x@example.net".into(),
    });
    env.rcpts[1].params.notify = Some(Notify {
        never: true,
        ..Default::default()
    });
    env
}

#[test]
fn dsn_parameters_only_when_offered() {
    let mut s = connected(&["PIPELINING", "DSN"], opts());
    s.send_mail(&dsn_envelope()).unwrap();
    assert_eq!(
        take(&mut s),
        "MAIL FROM:<alice@example.org> RET=HDRS ENVID=id+2B1+202+3D3\r\n\
         RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+2Bx@example.net\r\n\
         RCPT TO:<carol@example.net> NOTIFY=NEVER\r\nDATA\r\n"
    );

    let mut s = connected(&["PIPELINING"], opts());
    s.send_mail(&dsn_envelope()).unwrap();
    assert_eq!(
        take(&mut s),
        "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n\
         RCPT TO:<carol@example.net>\r\nDATA\r\n"
    );
}

#[test]
fn notify_delay_alone() {
    let mut s = connected(&["DSN"], opts());
    let mut env = envelope(&["a"]);
    env.rcpts[0].params.notify = Some(Notify {
        delay: true,
        ..Default::default()
    });
    s.send_mail(&env).unwrap();
    take(&mut s);
    s.input(b"250 Ok\r\n");
    assert_eq!(take(&mut s), "RCPT TO:<a@example.net> NOTIFY=DELAY\r\n");
}

fn utf8_envelope() -> Envelope {
    let mut env = envelope(&["bob"]);
    env.rcpts[0].path = ForwardPath::Mailbox(mbox("j\u{f6}rg", "example.de"));
    env
}

#[test]
fn smtputf8_when_offered() {
    let mut s = connected(&["SMTPUTF8", "8BITMIME"], opts());
    let mut env = utf8_envelope();
    env.params.body = Some(BodyType::EightBitMime);
    s.send_mail(&env).unwrap();
    assert_eq!(
        take(&mut s),
        "MAIL FROM:<alice@example.org> BODY=8BITMIME SMTPUTF8\r\n"
    );
    s.input(b"250 Ok\r\n");
    assert_eq!(take(&mut s), "RCPT TO:<j\u{f6}rg@example.de>\r\n");
}

#[test]
fn smtputf8_flag_alone_also_needs_the_extension() {
    let mut s = connected(&["SMTPUTF8"], opts());
    let mut env = envelope(&["bob"]);
    env.params.smtputf8 = true;
    s.send_mail(&env).unwrap();
    assert_eq!(take(&mut s), "MAIL FROM:<alice@example.org> SMTPUTF8\r\n");
}

#[test]
fn smtputf8_missing_is_a_local_553() {
    let mut s = connected(&["8BITMIME", "PIPELINING"], opts());
    s.send_mail(&utf8_envelope()).unwrap();
    assert_eq!(take(&mut s), "");
    let r = done(&mut s);
    assert!(r.local);
    assert_eq!(r.outcome(0).code, 553);
    assert_eq!(r.outcome(0).enhanced, Some(Enhanced(5, 6, 7)));
    // The session is still usable for the next message.
    s.send_mail(&envelope(&["bob"])).unwrap();
    assert!(take(&mut s).starts_with("MAIL FROM:<alice@example.org>\r\n"));
}

#[test]
fn size_parameter_and_local_limit() {
    let mut env = envelope(&["a"]);
    env.params.size = Some(1001);

    let mut s = connected(&["SIZE 1000"], opts());
    s.send_mail(&env).unwrap();
    assert_eq!(take(&mut s), "");
    let r = done(&mut s);
    assert!(r.local);
    assert_eq!(
        (r.mail.code, r.mail.enhanced),
        (552, Some(Enhanced(5, 3, 4)))
    );
    assert!(r.mail.text.contains("1000"));

    env.params.size = Some(1000);
    s.send_mail(&env).unwrap();
    assert_eq!(take(&mut s), "MAIL FROM:<alice@example.org> SIZE=1000\r\n");

    // SIZE without a limit: the parameter goes out, no local check.
    let mut s = connected(&["SIZE"], opts());
    env.params.size = Some(u64::MAX);
    s.send_mail(&env).unwrap();
    assert_eq!(
        take(&mut s),
        format!("MAIL FROM:<alice@example.org> SIZE={}\r\n", u64::MAX)
    );

    // No SIZE extension: no parameter.
    let mut s = connected(&[], opts());
    s.send_mail(&env).unwrap();
    assert_eq!(take(&mut s), "MAIL FROM:<alice@example.org>\r\n");
}

#[test]
fn eightbit_without_8bitmime() {
    let mut env = envelope(&["a"]);
    env.params.body = Some(BodyType::EightBitMime);
    let mut s = connected(&[], opts());
    s.send_mail(&env).unwrap();
    assert_eq!(take(&mut s), "MAIL FROM:<alice@example.org>\r\n");

    let mut o = opts();
    o.refuse_8bit_without_8bitmime = true;
    let mut s = connected(&[], o);
    s.send_mail(&env).unwrap();
    assert_eq!(take(&mut s), "");
    assert_eq!(done(&mut s).mail, local::EIGHTBIT_NOT_SUPPORTED);

    // 7BIT is the default and is never labelled.
    env.params.body = Some(BodyType::SevenBit);
    let mut s = connected(&["8BITMIME"], opts());
    s.send_mail(&env).unwrap();
    assert_eq!(take(&mut s), "MAIL FROM:<alice@example.org>\r\n");
}

#[test]
fn null_sender_and_postmaster() {
    let mut s = connected(&["PIPELINING"], opts());
    let env = Envelope {
        from: ReversePath::Null,
        params: MailParams::default(),
        rcpts: vec![Recipient {
            path: ForwardPath::Postmaster,
            params: RcptParams::default(),
        }],
    };
    s.send_mail(&env).unwrap();
    assert_eq!(
        take(&mut s),
        "MAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n"
    );
}
