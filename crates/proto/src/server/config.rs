//! What a session is allowed to do: limits and offered extensions.

use crate::body::BareNewline;
use crate::reply::Reply;

use super::DomainPattern;
use crate::reply::EhloOffer;

/// The extensions a listener offers. Each is advertised in EHLO and accepted in commands
/// only when it is on here: a parameter of an extension not offered gets 555.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
    /// PIPELINING (RFC 2920).
    pub pipelining: bool,
    /// 8BITMIME (RFC 6152).
    pub eightbitmime: bool,
    /// CHUNKING (RFC 3030).
    pub chunking: bool,
    /// BINARYMIME (RFC 3030); needs `chunking`.
    pub binarymime: bool,
    /// DSN (RFC 3461).
    pub dsn: bool,
    /// SMTPUTF8 (RFC 6531).
    pub smtputf8: bool,
    /// ENHANCEDSTATUSCODES (RFC 2034).
    pub enhanced_status_codes: bool,
    /// ETRN (RFC 1985).
    pub etrn: bool,
    /// STARTTLS (RFC 3207): the runtime has a certificate.
    pub starttls: bool,
    /// AUTH mechanisms the runtime can check (`PLAIN`, `LOGIN`); empty: no AUTH.
    pub auth: Vec<&'static str>,
    /// AUTH is offered only over TLS (RFC 4954 4: plaintext passwords need encryption).
    pub auth_requires_tls: bool,
}

impl Default for Features {
    /// Everything tern implements without TLS or credentials.
    fn default() -> Self {
        Features {
            pipelining: true,
            eightbitmime: true,
            chunking: true,
            binarymime: true,
            dsn: true,
            smtputf8: true,
            enhanced_status_codes: true,
            etrn: false,
            starttls: false,
            auth: Vec::new(),
            auth_requires_tls: true,
        }
    }
}

/// Limits and policy shared by every session of a listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our host name, in the greeting, EHLO and Received.
    pub hostname: String,
    /// Largest message accepted, in octets (SIZE, RFC 1870).
    pub max_message_size: u64,
    /// Most recipients per transaction; the next gets 452 4.5.3.
    pub max_recipients: usize,
    /// Bad commands tolerated before 421 and close.
    pub max_bad_commands: u32,
    /// What to do with a bare CR or LF in DATA.
    pub bare_newline: BareNewline,
    /// Domains we accept mail for from any client (lower case).
    pub accept_domains: Vec<String>,
    /// Recipient domains refused at RCPT time, from the route table: the first pattern
    /// matching a recipient's domain decides, refusing it with its reply, or accepting it
    /// (as far as routing goes) when the reply is `None`. Empty by default.
    pub rcpt_routes: Vec<(DomainPattern, Option<Reply>)>,
    /// Offered extensions.
    pub features: Features,
}

impl SessionConfig {
    /// Defaults for the given host name: 35 MB messages, 1000 recipients, 20 bad commands.
    pub fn new(hostname: &str) -> SessionConfig {
        SessionConfig {
            hostname: hostname.to_owned(),
            max_message_size: 35_000_000,
            max_recipients: 1000,
            max_bad_commands: 20,
            bare_newline: BareNewline::Reject,
            accept_domains: Vec::new(),
            rcpt_routes: Vec::new(),
            features: Features::default(),
        }
    }

    /// The reply refusing a recipient in `domain`, if a reject route takes it.
    pub fn rcpt_rejection(&self, domain: &str) -> Option<&Reply> {
        self.rcpt_routes
            .iter()
            .find(|(p, _)| p.matches(domain))
            .and_then(|(_, r)| r.as_ref())
    }

    /// True when `domain` is one of ours (case-insensitive).
    pub fn accepts_domain(&self, domain: &str) -> bool {
        self.accept_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The EHLO offer for a session in the given TLS/auth state.
    pub(crate) fn ehlo_offer(&self, tls: bool, authenticated: bool) -> EhloOffer {
        let f = &self.features;
        let auth_allowed = !authenticated && (tls || !f.auth_requires_tls);
        EhloOffer {
            size: self.max_message_size,
            pipelining: f.pipelining,
            eightbitmime: f.eightbitmime,
            chunking: f.chunking,
            binarymime: f.chunking && f.binarymime,
            dsn: f.dsn,
            enhanced_status_codes: f.enhanced_status_codes,
            smtputf8: f.smtputf8,
            etrn: f.etrn,
            atrn: false,
            starttls: f.starttls && !tls,
            auth: if auth_allowed {
                f.auth.clone()
            } else {
                Vec::new()
            },
            help: true,
        }
    }

    /// Longest MAIL or RCPT line accepted, CRLF included: 512 octets plus what each offered
    /// extension adds (RFC 1870 SIZE 26, RFC 6152/3030 BODY 14, RFC 6531 SMTPUTF8 10,
    /// RFC 3461 DSN 107 on MAIL and 500 on RCPT, RFC 4954 AUTH= 500).
    pub(crate) fn long_line_limit(&self) -> usize {
        let f = &self.features;
        let mut n = 512 + 26 + 14 + 10;
        if f.dsn {
            n += 500;
        }
        if !f.auth.is_empty() {
            n += 500;
        }
        n
    }
}

/// What the runtime knows about the client when the connection opens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client is in `trusted_networks`: it may relay to any domain.
    pub relay_allowed: bool,
    /// The connection is already encrypted (implicit TLS, `smtps`).
    pub tls: bool,
}
