//! The DATA scanner: unstuffing, end of data, bare CR/LF policy, size limit.
//!
//! Every byte of every message passes through [`DataScanner::scan`], so it is built around
//! one fast path: a run of well-formed lines (each ended by CRLF, none starting with `.`)
//! is byte-for-byte the output. `run` jumps from one `\n.` to the next with `memmem` (as
//! smtp-proto does), proves the run in between free of bare CR/LF with one branch-free pass
//! over its byte pairs (which the compiler vectorises), and copies it with a single
//! `extend_from_slice`. Where that proof fails, `run_exact` walks the run line by line with
//! `memchr2`. Only the bytes around a dot line, a bare newline or the end of an input chunk
//! go through the byte-at-a-time state machine in `step`.

use memchr::{memchr2, memmem};

/// What to do with a bare LF or bare CR (one not part of a CRLF) in a message body.
///
/// Neither policy ever lets a bare newline end the message (see the module docs of
/// [`crate::body`] on SMTP smuggling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BareNewline {
    /// Refuse the message: drain it to its real end and report [`Outcome::BareNewline`],
    /// which the session answers with `550 5.5.2`.
    #[default]
    Reject,
    /// Accept it and store each bare CR or LF as CRLF.
    Normalize,
}

/// The result of one [`DataScanner::scan`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan {
    /// Input bytes used by this call. When `done`, this stops right after the terminating
    /// `.<CRLF>`: the rest of the input (pipelined commands) belongs to the caller.
    pub consumed: usize,
    /// The terminator has been seen; [`DataScanner::outcome`] now says how it went.
    pub done: bool,
}

/// How a finished DATA body went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The message is complete and within the size limit; `size` bytes were appended.
    Ok {
        /// Length of the stored (unstuffed) message.
        size: u64,
    },
    /// The message would have been longer than the limit (`552 5.3.4`). The output holds
    /// only its first `max_size` bytes and must be discarded.
    TooLarge {
        /// Bytes the client sent for this body, terminator included.
        received: u64,
    },
    /// A bare CR or LF was seen under [`BareNewline::Reject`] (`550 5.5.2`). The output
    /// stops before the first one and must be discarded. This wins over `TooLarge`: it is a
    /// protocol violation, the size is only a limit.
    BareNewline {
        /// Bytes the client sent for this body, terminator included.
        received: u64,
    },
}

/// Where the scanner is, between two bytes. This is all that carries across `scan` calls,
/// which is what makes the output independent of how the input was split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line that follows a real CRLF (or of the body): a `.` here may
    /// start the terminator.
    LineStart,
    /// At the start of a line that follows a bare CR or LF: a `.` here is unstuffed but can
    /// never start the terminator.
    BareLineStart,
    /// Inside a line.
    Mid,
    /// After a CR that may or may not be followed by LF; the CR is not written yet.
    Cr,
    /// After a `.` at a [`State::LineStart`]; the dot has been dropped.
    Dot,
    /// After `.` + CR at a line start: one LF away from the end.
    DotCr,
    /// The terminator has been consumed.
    Done,
}

/// Streaming reader of a DATA body (RFC 5321 4.5.2): see the rules in [`crate::body`].
///
/// Feed it the bytes the client sends after `354`, in whatever pieces they arrive, until
/// [`Scan::done`]. One scanner per message.
///
/// ```
/// use tern_proto::body::{BareNewline, DataScanner, Outcome};
///
/// let mut scanner = DataScanner::new(BareNewline::Reject, 1 << 20);
/// let mut out = Vec::new();
/// let scan = scanner.scan(b"Subject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n", &mut out);
/// assert!(scan.done);
/// assert_eq!(scan.consumed, 25); // QUIT is the next command, left to the caller
/// assert_eq!(out, b"Subject: hi\r\n\r\n.dot\r\n");
/// assert_eq!(scanner.outcome(), Some(Outcome::Ok { size: 21 }));
/// ```
#[derive(Debug, Clone)]
pub struct DataScanner {
    state: State,
    policy: BareNewline,
    max_size: u64,
    /// Bytes of this message appended to `out` so far (never above `max_size`).
    written: u64,
    /// Bytes consumed from the client so far.
    received: u64,
    /// The full message is (or would be) longer than `max_size`.
    too_large: bool,
    /// A bare CR or LF was seen.
    bare: bool,
    /// Whether bytes still go to `out`: false once too large, or after a bare newline under
    /// `Reject` (the message is refused, so buffering it would be wasted memory).
    writing: bool,
}

impl DataScanner {
    /// A scanner for one message, storing at most `max_size` bytes of it.
    pub fn new(policy: BareNewline, max_size: u64) -> Self {
        DataScanner {
            state: State::LineStart,
            policy,
            max_size,
            written: 0,
            received: 0,
            too_large: false,
            bare: false,
            writing: true,
        }
    }

    /// Reads `input`, appends the unstuffed message bytes to `out`, and stops right after
    /// the terminator. Incomplete input is not an error: call again with the next bytes.
    /// After `done`, further calls consume nothing.
    pub fn scan(&mut self, input: &[u8], out: &mut Vec<u8>) -> Scan {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            match self.state {
                State::Done => break,
                State::LineStart | State::BareLineStart if b == b'.' => self.step(b, out),
                State::Mid | State::LineStart | State::BareLineStart => {
                    i = self.run(input, i, out);
                    match input.get(i) {
                        Some(&b) => self.step(b, out),
                        None => break,
                    }
                }
                _ => self.step(b, out),
            }
            i += 1;
            if self.state == State::Done {
                break;
            }
        }
        self.received += len_u64(i);
        Scan {
            consumed: i,
            done: self.state == State::Done,
        }
    }

    /// How the message went, once [`Scan::done`] has been returned; `None` before.
    pub fn outcome(&self) -> Option<Outcome> {
        if self.state != State::Done {
            return None;
        }
        let received = self.received;
        Some(if self.bare && self.policy == BareNewline::Reject {
            Outcome::BareNewline { received }
        } else if self.too_large {
            Outcome::TooLarge { received }
        } else {
            Outcome::Ok { size: self.written }
        })
    }

    /// Bytes consumed from the client so far, for this message.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The fast path. Called where the scanner behaves as inside a line (so `input[i]` is
    /// not a line-start dot), it copies a stretch that needs no rewriting and returns the
    /// index of the first byte that needs `step` (or `input.len()`).
    fn run(&mut self, input: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
        let rest = &input[i..];
        // Up to and including the LF of the next `\n.`, or to the end of the input less a
        // trailing CR, which is undecided until the next byte arrives.
        let len = match DOT_LINE.find(rest) {
            Some(p) => p + 1,
            None => rest.len() - usize::from(rest.ends_with(b"\r")),
        };
        let run = &rest[..len];
        if len == 0 || !crlf_clean(run) {
            return self.run_exact(input, i, out);
        }
        self.emit(out, run);
        // A clean run that ends in LF ends in a real CRLF, at the edge of a `\n.` or of
        // the input: the next byte starts a line.
        self.state = if run.ends_with(b"\n") {
            State::LineStart
        } else {
            State::Mid
        };
        i + len
    }

    /// The exact fast path, for runs `run` could not prove clean: one line per `memchr2`,
    /// stopping at the first byte that needs `step`. It also drops stuffed dots on the way.
    fn run_exact(&mut self, input: &[u8], mut i: usize, out: &mut Vec<u8>) -> usize {
        let mut start = i;
        loop {
            let Some(p) = memchr2(b'\r', b'\n', &input[i..]) else {
                self.emit(out, &input[start..]);
                self.state = State::Mid;
                return input.len();
            };
            let k = i + p;
            // A CRLF followed by an ordinary byte: the next line starts; nothing to rewrite.
            // A CRLF, a dot and a byte other than CR: a stuffed line that is not the
            // terminator; skip the dot. Anything else (bare CR/LF, a possible
            // terminator, the end of the chunk) goes to `step`.
            if input[k] == b'\r' && input.get(k + 1) == Some(&b'\n') {
                match input.get(k + 2) {
                    Some(&b'.') => {
                        // `.` + LF is a bare LF, the same inside a line; only `.` + CR
                        // may be the terminator.
                        if let Some(&c) = input.get(k + 3) {
                            if c != b'\r' {
                                self.emit(out, &input[start..k + 2]);
                                start = k + 3;
                                i = k + 3;
                                continue;
                            }
                        }
                    }
                    Some(_) => {
                        i = k + 2;
                        continue;
                    }
                    None => {}
                }
            }
            self.emit(out, &input[start..k]);
            self.state = State::Mid;
            return k;
        }
    }

    /// One byte through the state machine: the slow path, and the definition of what the
    /// fast path must agree with.
    fn step(&mut self, b: u8, out: &mut Vec<u8>) {
        self.state = match (self.state, b) {
            (State::Done, _) => State::Done,
            (State::LineStart, b'.') => State::Dot,
            // A stuffed line after a bare newline: drop the dot, it cannot end the data.
            (State::BareLineStart, b'.') => State::Mid,
            (State::Cr, b'\n') => {
                self.emit(out, b"\r\n");
                State::LineStart
            }
            (State::DotCr, b'\n') => State::Done,
            // A CR not followed by LF (possibly the CR of `.\r`): bare. The byte after it
            // starts a new line that can never be the terminator.
            (State::Cr | State::DotCr, _) => {
                self.bare_newline(out);
                self.state = State::BareLineStart;
                return self.step(b, out);
            }
            (_, b'\r') => {
                if self.state == State::Dot {
                    State::DotCr
                } else {
                    State::Cr
                }
            }
            (_, b'\n') => {
                self.bare_newline(out);
                State::BareLineStart
            }
            (_, _) => {
                self.emit(out, &[b]);
                State::Mid
            }
        };
    }

    fn bare_newline(&mut self, out: &mut Vec<u8>) {
        self.bare = true;
        match self.policy {
            BareNewline::Normalize => self.emit(out, b"\r\n"),
            BareNewline::Reject => self.writing = false,
        }
    }

    /// Appends message bytes, up to the size limit: the output is always the exact prefix
    /// of the message, whatever the chunking.
    fn emit(&mut self, out: &mut Vec<u8>, bytes: &[u8]) {
        if !self.writing || bytes.is_empty() {
            return;
        }
        let room = self.max_size - self.written;
        let len = len_u64(bytes.len());
        if len <= room {
            out.extend_from_slice(bytes);
            self.written += len;
        } else {
            let fit = usize::try_from(room).unwrap_or(usize::MAX);
            out.extend_from_slice(&bytes[..fit]);
            self.written = self.max_size;
            self.too_large = true;
            self.writing = false;
        }
    }
}

/// Finds the LF before a line-start dot; built once, not per call.
static DOT_LINE: std::sync::LazyLock<memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memmem::Finder::new(b"\n."));

/// True when every CR in `run` is followed by LF and every LF preceded by CR, all within
/// `run`: the run can be copied as it is. Written as an OR over all byte pairs without an
/// early exit inside a block, so it compiles to SIMD compares; blocks bound the work done
/// past a bad pair.
fn crlf_clean(run: &[u8]) -> bool {
    const BLOCK: usize = 256;
    let (Some(&first), Some(&last)) = (run.first(), run.last()) else {
        return true;
    };
    if first == b'\n' || last == b'\r' {
        return false;
    }
    let (a, b) = (&run[..run.len() - 1], &run[1..]);
    a.chunks(BLOCK).zip(b.chunks(BLOCK)).all(|(a, b)| {
        a.iter().zip(b).fold(0u8, |bad, (&x, &y)| {
            bad | (u8::from(x == b'\r') ^ u8::from(y == b'\n'))
        }) == 0
    })
}

fn len_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
