//! `tern-loadtest send`: one glommio executor per thread, each running its share of the
//! sessions, each session driving a [`ClientSession`] over a TCP stream.
//!
//! # Scheduling
//!
//! Each thread owns a ticket counter for its share of `--messages` (message `k` of thread
//! `i` of `T` is message number `n = k*T + i`, unique across the run). A free session takes
//! the next ticket. Closed loop: it sends at once. Open loop (`--rate`): ticket `k` is due at
//! `start + k / (rate/T)`; the session sleeps until then if early, and the transaction's
//! latency is counted from that due time, not from when a session got free. A server that
//! falls behind therefore shows its queueing delay instead of slowing the generator down
//! (no coordinated omission).
//!
//! # Per-verb latency
//!
//! The client session reports events, not single replies, so the driver times what it can
//! see: a command is answered when the session writes the next one (lock-step) or asks for
//! the body. Without PIPELINING every verb gets its own sample; with it, MAIL, RCPT and DATA
//! leave in one write and the batch's time is recorded under DATA (or RCPT before BDAT).
//!
//! # STARTTLS and AUTH
//!
//! `--starttls` makes the session's TLS policy `Required`: a server that does not offer
//! STARTTLS, or a handshake that fails (an untrusted certificate under `--ca`), fails the
//! session, spends its ticket as a failed message and is reported once on stderr. `--auth`
//! runs AUTH PLAIN here, once the session is `Ready` (the client session has no AUTH of its
//! own): the driver writes the command and reads one reply with a [`ReplyParser`] before the
//! first MAIL. Anything but 235 is counted under `auth` codes and fails the session the same
//! way, after a polite QUIT.

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use futures_rustls::TlsConnector;
use glommio::net::TcpStream;
use glommio::timer::{sleep, timeout};
use glommio::{LocalExecutorBuilder, Placement};
use rustls::ClientConfig;
use tern_proto::client::{
    local, BodyFormat, ClientEvent, ClientOptions, ClientSession, Envelope, ReplyParser, TlsPolicy,
    TransactionResult,
};
use tern_proto::Reply;

use crate::args::{Credentials, SendOptions};
use crate::message::{Body, Generator};
use crate::stats::{SendStats, H};
use crate::tls::{self, Stream};

/// Locked memory glommio registers per executor; `ulimit -l` is often 8 MiB in all.
pub const IO_MEMORY: usize = 512 << 10;

/// Bytes read per `read` call.
const READ_BUF: usize = 16 << 10;

/// Room left for generated headers when sizing the filler (a typical header block with one
/// recipient is about 250 bytes), so a "1KB" message is about 1 KiB on the wire.
const HEADER_ROOM: usize = 256;

/// What every thread shares: options, the clock origin and the live counters the progress
/// line reads.
#[derive(Debug)]
pub struct Shared {
    /// The parsed options.
    pub opts: SendOptions,
    /// When the run started.
    pub start: Instant,
    /// Messages finished (ok or failed), for the progress line.
    pub done: AtomicU64,
    /// Messages failed, for the progress line.
    pub failed: AtomicU64,
    /// Largest per-thread p99 of the transaction histogram so far, microseconds.
    pub p99: Vec<AtomicU64>,
    /// Threads that have finished.
    pub finished: AtomicUsize,
    /// Set when a thread could not start, so the others stop early.
    pub abort: AtomicBool,
    /// The first session-level error (TLS handshake, AUTH refusal), for stderr: a run whose
    /// every session fails the same way should say why once, not once per session.
    pub first_error: Mutex<Option<String>>,
}

impl Shared {
    fn note_error(&self, e: impl FnOnce() -> String) {
        if let Ok(mut first) = self.first_error.lock() {
            if first.is_none() {
                *first = Some(e());
            }
        }
    }
}

/// One thread's share of the work and its state, owned by that executor.
pub(crate) struct Thread {
    pub(crate) shared: Arc<Shared>,
    index: usize,
    /// Messages for this thread (`u64::MAX` when bounded by time only).
    quota: u64,
    next: Cell<u64>,
    /// Seconds between tickets in open loop.
    interval: Option<f64>,
    deadline: Option<Instant>,
    pub(crate) stats: RefCell<SendStats>,
    generator: RefCell<Generator>,
    pub(crate) bodies: Vec<Body>,
    last_publish: Cell<Instant>,
    /// `--starttls`: the handshake's configuration.
    tls: Option<Arc<ClientConfig>>,
}

/// A message to send: its number and the time it is due.
pub(crate) struct Ticket {
    pub(crate) n: u64,
    pub(crate) due: Instant,
}

impl Thread {
    pub(crate) fn take_ticket(&self) -> Option<Ticket> {
        if self.shared.abort.load(Ordering::Relaxed) {
            return None;
        }
        let k = self.next.get();
        if k >= self.quota {
            return None;
        }
        let now = Instant::now();
        let due = match self.interval {
            Some(iv) => self.shared.start + Duration::from_secs_f64(k as f64 * iv),
            None => now,
        };
        if self.deadline.is_some_and(|d| due >= d || now >= d) {
            return None;
        }
        self.next.set(k + 1);
        let threads = self.shared.opts.threads as u64;
        Some(Ticket {
            n: k * threads + self.index as u64,
            due,
        })
    }

    pub(crate) fn finish(&self, ok: bool) {
        self.shared.done.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.shared.failed.fetch_add(1, Ordering::Relaxed);
        }
        let now = Instant::now();
        if now.duration_since(self.last_publish.get()) >= Duration::from_millis(500) {
            self.last_publish.set(now);
            let p99 = self.stats.borrow().latency[H::Transaction as usize].quantile(0.99);
            self.shared.p99[self.index].store(p99, Ordering::Relaxed);
        }
    }
}

/// Why a connection ended early.
enum ConnEnd {
    /// The socket failed or timed out.
    Io,
    /// The session closed (server 421, Failed, protocol error).
    Closed,
    /// AUTH was refused; the session is still open and idle.
    AuthRefused,
}

/// One open connection and its session.
pub(crate) struct Conn {
    pub(crate) stream: Stream,
    pub(crate) session: ClientSession,
    buf: Vec<u8>,
    /// The body as handed to the session, reused between messages.
    pub(crate) out: Vec<u8>,
}

impl Conn {
    /// Writes everything the session has queued.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        let n = self.session.output().len();
        if n > 0 {
            self.stream.write_all(self.session.output()).await?;
            self.session.consume_output(n);
        }
        Ok(())
    }

    /// Reads once (bounded by the socket's read timeout, set at connect) and feeds the
    /// session.
    pub(crate) async fn read(&mut self) -> io::Result<()> {
        let n = self.stream.read(&mut self.buf[..]).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.session.input(&self.buf[..n]);
        Ok(())
    }

    /// Gives up on the connection: the session turns whatever was in flight into results.
    pub(crate) fn abort(&mut self) {
        self.session.abort(local::CONNECTION_LOST);
    }
}

fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Runs the sender on `opts.threads` executors and returns the merged stats and wall time.
pub fn run(shared: Arc<Shared>) -> Result<(SendStats, Duration), String> {
    let opts = &shared.opts;
    let threads = opts.threads;
    // Built once, before any thread starts: a bad --ca file is a start-up error (exit 3).
    let tls = opts.tls.as_ref().map(tls::client_config).transpose()?;
    let mut handles = Vec::with_capacity(threads);
    for index in 0..threads {
        let sh = Arc::clone(&shared);
        let tls = tls.clone();
        let h = LocalExecutorBuilder::new(Placement::Unbound)
            .name(&format!("loadtest-send-{index}"))
            .io_memory(IO_MEMORY)
            .spawn(move || async move {
                let stats = thread_main(Arc::clone(&sh), index, tls).await;
                sh.finished.fetch_add(1, Ordering::Relaxed);
                stats
            })
            .map_err(|e| format!("cannot start executor {index}: {e}"));
        match h {
            Ok(h) => handles.push(h),
            Err(e) => {
                shared.abort.store(true, Ordering::Relaxed);
                for h in handles {
                    let _ = h.join();
                }
                return Err(e);
            }
        }
    }
    crate::progress::send_loop(&shared);
    let mut total = SendStats::default();
    for h in handles {
        match h.join() {
            Ok(s) => total.merge(&s),
            Err(e) => return Err(format!("a sender thread failed: {e}")),
        }
    }
    Ok((total, shared.start.elapsed()))
}

fn share(total: u64, parts: usize, index: usize) -> u64 {
    let parts = parts as u64;
    total / parts + u64::from((index as u64) < total % parts)
}

async fn thread_main(
    shared: Arc<Shared>,
    index: usize,
    tls: Option<Arc<ClientConfig>>,
) -> SendStats {
    let opts = &shared.opts;
    let threads = opts.threads;
    let quota = opts.messages.map_or(u64::MAX, |m| share(m, threads, index));
    let header_room = HEADER_ROOM + opts.rcpts.saturating_sub(1) * 40;
    let t = Rc::new(Thread {
        index,
        quota,
        next: Cell::new(0),
        interval: opts.rate.map(|r| threads as f64 / r),
        deadline: opts.duration.map(|d| shared.start + d),
        stats: RefCell::new(SendStats::default()),
        generator: RefCell::new(Generator::new(
            opts.from.clone(),
            opts.to.clone(),
            opts.rcpts,
        )),
        bodies: opts
            .size
            .classes
            .iter()
            .map(|&(size, _)| Body::new(size, header_room))
            .collect(),
        last_publish: Cell::new(Instant::now()),
        shared: Arc::clone(&shared),
        tls,
    });
    let conns = share(opts.connections as u64, threads, index);
    let tasks: Vec<_> = (0..conns)
        .map(|_| glommio::spawn_local(connection_loop(Rc::clone(&t))))
        .collect();
    for task in tasks {
        task.await;
    }
    let p99 = t.stats.borrow().latency[H::Transaction as usize].quantile(0.99);
    shared.p99[index].store(p99, Ordering::Relaxed);
    t.stats.take()
}

/// Opens sessions one after another until the thread runs out of tickets.
async fn connection_loop(t: Rc<Thread>) {
    let opts = &t.shared.opts;
    // A ticket a windowed session took but could not send before its connection ended.
    let mut carried = None;
    while let Some(ticket) = carried.take().or_else(|| t.take_ticket()) {
        // Wait for the due time before connecting too, so an open-loop run at a low rate
        // does not hold idle connections open.
        wait_until(ticket.due).await;
        let started = Instant::now();
        let stream = timeout(opts.timeout, async {
            TcpStream::connect(opts.target).await
        })
        .await;
        let stream = match stream {
            Ok(s) => s,
            Err(_) => {
                // The ticket is spent as a failure, so a dead target ends the run instead
                // of spinning.
                {
                    let mut s = t.stats.borrow_mut();
                    s.connection_errors += 1;
                    s.failed += 1;
                }
                t.finish(false);
                sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // The socket's own timeout rather than a timer future around every read: glommio
        // links it to the read in the ring, which costs less per read than a timer.
        let _ = stream.set_read_timeout(Some(opts.timeout));
        {
            let mut s = t.stats.borrow_mut();
            s.record(H::Connect, started.elapsed());
            s.sessions += 1;
        }
        let session = ClientSession::new(ClientOptions {
            hello_name: "loadtest.tern.invalid".into(),
            tls: if t.tls.is_some() {
                TlsPolicy::Required
            } else {
                TlsPolicy::Disabled
            },
            pipelining: opts.pipelining,
            chunking: opts.chunking,
            refuse_8bit_without_8bitmime: false,
            window: opts.window,
        });
        let mut conn = Conn {
            stream: Stream::Plain(stream),
            session,
            buf: vec![0; READ_BUF],
            out: Vec::new(),
        };
        carried = session_loop(&t, &mut conn, ticket).await;
        conn.stream.close().await;
    }
}

pub(crate) async fn wait_until(due: Instant) {
    let now = Instant::now();
    if due > now {
        sleep(due - now).await;
    }
}

/// Greets, sends messages until the per-connection limit or the tickets run out, and
/// quits. Returns a ticket taken but never sent, for the next connection.
async fn session_loop(t: &Thread, conn: &mut Conn, first: Ticket) -> Option<Ticket> {
    let opts = &t.shared.opts;
    let mut ready = hello(t, conn).await;
    if ready.is_ok() {
        if let Some(creds) = &opts.auth {
            ready = auth(t, conn, creds).await;
        }
    }
    if let Err(end) = ready {
        match end {
            ConnEnd::Io => {
                t.stats.borrow_mut().connection_errors += 1;
                conn.abort();
            }
            ConnEnd::Closed => t.stats.borrow_mut().connection_errors += 1,
            ConnEnd::AuthRefused => quit(t, conn).await,
        }
        // The first ticket is spent as a failure: a server that refuses every session
        // must still end the run.
        t.stats.borrow_mut().failed += 1;
        t.finish(false);
        return None;
    }
    if opts.window > 1 && conn.session.capabilities().pipelining {
        let (alive, unsent) = crate::window::run(t, conn, first).await;
        if alive {
            quit(t, conn).await;
        }
        return unsent;
    }
    let mut sent = 0u64;
    let mut ticket = Some(first);
    while let Some(tk) = ticket.take().or_else(|| t.take_ticket()) {
        wait_until(tk.due).await;
        if !transaction(t, conn, tk).await {
            return None;
        }
        sent += 1;
        if opts.per_connection.is_some_and(|k| sent >= k) {
            break;
        }
    }
    quit(t, conn).await;
    None
}

/// Drives the session from connect to `Ready`, timing greeting and EHLO.
async fn hello(t: &Thread, conn: &mut Conn) -> Result<(), ConnEnd> {
    let connected = Instant::now();
    let mut ehlo_sent: Option<Instant> = None;
    loop {
        if conn.read().await.is_err() {
            return Err(ConnEnd::Io);
        }
        if ehlo_sent.is_none() && !conn.session.output().is_empty() {
            t.stats
                .borrow_mut()
                .record(H::Greeting, connected.elapsed());
            ehlo_sent = Some(Instant::now());
        }
        while let Some(ev) = conn.session.poll_event() {
            match ev {
                ClientEvent::Ready => {
                    if let Some(at) = ehlo_sent {
                        t.stats.borrow_mut().record(H::Ehlo, at.elapsed());
                    }
                    return Ok(());
                }
                ClientEvent::StartTls => {
                    let began = Instant::now();
                    starttls(t, conn).await?;
                    let mut s = t.stats.borrow_mut();
                    s.record(H::StartTls, began.elapsed());
                    s.tls_sessions += 1;
                    // The EHLO histogram then times the EHLO over TLS, queued just now.
                    ehlo_sent = Some(Instant::now());
                }
                ClientEvent::Failed(r) | ClientEvent::Closed(r) => {
                    count(&mut t.stats.borrow_mut().session_codes, &r);
                    if r == local::TLS_NOT_AVAILABLE || r.code == 454 {
                        t.shared.note_error(|| {
                            format!(
                                "--starttls: {} did not offer or refused STARTTLS: {r}",
                                t.shared.opts.target
                            )
                        });
                    }
                    let _ = conn.flush().await;
                    return Err(ConnEnd::Closed);
                }
                _ => {}
            }
        }
        if conn.flush().await.is_err() {
            return Err(ConnEnd::Io);
        }
    }
}

/// Runs the TLS handshake the session asked for and tells the session.
async fn starttls(t: &Thread, conn: &mut Conn) -> Result<(), ConnEnd> {
    let (Some(config), Some(tcp)) = (&t.tls, conn.stream.take_plain()) else {
        return Err(ConnEnd::Io);
    };
    let target = t.shared.opts.target;
    let connector = TlsConnector::from(Arc::clone(config));
    match connector.connect(tls::target_name(target.ip()), tcp).await {
        Ok(s) => conn.stream = Stream::Client(Box::new(s)),
        Err(e) => {
            t.shared
                .note_error(|| format!("TLS handshake with {target} failed: {e}"));
            return Err(ConnEnd::Io);
        }
    }
    conn.session.tls_established().map_err(|_| ConnEnd::Io)
}

/// AUTH PLAIN (RFC 4954, RFC 4616) with an initial response, outside the session: it is
/// idle, so nothing of its own is in flight, and the one reply read here is never seen
/// by it.
async fn auth(t: &Thread, conn: &mut Conn, creds: &Credentials) -> Result<(), ConnEnd> {
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("\0{}\0{}", creds.user, creds.password));
    let line = format!("AUTH PLAIN {token}\r\n");
    let began = Instant::now();
    if conn.stream.write_all(line.as_bytes()).await.is_err() {
        return Err(ConnEnd::Io);
    }
    let mut parser = ReplyParser::new();
    let reply = loop {
        match parser.next_reply() {
            Some(Ok(r)) => break r,
            Some(Err(_)) => return Err(ConnEnd::Io),
            None => {}
        }
        match conn.stream.read(&mut conn.buf[..]).await {
            Ok(0) | Err(_) => return Err(ConnEnd::Io),
            Ok(n) => parser.feed(&conn.buf[..n]),
        }
    };
    {
        let mut s = t.stats.borrow_mut();
        s.record(H::Auth, began.elapsed());
        count(&mut s.auth_codes, &reply);
    }
    if reply.code == 235 {
        return Ok(());
    }
    t.shared.note_error(|| {
        format!(
            "--auth: {} refused AUTH PLAIN for {:?}: {reply}",
            t.shared.opts.target, creds.user
        )
    });
    Err(ConnEnd::AuthRefused)
}

pub(crate) fn count(codes: &mut crate::stats::Codes, r: &Reply) {
    *codes.entry(r.code).or_default() += 1;
}

/// Sends one message and waits for its result. False when the connection is gone.
async fn transaction(t: &Thread, conn: &mut Conn, tk: Ticket) -> bool {
    let opts = &t.shared.opts;
    let class = opts.size.class_of(tk.n);
    let body = &t.bodies[class];
    let mut headers = Vec::with_capacity(256 + 48 * opts.rcpts);
    let env = prepare(t, tk.n, body, &mut headers);
    let message_len = headers.len() + body.raw.len();
    // Open loop counts from the due time: a late start is the server's delay, and a
    // message that had to wait for a new connection includes the connect. Closed loop
    // counts from now: there is no schedule to be late for.
    let start = if opts.rate.is_some() {
        tk.due.min(Instant::now())
    } else {
        Instant::now()
    };
    if conn.session.send_mail(&env).is_err() {
        return false;
    }
    let mut last_write = Instant::now();
    let mut stage = 0usize;
    let mut body_sent: Option<Instant> = None;
    let mut out = std::mem::take(&mut conn.out);
    let mut alive = true;
    let result: TransactionResult = 'outer: loop {
        if alive && conn.flush().await.is_err() {
            conn.abort();
            alive = false;
        }
        if alive && conn.read().await.is_err() {
            conn.abort();
            alive = false;
        }
        let mut progressed = false;
        while let Some(ev) = conn.session.poll_event() {
            match ev {
                ClientEvent::NeedBody(format) => {
                    progressed = true;
                    let h = if format == BodyFormat::DotStuffed {
                        H::Data
                    } else {
                        H::Rcpt
                    };
                    t.stats.borrow_mut().record(h, last_write.elapsed());
                    render_body(format, &headers, body, &mut out);
                    if conn.session.send_body(&out).is_err() {
                        conn.abort();
                        alive = false;
                    }
                    body_sent = Some(Instant::now());
                }
                ClientEvent::TransactionDone(r) => break 'outer r,
                ClientEvent::Closed(r) => {
                    count(&mut t.stats.borrow_mut().session_codes, &r);
                    alive = false;
                }
                ClientEvent::ProtocolError(_) => alive = false,
                _ => {}
            }
        }
        // Lock-step: a reply that made the session write the next command answered the
        // previous one (MAIL, then each RCPT).
        if !progressed && !conn.session.output().is_empty() && stage <= opts.rcpts {
            let h = if stage == 0 { H::Mail } else { H::Rcpt };
            t.stats.borrow_mut().record(h, last_write.elapsed());
            stage += 1;
            last_write = Instant::now();
        }
        if !alive {
            // abort() and a server 421 both end the transaction with a TransactionDone,
            // drained above; this is only a guard against spinning on a dead socket.
            break 'outer TransactionResult {
                mail: local::CONNECTION_LOST,
                rcpts: Vec::new(),
                data: None,
                local: true,
            };
        }
    };
    conn.out = out;
    let now = Instant::now();
    settle(
        t,
        &result,
        now - start,
        body_sent.map(|b| now - b),
        message_len,
    );
    if !alive {
        t.stats.borrow_mut().connection_errors += 1;
    }
    alive && !conn.session.is_closed()
}

/// The envelope of message `n`, its headers rendered into `headers`, SIZE= set.
pub(crate) fn prepare(t: &Thread, n: u64, body: &Body, headers: &mut Vec<u8>) -> Envelope {
    let mut g = t.generator.borrow_mut();
    let mut env = g.envelope(n, 0);
    g.headers(n, &env, unix_micros(), headers);
    // SIZE= is the size of what is stored: headers plus the raw filler.
    env.params.size = Some((headers.len() + body.raw.len()) as u64);
    env
}

/// The message as the session wants it: stuffed and terminated for DATA, raw for BDAT.
pub(crate) fn render_body(format: BodyFormat, headers: &[u8], body: &Body, out: &mut Vec<u8>) {
    out.clear();
    match format {
        BodyFormat::DotStuffed => {
            tern_proto::body::stuff(headers, out);
            out.truncate(out.len() - 3); // the headers' own ".\r\n"
            out.extend_from_slice(&body.stuffed);
        }
        BodyFormat::Raw => {
            out.extend_from_slice(headers);
            out.extend_from_slice(body.raw.as_slice());
        }
    }
}

/// Counts one finished transaction: reply codes, the transaction's latency and (when the
/// body was accepted) the end-of-data latency. True when every recipient was delivered.
pub(crate) fn settle(
    t: &Thread,
    result: &TransactionResult,
    took: Duration,
    data_end: Option<Duration>,
    message_len: usize,
) -> bool {
    let rcpts = t.shared.opts.rcpts;
    let delivered = (0..rcpts).filter(|&i| result.delivered(i)).count();
    let ok = delivered == rcpts;
    {
        let mut s = t.stats.borrow_mut();
        count(&mut s.mail_codes, &result.mail);
        for r in &result.rcpts {
            count(&mut s.rcpt_codes, r);
        }
        if let Some(d) = &result.data {
            count(&mut s.data_codes, d);
        }
        if let Some(b) = data_end {
            if result.data.as_ref().is_some_and(Reply::is_positive) {
                s.record(H::DataEnd, b);
            }
        }
        s.record(H::Transaction, took);
        s.rcpts_ok += delivered as u64;
        if ok {
            s.ok += 1;
            s.bytes_ok += message_len as u64;
        } else {
            s.failed += 1;
        }
    }
    t.finish(ok);
    ok
}

/// Sends QUIT and waits (briefly) for the 221.
async fn quit(t: &Thread, conn: &mut Conn) {
    if conn.session.quit().is_err() || conn.flush().await.is_err() {
        return;
    }
    while !conn.session.is_closed() {
        if conn.read().await.is_err() {
            conn.abort();
        }
        while let Some(ev) = conn.session.poll_event() {
            if let ClientEvent::Closed(r) = ev {
                if r.code == 221 {
                    count(&mut t.stats.borrow_mut().session_codes, &r);
                }
            }
        }
    }
}
