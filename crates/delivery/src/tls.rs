//! Outbound STARTTLS (RFC 3207) with rustls: the two client configurations a worker uses,
//! and the root certificates they trust.
//!
//! - Opportunistic (the default): encrypt when the hop offers STARTTLS, without checking
//!   its certificate (RFC 7435 opportunistic security: an unauthenticated encrypted channel
//!   still beats plaintext, and most MX hosts carry certificates for names no sender can
//!   predict). Signatures of the handshake are still verified.
//! - Required (`tls = "required"` on a route): STARTTLS must be offered and the certificate
//!   must chain to the configured roots and match the host name (the smarthost name, or
//!   the MX host name).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
pub use rustls::pki_types::CertificateDer;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tern_tls::AnyCertificate;

/// Reads every certificate of a PEM bundle (the `tls_roots` file).
pub fn load_roots(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate bundle: {e}"))?;
    if certs.is_empty() {
        return Err("no certificate in the PEM bundle".to_owned());
    }
    Ok(certs)
}

/// Checks that `roots` can make a verifying client configuration (what a worker will
/// build from them), so a bad bundle fails at load rather than at the first delivery.
pub fn check_roots(roots: &[CertificateDer<'static>]) -> Result<(), String> {
    TlsClients::new(roots).map(drop)
}

/// The client configurations of one worker.
#[derive(Debug, Clone)]
pub(crate) struct TlsClients {
    /// Verifies nothing but the handshake signatures.
    pub(crate) opportunistic: Arc<ClientConfig>,
    /// Verifies the chain and name against the roots; `None` without roots.
    pub(crate) verified: Option<Arc<ClientConfig>>,
}

impl TlsClients {
    pub(crate) fn new(roots: &[CertificateDer<'static>]) -> Result<TlsClients, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let opportunistic = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate::new(Arc::clone(&provider))))
            .with_no_client_auth();
        let verified = if roots.is_empty() {
            None
        } else {
            let mut store = RootCertStore::empty();
            for c in roots {
                store
                    .add(c.clone())
                    .map_err(|e| format!("unusable root certificate: {e}"))?;
            }
            Some(Arc::new(
                ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| e.to_string())?
                    .with_root_certificates(store)
                    .with_no_client_auth(),
            ))
        };
        Ok(TlsClients {
            opportunistic: Arc::new(opportunistic),
            verified,
        })
    }
}

/// The server name to send (SNI) and, when verifying, to check: a DNS name, or the IP.
pub(crate) fn server_name(name: &str, ip: std::net::IpAddr) -> ServerName<'static> {
    ServerName::try_from(name.trim_end_matches('.').to_owned())
        .unwrap_or_else(|_| ServerName::IpAddress(ip.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_from_pem() {
        assert_eq!(
            load_roots(b"nothing here\n"),
            Err("no certificate in the PEM bundle".to_owned())
        );
        assert!(
            load_roots(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n").is_err()
        );
        let name = server_name("mx.example.", std::net::IpAddr::from([192, 0, 2, 1]));
        assert_eq!(
            name,
            ServerName::try_from("mx.example").unwrap_or_else(|_| panic!())
        );
        let ip = server_name("[192.0.2.1]", std::net::IpAddr::from([192, 0, 2, 1]));
        assert!(matches!(ip, ServerName::IpAddress(_)));
        assert!(TlsClients::new(&[]).is_ok_and(|c| c.verified.is_none()));
    }
}
