//! The DATA scanner against a deliberately naive twin, for every input and every split.

use super::*;
use proptest::prelude::*;

/// The reference: one byte at a time, with look-ahead over the whole input, written
/// straight from RFC 5321 4.5.2 and the smuggling rules in the module docs.
/// Returns `None` when the input holds no end of data.
fn naive(input: &[u8], policy: BareNewline, max: u64) -> Option<(usize, Vec<u8>, Outcome)> {
    let mut out = Vec::new();
    let mut size = 0u64;
    let mut bare = false;
    // One byte at a time: the stored prefix of an oversized message is cut at exactly
    // `max` bytes.
    let mut push = |out: &mut Vec<u8>, b: &[u8]| {
        for &byte in b {
            size += 1;
            if size <= max {
                out.push(byte);
            }
        }
    };
    let mut line_start = true;
    let mut i = 0;
    loop {
        let c = *input.get(i)?;
        if line_start && c == b'.' {
            if input.get(i + 1..i + 3)? == b"\r\n" {
                let outcome = if size > max {
                    Outcome::TooLarge
                } else if bare && policy == BareNewline::Reject {
                    Outcome::BareNewline
                } else {
                    Outcome::Ok
                };
                return Some((i + 3, out, outcome));
            }
            line_start = false;
            i += 1;
            continue;
        }
        line_start = false;
        let next = input.get(i + 1).copied();
        match c {
            b'\r' if next == Some(b'\n') => {
                push(&mut out, b"\r\n");
                line_start = true;
                i += 2;
            }
            b'\r' | b'\n' => {
                next?;
                bare = true;
                match policy {
                    BareNewline::Normalize => push(&mut out, b"\r\n"),
                    BareNewline::Reject => push(&mut out, &[c]),
                }
                i += 1;
            }
            _ => {
                push(&mut out, &[c]);
                i += 1;
            }
        }
    }
}

/// Runs the real scanner over `input` cut at `cuts`.
fn fast(
    input: &[u8],
    cuts: &[usize],
    policy: BareNewline,
    max: u64,
) -> Option<(usize, Vec<u8>, Outcome)> {
    let mut s = DataScanner::new(policy, max);
    let mut out = Vec::new();
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.push(input.len());
    cuts.sort_unstable();
    let mut pos = 0;
    for cut in cuts {
        // Offer everything up to the cut that was not consumed yet, as a runtime would.
        let r = s.scan(&input[pos..cut.max(pos)], &mut out);
        pos += r.consumed;
        if r.done {
            return Some((pos, out, s.outcome()));
        }
        assert_eq!(
            pos,
            cut.max(pos),
            "a scan that is not done consumes everything"
        );
    }
    None
}

fn one(input: &[u8]) -> (usize, Vec<u8>, Outcome) {
    fast(input, &[], BareNewline::Reject, 1 << 20).expect("end of data")
}

#[test]
fn plain_and_stuffed_bodies() {
    let cases: &[(&[u8], &[u8], usize)] = &[
        (b".\r\n", b"", 3),
        (b"Hello\r\n.\r\n", b"Hello\r\n", 10),
        (b"..\r\n.\r\n", b".\r\n", 7),
        (b"..dot\r\nx\r\n.\r\n", b".dot\r\nx\r\n", 13),
        (b"a\r\n...\r\n.\r\nMAIL FROM:<x@y>\r\n", b"a\r\n..\r\n", 11),
        (b"\r\n.\r\n", b"\r\n", 5),
        (b".x\r\n.\r\n", b"x\r\n", 7),
    ];
    for (input, body, used) in cases {
        let (c, out, o) = one(input);
        assert_eq!(
            (c, out.as_slice(), o),
            (*used, *body, Outcome::Ok),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn terminator_split_at_every_position() {
    let input = b"line one\r\n..two\r\n.\r\nQUIT\r\n";
    for cut in 0..=input.len() {
        assert_eq!(
            fast(input, &[cut], BareNewline::Reject, 100),
            Some((20, b"line one\r\n.two\r\n".to_vec(), Outcome::Ok)),
            "cut at {cut}"
        );
    }
}

#[test]
fn smuggling_variants_never_end_the_data() {
    for trick in [
        &b"\n.\n"[..],
        b"\n.\r\n",
        b"\r\n.\n",
        b"\r.\r",
        b"\r.\r\n",
        b".\n",
        b"\r\n.\r",
    ] {
        let mut input = b"x".to_vec();
        input.extend_from_slice(trick);
        input.extend_from_slice(b"MAIL FROM:<e@x>\r\n");
        assert_eq!(
            fast(&input, &[], BareNewline::Reject, 100),
            None,
            "{trick:?}"
        );
        input.extend_from_slice(b".\r\n");
        let (used, _, outcome) = one(&input);
        assert_eq!(
            (used, outcome),
            (input.len(), Outcome::BareNewline),
            "{trick:?}"
        );
    }
}

#[test]
fn normalize_writes_crlf_and_keeps_dots_after_bare_newlines() {
    let input = b"a\nb\rc\n.\r\n.\r\n";
    let (used, out, o) = fast(input, &[], BareNewline::Normalize, 100).unwrap();
    assert_eq!(
        (used, out.as_slice(), o),
        (input.len(), &b"a\r\nb\r\nc\r\n.\r\n"[..], Outcome::Ok)
    );
}

#[test]
fn too_large_is_drained_without_buffering_past_the_limit() {
    let mut input = vec![b'z'; 1000];
    input.extend_from_slice(b"\r\n.\r\nNOOP\r\n");
    let (used, out, o) = fast(&input, &[7, 500], BareNewline::Reject, 100).unwrap();
    assert_eq!((used, o), (1005, Outcome::TooLarge));
    assert!(out.len() <= 100);
}

#[test]
fn stuff_doubles_leading_dots_and_terminates() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"", b".\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        (b".a\r\n.\r\nb.c\r\n", b"..a\r\n..\r\nb.c\r\n.\r\n"),
        (b"no newline", b"no newline\r\n.\r\n"),
    ];
    for (body, wire) in cases {
        let mut out = Vec::new();
        stuff(body, &mut out);
        assert_eq!(out.as_slice(), *wire);
    }
}

fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(b'\r'),
            Just(b'\n'),
            Just(b'.'),
            b'a'..=b'c',
            any::<u8>()
        ],
        0..200,
    )
}

fn crlf_body() -> impl Strategy<Value = Vec<u8>> {
    let line = proptest::collection::vec(
        prop_oneof![
            Just(b'.'),
            b'a'..=b'c',
            any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n')
        ],
        0..20,
    );
    proptest::collection::vec(line, 0..10).prop_map(|lines| {
        let mut v = Vec::new();
        for l in lines {
            v.extend_from_slice(&l);
            v.extend_from_slice(b"\r\n");
        }
        v
    })
}

proptest! {
    #[test]
    fn matches_the_naive_scanner_for_any_input_and_split(
        mut input in wire_bytes(),
        terminate in any::<bool>(),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        normalize in any::<bool>(),
        max in prop_oneof![Just(u64::MAX), 0u64..100],
    ) {
        if terminate {
            input.extend_from_slice(b"\r\n.\r\n");
        }
        let policy = if normalize { BareNewline::Normalize } else { BareNewline::Reject };
        prop_assert_eq!(fast(&input, &cuts, policy, max), naive(&input, policy, max));
    }

    #[test]
    fn stuff_then_scan_is_identity(body in crlf_body(), cuts in proptest::collection::vec(any::<usize>(), 0..4)) {
        let mut wire = Vec::new();
        stuff(&body, &mut wire);
        let (used, out, outcome) = fast(&wire, &cuts, BareNewline::Reject, u64::MAX).expect("terminated");
        prop_assert_eq!(used, wire.len());
        prop_assert_eq!(outcome, Outcome::Ok);
        prop_assert_eq!(out, body);
    }
}
