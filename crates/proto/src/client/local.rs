//! Replies the client makes up itself, for outcomes decided without (or instead of) the
//! server's word: the hop lacks an extension the message needs, the connection broke.
//!
//! They never go on the wire; the delivery driver records them like any server reply, and
//! their class (4 or 5) decides between deferring and bouncing.

use crate::reply::{Enhanced, Reply};

/// The message needs SMTPUTF8 and the hop does not offer it (RFC 6531 3.5): bounce.
pub const UTF8_NOT_SUPPORTED: Reply = Reply::fixed(
    553,
    Enhanced(5, 6, 7),
    "Next hop does not support SMTPUTF8, which this message requires",
);

/// BODY=BINARYMIME and the hop lacks CHUNKING or BINARYMIME (RFC 3030 3): bounce.
pub const BINARY_NOT_SUPPORTED: Reply = Reply::fixed(
    554,
    Enhanced(5, 6, 1),
    "Next hop does not support BINARYMIME over CHUNKING",
);

/// BODY=8BITMIME, the hop lacks 8BITMIME and the client is told not to send 8-bit data
/// anyway (RFC 6152 3; conversion is not done here): bounce.
pub const EIGHTBIT_NOT_SUPPORTED: Reply = Reply::fixed(
    554,
    Enhanced(5, 6, 3),
    "Next hop does not support 8BITMIME and conversion is not available",
);

/// TLS is required but the hop does not offer STARTTLS (or refused it): try again later,
/// perhaps with another host.
pub const TLS_NOT_AVAILABLE: Reply = Reply::fixed(
    451,
    Enhanced(4, 7, 4),
    "TLS is required but the next hop does not offer it",
);

/// The connection broke or timed out before a transaction's outcome was known.
pub const CONNECTION_LOST: Reply = Reply::fixed(421, Enhanced(4, 4, 2), "Connection lost");

/// The server sent a malformed or unexpected reply; the connection was given up.
pub const PROTOCOL_ERROR: Reply = Reply::fixed(
    451,
    Enhanced(4, 5, 0),
    "Malformed or unexpected reply from the next hop",
);

/// 552 5.3.4: the message is larger than the hop's advertised SIZE (RFC 1870 6): bounce.
pub fn size_exceeded(limit: u64) -> Reply {
    Reply::new(
        552,
        Some(Enhanced(5, 3, 4)),
        format!("Message size exceeds the next hop's limit of {limit} octets"),
    )
}
