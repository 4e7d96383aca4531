//! Shared helpers: a temp dir, a small-memory executor, sample messages.
#![allow(dead_code)]

use glommio::{LocalExecutorBuilder, Placement};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use tern_proto::{ForwardPath, MailParams, Mailbox, RcptParams, ReversePath};
use tern_queue::{ClientInfo, Envelope, NewMessage, Recipient};

/// A directory removed on drop.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "tern-queue-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `f` on a fresh executor with 512 KiB of io memory: `ulimit -l` is 8 MiB here and
/// the test threads each build one.
pub fn run<F: Future<Output = T>, T>(f: F) -> T {
    let ex = LocalExecutorBuilder::new(Placement::Unbound)
        .io_memory(512 << 10)
        .make()
        .unwrap();
    ex.run(f)
}

/// A message with `rcpts` recipients at `domain` and a body of `body_len` bytes derived
/// from `tag`, so every message is different.
pub fn message(tag: u64, rcpts: usize, domain: &str, body_len: usize) -> NewMessage {
    let body: Vec<u8> = (0..body_len)
        .map(|i| b'a' + ((i as u64 + tag) % 26) as u8)
        .collect();
    NewMessage {
        head: Vec::new(),
        arrival: 1_700_000_000 + tag,
        client: ClientInfo {
            helo: "client.example".into(),
            peer_ip: "192.0.2.7".into(),
            auth_user: Some("alice".into()),
            tls: true,
        },
        envelope: Envelope {
            from: ReversePath::Mailbox(Mailbox::from_parts(&format!("s{tag}"), "origin.example")),
            params: MailParams {
                size: Some(body_len as u64),
                ..MailParams::default()
            },
            rcpts: (0..rcpts)
                .map(|i| Recipient {
                    path: ForwardPath::Mailbox(Mailbox::from_parts(&format!("r{i}"), domain)),
                    params: RcptParams::default(),
                })
                .collect(),
        },
        body,
    }
}

/// The last segment file of a shard directory.
pub fn last_segment(dir: &Path) -> PathBuf {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segs.sort();
    segs.pop().unwrap()
}

pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    segs.sort();
    segs
}
