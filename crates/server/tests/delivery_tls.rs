//! Outbound STARTTLS: opportunistic by default, `tls = "required"` with certificate
//! verification against `[delivery] tls_roots` (a test certificate made with rcgen).

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{wait_for, Dir, Sink, SinkState};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A self-signed certificate for `localhost` (its own root), as PEM and as a server config.
fn server_tls() -> (String, Arc<rustls::ServerConfig>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .unwrap_or_else(|e| panic!("rcgen: {e}"));
    let cert: CertificateDer<'static> = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap_or_else(|e| panic!("server config: {e}"));
    (ck.cert.pem(), Arc::new(config))
}

const BODY: &[u8] = b"Subject: tls\r\n\r\nsecret\r\n";

#[test]
fn opportunistic_starttls_is_used_when_offered() {
    let (_, tls) = server_tls();
    let state = Arc::new(SinkState::default());
    let sink = Sink::start_tls(0, &["example.net"], Arc::clone(&state), Some(tls));
    let dir = Dir::new();
    let tern = dir.start_routed(&format!(
        "[[route]]\ndomains = [\"*\"]\nsmarthost = [\"127.0.0.1:{}\"]\n",
        sink.addr.port()
    ));
    tern.submit(
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<bob@example.net>"],
        BODY,
    );
    assert!(wait_for(Duration::from_secs(10), || sink.count() == 1));
    assert_eq!(state.tls_sessions.load(Ordering::SeqCst), 1);
    assert!(sink.messages()[0].body.ends_with(BODY));
}

#[test]
fn required_tls_verifies_the_certificate() {
    let (pem, tls) = server_tls();
    let state = Arc::new(SinkState::default());
    let sink = Sink::start_tls(0, &["example.net"], Arc::clone(&state), Some(tls));
    let dir = Dir::new();
    let roots = dir.write("roots.pem", pem);
    let tern = dir.start_routed(&format!(
        "[delivery]\ntls_roots = \"{}\"\n\n[[route]]\ndomains = [\"*\"]\n\
         smarthost = [\"localhost:{}\"]\ntls = \"required\"\n",
        roots.display(),
        sink.addr.port()
    ));
    tern.submit(
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<bob@example.net>"],
        BODY,
    );
    assert!(wait_for(Duration::from_secs(10), || sink.count() == 1));
    assert_eq!(state.tls_sessions.load(Ordering::SeqCst), 1);
}

#[test]
fn required_tls_defers_on_an_untrusted_certificate_or_no_starttls() {
    let (_, tls) = server_tls();
    let (other_pem, _) = server_tls();
    let untrusted = Sink::start_tls(0, &["a.example"], Arc::default(), Some(tls));
    let plain = Sink::start(0, &["b.example"]);
    let dir = Dir::new();
    let roots = dir.write("roots.pem", other_pem);
    let mut tern = dir.start_routed(&format!(
        "[delivery]\ntls_roots = \"{}\"\nretry_initial = \"1s\"\n\n\
         [[route]]\ndomains = [\"a.example\"]\nsmarthost = [\"localhost:{}\"]\ntls = \"required\"\n\n\
         [[route]]\ndomains = [\"b.example\"]\nsmarthost = [\"127.0.0.1:{}\"]\ntls = \"required\"\n",
        roots.display(),
        untrusted.addr.port(),
        plain.addr.port()
    ));
    tern.submit(
        "MAIL FROM:<alice@example.org>",
        &["RCPT TO:<x@a.example>", "RCPT TO:<y@b.example>"],
        BODY,
    );
    thread::sleep(Duration::from_secs(3));
    assert_eq!(untrusted.state.transactions.load(Ordering::SeqCst), 0);
    assert_eq!(untrusted.state.tls_sessions.load(Ordering::SeqCst), 0);
    assert!(
        untrusted.state.connections.load(Ordering::SeqCst) >= 1,
        "it was tried"
    );
    assert_eq!(plain.state.transactions.load(Ordering::SeqCst), 0);
    assert!(
        plain.state.connections.load(Ordering::SeqCst) >= 1,
        "it was tried"
    );
    tern.kill9();
    let list = tern.queue_list_text();
    assert!(
        list.contains("to <x@a.example> (deferred), <y@b.example> (deferred)"),
        "{list}"
    );
}
