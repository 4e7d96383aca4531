//! The offline reader behind `tern queue list/show`.

use crate::error::{ReadError, RecoverError};
use crate::record::{self, Record};
use crate::recover::{self, Mode};
use crate::scan::Scanner;
use crate::state::QueuedMessage;
use std::fs;
use std::io;
use std::path::Path;

/// Reads every shard under `data_dir/queue` and returns the queued messages, in id order.
///
/// It takes no lock and changes nothing, so it may run next to a live server: a record
/// still being written at the end of a shard is simply not listed yet, and a segment
/// compacted away while reading is skipped. Blocking `std::fs` is fine here: this runs in
/// the CLI, never on a serving core.
pub fn inspect(data_dir: &Path) -> Result<Vec<QueuedMessage>, RecoverError> {
    let queue = data_dir.join("queue");
    let entries = match fs::read_dir(&queue) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(RecoverError::Io {
                path: queue,
                source,
            })
        }
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| RecoverError::Io {
            path: queue.clone(),
            source,
        })?;
        let is_shard = entry
            .file_name()
            .to_str()
            .and_then(|n| n.strip_prefix("shard-"))
            .is_some_and(|n| n.parse::<u16>().is_ok());
        if !is_shard || !entry.path().is_dir() {
            continue;
        }
        let replay = recover::replay(&entry.path(), Mode::ReadOnly)?;
        out.extend(replay.state.messages.into_values());
    }
    out.sort_unstable_by_key(|m| m.meta.id);
    Ok(out)
}

/// Reads the body of a message listed by [`inspect`], from its record on disk (std::fs:
/// for the CLI only). The CRC is checked; a record compacted away meanwhile is `NotFound`.
pub fn read_body_offline(data_dir: &Path, msg: &QueuedMessage) -> Result<Vec<u8>, ReadError> {
    use std::io::{Read, Seek, SeekFrom};
    let dir = crate::shard::shard_dir(data_dir, msg.meta.id.shard);
    let path = recover::segment_path(&dir, msg.location.segment);
    let mut file = match fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(ReadError::NotFound),
        Err(e) => return Err(ReadError::Io(e)),
    };
    let mut buf = vec![0; msg.location.len as usize];
    file.seek(SeekFrom::Start(msg.location.offset))
        .and_then(|_| file.read_exact(&mut buf))
        .map_err(ReadError::Io)?;
    let mut records = Scanner::new(&buf);
    let raw = records.next().ok_or(ReadError::Corrupt)?;
    match record::decode(raw.kind, raw.payload) {
        Ok(Record::Message(meta, body)) if meta.id == msg.meta.id => Ok(body.to_vec()),
        _ => Err(ReadError::Corrupt),
    }
}
