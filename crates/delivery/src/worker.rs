//! The per-core delivery worker: takes the messages due on its core's shard, groups their
//! recipients by next hop, delivers them over reused connections and records each
//! recipient's outcome. Everything here runs on the core's executor; state is `Rc`,
//! `Cell` and `RefCell`, and no borrow is held across an `.await`.
//!
//! # Shape
//!
//! - The dispatcher ([`run`]) wakes when the core stores a message, when a connection
//!   finishes, or when the earliest deferred message comes due. It turns each due
//!   message into jobs (one per message and next hop) and queues them on their hop.
//! - Each hop (a smarthost route) has a job queue and up to `max_connections_per_host`
//!   connection tasks, within the core's `max_connections`. A connection task delivers
//!   job after job over one connection (several messages per connection), then waits up
//!   to `idle_timeout` for more before it says QUIT: that wait is the idle cache.
//! - When every recipient of a message is final, the bounce (if one is owed) is queued
//!   and the message is marked done.
//!
//! # Crash window
//!
//! A recipient's `Delivered` outcome is written after the hop's 250 and returns once it is
//! synced. A crash between the two (the 250 received, the outcome not yet on disk) makes
//! the restarted worker deliver that recipient again: that window, one fdatasync long, is
//! the only source of duplicates. Likewise a bounce queued just before a crash that beat
//! the message's done record can be sent twice.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use glommio::timer::sleep;
use glommio::{spawn_local, Task};
use rustls::pki_types::CertificateDer;
use tern_proto::client::{local, BodyFormat, ClientEvent, TlsPolicy};
use tern_proto::reply::{Enhanced, Reply};
use tern_proto::{Envelope, ForwardPath, MailParams, RcptParams, Recipient, ReversePath};
use tern_queue::{ClientInfo, MessageId, NewMessage, Outcome, QueuedMessage, Shard};

use crate::conn::{Conn, Timeouts, TlsSetup};
use crate::dns::Dns;
use crate::dsn::{self, Action, Report, ReportRecipient};
use crate::outcome::Recorded;
use crate::route::{RouteAction, RouteTable, TlsMode};
use crate::schedule::{Decision, Schedule};
use crate::signal::Signal;
use crate::tls::TlsClients;

/// What a worker needs to know, from `[delivery]` and `[[route]]`.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Our name: EHLO, Reporting-MTA, the bounce's From.
    pub hostname: String,
    /// Where each domain goes.
    pub routes: RouteTable,
    /// Retry and lifetime policy.
    pub schedule: Schedule,
    /// How long to wait for a TCP connection.
    pub connect_timeout: Duration,
    /// How long to wait for each reply.
    pub command_timeout: Duration,
    /// How long an idle connection is kept for the next message to its hop.
    pub idle_timeout: Duration,
    /// Most outbound connections of this core.
    pub max_connections: usize,
    /// Most outbound connections of this core to one hop.
    pub max_connections_per_host: usize,
    /// The recursive DNS resolver for MX routes.
    pub resolver: SocketAddr,
    /// The roots a `tls = "required"` hop's certificate must chain to.
    pub tls_roots: Vec<CertificateDer<'static>>,
}

/// A next hop: a smarthost route, or one recipient domain of an MX route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum HopKey {
    /// The route's smarthost list.
    Route(usize),
    /// The mail exchangers of a domain (lower-case) on a port, with the route's TLS mode:
    /// an MX route, or the default for a domain no route matches.
    Mx(u16, TlsMode, String),
}

/// For a recipient without a domain (the bare `<Postmaster>`), which no MX lookup can
/// place, when no `*` route takes it.
const NO_ROUTE: Reply = Reply::fixed(
    451,
    Enhanced(4, 4, 0),
    "No route for a recipient without a domain",
);

/// What a held recipient's outcome says while it waits for ETRN/ATRN/TURN.
const HELD: Reply = Reply::fixed(
    451,
    Enhanced(4, 3, 2),
    "Held for the domain's owner to fetch (ETRN/ATRN)",
);

/// A `tls = "required"` route without usable roots (validation prevents it).
const NO_TLS_ROOTS: Reply = Reply::fixed(
    451,
    Enhanced(4, 7, 5),
    "TLS is required but no trusted roots are configured",
);

/// Reading the queued message back failed.
const QUEUE_READ: Reply = Reply::fixed(451, Enhanced(4, 3, 0), "Cannot read the queued message");

/// Most jobs waiting on hops at once: beyond it the dispatcher leaves the rest in the
/// queue for its next round, so a backlog of a million messages costs no memory here.
const MAX_QUEUED_JOBS: usize = 4096;

/// The recipients of one message that go to one hop.
#[derive(Debug)]
struct Job {
    id: MessageId,
    rcpts: Vec<u32>,
}

#[derive(Debug, Default)]
struct Hop {
    jobs: VecDeque<Job>,
    /// Connection tasks alive.
    active: usize,
    /// Connection tasks waiting for a job.
    idle: usize,
    /// Connection tasks still connecting: each will take a job when it is ready, so no
    /// further connection is opened for the jobs they will take.
    connecting: usize,
    /// Raised when a job is queued, for the idle connections. An `Rc` so that a
    /// connection can wait on it without holding a borrow of the hop table.
    more: Rc<Signal>,
}

/// One core's delivery worker.
#[derive(Debug)]
pub struct Worker {
    shard: Rc<Shard>,
    config: WorkerConfig,
    /// Raised by the core when a message is stored, by connections when they end.
    wake: Rc<Signal>,
    /// By route index.
    hops: RefCell<HashMap<HopKey, Hop>>,
    dns: Dns,
    tls: TlsClients,
    /// Jobs not finished per message: a message in here is not dispatched again.
    busy: RefCell<HashMap<MessageId, usize>>,
    connections: Cell<usize>,
    queued: Cell<usize>,
    stopping: Cell<bool>,
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn seed(id: MessageId, rcpt: u32) -> u64 {
    id.seq ^ id.epoch.rotate_left(17) ^ (u64::from(id.shard) << 48) ^ u64::from(rcpt)
}

/// The attempts made so far for a recipient state.
fn attempts(state: Option<&Outcome>) -> u32 {
    match state {
        Some(Outcome::Deferred { attempts, .. }) => *attempts,
        _ => 0,
    }
}

impl Worker {
    /// A worker for `shard`; the core raises `wake` whenever it stores a message.
    pub fn new(shard: Rc<Shard>, config: WorkerConfig, wake: Rc<Signal>) -> Rc<Worker> {
        Rc::new(Worker {
            shard,
            dns: Dns::new(config.resolver),
            tls: TlsClients::new(&config.tls_roots).unwrap_or_else(|e| {
                // Validation checked the roots; should they fail here anyway, required
                // routes defer rather than the core dying.
                eprintln!("tern: outbound TLS roots unusable: {e}");
                TlsClients::new(&[]).unwrap_or_else(|_| unreachable_tls())
            }),
            config,
            wake,
            hops: RefCell::default(),
            busy: RefCell::default(),
            connections: Cell::new(0),
            queued: Cell::new(0),
            stopping: Cell::new(false),
        })
    }

    /// Runs until `stop` completes, then lets the connections finish the message they
    /// are on (for at most `grace`) and returns.
    pub async fn run(self: Rc<Self>, stop: impl Future<Output = ()>, grace: Duration) {
        let mut stop = pin!(stop);
        // Messages whose recipients were all final when the last run ended (a crash between
        // the last outcome and the done record) are in no ready index: finish them now.
        for id in self.shard.ids() {
            if self
                .shard
                .get(id)
                .is_some_and(|m| m.next_attempt().is_none())
            {
                self.finish_if_final(id).await;
            }
        }
        loop {
            let now = now_unix();
            self.dispatch_due(now).await;
            self.fill_connections();
            let wait = match self.shard.earliest() {
                Some((t, _)) if t > now => Duration::from_secs(t - now),
                // Due but busy (or more than MAX_QUEUED_JOBS due): the connections wake
                // us as they finish; the tick is a safety net.
                Some(_) => Duration::from_secs(1),
                None => Duration::from_secs(3600),
            };
            let stopped = futures_lite::future::or(
                async {
                    stop.as_mut().await;
                    true
                },
                async {
                    futures_lite::future::or(self.wake.wait(), sleep(wait)).await;
                    false
                },
            )
            .await;
            if stopped {
                break;
            }
        }
        self.stopping.set(true);
        for hop in self.hops.borrow().values() {
            hop.more.notify();
        }
        let deadline = Instant::now() + grace;
        while self.connections.get() > 0 && Instant::now() < deadline {
            sleep(Duration::from_millis(10)).await;
        }
    }

    async fn dispatch_due(self: &Rc<Self>, now: u64) {
        for id in self.shard.due(now) {
            if self.queued.get() >= MAX_QUEUED_JOBS {
                break;
            }
            if self.busy.borrow().contains_key(&id) {
                continue;
            }
            self.dispatch(id, now).await;
        }
    }

    /// Routes the recipients of `id` that are due: held and unroutable ones get their
    /// outcome at once, the rest become jobs on their hops.
    async fn dispatch(self: &Rc<Self>, id: MessageId, now: u64) {
        let Some(msg) = self.shard.get(id) else {
            return;
        };
        let mut jobs: HashMap<HopKey, Vec<u32>> = HashMap::new();
        let mut immediate = Vec::new();
        for (i, (rcpt, state)) in msg
            .meta
            .envelope
            .rcpts
            .iter()
            .zip(&msg.recipients)
            .enumerate()
        {
            let i = i as u32;
            match state {
                None => {}
                Some(Outcome::Deferred { next_attempt, .. }) if *next_attempt <= now => {}
                _ => continue,
            }
            let domain = rcpt.path.mailbox().map_or("", |m| m.domain());
            match self.config.routes.lookup(domain) {
                Some((hop, route)) => match &route.action {
                    RouteAction::Smarthost(_) => {
                        jobs.entry(HopKey::Route(hop)).or_default().push(i)
                    }
                    RouteAction::Mx { port } => jobs
                        .entry(HopKey::Mx(*port, route.tls, domain.to_ascii_lowercase()))
                        .or_default()
                        .push(i),
                    // Queued before the route said so: refuse it now, as RCPT would have.
                    RouteAction::Reject(reply) => immediate.push((
                        i,
                        Outcome::Failed {
                            reply: Recorded::local(reply).to_string(),
                        },
                    )),
                    RouteAction::Hold => {
                        let outcome = if self.config.schedule.expired(msg.meta.arrival, now) {
                            Outcome::Failed {
                                reply: Recorded::local(&HELD).to_string(),
                            }
                        } else {
                            // A held recipient is looked at again every retry_max, so that
                            // the lifetime is enforced; holding is not an attempt.
                            Outcome::Deferred {
                                next_attempt: now + self.config.schedule.retry_max.as_secs().max(1),
                                attempts: attempts(state.as_ref()),
                                reply: Recorded::local(&HELD).to_string(),
                            }
                        };
                        immediate.push((i, outcome));
                    }
                },
                // The default route: MX delivery on port 25. A bare <Postmaster> has no
                // domain to look up; it waits (and bounces after the queue lifetime).
                None if !domain.is_empty() => jobs
                    .entry(HopKey::Mx(
                        25,
                        TlsMode::Opportunistic,
                        domain.to_ascii_lowercase(),
                    ))
                    .or_default()
                    .push(i),
                None => {
                    let decision = self.config.schedule.decide(
                        &NO_ROUTE,
                        msg.meta.arrival,
                        attempts(state.as_ref()),
                        now,
                        seed(id, i),
                    );
                    immediate.push((i, outcome_of(decision, &Recorded::local(&NO_ROUTE))));
                }
            }
        }
        if !immediate.is_empty() {
            self.record(id, immediate).await;
        }
        if jobs.is_empty() {
            self.finish_if_final(id).await;
            return;
        }
        self.busy.borrow_mut().insert(id, jobs.len());
        let mut hops = self.hops.borrow_mut();
        for (hop, rcpts) in jobs {
            let h = hops.entry(hop).or_default();
            h.jobs.push_back(Job { id, rcpts });
            h.more.notify();
            self.queued.set(self.queued.get() + 1);
        }
    }

    /// Starts connection tasks where jobs wait and the limits allow.
    fn fill_connections(self: &Rc<Self>) {
        if self.stopping.get() {
            return;
        }
        let mut start = Vec::new();
        {
            let mut hops = self.hops.borrow_mut();
            for (hop, h) in hops.iter_mut() {
                while h.jobs.len() > h.idle + h.connecting
                    && h.active < self.config.max_connections_per_host
                    && self.connections.get() < self.config.max_connections
                {
                    h.active += 1;
                    h.connecting += 1;
                    self.connections.set(self.connections.get() + 1);
                    start.push(hop.clone());
                }
            }
        }
        for hop in start {
            let me = Rc::clone(self);
            spawn_local(async move { me.connection(hop).await }).detach();
        }
    }

    /// Where a hop's mail goes, in the order to try. `Err` is the reply for every
    /// recipient of the hop when there is nowhere (null MX, unknown domain, DNS failure).
    async fn destinations(&self, hop: &HopKey) -> Result<Vec<(String, SocketAddr)>, Reply> {
        match hop {
            HopKey::Route(i) => match self.config.routes.routes().get(*i).map(|r| &r.action) {
                Some(RouteAction::Smarthost(targets)) => {
                    Ok(targets.iter().map(|t| (t.name.clone(), t.addr)).collect())
                }
                _ => Err(NO_ROUTE),
            },
            HopKey::Mx(port, _, domain) => match address_literal(domain) {
                // RFC 5321 5.1: an address literal is the destination itself, no DNS.
                Some(ip) => Ok(vec![(domain.clone(), SocketAddr::new(ip, *port))]),
                None => self.dns.mail_exchangers(domain, *port).await,
            },
        }
    }

    /// How a hop's connections are secured.
    fn tls_setup(&self, hop: &HopKey) -> Result<TlsSetup, Reply> {
        let mode = match hop {
            HopKey::Route(i) => self
                .config
                .routes
                .routes()
                .get(*i)
                .map(|r| r.tls)
                .unwrap_or_default(),
            HopKey::Mx(_, mode, _) => *mode,
        };
        match mode {
            TlsMode::Opportunistic => Ok(TlsSetup {
                policy: TlsPolicy::Opportunistic,
                config: Arc::clone(&self.tls.opportunistic),
            }),
            TlsMode::Required => match &self.tls.verified {
                Some(config) => Ok(TlsSetup {
                    policy: TlsPolicy::Required,
                    config: Arc::clone(config),
                }),
                None => Err(NO_TLS_ROOTS),
            },
        }
    }

    fn take_job(&self, hop: &HopKey) -> Option<Job> {
        let job = self.hops.borrow_mut().get_mut(hop)?.jobs.pop_front();
        if job.is_some() {
            self.queued.set(self.queued.get() - 1);
        }
        job
    }

    /// One connection task: connect (failing over along the hop's addresses), deliver
    /// jobs until none comes within the idle timeout, QUIT.
    async fn connection(self: Rc<Self>, hop: HopKey) {
        let timeouts = Timeouts {
            connect: self.config.connect_timeout,
            command: self.config.command_timeout,
        };
        let mut conn = None;
        let found = match self.tls_setup(&hop) {
            Ok(setup) => self.destinations(&hop).await.map(|d| (d, setup)),
            Err(reply) => Err(reply),
        };
        let (addrs, setup, mut last) = match found {
            Ok((addrs, setup)) => (addrs, Some(setup), local::CONNECTION_LOST),
            Err(reply) => (Vec::new(), None, reply),
        };
        for (name, addr) in addrs {
            let Some(setup) = &setup else { break };
            let hello = &self.config.hostname;
            let mut opened = Conn::open(&name, addr, hello, timeouts, setup).await;
            if let Err(f) = &opened {
                if f.tls && setup.policy == TlsPolicy::Opportunistic {
                    // Opportunistic TLS that fails its handshake falls back to plaintext,
                    // as it would had the hop not offered STARTTLS.
                    let plain = TlsSetup {
                        policy: TlsPolicy::Disabled,
                        config: Arc::clone(&setup.config),
                    };
                    opened = Conn::open(&name, addr, hello, timeouts, &plain).await;
                }
            }
            match opened {
                Ok(c) => {
                    conn = Some(c);
                    break;
                }
                Err(f) => last = f.reply,
            }
        }
        if let Some(h) = self.hops.borrow_mut().get_mut(&hop) {
            h.connecting -= 1;
        }
        match conn {
            Some(conn) => self.deliver_over(&hop, conn).await,
            None => {
                // Nothing reachable: every job waiting for this hop gets the reason now,
                // rather than one failed connection each.
                while let Some(job) = self.take_job(&hop) {
                    let rec = Recorded::local(&last);
                    self.finish_job(job, |_| rec.clone()).await;
                }
            }
        }
        if let Some(h) = self.hops.borrow_mut().get_mut(&hop) {
            h.active -= 1;
        }
        self.connections.set(self.connections.get() - 1);
        self.wake.notify();
    }

    async fn deliver_over(&self, hop: &HopKey, mut conn: Conn) {
        let mut reused = false;
        loop {
            let job = match self.take_job(hop) {
                Some(job) => job,
                None if self.stopping.get() => break,
                None => {
                    let more = {
                        let mut hops = self.hops.borrow_mut();
                        let Some(h) = hops.get_mut(hop) else { break };
                        h.idle += 1;
                        Rc::clone(&h.more)
                    };
                    let got = futures_lite::future::or(
                        async {
                            more.wait().await;
                            true
                        },
                        async {
                            sleep(self.config.idle_timeout).await;
                            false
                        },
                    )
                    .await;
                    if let Some(h) = self.hops.borrow_mut().get_mut(hop) {
                        h.idle -= 1;
                    }
                    if !got {
                        break;
                    }
                    reused = true;
                    continue;
                }
            };
            match self.deliver(&mut conn, job, reused).await {
                Ok(()) => reused = true,
                Err(job) => {
                    // The cached connection had been closed by the hop before we spoke: put
                    // the job back for a fresh connection, it was not attempted.
                    self.requeue(hop, job);
                    break;
                }
            }
            if conn.session.is_closed() {
                break;
            }
        }
        conn.close().await;
    }

    fn requeue(&self, hop: &HopKey, job: Job) {
        if let Some(h) = self.hops.borrow_mut().get_mut(hop) {
            h.jobs.push_front(job);
            self.queued.set(self.queued.get() + 1);
        }
    }

    /// Delivers one job on `conn` and records the outcomes. `Err` gives the job back when
    /// a reused connection turned out to be dead before the hop answered anything.
    async fn deliver(&self, conn: &mut Conn, job: Job, reused: bool) -> Result<(), Job> {
        let Some(msg) = self.shard.get(job.id) else {
            self.job_done(job.id).await;
            return Ok(());
        };
        let body = match self.shard.read_body(job.id).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("tern: cannot read queued message {}: {e}", job.id);
                let rec = Recorded::local(&QUEUE_READ);
                self.finish_job(job, |_| rec.clone()).await;
                return Ok(());
            }
        };
        let env = job_envelope(&msg, &job.rcpts, body.len());
        if conn.session.send_mail(&env).is_err() {
            return Err(job);
        }
        let result = loop {
            match conn.next_event().await {
                ClientEvent::NeedBody(BodyFormat::DotStuffed) => {
                    let mut stuffed = Vec::with_capacity(body.len() + body.len() / 64 + 8);
                    tern_proto::body::stuff(&body, &mut stuffed);
                    let _ = conn.session.send_body(&stuffed);
                }
                ClientEvent::NeedBody(BodyFormat::Raw) => {
                    let _ = conn.session.send_body(&body);
                }
                ClientEvent::TransactionDone(result) => break Some(result),
                ClientEvent::Closed(_) | ClientEvent::Failed(_) => break None,
                ClientEvent::ProtocolError(_) | ClientEvent::Ready | ClientEvent::StartTls => {}
            }
        };
        let Some(result) = result else {
            return Err(job);
        };
        if reused && result.mail == local::CONNECTION_LOST {
            return Err(job);
        }
        let remote = conn.peer.ip().to_string();
        let relayed = !conn.session.capabilities().dsn;
        let mut success_notices = Vec::new();
        let outcomes: Vec<Recorded> = (0..job.rcpts.len())
            .map(|k| {
                let reply = result.outcome(k);
                if result.local
                    || result.mail == local::CONNECTION_LOST
                    || reply == &local::CONNECTION_LOST
                {
                    Recorded::local(reply)
                } else {
                    Recorded::remote(remote.clone(), reply)
                }
            })
            .collect();
        for (k, &i) in job.rcpts.iter().enumerate() {
            let r = &msg.meta.envelope.rcpts[i as usize];
            if relayed && result.delivered(k) && dsn::wanted(r.params.notify, Action::Relayed) {
                success_notices.push(ReportRecipient {
                    rcpt: r.clone(),
                    reply: Some(outcomes[k].clone()),
                });
            }
        }
        let by_index: HashMap<u32, Recorded> = job.rcpts.iter().copied().zip(outcomes).collect();
        self.finish_job(job, |i| {
            by_index
                .get(&i)
                .cloned()
                .unwrap_or_else(|| Recorded::local(&local::PROTOCOL_ERROR))
        })
        .await;
        if !success_notices.is_empty() {
            self.notify_sender(&msg, Action::Relayed, &success_notices, &body)
                .await;
        }
        Ok(())
    }

    /// Records an outcome for each recipient of `job` from `reply_for(rcpt)`, then
    /// retires the job.
    async fn finish_job(&self, job: Job, reply_for: impl Fn(u32) -> Recorded) {
        let now = now_unix();
        if let Some(msg) = self.shard.get(job.id) {
            let outcomes: Vec<(u32, Outcome)> = job
                .rcpts
                .iter()
                .map(|&i| {
                    let rec = reply_for(i);
                    let prev = msg.recipients.get(i as usize).and_then(Option::as_ref);
                    let decision = self.config.schedule.decide(
                        &rec.reply,
                        msg.meta.arrival,
                        attempts(prev),
                        now,
                        seed(job.id, i),
                    );
                    (i, outcome_of(decision, &rec))
                })
                .collect();
            let delayed: Vec<ReportRecipient> = outcomes
                .iter()
                .filter_map(|(i, o)| {
                    let Outcome::Deferred { reply, .. } = o else {
                        return None;
                    };
                    let rcpt = msg.meta.envelope.rcpts.get(*i as usize)?;
                    let prev = match msg.recipients.get(*i as usize) {
                        Some(Some(Outcome::Deferred {
                            next_attempt,
                            attempts,
                            ..
                        })) => Some((*next_attempt, *attempts)),
                        _ => None,
                    };
                    let due = dsn::wanted(rcpt.params.notify, Action::Delayed)
                        && self.config.schedule.delay_notice_due(
                            msg.meta.arrival,
                            prev,
                            now,
                            seed(job.id, *i),
                        );
                    due.then(|| ReportRecipient {
                        rcpt: rcpt.clone(),
                        reply: Some(Recorded::parse(reply)),
                    })
                })
                .collect();
            self.record(job.id, outcomes).await;
            if !delayed.is_empty() {
                match self.shard.read_body(job.id).await {
                    Ok(body) => {
                        self.notify_sender(&msg, Action::Delayed, &delayed, &body)
                            .await
                    }
                    Err(e) => eprintln!("tern: cannot read {} for its delay notice: {e}", job.id),
                }
            }
        }
        self.job_done(job.id).await;
    }

    async fn job_done(&self, id: MessageId) {
        let last = {
            let mut busy = self.busy.borrow_mut();
            match busy.get_mut(&id) {
                Some(n) if *n > 1 => {
                    *n -= 1;
                    false
                }
                Some(_) => {
                    busy.remove(&id);
                    true
                }
                None => true,
            }
        };
        if last {
            self.finish_if_final(id).await;
        }
    }

    /// Writes outcomes; they share a group commit.
    async fn record(&self, id: MessageId, outcomes: Vec<(u32, Outcome)>) {
        let tasks: Vec<Task<()>> = outcomes
            .into_iter()
            .map(|(i, outcome)| {
                let shard = Rc::clone(&self.shard);
                spawn_local(async move {
                    if let Err(e) = shard.append_outcome(id, i, outcome).await {
                        eprintln!("tern: cannot record the outcome of {id} recipient {i}: {e}");
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await;
        }
    }

    /// When every recipient of `id` is final: queue the bounce if one is owed, then mark
    /// the message done.
    async fn finish_if_final(&self, id: MessageId) {
        let Some(msg) = self.shard.get(id) else {
            return;
        };
        if msg.next_attempt().is_some() {
            return;
        }
        let failed: Vec<ReportRecipient> = msg
            .meta
            .envelope
            .rcpts
            .iter()
            .zip(&msg.recipients)
            .filter_map(|(r, st)| match st {
                Some(Outcome::Failed { reply }) if dsn::wanted(r.params.notify, Action::Failed) => {
                    Some(ReportRecipient {
                        rcpt: r.clone(),
                        reply: Some(Recorded::parse(reply)),
                    })
                }
                _ => None,
            })
            .collect();
        if !failed.is_empty() {
            match self.shard.read_body(id).await {
                Ok(body) => {
                    self.notify_sender(&msg, Action::Failed, &failed, &body)
                        .await
                }
                Err(e) => eprintln!("tern: cannot read {id} for its bounce: {e}"),
            }
        }
        if let Err(e) = self.shard.mark_done(id).await {
            eprintln!("tern: cannot mark {id} done: {e}");
        }
    }

    /// Queues a DSN to the sender of `msg`, from `<>`. A message from `<>` gets none: a
    /// bounce never bounces (RFC 5321 4.5.5); its loss is logged instead.
    async fn notify_sender(
        &self,
        msg: &QueuedMessage,
        action: Action,
        recipients: &[ReportRecipient],
        original: &[u8],
    ) {
        let id = msg.meta.id;
        let Some(sender) = msg.meta.envelope.from.mailbox() else {
            if action == Action::Failed {
                for r in recipients {
                    let why = r
                        .reply
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    eprintln!(
                        "tern: dropping undeliverable bounce {id} to {}: {why}",
                        r.rcpt.path
                    );
                }
            }
            return;
        };
        let id_text = id.to_string();
        let now = now_unix();
        let body = dsn::build(&Report {
            reporting_mta: &self.config.hostname,
            id: &id_text,
            envelope: &msg.meta.envelope,
            arrival: msg.meta.arrival,
            now,
            action,
            recipients,
            original,
        });
        let params = MailParams {
            body: msg.meta.envelope.params.body,
            smtputf8: sender.is_utf8() || msg.meta.envelope.params.smtputf8,
            ..MailParams::default()
        };
        let bounce = NewMessage {
            arrival: now,
            client: ClientInfo {
                helo: self.config.hostname.clone(),
                peer_ip: "127.0.0.1".to_owned(),
                auth_user: None,
                tls: false,
            },
            envelope: Envelope {
                from: ReversePath::Null,
                params,
                rcpts: vec![Recipient {
                    path: ForwardPath::Mailbox(sender.clone()),
                    params: RcptParams::default(),
                }],
            },
            body,
        };
        match self.shard.append_message(bounce).await {
            Ok(bid) => {
                eprintln!("tern: {id}: {} notice queued as {bid}", action_name(action));
                self.wake.notify();
            }
            Err(e) => eprintln!(
                "tern: {id}: cannot queue the {} notice: {e}",
                action_name(action)
            ),
        }
    }
}

/// Building a TLS client without roots cannot fail (the default protocol versions are
/// always available); if it somehow did, the core cannot deliver securely at all.
fn unreachable_tls() -> TlsClients {
    panic!("rustls refused its own default configuration")
}

/// `[192.0.2.1]` or `[IPv6:2001:db8::1]` as an address.
fn address_literal(domain: &str) -> Option<std::net::IpAddr> {
    let inner = domain.strip_prefix('[')?.strip_suffix(']')?;
    match inner.get(..5) {
        Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => inner[5..].parse().ok(),
        _ => inner.parse::<std::net::Ipv4Addr>().ok().map(Into::into),
    }
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Failed => "bounce",
        Action::Delayed => "delay",
        Action::Relayed => "relay",
    }
}

fn outcome_of(decision: Decision, rec: &Recorded) -> Outcome {
    match decision {
        Decision::Delivered => Outcome::Delivered,
        Decision::Deferred {
            next_attempt,
            attempts,
        } => Outcome::Deferred {
            next_attempt,
            attempts,
            reply: rec.to_string(),
        },
        Decision::Failed => Outcome::Failed {
            reply: rec.to_string(),
        },
    }
}

/// The envelope for the recipients `rcpts` of `msg`, with SIZE set to the body length
/// (the client session both sends it and checks it against the hop's limit).
fn job_envelope(msg: &QueuedMessage, rcpts: &[u32], size: usize) -> Envelope {
    let env = &msg.meta.envelope;
    let mut params = env.params.clone();
    params.size = Some(size as u64);
    Envelope {
        from: env.from.clone(),
        params,
        rcpts: rcpts
            .iter()
            .filter_map(|&i| env.rcpts.get(i as usize).cloned())
            .collect(),
    }
}

/// Runs a worker for `shard` until `stop`; see [`Worker::run`].
pub async fn run(
    shard: Rc<Shard>,
    config: WorkerConfig,
    wake: Rc<Signal>,
    stop: impl Future<Output = ()>,
    grace: Duration,
) {
    Worker::new(shard, config, wake).run(stop, grace).await;
}
