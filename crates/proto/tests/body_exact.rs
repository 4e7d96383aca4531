//! Exact-byte tables for the DATA scanner and the dot-stuffer. Every scanner case runs
//! through every way of cutting its input into two or three reads, one byte at a time, and
//! through the naive twin, so a case that passes whole but fails split (the classic
//! terminator-across-reads bug) is caught.

mod body_naive;

use tern_proto::body::{stuff, BareNewline, DataScanner, Outcome, Stuffer};

use BareNewline::{Normalize, Reject};

const BIG: u64 = u64::MAX;

struct Case {
    policy: BareNewline,
    max: u64,
    input: &'static [u8],
    out: &'static [u8],
    consumed: usize,
    outcome: Option<Outcome>,
}

fn ok(size: u64) -> Option<Outcome> {
    Some(Outcome::Ok { size })
}

fn bare(received: u64) -> Option<Outcome> {
    Some(Outcome::BareNewline { received })
}

fn big(received: u64) -> Option<Outcome> {
    Some(Outcome::TooLarge { received })
}

/// Feeds `chunks` in order; returns the output, the total consumed, and the outcome. After
/// `done`, the remaining chunks must consume nothing.
fn feed(policy: BareNewline, max: u64, chunks: &[&[u8]]) -> (Vec<u8>, usize, Option<Outcome>) {
    let mut scanner = DataScanner::new(policy, max);
    let mut out = b"prefix".to_vec(); // the scanner appends; it must not touch what is there
    let mut consumed = 0;
    let mut done = false;
    for chunk in chunks {
        let scan = scanner.scan(chunk, &mut out);
        if done {
            assert_eq!(scan.consumed, 0, "consumed after done");
        }
        assert!(scan.consumed <= chunk.len());
        if !scan.done {
            assert_eq!(
                scan.consumed,
                chunk.len(),
                "stopped early without being done"
            );
        }
        consumed += scan.consumed;
        done |= scan.done;
        assert_eq!(scanner.outcome().is_some(), done);
    }
    assert_eq!(out[..6], *b"prefix");
    assert_eq!(scanner.received(), consumed as u64);
    (out[6..].to_vec(), consumed, scanner.outcome())
}

fn check(case: &Case) {
    let input = case.input;
    let want = (case.out.to_vec(), case.consumed, case.outcome);
    let label = String::from_utf8_lossy(input);
    assert_eq!(
        feed(case.policy, case.max, &[input]),
        want,
        "whole: {label:?}"
    );
    let naive = body_naive::scan(case.policy, case.max, input);
    assert_eq!(
        (naive.out, naive.consumed, naive.outcome),
        want,
        "naive: {label:?}"
    );
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(
        feed(case.policy, case.max, &bytes),
        want,
        "bytewise: {label:?}"
    );
    for a in 0..=input.len() {
        for b in a..=input.len() {
            let chunks = [&input[..a], &input[a..b], &input[b..]];
            assert_eq!(
                feed(case.policy, case.max, &chunks),
                want,
                "split at {a},{b}: {label:?}"
            );
        }
    }
}

#[test]
fn scanner_table() {
    #[rustfmt::skip]
    let cases = [
        // Plain bodies; the CRLF of the last line stays, the terminator goes.
        Case { policy: Reject, max: BIG, input: b"Hello\r\n.\r\n", out: b"Hello\r\n", consumed: 10, outcome: ok(7) },
        Case { policy: Reject, max: BIG, input: b"Subject: x\r\n\r\nbody\r\n.\r\n", out: b"Subject: x\r\n\r\nbody\r\n", consumed: 23, outcome: ok(20) },
        // Empty body, and a body that is one empty line.
        Case { policy: Reject, max: BIG, input: b".\r\n", out: b"", consumed: 3, outcome: ok(0) },
        Case { policy: Reject, max: BIG, input: b"\r\n.\r\n", out: b"\r\n", consumed: 5, outcome: ok(2) },
        // Dot lines: one stuffed dot goes, the rest stays.
        Case { policy: Reject, max: BIG, input: b"..\r\n.\r\n", out: b".\r\n", consumed: 7, outcome: ok(3) },
        Case { policy: Reject, max: BIG, input: b"a\r\n..b\r\n...\r\n.c\r\n.\r\n", out: b"a\r\n.b\r\n..\r\nc\r\n", consumed: 20, outcome: ok(14) },
        Case { policy: Reject, max: BIG, input: b"..\r\n..\r\n.\r\n", out: b".\r\n.\r\n", consumed: 11, outcome: ok(6) },
        // Dots in the middle of a line are text.
        Case { policy: Reject, max: BIG, input: b"a.b\r\nc .\r\n.\r\n", out: b"a.b\r\nc .\r\n", consumed: 13, outcome: ok(10) },
        // Pipelined commands after the terminator are not consumed.
        Case { policy: Reject, max: BIG, input: b"a\r\n.\r\nQUIT\r\n", out: b"a\r\n", consumed: 6, outcome: ok(3) },
        Case { policy: Reject, max: BIG, input: b".\r\nMAIL FROM:<>\r\n.\r\n", out: b"", consumed: 3, outcome: ok(0) },
        // Incomplete: no terminator yet, nothing decided; a trailing CR is held back.
        Case { policy: Reject, max: BIG, input: b"a\r\n.\r", out: b"a\r\n", consumed: 5, outcome: None },
        Case { policy: Reject, max: BIG, input: b"abc\r", out: b"abc", consumed: 4, outcome: None },
        // Smuggling: none of these ends the message; Reject drains to the real end.
        Case { policy: Reject, max: BIG, input: b"a\n.\nRCPT\r\n.\r\n", out: b"a", consumed: 13, outcome: bare(13) },
        Case { policy: Reject, max: BIG, input: b"a\r.\rRCPT\r\n.\r\n", out: b"a", consumed: 13, outcome: bare(13) },
        Case { policy: Reject, max: BIG, input: b"a\n.\r\nRCPT\r\n.\r\n", out: b"a", consumed: 14, outcome: bare(14) },
        Case { policy: Reject, max: BIG, input: b"a\r\n.\nRCPT\r\n.\r\n", out: b"a\r\n", consumed: 14, outcome: bare(14) },
        Case { policy: Reject, max: BIG, input: b"a\r\n.\rRCPT\r\n.\r\n", out: b"a\r\n", consumed: 14, outcome: bare(14) },
        Case { policy: Reject, max: BIG, input: b"a\r\n.\r\r\n.\r\n", out: b"a\r\n", consumed: 10, outcome: bare(10) },
        Case { policy: Reject, max: BIG, input: b"a\n.\n", out: b"a", consumed: 4, outcome: None },
        Case { policy: Reject, max: BIG, input: b"\n.\r\n", out: b"", consumed: 4, outcome: None },
        // The same under Normalize: bare newlines become CRLF, the lone dot line loses its
        // dot like every other line and becomes an empty line.
        Case { policy: Normalize, max: BIG, input: b"a\n.\nRCPT\r\n.\r\n", out: b"a\r\n\r\nRCPT\r\n", consumed: 13, outcome: ok(11) },
        Case { policy: Normalize, max: BIG, input: b"a\r.\rRCPT\r\n.\r\n", out: b"a\r\n\r\nRCPT\r\n", consumed: 13, outcome: ok(11) },
        Case { policy: Normalize, max: BIG, input: b"a\n.\r\nRCPT\r\n.\r\n", out: b"a\r\n\r\nRCPT\r\n", consumed: 14, outcome: ok(11) },
        Case { policy: Normalize, max: BIG, input: b"a\r\n.\nRCPT\r\n.\r\n", out: b"a\r\n\r\nRCPT\r\n", consumed: 14, outcome: ok(11) },
        Case { policy: Normalize, max: BIG, input: b"a\r\n.\r\r\n.\r\n", out: b"a\r\n\r\n\r\n", consumed: 10, outcome: ok(7) },
        Case { policy: Normalize, max: BIG, input: b"a\nb\rc\r\r\n.\r\n", out: b"a\r\nb\r\nc\r\n\r\n", consumed: 11, outcome: ok(11) },
        Case { policy: Normalize, max: BIG, input: b"a\n..b\r\n.\r\n", out: b"a\r\n.b\r\n", consumed: 10, outcome: ok(7) },
        Case { policy: Normalize, max: BIG, input: b"\n\n.\r\n", out: b"\r\n\r\n\r\n", consumed: 5, outcome: None },
        // Size: exactly at the limit is fine; one byte over keeps the prefix and says so.
        Case { policy: Reject, max: 7, input: b"Hello\r\n.\r\n", out: b"Hello\r\n", consumed: 10, outcome: ok(7) },
        Case { policy: Reject, max: 6, input: b"Hello\r\n.\r\n", out: b"Hello\r", consumed: 10, outcome: big(10) },
        Case { policy: Reject, max: 5, input: b"Hello, world\r\n..\r\nmore\r\n.\r\n", out: b"Hello", consumed: 27, outcome: big(27) },
        Case { policy: Reject, max: 0, input: b"x\r\n.\r\n", out: b"", consumed: 6, outcome: big(6) },
        Case { policy: Reject, max: 0, input: b".\r\n", out: b"", consumed: 3, outcome: ok(0) },
        Case { policy: Normalize, max: 4, input: b"ab\ncd\r\n.\r\n", out: b"ab\r\n", consumed: 10, outcome: big(10) },
        // A bare newline outranks the size.
        Case { policy: Reject, max: 2, input: b"abc\n\r\n.\r\n", out: b"ab", consumed: 9, outcome: bare(9) },
    ];
    for case in &cases {
        check(case);
    }
}

#[test]
fn terminator_split_keeps_pipelined_bytes() {
    let input = b"line one\r\n..two\r\n.\r\nQUIT\r\n";
    let end = input.len() - 6;
    for cut in 0..=input.len() {
        let mut scanner = DataScanner::new(Reject, BIG);
        let mut out = Vec::new();
        let first = scanner.scan(&input[..cut], &mut out);
        let second = scanner.scan(&input[cut..], &mut out);
        if cut >= end {
            assert!(first.done);
            assert_eq!(first.consumed, end, "cut {cut}");
            assert_eq!(second.consumed, 0);
        } else {
            assert!(!first.done);
            assert_eq!(first.consumed, cut);
            assert!(second.done);
            assert_eq!(second.consumed, end - cut, "cut {cut}");
        }
        assert_eq!(out, b"line one\r\n.two\r\n");
        assert_eq!(scanner.outcome(), Some(Outcome::Ok { size: 16 }));
    }
}

#[test]
fn stuff_table() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"", b".\r\n"),
        (b"a", b"a\r\n.\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        (b"\r\n", b"\r\n.\r\n"),
        (b".", b"..\r\n.\r\n"),
        (
            b".a\r\n..\r\n.\r\nb.c\r\n",
            b"..a\r\n...\r\n..\r\nb.c\r\n.\r\n",
        ),
        (b"a\r\n.", b"a\r\n..\r\n.\r\n"),
        // Not CRLF-normalised: every dot after a CR or LF is doubled anyway, and the final
        // dot always follows a real CRLF, so a next hop can't be fooled into an early end.
        (b"a\n.\r\n", b"a\n..\r\n.\r\n"),
        (b"a\r.\r", b"a\r..\r\r\n.\r\n"),
        (b"a\n", b"a\n\r\n.\r\n"),
    ];
    for &(body, want) in cases {
        let mut out = b"x".to_vec();
        stuff(body, &mut out);
        assert_eq!(out[1..], *want, "{:?}", String::from_utf8_lossy(body));
        assert_eq!(body_naive::stuff(body), want);
        // Streaming, one byte at a time.
        let mut out = Vec::new();
        let mut stuffer = Stuffer::new();
        for byte in body.chunks(1) {
            stuffer.push(byte, &mut out);
        }
        stuffer.finish(&mut out);
        assert_eq!(out, want);
    }
}
