//! Replies: one type, one catalogue.
//!
//! Every reply tern sends is named here, once, with its RFC 5321 code and RFC 3463 enhanced
//! status code side by side, so the whole set can be reviewed against the RFCs in one place
//! (docs/conformance.md mirrors this table). Replies whose text depends on the situation
//! (a queue id, a size limit) have a constructor next to the constants.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

/// An RFC 3463 enhanced status code: `class.subject.detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Enhanced(pub u8, pub u16, pub u16);

impl fmt::Display for Enhanced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// One SMTP reply: a three-digit code, an optional enhanced code and its text.
///
/// The text may hold several lines separated by `\n`; it is then sent as a multi-line reply
/// (`250-...` lines and a final `250 ...`), each line carrying the enhanced code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The RFC 5321 reply code, 200..=599.
    pub code: u16,
    /// The RFC 3463 enhanced status code, if the reply has one (greeting and EHLO have not).
    pub enhanced: Option<Enhanced>,
    /// The human-readable text; `\n` separates the lines of a multi-line reply.
    pub text: Cow<'static, str>,
}

impl Reply {
    /// A reply with a static text, usable in `const` items.
    pub const fn fixed(code: u16, enhanced: Enhanced, text: &'static str) -> Reply {
        Reply {
            code,
            enhanced: Some(enhanced),
            text: Cow::Borrowed(text),
        }
    }

    /// A reply with a text built at run time.
    pub fn new(code: u16, enhanced: Option<Enhanced>, text: impl Into<Cow<'static, str>>) -> Reply {
        Reply {
            code,
            enhanced,
            text: text.into(),
        }
    }

    /// True for 2xx and 3xx replies.
    pub fn is_positive(&self) -> bool {
        self.code < 400
    }

    /// True for 4xx replies.
    pub fn is_transient(&self) -> bool {
        (400..500).contains(&self.code)
    }

    /// True for 5xx replies.
    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// Writes the reply in wire form. `enhanced_codes` says whether the client was offered
    /// ENHANCEDSTATUSCODES (they are sent only then, RFC 2034 section 3).
    pub fn write_to(&self, mut out: impl Write, enhanced_codes: bool) -> io::Result<()> {
        let mut lines = self.text.split('\n').peekable();
        // An empty text still makes one line: "250 " is not valid, "250" alone is, but many
        // clients expect a space; send the code with the enhanced code or a lone space.
        while let Some(line) = lines.next() {
            let sep = if lines.peek().is_some() { '-' } else { ' ' };
            match (enhanced_codes, self.enhanced) {
                (true, Some(e)) if !line.is_empty() => {
                    write!(out, "{}{}{} {}\r\n", self.code, sep, e, line)?
                }
                (true, Some(e)) => write!(out, "{}{}{}\r\n", self.code, sep, e)?,
                _ => write!(out, "{}{}{}\r\n", self.code, sep, line)?,
            }
        }
        Ok(())
    }

    /// The wire form as a byte vector (for tests and rare paths).
    pub fn to_bytes(&self, enhanced_codes: bool) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.text.len() + 16);
        // Writing into a Vec cannot fail.
        let _ = self.write_to(&mut v, enhanced_codes);
        v
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.to_bytes(true);
        f.write_str(&String::from_utf8_lossy(&bytes))
    }
}

macro_rules! catalogue {
    ($( $(#[$doc:meta])* $name:ident = $code:literal [$c:literal, $s:literal, $d:literal] $text:literal; )*) => {
        $( $(#[$doc])* pub const $name: Reply = Reply::fixed($code, Enhanced($c, $s, $d), $text); )*
        /// Every fixed reply in the catalogue, for tests and docs/conformance.md.
        pub const ALL: &[(&str, Reply)] = &[ $( (stringify!($name), $name) ),* ];
    };
}

catalogue! {
    // --- 2xx ---
    /// 221 after QUIT.
    BYE = 221 [2, 0, 0] "Bye";
    /// 250 for MAIL, RCPT, RSET, NOOP and other plain successes.
    OK = 250 [2, 0, 0] "Ok";
    /// 250 for MAIL FROM.
    SENDER_OK = 250 [2, 1, 0] "Sender ok";
    /// 250 for RCPT TO.
    RECIPIENT_OK = 250 [2, 1, 5] "Recipient ok";
    /// 250 for a non-final BDAT chunk.
    CHUNK_OK = 250 [2, 0, 0] "Chunk received";
    /// 250 for RSET.
    RESET_OK = 250 [2, 0, 0] "Reset state";
    /// 250 for ETRN with queued mail (RFC 1985 says 250 "Queuing started").
    ETRN_STARTED = 250 [2, 0, 0] "Queuing started";
    /// 251 is not used for forwarding (tern never rewrites recipients); listed for completeness.
    USER_NOT_LOCAL_WILL_FORWARD = 251 [2, 1, 5] "User not local; will forward";
    /// 252 for VRFY: tern does not disclose mailboxes (RFC 5321 3.5.3).
    CANNOT_VRFY = 252 [2, 5, 0] "Cannot VRFY user, but will accept message and attempt delivery";
    /// 214 for HELP.
    HELP = 214 [2, 0, 0] "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP\nSee RFC 5321";
    /// 220 answer to STARTTLS.
    READY_TO_START_TLS = 220 [2, 0, 0] "Ready to start TLS";
    /// 235 after a successful AUTH (RFC 4954).
    AUTH_OK = 235 [2, 7, 0] "Authentication successful";
    /// 354 after DATA.
    START_DATA = 354 [2, 0, 0] "End data with <CR><LF>.<CR><LF>";

    // --- 4xx ---
    /// 421 when a command line did not arrive in time.
    TIMEOUT = 421 [4, 4, 2] "Timeout exceeded, closing connection";
    /// 421 when the client sent too many bad commands.
    TOO_MANY_ERRORS = 421 [4, 7, 0] "Too many errors, closing connection";
    /// 421 when the server is shutting down.
    SHUTTING_DOWN = 421 [4, 3, 2] "Service shutting down, closing connection";
    /// 421 at greeting when a connection limit is reached.
    TOO_MANY_CONNECTIONS = 421 [4, 7, 0] "Too many connections, try again later";
    /// 450 mailbox unavailable (temporary).
    MAILBOX_BUSY = 450 [4, 2, 0] "Mailbox unavailable, try again later";
    /// 451 when storing the message failed (disk error).
    LOCAL_ERROR = 451 [4, 3, 0] "Local error in processing, try again later";
    /// 452 when the queue's disk budget is used up.
    INSUFFICIENT_STORAGE = 452 [4, 3, 1] "Insufficient system storage, try again later";
    /// 452 when the transaction has reached the recipient limit (RFC 5321 4.5.3.1.10).
    TOO_MANY_RECIPIENTS = 452 [4, 5, 3] "Too many recipients";
    /// 455 when a parameter cannot be accommodated now.
    PARAMS_NOT_NOW = 455 [4, 5, 4] "Server unable to accommodate parameters";
    /// 458 when ETRN cannot start a queue run for the node (RFC 1985).
    ETRN_UNABLE = 458 [4, 0, 0] "Unable to queue messages for node";
    /// 454 when TLS is temporarily unavailable.
    TLS_UNAVAILABLE = 454 [4, 7, 0] "TLS not available due to temporary reason";

    // --- 5xx ---
    /// 500 for an unknown command.
    UNKNOWN_COMMAND = 500 [5, 5, 1] "Command unrecognized";
    /// 500 for a command line over 512 octets (RFC 5321 4.5.3.1.4).
    LINE_TOO_LONG = 500 [5, 5, 2] "Line too long";
    /// 501 for a syntax error in arguments, when no more precise reply applies.
    SYNTAX_ERROR = 501 [5, 5, 4] "Syntax error in parameters or arguments";
    /// 501 for bad HELO/EHLO argument.
    BAD_HELO = 501 [5, 5, 4] "Syntax: EHLO domain-or-address-literal";
    /// 501 when AUTH is cancelled by `*` (RFC 4954).
    AUTH_CANCELLED = 501 [5, 0, 0] "Authentication cancelled";
    /// 501 for invalid base64 in an AUTH exchange.
    AUTH_BAD_BASE64 = 501 [5, 5, 2] "Invalid base64 data";
    /// 502 for a command tern knows but does not implement or has disabled.
    NOT_IMPLEMENTED = 502 [5, 5, 1] "Command not implemented";
    /// 502 for TURN while it is disabled (RFC 2645 recommends refusing it).
    TURN_DISABLED = 502 [5, 5, 1] "TURN not implemented";
    /// 502 for EXPN: mailing lists are not disclosed.
    EXPN_DISABLED = 502 [5, 5, 1] "EXPN not available";
    /// 503 for a command out of sequence.
    BAD_SEQUENCE = 503 [5, 5, 1] "Bad sequence of commands";
    /// 503 for MAIL before HELO/EHLO.
    NEED_HELO = 503 [5, 5, 1] "Send HELO/EHLO first";
    /// 503 for RCPT before MAIL.
    NEED_MAIL = 503 [5, 5, 1] "Need MAIL before RCPT";
    /// 503 for DATA/BDAT without a valid recipient.
    NEED_RCPT = 503 [5, 5, 1] "Need RCPT before DATA";
    /// 503 for a nested MAIL.
    NESTED_MAIL = 503 [5, 5, 1] "Sender already specified";
    /// 503 for DATA in a BDAT transaction (RFC 3030 2).
    DATA_AFTER_BDAT = 503 [5, 5, 1] "DATA not allowed in a BDAT transaction";
    /// 503 for AUTH after a successful AUTH (RFC 4954 4).
    ALREADY_AUTHENTICATED = 503 [5, 5, 1] "Already authenticated";
    /// 503 for AUTH inside a mail transaction (RFC 4954 4).
    AUTH_IN_TRANSACTION = 503 [5, 5, 1] "AUTH not permitted during a mail transaction";
    /// 503 for STARTTLS after TLS is already on.
    ALREADY_TLS = 503 [5, 5, 1] "TLS already active";
    /// 504 for an unknown AUTH mechanism.
    UNKNOWN_MECHANISM = 504 [5, 5, 4] "Unrecognized authentication type";
    /// 504 for a parameter value tern does not implement.
    PARAM_NOT_IMPLEMENTED = 504 [5, 5, 4] "Command parameter not implemented";
    /// 530 when authentication is required first (RFC 4954 6).
    AUTH_REQUIRED = 530 [5, 7, 0] "Authentication required";
    /// 530 when STARTTLS is required first (RFC 3207 4).
    TLS_REQUIRED = 530 [5, 7, 0] "Must issue a STARTTLS command first";
    /// 535 for bad credentials (RFC 4954 6).
    AUTH_FAILED = 535 [5, 7, 8] "Authentication credentials invalid";
    /// 538 when the mechanism needs TLS (RFC 4954 6).
    AUTH_NEEDS_TLS = 538 [5, 7, 11] "Encryption required for requested authentication mechanism";
    /// 550 for a recipient the route table rejects outright.
    MAILBOX_UNAVAILABLE = 550 [5, 1, 1] "Mailbox unavailable";
    /// 550 for a message with a bare CR or LF under `bare_newline = reject`.
    BARE_NEWLINE = 550 [5, 5, 2] "Message contains bare CR or LF, which is not allowed";
    /// 551 is not used (tern never tells the client to try another path); listed for completeness.
    USER_NOT_LOCAL = 551 [5, 1, 6] "User not local";
    /// 552 for a message larger than the limit (RFC 1870).
    MESSAGE_TOO_BIG = 552 [5, 3, 4] "Message size exceeds fixed maximum message size";
    /// 553 for a mailbox name the server will not take.
    MAILBOX_NAME_NOT_ALLOWED = 553 [5, 1, 3] "Mailbox name not allowed";
    /// 553 for a UTF-8 address without SMTPUTF8 (RFC 6531 3.5).
    UTF8_NOT_PERMITTED = 553 [5, 6, 7] "Non-ASCII addresses require SMTPUTF8";
    /// 554 for a relay attempt from an untrusted client.
    RELAY_DENIED = 554 [5, 7, 1] "Relay access denied";
    /// 554 transaction failed.
    TRANSACTION_FAILED = 554 [5, 0, 0] "Transaction failed";
    /// 554 for 8-bit or binary content the hop cannot carry.
    CONTENT_NOT_SUPPORTED = 554 [5, 6, 1] "Media not supported";
    /// 555 for an unknown MAIL/RCPT parameter (RFC 5321 4.1.1.11).
    UNKNOWN_PARAMETER = 555 [5, 5, 4] "Unsupported parameter";
    /// 459 for ETRN of a node that is not allowed (RFC 1985).
    ETRN_NOT_ALLOWED = 459 [4, 7, 0] "Node not allowed";
}

/// 220 greeting. The greeting carries no enhanced code (RFC 2034 section 3).
pub fn greeting(hostname: &str) -> Reply {
    Reply::new(220, None, format!("{hostname} ESMTP tern"))
}

/// 221 closing reply naming the host.
pub fn bye(hostname: &str) -> Reply {
    Reply::new(
        221,
        Some(Enhanced(2, 0, 0)),
        format!("{hostname} closing connection"),
    )
}

/// 250 for a message accepted into the queue.
pub fn queued(id: &str) -> Reply {
    Reply::new(250, Some(Enhanced(2, 0, 0)), format!("Ok: queued as {id}"))
}

/// 552 for MAIL with `SIZE=n` above the limit (RFC 1870 6).
pub fn size_exceeded(limit: u64) -> Reply {
    Reply::new(
        552,
        Some(Enhanced(5, 3, 4)),
        format!("Message size exceeds fixed limit of {limit} bytes"),
    )
}

/// 250 for HELO.
pub fn helo(hostname: &str, client: &str) -> Reply {
    Reply::new(250, None, format!("{hostname} Hello {client}"))
}

/// 334 server challenge in an AUTH exchange; `challenge` is already base64.
pub fn auth_challenge(challenge: &str) -> Reply {
    Reply::new(334, None, challenge.to_owned())
}

/// 250 for BDAT, naming the octets received (RFC 3030 shows this form).
pub fn chunk_ok(octets: u64) -> Reply {
    Reply::new(
        250,
        Some(Enhanced(2, 0, 0)),
        format!("{octets} octets received"),
    )
}

/// What an EHLO reply advertises: built from what the session offers now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EhloOffer {
    /// SIZE limit in octets; 0 omits the SIZE argument (`SIZE` alone means no limit).
    pub size: u64,
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// 8BITMIME (RFC 6152).
    pub eightbitmime: bool,
    /// CHUNKING (RFC 3030).
    pub chunking: bool,
    /// BINARYMIME (RFC 3030); only sent with CHUNKING.
    pub binarymime: bool,
    /// DSN (RFC 3461).
    pub dsn: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub enhanced_status_codes: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// ETRN (RFC 1985).
    pub etrn: bool,
    /// ATRN (RFC 2645).
    pub atrn: bool,
    /// STARTTLS (RFC 3207); only before TLS is active.
    pub starttls: bool,
    /// AUTH mechanisms (RFC 4954), space-separated; empty when AUTH is not allowed now.
    pub auth: Vec<&'static str>,
    /// HELP.
    pub help: bool,
}

impl EhloOffer {
    /// The EHLO reply: `250-hostname greets client` then one line per extension.
    pub fn reply(&self, hostname: &str, client: &str) -> Reply {
        let mut t = format!("{hostname} greets {client}");
        let mut add = |s: &str| {
            t.push('\n');
            t.push_str(s);
        };
        if self.pipelining {
            add("PIPELINING");
        }
        if self.size > 0 {
            add(&format!("SIZE {}", self.size));
        } else {
            add("SIZE");
        }
        if self.eightbitmime {
            add("8BITMIME");
        }
        if self.chunking {
            add("CHUNKING");
            if self.binarymime {
                add("BINARYMIME");
            }
        }
        if self.dsn {
            add("DSN");
        }
        if self.enhanced_status_codes {
            add("ENHANCEDSTATUSCODES");
        }
        if self.smtputf8 {
            add("SMTPUTF8");
        }
        if self.etrn {
            add("ETRN");
        }
        if self.atrn {
            add("ATRN");
        }
        if self.starttls {
            add("STARTTLS");
        }
        if !self.auth.is_empty() {
            add(&format!("AUTH {}", self.auth.join(" ")));
        }
        if self.help {
            add("HELP");
        }
        Reply::new(250, None, t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_with_and_without_enhanced() {
        assert_eq!(OK.to_bytes(true), b"250 2.0.0 Ok\r\n");
        assert_eq!(OK.to_bytes(false), b"250 Ok\r\n");
    }

    #[test]
    fn multi_line_carries_enhanced_on_every_line() {
        assert_eq!(
            HELP.to_bytes(true),
            b"214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP\r\n214 2.0.0 See RFC 5321\r\n"
        );
    }

    #[test]
    fn greeting_has_no_enhanced_code() {
        assert_eq!(
            greeting("mx.example").to_bytes(true),
            b"220 mx.example ESMTP tern\r\n"
        );
    }

    #[test]
    fn ehlo_lists_only_what_is_offered() {
        let offer = EhloOffer {
            size: 1000,
            pipelining: true,
            eightbitmime: true,
            chunking: true,
            binarymime: true,
            dsn: true,
            enhanced_status_codes: true,
            smtputf8: true,
            starttls: true,
            auth: vec!["PLAIN", "LOGIN"],
            help: true,
            ..Default::default()
        };
        assert_eq!(
            offer.reply("mx.example", "client.example").to_bytes(true),
            b"250-mx.example greets client.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n\
250-8BITMIME\r\n250-CHUNKING\r\n250-BINARYMIME\r\n250-DSN\r\n250-ENHANCEDSTATUSCODES\r\n\
250-SMTPUTF8\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n"
                .as_slice()
        );
        let bare = EhloOffer::default().reply("h", "c");
        assert_eq!(bare.to_bytes(true), b"250-h greets c\r\n250 SIZE\r\n");
    }

    #[test]
    fn conformance_doc_lists_every_reply() {
        let doc = include_str!("../../../docs/conformance.md");
        for (name, r) in ALL {
            let row = format!(
                "| {} | {} | `{name}` |",
                r.code,
                r.enhanced.expect("enhanced")
            );
            assert!(doc.contains(&row), "docs/conformance.md lacks {row}");
        }
    }

    #[test]
    fn catalogue_codes_match_their_enhanced_class() {
        for (name, r) in ALL {
            let e = r.enhanced.expect("catalogue replies carry enhanced codes");
            let class = if r.code < 400 { 2 } else { r.code / 100 };
            assert_eq!(u16::from(e.0), class, "{name}");
            assert!((200..600).contains(&r.code), "{name}");
        }
    }
}
