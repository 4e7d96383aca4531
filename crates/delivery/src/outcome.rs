//! The reply behind a recipient's outcome, as stored in the queue's outcome records and
//! read back for the DSN. Pure.
//!
//! The text form is one line: `REMOTE said: CODE [ENHANCED] TEXT` for a reply from a next
//! hop (REMOTE has no spaces: an IP address or a host name), or `CODE [ENHANCED] TEXT` for
//! one tern decided itself. `tern queue list` shows it as is.

use std::fmt;

use tern_proto::reply::{Enhanced, Reply};

use crate::route::parse_enhanced;

/// A reply and who gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The next hop that answered, or `None` for a local decision.
    pub remote: Option<String>,
    /// The reply; multi-line text is joined with spaces.
    pub reply: Reply,
}

impl Recorded {
    /// A reply from `remote`.
    pub fn remote(remote: impl Into<String>, reply: &Reply) -> Recorded {
        Recorded {
            remote: Some(remote.into()),
            reply: reply.clone(),
        }
    }

    /// A reply tern made up itself.
    pub fn local(reply: &Reply) -> Recorded {
        Recorded {
            remote: None,
            reply: reply.clone(),
        }
    }

    /// Reads the text form back. Anything unreadable (an older or hand-made record) becomes
    /// a local reply of the right class with the text kept whole, so a DSN can still say it.
    pub fn parse(text: &str) -> Recorded {
        let (remote, rest) = match text.split_once(" said: ") {
            Some((r, rest)) if !r.is_empty() && !r.contains(' ') => (Some(r.to_owned()), rest),
            _ => (None, text),
        };
        let (code, tail) = rest.split_once(' ').unwrap_or((rest, ""));
        let reply = match code.parse::<u16>() {
            Ok(code) if code.to_string().len() == 3 && (200..600).contains(&code) => {
                let (first, after) = tail.split_once(' ').unwrap_or((tail, ""));
                match parse_enhanced(first) {
                    Some(e) => Reply::new(code, Some(e), after.to_owned()),
                    None => Reply::new(code, None, tail.to_owned()),
                }
            }
            _ => Reply::new(451, None, text.to_owned()),
        };
        Recorded { remote, reply }
    }

    /// The RFC 3463 status: the reply's enhanced code, or `class.0.0`.
    pub fn status(&self) -> Enhanced {
        self.reply.enhanced.unwrap_or(Enhanced(
            u8::try_from(self.reply.code / 100).unwrap_or(4),
            0,
            0,
        ))
    }

    /// `CODE [ENHANCED] TEXT` on one line.
    pub fn reply_line(&self) -> String {
        let mut s = self.reply.code.to_string();
        if let Some(Enhanced(c, sub, d)) = self.reply.enhanced {
            s.push_str(&format!(" {c}.{sub}.{d}"));
        }
        for part in self
            .reply
            .text
            .split(['\r', '\n'])
            .filter(|p| !p.is_empty())
        {
            s.push(' ');
            s.push_str(part);
        }
        s
    }
}

impl fmt::Display for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = &self.remote {
            write!(f, "{r} said: ")?;
        }
        f.write_str(&self.reply_line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let table: &[(Recorded, &str)] = &[
            (
                Recorded::remote(
                    "192.0.2.7",
                    &Reply::new(550, Some(Enhanced(5, 1, 1)), "No such user"),
                ),
                "192.0.2.7 said: 550 5.1.1 No such user",
            ),
            (
                Recorded::remote("mx.example", &Reply::new(451, None, "Try again")),
                "mx.example said: 451 Try again",
            ),
            (
                Recorded::local(&Reply::new(
                    421,
                    Some(Enhanced(4, 4, 1)),
                    "Connection refused by 192.0.2.7",
                )),
                "421 4.4.1 Connection refused by 192.0.2.7",
            ),
        ];
        for (rec, text) in table {
            assert_eq!(rec.to_string(), *text);
            assert_eq!(&Recorded::parse(text), rec, "{text}");
        }
        let multi = Recorded::local(&Reply::new(550, None, "line one\nline two"));
        assert_eq!(multi.to_string(), "550 line one line two");
        let junk = Recorded::parse("garbage");
        assert_eq!((junk.remote, junk.reply.code), (None, 451));
        assert_eq!(Recorded::parse("554 x").status(), Enhanced(5, 0, 0));
    }
}
