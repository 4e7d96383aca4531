//! What a server's EHLO reply offers (RFC 5321 4.1.1.1 and the extension RFCs).

use crate::reply::Reply;

/// The service extensions a server advertised in its EHLO reply. After HELO (or before any
/// EHLO) every field is off: the hop speaks plain RFC 5321 only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// SIZE (RFC 1870): `None` when not offered, `Some(0)` when offered without a fixed
    /// limit (`SIZE` alone, `SIZE 0`, or an argument that is not a number), `Some(n)` for a
    /// limit of `n` octets.
    pub size: Option<u64>,
    /// 8BITMIME (RFC 6152).
    pub eightbitmime: bool,
    /// CHUNKING (RFC 3030).
    pub chunking: bool,
    /// BINARYMIME (RFC 3030).
    pub binarymime: bool,
    /// DSN (RFC 3461).
    pub dsn: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub enhanced_status_codes: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// STARTTLS (RFC 3207).
    pub starttls: bool,
    /// AUTH mechanisms (RFC 4954), upper-cased, in the order offered, without duplicates.
    pub auth: Vec<String>,
    /// ETRN (RFC 1985).
    pub etrn: bool,
    /// ATRN (RFC 2645).
    pub atrn: bool,
}

impl Capabilities {
    /// Reads the extensions from a 2xx EHLO reply. The first line is the server's name and
    /// greeting; each further line is `keyword [params]`, keywords compared without regard
    /// to case. Unknown keywords are ignored.
    pub fn from_ehlo(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        for line in reply.text.split('\n').skip(1) {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            let is = |k: &str| keyword.eq_ignore_ascii_case(k);
            if is("PIPELINING") {
                caps.pipelining = true;
            } else if is("SIZE") {
                let limit = words.next().and_then(|n| n.parse::<u64>().ok());
                caps.size = Some(limit.unwrap_or(0));
            } else if is("8BITMIME") {
                caps.eightbitmime = true;
            } else if is("CHUNKING") {
                caps.chunking = true;
            } else if is("BINARYMIME") {
                caps.binarymime = true;
            } else if is("DSN") {
                caps.dsn = true;
            } else if is("ENHANCEDSTATUSCODES") {
                caps.enhanced_status_codes = true;
            } else if is("SMTPUTF8") {
                caps.smtputf8 = true;
            } else if is("STARTTLS") {
                caps.starttls = true;
            } else if is("ETRN") {
                caps.etrn = true;
            } else if is("ATRN") {
                caps.atrn = true;
            } else if is("AUTH") {
                caps.add_auth(words);
            } else if let Some(first) = strip_prefix_ci(keyword, "AUTH=") {
                // The pre-standard `AUTH=LOGIN PLAIN` form some old servers still send.
                caps.add_auth(std::iter::once(first).chain(words));
            }
        }
        caps
    }

    /// The size limit when the server set one (`SIZE n` with `n > 0`).
    pub fn size_limit(&self) -> Option<u64> {
        self.size.filter(|&n| n > 0)
    }

    fn add_auth<'a>(&mut self, mechanisms: impl Iterator<Item = &'a str>) {
        for m in mechanisms {
            let m = m.to_ascii_uppercase();
            if !m.is_empty() && !self.auth.contains(&m) {
                self.auth.push(m);
            }
        }
    }
}

/// `s` without `prefix`, compared without regard to ASCII case.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    // `get` keeps a multi-byte character at the boundary from panicking.
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ehlo(text: &str) -> Capabilities {
        Capabilities::from_ehlo(&Reply::new(250, None, text.to_owned()))
    }

    #[test]
    fn everything_offered() {
        let caps = ehlo(
            "mx.example greets you\nPIPELINING\nSIZE 10240000\n8BITMIME\nCHUNKING\nBINARYMIME\n\
             DSN\nENHANCEDSTATUSCODES\nSMTPUTF8\nSTARTTLS\nAUTH PLAIN LOGIN\nETRN\nATRN\nHELP",
        );
        assert_eq!(
            caps,
            Capabilities {
                pipelining: true,
                size: Some(10_240_000),
                eightbitmime: true,
                chunking: true,
                binarymime: true,
                dsn: true,
                enhanced_status_codes: true,
                smtputf8: true,
                starttls: true,
                auth: vec!["PLAIN".into(), "LOGIN".into()],
                etrn: true,
                atrn: true,
            }
        );
        assert_eq!(caps.size_limit(), Some(10_240_000));
    }

    #[test]
    fn keywords_are_case_insensitive() {
        let caps = ehlo("h\npipelining\nSize\nStartTLS\nauth cram-md5\nAUTH=login plain");
        assert!(caps.pipelining && caps.starttls);
        assert_eq!(caps.size, Some(0));
        assert_eq!(caps.size_limit(), None);
        assert_eq!(caps.auth, ["CRAM-MD5", "LOGIN", "PLAIN"]);
    }

    #[test]
    fn greeting_line_is_not_a_keyword() {
        // A server named like a keyword must not turn the keyword on.
        let caps = ehlo("PIPELINING");
        assert_eq!(caps, Capabilities::default());
    }

    #[test]
    fn odd_size_arguments() {
        assert_eq!(ehlo("h\nSIZE 0").size, Some(0));
        assert_eq!(ehlo("h\nSIZE lots").size, Some(0));
        assert_eq!(ehlo("h\nSIZE 99999999999999999999999").size, Some(0));
        assert_eq!(ehlo("h\nSIZEX").size, None);
        assert_eq!(ehlo("h").size, None);
        // Not a panic on a multi-byte character where "AUTH=" would end.
        assert_eq!(ehlo("h\nAUTH\u{e9}x").auth, Vec::<String>::new());
    }
}
