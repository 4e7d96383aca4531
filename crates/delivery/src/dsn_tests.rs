//! Exact DSN text, byte for byte, and the NOTIFY rules.

use tern_proto::params::{Notify, Orcpt, Ret};
use tern_proto::reply::{Enhanced, Reply};
use tern_proto::{Envelope, ForwardPath, MailParams, Mailbox, RcptParams, Recipient, ReversePath};

use crate::dsn::{build, wanted, Action, Report, ReportRecipient};
use crate::outcome::Recorded;

fn rcpt(local: &str, orcpt: Option<&str>) -> Recipient {
    Recipient {
        path: ForwardPath::Mailbox(Mailbox::from_parts(local, "example.net")),
        params: RcptParams {
            notify: None,
            orcpt: orcpt.map(|a| Orcpt {
                addr_type: "rfc822".into(),
                addr: a.into(),
            }),
        },
    }
}

fn envelope(ret: Option<Ret>, envid: Option<&str>) -> Envelope {
    Envelope {
        from: ReversePath::Mailbox(Mailbox::from_parts("alice", "example.org")),
        params: MailParams {
            ret,
            envid: envid.map(str::to_owned),
            ..MailParams::default()
        },
        rcpts: vec![rcpt("bob", Some("bob@old.example")), rcpt("carol", None)],
    }
}

const ORIGINAL: &[u8] = b"Subject: hi\r\nFrom: alice@example.org\r\n\r\nbody line\r\n.dot\r\n";

fn report(env: &Envelope, action: Action, recipients: &[ReportRecipient]) -> String {
    let r = Report {
        reporting_mta: "relay.example",
        id: "0000000000000001-00000000000000000005-0000000000000000",
        envelope: env,
        arrival: 1_796_000_000,
        now: 1_796_003_600,
        action,
        recipients,
        original: ORIGINAL,
    };
    String::from_utf8(build(&r)).unwrap_or_default()
}

#[test]
fn failure_report_exact() {
    let env = envelope(None, Some("QQ314159"));
    let recipients = [
        ReportRecipient {
            rcpt: env.rcpts[0].clone(),
            reply: Some(Recorded::remote(
                "192.0.2.25",
                &Reply::new(550, Some(Enhanced(5, 1, 1)), "No such user"),
            )),
        },
        ReportRecipient {
            rcpt: env.rcpts[1].clone(),
            reply: Some(Recorded::local(&Reply::new(
                421,
                Some(Enhanced(4, 4, 1)),
                "Connection refused by 192.0.2.25",
            ))),
        },
    ];
    let got = report(&env, Action::Failed, &recipients);
    let b = "0000000000000001-00000000000000000005-0000000000000000.failed/relay.example";
    let want = format!(
        "From: Mail Delivery System <MAILER-DAEMON@relay.example>\r\n\
To: <alice@example.org>\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Date: Mon, 30 Nov 2026 01:53:20 +0000\r\n\
Message-ID: <0000000000000001-00000000000000000005-0000000000000000.failed@relay.example>\r\n\
Auto-Submitted: auto-replied\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\
\tboundary=\"{b}\"\r\n\
\r\n\
This is a MIME-encapsulated message.\r\n\
\r\n\
--{b}\r\n\
Content-Description: Notification\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
This is the mail system at host relay.example.\r\n\
\r\n\
Your message could not be delivered to one or more recipients.\r\n\
It is attached below; the reasons follow.\r\n\
\r\n\
<bob@example.net>: 192.0.2.25 said: 550 5.1.1 No such user\r\n\
<carol@example.net>: 421 4.4.1 Connection refused by 192.0.2.25\r\n\
\r\n\
--{b}\r\n\
Content-Description: Delivery report\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; relay.example\r\n\
Original-Envelope-Id: QQ314159\r\n\
Arrival-Date: Mon, 30 Nov 2026 00:53:20 +0000\r\n\
\r\n\
Final-Recipient: rfc822; bob@example.net\r\n\
Original-Recipient: rfc822; bob@old.example\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Remote-MTA: dns; 192.0.2.25\r\n\
Diagnostic-Code: smtp; 550 5.1.1 No such user\r\n\
Last-Attempt-Date: Mon, 30 Nov 2026 01:53:20 +0000\r\n\
\r\n\
Final-Recipient: rfc822; carol@example.net\r\n\
Action: failed\r\n\
Status: 4.4.1\r\n\
Diagnostic-Code: x-tern; 421 4.4.1 Connection refused by 192.0.2.25\r\n\
Last-Attempt-Date: Mon, 30 Nov 2026 01:53:20 +0000\r\n\
\r\n\
--{b}\r\n\
Content-Description: Undelivered message\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Subject: hi\r\n\
From: alice@example.org\r\n\
\r\n\
body line\r\n\
.dot\r\n\
\r\n\
--{b}--\r\n"
    );
    assert_eq!(got, want);
}

#[test]
fn headers_only_and_delay_and_relay() {
    let env = envelope(Some(Ret::Hdrs), None);
    let one = [ReportRecipient {
        rcpt: env.rcpts[1].clone(),
        reply: Some(Recorded::remote(
            "192.0.2.25",
            &Reply::new(451, Some(Enhanced(4, 3, 0)), "Later"),
        )),
    }];
    let delayed = report(&env, Action::Delayed, &one);
    assert!(delayed.contains("Subject: Delayed Mail (still being retried)\r\n"));
    assert!(delayed.contains("\r\nAction: delayed\r\nStatus: 4.3.0\r\n"));
    assert!(!delayed.contains("Original-Envelope-Id"));
    assert!(delayed.contains(
        "Content-Type: text/rfc822-headers\r\n\r\nSubject: hi\r\nFrom: alice@example.org\r\n\r\n--"
    ));
    assert!(!delayed.contains("body line"));
    let relayed = report(
        &env,
        Action::Relayed,
        &[ReportRecipient {
            rcpt: env.rcpts[1].clone(),
            reply: None,
        }],
    );
    assert!(relayed.contains(
        "\r\nFinal-Recipient: rfc822; carol@example.net\r\nAction: relayed\r\nStatus: 2.0.0\r\n\r\n--"
    ));
}

#[test]
fn notify_rules() {
    let n = |never, success, failure, delay| {
        Some(Notify {
            never,
            success,
            failure,
            delay,
        })
    };
    let table = [
        (None, [true, false, false]),
        (n(true, false, false, false), [false, false, false]),
        (n(false, true, false, false), [false, false, true]),
        (n(false, false, true, false), [true, false, false]),
        (n(false, false, false, true), [false, true, false]),
        (n(false, true, true, true), [true, true, true]),
    ];
    for (notify, [f, d, r]) in table {
        assert_eq!(wanted(notify, Action::Failed), f, "{notify:?}");
        assert_eq!(wanted(notify, Action::Delayed), d, "{notify:?}");
        assert_eq!(wanted(notify, Action::Relayed), r, "{notify:?}");
    }
}
