//! The message body on the wire: the DATA scanner (way in) and the dot-stuffer (way out).
//!
//! After `354`, the client sends the message as lines, with a leading `.` doubled on every
//! line that starts with one (RFC 5321 4.5.2), and ends it with `<CRLF>.<CRLF>`.
//! [`DataScanner`] undoes that: it copies the message into the caller's buffer, removes the
//! stuffed dots, stops exactly after the terminator and says how it went ([`Outcome`]).
//! [`stuff`] and [`Stuffer`] do the reverse for the delivery client.
//!
//! # SMTP smuggling
//!
//! CVE-2023-51764/51765/51766 came from servers that disagreed on where a message ends
//! when the client sends a bare LF or bare CR around the final dot (`\n.\n`, `\r.\r`,
//! `\n.\r\n`, `\r\n.\n`): one hop saw the end of DATA and the next command, the next hop saw
//! the same bytes as message text. tern only ever ends a message on `<CR><LF>.<CR><LF>`
//! whose four line-ending bytes are all real, and never treats a bare CR or LF as the end
//! of a line for that purpose. What it does with bare newlines otherwise is the
//! [`BareNewline`] policy.
//!
//! # The rules, in one place
//!
//! These are what the scanner and its byte-at-a-time twin in `tests/body_naive.rs` both
//! implement:
//!
//! - A line is ended by CRLF, or (under either policy) by a bare LF or a bare CR.
//! - Every line that starts with `.` loses that dot, whatever ended the previous line.
//!   Keeping one rule for every line means a sender that stuffed after its bare LFs gets the
//!   text it meant, and it mirrors [`Stuffer`], which doubles a dot after any CR or LF.
//! - The body ends on a line that is exactly `.` followed by a real CRLF, when the line
//!   before it was ended by a real CRLF (the start of the body counts as such: `.\r\n` alone
//!   is an empty message). A lone `.` line after a bare newline is therefore not an end: it
//!   loses its dot like any other line and becomes an empty line.
//! - The stored message keeps the CRLF that ended its last line: `Hello\r\n.\r\n` stores
//!   `Hello\r\n`.
//! - [`BareNewline::Normalize`] writes every bare CR or LF as CRLF; the stored body is
//!   CRLF-only. [`BareNewline::Reject`] stops writing at the first one, drains to the real
//!   end and reports [`Outcome::BareNewline`].
//! - The output never grows past `max_size`: it is the first `max_size` bytes of the
//!   message, scanning goes on to the real end, and the outcome is [`Outcome::TooLarge`].

mod scan;
mod stuff;

pub use scan::{BareNewline, DataScanner, Outcome, Scan};
pub use stuff::{stuff, Stuffer};
