//! The record format of the segment log, pure encode and decode.
//!
//! Every record is framed the same way, all integers little-endian:
//!
//! ```text
//! offset 0        4          8      9
//!        +--------+----------+------+-----------------+
//!        | len    | crc32c   | kind | payload         |
//!        | u32 LE | u32 LE   | u8   | len bytes       |
//!        +--------+----------+------+-----------------+
//!        crc32c covers kind + payload; len counts the payload only.
//! ```
//!
//! Kinds and their payloads (`str` = `u32 len | UTF-8 bytes`, `opt<T>` = `u8 0` or
//! `u8 1 | T`, `id` = [`MessageId`] as `shard u16 | epoch u64 | seq u64`):
//!
//! - `1` message: `id | arrival u64 | client | envelope | body_len u32 | body`. The body
//!   comes last so recovery can decode the envelope and skip the body without copying it.
//!   - client: `helo str | peer_ip str | auth_user opt<str> | tls u8`
//!   - envelope: `reverse_path | mail_params | rcpt_count u32 | (forward_path | rcpt_params)*`
//!   - path: `u8 0` (null `<>` / `<Postmaster>`) or `u8 1 | local str | domain str`
//!   - mail_params: `size opt<u64> | body u8 (0 none, 1 7BIT, 2 8BITMIME, 3 BINARYMIME) |
//!     smtputf8 u8 | ret u8 (0 none, 1 FULL, 2 HDRS) | envid opt<str> | auth opt<str>`
//!   - rcpt_params: `notify u8 (0 absent, else 0x80 | NEVER 1 | SUCCESS 2 | FAILURE 4 |
//!     DELAY 8) | orcpt opt<addr_type str | addr str>`
//! - `2` recipient outcome: `id | rcpt u32 | tag u8` then for tag `0` (delivered) nothing,
//!   `1` (deferred) `next_attempt u64 | attempts u32 | reply str`, `2` (failed) `reply str`.
//! - `3` message done: `id`.

use crate::id::{self, MessageId};
use tern_proto::params::Orcpt;
use tern_proto::{
    BodyType, ForwardPath, MailParams, Mailbox, Notify, RcptParams, Ret, ReversePath,
};

/// Bytes before the payload: `len u32 | crc32c u32 | kind u8`.
pub const HEADER_LEN: usize = 9;

/// The largest payload a record may carry. A length above it is corruption, not a record:
/// this keeps a flipped bit in `len` from making recovery wait for gigabytes of tail.
pub const MAX_PAYLOAD: u32 = 1 << 30;

/// Kind byte of a message record.
pub const KIND_MESSAGE: u8 = 1;
/// Kind byte of a recipient outcome record.
pub const KIND_OUTCOME: u8 = 2;
/// Kind byte of a message-done record.
pub const KIND_DONE: u8 = 3;

/// What tern knows about the client that handed the message over (for `Received:` and
/// for the operator).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientInfo {
    /// The HELO/EHLO name the client gave.
    pub helo: String,
    /// The client's IP address as text (after PROXY protocol, the real client).
    pub peer_ip: String,
    /// The authenticated user, if the session authenticated.
    pub auth_user: Option<String>,
    /// Whether the session ran over TLS.
    pub tls: bool,
}

pub use tern_proto::{Envelope, Recipient};

/// Everything about a message except its id and body: what recovery keeps in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    /// The message's id.
    pub id: MessageId,
    /// When tern accepted it, unix seconds.
    pub arrival: u64,
    /// The submitting client.
    pub client: ClientInfo,
    /// The envelope.
    pub envelope: Envelope,
}

/// The result of one delivery attempt to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted by the next hop: final.
    Delivered,
    /// Temporarily failed: try again at `next_attempt` (unix seconds).
    Deferred {
        /// When to try again, unix seconds.
        next_attempt: u64,
        /// Attempts made so far, this one included.
        attempts: u32,
        /// The last reply (or local reason), for the operator and the delay DSN.
        reply: String,
    },
    /// Permanently failed: final; a bounce is due.
    Failed {
        /// The reply (or local reason), for the DSN.
        reply: String,
    },
}

/// A record decoded from a payload; a message's body is borrowed from the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record<'a> {
    /// A message and its body.
    Message(MessageMeta, &'a [u8]),
    /// The outcome for recipient number `rcpt` of message `id`.
    Outcome {
        /// The message.
        id: MessageId,
        /// Index into the message's recipients.
        rcpt: u32,
        /// What happened.
        outcome: Outcome,
    },
    /// The message needs no more work (every recipient final, bounces queued).
    Done(MessageId),
}

/// Why a payload did not decode. Plain and `Copy`: it is matched, not printed, on the
/// recovery path (habit 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The payload ended inside a field.
    Truncated,
    /// A tag byte had a value this version does not know.
    BadTag,
    /// A string was not UTF-8.
    BadUtf8,
    /// The payload had bytes after its last field.
    Trailing,
    /// The kind byte is not one this version knows.
    UnknownKind(u8),
}

/// Appends one framed record: reserves the header, lets `payload` write, then fills in
/// `len` and the CRC. Returns the framed length.
fn frame(out: &mut Vec<u8>, kind: u8, payload: impl FnOnce(&mut Vec<u8>)) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; 8]);
    out.push(kind);
    payload(out);
    let len = (out.len() - start - HEADER_LEN) as u32;
    let crc = crc32c::crc32c(&out[start + 8..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    out.len() - start
}

/// Appends a framed message record. Returns its framed length.
pub fn encode_message(out: &mut Vec<u8>, meta: &MessageMeta, body: &[u8]) -> usize {
    encode_message_parts(out, meta, &[], body)
}

/// [`encode_message`] for a body given in two parts, `head` then `body`, stored as one:
/// the server prepends its Received header this way without copying the message first.
pub fn encode_message_parts(
    out: &mut Vec<u8>,
    meta: &MessageMeta,
    head: &[u8],
    body: &[u8],
) -> usize {
    frame(out, KIND_MESSAGE, |o| {
        meta.id.encode(o);
        put_u64(o, meta.arrival);
        put_str(o, &meta.client.helo);
        put_str(o, &meta.client.peer_ip);
        put_opt_str(o, meta.client.auth_user.as_deref());
        o.push(meta.client.tls as u8);
        let env = &meta.envelope;
        put_mailbox(o, env.from.mailbox());
        put_mail_params(o, &env.params);
        put_u32(o, env.rcpts.len() as u32);
        for r in &env.rcpts {
            put_mailbox(o, r.path.mailbox());
            put_rcpt_params(o, &r.params);
        }
        put_u32(o, (head.len() + body.len()) as u32);
        o.extend_from_slice(head);
        o.extend_from_slice(body);
    })
}

/// Appends a framed recipient-outcome record. Returns its framed length.
pub fn encode_outcome(out: &mut Vec<u8>, id: MessageId, rcpt: u32, outcome: &Outcome) -> usize {
    frame(out, KIND_OUTCOME, |o| {
        id.encode(o);
        put_u32(o, rcpt);
        match outcome {
            Outcome::Delivered => o.push(0),
            Outcome::Deferred {
                next_attempt,
                attempts,
                reply,
            } => {
                o.push(1);
                put_u64(o, *next_attempt);
                put_u32(o, *attempts);
                put_str(o, reply);
            }
            Outcome::Failed { reply } => {
                o.push(2);
                put_str(o, reply);
            }
        }
    })
}

/// Appends a framed message-done record. Returns its framed length.
pub fn encode_done(out: &mut Vec<u8>, id: MessageId) -> usize {
    frame(out, KIND_DONE, |o| id.encode(o))
}

/// Decodes the payload of a record of `kind` (the frame already checked by
/// [`crate::scan`]).
pub fn decode(kind: u8, payload: &[u8]) -> Result<Record<'_>, DecodeError> {
    let mut r = Reader { b: payload };
    let rec = match kind {
        KIND_MESSAGE => {
            let id = r.id()?;
            let arrival = r.u64()?;
            let client = ClientInfo {
                helo: r.string()?,
                peer_ip: r.string()?,
                auth_user: r.opt_string()?,
                tls: r.bool()?,
            };
            let from = match r.mailbox()? {
                None => ReversePath::Null,
                Some(m) => ReversePath::Mailbox(m),
            };
            let params = r.mail_params()?;
            let n = r.u32()?;
            // Every recipient takes at least 3 bytes: a count beyond that is corruption,
            // and must not be trusted as an allocation size.
            if n as usize > r.b.len() / 3 {
                return Err(DecodeError::Truncated);
            }
            let mut recipients = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let path = match r.mailbox()? {
                    None => ForwardPath::Postmaster,
                    Some(m) => ForwardPath::Mailbox(m),
                };
                recipients.push(Recipient {
                    path,
                    params: r.rcpt_params()?,
                });
            }
            let body_len = r.u32()? as usize;
            let body = r.take(body_len)?;
            let meta = MessageMeta {
                id,
                arrival,
                client,
                envelope: Envelope {
                    from,
                    params,
                    rcpts: recipients,
                },
            };
            Record::Message(meta, body)
        }
        KIND_OUTCOME => {
            let id = r.id()?;
            let rcpt = r.u32()?;
            let outcome = match r.u8()? {
                0 => Outcome::Delivered,
                1 => Outcome::Deferred {
                    next_attempt: r.u64()?,
                    attempts: r.u32()?,
                    reply: r.string()?,
                },
                2 => Outcome::Failed { reply: r.string()? },
                _ => return Err(DecodeError::BadTag),
            };
            Record::Outcome { id, rcpt, outcome }
        }
        KIND_DONE => Record::Done(r.id()?),
        k => return Err(DecodeError::UnknownKind(k)),
    };
    if !r.b.is_empty() {
        return Err(DecodeError::Trailing);
    }
    Ok(rec)
}

/// Reads only the id of a record of any kind: every payload starts with it.
pub fn decode_id(payload: &[u8]) -> Option<MessageId> {
    MessageId::decode(payload)
}

fn put_u32(o: &mut Vec<u8>, v: u32) {
    o.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(o: &mut Vec<u8>, v: u64) {
    o.extend_from_slice(&v.to_le_bytes());
}

fn put_str(o: &mut Vec<u8>, s: &str) {
    put_u32(o, s.len() as u32);
    o.extend_from_slice(s.as_bytes());
}

fn put_opt_str(o: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => o.push(0),
        Some(s) => {
            o.push(1);
            put_str(o, s);
        }
    }
}

fn put_mailbox(o: &mut Vec<u8>, m: Option<&Mailbox>) {
    match m {
        None => o.push(0),
        Some(m) => {
            o.push(1);
            put_str(o, m.local());
            put_str(o, m.domain());
        }
    }
}

fn put_mail_params(o: &mut Vec<u8>, p: &MailParams) {
    match p.size {
        None => o.push(0),
        Some(n) => {
            o.push(1);
            put_u64(o, n);
        }
    }
    o.push(match p.body {
        None => 0,
        Some(BodyType::SevenBit) => 1,
        Some(BodyType::EightBitMime) => 2,
        Some(BodyType::BinaryMime) => 3,
    });
    o.push(p.smtputf8 as u8);
    o.push(match p.ret {
        None => 0,
        Some(Ret::Full) => 1,
        Some(Ret::Hdrs) => 2,
    });
    put_opt_str(o, p.envid.as_deref());
    put_opt_str(o, p.auth.as_deref());
}

fn put_rcpt_params(o: &mut Vec<u8>, p: &RcptParams) {
    o.push(match p.notify {
        None => 0,
        Some(n) => {
            0x80 | n.never as u8
                | (n.success as u8) << 1
                | (n.failure as u8) << 2
                | (n.delay as u8) << 3
        }
    });
    match &p.orcpt {
        None => o.push(0),
        Some(orcpt) => {
            o.push(1);
            put_str(o, &orcpt.addr_type);
            put_str(o, &orcpt.addr);
        }
    }
}

/// A cursor over a payload; every read checks the remaining length.
struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.b.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::BadTag),
        }
    }

    fn id(&mut self) -> Result<MessageId, DecodeError> {
        MessageId::decode(self.take(id::ENCODED_LEN)?).ok_or(DecodeError::Truncated)
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).map_err(|_| DecodeError::BadUtf8)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        self.str().map(str::to_owned)
    }

    fn opt_string(&mut self) -> Result<Option<String>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.string().map(Some),
            _ => Err(DecodeError::BadTag),
        }
    }

    fn mailbox(&mut self) -> Result<Option<Mailbox>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => {
                let local = self.str()?;
                let domain = self.str()?;
                Ok(Some(Mailbox::from_parts(local, domain)))
            }
            _ => Err(DecodeError::BadTag),
        }
    }

    fn mail_params(&mut self) -> Result<MailParams, DecodeError> {
        let size = match self.u8()? {
            0 => None,
            1 => Some(self.u64()?),
            _ => return Err(DecodeError::BadTag),
        };
        let body = match self.u8()? {
            0 => None,
            1 => Some(BodyType::SevenBit),
            2 => Some(BodyType::EightBitMime),
            3 => Some(BodyType::BinaryMime),
            _ => return Err(DecodeError::BadTag),
        };
        let smtputf8 = self.bool()?;
        let ret = match self.u8()? {
            0 => None,
            1 => Some(Ret::Full),
            2 => Some(Ret::Hdrs),
            _ => return Err(DecodeError::BadTag),
        };
        Ok(MailParams {
            size,
            body,
            smtputf8,
            ret,
            envid: self.opt_string()?,
            auth: self.opt_string()?,
        })
    }

    fn rcpt_params(&mut self) -> Result<RcptParams, DecodeError> {
        let notify = match self.u8()? {
            0 => None,
            b if b & 0xf0 == 0x80 => Some(Notify {
                never: b & 1 != 0,
                success: b & 2 != 0,
                failure: b & 4 != 0,
                delay: b & 8 != 0,
            }),
            _ => return Err(DecodeError::BadTag),
        };
        let orcpt = match self.u8()? {
            0 => None,
            1 => Some(Orcpt {
                addr_type: self.string()?,
                addr: self.string()?,
            }),
            _ => return Err(DecodeError::BadTag),
        };
        Ok(RcptParams { notify, orcpt })
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
