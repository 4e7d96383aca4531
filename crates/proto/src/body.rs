//! Message content on the wire: the DATA scanner (in) and the dot-stuffer (out).
//!
//! [`DataScanner`] reads what a client sends after `354`: it removes the dot that
//! RFC 5321 4.5.2 puts in front of lines starting with a dot, finds the end of the data,
//! and enforces the size limit without buffering past it. It is the hottest loop in the
//! server, so it jumps from CR/LF to CR/LF with `memchr2` and copies whole runs.
//!
//! **SMTP smuggling** (CVE-2023-51764/51765/51766): the data ends *only* on
//! `<CRLF>.<CRLF>`, where both line endings are real CRLF pairs. A bare LF or a bare CR
//! never ends a line here, so `\n.\n`, `\n.\r\n`, `\r\n.\n` and `\r.\r` are content. What
//! happens to such content is the [`BareNewline`] policy:
//!
//! - [`BareNewline::Reject`] (default): the data is drained to its real end and the
//!   outcome is [`Outcome::BareNewline`] (the session answers 550 5.5.2).
//! - [`BareNewline::Normalize`]: a bare LF or bare CR is stored as CRLF. The byte after it
//!   is *not* treated as the start of a line: a dot there is neither unstuffed nor can it
//!   end the data. So `a\n.\r\n` is stored as `a\r\n.\r\n`, a line holding one dot, which
//!   the dot-stuffer doubles on the way out; nothing can hide a second message there.
//!
//! The output is the same whatever the split of the input into [`DataScanner::scan`]
//! calls; the tests check this against a byte-at-a-time reference.

use memchr::{memchr2, memmem};

/// What to do with a bare CR or LF in message data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BareNewline {
    /// Refuse the message (550 5.5.2) after draining it.
    #[default]
    Reject,
    /// Store each bare CR or LF as CRLF.
    Normalize,
}

/// The result of one [`DataScanner::scan`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Input bytes used. When `done`, the terminating `.\r\n` is included and nothing after
    /// it: those bytes are the next pipelined command.
    pub consumed: usize,
    /// The end of the data was reached.
    pub done: bool,
}

/// How the data ended, once [`Scan::done`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A good message; the output holds it.
    Ok,
    /// The message was larger than the limit; the output holds only a prefix.
    TooLarge,
    /// The message held a bare CR or LF under [`BareNewline::Reject`].
    BareNewline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// After a real CRLF (or at the very start): a dot here is special.
    LineStart,
    /// Inside a line.
    Mid,
    /// A CR inside a line; the next byte decides whether it is a line ending.
    Cr,
    /// A dot at the start of a line.
    Dot,
    /// `.` CR at the start of a line: an LF now ends the data.
    DotCr,
    /// The data has ended.
    Done,
}

/// The streaming DATA scanner. One per message.
#[derive(Debug, Clone)]
pub struct DataScanner {
    state: State,
    policy: BareNewline,
    max_size: u64,
    /// Bytes of content seen so far (also those not stored because of the limit).
    size: u64,
    bare: bool,
}

impl DataScanner {
    /// A scanner for one message of at most `max_size` bytes (after unstuffing).
    pub fn new(policy: BareNewline, max_size: u64) -> DataScanner {
        DataScanner {
            state: State::LineStart,
            policy,
            max_size,
            size: 0,
            bare: false,
        }
    }

    /// Reads `input`, appends the unstuffed content to `out`, and stops right after the
    /// end of the data. Call again with more input until [`Scan::done`].
    pub fn scan(&mut self, input: &[u8], out: &mut Vec<u8>) -> Scan {
        let mut i = 0;
        while i < input.len() {
            match self.state {
                State::Mid => match memchr2(b'\r', b'\n', &input[i..]) {
                    None => {
                        self.emit(out, &input[i..]);
                        i = input.len();
                    }
                    Some(k) => {
                        self.emit(out, &input[i..i + k]);
                        i += k;
                        if input[i] == b'\r' {
                            self.state = State::Cr;
                        } else {
                            self.bare_newline(out, b'\n');
                        }
                        i += 1;
                    }
                },
                State::Cr => {
                    if input[i] == b'\n' {
                        self.emit(out, b"\r\n");
                        self.state = State::LineStart;
                        i += 1;
                    } else {
                        // The byte after a bare CR is read again as part of the line.
                        self.bare_newline(out, b'\r');
                        self.state = State::Mid;
                    }
                }
                State::LineStart => {
                    if input[i] == b'.' {
                        self.state = State::Dot;
                        i += 1;
                    } else {
                        self.state = State::Mid;
                    }
                }
                State::Dot => {
                    if input[i] == b'\r' {
                        self.state = State::DotCr;
                        i += 1;
                    } else {
                        // The leading dot is dropped (unstuffed); the byte starts the line.
                        self.state = State::Mid;
                    }
                }
                State::DotCr => {
                    if input[i] == b'\n' {
                        self.state = State::Done;
                        return Scan {
                            consumed: i + 1,
                            done: true,
                        };
                    }
                    // `.` then a bare CR: the dot was a stuffed one, the CR is bare.
                    self.bare_newline(out, b'\r');
                    self.state = State::Mid;
                }
                State::Done => break,
            }
        }
        Scan {
            consumed: i,
            done: self.state == State::Done,
        }
    }

    /// How the data ended. Meaningful once [`Scan::done`].
    pub fn outcome(&self) -> Outcome {
        if self.size > self.max_size {
            Outcome::TooLarge
        } else if self.bare && self.policy == BareNewline::Reject {
            Outcome::BareNewline
        } else {
            Outcome::Ok
        }
    }

    /// Content bytes seen so far, stored or not.
    pub fn size(&self) -> u64 {
        self.size
    }

    #[inline]
    fn emit(&mut self, out: &mut Vec<u8>, bytes: &[u8]) {
        let before = self.size;
        self.size += bytes.len() as u64;
        if self.size <= self.max_size {
            out.extend_from_slice(bytes);
        } else if before < self.max_size {
            // Fill up to the limit exactly, so the stored prefix does not depend on how
            // the input was split; never past it.
            out.extend_from_slice(&bytes[..(self.max_size - before) as usize]);
        }
    }

    fn bare_newline(&mut self, out: &mut Vec<u8>, byte: u8) {
        self.bare = true;
        match self.policy {
            BareNewline::Normalize => self.emit(out, b"\r\n"),
            BareNewline::Reject => self.emit(out, &[byte]),
        }
    }
}

/// Appends `body` to `out` in DATA wire form: a dot is doubled at the start of every line
/// (RFC 5321 4.5.2), a final CRLF is added if the body lacks one, then the terminating
/// `.\r\n`. Lines are found by LF, so a body holding bare LFs (possible only from BDAT)
/// is stuffed as a lenient receiver would read it.
pub fn stuff(body: &[u8], out: &mut Vec<u8>) {
    out.reserve(body.len() + body.len() / 256 + 5);
    let mut last = 0;
    if body.first() == Some(&b'.') {
        out.push(b'.');
    }
    for p in memmem::find_iter(body, b"\n.") {
        out.extend_from_slice(&body[last..=p]);
        out.push(b'.');
        last = p + 1;
    }
    out.extend_from_slice(&body[last..]);
    if !body.is_empty() && !body.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
}

#[cfg(test)]
mod tests;
