//! STARTTLS for both tools: the socket before and after the upgrade, the client
//! configuration of `send --starttls` (`--ca FILE` or `--insecure`) and the server
//! configuration of `sink --tls-cert/--tls-key` or `--tls-self-signed`.
//!
//! The handshake itself runs in the drivers (`send`, `sink`), when their session asks for
//! it; this module only builds configurations and moves bytes, the way tern's delivery does.

use std::io::{self, ErrorKind};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tern_tls::AnyCertificate;

use crate::args::{SinkTls, TlsTrust};

/// A connection's socket: plaintext, then (after STARTTLS) TLS on one side or the other.
pub enum Stream {
    /// Before STARTTLS, or without it.
    Plain(TcpStream),
    /// `send` after its handshake.
    Client(Box<futures_rustls::client::TlsStream<TcpStream>>),
    /// `sink` after its handshake.
    Server(Box<futures_rustls::server::TlsStream<TcpStream>>),
    /// Only while the handshake owns the socket, or after it failed.
    Gone,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stream::Plain(_) => "Plain",
            Stream::Client(_) => "Client",
            Stream::Server(_) => "Server",
            Stream::Gone => "Gone",
        })
    }
}

impl Stream {
    /// Reads once.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf).await,
            Stream::Client(s) => s.read(buf).await,
            Stream::Server(s) => s.read(buf).await,
            Stream::Gone => Err(ErrorKind::NotConnected.into()),
        }
    }

    /// Writes all of `buf`; over TLS also flushes, since rustls buffers records until then.
    pub async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Stream::Plain(s) => s.write_all(buf).await,
            Stream::Client(s) => {
                s.write_all(buf).await?;
                s.flush().await
            }
            Stream::Server(s) => {
                s.write_all(buf).await?;
                s.flush().await
            }
            Stream::Gone => Err(ErrorKind::NotConnected.into()),
        }
    }

    /// Closes (sending close_notify over TLS); errors are of no interest by then.
    pub async fn close(&mut self) {
        match self {
            Stream::Plain(s) => {
                let _ = s.close().await;
            }
            Stream::Client(s) => {
                let _ = s.close().await;
            }
            Stream::Server(s) => {
                let _ = s.close().await;
            }
            Stream::Gone => {}
        }
    }

    /// Takes the plaintext socket out for a handshake, leaving `Gone`.
    pub fn take_plain(&mut self) -> Option<TcpStream> {
        match std::mem::replace(self, Stream::Gone) {
            Stream::Plain(s) => Some(s),
            other => {
                *self = other;
                None
            }
        }
    }
}

fn provider() -> Arc<CryptoProvider> {
    // Named explicitly: with more than one provider compiled in, rustls has no default.
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn read_file(what: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what}: cannot read {}: {e}", path.display()))
}

/// Reads every certificate of a PEM file.
fn load_certs(what: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read_file(what, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            format!(
                "{what}: {} is not a PEM certificate file: {e}",
                path.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!("{what}: no certificate in {}", path.display()));
    }
    Ok(certs)
}

/// The client configuration of `send --starttls`.
pub fn client_config(trust: &TlsTrust) -> Result<Arc<ClientConfig>, String> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let config = match trust {
        TlsTrust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate::new(provider)))
            .with_no_client_auth(),
        TlsTrust::Ca(path) => {
            let mut roots = RootCertStore::empty();
            for c in load_certs("--ca", path)? {
                roots
                    .add(c)
                    .map_err(|e| format!("--ca: unusable certificate: {e}"))?;
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
    };
    Ok(Arc::new(config))
}

/// The name `send` checks the certificate against: the target's IP address, as given.
pub fn target_name(ip: IpAddr) -> ServerName<'static> {
    ServerName::IpAddress(ip.into())
}

/// The server configuration of the sink. A self-signed certificate is made for `host`
/// (the listen address) and `localhost`, so `send --ca` with that certificate verifies.
pub fn server_config(tls: &SinkTls, host: IpAddr) -> Result<Arc<ServerConfig>, String> {
    let (certs, key) = match tls {
        SinkTls::Files { cert, key } => {
            let certs = load_certs("--tls-cert", cert)?;
            let pem = read_file("--tls-key", key)?;
            let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|e| {
                format!("--tls-key: no usable private key in {}: {e}", key.display())
            })?;
            (certs, key)
        }
        SinkTls::SelfSigned => {
            let ck =
                rcgen::generate_simple_self_signed(vec![host.to_string(), "localhost".to_owned()])
                    .map_err(|e| format!("--tls-self-signed: cannot make a certificate: {e}"))?;
            let key =
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
            (vec![ck.cert.der().clone()], key)
        }
    };
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key do not make a TLS server: {e}"))?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_files_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "nothing here\n").unwrap();
        let missing = dir.path().join("missing.pem");
        let e = client_config(&TlsTrust::Ca(junk.clone())).unwrap_err();
        assert!(e.starts_with("--ca: no certificate in"), "{e}");
        let e = client_config(&TlsTrust::Ca(missing.clone())).unwrap_err();
        assert!(e.starts_with("--ca: cannot read"), "{e}");
        let host = IpAddr::from([127, 0, 0, 1]);
        let files = |cert: &Path, key: &Path| SinkTls::Files {
            cert: cert.to_owned(),
            key: key.to_owned(),
        };
        let e = server_config(&files(&missing, &junk), host).unwrap_err();
        assert!(e.starts_with("--tls-cert: cannot read"), "{e}");
        // A real certificate with a file that holds no key.
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, ck.cert.pem()).unwrap();
        let e = server_config(&files(&cert, &junk), host).unwrap_err();
        assert!(e.starts_with("--tls-key: no usable private key"), "{e}");
        let key = dir.path().join("key.pem");
        std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
        assert!(server_config(&files(&cert, &key), host).is_ok());
        assert!(server_config(&SinkTls::SelfSigned, host).is_ok());
        assert!(client_config(&TlsTrust::Ca(cert)).is_ok());
        assert!(client_config(&TlsTrust::Insecure).is_ok());
    }
}
