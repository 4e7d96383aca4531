//! Command-line parsing: tern's `Command::parse_borrowed` next to smtp-proto's
//! `Request::parse` (a dependency-free Rust SMTP parser, used by Stalwart) on the same lines.
//! Both hand out strings that borrow from the line (`Cow<'_, str>`), owning only what they
//! had to decode; a third bench, `tern-owned`, is tern's `Command::parse`, the same parse
//! followed by `into_owned` on every string, which is what a server pays when it keeps the
//! whole command.
//!
//! The corpus is a realistic session mix: per transaction an EHLO, a MAIL FROM with SIZE,
//! BODY and often RET/ENVID, one to three RCPT TO (some with NOTIFY/ORCPT), DATA and RSET.
//! Both parsers get the lines already framed, as a server's line reader hands them over:
//! tern without the CRLF (its framer strips it), smtp-proto with it (its API reads up to the
//! LF itself). Throughput is in bytes of the whole corpus, CRLFs included, for both.
//!
//! Each bench asserts how many commands it parsed, so a parser that fails fast on every
//! line cannot look fast.
//!
//! `TERN_PARSE_LINES=PREFIX` keeps only the corpus lines that start with PREFIX (for
//! example `EHLO` or `RCPT TO:<postmaster`), to see the parsers on one kind of line.

// The allocator the `tern` binary uses: both parsers allocate for decoded values, and
// `tern-owned` for every string, so all get the same one.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tern_proto::Command;

/// About 1000 lines (6.76 per transaction).
const TRANSACTIONS: usize = 148;

/// Builds the corpus and returns it with the byte range of each line (CRLF included).
fn corpus() -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut text = String::new();
    for t in 0..TRANSACTIONS {
        text.push_str(&format!("EHLO client{}.mail.example.net\r\n", t % 7));
        match t % 3 {
            0 => text.push_str(&format!(
                "MAIL FROM:<bounce-{t}-list@lists.example.org> SIZE={} BODY=8BITMIME RET=HDRS ENVID=QQ{t}+2Bx\r\n",
                20_000 + t * 37
            )),
            1 => text.push_str(&format!(
                "MAIL FROM:<john.smith{t}@example.com> SIZE={} BODY=8BITMIME\r\n",
                4_000 + t
            )),
            _ => text.push_str(&format!(
                "MAIL FROM:<newsletter@mx{t}.example.co.uk> BODY=7BIT RET=FULL ENVID=env{t}\r\n"
            )),
        }
        text.push_str(&format!(
            "RCPT TO:<alice.{t}@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice.{t}+40example.org\r\n"
        ));
        if t % 2 == 0 {
            text.push_str(&format!("RCPT TO:<bob{t}@sub.example.net>\r\n"));
        }
        if t % 4 == 0 {
            text.push_str(&format!(
                "RCPT TO:<carol+tag{t}@example.com> NOTIFY=DELAY\r\n"
            ));
        }
        text.push_str("RCPT TO:<postmaster@example.org>\r\n");
        text.push_str("DATA\r\n");
        text.push_str("RSET\r\n");
    }
    let bytes = text.into_bytes();
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            lines.push((start, i + 1));
            start = i + 1;
        }
    }
    (bytes, lines)
}

fn parse(c: &mut Criterion) {
    let (bytes, mut lines) = corpus();
    if let Ok(prefix) = std::env::var("TERN_PARSE_LINES") {
        lines.retain(|&(s, _)| bytes[s..].starts_with(prefix.as_bytes()));
        assert!(
            !lines.is_empty(),
            "TERN_PARSE_LINES={prefix:?}: no corpus line starts with it"
        );
    }
    let len: usize = lines.iter().map(|&(s, e)| e - s).sum();
    let expected = lines.len();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(len as u64));

    group.bench_function("tern", |b| {
        b.iter(|| {
            let mut parsed = 0;
            for &(s, e) in &lines {
                // The framer hands over the line without its CRLF.
                if let Ok(cmd) = Command::parse_borrowed(black_box(&bytes[s..e - 2])) {
                    black_box(&cmd);
                    parsed += 1;
                }
            }
            assert_eq!(parsed, expected);
        })
    });

    group.bench_function("tern-owned", |b| {
        b.iter(|| {
            let mut parsed = 0;
            for &(s, e) in &lines {
                if let Ok(cmd) = Command::parse(black_box(&bytes[s..e - 2])) {
                    black_box(&cmd);
                    parsed += 1;
                }
            }
            assert_eq!(parsed, expected);
        })
    });

    group.bench_function("smtp-proto", |b| {
        b.iter(|| {
            let mut parsed = 0;
            for &(s, e) in &lines {
                let mut it = black_box(&bytes[s..e]).iter();
                if let Ok(req) = smtp_proto::Request::parse(&mut it) {
                    black_box(&req);
                    parsed += 1;
                }
            }
            assert_eq!(parsed, expected);
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
