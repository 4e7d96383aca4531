//! The server side of an SMTP session, as a state machine without I/O.
//!
//! The runtime owns the socket and a read buffer. It hands the unread bytes to
//! [`Session::input`], which consumes every complete command it can, writes the replies into
//! its output buffer ([`Session::output`]) and returns an [`Action`] telling the runtime what
//! to do next:
//!
//! - [`Action::NeedInput`]: every complete command was consumed. Flush the output (this is
//!   the PIPELINING rule of RFC 2920: replies to a group go out together, when the server
//!   would otherwise wait for the client), keep the unconsumed bytes and read more.
//! - [`Action::StoreMessage`]: a message is complete; take it with
//!   [`Session::take_message`], make it durable, then call [`Session::stored`].
//! - [`Action::StartTls`]: flush, discard every byte read so far (they were sent in
//!   plaintext before the handshake, CVE-2011-0411; `input` already counted them as
//!   consumed), do the TLS handshake, then call [`Session::tls_started`].
//! - [`Action::Authenticate`]: check the credentials, then call [`Session::auth_result`].
//! - [`Action::Etrn`]: start a queue run for the node, then call [`Session::etrn_result`].
//! - [`Action::Close`]: flush the output and close the connection.
//!
//! While an action is pending, `input` consumes nothing, so pipelined commands behind a
//! `DATA` wait until the message is stored and their replies stay in order.
//!
//! There is no clock here: the runtime enforces timeouts and calls [`Session::timeout`].
//!
//! ```
//! use std::rc::Rc;
//! use tern_proto::server::{Action, ClientInfo, Session, SessionConfig};
//!
//! let config = Rc::new(SessionConfig::new("mx.example"));
//! let mut s = Session::new(config, ClientInfo { relay_allowed: true, ..Default::default() });
//! s.greet();
//! let input = b"EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n";
//! let (used, action) = s.input(input);
//! assert_eq!((used, action), (input.len(), Action::NeedInput));
//! let (used, action) = s.input(b"Hi\r\n.\r\n");
//! assert_eq!((used, action), (7, Action::StoreMessage));
//! let message = s.take_message().unwrap();
//! assert_eq!(message.body, b"Hi\r\n");
//! s.stored(Ok("1A2B"));
//! assert!(s.output().ends_with(b"250 2.0.0 Ok: queued as 1A2B\r\n"));
//! ```

mod auth;
mod config;
mod domain;
mod session;

pub use auth::AuthRequest;
pub use config::{ClientInfo, Features, SessionConfig};
pub use domain::DomainPattern;
pub use session::Session;

use crate::envelope::Envelope;

/// What the runtime must do after [`Session::input`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Flush the output and read more input.
    NeedInput,
    /// A message is complete: [`Session::take_message`], store, [`Session::stored`].
    StoreMessage,
    /// Flush, discard buffered input, handshake, [`Session::tls_started`].
    StartTls,
    /// Check credentials, then [`Session::auth_result`].
    Authenticate(AuthRequest),
    /// Start a queue run for the ETRN argument (as sent: `domain`, `@domain` or `#queue`),
    /// then [`Session::etrn_result`].
    Etrn(String),
    /// Flush the output and close the connection.
    Close,
}

/// A complete message, handed to the runtime to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The envelope.
    pub envelope: Envelope,
    /// The content as received, dot-unstuffed, CRLF line endings (for BDAT: as sent).
    pub body: Vec<u8>,
}

/// Why storing a message failed; chooses the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// The queue's disk budget is used up: 452 4.3.1.
    DiskFull,
    /// Writing or syncing failed: 451 4.3.0.
    Io,
    /// The server is shutting down: 421 4.3.2 and close.
    ShuttingDown,
}

#[cfg(test)]
mod tests;
