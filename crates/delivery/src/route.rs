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

use std::net::SocketAddr;

use tern_proto::reply::{Enhanced, Reply};
pub use tern_proto::server::DomainPattern;

/// One smarthost address, with the name it was configured as (for TLS: the name its
/// certificate must carry). Displays as the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host as written (`relay.example.net`, or an IP).
    pub name: String,
    /// One address it resolved to.
    pub addr: SocketAddr,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.addr)
    }
}

/// STARTTLS on a route's connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TlsMode {
    /// Encrypt when offered, without checking the certificate; plaintext otherwise.
    #[default]
    Opportunistic,
    /// STARTTLS with a certificate that chains to the roots and matches the host name, or
    /// no delivery (the recipients are deferred).
    Required,
}

/// What a route does with the recipients it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAction {
    /// Relay to these addresses, tried in order; the next one is tried when a connection
    /// cannot be made or the host refuses the session.
    Smarthost(Vec<Target>),
    /// Look up the recipient domain's MX records (RFC 5321 5, RFC 7505 null MX) and
    /// deliver to the exchangers on `port` (25 but in tests).
    Mx {
        /// The SMTP port of the mail exchangers.
        port: u16,
    },
    /// Keep the mail queued until the domain's owner asks for it (ETRN, ATRN, TURN).
    Hold,
    /// Refuse the recipients with this reply: at RCPT time (the server session checks
    /// [`RouteTable::rejections`]), and at delivery for mail queued before the route
    /// existed.
    Reject(Reply),
}

/// One `[[route]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The domains it applies to; any match selects the route.
    pub domains: Vec<DomainPattern>,
    /// What happens to them.
    pub action: RouteAction,
    /// STARTTLS policy for its connections (smarthost and MX).
    pub tls: TlsMode,
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

    /// The table as the server session's RCPT check needs it: every pattern in order, with
    /// the reply of a reject route or `None` for any other route (first match decides, so
    /// a domain an earlier route takes is not refused). Empty when no route rejects; the
    /// patterns after the last reject route are left out, since they can only accept.
    pub fn rejections(&self) -> Vec<(DomainPattern, Option<Reply>)> {
        let mut all: Vec<(DomainPattern, Option<Reply>)> = self
            .routes
            .iter()
            .flat_map(|r| {
                let reply = match &r.action {
                    RouteAction::Reject(reply) => Some(reply.clone()),
                    _ => None,
                };
                r.domains.iter().map(move |d| (d.clone(), reply.clone()))
            })
            .collect();
        let keep = all
            .iter()
            .rposition(|(_, r)| r.is_some())
            .map_or(0, |i| i + 1);
        all.truncate(keep);
        all
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
    fn first_match_wins() {
        let sa = Target {
            name: "127.0.0.1".into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 25)),
        };
        let t = RouteTable::new(vec![
            Route {
                domains: vec![pat("hold.example")],
                action: RouteAction::Hold,
                tls: TlsMode::Opportunistic,
            },
            Route {
                domains: vec![pat("*.example"), pat("example")],
                action: RouteAction::Smarthost(vec![sa]),
                tls: TlsMode::Opportunistic,
            },
            Route {
                domains: vec![pat("*")],
                action: RouteAction::Hold,
                tls: TlsMode::Opportunistic,
            },
        ]);
        let idx = |d: &str| t.lookup(d).map(|(i, _)| i);
        assert_eq!(idx("hold.example"), Some(0));
        assert_eq!(idx("HOLD.example"), Some(0));
        assert_eq!(idx("x.example"), Some(1));
        assert_eq!(idx("example"), Some(1));
        assert_eq!(idx("other.org"), Some(2));
        assert_eq!(RouteTable::default().lookup("x.org"), None);
        assert!(
            t.rejections().is_empty(),
            "no reject route, nothing to check at RCPT"
        );
    }

    #[test]
    fn rejections_keep_first_match_order() {
        let no = Reply::new(550, Some(Enhanced(5, 1, 2)), "No");
        let t = RouteTable::new(vec![
            Route {
                domains: vec![pat("keep.bad.example")],
                action: RouteAction::Hold,
                tls: TlsMode::Opportunistic,
            },
            Route {
                domains: vec![pat("*.bad.example")],
                action: RouteAction::Reject(no.clone()),
                tls: TlsMode::Opportunistic,
            },
            Route {
                domains: vec![pat("*")],
                action: RouteAction::Hold,
                tls: TlsMode::Opportunistic,
            },
        ]);
        assert_eq!(
            t.rejections(),
            [
                (pat("keep.bad.example"), None),
                (pat("*.bad.example"), Some(no)),
            ]
        );
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
