//! `tern queue list` and `tern queue show ID`: an offline reader of the data_dir named in
//! the config. No server is needed, and a running one is not disturbed (nothing is locked
//! or written).

use std::fmt::Write as _;

use tern_queue::{inspect, read_body_offline, MessageId, Outcome, QueuedMessage};

use crate::config::Config;

fn state(o: &Option<Outcome>) -> String {
    match o {
        None => "queued".to_owned(),
        Some(Outcome::Delivered) => "delivered".to_owned(),
        Some(Outcome::Deferred {
            attempts, reply, ..
        }) => format!("deferred after {attempts} attempt(s): {reply}"),
        Some(Outcome::Failed { reply }) => format!("failed: {reply}"),
    }
}

/// An arrival time as an RFC 5322 date in UTC, as in the Received header.
fn date(unix: u64) -> String {
    let mut out = Vec::with_capacity(32);
    tern_proto::received::write_date(i64::try_from(unix).unwrap_or(i64::MAX), 0, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn summary(m: &QueuedMessage) -> String {
    let env = &m.meta.envelope;
    let rcpts: Vec<String> = env
        .rcpts
        .iter()
        .zip(&m.recipients)
        .map(|(r, o)| {
            let s = match o {
                None => "queued",
                Some(Outcome::Delivered) => "delivered",
                Some(Outcome::Deferred { .. }) => "deferred",
                Some(Outcome::Failed { .. }) => "failed",
            };
            format!("{} ({s})", r.path)
        })
        .collect();
    format!(
        "{}  {}  {} bytes  from {}  to {}",
        m.meta.id,
        date(m.meta.arrival),
        m.body_len,
        env.from,
        rcpts.join(", ")
    )
}

/// One line per queued message: id, arrival (RFC 5322 date, UTC), size, sender,
/// recipients with their state.
pub fn list(config: &Config) -> Result<String, String> {
    let messages = inspect(&config.server.data_dir).map_err(|e| format!("tern: {e}"))?;
    let mut out = String::new();
    for m in &messages {
        out.push_str(&summary(m));
        out.push('\n');
    }
    let _ = writeln!(out, "{} message(s) queued", messages.len());
    Ok(out)
}

/// Everything about one message, then its content, byte for byte: a BINARYMIME or 8-bit
/// body is not text, and a lossy UTF-8 conversion would show the operator other bytes
/// than the ones queued.
pub fn show(config: &Config, id: &str) -> Result<Vec<u8>, String> {
    let id: MessageId = id
        .parse()
        .map_err(|_| format!("tern: {id:?} is not a message id"))?;
    let messages = inspect(&config.server.data_dir).map_err(|e| format!("tern: {e}"))?;
    let m = messages
        .iter()
        .find(|m| m.meta.id == id)
        .ok_or_else(|| format!("tern: message {id} is not in the queue"))?;
    let env = &m.meta.envelope;
    let mut out = String::new();
    let _ = writeln!(out, "id: {}", m.meta.id);
    let _ = writeln!(out, "arrival: {}", date(m.meta.arrival));
    let c = &m.meta.client;
    let _ = writeln!(
        out,
        "client: {} [{}]{}{}",
        c.helo,
        c.peer_ip,
        if c.tls { " tls" } else { "" },
        c.auth_user
            .as_deref()
            .map(|u| format!(" auth={u}"))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "from: {}", env.from);
    for (r, o) in env.rcpts.iter().zip(&m.recipients) {
        let _ = writeln!(out, "to: {}  {}", r.path, state(o));
    }
    let body = read_body_offline(&config.server.data_dir, m).map_err(|e| format!("tern: {e}"))?;
    let _ = writeln!(out, "size: {} bytes\n", body.len());
    let mut out = out.into_bytes();
    out.extend_from_slice(&body);
    Ok(out)
}
