//! Process-level tests: the real `tern-loadtest sink` on a free loopback port, loaded by
//! the real `tern-loadtest send`, both reporting JSON that must agree to the message, the
//! recipient and the byte.

mod common;

use std::process::Command;

use common::{send, split_saved, Sink, BIN};

#[test]
fn counts_match_in_every_mode() {
    for (pipelining, chunking) in [(false, false), (true, false), (false, true), (true, true)] {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::start(dir.path(), &["--exit-after", "40"]);
        let mut args = vec![
            "--messages",
            "40",
            "--connections",
            "3",
            "--rcpts",
            "2",
            "--size",
            "1KB:50,3KB:50",
            "--per-connection",
            "7",
        ];
        if pipelining {
            args.push("--pipelining");
        }
        if chunking {
            args.push("--chunking");
        }
        let (code, s) = send(dir.path(), &sink.target(), &args);
        let k = sink.report();
        let mode = format!("pipelining {pipelining}, chunking {chunking}");
        assert_eq!(code, 0, "{mode}: {s}");
        assert_eq!(s["kind"], "send");
        assert_eq!(
            (s["ok"].as_u64(), s["failed"].as_u64()),
            (Some(40), Some(0)),
            "{mode}"
        );
        assert_eq!(k["accepted"], s["ok"], "{mode}");
        assert_eq!(k["messages"], 40, "{mode}");
        assert_eq!(s["rcpts_ok"], 80, "{mode}");
        assert_eq!(k["rcpts_accepted"], s["rcpts_ok"], "{mode}");
        assert_eq!(k["bytes_accepted"], s["bytes_ok"], "{mode}");
        assert!(s["bytes_ok"].as_u64().unwrap() > 40 * 1000, "{mode}");
        assert_eq!(k["no_sent_header"], 0);
        assert_eq!(k["end_to_end_us"]["count"], 40);
        // 40 messages at 7 per session: at least 6 sessions.
        assert!(s["sessions"].as_u64().unwrap() >= 6, "{mode}: {s}");
        assert_eq!(s["reply_codes"]["data"]["250"], 40, "{mode}");
        assert_eq!(s["reply_codes"]["rcpt"]["250"], 80, "{mode}");
        // The mode really was used: lock-step times MAIL on its own, DATA gives a 354.
        let mail = s["latency_us"]["mail"]["count"].as_u64().unwrap();
        let data = s["latency_us"]["data"]["count"].as_u64().unwrap();
        assert_eq!(mail, if pipelining { 0 } else { 40 }, "{mode}");
        assert_eq!(data, if chunking { 0 } else { 40 }, "{mode}");
        assert_eq!(s["latency_us"]["data_end"]["count"], 40, "{mode}");
        assert_eq!(s["latency_us"]["transaction"]["count"], 40, "{mode}");
    }
}

#[test]
fn refusals_show_in_codes_and_exit_code() {
    for allow in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::start(dir.path(), &["--exit-after", "10", "--reply", "451"]);
        let mut args = vec!["--messages", "10", "--connections", "2", "--pipelining"];
        if allow {
            args.push("--allow-errors");
        }
        let (code, s) = send(dir.path(), &sink.target(), &args);
        let k = sink.report();
        assert_eq!(code, if allow { 0 } else { 1 });
        assert_eq!(
            (s["ok"].as_u64(), s["failed"].as_u64()),
            (Some(0), Some(10))
        );
        assert_eq!(s["reply_codes"]["data"]["451"], 10);
        assert_eq!(
            (k["accepted"].as_u64(), k["refused"].as_u64()),
            (Some(0), Some(10))
        );
        assert_eq!(k["reply_codes"]["451"], 10);
    }
}

#[test]
fn recipient_rules_refuse_messages_with_any_matching_recipient() {
    // Even messages go to x0.example, which the rule refuses: half of them fail.
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(
        dir.path(),
        &["--exit-after", "6", "--reply-rcpt", "r*@X0.example=550"],
    );
    let (code, s) = send(
        dir.path(),
        &sink.target(),
        &[
            "--messages",
            "6",
            "--connections",
            "1",
            "--to",
            "r{n}@x{n%2}.example",
            "--allow-errors",
        ],
    );
    let k = sink.report();
    assert_eq!(code, 0);
    assert_eq!((s["ok"].as_u64(), s["failed"].as_u64()), (Some(3), Some(3)));
    assert_eq!(s["reply_codes"]["data"]["550"], 3);
    assert_eq!(
        (k["accepted"].as_u64(), k["refused"].as_u64()),
        (Some(3), Some(3))
    );

    // One matching recipient out of two refuses the whole message.
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(
        dir.path(),
        &["--exit-after", "4", "--reply-rcpt", "fail1@*=421"],
    );
    let (code, s) = send(
        dir.path(),
        &sink.target(),
        &[
            "--messages",
            "4",
            "--connections",
            "1",
            "--rcpts",
            "2",
            "--to",
            "fail{r}@x.example",
        ],
    );
    let k = sink.report();
    assert_eq!(code, 1);
    assert_eq!(s["failed"], 4);
    assert_eq!(k["refused"], 4);
    // 421 closes the session after each message, so every message needed its own.
    assert_eq!(k["sessions"], 4);
}

#[test]
fn saved_messages_hold_the_exact_bytes_sent() {
    for chunking in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let save = dir.path().join("saved");
        let sink = Sink::start(
            dir.path(),
            &["--exit-after", "5", "--save", save.to_str().unwrap()],
        );
        let mut args = vec![
            "--messages",
            "5",
            "--connections",
            "2",
            "--size",
            "3KB",
            "--rcpts",
            "2",
            "--from",
            "s{n}@from.example",
            "--to",
            "r{n}.{r}@d{n%2}.example",
        ];
        if chunking {
            args.push("--chunking");
        }
        let (code, s) = send(dir.path(), &sink.target(), &args);
        let k = sink.report();
        assert_eq!(code, 0);
        let mut files: Vec<_> = std::fs::read_dir(&save)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert_eq!(files.len(), 5);
        let mut seen = Vec::new();
        let mut bytes = 0;
        for f in &files {
            let data = std::fs::read(f).unwrap();
            let (env, message) = split_saved(&data);
            bytes += message.len() as u64;
            let n: u64 = env[0]
                .strip_prefix("X-Sink-From: <s")
                .and_then(|t| t.strip_suffix("@from.example>"))
                .unwrap()
                .parse()
                .unwrap();
            seen.push(n);
            assert_eq!(
                env[1..],
                [
                    format!("X-Sink-To: <r{n}.0@d{}.example>", n % 2),
                    format!("X-Sink-To: <r{n}.1@d{}.example>", n % 2)
                ]
            );
            let split = message.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            let (headers, body) = message.split_at(split);
            let headers = String::from_utf8(headers.to_vec()).unwrap();
            assert!(headers.contains(&format!("Subject: tern-loadtest message {n}\r\n")));
            assert!(headers.contains("X-Tern-Loadtest-Sent: "));
            assert!(headers.contains(&format!("From: <s{n}@from.example>\r\n")));
            // The body is the generator's filler, byte for byte, dot-lines included.
            assert_eq!(body, tern_loadtest::message::filler(body.len()).as_slice());
            assert!(
                body.windows(5).any(|w| w == b"\r\n.\r\n"),
                "lone-dot line kept"
            );
            assert!(
                body.windows(3).any(|w| w == b"\n.t"),
                "dot-started line kept"
            );
            assert!(
                message.len() > 2900 && message.len() <= 3200,
                "{}",
                message.len()
            );
        }
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2, 3, 4]);
        assert_eq!(s["bytes_ok"].as_u64(), Some(bytes));
        assert_eq!(k["bytes_accepted"].as_u64(), Some(bytes));
    }
}

#[test]
fn open_loop_rate_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(dir.path(), &["--exit-after", "20"]);
    let (code, s) = send(
        dir.path(),
        &sink.target(),
        &[
            "--messages",
            "20",
            "--connections",
            "2",
            "--rate",
            "40",
            "--pipelining",
        ],
    );
    sink.report();
    assert_eq!(code, 0);
    // 20 messages at 40/s are due over 0.475 s: the run cannot be much shorter.
    let elapsed = s["elapsed_s"].as_f64().unwrap();
    assert!((0.45..5.0).contains(&elapsed), "{elapsed}");
}

#[test]
fn dead_target_fails_fast_and_bounded() {
    // A port nothing listens on: bind, learn the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let (code, s) = send(
        dir.path(),
        &format!("127.0.0.1:{port}"),
        &["--messages", "5", "--connections", "1"],
    );
    assert_eq!(code, 1);
    assert_eq!(s["failed"], 5);
    assert_eq!(s["connection_errors"], 5);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["send"][..],
        &["send", "--messages", "1", "--starttls"],
        &["sink", "--reply", "250"],
    ] {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("tern-loadtest: "), "{err}");
        assert!(err.contains("usage:"), "{err}");
    }
}
