//! # tern: the mail relay daemon
//!
//! This crate is the `tern` binary's library half. Today it holds [`config`]: the
//! `tern.toml` file as written, its validation into a typed [`config::Config`], and the
//! one-line errors `tern check-config` prints. The runtime (per-core executors,
//! listeners, the session driver) is built on that `Config` and lives beside it.
//!
//! The split follows the project's style: the binary (`main.rs`) only parses arguments
//! and maps errors to exit codes; everything a test may want to call is here.
#![deny(missing_docs)]

pub mod config;
