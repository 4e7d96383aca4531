//! The outbound (client) SMTP session, sans-IO: bytes from the server in, commands out,
//! events for the driver. Used by the delivery workers and the load generator.
//!
//! # Pieces
//!
//! - [`ReplyParser`]: server bytes to [`Reply`] values, any split, bounded.
//! - [`Capabilities`]: what an EHLO reply offers.
//! - [`ClientSession`]: greeting, EHLO (HELO fallback, RFC 5321 3.2), optional STARTTLS
//!   (RFC 3207), any number of transactions, QUIT. With PIPELINING, MAIL, every RCPT and
//!   DATA leave in one write (RFC 2920); with CHUNKING the body goes as one `BDAT n LAST`
//!   (RFC 3030), sent only once a recipient was accepted. With a
//!   [`ClientOptions::window`] above 1, several transactions are in flight at once: the
//!   next MAIL follows a body without waiting for its reply, and BDAT goes with MAIL and
//!   RCPT; [`ClientSession::can_send_mail`] says when another may start. ESMTP parameters are sent only
//!   when the hop offers them: SIZE, BODY=8BITMIME, BODY=BINARYMIME, SMTPUTF8 and the DSN
//!   parameters RET, ENVID, NOTIFY, ORCPT (RFC 3461). `AUTH=` is never sent: the client
//!   does not authenticate, and RFC 4954 5 only defines it for authenticated sessions.
//! - [`TransactionResult`]: one reply per stage and per recipient, with
//!   [`TransactionResult::outcome`] naming the reply that decides each recipient.
//! - [`local`]: replies the client decides itself (the hop lacks SMTPUTF8, the message is
//!   over its SIZE, the connection broke), to be recorded like server replies.
//!
//! # Driving a session
//!
//! The driver owns the socket (and clock) and loops:
//!
//! 1. write [`ClientSession::output`] to the socket, then [`ClientSession::consume_output`];
//! 2. read, and hand the bytes to [`ClientSession::input`];
//! 3. drain [`ClientSession::poll_event`] and act:
//!    - [`ClientEvent::Ready`]: call [`ClientSession::send_mail`] or [`ClientSession::quit`];
//!    - [`ClientEvent::StartTls`]: flush, run the TLS handshake on the connection, call
//!      [`ClientSession::tls_established`] and feed decrypted bytes from then on;
//!    - [`ClientEvent::NeedBody`]: call [`ClientSession::send_body`] in the format given;
//!    - [`ClientEvent::TransactionDone`]: record each recipient's outcome; the session is
//!      idle again, so send the next message or quit;
//!    - [`ClientEvent::Failed`]: this connection cannot carry mail (the reply says why);
//!      the session has sent QUIT;
//!    - [`ClientEvent::Closed`]: the last event; close the socket.
//!
//! On a read/write error, end of stream or timeout, call [`ClientSession::abort`]: a
//! transaction in flight still ends in one `TransactionDone`.
//!
//! # Body formats
//!
//! The session never stuffs. For DATA the driver passes the body already dot-stuffed and
//! terminated by `.\r\n`: the delivery worker produces it with `crate::body::stuff` (the
//! DATA encoder in `body.rs`), or keeps it in that form on disk. For BDAT it passes the raw
//! body. [`ClientEvent::NeedBody`] says which one is wanted.
//!
//! # Example
//!
//! ```
//! use tern_proto::client::{BodyFormat, ClientEvent, ClientOptions, ClientSession};
//! use tern_proto::client::{Envelope, Recipient};
//! use tern_proto::{ForwardPath, MailParams, Mailbox, RcptParams, ReversePath};
//!
//! let mut s = ClientSession::new(ClientOptions::new("relay.example"));
//! s.input(b"220 mx.example ESMTP\r\n");
//! assert_eq!(s.output(), b"EHLO relay.example\r\n");
//! s.consume_output(s.output().len());
//! s.input(b"250-mx.example\r\n250 PIPELINING\r\n");
//! assert_eq!(s.poll_event(), Some(ClientEvent::Ready));
//!
//! let env = Envelope {
//!     from: ReversePath::Mailbox(Mailbox::from_parts("alice", "example.org")),
//!     params: MailParams::default(),
//!     rcpts: vec![Recipient {
//!         path: ForwardPath::Mailbox(Mailbox::from_parts("bob", "example.net")),
//!         params: RcptParams::default(),
//!     }],
//! };
//! s.send_mail(&env).unwrap();
//! assert_eq!(
//!     s.output(),
//!     b"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n"
//! );
//! s.consume_output(s.output().len());
//! s.input(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 Go ahead\r\n");
//! assert_eq!(s.poll_event(), Some(ClientEvent::NeedBody(BodyFormat::DotStuffed)));
//! s.send_body(b"Subject: hi\r\n\r\n..dot-stuffed line\r\n.\r\n").unwrap();
//! s.consume_output(s.output().len());
//! s.input(b"250 2.0.0 Ok: queued as 42\r\n");
//! let Some(ClientEvent::TransactionDone(result)) = s.poll_event() else { panic!() };
//! assert!(result.delivered(0));
//!
//! s.quit().unwrap();
//! assert_eq!(s.output(), b"QUIT\r\n");
//! s.input(b"221 2.0.0 Bye\r\n");
//! assert!(matches!(s.poll_event(), Some(ClientEvent::Closed(r)) if r.code == 221));
//! ```

mod capabilities;
pub mod local;
mod reply_parser;
mod session;
mod transaction;

pub use capabilities::Capabilities;
pub use reply_parser::{ReplyError, ReplyParser, MAX_LINE, MAX_REPLY};
pub use session::{Answered, ClientSession};
pub use transaction::{BodyFormat, TransactionResult};

pub use crate::envelope::{Envelope, Recipient};
use crate::reply::Reply;

/// Whether to use STARTTLS (RFC 3207).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Never send STARTTLS.
    Disabled,
    /// STARTTLS when offered; carry on in plaintext when it is not offered or is refused.
    #[default]
    Opportunistic,
    /// STARTTLS or nothing: without it the session fails with
    /// [`local::TLS_NOT_AVAILABLE`] or the server's refusal.
    Required,
}

/// How a [`ClientSession`] behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    /// The name sent with EHLO/HELO: our host name (or an address literal).
    pub hello_name: String,
    /// STARTTLS policy.
    pub tls: TlsPolicy,
    /// Use PIPELINING when offered (default true).
    pub pipelining: bool,
    /// Use BDAT when CHUNKING is offered (default true). BODY=BINARYMIME always uses BDAT.
    pub chunking: bool,
    /// Refuse a BODY=8BITMIME message locally (554 5.6.3) when the hop lacks 8BITMIME,
    /// instead of sending it unlabelled (default false: what most MTAs do in practice,
    /// since nearly every server takes 8-bit data).
    pub refuse_8bit_without_8bitmime: bool,
    /// Transactions in flight at once when the hop offers PIPELINING (default 1: one at a
    /// time). Above 1, the next MAIL may follow a transaction as soon as it is written out
    /// in full: with DATA right after its body (so one write carries a body's end and the
    /// next MAIL, RCPT and DATA), with BDAT right after `BDAT n LAST` and the body, which
    /// then go with MAIL and RCPT instead of after their replies. Replies are matched to
    /// transactions in order; every transaction still ends in one `TransactionDone`.
    pub window: usize,
}

impl ClientOptions {
    /// Defaults: opportunistic TLS, PIPELINING and CHUNKING when offered, 8-bit sent as is.
    pub fn new(hello_name: impl Into<String>) -> ClientOptions {
        ClientOptions {
            hello_name: hello_name.into(),
            tls: TlsPolicy::Opportunistic,
            pipelining: true,
            chunking: true,
            refuse_8bit_without_8bitmime: false,
            window: 1,
        }
    }
}

/// What the driver must act on, from [`ClientSession::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// Greeting, EHLO/HELO and STARTTLS (if any) are done; the session is idle. Emitted once
    /// per connection.
    Ready,
    /// The server accepted STARTTLS: flush the output, run the TLS handshake, then call
    /// [`ClientSession::tls_established`].
    StartTls,
    /// Send the body now with [`ClientSession::send_body`], in this format.
    NeedBody(BodyFormat),
    /// A transaction is over. The session is idle again unless a `Closed` follows.
    TransactionDone(TransactionResult),
    /// The connection cannot carry mail: greeting refused, EHLO and HELO refused, or TLS
    /// required and unavailable. The reply (server's or [`local`]) says why; QUIT is sent.
    Failed(Reply),
    /// The server broke the protocol; `Closed` follows.
    ProtocolError(ProtocolError),
    /// The session is over; close the connection. Carries the reply that ended it: the 221
    /// to QUIT, a 421 from the server, the reason given to [`ClientSession::abort`], or
    /// [`local::PROTOCOL_ERROR`].
    Closed(Reply),
}

/// How a server broke the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// Bytes that are not a reply.
    Malformed(ReplyError),
    /// A reply no command was waiting for.
    Unexpected,
    /// Bytes after the 220 to STARTTLS and before the handshake (a command-injection
    /// attempt, CVE-2011-0411 in the other direction).
    PlaintextAfterStartTls,
}

/// The driver called a method at the wrong time. These are bugs in the driver, not in the
/// peer; the session's state is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageError {
    /// `send_mail` while [`ClientSession::can_send_mail`] is false, or `quit` while not
    /// idle.
    NotIdle,
    /// An envelope without recipients.
    NoRecipients,
    /// `send_body` without a pending [`ClientEvent::NeedBody`].
    BodyNotExpected,
    /// A [`BodyFormat::DotStuffed`] body that does not end with `CRLF.CRLF`.
    UnterminatedBody,
    /// `tls_established` without a pending [`ClientEvent::StartTls`].
    NotExpected,
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            UsageError::NotIdle => "session is not idle",
            UsageError::NoRecipients => "envelope has no recipients",
            UsageError::BodyNotExpected => "no body was asked for",
            UsageError::UnterminatedBody => "dot-stuffed body does not end with CRLF.CRLF",
            UsageError::NotExpected => "no TLS handshake was asked for",
        })
    }
}

impl std::error::Error for UsageError {}
