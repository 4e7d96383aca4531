//! The shard's errors, one enum per operation (habit 6).
//!
//! The session must tell a full disk (`452 4.3.1`) from any other failure to queue
//! (`451 4.3.0`) without reading an error string, so [`AppendError`] names both (habit 8).
//! [`RecoverError::Corrupt`] is apart from [`RecoverError::Io`] because the operator's
//! answer differs: a disk error may pass, a corrupt segment needs a look.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a record was not made durable. The caller must not acknowledge the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendError {
    /// The queue is at its `max_disk_use`, or the file system said ENOSPC/EDQUOT:
    /// answer `452 4.3.1`, the client will retry later.
    DiskFull,
    /// Any other I/O failure while writing or syncing: answer `451 4.3.0`. After a failed
    /// fdatasync the shard refuses every later append too (see `shard.rs`).
    ///
    /// Plain and `Copy` (no `io::Error` inside): every waiter of a failed group commit gets
    /// its own copy of the error, and it sits on the per-message path (habit 7).
    Io,
}

impl fmt::Display for AppendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AppendError::DiskFull => "queue disk full",
            AppendError::Io => "queue I/O error",
        })
    }
}

impl std::error::Error for AppendError {}

impl AppendError {
    /// Classifies an OS error: out of space or quota is [`AppendError::DiskFull`].
    pub fn from_io(e: &io::Error) -> AppendError {
        match e.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => AppendError::DiskFull,
            _ => AppendError::Io,
        }
    }
}

/// Why recovery could not rebuild the shard.
#[derive(Debug)]
pub enum RecoverError {
    /// A segment other than the last one has a bad record: not a torn write (those can only
    /// be at the end of the log) but damage. The shard is left as it is.
    Corrupt {
        /// The segment file.
        segment: PathBuf,
        /// Where the bad record starts.
        offset: u64,
    },
    /// Reading, truncating or listing failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
}

impl fmt::Display for RecoverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecoverError::Corrupt { segment, offset } => {
                write!(
                    f,
                    "corrupt record in {} at offset {offset}",
                    segment.display()
                )
            }
            RecoverError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for RecoverError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RecoverError::Corrupt { .. } => None,
            RecoverError::Io { source, .. } => Some(source),
        }
    }
}

/// Why a shard did not open.
#[derive(Debug)]
pub enum OpenError {
    /// Another process (or another shard object) holds the shard directory's lock.
    Locked {
        /// The shard directory.
        dir: PathBuf,
    },
    /// Creating or locking the directory, or creating the new head segment, failed.
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// Recovery failed.
    Recover(RecoverError),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Locked { dir } => write!(
                f,
                "queue shard {} is locked by another process (is another tern running on this data dir?)",
                dir.display()
            ),
            OpenError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            OpenError::Recover(e) => write!(f, "recovery: {e}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Locked { .. } => None,
            OpenError::Io { source, .. } => Some(source),
            OpenError::Recover(e) => Some(e),
        }
    }
}

impl From<RecoverError> for OpenError {
    fn from(e: RecoverError) -> OpenError {
        OpenError::Recover(e)
    }
}

/// Why a message body could not be read back.
#[derive(Debug)]
pub enum ReadError {
    /// The shard does not hold that message (done, or never existed).
    NotFound,
    /// The record on disk no longer matches (CRC or decoding): damage under a live shard.
    Corrupt,
    /// Reading failed.
    Io(io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotFound => f.write_str("no such message in the queue"),
            ReadError::Corrupt => f.write_str("the message's record is damaged"),
            ReadError::Io(e) => write!(f, "reading the queue: {e}"),
        }
    }
}

impl std::error::Error for ReadError {}
