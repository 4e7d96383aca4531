//! The offline reader behind `tern queue list/show`.

use crate::error::RecoverError;
use crate::recover::{self, Mode};
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
