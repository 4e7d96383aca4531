//! `tern-loadtest sink`: a fast SMTP server that stores nothing. One glommio executor per
//! thread, all listening on the same address (SO_REUSEPORT), each connection driving a
//! [`tern_proto::server::Session`] with the session's default extensions (PIPELINING,
//! CHUNKING, DSN, 8BITMIME, SMTPUTF8).
//!
//! STARTTLS is offered with `--tls-cert/--tls-key` or `--tls-self-signed` (a certificate
//! made at start for the listen address and `localhost`); the report counts the sessions
//! that completed the handshake. `--auth USER:PASS` offers AUTH PLAIN and LOGIN, over TLS
//! or not (a load test on loopback has no eavesdropper, and plaintext AUTH lets AUTH be
//! measured alone), and accepts only those credentials; others get 535. Authenticating is
//! never required: a client that does not try still sends mail.
//!
//! At end of data the sink answers the message itself. Refusal rules are applied there, in
//! this order: `--reply-rcpt` (the first rule whose glob matches ANY recipient of the
//! message decides; the session has already accepted every RCPT, so this refuses the whole
//! message, not one recipient), then `--reply` shares (drawn per message), else 250.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_rustls::TlsAcceptor;
use glommio::net::{TcpListener, TcpStream};
use glommio::timer::sleep;
use glommio::{LocalExecutorBuilder, Placement};
use tern_proto::server::{Action, AuthRequest, ClientInfo, Message, Session, SessionConfig};
use tern_proto::{Enhanced, Reply};

use crate::args::SinkOptions;
use crate::message::sent_micros;
use crate::send::IO_MEMORY;
use crate::stats::SinkStats;
use crate::tls::{self, Stream};
use crate::values::splitmix64;

/// Idle time after which the sink drops a connection: it must never hang a test.
const IDLE: Duration = Duration::from_secs(60);

/// What every sink thread shares.
#[derive(Debug)]
pub struct Shared {
    /// The parsed options.
    pub opts: SinkOptions,
    /// When the sink started listening.
    pub start: Instant,
    /// Messages received so far, all threads.
    pub messages: AtomicU64,
    /// Messages refused so far, all threads.
    pub refused: AtomicU64,
    /// Set to stop every thread.
    pub stop: AtomicBool,
    /// Threads that have finished.
    pub finished: AtomicUsize,
}

impl Shared {
    fn deadline_passed(&self) -> bool {
        self.opts
            .duration
            .is_some_and(|d| self.start.elapsed() >= d)
    }
}

/// Per-thread state: the stats and a counter that draws reply shares and names files.
struct Local {
    shared: Arc<Shared>,
    index: usize,
    config: Rc<SessionConfig>,
    /// Present when STARTTLS is offered.
    tls: Option<TlsAcceptor>,
    stats: RefCell<SinkStats>,
    seq: std::cell::Cell<u64>,
}

/// Binds, runs until `--exit-after`/`--duration`, and returns the merged stats.
/// `on_listen` is called with the bound address (port 0 resolved) once every thread listens.
pub fn run(
    opts: SinkOptions,
    on_listen: impl FnOnce(SocketAddr),
) -> Result<(SinkStats, Duration), String> {
    let threads = opts.threads;
    let shared = Arc::new(Shared {
        opts,
        start: Instant::now(),
        messages: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        finished: AtomicUsize::new(0),
    });
    // Before binding: a bad certificate is a start-up error (exit 3), not a per-session one.
    let tls = shared
        .opts
        .tls
        .as_ref()
        .map(|t| tls::server_config(t, shared.opts.listen.ip()))
        .transpose()?
        .map(TlsAcceptor::from);
    if let Some(dir) = &shared.opts.save {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("--save: cannot create {}: {e}", dir.display()))?;
    }
    let mut addr = shared.opts.listen;
    let mut handles = Vec::with_capacity(threads);
    for index in 0..threads {
        // Thread 0 binds first so that port 0 resolves to one port all threads share.
        let (tx, rx) = mpsc::channel::<Result<SocketAddr, String>>();
        let sh = Arc::clone(&shared);
        let tls = tls.clone();
        let h = LocalExecutorBuilder::new(Placement::Unbound)
            .name(&format!("loadtest-sink-{index}"))
            .io_memory(IO_MEMORY)
            .spawn(move || async move {
                let stats = thread_main(Arc::clone(&sh), index, addr, tls, tx).await;
                sh.finished.fetch_add(1, Ordering::Relaxed);
                stats
            })
            .map_err(|e| format!("cannot start executor {index}: {e}"));
        let bound = h.and_then(|h| {
            handles.push(h);
            rx.recv()
                .map_err(|_| format!("sink thread {index} ended before listening"))
                .and_then(|r| r)
        });
        match bound {
            Ok(a) => addr = a,
            Err(e) => {
                shared.stop.store(true, Ordering::Relaxed);
                for h in handles {
                    let _ = h.join();
                }
                return Err(e);
            }
        }
    }
    on_listen(addr);
    crate::progress::sink_loop(&shared, threads);
    let mut total = SinkStats::default();
    for h in handles {
        match h.join() {
            Ok(s) => total.merge(&s),
            Err(e) => return Err(format!("a sink thread failed: {e}")),
        }
    }
    Ok((total, shared.start.elapsed()))
}

async fn thread_main(
    shared: Arc<Shared>,
    index: usize,
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    ready: mpsc::Sender<Result<SocketAddr, String>>,
) -> SinkStats {
    let listener = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            let _ = ready.send(Err(format!("cannot listen on {addr}: {e}")));
            return SinkStats::default();
        }
    };
    let bound = listener.local_addr().unwrap_or(addr);
    let _ = ready.send(Ok(bound));
    let mut config = SessionConfig::new("sink.tern-loadtest.invalid");
    config.features.starttls = tls.is_some();
    if shared.opts.auth.is_some() {
        config.features.auth = vec!["PLAIN", "LOGIN"];
        config.features.auth_requires_tls = false;
    }
    let local = Rc::new(Local {
        shared: Arc::clone(&shared),
        index,
        config: Rc::new(config),
        tls,
        stats: RefCell::new(SinkStats::default()),
        seq: std::cell::Cell::new(0),
    });
    let l2 = Rc::clone(&local);
    let accept = async move {
        loop {
            match listener.accept().await {
                Ok(stream) => {
                    l2.stats.borrow_mut().sessions += 1;
                    glommio::spawn_local(connection(Rc::clone(&l2), stream)).detach();
                }
                // Out of descriptors or similar: back off rather than spin.
                Err(_) => sleep(Duration::from_millis(10)).await,
            }
        }
    };
    let watch = async {
        while !shared.stop.load(Ordering::Relaxed) {
            if shared.deadline_passed() {
                shared.stop.store(true, Ordering::Relaxed);
            }
            sleep(Duration::from_millis(20)).await;
        }
        // A short grace so that replies already queued reach their clients and QUITs
        // get their 221.
        sleep(Duration::from_millis(100)).await;
    };
    futures_lite::future::or(accept, watch).await;
    local.stats.take()
}

async fn connection(local: Rc<Local>, tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    let _ = tcp.set_read_timeout(Some(IDLE));
    let mut stream = Stream::Plain(tcp);
    let client = ClientInfo {
        relay_allowed: true,
        tls: false,
    };
    let mut session = Session::new(Rc::clone(&local.config), client);
    session.greet();
    let mut buf = vec![0u8; 64 << 10];
    let (mut start, mut end) = (0usize, 0usize);
    if flush(&mut stream, &mut session).await.is_err() {
        return;
    }
    loop {
        // Let the session consume everything complete, answering messages as they end.
        loop {
            let (used, action) = session.input(&buf[start..end]);
            start += used;
            match action {
                Action::NeedInput => break,
                Action::StoreMessage => {
                    if let Some(m) = session.take_message() {
                        if let Some(a) = answer(&local, &mut session, m).await {
                            if a == Action::Close {
                                let _ = flush(&mut stream, &mut session).await;
                                return;
                            }
                        }
                    }
                }
                Action::Close => {
                    let _ = flush(&mut stream, &mut session).await;
                    stream.close().await;
                    return;
                }
                Action::StartTls => {
                    // The session consumed (and dropped) everything after STARTTLS: bytes
                    // sent before the handshake must not count as sent over it.
                    start = end;
                    if flush(&mut stream, &mut session).await.is_err()
                        || !handshake(&local, &mut stream).await
                    {
                        return;
                    }
                    session.tls_started();
                }
                Action::Authenticate(req) => {
                    let user = check(&local, &req);
                    session.auth_result(user);
                }
                // Not offered (no ETRN in the sink's features); a client that tries anyway
                // gets closed.
                Action::Etrn(_) => {
                    let _ = flush(&mut stream, &mut session).await;
                    return;
                }
            }
        }
        if flush(&mut stream, &mut session).await.is_err() {
            return;
        }
        // Keep the unconsumed tail at the front; grow only if one unit fills the buffer.
        if start > 0 {
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        if end == buf.len() {
            buf.resize(buf.len() * 2, 0);
        }
        match stream.read(&mut buf[end..]).await {
            Ok(0) | Err(_) => return,
            Ok(n) => end += n,
        }
    }
}

/// Runs the server side of the handshake; false (and counted) when it failed.
async fn handshake(local: &Local, stream: &mut Stream) -> bool {
    let (Some(acceptor), Some(tcp)) = (&local.tls, stream.take_plain()) else {
        return false;
    };
    match acceptor.accept(tcp).await {
        Ok(s) => {
            *stream = Stream::Server(Box::new(s));
            local.stats.borrow_mut().tls_sessions += 1;
            true
        }
        Err(_) => {
            local.stats.borrow_mut().tls_failures += 1;
            false
        }
    }
}

/// The user when `req` carries the `--auth` credentials.
fn check<'a>(local: &Local, req: &'a AuthRequest) -> Option<&'a str> {
    let ok = local
        .shared
        .opts
        .auth
        .as_ref()
        .is_some_and(|c| c.user == req.user && c.password == req.password);
    let mut s = local.stats.borrow_mut();
    if ok {
        s.auth_ok += 1;
        Some(req.user.as_str())
    } else {
        s.auth_failed += 1;
        None
    }
}

async fn flush(stream: &mut Stream, session: &mut Session) -> io::Result<()> {
    let n = session.output().len();
    if n > 0 {
        stream.write_all(session.output()).await?;
        session.consume_output(n);
    }
    Ok(())
}

fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Counts, optionally saves, and answers one message.
async fn answer(local: &Local, session: &mut Session, m: Message) -> Option<Action> {
    let opts = &local.shared.opts;
    let seq = local.seq.get();
    local.seq.set(seq + 1);
    let code = refusal(local, &m, seq);
    {
        let mut s = local.stats.borrow_mut();
        s.messages += 1;
        s.bytes += m.body.len() as u64;
        match sent_micros(&m.body) {
            Some(sent) => s
                .end_to_end
                .record_micros(unix_micros().saturating_sub(sent)),
            None => s.no_sent_header += 1,
        }
        *s.codes.entry(code.unwrap_or(250)).or_default() += 1;
        if code.is_none() {
            s.accepted += 1;
            s.rcpts_accepted += m.envelope.rcpts.len() as u64;
            s.bytes_accepted += m.body.len() as u64;
        }
    }
    if let Some(dir) = &opts.save {
        save(dir, local.index, seq, &m);
    }
    if let Some(d) = opts.delay {
        sleep(d).await;
    }
    let action = match code {
        None => session.stored(Ok("sink")),
        Some(c) => {
            local.shared.refused.fetch_add(1, Ordering::Relaxed);
            let class = (c / 100) as u8;
            let r = Reply::new(
                c,
                Some(Enhanced(class, 0, 0)),
                "tern-loadtest sink refused by rule",
            );
            session.refuse_message(&r)
        }
    };
    let total = local.shared.messages.fetch_add(1, Ordering::Relaxed) + 1;
    if opts.exit_after.is_some_and(|n| total >= n) {
        // The reply is queued and goes out at the next flush, before the stop watcher's
        // grace period ends.
        local.shared.stop.store(true, Ordering::Relaxed);
    }
    action
}

/// The refusal code for this message, if a rule picks one.
fn refusal(local: &Local, m: &Message, seq: u64) -> Option<u16> {
    let opts = &local.shared.opts;
    for rule in &opts.reply_rcpt {
        let hit = m
            .envelope
            .rcpts
            .iter()
            .any(|r| r.path.mailbox().is_some_and(|mb| rule.matches(mb.as_str())));
        if hit {
            return Some(rule.code);
        }
    }
    if opts.reply.is_empty() {
        return None;
    }
    // A per-thread sequence hashed: reproducible, and spread evenly over the shares.
    let draw = (splitmix64(seq ^ ((local.index as u64) << 48)) % 1_000_000) as f64 / 10_000.0;
    let mut acc = 0.0;
    for share in &opts.reply {
        acc += share.percent;
        if draw < acc {
            return Some(share.code);
        }
    }
    None
}

/// Writes `DIR/<thread>-<seq>.eml`: `X-Sink-From:`, one `X-Sink-To:` per recipient, then
/// the body as received. A plain blocking write: `--save` is for checks, not throughput.
fn save(dir: &std::path::Path, thread: usize, seq: u64, m: &Message) {
    let mut data = Vec::with_capacity(m.body.len() + 128);
    data.extend_from_slice(format!("X-Sink-From: {}\r\n", m.envelope.from).as_bytes());
    for r in &m.envelope.rcpts {
        data.extend_from_slice(format!("X-Sink-To: {}\r\n", r.path).as_bytes());
    }
    data.extend_from_slice(&m.body);
    let path: PathBuf = dir.join(format!("{thread}-{seq}.eml"));
    if let Err(e) = std::fs::write(&path, &data) {
        eprintln!("tern-loadtest sink: cannot save {}: {e}", path.display());
    }
}
