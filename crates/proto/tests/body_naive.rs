//! The deliberately naive twin of `tern_proto::body` (STYLE.md habit 4, after memchr's
//! `tests/memchr/naive.rs`): one byte at a time, the whole input at once, with lookahead
//! instead of carried state, written straight from the rules in the `body` module docs.
//! It shares no code and almost no structure with the fast scanner, which is what makes it
//! worth comparing against. `body_prop.rs` and `body_exact.rs` include it as a module; on
//! its own this target has no tests.
#![allow(dead_code)]

use tern_proto::body::{BareNewline, Outcome};

/// What the scanner would report after being fed all of `input`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naive {
    pub out: Vec<u8>,
    pub consumed: usize,
    pub done: bool,
    pub outcome: Option<Outcome>,
}

/// Scans a whole DATA input.
pub fn scan(policy: BareNewline, max_size: u64, input: &[u8]) -> Naive {
    // The message as if there were no size limit, and where the first bare newline was.
    let mut message = Vec::new();
    let mut first_bare: Option<usize> = None;
    let mut line_start = true;
    let mut after_real_crlf = true;
    let mut done = false;
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if line_start && b == b'.' {
            if after_real_crlf && input[i + 1..].starts_with(b"\r\n") {
                done = true;
                i += 3;
                break;
            }
            // Any other line starting with a dot just loses it.
            line_start = false;
            i += 1;
            continue;
        }
        line_start = false;
        if b == b'\r' {
            match input.get(i + 1) {
                // A CR at the very end is still undecided: nothing written yet.
                None => {
                    i += 1;
                    break;
                }
                Some(b'\n') => {
                    message.extend_from_slice(b"\r\n");
                    i += 2;
                    line_start = true;
                    after_real_crlf = true;
                    continue;
                }
                Some(_) => {}
            }
        }
        if b == b'\r' || b == b'\n' {
            // Bare.
            first_bare.get_or_insert(message.len());
            message.extend_from_slice(b"\r\n");
            i += 1;
            line_start = true;
            after_real_crlf = false;
            continue;
        }
        message.push(b);
        i += 1;
    }

    let mut out = message.clone();
    if policy == BareNewline::Reject {
        if let Some(at) = first_bare {
            out.truncate(at);
        }
    }
    let limit = usize::try_from(max_size).unwrap_or(usize::MAX);
    out.truncate(limit);

    let received = i as u64;
    let outcome = done.then(|| {
        if policy == BareNewline::Reject && first_bare.is_some() {
            Outcome::BareNewline { received }
        } else if message.len() as u64 > max_size {
            Outcome::TooLarge { received }
        } else {
            Outcome::Ok {
                size: message.len() as u64,
            }
        }
    });
    Naive {
        out,
        consumed: i,
        done,
        outcome,
    }
}

/// Dot-stuffs a body: a dot after the start, a CR or an LF is doubled; then `.\r\n`, with a
/// CRLF first unless the body is empty or already ends in one.
pub fn stuff(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev: Option<u8> = None;
    for &b in body {
        if b == b'.' && matches!(prev, None | Some(b'\r') | Some(b'\n')) {
            out.push(b'.');
        }
        out.push(b);
        prev = Some(b);
    }
    if !body.is_empty() && !body.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Every bare CR or LF written as CRLF.
pub fn normalize(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if body[i..].starts_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
            i += 2;
        } else if body[i] == b'\r' || body[i] == b'\n' {
            out.extend_from_slice(b"\r\n");
            i += 1;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    out
}
