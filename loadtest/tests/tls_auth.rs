//! STARTTLS and AUTH end to end: the real sink offering them, the real sender using them,
//! and both reports agreeing on how many sessions were encrypted or authenticated.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use common::{send, send_full, Sink};
use serde_json::Value;

/// A certificate for 127.0.0.1 (its own root) written as `NAME.pem` and `NAME.key`.
fn cert_files(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn starttls_insecure_against_a_self_signed_sink() {
    for pipelining in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::start(dir.path(), &["--exit-after", "30", "--tls-self-signed"]);
        let mut args = vec![
            "--messages",
            "30",
            "--connections",
            "3",
            "--per-connection",
            "4",
            "--starttls",
            "--insecure",
        ];
        if pipelining {
            args.push("--pipelining");
        }
        let (code, r) = send(dir.path(), &sink.target(), &args);
        let k = sink.report();
        assert_eq!(code, 0, "{r}");
        assert_eq!((u(&r["ok"]), u(&r["failed"])), (30, 0), "{r}");
        assert_eq!(k["accepted"], 30);
        assert_eq!(k["bytes_accepted"], r["bytes_ok"]);
        // 30 messages at 4 per session: at least 8 sessions, every one of them over TLS.
        let sessions = u(&r["sessions"]);
        assert!(sessions >= 8, "{r}");
        assert_eq!(u(&r["tls_sessions"]), sessions, "{r}");
        assert_eq!(u(&k["tls_sessions"]), sessions, "{k}");
        assert_eq!(u(&k["sessions"]), sessions, "{k}");
        assert_eq!(k["tls_failures"], 0);
        assert_eq!(u(&r["latency_us"]["starttls"]["count"]), sessions);
    }
}

#[test]
fn a_sink_offering_starttls_still_takes_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(dir.path(), &["--exit-after", "5", "--tls-self-signed"]);
    let (code, r) = send(dir.path(), &sink.target(), &["--messages", "5"]);
    let k = sink.report();
    assert_eq!((code, u(&r["ok"])), (0, 5), "{r}");
    assert_eq!((u(&r["tls_sessions"]), u(&k["tls_sessions"])), (0, 0));
    assert_eq!(r["latency_us"]["starttls"]["count"], 0);
}

#[test]
fn starttls_verifies_against_the_sinks_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = cert_files(dir.path(), "sink");
    let sink = Sink::start(
        dir.path(),
        &[
            "--exit-after",
            "6",
            "--tls-cert",
            s(&cert),
            "--tls-key",
            s(&key),
        ],
    );
    let (code, r) = send(
        dir.path(),
        &sink.target(),
        &[
            "--messages",
            "6",
            "--connections",
            "2",
            "--starttls",
            "--ca",
            s(&cert),
        ],
    );
    let k = sink.report();
    assert_eq!(code, 0, "{r}");
    assert_eq!(u(&r["ok"]), 6);
    assert_eq!(u(&k["tls_sessions"]), u(&r["sessions"]));
    assert_eq!(u(&r["tls_sessions"]), u(&r["sessions"]));
}

#[test]
fn an_untrusted_certificate_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let (other, _) = cert_files(dir.path(), "other");
    let sink = Sink::start(dir.path(), &["--tls-self-signed"]);
    let (code, r, err) = send_full(
        dir.path(),
        &sink.target(),
        &[
            "--messages",
            "4",
            "--connections",
            "2",
            "--starttls",
            "--ca",
            s(&other),
        ],
    );
    let r = r.unwrap();
    assert_eq!(code, 1, "{err}");
    assert_eq!((u(&r["ok"]), u(&r["failed"])), (0, 4), "{r}");
    assert_eq!(r["tls_sessions"], 0);
    let want = format!(
        "TLS handshake with {} failed: invalid peer certificate",
        sink.target()
    );
    assert!(err.contains(&want), "{err}");
    // Said once, not once per session.
    assert_eq!(err.matches("TLS handshake").count(), 1, "{err}");
}

#[test]
fn starttls_against_a_sink_without_it_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(dir.path(), &[]);
    let (code, r, err) = send_full(
        dir.path(),
        &sink.target(),
        &[
            "--messages",
            "3",
            "--connections",
            "1",
            "--starttls",
            "--insecure",
        ],
    );
    let r = r.unwrap();
    assert_eq!(code, 1, "{err}");
    assert_eq!((u(&r["ok"]), u(&r["failed"])), (0, 3), "{r}");
    assert!(err.contains("did not offer or refused STARTTLS"), "{err}");
}

#[test]
fn unusable_tls_files_stop_the_run_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let (code, r, err) = send_full(
        dir.path(),
        "127.0.0.1:9",
        &["--messages", "1", "--starttls", "--ca", s(&missing)],
    );
    assert_eq!(code, 3, "{err}");
    assert!(r.is_none());
    assert!(err.contains("--ca: cannot read"), "{err}");

    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a key\n").unwrap();
    let (cert, _) = cert_files(dir.path(), "c");
    let out = std::process::Command::new(common::BIN)
        .args([
            "sink",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            s(&cert),
            "--tls-key",
        ])
        .arg(&junk)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--tls-key: no usable private key"), "{err}");
}

#[test]
fn auth_with_the_right_credentials_passes() {
    for tls in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let mut sink_args = vec!["--exit-after", "8", "--auth", "bob:s3cr:et"];
        let mut args = vec![
            "--messages",
            "8",
            "--connections",
            "2",
            "--per-connection",
            "3",
            "--auth",
            "bob:s3cr:et",
        ];
        if tls {
            sink_args.push("--tls-self-signed");
            args.extend(["--starttls", "--insecure"]);
        }
        let sink = Sink::start(dir.path(), &sink_args);
        let (code, r) = send(dir.path(), &sink.target(), &args);
        let k = sink.report();
        assert_eq!(code, 0, "tls {tls}: {r}");
        assert_eq!(u(&r["ok"]), 8);
        let sessions = u(&r["sessions"]);
        assert_eq!(u(&r["reply_codes"]["auth"]["235"]), sessions, "{r}");
        assert_eq!((u(&k["auth_ok"]), u(&k["auth_failed"])), (sessions, 0));
        assert_eq!(u(&k["tls_sessions"]), if tls { sessions } else { 0 });
    }
}

#[test]
fn auth_with_wrong_credentials_is_535_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(dir.path(), &["--auth", "bob:right"]);
    let (code, r, err) = send_full(
        dir.path(),
        &sink.target(),
        &[
            "--messages",
            "5",
            "--connections",
            "1",
            "--auth",
            "bob:wrong",
        ],
    );
    let r = r.unwrap();
    assert_eq!(code, 1, "{err}");
    assert_eq!((u(&r["ok"]), u(&r["failed"])), (0, 5), "{r}");
    assert_eq!(u(&r["reply_codes"]["auth"]["535"]), 5, "{r}");
    // Refused sessions end with a QUIT, not a dropped connection.
    assert_eq!(u(&r["reply_codes"]["session"]["221"]), 5, "{r}");
    assert_eq!(r["connection_errors"], 0);
    assert!(err.contains("refused AUTH PLAIN for \"bob\""), "{err}");
    assert!(!err.contains("wrong"), "the password leaked: {err}");
}

/// The sink's LOGIN, which `send` never uses, checked with a hand-driven client.
#[test]
fn the_sink_checks_auth_login_too() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(dir.path(), &["--auth", "ann:pw"]);
    let stream = TcpStream::connect(sink.target()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut w = stream;
    // The last line of the next reply.
    let mut reply = || loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.len() >= 4, "short reply {line:?}");
        if line.as_bytes()[3] == b' ' {
            return line;
        }
    };
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    assert!(reply().starts_with("220 "));
    w.write_all(b"EHLO t.example\r\n").unwrap();
    assert!(reply().starts_with("250 "));
    for (user, pass, want) in [("ann", "bad", "535 "), ("ann", "pw", "235 ")] {
        w.write_all(b"AUTH LOGIN\r\n").unwrap();
        assert!(reply().starts_with("334 "));
        w.write_all(format!("{}\r\n", b64(user)).as_bytes())
            .unwrap();
        assert!(reply().starts_with("334 "));
        w.write_all(format!("{}\r\n", b64(pass)).as_bytes())
            .unwrap();
        let got = reply();
        assert!(got.starts_with(want), "{user}:{pass}: {got}");
    }
}
