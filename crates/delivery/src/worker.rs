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
//! A recipient's `Delivered` outcome is staged after the hop's 250 and lands with the next
//! group commit; the connection goes on to its next message meanwhile, and a task of its
//! own waits for the sync. A crash before that sync, or while the hop has a message whose
//! reply has not reached us (at most the two transactions in flight on a pipelining
//! connection), makes the restarted worker deliver that recipient again: that window is
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

use glommio::spawn_local;
use glommio::timer::sleep;
use rustls::pki_types::CertificateDer;
use tern_proto::client::{local, BodyFormat, ClientEvent, TlsPolicy, TransactionResult};
use tern_proto::reply::{Enhanced, Reply};
use tern_proto::{Envelope, ForwardPath, MailParams, RcptParams, Recipient, ReversePath};
use tern_queue::{ClientInfo, MessageId, NewMessage, Outcome, QueuedMessage, Shard, Staged};

use crate::conn::{Conn, Timeouts, TlsSetup};
use crate::dns::Dns;
use crate::dsn::{self, Action, Report, ReportRecipient};
use crate::outcome::Recorded;
use crate::route::{RouteAction, RouteTable, TlsMode};
use crate::schedule::{Decision, Schedule};
use crate::signal::Signal;

mod finish;
mod hop;
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

/// rustls could not build a client configuration (logged at start-up).
const NO_TLS: Reply = Reply::fixed(451, Enhanced(4, 7, 5), "Outbound TLS is not available");

/// Reading the queued message back failed.
const QUEUE_READ: Reply = Reply::fixed(451, Enhanced(4, 3, 0), "Cannot read the queued message");

/// Most jobs waiting on hops at once: beyond it the dispatcher leaves the rest in the
/// queue for its next round, so a backlog of a million messages costs no memory here.
const MAX_QUEUED_JOBS: usize = 1024;

/// When the jobs queued fall to this many, the dispatcher is woken to queue more.
const REFILL_AT: usize = MAX_QUEUED_JOBS / 2;

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
    /// The TLS client configurations; `Err` only if rustls refused to build one, which
    /// then defers every hop instead of taking the core down.
    tls: Result<TlsClients, String>,
    /// Jobs not finished per message: a message in here is not dispatched again.
    busy: RefCell<HashMap<MessageId, usize>>,
    connections: Cell<usize>,
    queued: Cell<usize>,
    stopping: Cell<bool>,
    /// Background waits for staged records (see `durable_later`) not yet landed.
    syncing: Rc<Cell<usize>>,
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
            tls: TlsClients::new(&config.tls_roots).inspect_err(|e| {
                eprintln!("tern: cannot set up outbound TLS: {e}");
            }),
            config,
            wake,
            hops: RefCell::default(),
            busy: RefCell::default(),
            connections: Cell::new(0),
            queued: Cell::new(0),
            stopping: Cell::new(false),
            syncing: Rc::default(),
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
        while (self.connections.get() > 0 || self.syncing.get() > 0) && Instant::now() < deadline {
            sleep(Duration::from_millis(10)).await;
        }
    }

    async fn dispatch_due(self: &Rc<Self>, now: u64) {
        let room = MAX_QUEUED_JOBS.saturating_sub(self.queued.get());
        if room == 0 {
            return;
        }
        // Busy messages are still due until their outcomes are written: look past them,
        // but not at the whole backlog (that made a deep queue quadratic to drain).
        let busy = self.busy.borrow().len();
        for id in self.shard.due_first(now, busy + room) {
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
        let staged = self.stage_outcomes(id, immediate);
        self.durable_later(id, staged);
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

    fn take_job(&self, hop: &HopKey) -> Option<Job> {
        let job = self.hops.borrow_mut().get_mut(hop)?.jobs.pop_front();
        if job.is_some() {
            let queued = self.queued.get() - 1;
            self.queued.set(queued);
            // A deep backlog is handed out MAX_QUEUED_JOBS at a time: ask for the next
            // round while half of this one is still queued, so the connections never
            // run dry waiting for the dispatcher's tick.
            if queued == REFILL_AT {
                self.wake.notify();
            }
        }
        job
    }

    fn requeue(&self, hop: &HopKey, job: Job) {
        if let Some(h) = self.hops.borrow_mut().get_mut(hop) {
            h.jobs.push_front(job);
            self.queued.set(self.queued.get() + 1);
        }
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
