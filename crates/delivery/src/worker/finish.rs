//! After an attempt: outcomes recorded with one group commit, delay notices, and, once
//! every recipient of a message is final, its bounce and its done record.

use super::*;

impl Worker {
    /// Records an outcome for each recipient of `job` from `reply_for(rcpt)`, then
    /// retires the job.
    pub(super) async fn finish_job(&self, job: Job, reply_for: impl Fn(u32) -> Recorded) {
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
            let staged = self.stage_outcomes(job.id, outcomes);
            if !delayed.is_empty() {
                match self.shard.read_body(job.id).await {
                    Ok(body) => {
                        self.notify_sender(&msg, Action::Delayed, &delayed, &body)
                            .await
                    }
                    Err(e) => eprintln!("tern: cannot read {} for its delay notice: {e}", job.id),
                }
            }
            // When the message is now final, job_done stages its done record behind the
            // outcomes: one sync lands both.
            self.durable_later(job.id, staged);
            self.job_done(job.id).await;
            return;
        }
        self.job_done(job.id).await;
    }

    /// Lets staged records become durable in a task of their own, logging a failure: the
    /// caller, a connection with the next message to send, does not wait for the sync.
    /// Nothing else waits for it either: the in-memory state already says what the
    /// records say, and a failed sync poisons the shard, which stops new work.
    pub(super) fn durable_later(&self, id: MessageId, staged: Option<Staged<'_>>) {
        let Some(staged) = staged else { return };
        let record = staged.detach();
        let shard = Rc::clone(&self.shard);
        let syncing = Rc::clone(&self.syncing);
        syncing.set(syncing.get() + 1);
        spawn_local(async move {
            if let Err(e) = shard.durable(record).await {
                eprintln!("tern: cannot record the delivery state of {id}: {e}");
            }
            syncing.set(syncing.get() - 1);
        })
        .detach();
    }

    pub(super) async fn job_done(&self, id: MessageId) {
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

    /// Stages the outcomes of `id` in the current group-commit batch (the in-memory state
    /// is updated at once) and returns the last one, to be awaited: one sync covers them
    /// all, and the done record if it follows before the flush.
    pub(super) fn stage_outcomes(
        &self,
        id: MessageId,
        outcomes: Vec<(u32, Outcome)>,
    ) -> Option<Staged<'_>> {
        let mut last = None;
        for (i, outcome) in outcomes {
            match self.shard.stage_outcome(id, i, outcome) {
                Ok(s) => last = Some(s),
                Err(e) => eprintln!("tern: cannot record the outcome of {id} recipient {i}: {e}"),
            }
        }
        last
    }

    /// When every recipient of `id` is final: queue the bounce if one is owed, then mark
    /// the message done.
    pub(super) async fn finish_if_final(&self, id: MessageId) {
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
        // A bounce owed is durable by now (append_message waited for it): the done record
        // can follow without holding the connection up.
        match self.shard.stage_done(id) {
            Ok(staged) => self.durable_later(id, Some(staged)),
            Err(e) => eprintln!("tern: cannot mark {id} done: {e}"),
        }
    }

    /// Queues a DSN to the sender of `msg`, from `<>`. A message from `<>` gets none: a
    /// bounce never bounces (RFC 5321 4.5.5); its loss is logged instead.
    pub(super) async fn notify_sender(
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
            head: Vec::new(),
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

pub(super) fn action_name(a: Action) -> &'static str {
    match a {
        Action::Failed => "bounce",
        Action::Delayed => "delay",
        Action::Relayed => "relay",
    }
}
