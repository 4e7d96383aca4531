//! [`SegmentIo`] over glommio's io_uring file I/O.
//!
//! `BufferedFile` (page cache, `write_at` + `fdatasync`) rather than `DmaFile`: records are
//! not block-aligned and a group-commit batch is a few KiB to a few hundred KiB, so
//! O_DIRECT would need a bounce buffer and padding per batch for no gain. What costs is the
//! fdatasync, and group commit is the answer to that (see the `queue_append` bench).

use super::{SegmentFile, SegmentIo};
use ::glommio::io::{BufferedFile, Directory, OpenOptions};
use std::io;
use std::path::Path;

/// The real I/O of a shard, on the current glommio executor.
#[derive(Debug, Clone, Copy, Default)]
pub struct GlommioIo;

/// An open segment (a glommio `BufferedFile`).
#[derive(Debug)]
pub struct GlommioFile(BufferedFile);

async fn sync_parent(path: &Path) -> io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    let dir = Directory::open(parent).await?;
    dir.sync().await?;
    dir.close().await?;
    Ok(())
}

impl SegmentIo for GlommioIo {
    type File = GlommioFile;

    async fn create(&self, path: &Path) -> io::Result<GlommioFile> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .buffered_open(path)
            .await?;
        sync_parent(path).await?;
        Ok(GlommioFile(file))
    }

    async fn remove(&self, path: &Path) -> io::Result<()> {
        // Unlink through io_uring: no blocking std::fs call on the core (habit 11).
        let file = BufferedFile::open(path).await?;
        file.remove().await?;
        file.close().await?;
        sync_parent(path).await
    }

    async fn read_at(&self, path: &Path, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        let file = BufferedFile::open(path).await?;
        let got = file.read_at(pos, len).await;
        let closed = file.close().await;
        let buf = got?;
        closed?;
        Ok(buf.to_vec())
    }
}

impl SegmentFile for GlommioFile {
    async fn write_at(&self, buf: Vec<u8>, pos: u64) -> io::Result<()> {
        let len = buf.len();
        let n = self.0.write_at(buf, pos).await?;
        if n < len {
            // write(2) comes back short when the file system fills up in the middle; the
            // caller truncates the remains and reports a full disk.
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                "short segment write",
            ));
        }
        Ok(())
    }

    async fn sync(&self) -> io::Result<()> {
        Ok(self.0.fdatasync().await?)
    }

    async fn truncate(&self, len: u64) -> io::Result<()> {
        Ok(self.0.truncate(len).await?)
    }
}
