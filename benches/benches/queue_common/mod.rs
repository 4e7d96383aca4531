// Shared by the queue benches (included with `#[path]`, not a bench of its own).

use glommio::{LocalExecutor, LocalExecutorBuilder, Placement};
use std::path::{Path, PathBuf};
use tern_proto::{ForwardPath, MailParams, Mailbox, RcptParams, ReversePath};
use tern_queue::{ClientInfo, Envelope, NewMessage, Recipient};

/// 512 KiB of io memory: `ulimit -l` is 8 MiB on the bench machines.
pub fn executor() -> LocalExecutor {
    LocalExecutorBuilder::new(Placement::Unbound)
        .io_memory(512 << 10)
        .make()
        .expect("glommio executor")
}

pub fn envelope(tag: u64) -> (ClientInfo, Envelope) {
    let client = ClientInfo {
        helo: "client.example".into(),
        peer_ip: "192.0.2.7".into(),
        auth_user: None,
        tls: true,
    };
    let envelope = Envelope {
        from: ReversePath::Mailbox(Mailbox::from_parts(&format!("s{tag}"), "origin.example")),
        params: MailParams::default(),
        rcpts: vec![Recipient {
            path: ForwardPath::Mailbox(Mailbox::from_parts("rcpt", "dest.example")),
            params: RcptParams::default(),
        }],
    };
    (client, envelope)
}

pub fn message(tag: u64, body_len: usize) -> NewMessage {
    let (client, envelope) = envelope(tag);
    NewMessage {
        head: Vec::new(),
        arrival: 1_700_000_000 + tag,
        client,
        envelope,
        body: vec![b'x'; body_len],
    }
}

/// A scratch directory under the target dir's parent temp, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("tern-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("scratch dir");
        Scratch(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
