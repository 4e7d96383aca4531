//! Message ids: unique across cores, restarts and compaction.
//!
//! A [`MessageId`] is `shard . epoch . seq`:
//!
//! - `shard` is the core's shard number, so two cores never hand out the same id;
//! - `epoch` is the sequence number of the segment file the shard created when it was
//!   opened (every open starts a fresh segment, numbered one above the highest segment on
//!   disk). The highest-numbered segment is the head the shard writes to and compaction never
//!   deletes the head, so the file name itself is the persisted high-water mark: the next
//!   open's epoch is always larger than every epoch before it, even when every message
//!   and every older segment has been compacted away. An empty shard directory (first
//!   start, or an operator who wiped it) starts at the current time in microseconds, so
//!   ids stay distinct from the ones in old logs and bounces too;
//! - `seq` counts messages appended during this epoch, from 0.
//!
//! No id depends on where its record lands, so a message keeps its id when compaction
//! copies it forward into a newer segment.
//!
//! The text form is lowercase hex, `{shard}-{epoch}-{seq}` (e.g. `3-18f2a3b4c5d6e-1a`):
//! short in a `250 2.0.0 queued as ...` reply, sortable by eye, and unambiguous to parse.

use std::fmt;
use std::str::FromStr;

/// The id of one queued message. See the module docs for why it is unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId {
    /// The shard (core) that accepted the message.
    pub shard: u16,
    /// The segment sequence number the shard started with when it was opened.
    pub epoch: u64,
    /// The message's position among the messages appended in this epoch.
    pub seq: u64,
}

/// The encoded size of a [`MessageId`] in a record: `shard u16 | epoch u64 | seq u64`.
pub const ENCODED_LEN: usize = 18;

impl MessageId {
    /// Appends the little-endian encoding (see [`ENCODED_LEN`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.shard.to_le_bytes());
        out.extend_from_slice(&self.epoch.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
    }

    /// Decodes the first [`ENCODED_LEN`] bytes of `b`, or `None` when `b` is shorter.
    pub fn decode(b: &[u8]) -> Option<MessageId> {
        let shard = u16::from_le_bytes(b.get(0..2)?.try_into().ok()?);
        let epoch = u64::from_le_bytes(b.get(2..10)?.try_into().ok()?);
        let seq = u64::from_le_bytes(b.get(10..18)?.try_into().ok()?);
        Some(MessageId { shard, epoch, seq })
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:x}-{:x}-{:x}", self.shard, self.epoch, self.seq)
    }
}

/// The text was not `{shard}-{epoch}-{seq}` in lowercase or uppercase hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseIdError;

impl fmt::Display for ParseIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message id is three hex numbers: shard-epoch-seq")
    }
}

impl std::error::Error for ParseIdError {}

impl FromStr for MessageId {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<MessageId, ParseIdError> {
        // from_str_radix accepts a leading '+', which would give one id two spellings.
        fn hex<T>(
            part: &str,
            parse: fn(&str, u32) -> Result<T, std::num::ParseIntError>,
        ) -> Result<T, ParseIdError> {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ParseIdError);
            }
            parse(part, 16).map_err(|_| ParseIdError)
        }
        let mut parts = s.split('-');
        let (Some(shard), Some(epoch), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ParseIdError);
        };
        Ok(MessageId {
            shard: hex(shard, u16::from_str_radix)?,
            epoch: hex(epoch, u64::from_str_radix)?,
            seq: hex(seq, u64::from_str_radix)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_form_table() {
        let id = MessageId {
            shard: 3,
            epoch: 0x18f2a3b4c5d6e,
            seq: 0x1a,
        };
        assert_eq!(id.to_string(), "3-18f2a3b4c5d6e-1a");
        let cases: &[(&str, Option<MessageId>)] = &[
            ("3-18f2a3b4c5d6e-1a", Some(id)),
            ("3-18F2A3B4C5D6E-1A", Some(id)),
            (
                "0-0-0",
                Some(MessageId {
                    shard: 0,
                    epoch: 0,
                    seq: 0,
                }),
            ),
            ("", None),
            ("3-1", None),
            ("3-1-2-4", None),
            ("3--2", None),
            ("+3-1-2", None),
            ("10000-1-2", None), // shard over u16
            ("g-1-2", None),
            ("1-ffffffffffffffff1-2", None),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<MessageId>().ok(), *want, "{text:?}");
        }
    }

    #[test]
    fn encoding_is_little_endian() {
        let id = MessageId {
            shard: 0x0102,
            epoch: 0x0304,
            seq: 0x05,
        };
        let mut out = Vec::new();
        id.encode(&mut out);
        assert_eq!(out, [2, 1, 4, 3, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(MessageId::decode(&out), Some(id));
        assert_eq!(MessageId::decode(&out[..17]), None);
    }

    proptest! {
        #[test]
        fn display_parse_roundtrip(shard: u16, epoch: u64, seq: u64) {
            let id = MessageId { shard, epoch, seq };
            prop_assert_eq!(id.to_string().parse::<MessageId>(), Ok(id));
        }
    }
}
