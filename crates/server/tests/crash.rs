//! Crash safety of the real process: "durable before 250" checked by `kill -9`.
//!
//! Client threads send distinct messages as fast as the server takes them and remember
//! every one that got `250 ... queued as ID`. The server is killed with SIGKILL at a random
//! moment, restarted on the same data_dir, and every acknowledged message must then be in
//! `tern queue list` with its exact content in `tern queue show`. Messages that never got
//! their 250 may or may not be there. Three kill/restart cycles run on one data_dir, so
//! recovery also replays what earlier recoveries cut and kept, and ids must stay unique.
//!
//! A second group damages the last segment on purpose (truncated, one byte flipped) and
//! checks that recovery keeps every complete record before the damage and serves again.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{dot_stuff, queued_id, wait_for, Client, Dir, EXIT_TIMEOUT, GREETING, READY_TIMEOUT};

/// Small segments, so that the kills also land around segment roll-overs.
const CONFIG: &str = "[queue]\nsegment_size = \"256KiB\"\n";
const CLIENTS: usize = 4;
const CYCLES: usize = 3;

/// A tiny deterministic generator (xorshift64*); the seed is printed so a failure can be
/// replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    nanos | 1
}

/// A message with a unique marker: headers, then lines of varied length, some starting
/// with dots; now and then a large one, so records of several pages are torn too.
fn message(rng: &mut Rng, marker: &str) -> Vec<u8> {
    let mut m = format!("Subject: crash test\r\nX-Marker: {marker}\r\n\r\n").into_bytes();
    let lines = if rng.below(10) == 0 {
        200 + rng.below(1000)
    } else {
        rng.below(40)
    };
    for i in 0..lines {
        if rng.below(8) == 0 {
            m.push(b'.');
        }
        let len = rng.below(120) as usize;
        m.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(format!("end of {marker}\r\n").as_bytes());
    m
}

/// The messages acknowledged so far: queue id and the message as sent (unstuffed).
type Acked = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Sends messages until the connection fails; returns how it ended if it was anything
/// but the server going away.
fn client(
    addr: SocketAddr,
    name: String,
    seed: u64,
    acked: Acked,
    stop: Arc<AtomicBool>,
) -> Result<(), String> {
    let mut rng = Rng(seed);
    let Ok(stream) = std::net::TcpStream::connect(addr) else {
        return Ok(());
    };
    let mut c = Client::from_stream(stream);
    match c.try_reply() {
        Ok(g) if g == GREETING => {}
        Ok(other) => return Err(format!("{name}: greeting {other:?}")),
        Err(_) => return Ok(()),
    }
    if !c.try_send(b"EHLO crash.test\r\n") || c.try_reply().is_err() {
        return Ok(());
    }
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        // Paced, so that a cycle acknowledges a few hundred messages rather than
        // thousands: every one is read back with its own `tern queue show`, which replays
        // the whole queue. Clients still overlap, so the kill finds some mid-message.
        std::thread::sleep(Duration::from_millis(rng.below(20)));
        let marker = format!("{name}-m{n}");
        let m = message(&mut rng, &marker);
        // MAIL, RCPT and DATA pipelined; then the body and its end.
        let head = format!("MAIL FROM:<{name}@crash.test>\r\nRCPT TO:<m{n}@dest.test>\r\nDATA\r\n");
        if !c.try_send(head.as_bytes()) {
            return Ok(());
        }
        for want in [
            "250 2.1.0 Sender ok\r\n",
            "250 2.1.5 Recipient ok\r\n",
            "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n",
        ] {
            match c.try_reply() {
                Ok(r) if r == want => {}
                Ok(r) => return Err(format!("{name}: {r:?} instead of {want:?}")),
                Err(_) => return Ok(()),
            }
        }
        let mut body = dot_stuff(&m);
        body.extend_from_slice(b".\r\n");
        if !c.try_send(&body) {
            return Ok(());
        }
        match c.try_reply() {
            Ok(r) if r.starts_with("250 ") => {
                let id = queued_id(&r);
                acked
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((id, m));
            }
            Ok(r) => return Err(format!("{name}: end of data got {r:?}")),
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

#[test]
fn acknowledged_messages_survive_kill_9() {
    let seed = seed();
    eprintln!("crash test seed {seed}");
    let mut rng = Rng(seed);
    let dir = Dir::new();
    // Every message ever acknowledged, by id: the ids must never repeat.
    let mut all: HashMap<String, Vec<u8>> = HashMap::new();
    let mut tern = dir.start(2, CONFIG);
    for cycle in 0..CYCLES {
        let acked = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let threads: Vec<_> = (0..CLIENTS)
            .map(|k| {
                let (acked, stop) = (Arc::clone(&acked), Arc::clone(&stop));
                let (addr, s) = (tern.addr(), rng.next() | 1);
                let name = format!("c{cycle}x{k}");
                std::thread::spawn(move || client(addr, name, s, acked, stop))
            })
            .collect();
        // Wait for the first acknowledgement (the server is warm), then kill at a random
        // moment while every client is in the middle of something.
        assert!(
            wait_for(READY_TIMEOUT, || acked.lock().map_or(0, |a| a.len()) > 0),
            "no message acknowledged"
        );
        std::thread::sleep(Duration::from_millis(100 + rng.below(500)));
        tern.kill9();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            match t.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("client failed: {e}"),
                Err(_) => panic!("client thread panicked"),
            }
        }
        let acked = std::mem::take(&mut *acked.lock().unwrap_or_else(|p| p.into_inner()));
        eprintln!("cycle {cycle}: {} messages acknowledged", acked.len());

        tern = dir.start(2, CONFIG);
        // What recovery says it cut and kept: shown with --nocapture or on failure.
        eprintln!("{}", tern.stderr());
        let listed = tern.queue_list();
        let ids: HashSet<&str> = listed.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids.len(), listed.len(), "an id is listed twice");
        for (id, m) in &acked {
            assert!(
                all.insert(id.clone(), m.clone()).is_none(),
                "id {id} was acknowledged twice"
            );
            let shown = tern.queue_show(id);
            assert_eq!(
                shown.message(),
                m.as_slice(),
                "message {id} differs; seed {seed}"
            );
        }
        for id in all.keys() {
            assert!(
                ids.contains(id.as_str()),
                "acknowledged {id} is lost; seed {seed}"
            );
        }
    }
    // The server still serves after the last recovery.
    let mut c = tern.client();
    c.ehlo();
    let id = c.send_message("a@x.test", &["b@y.test"], b"after the crashes\r\n");
    assert!(!all.contains_key(&id), "id {id} reused");
    c.cmd("QUIT", "221 2.0.0 mx.test closing connection\r\n");
    tern.terminate();
    assert_eq!(tern.wait_exit(EXIT_TIMEOUT).code(), Some(0));
    let listed: HashSet<String> = tern.queue_list().into_iter().map(|l| l.id).collect();
    assert!(listed.contains(&id));
    assert!(all.keys().all(|id| listed.contains(id)));
}

/// Sends five messages, stops the server cleanly, damages the fifth message's record with
/// `damage` (given the segment and the offset of that message's body in it; the delivery
/// worker's outcome records for held mail may follow it), restarts, and checks that the
/// first four are intact, the fifth is gone and the server serves again.
fn damaged_tail(damage: impl FnOnce(&std::path::Path, usize)) {
    let dir = Dir::new();
    let mut tern = dir.start(1, "");
    let mut c = tern.client();
    c.ehlo();
    let mut sent = Vec::new();
    for n in 0..5 {
        let m = format!("Subject: {n}\r\n\r\nmessage number {n}\r\n").into_bytes();
        let id = c.send_message("a@x.test", &["b@y.test"], &m);
        sent.push((id, m));
    }
    c.cmd("QUIT", "221 2.0.0 mx.test closing connection\r\n");
    tern.terminate();
    assert_eq!(tern.wait_exit(EXIT_TIMEOUT).code(), Some(0));
    let segments = dir.segments(0);
    let Some(last) = segments.last() else {
        panic!("no segment in {}", dir.data_dir().display())
    };
    let bytes = match std::fs::read(last) {
        Ok(b) => b,
        Err(e) => panic!("read {}: {e}", last.display()),
    };
    let Some(at) = common::find(&bytes, b"message number 4") else {
        panic!("message 4 not found in {}", last.display())
    };
    damage(last, at);

    let tern = dir.start(1, "");
    // A torn tail is cut; a damaged record with whole records after it is stepped over.
    assert!(
        tern.wait_for_stderr("cut a torn or corrupt tail", Duration::from_secs(1))
            || tern.stderr().contains("stepped over damaged bytes"),
        "recovery did not report the damage:\n{}",
        tern.stderr()
    );
    let listed: Vec<String> = tern.queue_list().into_iter().map(|l| l.id).collect();
    let want: Vec<String> = sent[..4].iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(listed, want);
    for (id, m) in &sent[..4] {
        assert_eq!(tern.queue_show(id).message(), m.as_slice());
    }
    let mut c = tern.client();
    c.ehlo();
    let new = c.send_message("a@x.test", &["b@y.test"], b"after the damage\r\n");
    assert!(sent.iter().all(|(id, _)| *id != new), "id {new} reused");
    let listed = tern.queue_list();
    assert_eq!(listed.len(), 5);
    assert_eq!(listed[4].id, new);
}

#[test]
fn truncated_last_record_is_cut_and_the_rest_kept() {
    damaged_tail(|seg, at| {
        // A write torn in the middle of the fifth message: everything after is gone.
        let f = std::fs::OpenOptions::new().write(true).open(seg);
        match f.and_then(|f| f.set_len(at as u64 + 3)) {
            Ok(()) => {}
            Err(e) => panic!("truncate {}: {e}", seg.display()),
        }
    });
}

#[test]
fn flipped_byte_in_last_record_is_cut_and_the_rest_kept() {
    damaged_tail(|seg, at| {
        let mut bytes = match std::fs::read(seg) {
            Ok(b) => b,
            Err(e) => panic!("read {}: {e}", seg.display()),
        };
        // Inside the fifth message's body, well past its header.
        bytes[at + 4] ^= 0x20;
        if let Err(e) = std::fs::write(seg, &bytes) {
            panic!("write {}: {e}", seg.display());
        }
    });
}

/// A flipped byte in the middle of a segment is not a torn write: a torn write can only
/// be at the end of what was written, and here whole, valid records follow the damaged
/// one. Recovery must not silently delete those acknowledged messages: it may skip the
/// damaged record and keep the rest, or refuse to start and name the damage. (It used to
/// cut the segment at the damaged record, destroying the intact records after it; it now
/// steps over the damage.)
#[test]
fn corruption_in_the_middle_does_not_delete_the_records_after_it() {
    let dir = Dir::new();
    let mut tern = dir.start(1, "");
    let mut c = tern.client();
    c.ehlo();
    let mut sent = Vec::new();
    for n in 0..5 {
        let m = format!("Subject: {n}\r\n\r\nmessage number {n}\r\n").into_bytes();
        let id = c.send_message("a@x.test", &["b@y.test"], &m);
        sent.push((id, m));
    }
    c.cmd("QUIT", "221 2.0.0 mx.test closing connection\r\n");
    tern.terminate();
    assert_eq!(tern.wait_exit(EXIT_TIMEOUT).code(), Some(0));
    let Some(seg) = dir.segments(0).pop() else {
        panic!("no segment")
    };
    let mut bytes = match std::fs::read(&seg) {
        Ok(b) => b,
        Err(e) => panic!("read {}: {e}", seg.display()),
    };
    let Some(at) = common::find(&bytes, b"message number 1") else {
        panic!("message 1 not found in {}", seg.display())
    };
    bytes[at] ^= 0x20;
    if let Err(e) = std::fs::write(&seg, &bytes) {
        panic!("write {}: {e}", seg.display());
    }
    let mut tern = common::Tern::spawn(dir.config(1, ""));
    let ready = tern.wait_for_stderr("tern: ready", READY_TIMEOUT);
    if !ready {
        // Refusing to start is acceptable, with the damage named, and without having cut.
        let status = tern.wait_exit(EXIT_TIMEOUT);
        assert_ne!(status.code(), Some(0), "{}", tern.stderr());
        assert!(!tern.stderr().contains("cut a torn"), "{}", tern.stderr());
        return;
    }
    let listed: HashSet<String> = tern.queue_list().into_iter().map(|l| l.id).collect();
    for (i, (id, m)) in sent.iter().enumerate() {
        if i == 1 {
            continue;
        }
        assert!(
            listed.contains(id),
            "intact message {i} ({id}) deleted:\n{}",
            tern.stderr()
        );
        assert_eq!(tern.queue_show(id).message(), m.as_slice());
    }
}
