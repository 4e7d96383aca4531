//! `send --window`: several transactions in flight per session. The counts must still agree
//! with the sink's to the message, recipient and byte, every message must arrive intact,
//! refusals inside a window must land on their own messages, and every command must still
//! get its own latency sample.

mod common;

use common::{send, split_saved, Sink};

#[test]
fn counts_and_per_command_samples_are_exact() {
    for (chunking, window) in [(false, 2), (true, 2), (true, 8), (false, 8)] {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::start(dir.path(), &["--exit-after", "60"]);
        let w = window.to_string();
        let mut args = vec![
            "--messages",
            "60",
            "--connections",
            "3",
            "--rcpts",
            "2",
            "--size",
            "1KB:50,3KB:50",
            "--per-connection",
            "11",
            "--pipelining",
            "--window",
            &w,
        ];
        if chunking {
            args.push("--chunking");
        }
        let (code, s) = send(dir.path(), &sink.target(), &args);
        let k = sink.report();
        let mode = format!("chunking {chunking}, window {window}");
        assert_eq!(code, 0, "{mode}: {s}");
        assert_eq!(
            (s["ok"].as_u64(), s["failed"].as_u64()),
            (Some(60), Some(0)),
            "{mode}"
        );
        assert_eq!(k["accepted"], 60, "{mode}");
        assert_eq!(s["rcpts_ok"], 120, "{mode}");
        assert_eq!(k["rcpts_accepted"], 120, "{mode}");
        assert_eq!(k["bytes_accepted"], s["bytes_ok"], "{mode}");
        assert_eq!(k["end_to_end_us"]["count"], 60, "{mode}");
        // 60 messages at 11 per session: at least 6 sessions.
        assert!(s["sessions"].as_u64().unwrap() >= 6, "{mode}: {s}");
        assert_eq!(s["reply_codes"]["mail"]["250"], 60, "{mode}");
        assert_eq!(s["reply_codes"]["rcpt"]["250"], 120, "{mode}");
        assert_eq!(s["reply_codes"]["data"]["250"], 60, "{mode}");
        // One sample per command, each timed from its own write.
        let n = |h: &str| s["latency_us"][h]["count"].as_u64().unwrap();
        assert_eq!(n("mail"), 60, "{mode}");
        assert_eq!(n("rcpt"), 120, "{mode}");
        assert_eq!(n("data"), if chunking { 0 } else { 60 }, "{mode}");
        assert_eq!(n("data_end"), 60, "{mode}");
        assert_eq!(n("transaction"), 60, "{mode}");
        // Timed from a real write to a real reply over loopback: not zero.
        for h in ["mail", "rcpt", "data_end", "transaction"] {
            assert!(
                s["latency_us"][h]["p50"].as_u64().unwrap() > 0,
                "{mode} {h}"
            );
        }
    }
}

#[test]
fn windowed_messages_arrive_byte_for_byte() {
    for chunking in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let save = dir.path().join("saved");
        let sink = Sink::start(
            dir.path(),
            &["--exit-after", "24", "--save", save.to_str().unwrap()],
        );
        let mut args = vec![
            "--messages",
            "24",
            "--connections",
            "2",
            "--size",
            "1KB:50,5KB:50",
            "--from",
            "s{n}@from.example",
            "--to",
            "r{n}@to.example",
            "--pipelining",
            "--window",
            "6",
        ];
        if chunking {
            args.push("--chunking");
        }
        let (code, s) = send(dir.path(), &sink.target(), &args);
        let k = sink.report();
        assert_eq!(code, 0, "{s}");
        let mut seen = Vec::new();
        let mut bytes = 0u64;
        for e in std::fs::read_dir(&save).unwrap() {
            let data = std::fs::read(e.unwrap().path()).unwrap();
            let (env, message) = split_saved(&data);
            let n: u64 = env[0]
                .strip_prefix("X-Sink-From: <s")
                .and_then(|t| t.strip_suffix("@from.example>"))
                .unwrap()
                .parse()
                .unwrap();
            // The envelope and the headers belong to the same message: nothing in the
            // window got crossed with a neighbour.
            assert_eq!(env[1..], [format!("X-Sink-To: <r{n}@to.example>")]);
            let split = message.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            let (headers, body) = message.split_at(split);
            let headers = String::from_utf8(headers.to_vec()).unwrap();
            assert!(headers.contains(&format!("Subject: tern-loadtest message {n}\r\n")));
            assert_eq!(body, tern_loadtest::message::filler(body.len()).as_slice());
            bytes += message.len() as u64;
            seen.push(n);
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..24).collect::<Vec<u64>>(), "chunking {chunking}");
        assert_eq!(s["bytes_ok"].as_u64(), Some(bytes), "chunking {chunking}");
        assert_eq!(k["bytes_accepted"].as_u64(), Some(bytes));
    }
}

#[test]
fn a_451_inside_a_window_is_counted_on_its_message() {
    for chunking in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let sink = Sink::start(dir.path(), &["--exit-after", "80", "--reply", "451:30%"]);
        let mut args = vec![
            "--messages",
            "80",
            "--connections",
            "2",
            "--pipelining",
            "--window",
            "8",
        ];
        if chunking {
            args.push("--chunking");
        }
        let (code, s) = send(dir.path(), &sink.target(), &args);
        let k = sink.report();
        let refused = k["refused"].as_u64().unwrap();
        assert!((5..=60).contains(&refused), "{k}");
        assert_eq!(code, 1, "failed messages make the exit code");
        assert_eq!(s["failed"].as_u64(), Some(refused), "{s}");
        assert_eq!(s["ok"], k["accepted"]);
        assert_eq!(s["reply_codes"]["data"]["451"].as_u64(), Some(refused));
        assert_eq!(s["reply_codes"]["data"]["250"], k["accepted"]);
        assert_eq!(s["reply_codes"]["mail"]["250"], 80);
        assert_eq!(k["reply_codes"]["451"].as_u64(), Some(refused));
        // A 451 to one message does not end the session.
        assert_eq!(s["connection_errors"], 0);
    }
}

#[test]
fn open_loop_keeps_its_schedule_with_a_window() {
    // A sink slower (20 ms a message, one after another) than the schedule (one every
    // 16.7 ms): a queue builds up, and latency counted from the due times must show it
    // (no coordinated omission), while every ticket still goes out.
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start(dir.path(), &["--exit-after", "30", "--delay", "20ms"]);
    let (code, s) = send(
        dir.path(),
        &sink.target(),
        &[
            "--messages",
            "30",
            "--connections",
            "1",
            "--rate",
            "60",
            "--pipelining",
            "--chunking",
            "--window",
            "4",
        ],
    );
    let k = sink.report();
    assert_eq!(code, 0, "{s}");
    assert_eq!(
        (s["ok"].as_u64(), k["accepted"].as_u64()),
        (Some(30), Some(30))
    );
    // 30 messages at 60/s are due over 0.483 s.
    let elapsed = s["elapsed_s"].as_f64().unwrap();
    assert!((0.45..5.0).contains(&elapsed), "{elapsed}");
    // Every transaction waited at least the sink's delay.
    let p50 = s["latency_us"]["transaction"]["p50"].as_u64().unwrap();
    assert!(p50 >= 20_000, "{p50}");
    assert_eq!(s["latency_us"]["transaction"]["count"], 30);
    // Message i is due at 16.7*i ms and answered near 20*(i+1) ms: the last waited about
    // 116 ms, most of it queued behind the others.
    let max = s["latency_us"]["transaction"]["max"].as_u64().unwrap();
    assert!(max >= 90_000, "{max}");
}
