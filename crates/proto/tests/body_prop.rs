//! Properties of the DATA scanner and the dot-stuffer, checked against the naive twin in
//! `body_naive.rs` (STYLE.md habit 4): same output, consumed count and outcome for any
//! input, any policy, any size limit and any split of the input into reads; stuffing then
//! scanning gives the body back; no input ends the data early after stuffing.

mod body_naive;

use proptest::prelude::*;
use tern_proto::body::{stuff, BareNewline, DataScanner, Outcome, Stuffer};

/// Bytes heavy in the ones the scanner cares about.
fn wire_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => Just(b'\r'),
        3 => Just(b'\n'),
        3 => Just(b'.'),
        2 => Just(b'a'),
        1 => any::<u8>(),
    ]
}

/// Inputs built from pieces that make terminators, near-terminators and smuggling attempts
/// likely, plus arbitrary bytes.
fn wire_input() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => prop::collection::vec(wire_byte(), 1..4),
        1 => Just(b"\r\n.\r\n".to_vec()),
        1 => Just(b"\r\n..".to_vec()),
        1 => Just(b"\n.\n".to_vec()),
        1 => Just(b"\r.\r".to_vec()),
        1 => Just(b"text line\r\n".to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

fn policy() -> impl Strategy<Value = BareNewline> {
    prop_oneof![Just(BareNewline::Reject), Just(BareNewline::Normalize)]
}

fn max_size() -> impl Strategy<Value = u64> {
    prop_oneof![3 => 0u64..64, 1 => Just(u64::MAX)]
}

/// Cut points as fractions, so one strategy fits any input length.
fn cuts() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(0.0f64..=1.0, 0..6)
}

fn split<'a>(input: &'a [u8], cuts: &[f64]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|f| ((input.len() as f64) * f) as usize)
        .map(|i| i.min(input.len()))
        .collect();
    at.sort_unstable();
    let mut chunks = Vec::new();
    let mut prev = 0;
    for i in at {
        chunks.push(&input[prev..i]);
        prev = i;
    }
    chunks.push(&input[prev..]);
    chunks
}

/// Runs the fast scanner over `chunks`, checking the per-call contract on the way, and
/// returns what the naive scanner returns for the whole input.
fn fast(policy: BareNewline, max: u64, chunks: &[&[u8]]) -> body_naive::Naive {
    let mut scanner = DataScanner::new(policy, max);
    let mut out = Vec::new();
    let mut consumed = 0;
    let mut done = false;
    for chunk in chunks {
        let scan = scanner.scan(chunk, &mut out);
        assert!(scan.consumed <= chunk.len());
        if done {
            assert_eq!(scan.consumed, 0);
        } else if !scan.done {
            assert_eq!(scan.consumed, chunk.len());
        }
        consumed += scan.consumed;
        done |= scan.done;
        assert!(out.len() as u64 <= max);
    }
    body_naive::Naive {
        out,
        consumed,
        done,
        outcome: scanner.outcome(),
    }
}

/// A CRLF-normalised body: lines of anything but CR and LF, often starting with dots.
fn crlf_body() -> impl Strategy<Value = Vec<u8>> {
    let line_byte = prop_oneof![
        3 => Just(b'.'),
        3 => Just(b'x'),
        1 => any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
    ];
    let line = prop::collection::vec(line_byte, 0..6);
    (prop::collection::vec(line, 0..12), any::<bool>()).prop_map(|(lines, crlf_at_end)| {
        let mut body = lines.join(&b"\r\n"[..]);
        if crlf_at_end && !body.is_empty() {
            body.extend_from_slice(b"\r\n");
        }
        body
    })
}

/// What the stuffer sends for `body`, streamed in the given pieces.
fn stuff_chunked(body: &[u8], cuts: &[f64]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stuffer = Stuffer::new();
    for chunk in split(body, cuts) {
        stuffer.push(chunk, &mut out);
    }
    stuffer.finish(&mut out);
    out
}

/// The body the way the receiving end stores it: with a final CRLF if it had none.
fn with_final_crlf(body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    if !body.is_empty() && !body.ends_with(b"\r\n") {
        body.extend_from_slice(b"\r\n");
    }
    body
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn scanner_matches_naive(input in wire_input(), policy in policy(), max in max_size()) {
        prop_assert_eq!(fast(policy, max, &[&input]), body_naive::scan(policy, max, &input));
    }

    #[test]
    fn any_split_matches_naive(
        input in wire_input(),
        policy in policy(),
        max in max_size(),
        cuts in cuts(),
    ) {
        let chunks = split(&input, &cuts);
        prop_assert_eq!(fast(policy, max, &chunks), body_naive::scan(policy, max, &input));
    }

    #[test]
    fn byte_at_a_time_matches_naive(input in wire_input(), policy in policy(), max in max_size()) {
        let chunks: Vec<&[u8]> = input.chunks(1).collect();
        prop_assert_eq!(fast(policy, max, &chunks), body_naive::scan(policy, max, &input));
    }

    #[test]
    fn never_panics_on_arbitrary_bytes(
        input in prop::collection::vec(any::<u8>(), 0..512),
        policy in policy(),
        max in any::<u64>(),
        cuts in cuts(),
    ) {
        let chunks = split(&input, &cuts);
        prop_assert_eq!(fast(policy, max, &chunks), body_naive::scan(policy, max, &input));
    }

    #[test]
    fn stuff_then_scan_is_identity(
        body in crlf_body(),
        policy in policy(),
        cuts in cuts(),
        wire_cuts in cuts(),
        pipelined in prop::collection::vec(wire_byte(), 0..8),
    ) {
        let mut wire = Vec::new();
        stuff(&body, &mut wire);
        prop_assert_eq!(&stuff_chunked(&body, &cuts), &wire);
        let end = wire.len();
        wire.extend_from_slice(&pipelined);
        let got = fast(policy, u64::MAX, &split(&wire, &wire_cuts));
        let want = with_final_crlf(&body);
        prop_assert_eq!(got.consumed, end);
        prop_assert_eq!(got.outcome, Some(Outcome::Ok { size: want.len() as u64 }));
        prop_assert_eq!(got.out, want);
    }

    /// Long clean runs (past the fast path's 256-byte blocks) with one stray byte
    /// somewhere: the bulk CRLF check must see it wherever it falls.
    #[test]
    fn one_anomaly_in_a_long_run(
        lines in 0usize..120,
        stray in prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.')],
        at in 0.0f64..=1.0,
        policy in policy(),
        cuts in cuts(),
    ) {
        let mut input = b"0123456789abcdefghijklmnopqrstuvwxyz\r\n".repeat(lines);
        let pos = ((input.len() as f64) * at) as usize;
        input.insert(pos.min(input.len()), stray);
        input.extend_from_slice(b"\r\n.\r\n");
        let chunks = split(&input, &cuts);
        let want = body_naive::scan(policy, u64::MAX, &input);
        prop_assert_eq!(fast(policy, u64::MAX, &chunks), want.clone());
        prop_assert_eq!(fast(policy, u64::MAX, &[&input]), want);
    }

    /// Stuffing any body, even one with bare CRs and LFs, gives wire bytes whose only end is
    /// the final one: the smuggling property on the way out.
    #[test]
    fn stuffed_data_ends_only_at_the_end(body in wire_input(), cuts in cuts()) {
        let mut wire = Vec::new();
        stuff(&body, &mut wire);
        prop_assert_eq!(&wire, &body_naive::stuff(&body));
        prop_assert_eq!(&stuff_chunked(&body, &cuts), &wire);
        for policy in [BareNewline::Reject, BareNewline::Normalize] {
            let got = body_naive::scan(policy, u64::MAX, &wire);
            prop_assert!(got.done);
            prop_assert_eq!(got.consumed, wire.len());
        }
        // Under Normalize, what arrives is the body with its newlines made CRLF.
        let got = fast(BareNewline::Normalize, u64::MAX, &[&wire]);
        prop_assert_eq!(got.out, body_naive::normalize(&with_final_crlf(&body)));
    }
}
