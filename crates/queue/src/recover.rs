//! Replaying a shard directory with `std::fs`: for [`crate::Shard::open`] (repairing) and
//! for [`crate::inspect`] (read-only).
//!
//! Blocking file reads are acceptable here, unlike on a serving core (habit 11): recovery
//! runs before the core accepts connections, and `inspect` runs in the offline CLI.

use crate::error::RecoverError;
use crate::record;
use crate::scan::{resync, Scanner, Tail};
use crate::state::{Location, State};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The file name of segment `seq`: 20 digits, so names sort like numbers.
pub(crate) fn segment_name(seq: u64) -> String {
    format!("{seq:020}.seg")
}

/// The path of segment `seq` in `dir`.
pub(crate) fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(segment_name(seq))
}

/// The segments in `dir`, oldest first. Other files (the lock, editor droppings) are
/// ignored.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<u64>, RecoverError> {
    let io_err = |source| RecoverError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut seqs = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err)? {
        let name = entry.map_err(io_err)?.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".seg")) else {
            continue;
        };
        if stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(seq) = stem.parse::<u64>() {
                seqs.push(seq);
            }
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// A torn or corrupt tail that recovery cut off the last segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TailCut {
    /// The segment file.
    pub segment: PathBuf,
    /// Where the good records end (the file's new length).
    pub offset: u64,
    /// How many bytes were cut.
    pub bytes: u64,
    /// True when the tail was whole by length but failed its CRC (rather than ending
    /// early); both are what a crash mid-write leaves.
    pub corrupt: bool,
}

/// A damaged stretch in the middle of a segment that recovery stepped over, keeping the
/// good records after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The segment file.
    pub segment: PathBuf,
    /// Where the damage starts.
    pub from: u64,
    /// Where the next good record starts.
    pub to: u64,
}

/// What a replay found.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    pub(crate) state: State,
    /// Segment sequence number to size in bytes (after any cut).
    pub(crate) segments: BTreeMap<u64, u64>,
    pub(crate) records: u64,
    pub(crate) cut: Option<TailCut>,
    pub(crate) skipped: Vec<Skipped>,
}

/// Whether a replay may change the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Truncate a bad tail of the last segment (the shard lock is held).
    Repair,
    /// Change nothing; a bad tail of the last segment may be a write in flight.
    ReadOnly,
}

/// Replays every segment of `dir` in order.
pub(crate) fn replay(dir: &Path, mode: Mode) -> Result<Replay, RecoverError> {
    let seqs = list_segments(dir)?;
    let mut out = Replay::default();
    for (i, &seq) in seqs.iter().enumerate() {
        let path = segment_path(dir, seq);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            // A running server's compaction may delete a segment under a read-only reader.
            Err(e) if e.kind() == io::ErrorKind::NotFound && mode == Mode::ReadOnly => continue,
            Err(source) => return Err(RecoverError::Io { path, source }),
        };
        let last = i + 1 == seqs.len();
        // Scan from `start`; after a damaged record with good ones behind it, step over it
        // and go on (a torn write can only be at the end, so records after damage were
        // synced and may have been acknowledged: cutting them would lose mail).
        let mut start = 0;
        let (tail, good) = loop {
            let mut scan = Scanner::new(&bytes[start..]);
            for raw in scan.by_ref() {
                let offset = (start + raw.offset) as u64;
                let rec =
                    record::decode(raw.kind, raw.payload).map_err(|_| RecoverError::Corrupt {
                        segment: path.clone(),
                        offset,
                    })?;
                let loc = Location {
                    segment: seq,
                    offset,
                    len: raw.framed_len() as u32,
                };
                out.state.apply(rec, loc);
                out.records += 1;
            }
            let tail = scan.tail();
            let good = start + tail.good_len(bytes.len() - start);
            match tail {
                Tail::Clean => break (tail, good),
                Tail::Torn { .. } | Tail::Corrupt { .. } => match resync(&bytes, good) {
                    Some(next) => {
                        out.skipped.push(Skipped {
                            segment: path.clone(),
                            from: good as u64,
                            to: next as u64,
                        });
                        start = next;
                    }
                    None => break (tail, good),
                },
            }
        };
        let good = good as u64;
        match tail {
            Tail::Clean => {}
            Tail::Torn { .. } | Tail::Corrupt { .. } if last => {
                if mode == Mode::Repair {
                    truncate(&path, good)?;
                    out.cut = Some(TailCut {
                        segment: path.clone(),
                        offset: good,
                        bytes: bytes.len() as u64 - good,
                        corrupt: matches!(tail, Tail::Corrupt { .. }),
                    });
                }
            }
            Tail::Torn { .. } | Tail::Corrupt { .. } => {
                return Err(RecoverError::Corrupt {
                    segment: path,
                    offset: good,
                })
            }
        }
        out.segments.insert(seq, good);
    }
    Ok(out)
}

/// Cuts `path` to `len` and makes the cut durable before anything is appended after it.
fn truncate(path: &Path, len: u64) -> Result<(), RecoverError> {
    let io_err = |source| RecoverError::Io {
        path: path.to_path_buf(),
        source,
    };
    let f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io_err)?;
    f.set_len(len).map_err(io_err)?;
    f.sync_all().map_err(io_err)
}
