//! Incremental parser of server replies (RFC 5321 4.2, RFC 2034 for enhanced codes).
//!
//! ```text
//! Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//!              Reply-code [ SP textstring ] CRLF
//! ```
//!
//! The parser is liberal in what it takes (a bare LF ends a line too, a final line may be the
//! code alone) and strict where a mistake would mislead the client: every line of a reply must
//! carry the same code. Lines are bounded by [`MAX_LINE`] and whole replies by [`MAX_REPLY`],
//! so a hostile server cannot make the client buffer without limit.

use std::borrow::Cow;

use memchr::memchr;

use crate::reply::{Enhanced, Reply};

/// Longest reply line accepted, in octets including the CR. RFC 5321 4.5.3.1.5 says 512;
/// real servers send longer lines (long EHLO greetings, policy texts), so be liberal.
pub const MAX_LINE: usize = 4096;

/// Longest multi-line reply accepted, in octets of text.
pub const MAX_REPLY: usize = 64 * 1024;

/// Why bytes from the server are not a reply. Plain `Copy` data: a bad reply ends the
/// connection, and nothing here needs to allocate to say why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyError {
    /// A line longer than [`MAX_LINE`]; the rest of it is skipped.
    LineTooLong,
    /// A multi-line reply longer than [`MAX_REPLY`].
    ReplyTooLong,
    /// The line does not start with a three-digit code in 200..=599.
    BadCode,
    /// The code is followed by something other than a space, a hyphen or the end of line.
    BadSeparator,
    /// A continuation line carries a different code than the first line.
    CodeMismatch,
}

impl std::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReplyError::LineTooLong => "reply line too long",
            ReplyError::ReplyTooLong => "multi-line reply too long",
            ReplyError::BadCode => "reply does not start with a valid code",
            ReplyError::BadSeparator => "reply code not followed by space or hyphen",
            ReplyError::CodeMismatch => "reply lines carry different codes",
        })
    }
}

impl std::error::Error for ReplyError {}

/// A multi-line reply whose last line has not arrived yet.
#[derive(Debug)]
struct Partial {
    code: u16,
    enhanced: Option<Enhanced>,
    text: String,
}

/// Turns the byte stream from a server into [`Reply`] values.
///
/// Feed bytes as they arrive with [`ReplyParser::feed`], then call
/// [`ReplyParser::next_reply`] until it returns `None` (more bytes needed). The result does
/// not depend on how the stream was split into reads. After an error the parser resumes at
/// the next line, but a client should treat any error as the end of the connection.
#[derive(Debug, Default)]
pub struct ReplyParser {
    buf: Vec<u8>,
    /// Start of the unparsed bytes in `buf`.
    pos: usize,
    partial: Option<Partial>,
    /// Inside a line that was already reported as too long: drop bytes up to its LF.
    skipping: bool,
}

impl ReplyParser {
    /// An empty parser.
    pub fn new() -> ReplyParser {
        ReplyParser::default()
    }

    /// Appends bytes received from the server.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Octets received but not yet part of a returned reply (a partial line or a partial
    /// multi-line reply). After the 220 to STARTTLS this must be zero: anything else was
    /// sent in plaintext before the handshake and must not be trusted (CVE-2011-0411).
    pub fn buffered(&self) -> usize {
        let partial = self.partial.as_ref().map_or(0, |p| p.text.len() + 4);
        self.buf.len() - self.pos + partial
    }

    /// Drops everything buffered (used when the transport changes under the parser).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
        self.partial = None;
        self.skipping = false;
    }

    /// The next complete reply, an error for a malformed one, or `None` when more bytes are
    /// needed.
    pub fn next_reply(&mut self) -> Option<Result<Reply, ReplyError>> {
        loop {
            let rest = &self.buf[self.pos..];
            let Some(lf) = memchr(b'\n', rest) else {
                if !self.skipping && rest.len() > MAX_LINE {
                    // Report now rather than wait for an LF that may never come, and stop
                    // keeping the line's bytes.
                    self.skipping = true;
                    self.partial = None;
                    self.pos = self.buf.len();
                    return Some(Err(ReplyError::LineTooLong));
                }
                if self.skipping {
                    self.pos = self.buf.len();
                }
                return None;
            };
            let start = self.pos;
            self.pos += lf + 1;
            if self.skipping {
                self.skipping = false;
                continue;
            }
            if lf > MAX_LINE {
                self.partial = None;
                return Some(Err(ReplyError::LineTooLong));
            }
            let mut end = start + lf;
            if end > start && self.buf[end - 1] == b'\r' {
                end -= 1;
            }
            match self.line(start, end) {
                Ok(Some(reply)) => return Some(Ok(reply)),
                Ok(None) => continue,
                Err(e) => {
                    self.partial = None;
                    return Some(Err(e));
                }
            }
        }
    }

    /// Takes one line (without its line end); returns the reply when the line was the last.
    fn line(&mut self, start: usize, end: usize) -> Result<Option<Reply>, ReplyError> {
        let line = &self.buf[start..end];
        let code = parse_code(line).ok_or(ReplyError::BadCode)?;
        let last = match line.get(3) {
            None | Some(b' ') => true,
            Some(b'-') => false,
            Some(_) => return Err(ReplyError::BadSeparator),
        };
        let mut text = line.get(4..).unwrap_or(&[]);
        match &mut self.partial {
            None => {
                let enhanced = parse_enhanced(code, text);
                if let Some((_, len)) = enhanced {
                    text = strip_enhanced(text, len);
                }
                let p = Partial {
                    code,
                    enhanced: enhanced.map(|(e, _)| e),
                    text: String::from_utf8_lossy(text).into_owned(),
                };
                self.partial = Some(p);
            }
            Some(p) => {
                if p.code != code {
                    return Err(ReplyError::CodeMismatch);
                }
                if let Some(e) = p.enhanced {
                    // Each line repeats the enhanced code (RFC 2034 3); strip it only where
                    // it is the same one, so odd texts are kept as sent.
                    if let Some((again, len)) = parse_enhanced(code, text) {
                        if again == e {
                            text = strip_enhanced(text, len);
                        }
                    }
                }
                if p.text.len() + text.len() + 1 > MAX_REPLY {
                    return Err(ReplyError::ReplyTooLong);
                }
                p.text.push('\n');
                p.text.push_str(&String::from_utf8_lossy(text));
            }
        }
        if !last {
            return Ok(None);
        }
        Ok(self.partial.take().map(|p| Reply {
            code: p.code,
            enhanced: p.enhanced,
            text: Cow::Owned(p.text),
        }))
    }
}

fn parse_code(line: &[u8]) -> Option<u16> {
    match line.get(..3)? {
        &[a @ b'2'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// An RFC 3463 code at the start of `text` (`class.subject.detail` then a space or the end),
/// whose class matches the reply code; with the length it takes.
fn parse_enhanced(code: u16, text: &[u8]) -> Option<(Enhanced, usize)> {
    let class = *text.first()?;
    if !matches!(class, b'2' | b'4' | b'5') || u16::from(class - b'0') != code / 100 {
        return None;
    }
    if text.get(1) != Some(&b'.') {
        return None;
    }
    let (subject, n1) = digits(&text[2..])?;
    let at = 2 + n1;
    if text.get(at) != Some(&b'.') {
        return None;
    }
    let (detail, n2) = digits(&text[at + 1..])?;
    let len = at + 1 + n2;
    match text.get(len) {
        None | Some(b' ') => Some((Enhanced(class - b'0', subject, detail), len)),
        Some(_) => None,
    }
}

/// One to three decimal digits (RFC 3463: subject and detail are 1*3digit).
fn digits(s: &[u8]) -> Option<(u16, usize)> {
    let n = s.iter().take(4).take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 3 {
        return None;
    }
    let v = s[..n]
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    Some((v, n))
}

fn strip_enhanced(text: &[u8], len: usize) -> &[u8] {
    text.get(len + 1..).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = Vec<Result<Reply, ReplyError>>;

    fn all(input: &[u8]) -> Parsed {
        let mut p = ReplyParser::new();
        p.feed(input);
        std::iter::from_fn(|| p.next_reply()).collect()
    }

    fn r(code: u16, e: Option<(u8, u16, u16)>, text: &str) -> Result<Reply, ReplyError> {
        Ok(Reply::new(
            code,
            e.map(|(a, b, c)| Enhanced(a, b, c)),
            text.to_owned(),
        ))
    }

    #[test]
    fn table() {
        let cases: &[(&[u8], Parsed)] = &[
            (b"250 Ok\r\n", vec![r(250, None, "Ok")]),
            (b"250 2.1.0 Ok\r\n", vec![r(250, Some((2, 1, 0)), "Ok")]),
            (b"250\r\n", vec![r(250, None, "")]),
            (b"250 \r\n", vec![r(250, None, "")]),
            (b"250 2.0.0\r\n", vec![r(250, Some((2, 0, 0)), "")]),
            (b"250 Ok\n", vec![r(250, None, "Ok")]),
            (
                b"250-mx.example\r\n250-PIPELINING\r\n250 SIZE 100\r\n",
                vec![r(250, None, "mx.example\nPIPELINING\nSIZE 100")],
            ),
            (
                b"550-5.1.1 No such\r\n550 5.1.1 user\r\n",
                vec![r(550, Some((5, 1, 1)), "No such\nuser")],
            ),
            // A class that contradicts the code is not an enhanced code.
            (b"250 5.0.0 odd\r\n", vec![r(250, None, "5.0.0 odd")]),
            (b"451 4.7.1234 x\r\n", vec![r(451, None, "4.7.1234 x")]),
            (b"451 4.7.1x\r\n", vec![r(451, None, "4.7.1x")]),
            (
                b"451 4.123.999 x\r\n",
                vec![r(451, Some((4, 123, 999)), "x")],
            ),
            (b"250-a\r\n251 b\r\n", vec![Err(ReplyError::CodeMismatch)]),
            (b"25 x\r\n", vec![Err(ReplyError::BadCode)]),
            (b"650 x\r\n", vec![Err(ReplyError::BadCode)]),
            (b"\r\n", vec![Err(ReplyError::BadCode)]),
            (b"250x\r\n", vec![Err(ReplyError::BadSeparator)]),
            (
                b"220 hi\r\n250 Ok\r\n",
                vec![r(220, None, "hi"), r(250, None, "Ok")],
            ),
            // The parser resumes at the next line after an error.
            (
                b"xx\r\n250 Ok\r\n",
                vec![Err(ReplyError::BadCode), r(250, None, "Ok")],
            ),
        ];
        for (input, want) in cases {
            assert_eq!(&all(input), want, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn incomplete_is_not_an_error() {
        let mut p = ReplyParser::new();
        p.feed(b"250-a\r\n250 b");
        assert_eq!(p.next_reply(), None);
        assert!(p.buffered() > 0);
        p.feed(b"\r\n");
        assert_eq!(p.next_reply(), Some(r(250, None, "a\nb")));
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn long_line_is_bounded_without_waiting_for_lf() {
        let mut p = ReplyParser::new();
        p.feed(b"250 ");
        p.feed(&vec![b'a'; MAX_LINE]);
        assert_eq!(p.next_reply(), Some(Err(ReplyError::LineTooLong)));
        // More of the same line is dropped as it comes.
        p.feed(&vec![b'a'; MAX_LINE * 2]);
        assert_eq!(p.next_reply(), None);
        assert!(p.buf.len() - p.pos == 0);
        p.feed(b"aaa\r\n250 Ok\r\n");
        assert_eq!(p.next_reply(), Some(r(250, None, "Ok")));
    }

    #[test]
    fn line_at_the_limit_is_taken() {
        let mut line = b"250 ".to_vec();
        line.resize(MAX_LINE - 1, b'a');
        line.extend_from_slice(b"\r\n");
        let got = all(&line);
        assert!(matches!(&got[..], [Ok(r)] if r.text.len() == MAX_LINE - 5));
        line.insert(5, b'a');
        assert_eq!(all(&line), vec![Err(ReplyError::LineTooLong)]);
    }

    #[test]
    fn endless_multiline_is_bounded() {
        let mut input = Vec::new();
        for _ in 0..(MAX_REPLY / 100 + 2) {
            input.extend_from_slice(b"250-");
            input.extend_from_slice(&[b'x'; 100]);
            input.extend_from_slice(b"\r\n");
        }
        let got = all(&input);
        assert_eq!(got.first(), Some(&Err(ReplyError::ReplyTooLong)));
    }
}
