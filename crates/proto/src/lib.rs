//! # tern-proto: the SMTP protocol, without I/O
//!
//! Everything tern knows about the SMTP grammar lives here, as pure code: bytes in,
//! events and replies out. There are no sockets, no executor and no clock in this crate;
//! the runtime (`crates/server`, `crates/delivery`) only moves bytes and acts on events.
//! That keeps the protocol unit-testable, property-testable and benchmarkable on its own.
//!
//! The principal pieces:
//!
//! - [`reply`]: [`Reply`] (code, RFC 3463 enhanced code, text) and the catalogue of every
//!   reply tern sends, one constant or constructor per situation, plus the EHLO builder.
//! - [`address`]: reverse- and forward-paths (RFC 5321 4.1.2, RFC 6531 for UTF-8).
//! - [`params`]: ESMTP parameters of MAIL and RCPT (SIZE, BODY, SMTPUTF8, RET, ENVID,
//!   NOTIFY, ORCPT, AUTH=), with xtext.
//! - [`command`]: one command line to a [`Command`], or a [`CommandError`] that carries the
//!   reply it produces.
//! - [`body`]: the DATA scanner (dot-unstuffing, end of data, bare CR/LF policy) and the
//!   dot-stuffing encoder for the way out.
//! - [`server`]: the server session state machine.
//! - [`client`]: the client (delivery) session state machine.
//! - [`received`]: the `Received:` trace header.
#![deny(missing_docs)]

pub mod address;
pub mod body;
pub mod client;
pub mod command;
pub mod envelope;
pub mod params;
pub mod received;
pub mod reply;
pub mod server;
mod swar;
pub mod xtext;

pub use address::{ForwardPath, Mailbox, ReversePath};
pub use command::{Command, CommandError};
pub use envelope::{Envelope, Recipient};
pub use params::{BodyType, MailParams, Notify, RcptParams, Ret};
pub use reply::{Enhanced, Reply};
