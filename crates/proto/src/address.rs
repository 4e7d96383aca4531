//! Paths and mailboxes (RFC 5321 section 4.1.2; RFC 6531 for UTF-8).
//!
//! A [`Mailbox`] keeps its text as received (local part as written, quoted or not, and the
//! domain or address literal) so that it can be passed on unchanged; routing code asks for
//! [`Mailbox::domain`] and compares case-insensitively.
//!
//! The path types take their string type as a parameter, `String` by default: the command
//! parser hands out `Cow<'_, str>` versions that borrow from the command line (no
//! allocation per address), and `into_owned` makes the default, owning ones for what a
//! session keeps.
//!
//! The grammar, with the RFC 6531 additions marked `+`:
//!
//! ```text
//! Path          = "<" [ A-d-l ":" ] Mailbox ">"       ; source route accepted, dropped
//! A-d-l         = "@" Domain *( "," "@" Domain )
//! Mailbox       = Local-part "@" ( Domain / address-literal )
//! Local-part    = Dot-string / Quoted-string           ; at most 64 octets
//! Dot-string    = Atom *( "." Atom )                   ; Atom = 1*atext (+ UTF-8)
//! Quoted-string = DQUOTE *( qtextSMTP / "\" %d32-126 ) DQUOTE   ; qtext + UTF-8
//! Domain        = sub-domain *( "." sub-domain )       ; at most 255 octets
//! sub-domain    = Let-dig [ *( Let-dig / "-" ) Let-dig ]          ; + U-label
//! address-literal = "[" ( IPv4 / "IPv6:" IPv6 / Ldh-str ":" 1*dcontent ) "]"
//! ```
//!
//! Non-ASCII bytes are accepted wherever RFC 6531 allows UTF-8 and checked to be valid
//! UTF-8 once per mailbox; whether the session allows them (SMTPUTF8 given) is the
//! session's decision, through [`Mailbox::is_utf8`].

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::command::Line;
use crate::swar::{HIGHS, ONES};

/// The longest local part, in octets (RFC 5321 4.5.3.1.1).
pub const MAX_LOCAL_PART: usize = 64;
/// The longest domain, in octets (RFC 5321 4.5.3.1.2).
pub const MAX_DOMAIN: usize = 255;

/// A mailbox `local-part@domain` as the client wrote it (without the angle brackets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox<S = String> {
    pub(crate) text: S,
    at: usize,
}

impl Mailbox {
    /// Builds a mailbox from already-validated parts. The parser is the only producer of
    /// mailboxes from the wire; this is for code that builds addresses itself (bounces, tests).
    pub fn from_parts(local: &str, domain: &str) -> Mailbox {
        let mut text = String::with_capacity(local.len() + domain.len() + 1);
        text.push_str(local);
        text.push('@');
        text.push_str(domain);
        Mailbox {
            text,
            at: local.len(),
        }
    }
}

impl<S: AsRef<str>> Mailbox<S> {
    /// The local part, as written (a quoted local part keeps its quotes).
    pub fn local(&self) -> &str {
        &self.text.as_ref()[..self.at]
    }

    /// The domain or address literal (`[192.0.2.1]`, `[IPv6:...]`), as written.
    pub fn domain(&self) -> &str {
        &self.text.as_ref()[self.at + 1..]
    }

    /// The whole mailbox, `local@domain`.
    pub fn as_str(&self) -> &str {
        self.text.as_ref()
    }

    /// True when the mailbox holds any non-ASCII character (needs SMTPUTF8, RFC 6531).
    pub fn is_utf8(&self) -> bool {
        !self.as_str().is_ascii()
    }
}

impl Mailbox<Cow<'_, str>> {
    /// The owning mailbox.
    pub fn into_owned(self) -> Mailbox {
        Mailbox {
            text: self.text.into_owned(),
            at: self.at,
        }
    }
}

impl<S: AsRef<str>> fmt::Display for Mailbox<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The argument of `MAIL FROM:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath<S = String> {
    /// `<>`: the null reverse-path of bounces (RFC 5321 4.5.5).
    Null,
    /// A mailbox.
    Mailbox(Mailbox<S>),
}

impl<S> ReversePath<S> {
    /// The mailbox, or `None` for `<>`.
    pub fn mailbox(&self) -> Option<&Mailbox<S>> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(m) => Some(m),
        }
    }
}

impl ReversePath<Cow<'_, str>> {
    /// The owning path.
    pub fn into_owned(self) -> ReversePath {
        match self {
            ReversePath::Null => ReversePath::Null,
            ReversePath::Mailbox(m) => ReversePath::Mailbox(m.into_owned()),
        }
    }
}

impl<S: AsRef<str>> fmt::Display for ReversePath<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// The argument of `RCPT TO:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath<S = String> {
    /// `<Postmaster>` without a domain (RFC 5321 4.1.1.3), matched case-insensitively.
    Postmaster,
    /// A mailbox.
    Mailbox(Mailbox<S>),
}

impl<S> ForwardPath<S> {
    /// The mailbox, or `None` for the bare `<Postmaster>`.
    pub fn mailbox(&self) -> Option<&Mailbox<S>> {
        match self {
            ForwardPath::Postmaster => None,
            ForwardPath::Mailbox(m) => Some(m),
        }
    }
}

impl ForwardPath<Cow<'_, str>> {
    /// The owning path.
    pub fn into_owned(self) -> ForwardPath {
        match self {
            ForwardPath::Postmaster => ForwardPath::Postmaster,
            ForwardPath::Mailbox(m) => ForwardPath::Mailbox(m.into_owned()),
        }
    }
}

impl<S: AsRef<str>> fmt::Display for ForwardPath<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// A path or mailbox that does not follow the grammar. It carries nothing more: the caller
/// knows whether it was parsing a sender or a recipient, which is all the reply needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathError;

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed path")
    }
}

impl std::error::Error for PathError {}

impl FromStr for Mailbox {
    type Err = PathError;

    /// Parses a bare `local@domain` (no angle brackets), e.g. from configuration.
    fn from_str(s: &str) -> Result<Mailbox, PathError> {
        let b = s.as_bytes();
        let (at, end) = mailbox_end(b, 0)?;
        if end != b.len() {
            return Err(PathError);
        }
        Ok(Mailbox {
            text: s.to_owned(),
            at,
        })
    }
}

/// Parses a reverse-path (`<>` or `<mailbox>`, with an optional source route) at the start
/// of `input` and returns it with the bytes after the closing `>`.
#[inline(always)]
pub fn parse_reverse_path(input: &[u8]) -> Result<(ReversePath, &[u8]), PathError> {
    reverse_path_in(Line::new(input), input).map(|(p, rest)| (p.into_owned(), rest))
}

/// [`parse_reverse_path`] for a path that is part of `line`, whose UTF-8 check is reused.
#[inline(always)]
pub(crate) fn reverse_path_in<'a>(
    line: Line<'a>,
    input: &'a [u8],
) -> Result<(ReversePath<Cow<'a, str>>, &'a [u8]), PathError> {
    if input.starts_with(b"<>") {
        return Ok((ReversePath::Null, &input[2..]));
    }
    match parse_path(line, input, false)? {
        (Some(m), rest) => Ok((ReversePath::Mailbox(m), rest)),
        (None, _) => Err(PathError),
    }
}

/// Parses a forward-path (`<mailbox>` or the bare `<Postmaster>`, with an optional source
/// route before a mailbox) at the start of `input` and returns it with the bytes after the
/// closing `>`. `<>` is not a forward-path.
#[inline(always)]
pub fn parse_forward_path(input: &[u8]) -> Result<(ForwardPath, &[u8]), PathError> {
    forward_path_in(Line::new(input), input).map(|(p, rest)| (p.into_owned(), rest))
}

/// [`parse_forward_path`] for a path that is part of `line`, whose UTF-8 check is reused.
#[inline(always)]
pub(crate) fn forward_path_in<'a>(
    line: Line<'a>,
    input: &'a [u8],
) -> Result<(ForwardPath<Cow<'a, str>>, &'a [u8]), PathError> {
    match parse_path(line, input, true)? {
        (Some(m), rest) => Ok((ForwardPath::Mailbox(m), rest)),
        (None, rest) => Ok((ForwardPath::Postmaster, rest)),
    }
}

/// True when `s` is a domain name by RFC 5321's `Domain` rule (with RFC 6531 U-labels) and
/// at most 255 octets. Address literals are not domains: see [`is_valid_address_literal`].
pub fn is_valid_domain(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() <= MAX_DOMAIN && domain_end(b, 0) == Ok(b.len())
}

/// True when `s` is an address literal: `[192.0.2.1]`, `[IPv6:2001:db8::1]` or a general
/// literal `[tag:content]`.
pub fn is_valid_address_literal(s: &str) -> bool {
    let b = s.as_bytes();
    literal_end(b, 0) == Ok(b.len())
}

/// One character class table instead of a chain of comparisons per byte: the path scanner
/// is on the per-recipient hot path.
const ATEXT: u32 = 1;
const LDH: u32 = 4;
const QTEXT: u32 = 8;
const DCONTENT: u32 = 16;
const ATEXT_DOT: u32 = 32;
const LDH_DOT: u32 = 64;
/// The byte is `.` / `-`: the two that a label or atom may not begin or end with.
const DOT: u32 = 1 << 8;
const HYPHEN: u32 = 1 << 9;
/// What may not come right after this byte in a domain, as DOT/HYPHEN bits shifted left by
/// [`NOT_NEXT_SHIFT`]: after `.` neither `.` nor `-` (an empty label, a label starting with
/// `-`), after `-` no `.` (a label ending with `-`). The scanners AND the previous byte's
/// entry, shifted back, with the current one: the adjacency rules cost one shift, one AND
/// and one OR per byte, with no compare chain.
const NOT_NEXT_SHIFT: u32 = 4;

static CLASS: [u32; 256] = classes();

const fn classes() -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut f = 0;
        if c.is_ascii_alphanumeric() {
            f |= ATEXT | LDH;
        }
        if matches!(
            c,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'/'
                | b'='
                | b'?'
                | b'^'
                | b'_'
                | b'`'
                | b'{'
                | b'|'
                | b'}'
                | b'~'
        ) {
            f |= ATEXT;
        }
        if c == b'-' {
            f |= LDH;
        }
        if c == b'.' {
            f |= ATEXT_DOT | LDH_DOT | DOT | (DOT | HYPHEN) << NOT_NEXT_SHIFT;
        }
        if c == b'-' {
            f |= HYPHEN | DOT << NOT_NEXT_SHIFT;
        }
        if c == 32 || c == 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 126) {
            f |= QTEXT;
        }
        if (c >= 33 && c <= 90) || (c >= 94 && c <= 126) {
            f |= DCONTENT;
        }
        // RFC 6531: UTF8-non-ascii may appear in atext, qtext and U-labels. Validity of
        // the sequence is checked once for the whole mailbox.
        if c >= 0x80 {
            f |= ATEXT | LDH | QTEXT;
        }
        if f & ATEXT != 0 {
            f |= ATEXT_DOT;
        }
        if f & LDH != 0 {
            f |= LDH_DOT;
        }
        t[i] = f;
        i += 1;
    }
    t
}

#[inline(always)]
fn is(c: u8, class: u32) -> bool {
    CLASS[usize::from(c)] & class != 0
}

/// A mailbox borrowed from the line it was parsed from.
type MailboxIn<'a> = Mailbox<Cow<'a, str>>;

/// `<` [source-route `:`] mailbox `>`; `None` is the bare Postmaster (only when `forward`).
#[inline(always)]
fn parse_path<'a>(
    line: Line<'a>,
    s: &'a [u8],
    forward: bool,
) -> Result<(Option<MailboxIn<'a>>, &'a [u8]), PathError> {
    if s.first() != Some(&b'<') {
        return Err(PathError);
    }
    let mut i = 1;
    if s.get(i) == Some(&b'@') {
        // The route is obsolete (RFC 5321 4.1.2, C.): check its syntax, then drop it.
        loop {
            i = domain_end(s, i + 1)?;
            match s.get(i) {
                Some(b',') if s.get(i + 1) == Some(&b'@') => i += 1,
                Some(b':') => {
                    i += 1;
                    break;
                }
                _ => return Err(PathError),
            }
        }
    } else if forward
        && s.len() >= i + 11
        && s[i + 10] == b'>'
        && s[i..i + 10].eq_ignore_ascii_case(b"postmaster")
    {
        return Ok((None, &s[i + 11..]));
    }
    let start = i;
    let (at, end) = mailbox_end(s, start)?;
    if s.get(end) != Some(&b'>') {
        return Err(PathError);
    }
    let text = line.text(&s[start..end]).ok_or(PathError)?;
    let mailbox = Mailbox {
        text: Cow::Borrowed(text),
        at: at - start,
    };
    Ok((Some(mailbox), &s[end + 1..]))
}

/// Scans `local@domain` from `i`; returns the index of `@` and the index after the domain.
///
/// Never inlined: inside the whole inlined command parser its byte loop ran short of
/// registers (the class table's address was rebuilt on every byte); out of line it is a
/// tight loop, and the parse bench gained ~5 % for one call per path.
#[inline(never)]
fn mailbox_end(s: &[u8], i: usize) -> Result<(usize, usize), PathError> {
    let at = if s.get(i) == Some(&b'"') {
        quoted_end(s, i)?
    } else {
        dot_string_end(s, i)?
    };
    if at - i > MAX_LOCAL_PART || s.get(at) != Some(&b'@') {
        return Err(PathError);
    }
    let d = at + 1;
    let end = if s.get(d) == Some(&b'[') {
        literal_end(s, d)?
    } else {
        domain_end(s, d)?
    };
    if end - d > MAX_DOMAIN {
        return Err(PathError);
    }
    Ok((at, end))
}

/// `Atom *("." Atom)` from `i`; returns the index after it.
///
/// One loop over atext-or-dot, with the dot rule kept in a flag instead of one loop per
/// atom: a loop exit is a likely branch mispredict, and addresses have several atoms. Only
/// `..` is a bad pair here: two entries that both have the DOT bit.
#[inline(always)]
fn dot_string_end(s: &[u8], mut i: usize) -> Result<usize, PathError> {
    // As if after a dot, so that a leading dot counts as a double dot.
    let mut prev = CLASS[usize::from(b'.')];
    let mut bad = 0;
    while let Some(&c) = s.get(i) {
        let k = CLASS[usize::from(c)];
        if k & ATEXT_DOT == 0 {
            break;
        }
        bad |= prev & k;
        prev = k;
        i += 1;
    }
    // A trailing dot, or nothing at all, leaves `prev` at '.'.
    if (bad | prev) & DOT != 0 {
        Err(PathError)
    } else {
        Ok(i)
    }
}

/// A quoted string starting at the `"` at `i`; returns the index after the closing quote.
fn quoted_end(s: &[u8], mut i: usize) -> Result<usize, PathError> {
    i += 1;
    loop {
        match s.get(i) {
            Some(b'"') => return Ok(i + 1),
            Some(b'\\') => match s.get(i + 1) {
                Some(32..=126) => i += 2,
                _ => return Err(PathError),
            },
            Some(&c) if is(c, QTEXT) => i += 1,
            _ => return Err(PathError),
        }
    }
}

/// `sub-domain *("." sub-domain)` from `i`; returns the index after it. One loop for all
/// labels, as in [`dot_string_end`]: a label neither starts nor ends with `-` or `.`.
///
/// Domains (the HELO name, every recipient's) are long enough to read eight bytes at a time
/// through [`ldh_word`]; only a tail shorter than a word goes through the byte loop, which
/// picks up the last byte's kind from the word loop.
#[inline(always)]
fn domain_end(s: &[u8], mut i: usize) -> Result<usize, PathError> {
    // As if after a dot, so that a leading dot or hyphen is an adjacency error.
    let (mut after_dot, mut after_hyphen) = (1u64 << 7, 0u64);
    let mut bad = 0u64;
    while let Some(word) = s.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let w = ldh_word(u64::from_le_bytes(*word));
        // Each byte's high bit next to the previous byte's: shift left by one byte, and
        // carry the previous word's last byte in.
        let prev_dot = (w.dot << 8) | after_dot;
        let prev_hyphen = (w.hyphen << 8) | after_hyphen;
        let pairs = (prev_dot & (w.dot | w.hyphen)) | (prev_hyphen & w.dot);
        if w.valid != HIGHS {
            // The domain ends in this word, at its first invalid byte: only the bytes
            // before it count, and the last of them must not be `.` or `-`.
            let n = (!w.valid & HIGHS).trailing_zeros() / 8;
            let before = (1u64 << (8 * n)) - 1;
            let last = (((w.dot | w.hyphen) << 8) | after_dot | after_hyphen) >> (8 * n);
            bad |= (pairs & before) | (last & 0x80);
            i += n as usize;
            return if bad != 0 { Err(PathError) } else { Ok(i) };
        }
        bad |= pairs;
        after_dot = w.dot >> 56;
        after_hyphen = w.hyphen >> 56;
        i += 8;
    }
    if bad != 0 {
        return Err(PathError);
    }
    let mut prev = if after_dot != 0 {
        CLASS[usize::from(b'.')]
    } else if after_hyphen != 0 {
        CLASS[usize::from(b'-')]
    } else {
        CLASS[usize::from(b'a')]
    };
    let mut bad = 0;
    while let Some(&c) = s.get(i) {
        let k = CLASS[usize::from(c)];
        if k & LDH_DOT == 0 {
            break;
        }
        bad |= (prev >> NOT_NEXT_SHIFT) & k;
        prev = k;
        i += 1;
    }
    if (bad | prev) & (DOT | HYPHEN) != 0 {
        Err(PathError)
    } else {
        Ok(i)
    }
}

/// Per-byte masks of a little-endian word, in each byte's high bit.
struct LdhWord {
    /// The byte is in LDH_DOT: a letter, digit, `-`, `.`, or non-ASCII (U-labels).
    valid: u64,
    dot: u64,
    hyphen: u64,
}

/// The class of eight bytes at once (SWAR). On the low seven bits of each byte, adding
/// `0x80 - lo` sets the high bit exactly when the byte is `>= lo`, and adding `0x7f - hi`
/// when it is `> hi`; no sum leaves its byte, so the bytes do not disturb each other. The
/// two single bytes are found as the zero bytes of `w ^ c`: a byte is nonzero exactly when
/// its low seven bits plus 0x7f, or its own high bit, set the high bit (fewer operations
/// than a range of width one, and exact for non-ASCII bytes without a separate mask).
#[inline(always)]
fn ldh_word(w: u64) -> LdhWord {
    let high = w & HIGHS;
    let low = w & !HIGHS;
    let ge = |x: u64, lo: u8| (x + ONES * u64::from(0x80 - lo)) & HIGHS;
    let gt = |x: u64, hi: u8| (x + ONES * u64::from(0x7f - hi)) & HIGHS;
    let folded = low | (ONES * 0x20);
    let letter = ge(folded, b'a') & !gt(folded, b'z');
    let digit = ge(low, b'0') & !gt(low, b'9');
    let eq = |c: u8| {
        let t = w ^ (ONES * u64::from(c));
        !(((t & !HIGHS) + ONES * 0x7f) | t) & HIGHS
    };
    let (dot, hyphen) = (eq(b'.'), eq(b'-'));
    LdhWord {
        valid: high | letter | digit | dot | hyphen,
        dot,
        hyphen,
    }
}

/// An address literal starting at the `[` at `i`; returns the index after the `]`.
fn literal_end(s: &[u8], i: usize) -> Result<usize, PathError> {
    if s.get(i) != Some(&b'[') {
        return Err(PathError);
    }
    let body = &s[i + 1..];
    let close = memchr::memchr(b']', body).ok_or(PathError)?;
    let content = &body[..close];
    let ok = if content.len() > 5 && content[..5].eq_ignore_ascii_case(b"IPv6:") {
        parse_ascii::<Ipv6Addr>(&content[5..])
    } else if let Some(colon) = memchr::memchr(b':', content) {
        // General-address-literal: Standardized-tag ":" 1*dcontent; the tag is an Ldh-str
        // (ends with a letter or digit). tern does not route on it, it only passes it on.
        let (tag, rest) = (&content[..colon], &content[colon + 1..]);
        tag.last().is_some_and(u8::is_ascii_alphanumeric)
            && tag.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
            && !rest.is_empty()
            && rest.iter().all(|&c| is(c, DCONTENT))
    } else {
        parse_ascii::<Ipv4Addr>(content)
    };
    if ok {
        Ok(i + 1 + close + 1)
    } else {
        Err(PathError)
    }
}

fn parse_ascii<T: FromStr>(b: &[u8]) -> bool {
    std::str::from_utf8(b).is_ok_and(|s| s.parse::<T>().is_ok())
}

#[cfg(test)]
mod tests;
