//! [`SegmentIo`] in memory, for crash tests (redb `CrashState { live, durable }` style).
//!
//! Every file has the bytes written so far (`live`) and the bytes a power cut would leave
//! (`durable`, updated only by a successful sync). A test appends through a shard on a
//! `SimIo`, then writes [`SimIo::durable_image`] (or the durable bytes plus any prefix of
//! the unsynced ones) to a directory and recovers from it.

use super::{SegmentFile, SegmentIo};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

#[derive(Debug, Default)]
struct Disk {
    files: BTreeMap<PathBuf, Contents>,
    syncs: u64,
    fail_writes: Option<io::ErrorKind>,
    fail_syncs: bool,
    sync_delay: Duration,
}

#[derive(Debug, Default, Clone)]
struct Contents {
    live: Vec<u8>,
    durable: Vec<u8>,
}

/// A simulated disk. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct SimIo {
    disk: Rc<RefCell<Disk>>,
}

/// A file on a [`SimIo`] disk.
#[derive(Debug)]
pub struct SimFile {
    disk: Rc<RefCell<Disk>>,
    path: PathBuf,
}

impl SimIo {
    /// An empty disk whose syncs take no time.
    pub fn new() -> SimIo {
        SimIo::default()
    }

    /// Makes every sync sleep this long (on the glommio timer) so concurrent appends can
    /// pile up behind it, as they do behind a real fdatasync.
    pub fn set_sync_delay(&self, d: Duration) {
        self.disk.borrow_mut().sync_delay = d;
    }

    /// From now on every write fails with `kind` (`None`: writes work again).
    pub fn fail_writes(&self, kind: Option<io::ErrorKind>) {
        self.disk.borrow_mut().fail_writes = kind;
    }

    /// From now on every sync fails (or works again).
    pub fn fail_syncs(&self, fail: bool) {
        self.disk.borrow_mut().fail_syncs = fail;
    }

    /// How many syncs succeeded.
    pub fn syncs(&self) -> u64 {
        self.disk.borrow().syncs
    }

    /// What a power cut now would leave: each file's synced bytes.
    pub fn durable_image(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let d = self.disk.borrow();
        d.files
            .iter()
            .map(|(p, c)| (p.clone(), c.durable.clone()))
            .collect()
    }

    /// What the page cache holds now: each file's written bytes, synced or not.
    pub fn live_image(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let d = self.disk.borrow();
        d.files
            .iter()
            .map(|(p, c)| (p.clone(), c.live.clone()))
            .collect()
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, path.display().to_string())
}

impl SegmentIo for SimIo {
    type File = SimFile;

    async fn create(&self, path: &Path) -> io::Result<SimFile> {
        let mut d = self.disk.borrow_mut();
        if d.files.contains_key(path) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                path.display().to_string(),
            ));
        }
        d.files.insert(path.to_path_buf(), Contents::default());
        Ok(SimFile {
            disk: self.disk.clone(),
            path: path.to_path_buf(),
        })
    }

    async fn remove(&self, path: &Path) -> io::Result<()> {
        match self.disk.borrow_mut().files.remove(path) {
            Some(_) => Ok(()),
            None => Err(not_found(path)),
        }
    }

    async fn read_at(&self, path: &Path, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        let d = self.disk.borrow();
        let c = d.files.get(path).ok_or_else(|| not_found(path))?;
        let start = (pos as usize).min(c.live.len());
        let end = start.saturating_add(len).min(c.live.len());
        Ok(c.live[start..end].to_vec())
    }
}

impl SegmentFile for SimFile {
    async fn write_at(&self, buf: Vec<u8>, pos: u64) -> io::Result<()> {
        let mut d = self.disk.borrow_mut();
        if let Some(kind) = d.fail_writes {
            // A failing write still leaves part of its bytes behind, as a short write would.
            if let Some(c) = d.files.get_mut(&self.path) {
                let half = &buf[..buf.len() / 2];
                write_into(&mut c.live, half, pos as usize);
            }
            return Err(io::Error::new(kind, "simulated write failure"));
        }
        let c = d
            .files
            .get_mut(&self.path)
            .ok_or_else(|| not_found(&self.path))?;
        write_into(&mut c.live, &buf, pos as usize);
        Ok(())
    }

    async fn sync(&self) -> io::Result<()> {
        let delay = self.disk.borrow().sync_delay;
        if !delay.is_zero() {
            ::glommio::timer::sleep(delay).await;
        }
        let mut d = self.disk.borrow_mut();
        if d.fail_syncs {
            return Err(io::Error::other("simulated fdatasync failure"));
        }
        d.syncs += 1;
        let c = d
            .files
            .get_mut(&self.path)
            .ok_or_else(|| not_found(&self.path))?;
        c.durable = c.live.clone();
        Ok(())
    }

    async fn truncate(&self, len: u64) -> io::Result<()> {
        let mut d = self.disk.borrow_mut();
        let c = d
            .files
            .get_mut(&self.path)
            .ok_or_else(|| not_found(&self.path))?;
        c.live.truncate(len as usize);
        Ok(())
    }
}

fn write_into(file: &mut Vec<u8>, buf: &[u8], pos: usize) {
    if file.len() < pos + buf.len() {
        file.resize(pos + buf.len(), 0);
    }
    file[pos..pos + buf.len()].copy_from_slice(buf);
}
