//! MX delivery against a DNS server on loopback (a fixed table answered with simple-dns
//! over a std UdpSocket in a thread): MX by preference, implicit MX, null MX (RFC 7505) and
//! a domain that does not exist.

mod common;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{wait_for, Dir, Sink};
use simple_dns::rdata::{RData, A, MX};
use simple_dns::{Name, Packet, ResourceRecord, CLASS, QTYPE, RCODE, TYPE};
use tern_proto::ReversePath;

/// Answers from the table until stopped.
struct DnsServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl DnsServer {
    fn start() -> DnsServer {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("dns bind: {e}"));
        let port = sock
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = sock.set_read_timeout(Some(Duration::from_millis(50)));
        let stop = Arc::new(AtomicBool::new(false));
        let st = Arc::clone(&stop);
        thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !st.load(Ordering::SeqCst) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(reply) = answer(&buf[..n]) {
                    let _ = sock.send_to(&reply, from);
                }
            }
        });
        DnsServer { port, stop }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn answer(query: &[u8]) -> Option<Vec<u8>> {
    let q = Packet::parse(query).ok()?;
    let question = q.questions.first()?.clone();
    let name = question.qname.to_string().to_ascii_lowercase();
    let mut r = Packet::new_reply(q.id());
    r.questions.push(question.clone());
    let rr = |rdata| ResourceRecord::new(question.qname.clone(), CLASS::IN, 60, rdata);
    let mx = |pref, host| {
        rr(RData::MX(MX {
            preference: pref,
            exchange: Name::new_unchecked(host),
        }))
    };
    let localhost = rr(RData::A(A {
        address: 0x7f00_0001,
    }));
    let is = |t| question.qtype == QTYPE::TYPE(t);
    match name.as_str() {
        // The better exchanger does not exist; the second one is the sink.
        "mx.test" | "example.org" if is(TYPE::MX) => {
            r.answers.push(mx(20, "mail.mx.test"));
            r.answers.push(mx(10, "gone.mx.test"));
        }
        "mail.mx.test" | "implicit.test" if is(TYPE::A) => r.answers.push(localhost),
        "null.test" if is(TYPE::MX) => r.answers.push(mx(0, "")),
        "nx.test" | "gone.mx.test" => *r.rcode_mut() = RCODE::NameError,
        // Everything else exists with no records of the asked type (NODATA).
        _ => {}
    }
    r.build_bytes_vec().ok()
}

#[test]
fn mx_routing_with_implicit_null_and_missing_domains() {
    let dns = DnsServer::start();
    let sink = Sink::start(0, &["mx.test", "implicit.test", "example.org"]);
    let dir = Dir::new();
    let tern = dir.start_routed(&format!(
        "[delivery]\nresolver = \"127.0.0.1:{}\"\nretry_initial = \"1s\"\n\n\
         [[route]]\ndomains = [\"*\"]\nmx = true\nport = {}\n",
        dns.port,
        sink.addr.port()
    ));
    tern.submit(
        "MAIL FROM:<alice@example.org>",
        &[
            "RCPT TO:<bob@mx.test>",
            "RCPT TO:<x@null.test>",
            "RCPT TO:<y@implicit.test>",
            "RCPT TO:<z@nx.test>",
        ],
        b"Subject: mx\r\n\r\nhello\r\n",
    );
    assert!(
        wait_for(Duration::from_secs(15), || sink.count() == 3),
        "got {}",
        sink.count()
    );
    thread::sleep(Duration::from_millis(500));
    let got = sink.messages();
    assert_eq!(got.len(), 3);
    let mut delivered: Vec<String> = got
        .iter()
        .filter(|m| m.envelope.from != ReversePath::Null)
        .flat_map(|m| m.envelope.rcpts.iter().map(|r| r.path.to_string()))
        .collect();
    delivered.sort();
    assert_eq!(delivered, ["<bob@mx.test>", "<y@implicit.test>"]);
    let bounce = got
        .iter()
        .find(|m| m.envelope.from == ReversePath::Null)
        .unwrap_or_else(|| panic!("no bounce"));
    let text = String::from_utf8_lossy(&bounce.body).into_owned();
    for want in [
        "Final-Recipient: rfc822; x@null.test\r\nAction: failed\r\nStatus: 5.1.10\r\n",
        "Diagnostic-Code: x-tern; 556 5.1.10 Recipient address has null MX",
        "Final-Recipient: rfc822; z@nx.test\r\nAction: failed\r\nStatus: 5.1.2\r\n",
        "Diagnostic-Code: x-tern; 550 5.1.2 Recipient domain nx.test does not exist",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!text.contains("bob@mx.test\r\nAction"), "{text}");
}
