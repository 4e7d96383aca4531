//! A hop's connections: where they go (smarthost list or MX lookup), how they are
//! secured, and the task that delivers job after job over one connection, with the idle
//! wait that makes the connection cache.

use super::*;

impl Worker {
    /// Where a hop's mail goes, in the order to try. `Err` is the reply for every
    /// recipient of the hop when there is nowhere (null MX, unknown domain, DNS failure).
    pub(super) async fn destinations(
        &self,
        hop: &HopKey,
    ) -> Result<Vec<(String, SocketAddr)>, Reply> {
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
    pub(super) fn tls_setup(&self, hop: &HopKey) -> Result<TlsSetup, Reply> {
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
        let Ok(tls) = &self.tls else {
            return Err(NO_TLS);
        };
        match mode {
            TlsMode::Opportunistic => Ok(TlsSetup {
                policy: TlsPolicy::Opportunistic,
                config: Arc::clone(&tls.opportunistic),
            }),
            TlsMode::Required => match &tls.verified {
                Some(config) => Ok(TlsSetup {
                    policy: TlsPolicy::Required,
                    config: Arc::clone(config),
                }),
                None => Err(NO_TLS_ROOTS),
            },
        }
    }

    /// One connection task: connect (failing over along the hop's addresses), deliver
    /// jobs until none comes within the idle timeout, QUIT.
    pub(super) async fn connection(self: Rc<Self>, hop: HopKey) {
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

    /// Delivers the hop's jobs over `conn` until none comes within the idle timeout (or
    /// the hop closes). With PIPELINING, up to [`crate::conn::WINDOW`] transactions are in
    /// flight: the next MAIL, RCPT and DATA leave with the previous body's end (with BDAT,
    /// whole transactions go back to back), so a message costs one round trip, not two.
    pub(super) async fn deliver_over(&self, hop: &HopKey, mut conn: Conn) {
        let mut reused = false;
        let mut flight: VecDeque<InFlight> = VecDeque::new();
        let mut broken = false;
        while !broken {
            // At shutdown only the transactions in flight finish: the queue keeps the rest.
            while !self.stopping.get() && conn.session.can_send_mail() {
                let Some(job) = self.take_job(hop) else { break };
                let Some(f) = self.prepare(job).await else {
                    continue;
                };
                if conn.session.send_mail(&f.envelope).is_err() {
                    // The hop closed the cached connection before we spoke: the job was
                    // not attempted; it waits for a fresh connection.
                    self.requeue(hop, f.job);
                    broken = true;
                    break;
                }
                flight.push_back(f);
            }
            if flight.is_empty() {
                if broken || self.stopping.get() || conn.session.is_closed() {
                    break;
                }
                if !self.wait_for_job(hop).await {
                    break;
                }
                reused = true;
                continue;
            }
            match conn.next_event().await {
                ClientEvent::NeedBody(format) => {
                    // Bodies are asked for in transaction order.
                    if let Some(f) = flight.iter_mut().find(|f| !f.body_sent) {
                        f.body_sent = true;
                        let _ = match format {
                            BodyFormat::DotStuffed => {
                                let mut stuffed =
                                    Vec::with_capacity(f.body.len() + f.body.len() / 64 + 8);
                                tern_proto::body::stuff(&f.body, &mut stuffed);
                                conn.session.send_body(&stuffed)
                            }
                            BodyFormat::Raw => conn.session.send_body(&f.body),
                        };
                    }
                }
                ClientEvent::TransactionDone(result) => {
                    let Some(f) = flight.pop_front() else {
                        continue;
                    };
                    if reused && result.mail == local::CONNECTION_LOST {
                        // Lost before the hop answered MAIL: not attempted, try again on a
                        // fresh connection.
                        self.requeue(hop, f.job);
                    } else {
                        self.record(&conn, f, &result).await;
                        reused = true;
                    }
                }
                // The session ends every transaction in flight with a TransactionDone
                // before Closed, so `flight` is empty here; should one remain, it was not
                // answered and goes back to the front of the hop's queue, in order.
                ClientEvent::Closed(_) | ClientEvent::Failed(_) => {
                    for f in flight.drain(..).rev() {
                        self.requeue(hop, f.job);
                    }
                    break;
                }
                ClientEvent::ProtocolError(_) | ClientEvent::Ready | ClientEvent::StartTls => {}
            }
        }
        conn.close().await;
    }

    /// Waits up to the idle timeout for a job on `hop`; false when none came.
    async fn wait_for_job(&self, hop: &HopKey) -> bool {
        let more = {
            let mut hops = self.hops.borrow_mut();
            let Some(h) = hops.get_mut(hop) else {
                return false;
            };
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
        got
    }

    /// The message and body of `job`, ready to send; `None` when the job ended here (the
    /// message is gone, or its body cannot be read: recorded as a local deferral).
    async fn prepare(&self, job: Job) -> Option<InFlight> {
        let Some(msg) = self.shard.get(job.id) else {
            self.job_done(job.id).await;
            return None;
        };
        let body = match self.shard.read_body(job.id).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("tern: cannot read queued message {}: {e}", job.id);
                let rec = Recorded::local(&QUEUE_READ);
                self.finish_job(job, |_| rec.clone()).await;
                return None;
            }
        };
        let envelope = job_envelope(&msg, &job.rcpts, body.len());
        Some(InFlight {
            job,
            msg,
            envelope,
            body,
            body_sent: false,
        })
    }

    /// Records the outcome of each recipient of a finished transaction, and the relayed
    /// notices it owes.
    async fn record(&self, conn: &Conn, f: InFlight, result: &TransactionResult) {
        let InFlight { job, msg, body, .. } = f;
        // Remote-MTA names the host (RFC 3464 2.3.5); a literal or bracketed IP is shown
        // as the address itself.
        let remote = if conn.name.is_empty() || conn.name.starts_with('[') {
            conn.peer.ip().to_string()
        } else {
            conn.name.clone()
        };
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
    }
}

/// A job whose transaction is on the connection.
pub(super) struct InFlight {
    job: Job,
    msg: QueuedMessage,
    envelope: Envelope,
    body: Vec<u8>,
    body_sent: bool,
}

/// `[192.0.2.1]` or `[IPv6:2001:db8::1]` as an address.
pub(super) fn address_literal(domain: &str) -> Option<std::net::IpAddr> {
    let inner = domain.strip_prefix('[')?.strip_suffix(']')?;
    match inner.get(..5) {
        Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => inner[5..].parse().ok(),
        _ => inner.parse::<std::net::Ipv4Addr>().ok().map(Into::into),
    }
}

/// The envelope for the recipients `rcpts` of `msg`, with SIZE set to the body length
/// (the client session both sends it and checks it against the hop's limit).
pub(super) fn job_envelope(msg: &QueuedMessage, rcpts: &[u32], size: usize) -> Envelope {
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
