//! DATA-phase body scanning: tern's `DataScanner` against smtp-proto 0.2's `DataReceiver`
//! and a naive byte-at-a-time scanner, on 1 KiB, 100 KiB and 10 MiB bodies of 76-column
//! text, with and without dot-stuffed lines.
//!
//! Throughput is in wire bytes (the stuffed body plus `.\r\n`). Every iteration asserts that
//! the terminator was found and that the stored body has the expected length, so a fast
//! wrong answer fails the bench (STYLE.md habit 15).
//!
//! What the peers do, so the numbers are read fairly: smtp-proto 0.2.5 finds `\n.` with
//! `memmem` and copies the runs between, then goes byte by byte after a line-start dot; it
//! has no bare CR/LF policy and no size limit. tern also checks for bare CR/LF on every line
//! and caps the stored size. The naive scanner does what tern does, one byte at a time.
//!
//! Run: `cargo bench -p tern-benches --bench body -- --measurement-time 3`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tern_proto::body::{stuff, BareNewline, DataScanner, Outcome};

/// Deterministic text: words from a fixed list, lines filled to at most 76 columns. With
/// `dot_every`, every n-th line starts with a dot (a third of them a lone `.`), the case that
/// leaves the fast path.
fn body(size: usize, dot_every: Option<usize>) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the",
        "relay",
        "message",
        "queue",
        "delivery",
        "of",
        "and",
        "to",
        "mail",
        "server",
        "a",
        "with",
        "recipient",
        "domain",
        "is",
        "for",
        "segment",
        "sync",
        "SMTP",
        "in",
        "transfer",
        "envelope",
        "header",
        "body",
        "retry",
        "bounce",
        "that",
        "on",
        "it",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) as usize
    };
    let mut out = b"Subject: benchmark body\r\n\r\n".to_vec();
    let mut line_no = 0;
    while out.len() < size {
        line_no += 1;
        let mut line = Vec::with_capacity(78);
        if dot_every.is_some_and(|n| line_no % n == 0) {
            line.push(b'.');
            if line_no % 3 == 0 {
                line.extend_from_slice(b"\r\n");
                out.extend_from_slice(&line);
                continue;
            }
        }
        loop {
            let word = WORDS[next() % WORDS.len()].as_bytes();
            if line.len() + word.len() + 1 > 76 {
                break;
            }
            if !line.is_empty() && line != b"." {
                line.push(b' ');
            }
            line.extend_from_slice(word);
        }
        line.extend_from_slice(b"\r\n");
        out.extend_from_slice(&line);
    }
    out
}

/// What the client sends after `354` for `body`.
fn wire(body: &[u8]) -> Vec<u8> {
    let mut wire = Vec::with_capacity(body.len() + body.len() / 32 + 8);
    stuff(body, &mut wire);
    wire
}

/// The naive scanner: tern's rules, one byte and one push at a time.
mod naive {
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum State {
        LineStart,
        BareLineStart,
        Mid,
        Cr,
        Dot,
        DotCr,
    }

    /// Scans until the end of data; returns the bytes consumed, or `None` if it never came.
    pub fn scan(input: &[u8], max_size: usize, out: &mut Vec<u8>) -> Option<usize> {
        let mut state = State::LineStart;
        let push = |out: &mut Vec<u8>, b: u8| {
            if out.len() < max_size {
                out.push(b);
            }
        };
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            i += 1;
            state = match (state, b) {
                (State::LineStart, b'.') => State::Dot,
                (State::BareLineStart, b'.') => State::Mid,
                (State::Cr, b'\n') => {
                    push(out, b'\r');
                    push(out, b'\n');
                    State::LineStart
                }
                (State::DotCr, b'\n') => return Some(i),
                (State::Cr | State::DotCr, _) => {
                    push(out, b'\r');
                    push(out, b'\n');
                    i -= 1; // look at this byte again, at a (bare) line start
                    State::BareLineStart
                }
                (State::Dot, b'\r') => State::DotCr,
                (_, b'\r') => State::Cr,
                (_, b'\n') => {
                    push(out, b'\r');
                    push(out, b'\n');
                    State::BareLineStart
                }
                (_, _) => {
                    push(out, b);
                    State::Mid
                }
            };
        }
        None
    }
}

fn bench_body(c: &mut Criterion) {
    let sizes: [(&str, usize); 3] = [
        ("1KiB", 1 << 10),
        ("100KiB", 100 << 10),
        ("10MiB", 10 << 20),
    ];
    for (variant, dot_every) in [("plain", None), ("dots", Some(4))] {
        let mut group = c.benchmark_group(format!("body/{variant}"));
        group.warm_up_time(Duration::from_secs(1));
        for (label, size) in sizes {
            let body = body(size, dot_every);
            let wire = wire(&body);
            let expected = body.len();
            group.throughput(Throughput::Bytes(wire.len() as u64));
            // The slow naive scanner needs ~0.1 s per 10 MiB iteration: fewer samples.
            group.sample_size(if size > 1 << 20 { 10 } else { 100 });
            let mut out = Vec::with_capacity(expected + 16);

            group.bench_with_input(BenchmarkId::new("tern", label), &wire, |b, wire| {
                b.iter(|| {
                    out.clear();
                    let mut scanner = DataScanner::new(BareNewline::Reject, u64::MAX);
                    let scan = scanner.scan(black_box(wire), &mut out);
                    assert!(scan.done && scan.consumed == wire.len());
                    assert_eq!(
                        scanner.outcome(),
                        Some(Outcome::Ok {
                            size: expected as u64
                        })
                    );
                    assert_eq!(out.len(), expected);
                })
            });
            group.bench_with_input(BenchmarkId::new("smtp-proto", label), &wire, |b, wire| {
                b.iter(|| {
                    out.clear();
                    let mut receiver = smtp_proto::request::receiver::DataReceiver::new();
                    let mut bytes = black_box(wire).iter();
                    assert!(receiver.ingest(&mut bytes, &mut out));
                    assert_eq!(bytes.len(), 0);
                    assert_eq!(out.len(), expected);
                })
            });
            group.bench_with_input(BenchmarkId::new("naive", label), &wire, |b, wire| {
                b.iter(|| {
                    out.clear();
                    let consumed = naive::scan(black_box(wire), usize::MAX, &mut out);
                    assert_eq!(consumed, Some(wire.len()));
                    assert_eq!(out.len(), expected);
                })
            });

            // The three must also agree on the bytes, not only the length.
            let mut tern_out = Vec::new();
            DataScanner::new(BareNewline::Reject, u64::MAX).scan(&wire, &mut tern_out);
            let mut peer_out = Vec::new();
            smtp_proto::request::receiver::DataReceiver::new()
                .ingest(&mut wire.iter(), &mut peer_out);
            let mut naive_out = Vec::new();
            naive::scan(&wire, usize::MAX, &mut naive_out);
            assert!(tern_out == body && peer_out == body && naive_out == body);
        }
        group.finish();
    }
}

criterion_group!(benches, bench_body);
criterion_main!(benches);
