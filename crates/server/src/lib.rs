//! # tern: the mail relay daemon
//!
//! The `tern` binary's library half: everything a test may want to call.
//!
//! - [`config`]: `tern.toml` as written, validated into a typed [`config::Config`].
//! - [`runtime`]: one pinned glommio executor per core ([`runtime::Server`]), each a
//!   `Core` with its own listeners, sessions and queue shard; the signal thread.
//! - the session driver (`driver`): moves bytes between a socket and
//!   `tern_proto::server::Session`, enforces timeouts, stores messages.
//! - [`queue_cmd`]: the offline `tern queue list/show`.
//!
//! The binary (`main.rs`) only parses arguments and maps errors to exit codes.
#![deny(missing_docs)]

pub mod config;
mod conn_limit;
mod core;
mod driver;
pub mod queue_cmd;
pub mod runtime;
mod stop;

pub use runtime::{run, RunError, Server};
