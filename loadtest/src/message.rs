//! The messages the generator sends: generated headers (Message-ID, Date, From, To, Subject
//! and `X-Tern-Loadtest-Sent`) over a deterministic filler body per size class.
//!
//! The filler is built and dot-stuffed once per size class, so a message costs one small
//! header render and a copy, not a stuffing pass over the body. The filler deliberately holds
//! lines that start with a dot and a line that is a lone dot, so every run exercises
//! dot-stuffing on the way out and unstuffing on the way in.

use tern_proto::body::stuff;
use tern_proto::client::{Envelope, Recipient};
use tern_proto::received::write_date;
use tern_proto::{ForwardPath, MailParams, Mailbox, RcptParams, ReversePath};

use crate::values::Pattern;

/// The header carrying the send time in Unix microseconds, read by the sink.
pub const SENT_HEADER: &str = "X-Tern-Loadtest-Sent";

/// Length of each full filler line, CRLF included (RFC 5322's 78 + CRLF).
const LINE: usize = 80;

/// The filler body of `len` bytes: full lines of text, every seventh starting with a dot,
/// line 3 a lone `.`, and a last line padded to the exact length. Always ends in CRLF
/// (a `len` of 1 gives 2 bytes, the smallest line).
pub fn filler(len: usize) -> Vec<u8> {
    let len = len.max(2);
    let mut out = Vec::with_capacity(len);
    let mut i = 0usize;
    // Full lines while at least a minimal last line (CRLF) still fits after them.
    while len - out.len() >= LINE + 2 {
        let start = out.len();
        if i == 3 {
            out.push(b'.');
        } else {
            if i.is_multiple_of(7) {
                out.push(b'.');
            }
            out.extend_from_slice(format!("tern-loadtest filler line {i} ").as_bytes());
            while out.len() - start < LINE - 2 {
                out.push(b'a' + ((out.len() - start) % 26) as u8);
            }
        }
        out.extend_from_slice(b"\r\n");
        i += 1;
    }
    while len - out.len() > 2 {
        out.push(b'z');
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// One size class, built once: the raw filler (for BDAT) and its stuffed form ending in
/// `.\r\n` (for DATA).
#[derive(Debug)]
pub struct Body {
    /// The filler as sent with BDAT and as the server stores it.
    pub raw: Vec<u8>,
    /// The filler dot-stuffed and terminated, to follow stuffed headers after DATA.
    pub stuffed: Vec<u8>,
}

impl Body {
    /// The filler for a message of about `size` bytes, leaving `header_len` for headers.
    pub fn new(size: u64, header_len: usize) -> Body {
        let len = usize::try_from(size)
            .unwrap_or(usize::MAX)
            .saturating_sub(header_len);
        let raw = filler(len);
        let mut stuffed = Vec::with_capacity(raw.len() + raw.len() / 50 + 3);
        stuff(&raw, &mut stuffed);
        Body { raw, stuffed }
    }
}

/// Renders envelopes and header blocks for message numbers.
#[derive(Debug)]
pub struct Generator {
    from: Pattern,
    to: Pattern,
    rcpts: usize,
    addr: String,
}

impl Generator {
    /// A generator for `rcpts` recipients per message.
    pub fn new(from: Pattern, to: Pattern, rcpts: usize) -> Generator {
        Generator {
            from,
            to,
            rcpts,
            addr: String::with_capacity(64),
        }
    }

    fn mailbox(addr: &str) -> Mailbox {
        // Patterns were checked to render an address with an '@' at parse time.
        let at = addr.rfind('@').unwrap_or(addr.len());
        let domain = addr.get(at + 1..).unwrap_or("");
        Mailbox::from_parts(&addr[..at], domain)
    }

    /// The envelope of message `n` declaring `size` bytes (SIZE is sent when offered).
    pub fn envelope(&mut self, n: u64, size: u64) -> Envelope {
        self.addr.clear();
        self.from.render_into(n, 0, &mut self.addr);
        let from = ReversePath::Mailbox(Self::mailbox(&self.addr));
        let mut rcpts = Vec::with_capacity(self.rcpts);
        for r in 0..self.rcpts as u64 {
            self.addr.clear();
            self.to.render_into(n, r, &mut self.addr);
            rcpts.push(Recipient {
                path: ForwardPath::Mailbox(Self::mailbox(&self.addr)),
                params: RcptParams::default(),
            });
        }
        Envelope {
            from,
            params: MailParams {
                size: Some(size),
                ..MailParams::default()
            },
            rcpts,
        }
    }

    /// Appends the header block (ending in the blank line) of message `n` sent at
    /// `sent_micros` (Unix time) to `out`.
    pub fn headers(&self, n: u64, env: &Envelope, sent_micros: u64, out: &mut Vec<u8>) {
        use std::io::Write;
        // Writing into a Vec cannot fail.
        let _ = write!(
            out,
            "Message-ID: <{n}.{sent_micros}@tern-loadtest.invalid>\r\nDate: "
        );
        write_date(i64::try_from(sent_micros / 1_000_000).unwrap_or(0), 0, out);
        let from = env.from.mailbox().map_or("", Mailbox::as_str);
        let _ = write!(out, "\r\nFrom: <{from}>\r\nTo: ");
        for (i, r) in env.rcpts.iter().enumerate() {
            let to = r.path.mailbox().map_or("", Mailbox::as_str);
            // Folded after each address, so 1000 recipients stay under the line limit.
            let sep = if i + 1 < env.rcpts.len() {
                ",\r\n "
            } else {
                "\r\n"
            };
            let _ = write!(out, "<{to}>{sep}");
        }
        let _ = write!(
            out,
            "Subject: tern-loadtest message {n}\r\n{SENT_HEADER}: {sent_micros}\r\n\r\n"
        );
    }
}

/// Reads the `X-Tern-Loadtest-Sent` value from the header block of `message` (the part
/// before the first empty line). `None` when absent or malformed.
pub fn sent_micros(message: &[u8]) -> Option<u64> {
    let name = SENT_HEADER.as_bytes();
    for line in message.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return None;
        }
        if line.len() > name.len()
            && line[..name.len()].eq_ignore_ascii_case(name)
            && line[name.len()] == b':'
        {
            let v = std::str::from_utf8(&line[name.len() + 1..]).ok()?;
            return v.trim().parse().ok();
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use tern_proto::body::{BareNewline, DataScanner};

    #[test]
    fn filler_has_the_exact_length_and_dot_lines() {
        for len in [1usize, 2, 3, 79, 80, 81, 82, 160, 1000, 100 * 1024] {
            let f = filler(len);
            assert_eq!(f.len(), len.max(2), "{len}");
            assert!(f.ends_with(b"\r\n"));
            // CRLF only: every LF has its CR, every CR its LF.
            for (i, &b) in f.iter().enumerate() {
                if b == b'\n' {
                    assert_eq!(f[i - 1], b'\r', "{len}");
                }
                if b == b'\r' {
                    assert_eq!(f[i + 1], b'\n', "{len}");
                }
            }
        }
        let f = filler(1000);
        assert!(f.starts_with(b".tern-loadtest filler line 0 "));
        assert!(f.windows(5).any(|w| w == b"\r\n.\r\n"), "a lone-dot line");
    }

    #[test]
    fn stuffed_body_unstuffs_to_the_raw_one() {
        let b = Body::new(4096, 300);
        assert_eq!(b.raw.len(), 4096 - 300);
        assert!(b.stuffed.ends_with(b"\r\n.\r\n"));
        let mut scanner = DataScanner::new(BareNewline::Reject, 1 << 20);
        let mut out = Vec::new();
        let scan = scanner.scan(&b.stuffed, &mut out);
        assert!(scan.done);
        assert_eq!(out, b.raw);
    }

    #[test]
    fn headers_carry_the_send_time_and_envelope() {
        let mut g = Generator::new(
            Pattern::parse("s{n}@a.example").unwrap(),
            Pattern::parse("r{r}@d{n%3}.example").unwrap(),
            2,
        );
        let env = g.envelope(7, 1024);
        assert_eq!(env.params.size, Some(1024));
        assert_eq!(env.from.to_string(), "<s7@a.example>");
        assert_eq!(env.rcpts[1].path.to_string(), "<r1@d1.example>");
        let mut h = Vec::new();
        g.headers(7, &env, 1_700_000_000_123_456, &mut h);
        let text = String::from_utf8(h.clone()).unwrap();
        assert_eq!(
            text,
            "Message-ID: <7.1700000000123456@tern-loadtest.invalid>\r\n\
             Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\
             From: <s7@a.example>\r\n\
             To: <r0@d1.example>,\r\n <r1@d1.example>\r\n\
             Subject: tern-loadtest message 7\r\n\
             X-Tern-Loadtest-Sent: 1700000000123456\r\n\r\n"
        );
        h.extend_from_slice(b"X-Tern-Loadtest-Sent: 5\r\n");
        assert_eq!(sent_micros(&h), Some(1_700_000_000_123_456));
    }

    #[test]
    fn sent_header_lookup() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"A: b\r\nx-tern-loadtest-sent:  42 \r\n\r\n", Some(42)),
            (b"X-Tern-Loadtest-Sent: 42\n\n", Some(42)),
            (b"A: b\r\n\r\nX-Tern-Loadtest-Sent: 42\r\n", None),
            (b"X-Tern-Loadtest-Sent: soon\r\n\r\n", None),
            (b"X-Tern-Loadtest-Sentx: 1\r\n\r\n", None),
            (b"", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                sent_micros(input),
                *want,
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
    }
}
