//! Dot-stuffing for the way out (RFC 5321 4.5.2): what the delivery client sends after
//! `354`.
//!
//! Stored bodies are CRLF-only under both [`BareNewline`](super::BareNewline) policies, and
//! for such input the result is exactly RFC 5321's: every line that starts with `.` gets a
//! second one, and `.<CRLF>` ends the data. The stuffer does not rely on that, though: it
//! doubles a dot that follows *any* CR or LF, not only a CRLF, and always puts a real CRLF
//! before the final dot. So even a body with bare newlines can never carry an early
//! end-of-data to a next hop that reads bare LF or CR as a line end (the smuggling attack
//! from the other side). Such a body is not sent byte-for-byte, but it is never cut short.

use memchr::memchr2;

/// Streaming dot-stuffer: feed the body in pieces with [`Stuffer::push`], then
/// [`Stuffer::finish`] to add the end-of-data line.
///
/// ```
/// use tern_proto::body::Stuffer;
///
/// let mut out = Vec::new();
/// let mut stuffer = Stuffer::new();
/// stuffer.push(b"a\r\n", &mut out);
/// stuffer.push(b".b\r\n", &mut out);
/// stuffer.finish(&mut out);
/// assert_eq!(out, b"a\r\n..b\r\n.\r\n");
/// ```
#[derive(Debug, Clone)]
pub struct Stuffer {
    /// The last two body bytes, seeded as if the body followed a CRLF: a leading dot is
    /// doubled, and an empty body needs no CRLF before the final dot.
    last: [u8; 2],
}

impl Default for Stuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl Stuffer {
    /// A stuffer at the start of a body.
    pub fn new() -> Self {
        Stuffer {
            last: [b'\r', b'\n'],
        }
    }

    /// Appends `chunk` to `out`, doubling every dot that starts a line.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let Some(&first) = chunk.first() else {
            return;
        };
        let mut start = 0;
        if first == b'.' && is_newline(self.last[1]) {
            out.push(b'.');
        }
        let mut i = 0;
        while let Some(p) = memchr2(b'\r', b'\n', &chunk[i..]) {
            let k = i + p;
            if chunk.get(k + 1) == Some(&b'.') {
                // Copy through the dot, then start the next run at that same dot: it goes
                // out twice.
                out.extend_from_slice(&chunk[start..k + 2]);
                start = k + 1;
                i = k + 2;
            } else {
                i = k + 1;
            }
        }
        out.extend_from_slice(&chunk[start..]);
        self.last = match chunk {
            [.., a, b] => [*a, *b],
            [b] => [self.last[1], *b],
            [] => self.last,
        };
    }

    /// Ends the data: a CRLF if the body did not end with one, then `.<CRLF>`.
    pub fn finish(self, out: &mut Vec<u8>) {
        if self.last != *b"\r\n" {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }
}

/// Dot-stuffs a whole body and appends the end-of-data line: see [`Stuffer`].
pub fn stuff(body: &[u8], out: &mut Vec<u8>) {
    out.reserve(body.len() + 5);
    let mut stuffer = Stuffer::new();
    stuffer.push(body, out);
    stuffer.finish(out);
}

fn is_newline(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}
