//! One core: its queue shard, its listeners, its sessions. Nothing here is shared with
//! another core except the per-IP connection table (see `conn_limit`).

use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use glommio::net::{TcpListener, TcpStream};
use glommio::timer::sleep;
use glommio::{spawn_local, Task};
use tern_proto::received::{sole_recipient, Received, Timestamp, WithProtocol};
use tern_proto::server::{ClientInfo, Features, Message, Session, SessionConfig, StoreError};
use tern_queue::{AppendError, NewMessage, Shard, ShardConfig};

use crate::config::{self, Config};
use crate::conn_limit::{IpTable, Limits};
use crate::driver;
use crate::stop::Stop;

/// Everything one core owns, created when its executor starts.
#[derive(Debug)]
pub struct Core {
    /// The validated configuration (read-only, shared by every core).
    pub config: Arc<Config>,
    /// What sessions may do, derived from `config` once.
    pub session_config: Rc<SessionConfig>,
    /// This core's queue shard; every message accepted here is appended to it. Shared with
    /// this core's delivery worker.
    pub queue: Rc<Shard>,
    /// Raised after each stored message, to wake this core's delivery worker.
    pub delivery_wake: Rc<tern_delivery::signal::Signal>,
    /// Raised at shutdown: the accept loops end, idle sessions close with 421.
    pub stop: Stop,
    /// Connection counts; a session holds a permit for its lifetime.
    pub limits: Rc<Limits>,
}

/// The session limits and offered extensions for `config`.
pub fn session_config(config: &Config) -> SessionConfig {
    let mut s = SessionConfig::new(&config.server.hostname);
    s.max_message_size = config.limits.max_message_size;
    s.max_recipients = config.limits.max_recipients;
    s.max_bad_commands = config.limits.max_bad_commands;
    s.bare_newline = match config.limits.bare_newline {
        config::BareNewline::Reject => tern_proto::body::BareNewline::Reject,
        config::BareNewline::Normalize => tern_proto::body::BareNewline::Normalize,
    };
    s.accept_domains = config.relay.accept_domains.clone();
    s.rcpt_routes = config.routes.rejections();
    // STARTTLS, AUTH and ETRN are offered once the runtime can serve them.
    s.features = Features::default();
    s
}

impl Core {
    /// Opens this core's shard (replaying it) and builds the core.
    pub async fn open(
        index: usize,
        config: Arc<Config>,
        ips: Arc<IpTable>,
    ) -> Result<Rc<Core>, String> {
        let cores = config.server.cores.max(1) as u64;
        let shard_config = ShardConfig {
            segment_size: config.queue.segment_size,
            // The budget is for all cores together; each shard gets its share.
            max_disk_use: config.queue.max_disk_use / cores,
            ..ShardConfig::default()
        };
        let shard_no = u16::try_from(index).map_err(|_| format!("core {index}: too many cores"))?;
        let (queue, recovered) = Shard::open(&config.server.data_dir, shard_no, shard_config)
            .await
            .map_err(|e| format!("core {index}: cannot open the queue: {e}"))?;
        if let Some(cut) = &recovered.cut {
            eprintln!(
                "tern: core {index}: cut a torn or corrupt tail of {} bytes off {} at offset {}",
                cut.bytes,
                cut.segment.display(),
                cut.offset
            );
        }
        for s in &recovered.skipped {
            eprintln!(
                "tern: core {index}: stepped over damaged bytes {}..{} of {}; the records after them were kept",
                s.from,
                s.to,
                s.segment.display()
            );
        }
        if recovered.messages > 0 {
            eprintln!(
                "tern: core {index}: recovered {} queued messages from {} segments",
                recovered.messages, recovered.segments
            );
        }
        let limits = Rc::new(Limits::new(
            u32::try_from(config.limits.max_connections_per_core).unwrap_or(u32::MAX),
            ips,
        ));
        Ok(Rc::new(Core {
            session_config: Rc::new(session_config(&config)),
            config,
            queue: Rc::new(queue),
            delivery_wake: Rc::default(),
            stop: Stop::default(),
            limits,
        }))
    }

    /// Starts this core's delivery worker on its shard; it ends after [`Core::stop`].
    pub fn deliver(self: &Rc<Self>) -> Task<()> {
        let core = Rc::clone(self);
        spawn_local(async move {
            let d = &core.config.delivery;
            let config = tern_delivery::worker::WorkerConfig {
                hostname: core.config.server.hostname.clone(),
                routes: core.config.routes.clone(),
                schedule: d.schedule,
                connect_timeout: d.connect_timeout,
                command_timeout: d.command_timeout,
                idle_timeout: d.idle_timeout,
                max_connections: d.max_connections,
                max_connections_per_host: d.max_connections_per_host,
                resolver: d.resolver,
                tls_roots: d.tls_roots.clone(),
            };
            let (queue, wake) = (Rc::clone(&core.queue), Rc::clone(&core.delivery_wake));
            let stop = core.stop.wait();
            tern_delivery::worker::run(queue, config, wake, stop, driver::SHUTDOWN_GRACE).await;
        })
    }

    /// Binds every listener on this core (SO_REUSEPORT: each core has its own socket on
    /// the same address) and starts accepting.
    pub fn listen(self: &Rc<Self>) -> Result<Vec<Task<()>>, String> {
        let mut tasks = Vec::new();
        for l in &self.config.listeners {
            let listener = TcpListener::bind(l.address)
                .map_err(|e| format!("cannot listen on {}: {e}", l.address))?;
            tasks.push(spawn_local(Rc::clone(self).accept_loop(listener)));
        }
        Ok(tasks)
    }

    async fn accept_loop(self: Rc<Self>, listener: TcpListener) {
        loop {
            let accepted =
                futures_lite::future::or(async { Some(listener.accept().await) }, async {
                    self.stop.wait().await;
                    None
                })
                .await;
            let stream = match accepted {
                None => return,
                Some(Ok(s)) => s,
                Some(Err(e)) => {
                    // Out of descriptors or a connection reset before accept: back off a
                    // little instead of spinning, and keep serving.
                    eprintln!("tern: accept failed: {e}");
                    sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let Ok(peer) = stream.peer_addr() else {
                continue;
            };
            let core = Rc::clone(&self);
            spawn_local(async move { core.connection(stream, peer).await }).detach();
        }
    }

    async fn connection(self: Rc<Self>, stream: TcpStream, peer: SocketAddr) {
        let client = ClientInfo {
            relay_allowed: self.config.relay.is_trusted(peer.ip()),
            tls: false,
        };
        let mut session = Session::new(Rc::clone(&self.session_config), client);
        let Some(_permit) = self.limits.admit(peer.ip()) else {
            session.refuse_connection();
            driver::refuse(stream, &mut session).await;
            return;
        };
        driver::serve(Rc::clone(&self), stream, session, peer).await;
    }

    /// Makes a message durable: prepends the Received header and appends it to the
    /// shard. Returns the queue id as text only after the record is synced.
    pub async fn store(
        &self,
        session: &Session,
        peer: SocketAddr,
        message: Message,
    ) -> Result<String, StoreError> {
        let id = self.queue.reserve_id();
        let id_text = id.to_string();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let helo = session.helo().unwrap_or("unknown");
        let env = &message.envelope;
        // The Received header goes in front of the body as the record's head: the queue
        // writes both into its batch, so the message is not copied to prepend it.
        let mut head = Vec::with_capacity(256);
        Received {
            helo,
            client_ip: peer.ip(),
            reverse_name: None,
            by: &self.config.server.hostname,
            protocol: WithProtocol::new(
                session.esmtp(),
                session.tls(),
                session.auth_user().is_some(),
                env.params.smtputf8,
            ),
            id: &id_text,
            for_rcpt: sole_recipient(env.rcpts.iter().map(|r| &r.path)),
            time: Timestamp {
                unix: i64::try_from(now).unwrap_or(i64::MAX),
                offset_minutes: 0,
            },
        }
        .write(&mut head);
        let new = NewMessage {
            arrival: now,
            client: tern_queue::ClientInfo {
                helo: helo.to_owned(),
                peer_ip: peer.ip().to_string(),
                auth_user: session.auth_user().map(str::to_owned),
                tls: session.tls(),
            },
            envelope: message.envelope,
            head,
            body: message.body,
        };
        match self.queue.append_reserved(id, new).await {
            Ok(()) => {
                self.delivery_wake.notify();
                // The id as the Received header names it, for the 250 reply.
                Ok(id_text)
            }
            Err(AppendError::DiskFull) => Err(StoreError::DiskFull),
            Err(AppendError::Io) => Err(StoreError::Io),
        }
    }
}
