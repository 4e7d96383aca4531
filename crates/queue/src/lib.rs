//! # tern-queue: the durable per-core queue shard
//!
//! Each core owns one [`Shard`]: a directory `DATA_DIR/queue/shard-N/` of segment files
//! `NNNNNNNNNNNNNNNNNNNN.seg`, an append-only log of CRC-checked records (see [`record`]
//! for the byte layout). A message is acknowledged only after its record is written and
//! fdatasync returned; group commit shares one fdatasync among all appends that arrive
//! while the previous one is in flight.
//!
//! The crate has a pure core and a thin I/O edge:
//!
//! - pure: [`record`] (encode/decode), [`scan`] (records in a buffer, torn-tail
//!   detection), [`id`] ([`MessageId`]), [`index`] (the ready index by time and domain),
//!   [`compact`] (which segments die, which messages move forward);
//! - I/O: [`io`] (the narrow [`io::SegmentIo`] trait, glommio and simulated), [`Shard`]
//!   (append, group commit, recovery, compaction, the directory lock) and [`inspect`] (the
//!   offline reader for `tern queue list/show`).
//!
//! ```no_run
//! use tern_queue::{Shard, ShardConfig};
//! # async fn demo(msg: tern_queue::NewMessage) -> Result<(), Box<dyn std::error::Error>> {
//! let (shard, recovered) = Shard::open("/var/lib/tern".as_ref(), 0, ShardConfig::default()).await?;
//! if let Some(cut) = &recovered.cut {
//!     eprintln!("cut {} bytes off {}", cut.bytes, cut.segment.display());
//! }
//! let id = shard.append_message(msg).await?; // durable: answer "250 ... queued as {id}"
//! # let _ = id; Ok(()) }
//! ```
#![deny(missing_docs)]

mod cache;
pub mod compact;
pub mod error;
pub mod id;
pub mod index;
mod inspect;
pub mod io;
pub mod record;
mod recover;
pub mod scan;
mod shard;
mod state;
#[cfg(test)]
mod testutil;

pub use error::{AppendError, OpenError, ReadError, RecoverError};
pub use id::MessageId;
pub use inspect::{inspect, read_body_offline};
pub use record::{ClientInfo, Envelope, MessageMeta, Outcome, Recipient};
pub use recover::{Skipped, TailCut};
pub use shard::{
    shard_dir, CompactReport, Detached, NewMessage, Recovered, Shard, ShardConfig, ShardStats,
    Staged,
};
pub use state::{Location, QueuedMessage};
