//! Paths and mailboxes (RFC 5321 section 4.1.2; RFC 6531 for UTF-8).
//!
//! A [`Mailbox`] keeps its text as received (local part as written, quoted or not, and the
//! domain or address literal) so that it can be passed on unchanged; routing code asks for
//! [`Mailbox::domain`] and compares case-insensitively.

use std::fmt;

/// A mailbox `local-part@domain` as the client wrote it (without the angle brackets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    text: String,
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

    /// The local part, as written (a quoted local part keeps its quotes).
    pub fn local(&self) -> &str {
        &self.text[..self.at]
    }

    /// The domain or address literal (`[192.0.2.1]`, `[IPv6:...]`), as written.
    pub fn domain(&self) -> &str {
        &self.text[self.at + 1..]
    }

    /// The whole mailbox, `local@domain`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when the mailbox holds any non-ASCII character (needs SMTPUTF8, RFC 6531).
    pub fn is_utf8(&self) -> bool {
        !self.text.is_ascii()
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The argument of `MAIL FROM:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath {
    /// `<>`: the null reverse-path of bounces (RFC 5321 4.5.5).
    Null,
    /// A mailbox.
    Mailbox(Mailbox),
}

impl ReversePath {
    /// The mailbox, or `None` for `<>`.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(m) => Some(m),
        }
    }
}

impl fmt::Display for ReversePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReversePath::Null => f.write_str("<>"),
            ReversePath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}

/// The argument of `RCPT TO:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath {
    /// `<Postmaster>` without a domain (RFC 5321 4.1.1.3), matched case-insensitively.
    Postmaster,
    /// A mailbox.
    Mailbox(Mailbox),
}

impl ForwardPath {
    /// The mailbox, or `None` for the bare `<Postmaster>`.
    pub fn mailbox(&self) -> Option<&Mailbox> {
        match self {
            ForwardPath::Postmaster => None,
            ForwardPath::Mailbox(m) => Some(m),
        }
    }
}

impl fmt::Display for ForwardPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForwardPath::Postmaster => f.write_str("<Postmaster>"),
            ForwardPath::Mailbox(m) => write!(f, "<{m}>"),
        }
    }
}
