//! The AUTH exchanges of RFC 4954: PLAIN (RFC 4616) and LOGIN.
//!
//! Only the wire format lives here. Checking the credentials is the runtime's job (it gets
//! an [`AuthRequest`]); password hashing is never done in this crate.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::reply::{self, Reply};

/// Credentials to check, decoded from the AUTH exchange.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// The mechanism used (`PLAIN` or `LOGIN`).
    pub mechanism: &'static str,
    /// The authorization identity (PLAIN only; empty when not given).
    pub authzid: String,
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for AuthRequest {
    // Never print a password into a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("mechanism", &self.mechanism)
            .field("authzid", &self.authzid)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The mechanisms this module can decode.
pub(crate) fn known_mechanism(name: &str) -> Option<&'static str> {
    if name.eq_ignore_ascii_case("PLAIN") {
        Some("PLAIN")
    } else if name.eq_ignore_ascii_case("LOGIN") {
        Some("LOGIN")
    } else {
        None
    }
}

/// The base64 challenges of LOGIN: "Username:" and "Password:".
pub(crate) const LOGIN_USER: &str = "VXNlcm5hbWU6";
pub(crate) const LOGIN_PASSWORD: &str = "UGFzc3dvcmQ6";

/// Decodes one client response line of an exchange. `=` is the empty response
/// (RFC 4954 4); `*` cancels and is handled by the caller.
pub(crate) fn decode_response(line: &[u8]) -> Result<Vec<u8>, Reply> {
    if line == b"=" {
        return Ok(Vec::new());
    }
    STANDARD.decode(line).map_err(|_| reply::AUTH_BAD_BASE64)
}

/// Decodes a PLAIN response: `authzid NUL authcid NUL passwd` (RFC 4616 2).
pub(crate) fn decode_plain(line: &[u8]) -> Result<AuthRequest, Reply> {
    let raw = decode_response(line)?;
    let mut parts = raw.split(|&b| b == 0);
    let (Some(authzid), Some(user), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(reply::AUTH_BAD_BASE64);
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| reply::AUTH_BAD_BASE64);
    let req = AuthRequest {
        mechanism: "PLAIN",
        authzid: text(authzid)?,
        user: text(user)?,
        password: text(password)?,
    };
    if req.user.is_empty() {
        return Err(reply::AUTH_BAD_BASE64);
    }
    Ok(req)
}

/// Decodes one LOGIN response (user name or password) as text.
pub(crate) fn decode_login(line: &[u8]) -> Result<String, Reply> {
    String::from_utf8(decode_response(line)?).map_err(|_| reply::AUTH_BAD_BASE64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_decodes_three_fields() {
        // "\0alice\0secret"
        let r = decode_plain(b"AGFsaWNlAHNlY3JldA==").unwrap();
        assert_eq!(
            (r.authzid.as_str(), r.user.as_str(), r.password.as_str()),
            ("", "alice", "secret")
        );
        assert_eq!(decode_plain(b"not base64!"), Err(reply::AUTH_BAD_BASE64));
        // "alice" alone: no NULs
        assert_eq!(decode_plain(b"YWxpY2U="), Err(reply::AUTH_BAD_BASE64));
    }

    #[test]
    fn debug_hides_the_password() {
        let r = decode_plain(b"AGFsaWNlAHNlY3JldA==").unwrap();
        assert!(!format!("{r:?}").contains("secret"));
    }

    #[test]
    fn empty_response_is_equals_sign() {
        assert_eq!(decode_response(b"="), Ok(Vec::new()));
        assert_eq!(decode_login(b"YWxpY2U="), Ok("alice".to_owned()));
    }
}
