//! Reading back what a server accepted: `tern queue list` and `tern queue show` (which read
//! the data_dir offline), the queue id in a `250` reply, and the Received header tern puts
//! in front of every stored message.

use std::ffi::OsStr;
use std::path::Path;

use super::{find, tern, Tern, HOST};

impl Tern {
    /// `tern queue list` on this server's config, parsed.
    pub fn queue_list(&self) -> Vec<Listed> {
        queue_list(&self.settings.path)
    }

    /// `tern queue list` on this server's config, as printed.
    pub fn queue_list_text(&self) -> String {
        queue_list_text(&self.settings.path)
    }

    /// `tern queue show ID` on this server's config.
    pub fn queue_show(&self, id: &str) -> Shown {
        queue_show(&self.settings.path, id)
    }
}

/// Runs `tern queue ARGS --config FILE`, checks that it succeeded and returns its stdout.
fn queue(args: &[&str], config: &Path) -> Vec<u8> {
    let mut all: Vec<&OsStr> = vec!["queue".as_ref()];
    all.extend(args.iter().map(OsStr::new));
    all.extend(["--config".as_ref(), config.as_os_str()]);
    let out = tern(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "tern queue {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// One line of `tern queue list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: String,
    pub bytes: u64,
    /// `<a@b>` as printed.
    pub from: String,
    /// What follows `to `: `<c@d> (queued), <e@f> (queued)`.
    pub to: String,
}

/// Runs `tern queue list --config FILE` and returns what it printed, checking that it
/// succeeded.
pub fn queue_list_text(config: &Path) -> String {
    let stdout = queue(&["list"], config);
    String::from_utf8_lossy(&stdout).into_owned()
}

/// Runs `tern queue list --config FILE` and parses it, checking the count line. For the
/// servers of [`Dir::config`](super::Dir::config), where every domain is held.
pub fn queue_list(config: &Path) -> Vec<Listed> {
    let text = queue_list_text(config);
    let mut lines: Vec<&str> = text.lines().collect();
    let Some(last) = lines.pop() else {
        panic!("queue list printed nothing")
    };
    // Every domain is held in these tests (see `Dir::config`): a recipient reads "queued"
    // until the delivery worker has looked at it and "deferred" (held) after; which one a
    // test sees is a race, and both mean "still in the queue".
    let lines: Vec<String> = lines
        .iter()
        .map(|l| l.replace(" (deferred)", " (queued)"))
        .collect();
    let listed: Vec<Listed> = lines.iter().map(|l| parse_listed(l)).collect();
    assert_eq!(
        last,
        format!("{} message(s) queued", listed.len()),
        "{text}"
    );
    listed
}

fn parse_listed(line: &str) -> Listed {
    // ID  ARRIVAL  N bytes  from <a@b>  to <c@d> (queued)
    let fields: Vec<&str> = line.splitn(4, "  ").collect();
    let (id, bytes, rest) = match fields.as_slice() {
        [id, _arrival, bytes, rest] => (id, bytes, rest),
        _ => panic!("bad queue list line {line:?}"),
    };
    let bytes = bytes
        .strip_suffix(" bytes")
        .and_then(|b| b.parse().ok())
        .unwrap_or_else(|| panic!("bad size in {line:?}"));
    let (from, to) = rest
        .strip_prefix("from ")
        .and_then(|r| r.split_once("  to "))
        .unwrap_or_else(|| panic!("bad envelope in {line:?}"));
    Listed {
        id: (*id).to_owned(),
        bytes,
        from: from.to_owned(),
        to: to.to_owned(),
    }
}

/// `tern queue show ID`: the header lines and the stored body.
#[derive(Debug)]
pub struct Shown {
    pub header: String,
    /// The stored body: the Received header, then the message as received.
    pub stored: Vec<u8>,
}

impl Shown {
    /// The message after tern's Received header, checking that header's shape.
    pub fn message(&self) -> &[u8] {
        strip_received(&self.stored)
    }
}

/// Runs `tern queue show ID --config FILE`.
pub fn queue_show(config: &Path, id: &str) -> Shown {
    let stdout = queue(&["show", id], config);
    let split = find(&stdout, b"\n\n").unwrap_or_else(|| panic!("no blank line in queue show"));
    let header = String::from_utf8_lossy(&stdout[..split]).into_owned();
    let stored = stdout[split + 2..].to_vec();
    assert!(header.starts_with(&format!("id: {id}\n")), "{header}");
    assert!(
        header.ends_with(&format!("\nsize: {} bytes", stored.len())),
        "size line does not match the {} bytes shown:\n{header}",
        stored.len()
    );
    Shown { header, stored }
}

/// Splits a stored body after tern's `Received:` header: the header (with its CRLF), then
/// the message as received. tern folds the header with CRLF TAB, so it ends at the first
/// CRLF not followed by a TAB (a message that itself starts with a space stays whole).
pub fn after_received(stored: &[u8]) -> (&[u8], &[u8]) {
    assert!(
        stored.starts_with(b"Received: from "),
        "stored body does not start with a Received header: {:?}",
        String::from_utf8_lossy(&stored[..stored.len().min(200)])
    );
    let mut at = 0;
    loop {
        let Some(i) = find(&stored[at..], b"\r\n") else {
            panic!("unterminated Received header")
        };
        at += i + 2;
        if stored.get(at) != Some(&b'\t') {
            return stored.split_at(at);
        }
    }
}

/// The message after the Received header of a [`Dir::config`](super::Dir::config)
/// server, checking that the header names it.
pub fn strip_received(stored: &[u8]) -> &[u8] {
    let (header, message) = after_received(stored);
    let header = String::from_utf8_lossy(header);
    assert!(header.contains(&format!("by {HOST}")), "{header}");
    message
}

/// The id in `250 2.0.0 Ok: queued as ID`.
pub fn queued_id(reply: &str) -> String {
    let line = reply.trim_end_matches("\r\n");
    match line.strip_prefix("250 2.0.0 Ok: queued as ") {
        Some(id) if !id.is_empty() && !id.contains(char::is_whitespace) => id.to_owned(),
        _ => panic!("not a queued reply: {reply:?}"),
    }
}
