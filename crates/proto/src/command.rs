//! SMTP commands (RFC 5321 section 4.1 and the extensions tern speaks).
//!
//! [`Command::parse`] takes one command line *without* its CRLF and returns a [`Command`] or a
//! [`CommandError`]. Every error carries the exact reply it produces ([`CommandError::reply`]),
//! decided here where the grammar is known. Verbs are case-insensitive.

use crate::address::{ForwardPath, ReversePath};
use crate::params::{MailParams, RcptParams};
use crate::reply::Reply;

/// One parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `HELO domain`.
    Helo(String),
    /// `EHLO domain-or-address-literal`.
    Ehlo(String),
    /// `MAIL FROM:<reverse-path> [params]`.
    Mail {
        /// The reverse-path.
        from: ReversePath,
        /// ESMTP parameters.
        params: MailParams,
    },
    /// `RCPT TO:<forward-path> [params]`.
    Rcpt {
        /// The forward-path.
        to: ForwardPath,
        /// ESMTP parameters.
        params: RcptParams,
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
    Vrfy(String),
    /// `EXPN string`.
    Expn(String),
    /// `HELP [string]`.
    Help(Option<String>),
    /// `NOOP [string]`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `STARTTLS` (RFC 3207).
    StartTls,
    /// `AUTH mechanism [initial-response]` (RFC 4954).
    Auth {
        /// The mechanism name, upper-cased.
        mechanism: String,
        /// The initial response as sent (base64, or `=` for an empty one).
        initial: Option<String>,
    },
    /// `ETRN [@]node` (RFC 1985); the argument as sent, with any leading `@` or `#`.
    Etrn(String),
    /// `ATRN [domain[,domain...]]` (RFC 2645).
    Atrn(Vec<String>),
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
    /// The path is malformed: 501 5.1.3 for a sender, 501 5.1.3 for a recipient.
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
            CommandError::BadBdatSize => {
                Reply::fixed(501, Enhanced(5, 5, 4), "Syntax: BDAT size [LAST]")
            }
        }
    }
}
