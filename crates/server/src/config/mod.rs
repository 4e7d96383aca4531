//! tern's configuration: `tern.toml` as written ([`file`](mod@file)), then validated into a typed
//! [`Config`] ([`validate`]).
//!
//! ```
//! let text = "[limits]\nmax_recipients = 500\n";
//! let config = tern::config::parse(text, "example.toml").map_err(|e| e.to_string())?;
//! assert_eq!(config.limits.max_recipients, 500);
//!
//! let err = tern::config::parse("[limits]\nmax_recipients = 0\n", "example.toml").unwrap_err();
//! assert_eq!(err.to_string(), "example.toml:2:18: limits.max_recipients: must be greater than 0");
//! # Ok::<(), String>(())
//! ```
//!
//! Every problem is reported as one [`ConfigError`] line naming the file, the line and
//! column, and the key. The documented default file, `config/tern.toml`, is embedded as
//! [`DEFAULT_TOML`]; `docs/configuration.md` describes every key.

mod error;
pub mod file;
pub mod ipnet;
pub mod units;
pub mod validate;

use std::path::Path;

use serde::Deserialize as _;

pub(crate) use error::KeyPath;
pub use error::{ConfigError, ConfigErrorKind};
pub use file::{BareNewline, ListenerMode};
pub use ipnet::IpNet;
pub use validate::{Config, Delivery, Limits, Listener, Queue, Relay, Server};

use file::FileConfig;
use validate::Host;

/// The documented default configuration, `config/tern.toml`, as shipped in the binary.
pub const DEFAULT_TOML: &str = include_str!("../../../../config/tern.toml");

/// Reads, parses and validates the configuration file at `path`. Errors name `path` as
/// it was given.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::read(&origin, &e))?;
    parse(&text, &origin)
}

/// Parses and validates configuration `text`; `origin` names it in errors (usually the
/// file name).
pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
    parse_with(text, origin, &Host::current())
}

/// The built-in default configuration ([`DEFAULT_TOML`]), validated on this machine.
///
/// This can fail only if the machine's hostname is not a usable domain name (the default
/// takes the hostname from the system), in which case the error says to set
/// `server.hostname`.
pub fn default_config() -> Result<Config, ConfigError> {
    parse(DEFAULT_TOML, "built-in tern.toml")
}

/// Parses, deserialises and validates, with the machine's facts passed in.
fn parse_with(text: &str, origin: &str, host: &Host) -> Result<Config, ConfigError> {
    let doc = toml::de::DeTable::parse(text).map_err(|e| {
        ConfigError::at(
            ConfigErrorKind::Syntax,
            origin,
            text,
            e.span(),
            None,
            e.message(),
        )
    })?;
    // Deserialise from the already-parsed document, and keep it for locating errors.
    let file = FileConfig::deserialize(toml::de::Deserializer::from(doc.clone())).map_err(|e| {
        let key = e.span().map(|s| error::path_at(doc.get_ref(), s.start));
        ConfigError::at(
            ConfigErrorKind::Invalid,
            origin,
            text,
            e.span(),
            key.as_ref(),
            e.message(),
        )
    })?;
    validate::validate(&file, host).map_err(|inv| {
        ConfigError::at(
            ConfigErrorKind::Invalid,
            origin,
            text,
            error::span_of(doc.get_ref(), &inv.path),
            Some(&inv.path),
            &inv.message,
        )
    })
}

#[cfg(test)]
mod tests;
