//! Whole SMTP transactions against the real server: with lettre as an independent client,
//! and byte for byte over raw sockets (greeting, EHLO, PIPELINING, BDAT, dot-stuffing).
//! Every accepted message is then read back with `tern queue list` and `tern queue show`.

mod common;

use common::{dot_stuff, queued_id, Dir, GREETING};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{Message, SmtpTransport, Transport};

fn mailbox(s: &str) -> Mailbox {
    match s.parse() {
        Ok(m) => m,
        Err(e) => panic!("mailbox {s}: {e}"),
    }
}

/// The id in lettre's view of `250 2.0.0 Ok: queued as ID`.
fn lettre_id(response: &lettre::transport::smtp::response::Response) -> String {
    let text: Vec<&str> = response.message().collect();
    assert_eq!(text.len(), 1, "{text:?}");
    queued_id(&format!("250 {}", text[0]))
}

#[test]
fn lettre_one_and_several_recipients() {
    let dir = Dir::new();
    let tern = dir.start(1, "");
    let mailer = SmtpTransport::builder_dangerous("127.0.0.1")
        .port(tern.settings.port)
        .build();
    // A leading dot and an empty line: lettre dot-stuffs, tern must unstuff.
    let one = Message::builder()
        .from(mailbox("Alice <alice@a.test>"))
        .to(mailbox("bob@b.test"))
        .subject("one recipient")
        .header(ContentType::TEXT_PLAIN)
        .body(String::from(
            "Hello Bob.\r\n.leading dot\r\n\r\n..two dots\r\nbye\r\n",
        ));
    let several = Message::builder()
        .from(mailbox("alice@a.test"))
        .to(mailbox("carol@c.test"))
        .to(mailbox("dave@d.test"))
        .cc(mailbox("erin@e.test"))
        .subject("three recipients")
        .header(ContentType::TEXT_PLAIN)
        .body(String::from("To all of you.\r\n"));
    let (one, several) = match (one, several) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => panic!("building messages: {:?} {:?}", a.err(), b.err()),
    };
    let mut ids = Vec::new();
    for m in [&one, &several] {
        match mailer.send(m) {
            Ok(r) => ids.push(lettre_id(&r)),
            Err(e) => panic!("lettre send: {e}; stderr:\n{}", tern.stderr()),
        }
    }
    assert_ne!(ids[0], ids[1]);

    let listed = tern.queue_list();
    assert_eq!(listed.len(), 2, "{listed:?}");
    let by_id = |id: &str| match listed.iter().find(|l| l.id == id) {
        Some(l) => l.clone(),
        None => panic!("{id} not listed: {listed:?}"),
    };
    let l1 = by_id(&ids[0]);
    assert_eq!(l1.from, "<alice@a.test>");
    assert_eq!(l1.to, "<bob@b.test> (queued)");
    let l2 = by_id(&ids[1]);
    assert_eq!(l2.from, "<alice@a.test>");
    assert_eq!(
        l2.to,
        "<carol@c.test> (queued), <dave@d.test> (queued), <erin@e.test> (queued)"
    );

    for (id, m) in ids.iter().zip([&one, &several]) {
        let shown = tern.queue_show(id);
        // lettre always ends the data with CRLF "." CRLF after the message, so the message
        // as received is lettre's text plus one CRLF.
        let mut want = m.formatted();
        want.extend_from_slice(b"\r\n");
        assert_eq!(
            String::from_utf8_lossy(shown.message()),
            String::from_utf8_lossy(&want)
        );
        assert_eq!(shown.message(), want.as_slice());
        let listed = by_id(id);
        assert_eq!(listed.bytes, shown.stored.len() as u64, "{listed:?}");
        // lettre without its `hostname` feature greets with an address literal.
        assert!(
            shown.header.contains("\nclient: [127.0.0.1] [127.0.0.1]\n"),
            "{}",
            shown.header
        );
    }
}

#[test]
fn greeting_and_ehlo_exact() {
    let dir = Dir::new();
    let tern = dir.start(1, "[limits]\nmax_message_size = \"64KiB\"\n");
    let mut c = common::Client::connect(tern.addr());
    c.expect(GREETING);
    c.send("EHLO client.test\r\n");
    c.expect(
        "250-mx.test greets client.test\r\n250-PIPELINING\r\n250-SIZE 65536\r\n\
         250-8BITMIME\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-DSN\r\n\
         250-ENHANCEDSTATUSCODES\r\n250-SMTPUTF8\r\n250 HELP\r\n",
    );
    c.cmd("HELO other.test", "250 mx.test Hello other.test\r\n");
    c.cmd("NOOP", "250 2.0.0 Ok\r\n");
    c.cmd("QUIT", "221 2.0.0 mx.test closing connection\r\n");
    c.expect_closed();
}

#[test]
fn pipelined_transaction() {
    let dir = Dir::new();
    let tern = dir.start(1, "");
    let mut c = tern.client();
    c.ehlo();
    c.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n");
    assert_eq!(
        c.replies(4),
        "250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n250 2.1.5 Recipient ok\r\n\
         354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n"
    );
    let message = b"Subject: pipelined\r\n\r\nbody line\r\n".as_slice();
    let mut tail = message.to_vec();
    tail.extend_from_slice(b".\r\nQUIT\r\n");
    c.send(&tail);
    let id = queued_id(&c.reply());
    c.expect("221 2.0.0 mx.test closing connection\r\n");
    c.expect_closed();

    let listed = tern.queue_list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].from, "<a@x.test>");
    assert_eq!(listed[0].to, "<b@y.test> (queued), <c@y.test> (queued)");
    assert_eq!(tern.queue_show(&id).message(), message);
}

#[test]
fn dot_stuffed_lines_are_unstuffed() {
    let dir = Dir::new();
    let tern = dir.start(1, "");
    let mut c = tern.client();
    c.ehlo();
    let message: &[u8] =
        b"Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\nmiddle . dot\r\n.\r\n\r\n. \r\nend.\r\n";
    let wire = dot_stuff(message);
    assert_eq!(
        wire.as_slice(),
        b"Subject: dots\r\n\r\n..\r\n...\r\n..leading\r\nmiddle . dot\r\n..\r\n\r\n.. \r\nend.\r\n"
            .as_slice()
    );
    let id = c.send_message("a@x.test", &["b@y.test"], &wire);
    // The empty message is the shortest one: just the terminator.
    let empty = c.send_message("a@x.test", &["b@y.test"], b"");
    c.cmd("QUIT", "221 2.0.0 mx.test closing connection\r\n");
    assert_eq!(tern.queue_show(&id).message(), message);
    assert_eq!(tern.queue_show(&empty).message(), b"");
}

#[test]
fn bdat_chunks_carry_binary_bytes() {
    let dir = Dir::new();
    let tern = dir.start(1, "");
    let mut c = tern.client();
    c.ehlo();
    c.cmd(
        "MAIL FROM:<a@x.test> BODY=BINARYMIME",
        "250 2.1.0 Sender ok\r\n",
    );
    c.cmd("RCPT TO:<b@y.test>", "250 2.1.5 Recipient ok\r\n");
    // NUL, bare LF, bare CR, what looks like an end of data, and a line that looks like a
    // command: BDAT counts bytes, nothing in them is syntax.
    let chunk1: &[u8] = b"Subject: bin\r\n\r\n\0\x01bare\nlf\rcr\r\n.\r\nQUIT\r\n";
    let chunk2: Vec<u8> = (0u8..=255).collect();
    let chunk3: &[u8] = b"\r\n..\r\n.";
    c.send(format!("BDAT {}\r\n", chunk1.len()));
    c.send(chunk1);
    c.expect(&format!("250 2.0.0 {} octets received\r\n", chunk1.len()));
    // The second chunk and the next command in one write: the exact count splits them.
    let mut w = format!("BDAT {}\r\n", chunk2.len()).into_bytes();
    w.extend_from_slice(&chunk2);
    w.extend_from_slice(format!("BDAT {}\r\n", chunk3.len()).as_bytes());
    w.extend_from_slice(chunk3);
    c.send(&w);
    let total1 = chunk1.len() + chunk2.len();
    let total2 = total1 + chunk3.len();
    assert_eq!(
        c.replies(2),
        format!("250 2.0.0 {total1} octets received\r\n250 2.0.0 {total2} octets received\r\n")
    );
    c.send("BDAT 0 LAST\r\n");
    let id = queued_id(&c.reply());
    // A second message in the same session, in one chunk with LAST.
    c.cmd("MAIL FROM:<a@x.test>", "250 2.1.0 Sender ok\r\n");
    c.cmd("RCPT TO:<b@y.test>", "250 2.1.5 Recipient ok\r\n");
    c.send("BDAT 5 LAST\r\nhello");
    let id2 = queued_id(&c.reply());
    c.cmd("QUIT", "221 2.0.0 mx.test closing connection\r\n");

    let mut want = chunk1.to_vec();
    want.extend_from_slice(&chunk2);
    want.extend_from_slice(chunk3);
    assert_eq!(tern.queue_show(&id).message(), want.as_slice());
    assert_eq!(tern.queue_show(&id2).message(), b"hello");
}
