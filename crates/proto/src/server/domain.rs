//! Domain patterns, as routes and RCPT-time rejections use them.
//!
//! - `*`: any domain (also address literals);
//! - `*.example.net`: any name strictly below `example.net`, not `example.net` itself;
//! - `example.com`: exactly that name.
//!
//! Names compare ASCII case-insensitively, as DNS does.

use std::fmt;

/// One domain pattern.
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
        if !crate::address::is_valid_domain(name) || name.contains('*') {
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
}
