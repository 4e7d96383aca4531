//! The route table: which next hop a recipient domain goes to. Pure.
//!
//! Routes are tried in the order written and the first whose `domains` match wins. A
//! pattern is one of:
//!
//! - `*`: any domain (also address literals and the bare `<Postmaster>`), the catch-all;
//! - `*.example.net`: any name strictly below `example.net` (`a.example.net`,
//!   `b.a.example.net`), not `example.net` itself: write both when both are meant;
//! - `example.com`: exactly that name.
//!
//! Names compare ASCII case-insensitively, as DNS does. A domain that no route matches has
//! no route; the worker defers it (see `docs/configuration.md`).

use std::fmt;
use std::net::SocketAddr;

use tern_proto::reply::{Enhanced, Reply};

/// One domain pattern of a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainPattern {
    /// `*`: everything.
    Any,
    /// `*.suffix`: names strictly below `suffix` (stored lower-case, without the `*.`).
    Below(String),
    /// An exact name (stored lower-case).
    Exact(String),
}

impl DomainPattern {
    /// Parses `*`, `*.example.net` or `example.com`. The name part must be a domain
    /// (RFC 5321 syntax); a `*` anywhere else is refused.
    pub fn parse(text: &str) -> Result<DomainPattern, String> {
        if text == "*" {
            return Ok(DomainPattern::Any);
        }
        let (below, name) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if !tern_proto::address::is_valid_domain(name) || name.contains('*') {
            return Err(format!(
                "invalid domain pattern {text:?}: expected \"*\", \"*.example.net\" or \"example.com\""
            ));
        }
        let name = name.to_ascii_lowercase();
        Ok(if below {
            DomainPattern::Below(name)
        } else {
            DomainPattern::Exact(name)
        })
    }

    /// Whether `domain` matches (ASCII case-insensitive).
    pub fn matches(&self, domain: &str) -> bool {
        match self {
            DomainPattern::Any => true,
            DomainPattern::Exact(name) => domain.eq_ignore_ascii_case(name),
            DomainPattern::Below(suffix) => {
                let (d, n) = (domain.as_bytes(), domain.len());
                n > suffix.len() + 1
                    && d[n - suffix.len() - 1] == b'.'
                    && d[n - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
            }
        }
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainPattern::Any => f.write_str("*"),
            DomainPattern::Below(s) => write!(f, "*.{s}"),
            DomainPattern::Exact(s) => f.write_str(s),
        }
    }
}

/// What a route does with the recipients it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAction {
    /// Relay to these addresses, tried in order; the next one is tried when a connection
    /// cannot be made or the host refuses the session.
    Smarthost(Vec<SocketAddr>),
    /// Keep the mail queued until the domain's owner asks for it (ETRN, ATRN, TURN).
    Hold,
}

/// One `[[route]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The domains it applies to; any match selects the route.
    pub domains: Vec<DomainPattern>,
    /// What happens to them.
    pub action: RouteAction,
}

/// The routes in configuration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// A table of `routes`, first match wins.
    pub fn new(routes: Vec<Route>) -> RouteTable {
        RouteTable { routes }
    }

    /// The routes, in order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The first route matching `domain`, with its index (the worker's key for a next hop).
    pub fn lookup(&self, domain: &str) -> Option<(usize, &Route)> {
        self.routes
            .iter()
            .enumerate()
            .find(|(_, r)| r.domains.iter().any(|p| p.matches(domain)))
    }
}

/// Parses a reply as an operator writes it in the config: `550 5.1.2 Text` or `550 Text`.
/// The code must be 4xx or 5xx; an enhanced code, when present, must be of the same class.
pub fn parse_reply(text: &str) -> Result<Reply, String> {
    const HELP: &str = "expected a reply such as \"550 5.1.2 Domain not served here\"";
    let (code, rest) = text.split_once(' ').unwrap_or((text, ""));
    let code: u16 = match code.parse() {
        Ok(c) if code.len() == 3 && (400..600).contains(&c) => c,
        _ => return Err(format!("invalid reply {text:?}: {HELP} (code 400-599)")),
    };
    let (enhanced, rest) = match rest.split_once(' ').map_or((rest, ""), |p| p) {
        (first, tail) if first.split('.').count() == 3 => match parse_enhanced(first) {
            Some(e) if u16::from(e.0) == code / 100 => (Some(e), tail),
            _ => {
                return Err(format!(
                    "invalid enhanced status code {first:?} in {text:?}: {HELP}"
                ))
            }
        },
        _ => (None, rest),
    };
    let text_part = rest.trim();
    if text_part.is_empty() || text_part.contains(['\r', '\n']) {
        return Err(format!("invalid reply {text:?}: {HELP} (one line of text)"));
    }
    Ok(Reply::new(code, enhanced, text_part.to_owned()))
}

/// `class.subject.detail`, RFC 3463.
pub(crate) fn parse_enhanced(s: &str) -> Option<Enhanced> {
    let mut it = s.split('.');
    let c: u8 = it.next()?.parse().ok()?;
    let sub: u16 = it.next()?.parse().ok()?;
    let det: u16 = it.next()?.parse().ok()?;
    (it.next().is_none() && matches!(c, 2 | 4 | 5) && sub < 1000 && det < 1000)
        .then_some(Enhanced(c, sub, det))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> DomainPattern {
        match DomainPattern::parse(s) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn patterns() {
        let table: &[(&str, &str, bool)] = &[
            ("*", "example.com", true),
            ("*", "[192.0.2.1]", true),
            ("*", "", true),
            ("example.com", "example.com", true),
            ("example.com", "EXAMPLE.Com", true),
            ("Example.COM", "example.com", true),
            ("example.com", "a.example.com", false),
            ("example.com", "example.co", false),
            ("*.example.net", "a.example.net", true),
            ("*.example.net", "b.A.EXAMPLE.net", true),
            ("*.example.net", "example.net", false),
            ("*.example.net", "badexample.net", false),
            ("*.example.net", ".example.net", false),
            ("*.example.net", "a.example.net.evil", false),
            ("*.example.net", "ü.example.net", true),
        ];
        for (p, d, want) in table {
            assert_eq!(pat(p).matches(d), *want, "{p} vs {d}");
        }
        for bad in [
            "",
            "*.",
            "*.*",
            "a.*.b",
            "exa mple.com",
            "*example.com",
            "**",
            "a..b",
        ] {
            assert!(DomainPattern::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(pat("*.Example.NET").to_string(), "*.example.net");
    }

    #[test]
    fn first_match_wins() {
        let sa: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 25));
        let t = RouteTable::new(vec![
            Route {
                domains: vec![pat("hold.example")],
                action: RouteAction::Hold,
            },
            Route {
                domains: vec![pat("*.example"), pat("example")],
                action: RouteAction::Smarthost(vec![sa]),
            },
            Route {
                domains: vec![pat("*")],
                action: RouteAction::Hold,
            },
        ]);
        let idx = |d: &str| t.lookup(d).map(|(i, _)| i);
        assert_eq!(idx("hold.example"), Some(0));
        assert_eq!(idx("HOLD.example"), Some(0));
        assert_eq!(idx("x.example"), Some(1));
        assert_eq!(idx("example"), Some(1));
        assert_eq!(idx("other.org"), Some(2));
        assert_eq!(RouteTable::default().lookup("x.org"), None);
    }

    #[test]
    fn replies() {
        let ok = |s: &str| parse_reply(s).map(|r| r.to_bytes(true));
        assert_eq!(
            ok("550 5.1.2 Domain not served"),
            Ok(b"550 5.1.2 Domain not served\r\n".to_vec())
        );
        assert_eq!(ok("451 Try later"), Ok(b"451 Try later\r\n".to_vec()));
        assert_eq!(
            ok("554 5.7.1 No, thanks"),
            Ok(b"554 5.7.1 No, thanks\r\n".to_vec())
        );
        for bad in [
            "250 Ok",
            "550",
            "550 ",
            "55 x",
            "5500 x",
            "550 4.1.1 x",
            "550 5.1.1",
            "550 5.1.1 ",
            "abc x",
            "550 a\nb",
        ] {
            assert!(parse_reply(bad).is_err(), "{bad:?}");
        }
    }
}
