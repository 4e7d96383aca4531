//! SMTP commands (RFC 5321 section 4.1 and the extensions tern speaks).
//!
//! [`Command::parse_borrowed`] takes one command line *without* its CRLF and returns a
//! [`Command`] whose strings borrow from the line (`Cow<'_, str>`: only an xtext value with
//! a `+XX` in it, or an AUTH mechanism not written in capitals, is owned), or a
//! [`CommandError`]. [`Command::parse`] is the same with every string owned, for callers
//! that keep the command; a session may equally keep only the parts it stores, with
//! `into_owned` on those. Every error carries the exact reply it produces
//! ([`CommandError::reply`]), decided here where the grammar is known. Verbs are
//! case-insensitive.

use std::borrow::Cow;

use crate::address::{self, ForwardPath, ReversePath};
use crate::params::{self, MailParams, RcptParams};
use crate::reply::Reply;
pub(crate) use text::Line;

#[cfg(test)]
mod tests;
mod text;

/// One parsed command. `S` is the string type: `String` (the default) for a command that
/// owns its text, `Cow<'_, str>` for one that borrows from the line it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<S = String> {
    /// `HELO domain`.
    Helo(S),
    /// `EHLO domain-or-address-literal`.
    Ehlo(S),
    /// `MAIL FROM:<reverse-path> [params]`.
    Mail {
        /// The reverse-path.
        from: ReversePath<S>,
        /// ESMTP parameters.
        params: MailParams<S>,
    },
    /// `RCPT TO:<forward-path> [params]`.
    Rcpt {
        /// The forward-path.
        to: ForwardPath<S>,
        /// ESMTP parameters.
        params: RcptParams<S>,
    },
    /// `DATA`.
    Data,
    /// `BDAT size [LAST]` (RFC 3030).
    Bdat {
        /// Octets in the chunk that follows the command line.
        size: u64,
        /// `LAST` given.
        last: bool,
    },
    /// `RSET`.
    Rset,
    /// `VRFY string`.
    Vrfy(S),
    /// `EXPN string`.
    Expn(S),
    /// `HELP [string]`.
    Help(Option<S>),
    /// `NOOP [string]`; the string is ignored.
    Noop,
    /// `QUIT`.
    Quit,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954).
    Auth {
        /// The mechanism name, upper-cased.
        mechanism: S,
        /// The initial response as sent (base64, or `=` for an empty one).
        initial: Option<S>,
    },
    /// `ETRN [@]node` (RFC 1985); the argument as sent, with any leading `@` or `#`.
    Etrn(S),
    /// `ATRN [domain[,domain...]]` (RFC 2645).
    Atrn(Vec<S>),
    /// `TURN` (RFC 821).
    Turn,
}

/// Why a command line was refused. Plain `Copy` data: this is on the per-command path, so no
/// allocation or formatting happens until the reply is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandError {
    /// Unknown verb: 500 5.5.1.
    Unknown,
    /// Known verb, bad arguments: 501 5.5.4 with the command's syntax as text,
    /// e.g. `"Syntax: MAIL FROM:<address> [parameters]"`.
    Syntax(&'static str),
    /// The path is malformed: 501 5.1.7 for a sender, 501 5.1.3 for a recipient.
    BadAddress {
        /// True for MAIL's reverse-path, false for RCPT's forward-path.
        sender: bool,
    },
    /// A MAIL/RCPT parameter tern does not know: 555 5.5.4.
    UnknownParameter,
    /// A known parameter with a malformed or repeated value, or NOTIFY=NEVER with others:
    /// 501 5.5.4.
    BadParameter(&'static str),
    /// BDAT whose size could not be read: 501 5.5.4. The stream cannot be kept in sync, so
    /// the session closes after the reply.
    BadBdatSize,
    /// BDAT with a readable size but something other than `LAST` after it: 501 5.5.4. The
    /// chunk of `size` octets still follows the line, so the session must read and drop
    /// it to stay in sync with the client.
    BdatSyntax {
        /// The chunk size the client announced.
        size: u64,
    },
}

impl CommandError {
    /// The reply this error produces.
    pub fn reply(self) -> Reply {
        use crate::reply::{self, Enhanced};
        match self {
            CommandError::Unknown => reply::UNKNOWN_COMMAND,
            CommandError::Syntax(text) => Reply::fixed(501, Enhanced(5, 5, 4), text),
            CommandError::BadAddress { sender: true } => {
                Reply::fixed(501, Enhanced(5, 1, 7), "Bad sender address syntax")
            }
            CommandError::BadAddress { sender: false } => {
                Reply::fixed(501, Enhanced(5, 1, 3), "Bad recipient address syntax")
            }
            CommandError::UnknownParameter => reply::UNKNOWN_PARAMETER,
            CommandError::BadParameter(text) => Reply::fixed(501, Enhanced(5, 5, 4), text),
            CommandError::BadBdatSize | CommandError::BdatSyntax { .. } => {
                Reply::fixed(501, Enhanced(5, 5, 4), SYNTAX_BDAT)
            }
        }
    }
}

const SYNTAX_HELO: &str = "Syntax: HELO hostname";
const SYNTAX_EHLO: &str = "Syntax: EHLO hostname";
const SYNTAX_MAIL: &str = "Syntax: MAIL FROM:<address> [parameters]";
const SYNTAX_RCPT: &str = "Syntax: RCPT TO:<address> [parameters]";
const SYNTAX_DATA: &str = "Syntax: DATA";
const SYNTAX_RSET: &str = "Syntax: RSET";
const SYNTAX_QUIT: &str = "Syntax: QUIT";
const SYNTAX_STARTTLS: &str = "Syntax: STARTTLS";
const SYNTAX_TURN: &str = "Syntax: TURN";
const SYNTAX_VRFY: &str = "Syntax: VRFY string";
const SYNTAX_EXPN: &str = "Syntax: EXPN string";
const SYNTAX_HELP: &str = "Syntax: HELP [topic]";
const SYNTAX_BDAT: &str = "Syntax: BDAT size [LAST]";
const SYNTAX_AUTH: &str = "Syntax: AUTH mechanism [initial-response]";
const SYNTAX_ETRN: &str = "Syntax: ETRN [@]domain | #queue";
const SYNTAX_ATRN: &str = "Syntax: ATRN [domain[,domain]...]";

impl Command {
    /// Parses one command line, without its CRLF, into a command that owns its strings:
    /// [`Command::parse_borrowed`], then [`Command::into_owned`].
    #[inline(always)]
    pub fn parse(line: &[u8]) -> Result<Command, CommandError> {
        Command::parse_borrowed(line).map(Command::into_owned)
    }
}

impl<'a> Command<Cow<'a, str>> {
    /// Parses one command line, without its CRLF; the strings of the command borrow from
    /// `line` (see the module documentation for the two exceptions).
    ///
    /// Liberal where real clients differ and nothing is lost: trailing spaces and tabs are
    /// ignored, arguments may be separated by several spaces, and `MAIL FROM:` / `RCPT TO:`
    /// may be followed by spaces before the `<` (as Postfix allows). The angle brackets
    /// themselves are required.
    #[inline(always)]
    pub fn parse_borrowed(line: &'a [u8]) -> Result<Self, CommandError> {
        let line = trim_end(line);
        // MAIL and RCPT are most lines of a session: recognise `MAIL FROM:` / `RCPT TO:`
        // with one 8-byte compare instead of finding the verb, folding it and stripping the
        // keyword. Only the exact spelling (any case, one space) takes this path; every
        // other form goes through the general dispatch below, which parses it the same way.
        if let Some(head) = line.first_chunk::<8>() {
            let w = u64::from_le_bytes(*head);
            if w | RCPT_TO_CASE == RCPT_TO {
                return parse_rcpt_path(line, &line[8..]);
            }
            if w | MAIL_FROM_CASE == MAIL_FRO
                && line.get(8).is_some_and(|&c| c | 0x20 == b'm')
                && line.get(9) == Some(&b':')
            {
                return parse_mail_path(line, &line[10..]);
            }
        }
        dispatch(line)
    }

    /// The same command owning its strings.
    pub fn into_owned(self) -> Command {
        match self {
            Command::Helo(s) => Command::Helo(s.into_owned()),
            Command::Ehlo(s) => Command::Ehlo(s.into_owned()),
            Command::Mail { from, params } => Command::Mail {
                from: from.into_owned(),
                params: params.into_owned(),
            },
            Command::Rcpt { to, params } => Command::Rcpt {
                to: to.into_owned(),
                params: params.into_owned(),
            },
            Command::Data => Command::Data,
            Command::Bdat { size, last } => Command::Bdat { size, last },
            Command::Rset => Command::Rset,
            Command::Vrfy(s) => Command::Vrfy(s.into_owned()),
            Command::Expn(s) => Command::Expn(s.into_owned()),
            Command::Help(s) => Command::Help(s.map(Cow::into_owned)),
            Command::Noop => Command::Noop,
            Command::Quit => Command::Quit,
            Command::StartTls => Command::StartTls,
            Command::Auth { mechanism, initial } => Command::Auth {
                mechanism: mechanism.into_owned(),
                initial: initial.map(Cow::into_owned),
            },
            Command::Etrn(s) => Command::Etrn(s.into_owned()),
            Command::Atrn(list) => Command::Atrn(list.into_iter().map(Cow::into_owned).collect()),
            Command::Turn => Command::Turn,
        }
    }
}

/// A parsed command borrowing from its line.
type Borrowed<'a> = Result<Command<Cow<'a, str>>, CommandError>;

/// The general parser for a line already trimmed at its end: find the verb, then one arm
/// per verb. Also the reference the `MAIL FROM:` / `RCPT TO:` shortcut is tested against.
#[inline(always)]
fn dispatch(line: &[u8]) -> Borrowed<'_> {
    // All verbs but STARTTLS have 4 letters: look for the space there first. If an earlier
    // byte is a space too, the 4 bytes are no verb (verbs are letters, and the space folds
    // to no letter), just as the shorter word before that space is none: Unknown either
    // way. The longest verb has 8 letters, so the space, if any, is in the first 9 bytes.
    // A line of at most 8 bytes (DATA, RSET, QUIT...) is its own verb: were there a space
    // in it, the word before would be shorter than every verb but the 4-letter ones, whose
    // space was just ruled out, and the whole line folds to no verb either: Unknown both
    // ways, without the search.
    let (verb, args) = if line.get(4) == Some(&b' ') {
        (&line[..4], trim_start(&line[5..]))
    } else if line.len() <= 8 {
        (line, &line[line.len()..])
    } else {
        match line.iter().take(9).position(|&c| c == b' ') {
            Some(sp) => (&line[..sp], trim_start(&line[sp + 1..])),
            None => return Err(CommandError::Unknown),
        }
    };
    verb_args(line, verb, args)
}

/// One arm per verb: `verb` and `args` (which ends `line`) as split by [`dispatch`].
#[inline(always)]
fn verb_args<'a>(line: &'a [u8], verb: &'a [u8], args: &'a [u8]) -> Borrowed<'a> {
    // Dispatch on the case-folded verb packed in a u64: one integer match instead of a
    // chain of case-insensitive comparisons; MAIL and RCPT first since they dominate.
    // Only the verbs that return text check UTF-8, once, over the bytes that hold it.
    // `args` ends the line, so its UTF-8 check may start a few bytes early, where the
    // checker's word loop needs no lead-in: see [`Line::suffix`].
    let text = || Line::suffix(line, line.len() - args.len());
    match fold_word(verb) {
        RCPT => parse_rcpt(line, args),
        MAIL => parse_mail(line, args),
        DATA => no_args(args, SYNTAX_DATA).map(|()| Command::Data),
        BDAT => parse_bdat(args),
        RSET => no_args(args, SYNTAX_RSET).map(|()| Command::Rset),
        EHLO => parse_hello(text(), args, SYNTAX_EHLO).map(Command::Ehlo),
        HELO => parse_hello(text(), args, SYNTAX_HELO).map(Command::Helo),
        NOOP => Ok(Command::Noop),
        QUIT => no_args(args, SYNTAX_QUIT).map(|()| Command::Quit),
        VRFY => required_text(text(), args, SYNTAX_VRFY).map(Command::Vrfy),
        EXPN => required_text(text(), args, SYNTAX_EXPN).map(Command::Expn),
        HELP if args.is_empty() => Ok(Command::Help(None)),
        HELP => required_text(text(), args, SYNTAX_HELP).map(|t| Command::Help(Some(t))),
        STARTTLS => no_args(args, SYNTAX_STARTTLS).map(|()| Command::StartTls),
        AUTH => parse_auth(text(), args),
        ETRN => parse_etrn(text(), args),
        ATRN => parse_atrn(text(), args),
        TURN => no_args(args, SYNTAX_TURN).map(|()| Command::Turn),
        _ => Err(CommandError::Unknown),
    }
}

/// Packs up to 8 bytes into a u64, each OR-ed with 0x20. For letters that is ASCII
/// lower-casing; only `X` and `x` fold to `x`, and no byte folds to 0, so two words of
/// different lengths never collide: an exact case-insensitive match for words made of
/// letters, digits and `-` (whose 0x20 bit is already set). Longer words fold to 0, which no
/// keyword has.
pub(crate) const fn fold(word: &[u8]) -> u64 {
    if word.len() > 8 {
        return 0;
    }
    let mut w = 0u64;
    let mut i = 0;
    while i < word.len() {
        w = (w << 8) | (word[i] | 0x20) as u64;
        i += 1;
    }
    w
}

/// [`fold`] for the parser's hot path: a word of 4 to 8 bytes is read as two overlapping
/// big-endian u32 (the overlap holds the same bytes in the same places, so OR-ing them is
/// harmless) instead of shifted in byte by byte; shorter words take the byte loop.
#[inline(always)]
pub(crate) fn fold_word(word: &[u8]) -> u64 {
    let n = word.len();
    match (word.first_chunk::<4>(), word.last_chunk::<4>()) {
        (Some(&head), Some(&tail)) if n <= 8 => {
            let head = u64::from(u32::from_be_bytes(head));
            let tail = u64::from(u32::from_be_bytes(tail));
            // 0x20 in each of the n low bytes; n >= 4, so the shift is at most 32.
            let case = 0x2020_2020_2020_2020u64 >> (8 * (8 - n));
            (head << (8 * (n - 4))) | tail | case
        }
        _ => fold(word),
    }
}

/// `RCPT TO:` and `MAIL FRO` as little-endian words, lower case, and the 0x20 bits that
/// fold their letters (and only their letters: a space or `:` must match exactly, since a
/// byte 0x00 or 0x1a would fold onto them).
const RCPT_TO: u64 = u64::from_le_bytes(*b"rcpt to:");
const RCPT_TO_CASE: u64 = u64::from_le_bytes([0x20, 0x20, 0x20, 0x20, 0, 0x20, 0x20, 0]);
const MAIL_FRO: u64 = u64::from_le_bytes(*b"mail fro");
const MAIL_FROM_CASE: u64 = u64::from_le_bytes([0x20, 0x20, 0x20, 0x20, 0, 0x20, 0x20, 0x20]);

const RCPT: u64 = fold(b"RCPT");
const MAIL: u64 = fold(b"MAIL");
const DATA: u64 = fold(b"DATA");
const BDAT: u64 = fold(b"BDAT");
const RSET: u64 = fold(b"RSET");
const EHLO: u64 = fold(b"EHLO");
const HELO: u64 = fold(b"HELO");
const NOOP: u64 = fold(b"NOOP");
const QUIT: u64 = fold(b"QUIT");
const VRFY: u64 = fold(b"VRFY");
const EXPN: u64 = fold(b"EXPN");
const HELP: u64 = fold(b"HELP");
const STARTTLS: u64 = fold(b"STARTTLS");
const AUTH: u64 = fold(b"AUTH");
const ETRN: u64 = fold(b"ETRN");
const ATRN: u64 = fold(b"ATRN");
const TURN: u64 = fold(b"TURN");

fn trim_end(s: &[u8]) -> &[u8] {
    let end = s
        .iter()
        .rposition(|&c| c != b' ' && c != b'\t')
        .map_or(0, |p| p + 1);
    &s[..end]
}

fn trim_start(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&c| c != b' ').unwrap_or(s.len());
    &s[start..]
}

/// Strips a case-insensitive ASCII prefix.
fn strip_prefix_ic<'a>(s: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    match s.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => Some(&s[prefix.len()..]),
        _ => None,
    }
}

/// Whether a verb that takes no argument got none. Returns `()`, not the command: a
/// `Command` passed by value is 104 bytes written to memory field by field and read back
/// 16 bytes at a time, loads the CPU cannot forward from those stores and waits for.
#[inline(always)]
fn no_args(args: &[u8], syntax: &'static str) -> Result<(), CommandError> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(CommandError::Syntax(syntax))
    }
}

fn utf8<'a>(
    line: Line<'a>,
    s: &'a [u8],
    syntax: &'static str,
) -> Result<Cow<'a, str>, CommandError> {
    match line.text(s) {
        Some(s) => Ok(Cow::Borrowed(s)),
        None => Err(CommandError::Syntax(syntax)),
    }
}

fn required_text<'a>(
    line: Line<'a>,
    args: &'a [u8],
    syntax: &'static str,
) -> Result<Cow<'a, str>, CommandError> {
    if args.is_empty() {
        return Err(CommandError::Syntax(syntax));
    }
    utf8(line, args, syntax)
}

/// MAIL's argument: `FROM:` [spaces] reverse-path [SP params].
#[inline(always)]
fn parse_mail<'a>(line: &'a [u8], args: &'a [u8]) -> Borrowed<'a> {
    match strip_prefix_ic(args, b"FROM:") {
        Some(rest) => parse_mail_path(line, rest),
        None => Err(CommandError::Syntax(SYNTAX_MAIL)),
    }
}

/// What follows `MAIL FROM:`: [spaces] reverse-path [SP params].
#[inline(always)]
fn parse_mail_path<'a>(whole: &'a [u8], rest: &'a [u8]) -> Borrowed<'a> {
    let path = trim_start(rest);
    if path.first() != Some(&b'<') {
        return Err(CommandError::Syntax(SYNTAX_MAIL));
    }
    // Every string taken from here on is in the path or after it.
    let line = Line::suffix(whole, whole.len() - path.len());
    let (from, rest) = address::reverse_path_in(line, path)
        .map_err(|_| CommandError::BadAddress { sender: true })?;
    if !rest.is_empty() && rest[0] != b' ' {
        return Err(CommandError::Syntax(SYNTAX_MAIL));
    }
    let params = MailParams::parse_in(line, rest)?;
    Ok(Command::Mail { from, params })
}

/// RCPT's argument: `TO:` [spaces] forward-path [SP params].
#[inline(always)]
fn parse_rcpt<'a>(line: &'a [u8], args: &'a [u8]) -> Borrowed<'a> {
    match strip_prefix_ic(args, b"TO:") {
        Some(rest) => parse_rcpt_path(line, rest),
        None => Err(CommandError::Syntax(SYNTAX_RCPT)),
    }
}

/// What follows `RCPT TO:`: [spaces] forward-path [SP params].
#[inline(always)]
fn parse_rcpt_path<'a>(whole: &'a [u8], rest: &'a [u8]) -> Borrowed<'a> {
    let path = trim_start(rest);
    if path.first() != Some(&b'<') {
        return Err(CommandError::Syntax(SYNTAX_RCPT));
    }
    let line = Line::suffix(whole, whole.len() - path.len());
    let (to, rest) = address::forward_path_in(line, path)
        .map_err(|_| CommandError::BadAddress { sender: false })?;
    if !rest.is_empty() && rest[0] != b' ' {
        return Err(CommandError::Syntax(SYNTAX_RCPT));
    }
    let params = RcptParams::parse_in(line, rest)?;
    Ok(Command::Rcpt { to, params })
}

/// HELO/EHLO: one domain or address literal. Underscores are tolerated in the name, since
/// hosts named by Windows defaults send them and nothing routes on the HELO name.
fn parse_hello<'a>(
    line: Line<'a>,
    args: &'a [u8],
    syntax: &'static str,
) -> Result<Cow<'a, str>, CommandError> {
    let name = line.text(args).ok_or(CommandError::Syntax(syntax))?;
    let ok = if name.starts_with('[') {
        address::is_valid_address_literal(name)
    } else {
        address::is_valid_domain(name)
            || (name.contains('_') && address::is_valid_domain(&name.replace('_', "x")))
    };
    if ok {
        Ok(Cow::Borrowed(name))
    } else {
        Err(CommandError::Syntax(syntax))
    }
}

/// `BDAT size [LAST]`. Once the size is read, any later error must carry it: the chunk is
/// on the wire whatever the reply.
fn parse_bdat(args: &[u8]) -> Borrowed<'_> {
    let (size, rest) = match memchr::memchr(b' ', args) {
        Some(sp) => (&args[..sp], trim_start(&args[sp + 1..])),
        None => (args, &args[args.len()..]),
    };
    let size = params::parse_u64(size).ok_or(CommandError::BadBdatSize)?;
    let last = if rest.is_empty() {
        false
    } else if rest.eq_ignore_ascii_case(b"LAST") {
        true
    } else {
        return Err(CommandError::BdatSyntax { size });
    };
    Ok(Command::Bdat { size, last })
}

/// `AUTH mechanism [initial-response]` (RFC 4954 4); the mechanism is a SASL name
/// (RFC 4422 3.1: 1-20 of A-Z, 0-9, `-`, `_`), accepted in any case and upper-cased.
fn parse_auth<'a>(line: Line<'a>, args: &'a [u8]) -> Borrowed<'a> {
    let err = CommandError::Syntax(SYNTAX_AUTH);
    let (mech, rest) = match memchr::memchr(b' ', args) {
        Some(sp) => (&args[..sp], trim_start(&args[sp + 1..])),
        None => (args, &args[args.len()..]),
    };
    let mech_ok = (1..=20).contains(&mech.len())
        && mech
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if !mech_ok {
        return Err(err);
    }
    // The initial response is base64 or "=": one token of printable ASCII. Decoding is the
    // mechanism's job, which also knows the right error for bad base64 (501 5.5.2).
    let initial = if rest.is_empty() {
        None
    } else if rest.iter().all(|&c| c.is_ascii_graphic()) {
        Some(utf8(line, rest, SYNTAX_AUTH)?)
    } else {
        return Err(err);
    };
    let mut mechanism = utf8(line, mech, SYNTAX_AUTH)?;
    if mech.iter().any(u8::is_ascii_lowercase) {
        mechanism.to_mut().make_ascii_uppercase();
    }
    Ok(Command::Auth { mechanism, initial })
}

/// `ETRN node` (RFC 1985): `domain`, `@domain` (the domain and its subdomains) or `#queue`.
fn parse_etrn<'a>(line: Line<'a>, args: &'a [u8]) -> Borrowed<'a> {
    let err = CommandError::Syntax(SYNTAX_ETRN);
    let node = line.text(args).ok_or(err)?;
    let ok = match node.as_bytes().first() {
        Some(b'@') => address::is_valid_domain(&node[1..]),
        Some(b'#') => node.len() > 1 && node.bytes().all(|c| c.is_ascii_graphic()),
        _ => address::is_valid_domain(node),
    };
    if ok {
        Ok(Command::Etrn(Cow::Borrowed(node)))
    } else {
        Err(err)
    }
}

/// `ATRN [domain[,domain...]]` (RFC 2645).
fn parse_atrn<'a>(line: Line<'a>, args: &'a [u8]) -> Borrowed<'a> {
    let err = CommandError::Syntax(SYNTAX_ATRN);
    if args.is_empty() {
        return Ok(Command::Atrn(Vec::new()));
    }
    let list = line.text(args).ok_or(err)?;
    list.split(',')
        .map(|d| {
            if address::is_valid_domain(d) {
                Ok(Cow::Borrowed(d))
            } else {
                Err(err)
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Command::Atrn)
}
