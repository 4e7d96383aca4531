//! ESMTP parameters of MAIL and RCPT.
//!
//! SIZE (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), RET, ENVID, NOTIFY and
//! ORCPT (RFC 3461) and AUTH= (RFC 4954). Values given in xtext are stored decoded.
//!
//! [`MailParams::parse`] and [`RcptParams::parse`] read the text after the path. A keyword
//! that belongs to the other command is as unknown as one nobody defined (555); a known
//! keyword with a bad or repeated value is a 501 whose text names the rule.
//!
//! As with the paths, the string type is a parameter (`String` by default): the command
//! parser's versions hold `Cow<'_, str>` that borrow from the line, owning only an xtext
//! value that had a `+XX` to decode.

use std::borrow::Cow;

use crate::command::{fold, fold_word, CommandError, Line};
use crate::swar::{find_byte, HIGHS, ONES};

/// `BODY=` of MAIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BodyType {
    /// `BODY=7BIT`, also the default when BODY is absent.
    #[default]
    SevenBit,
    /// `BODY=8BITMIME` (RFC 6152).
    EightBitMime,
    /// `BODY=BINARYMIME` (RFC 3030): only with BDAT.
    BinaryMime,
}

/// `RET=` of MAIL (RFC 3461 4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// `RET=FULL`: return the whole message in a bounce.
    Full,
    /// `RET=HDRS`: return only the headers.
    Hdrs,
}

/// `NOTIFY=` of RCPT (RFC 3461 4.1): NEVER, or any of SUCCESS, FAILURE, DELAY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Notify {
    /// NOTIFY=NEVER (then the three flags below are all false).
    pub never: bool,
    /// SUCCESS.
    pub success: bool,
    /// FAILURE.
    pub failure: bool,
    /// DELAY.
    pub delay: bool,
}

/// `ORCPT=addr-type;xtext` of RCPT (RFC 3461 4.2), decoded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Orcpt<S = String> {
    /// The address type, e.g. `rfc822` or `utf-8`.
    pub addr_type: S,
    /// The original recipient, xtext-decoded.
    pub addr: S,
}

impl Orcpt<Cow<'_, str>> {
    /// The owning value.
    pub fn into_owned(self) -> Orcpt {
        Orcpt {
            addr_type: self.addr_type.into_owned(),
            addr: self.addr.into_owned(),
        }
    }
}

/// Parameters of `MAIL FROM:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct MailParams<S = String> {
    /// `SIZE=n`, the client's estimate of the message size.
    pub size: Option<u64>,
    /// `BODY=`.
    pub body: Option<BodyType>,
    /// `SMTPUTF8` given.
    pub smtputf8: bool,
    /// `RET=`.
    pub ret: Option<Ret>,
    /// `ENVID=`, xtext-decoded.
    pub envid: Option<S>,
    /// `AUTH=`, xtext-decoded (`<>` when the client says the submitter is unknown).
    pub auth: Option<S>,
}

impl MailParams<Cow<'_, str>> {
    /// The owning parameters.
    pub fn into_owned(self) -> MailParams {
        MailParams {
            size: self.size,
            body: self.body,
            smtputf8: self.smtputf8,
            ret: self.ret,
            envid: self.envid.map(Cow::into_owned),
            auth: self.auth.map(Cow::into_owned),
        }
    }
}

/// Parameters of `RCPT TO:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RcptParams<S = String> {
    /// `NOTIFY=`.
    pub notify: Option<Notify>,
    /// `ORCPT=`.
    pub orcpt: Option<Orcpt<S>>,
}

impl RcptParams<Cow<'_, str>> {
    /// The owning parameters.
    pub fn into_owned(self) -> RcptParams {
        RcptParams {
            notify: self.notify,
            orcpt: self.orcpt.map(Orcpt::into_owned),
        }
    }
}

/// The longest ENVID value, in characters of its xtext form (RFC 3461 4.4).
pub const MAX_ENVID: usize = 100;
/// The longest ORCPT value, in characters of its xtext form (RFC 3461 4.2).
pub const MAX_ORCPT: usize = 500;

// The 501 texts, one per way a parameter can be wrong, so a client (and a test) sees exactly
// which rule it broke.
const BAD_SYNTAX: &str = "Bad parameter syntax, expected KEYWORD[=VALUE]";
const BAD_SIZE: &str = "SIZE requires a decimal number of octets";
const BAD_BODY: &str = "BODY must be 7BIT, 8BITMIME or BINARYMIME";
const BAD_SMTPUTF8: &str = "SMTPUTF8 takes no value";
const BAD_RET: &str = "RET must be FULL or HDRS";
const BAD_ENVID: &str = "ENVID must be xtext of at most 100 characters";
const BAD_AUTH: &str = "AUTH must be xtext or <>";
const BAD_NOTIFY: &str = "NOTIFY must be NEVER or a list of SUCCESS, FAILURE, DELAY";
const NOTIFY_NEVER_WITH_OTHERS: &str = "NOTIFY=NEVER cannot be combined with other values";
const BAD_ORCPT: &str = "ORCPT must be addr-type;xtext of at most 500 characters";
const DUP_SIZE: &str = "Duplicate SIZE parameter";
const DUP_BODY: &str = "Duplicate BODY parameter";
const DUP_SMTPUTF8: &str = "Duplicate SMTPUTF8 parameter";
const DUP_RET: &str = "Duplicate RET parameter";
const DUP_ENVID: &str = "Duplicate ENVID parameter";
const DUP_AUTH: &str = "Duplicate AUTH parameter";
const DUP_NOTIFY: &str = "Duplicate NOTIFY parameter";
const DUP_ORCPT: &str = "Duplicate ORCPT parameter";

impl MailParams {
    /// Parses the parameters after `MAIL FROM:<path>`: space-separated `KEYWORD[=VALUE]`,
    /// keywords and the BODY/RET values case-insensitive. `input` may start with spaces.
    pub fn parse(input: &[u8]) -> Result<MailParams, CommandError> {
        MailParams::parse_in(Line::new(input), input).map(MailParams::into_owned)
    }

    /// [`MailParams::parse`] for parameters that are part of `line`, whose UTF-8 check is
    /// reused.
    #[inline(always)]
    pub(crate) fn parse_in<'a>(
        line: Line<'a>,
        input: &'a [u8],
    ) -> Result<MailParams<Cow<'a, str>>, CommandError> {
        let mut p = MailParams::default();
        for param in Params::new(input) {
            let (key, value) = param?;
            match key {
                Keyword::Size => {
                    once(p.size.is_none(), DUP_SIZE)?;
                    p.size = Some(value.and_then(parse_u64).ok_or(BadParameter(BAD_SIZE))?);
                }
                Keyword::Body => {
                    once(p.body.is_none(), DUP_BODY)?;
                    p.body = Some(match value {
                        Some(v) if v.eq_ignore_ascii_case(b"8BITMIME") => BodyType::EightBitMime,
                        Some(v) if v.eq_ignore_ascii_case(b"7BIT") => BodyType::SevenBit,
                        Some(v) if v.eq_ignore_ascii_case(b"BINARYMIME") => BodyType::BinaryMime,
                        _ => return Err(BadParameter(BAD_BODY)),
                    });
                }
                Keyword::SmtpUtf8 => {
                    once(!p.smtputf8, DUP_SMTPUTF8)?;
                    if value.is_some() {
                        return Err(BadParameter(BAD_SMTPUTF8));
                    }
                    p.smtputf8 = true;
                }
                Keyword::Ret => {
                    once(p.ret.is_none(), DUP_RET)?;
                    p.ret = Some(match value {
                        Some(v) if v.eq_ignore_ascii_case(b"FULL") => Ret::Full,
                        Some(v) if v.eq_ignore_ascii_case(b"HDRS") => Ret::Hdrs,
                        _ => return Err(BadParameter(BAD_RET)),
                    });
                }
                Keyword::Envid => {
                    once(p.envid.is_none(), DUP_ENVID)?;
                    let v = value
                        .filter(|v| !v.is_empty() && v.len() <= MAX_ENVID)
                        .and_then(|v| decode_xtext(line, v));
                    p.envid = Some(v.ok_or(BadParameter(BAD_ENVID))?);
                }
                Keyword::Auth => {
                    once(p.auth.is_none(), DUP_AUTH)?;
                    let v = match value {
                        Some(v @ b"<>") => line.text(v).map(Cow::Borrowed),
                        Some(v) if !v.is_empty() => decode_xtext(line, v),
                        _ => None,
                    };
                    p.auth = Some(v.ok_or(BadParameter(BAD_AUTH))?);
                }
                _ => return Err(CommandError::UnknownParameter),
            }
        }
        Ok(p)
    }
}

impl RcptParams {
    /// Parses the parameters after `RCPT TO:<path>`: space-separated `KEYWORD[=VALUE]`,
    /// keywords and NOTIFY values case-insensitive. `input` may start with spaces.
    pub fn parse(input: &[u8]) -> Result<RcptParams, CommandError> {
        RcptParams::parse_in(Line::new(input), input).map(RcptParams::into_owned)
    }

    /// [`RcptParams::parse`] for parameters that are part of `line`, whose UTF-8 check is
    /// reused.
    #[inline(always)]
    pub(crate) fn parse_in<'a>(
        line: Line<'a>,
        input: &'a [u8],
    ) -> Result<RcptParams<Cow<'a, str>>, CommandError> {
        let mut p = RcptParams::default();
        for param in Params::new(input) {
            let (key, value) = param?;
            match key {
                Keyword::Notify => {
                    once(p.notify.is_none(), DUP_NOTIFY)?;
                    p.notify = Some(parse_notify(value.ok_or(BadParameter(BAD_NOTIFY))?)?);
                }
                Keyword::Orcpt => {
                    once(p.orcpt.is_none(), DUP_ORCPT)?;
                    let v = value
                        .filter(|v| v.len() <= MAX_ORCPT)
                        .and_then(|v| parse_orcpt(line, v));
                    p.orcpt = Some(v.ok_or(BadParameter(BAD_ORCPT))?);
                }
                _ => return Err(CommandError::UnknownParameter),
            }
        }
        Ok(p)
    }
}

use CommandError::BadParameter;

fn once(first: bool, dup: &'static str) -> Result<(), CommandError> {
    if first {
        Ok(())
    } else {
        Err(BadParameter(dup))
    }
}

/// The keywords tern knows, whichever command they belong to; each command refuses the
/// others' as unknown.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Size,
    Body,
    SmtpUtf8,
    Ret,
    Envid,
    Auth,
    Notify,
    Orcpt,
    Other,
}

/// Keywords are letters, digits and `-` (the tokenizer checked), so [`fold`] matches them
/// case-insensitively with one integer comparison.
#[inline(always)]
fn keyword(k: &[u8]) -> Keyword {
    const SIZE: u64 = fold(b"SIZE");
    const BODY: u64 = fold(b"BODY");
    const SMTPUTF8: u64 = fold(b"SMTPUTF8");
    const RET: u64 = fold(b"RET");
    const ENVID: u64 = fold(b"ENVID");
    const AUTH: u64 = fold(b"AUTH");
    const NOTIFY: u64 = fold(b"NOTIFY");
    const ORCPT: u64 = fold(b"ORCPT");
    match fold_word(k) {
        SIZE => Keyword::Size,
        BODY => Keyword::Body,
        SMTPUTF8 => Keyword::SmtpUtf8,
        RET => Keyword::Ret,
        ENVID => Keyword::Envid,
        AUTH => Keyword::Auth,
        NOTIFY => Keyword::Notify,
        ORCPT => Keyword::Orcpt,
        _ => Keyword::Other,
    }
}

// Byte classes for the parameter grammar, one table lookup per byte on the hot path.
const KEY: u8 = 1; // esmtp-keyword: ALPHA / DIGIT / "-"
const ATOM: u8 = 8; // atext but "=" (not in an esmtp-value), for ORCPT's addr-type

static CLASS: [u8; 256] = classes();

const fn classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut f = 0;
        if c.is_ascii_alphanumeric() || c == b'-' {
            f |= KEY;
        }
        if c.is_ascii_alphanumeric()
            || matches!(
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
                    | b'?'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'{'
                    | b'|'
                    | b'}'
                    | b'~'
            )
        {
            f |= ATOM;
        }
        t[i] = f;
        i += 1;
    }
    t
}

#[inline(always)]
fn is(c: u8, class: u8) -> bool {
    CLASS[usize::from(c)] & class != 0
}

/// Iterates `KEYWORD[=VALUE]` tokens separated by one or more spaces, in one pass per
/// token. A keyword must start with a letter or digit. The value runs to the next space and
/// is checked once, by its keyword's own rule (every known keyword's rule is stricter than
/// esmtp-value); an unknown keyword's value does not matter, since it is refused anyway.
///
/// The second field turns the keyword shortcut off, so that tests can hold the shortcut
/// against the byte loop alone.
struct Params<'a>(&'a [u8], bool);

impl<'a> Params<'a> {
    #[inline(always)]
    fn new(input: &'a [u8]) -> Params<'a> {
        Params(input, true)
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<(Keyword, Option<&'a [u8]>), CommandError>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        let s = self.0;
        let mut i = 0;
        while i < s.len() && s[i] == b' ' {
            i += 1;
        }
        if i == s.len() {
            return None;
        }
        let k = i;
        // Most parameters are a known keyword of 3 to 6 letters and `=`: find the `=` in
        // the next eight bytes with one word operation and match the word before it. Known
        // keywords are letters only, which `fold` matches exactly, so a hit is a keyword the
        // byte loop below would have read the same way; anything else takes that loop.
        if let Some(word) = s[k..].first_chunk::<8>().filter(|_| self.1) {
            let x = u64::from_le_bytes(*word) ^ (ONES * u64::from(b'='));
            let eq = x.wrapping_sub(ONES) & !x & HIGHS;
            let n = (eq.trailing_zeros() / 8) as usize;
            if (3..=6).contains(&n) {
                let key = keyword(&s[k..k + n]);
                if key != Keyword::Other {
                    let v = k + n + 1;
                    let end = find_byte(s, v, b' ');
                    self.0 = &s[end..];
                    return Some(Ok((key, Some(&s[v..end]))));
                }
            }
        }
        while i < s.len() && is(s[i], KEY) {
            i += 1;
        }
        let key = &s[k..i];
        let value = if i < s.len() && s[i] == b'=' {
            i += 1;
            let v = i;
            i = find_byte(s, v, b' ');
            Some(&s[v..i])
        } else {
            None
        };
        if key.first().is_none_or(|&c| c == b'-') || (i < s.len() && s[i] != b' ') {
            self.0 = &[];
            return Some(Err(BadParameter(BAD_SYNTAX)));
        }
        self.0 = &s[i..];
        Some(Ok((keyword(key), value)))
    }
}

/// An unsigned decimal that fits a u64: no sign, no spaces, at least one digit.
pub(crate) fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    // Up to 19 digits cannot overflow (10^19 - 1 < 2^64), so the usual SIZE needs no
    // overflow check per digit: wrapping arithmetic (a non-digit may wrap; it is refused).
    if s.len() <= 19 {
        let mut ok = true;
        let mut n = 0u64;
        for &c in s {
            let d = c.wrapping_sub(b'0');
            ok &= d <= 9;
            n = n.wrapping_mul(10).wrapping_add(u64::from(d));
        }
        return ok.then_some(n);
    }
    s.iter().try_fold(0u64, |n, &c| {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// xtext, decoded from the line's text. A value that is not UTF-8 holds a byte outside
/// `!`..`~`, which xtext refuses too.
#[inline(always)]
fn decode_xtext<'a>(line: Line<'a>, v: &'a [u8]) -> Option<Cow<'a, str>> {
    line.text(v).and_then(crate::xtext::decode_str)
}

// The NOTIFY values are letters only, for which `fold` is an exact case-insensitive match:
// one integer comparison per item.
const SUCCESS: u64 = fold(b"SUCCESS");
const FAILURE: u64 = fold(b"FAILURE");
const DELAY: u64 = fold(b"DELAY");
const NEVER: u64 = fold(b"NEVER");

#[inline(always)]
fn parse_notify(v: &[u8]) -> Result<Notify, CommandError> {
    notify_list(v).map_or_else(|| parse_notify_items(v), Ok)
}

/// The common NOTIFY values without the general item splitter: SUCCESS, FAILURE and DELAY
/// have 7, 7 and 5 letters, so each item is tried at those two lengths, followed by a comma
/// or the end. `None` for anything else (NEVER, an unknown or empty item), which
/// [`parse_notify_items`] then reads and judges; what this accepts, that accepts the same.
#[inline(always)]
fn notify_list(v: &[u8]) -> Option<Notify> {
    // The flags gather in one integer, not through `&mut` to the struct's bool fields:
    // those become single-byte stores that the caller then reads back as one wider load,
    // which the CPU cannot forward from the stores and waits for.
    let mut flags = 0u8;
    let mut rest = v;
    loop {
        let len = match rest.get(5) {
            None | Some(b',') => 5,
            _ => 7,
        };
        flags |= match fold_word(rest.get(..len)?) {
            SUCCESS => 1,
            FAILURE => 2,
            DELAY => 4,
            _ => return None,
        };
        match rest.get(len) {
            None => break,
            Some(b',') => rest = &rest[len + 1..],
            Some(_) => return None,
        }
    }
    Some(Notify {
        never: false,
        success: flags & 1 != 0,
        failure: flags & 2 != 0,
        delay: flags & 4 != 0,
    })
}

/// NOTIFY by the grammar: NEVER alone, or a comma-separated list of the other three.
fn parse_notify_items(v: &[u8]) -> Result<Notify, CommandError> {
    if fold_word(v) == NEVER {
        return Ok(Notify {
            never: true,
            ..Notify::default()
        });
    }
    let mut n = Notify::default();
    for item in v.split(|&c| c == b',') {
        let flag = match fold_word(item) {
            SUCCESS => &mut n.success,
            FAILURE => &mut n.failure,
            DELAY => &mut n.delay,
            NEVER => return Err(BadParameter(NOTIFY_NEVER_WITH_OTHERS)),
            _ => return Err(BadParameter(BAD_NOTIFY)),
        };
        *flag = true;
    }
    Ok(n)
}

/// `addr-type ";" xtext`; addr-type is an atom (RFC 3461 4.2), e.g. `rfc822`.
fn parse_orcpt<'a>(line: Line<'a>, v: &'a [u8]) -> Option<Orcpt<Cow<'a, str>>> {
    // Nearly every ORCPT is `rfc822;`: one masked word compare (letters in any case, the
    // digits and `;` exact) instead of the atom scan, which would stop at the same `;`.
    const RFC822: u64 = u64::from_le_bytes(*b"rfc822;\0");
    const CASE: u64 = u64::from_le_bytes([0x20, 0x20, 0x20, 0, 0, 0, 0, 0]);
    const SEVEN: u64 = 0x00ff_ffff_ffff_ffff;
    let semi = match v.first_chunk::<8>() {
        Some(w) if (u64::from_le_bytes(*w) | CASE) & SEVEN == RFC822 => 6,
        _ => v.iter().position(|&c| !is(c, ATOM))?,
    };
    let (ty, addr) = (&v[..semi], &v[semi + 1..]);
    if ty.is_empty() || v[semi] != b';' || addr.is_empty() {
        return None;
    }
    Some(Orcpt {
        addr_type: Cow::Borrowed(line.text(ty)?),
        addr: decode_xtext(line, addr)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The command table covers the errors with their reply bytes; these pin the parameter
    // parsers on their own, including the space handling the command parser relies on.
    #[test]
    fn mail_table() {
        let cases: &[(&[u8], Result<MailParams, CommandError>)] = &[
            (b"", Ok(MailParams::default())),
            (b"   ", Ok(MailParams::default())),
            (
                b" SIZE=100 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=abc+2Bd AUTH=x+2By",
                Ok(MailParams {
                    size: Some(100),
                    body: Some(BodyType::EightBitMime),
                    smtputf8: true,
                    ret: Some(Ret::Hdrs),
                    envid: Some("abc+d".into()),
                    auth: Some("x+y".into()),
                }),
            ),
            (b" ENVID=\xc3\xa9", Err(BadParameter(BAD_ENVID))),
            (b" SIZE=1\t", Err(BadParameter(BAD_SIZE))),
            (b" SIZE=1\x01", Err(BadParameter(BAD_SIZE))),
            (b" XFOO=\x01", Err(CommandError::UnknownParameter)),
            (b" -SIZE=1", Err(BadParameter(BAD_SYNTAX))),
            (b" ORCPT=rfc822;a", Err(CommandError::UnknownParameter)),
        ];
        for (input, want) in cases {
            let shown = String::from_utf8_lossy(input);
            assert_eq!(&MailParams::parse(input), want, "{shown}");
        }
        let envid = format!(" ENVID={}", "e".repeat(MAX_ENVID));
        assert!(MailParams::parse(envid.as_bytes()).is_ok());
        let envid = format!(" ENVID={}", "e".repeat(MAX_ENVID + 1));
        assert_eq!(
            MailParams::parse(envid.as_bytes()),
            Err(BadParameter(BAD_ENVID))
        );
    }

    #[test]
    fn rcpt_table() {
        let all = Notify {
            success: true,
            failure: true,
            delay: true,
            never: false,
        };
        let cases: &[(&[u8], Result<RcptParams, CommandError>)] = &[
            (b"", Ok(RcptParams::default())),
            (
                b" notify=DELAY,FAILURE,SUCCESS orcpt=UTF-8;a+40b",
                Ok(RcptParams {
                    notify: Some(all),
                    orcpt: Some(Orcpt {
                        addr_type: "UTF-8".into(),
                        addr: "a@b".into(),
                    }),
                }),
            ),
            (
                b" NOTIFY=NEVER,NEVER",
                Err(BadParameter(NOTIFY_NEVER_WITH_OTHERS)),
            ),
            (b" NOTIFY=,", Err(BadParameter(BAD_NOTIFY))),
            (b" ORCPT=rf c822;a", Err(BadParameter(BAD_ORCPT))),
            (b" ORCPT=r(x;a", Err(BadParameter(BAD_ORCPT))),
            (b" ORCPT=a=b;c", Err(BadParameter(BAD_ORCPT))),
            (b" SMTPUTF8", Err(CommandError::UnknownParameter)),
        ];
        for (input, want) in cases {
            let shown = String::from_utf8_lossy(input);
            assert_eq!(&RcptParams::parse(input), want, "{shown}");
        }
        let orcpt = format!(" ORCPT=rfc822;{}", "o".repeat(MAX_ORCPT - 7));
        assert!(RcptParams::parse(orcpt.as_bytes()).is_ok());
        let orcpt = format!(" ORCPT=rfc822;{}", "o".repeat(MAX_ORCPT - 6));
        assert_eq!(
            RcptParams::parse(orcpt.as_bytes()),
            Err(BadParameter(BAD_ORCPT))
        );
    }

    proptest::proptest! {
        /// ORCPT values around the `rfc822;` shortcut parse as the atom scan parses them.
        #[test]
        fn orcpt_shortcut_is_scan(
            ty in proptest::sample::select(vec![
                "rfc822", "RFC822", "rFc822", "rfc82", "rfc8222", "rfc\u{0}22", "utf-8", "",
                "rfc822\u{1b}", "Rfc822x",
            ]),
            sep in proptest::sample::select(vec![";", "\u{1b}", "=", ""]),
            addr in "[!-~]{0,6}",
        ) {
            let v = format!("{ty}{sep}{addr}");
            let b = v.as_bytes();
            let line = Line::new(b);
            let want = b.iter().position(|&c| !is(c, ATOM)).and_then(|semi| {
                let (t, a) = (&b[..semi], &b[semi + 1..]);
                if t.is_empty() || b[semi] != b';' || a.is_empty() {
                    return None;
                }
                Some(Orcpt {
                    addr_type: std::str::from_utf8(t).ok()?.to_owned(),
                    addr: crate::xtext::decode(a)?,
                })
            });
            proptest::prop_assert_eq!(parse_orcpt(line, b).map(Orcpt::into_owned), want);
        }

        /// The NOTIFY shortcut either declines or agrees with the general item reader.
        #[test]
        fn notify_shortcut_is_items(
            items in proptest::collection::vec(
                proptest::sample::select(vec![
                    "SUCCESS", "success", "FAILURE", "FaIlUrE", "DELAY", "delay", "NEVER",
                    "", "SUCCES", "SUCCESSS", "DELA", "DELAYS", "FAIL", "X", "\u{0}ELAY",
                ]),
                0..5,
            ),
            sep in proptest::sample::select(vec![",", ",,", " ", ";"]),
        ) {
            let v = items.join(sep);
            let general = parse_notify_items(v.as_bytes());
            if let Some(n) = notify_list(v.as_bytes()) {
                proptest::prop_assert_eq!(Ok(n), general);
            }
            proptest::prop_assert_eq!(parse_notify(v.as_bytes()), general);
        }

        /// The keyword shortcut yields what the byte loop yields, token by token, on
        /// parameter lists made of real keywords, near misses and odd bytes.
        #[test]
        fn keyword_shortcut_is_byte_loop(
            tokens in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "SIZE", "size", "BODY", "RET", "rEt", "ENVID", "AUTH", "NOTIFY",
                        "ORCPT", "SMTPUTF8", "RE", "SIZ", "SIZEX", "NOTIFYX", "-SIZE", "X-Y",
                        "SI_E", "", "\u{e9}T",
                    ]),
                    proptest::sample::select(vec!["=", "", "==", " =", "=\u{1}"]),
                    "[ -~]{0,10}",
                    proptest::sample::select(vec![" ", "  ", "", "\t"]),
                ),
                0..5,
            ),
        ) {
            let mut input = String::new();
            for (key, eq, value, sep) in &tokens {
                input.push_str(sep);
                input.push_str(key);
                input.push_str(eq);
                input.push_str(value);
            }
            let b = input.as_bytes();
            let fast: Vec<_> = Params::new(b).map(|p| p.map(|(k, v)| (k as u8, v))).collect();
            let slow: Vec<_> = Params(b, false).map(|p| p.map(|(k, v)| (k as u8, v))).collect();
            proptest::prop_assert_eq!(fast, slow);
        }
    }

    #[test]
    fn u64_digits() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b"007", Some(7)),
            (b"18446744073709551615", Some(u64::MAX)),
            (b"18446744073709551616", None),
            (b"9999999999999999999", Some(9_999_999_999_999_999_999)),
            (b"0000000000000000000000001", Some(1)),
            (b"99999999999999999999", None),
            (b"1a", None),
            (b"/", None),
            (b":", None),
            (b"", None),
            (b"-1", None),
            (b"1 ", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_u64(input), *want, "{:?}", input);
        }
    }
}
