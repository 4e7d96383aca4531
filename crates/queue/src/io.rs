//! The narrow I/O edge of a running shard (redb `StorageBackend` style).
//!
//! Only what the append path, compaction and body reads need: create a segment, write at
//! an offset, fdatasync, truncate back after a failed write, remove a segment, read a
//! range. Recovery and [`crate::inspect`] read with `std::fs` instead; they run before the
//! core serves connections, or offline.
//!
//! Two implementations: [`GlommioIo`] (io_uring through glommio, the real one) and
//! [`SimIo`] (memory, which keeps what was written apart from what was synced, so a
//! test can build the exact image a crash or power cut would leave, and can inject
//! failures).
//!
//! The traits use `async fn` without `Send` bounds on purpose: a shard lives on one
//! core and its futures never leave that thread.
#![allow(async_fn_in_trait)]

mod glommio;
mod sim;

pub use self::glommio::{GlommioFile, GlommioIo};
pub use self::sim::{SimFile, SimIo};

use std::io;
use std::path::Path;

/// Creates, removes and reads segment files.
pub trait SegmentIo {
    /// An open segment being appended to.
    type File: SegmentFile;

    /// Creates a new, empty segment at `path` (failing if it exists) and makes its
    /// directory entry durable, so a synced record in it survives a crash.
    async fn create(&self, path: &Path) -> io::Result<Self::File>;

    /// Removes the segment at `path` and makes the removal durable before returning,
    /// so removals become durable in the order they were made.
    async fn remove(&self, path: &Path) -> io::Result<()>;

    /// Reads `len` bytes at `pos` of the file at `path`; fewer only at its end.
    async fn read_at(&self, path: &Path, pos: u64, len: usize) -> io::Result<Vec<u8>>;
}

/// A segment open for appending.
pub trait SegmentFile {
    /// Writes all of `buf` at `pos` (a short write is an error).
    async fn write_at(&self, buf: Vec<u8>, pos: u64) -> io::Result<()>;

    /// fdatasync: everything written so far is durable when this returns `Ok`.
    async fn sync(&self) -> io::Result<()>;

    /// Cuts the file to `len` bytes (to drop the remains of a failed write).
    async fn truncate(&self, len: u64) -> io::Result<()>;
}
