//! `send --window W`: up to W transactions in flight on one pipelining session.
//!
//! A lock-step or one-at-a-time pipelined sender pays one or two round trips per message,
//! and on a loaded machine each round trip is a read and a write on both ends: that, not
//! SMTP, is what limited the sender. A window fills the session with transactions (with
//! BDAT each is written whole; with DATA the next MAIL leaves with the previous body),
//! writes them in one go, and reads the replies as they come.
//!
//! # Timing stays per command
//!
//! Every command is timed from the write that carried it to its own reply. Replies come in
//! command order (RFC 2920 3.1), and the session counts them per kind
//! ([`tern_proto::client::Answered`]): the k-th MAIL reply answers the k-th MAIL written,
//! so each kind keeps a queue of write times and pops one per reply. A transaction's
//! latency runs from the write of its MAIL (or, in open loop, from its due time if that
//! was earlier) to its final reply, so time spent queued behind the transactions ahead of
//! it on the connection counts, as it would for a real client. End-of-data latency runs
//! from the write that carried the body's end.
//!
//! # Open loop
//!
//! A ticket that is not yet due waits while replies are read; its latency still counts
//! from its due time, so a late send shows as latency, never as a lower offered rate.

use std::collections::VecDeque;
use std::time::Instant;

use tern_proto::client::{Answered, ClientEvent, TransactionResult};

use crate::send::{count, prepare, render_body, settle, wait_until, Conn, Thread, Ticket};
use crate::stats::H;

/// One transaction on the wire (or about to be).
struct Flight {
    /// The ticket's due time in open loop.
    due: Option<Instant>,
    /// When the write carrying its MAIL went out; `None` until flushed.
    written: Option<Instant>,
    /// Its body was handed to the session and awaits a write.
    body_queued: bool,
    /// When the write carrying the end of its body went out.
    body_at: Option<Instant>,
    /// Size of the message as stored, for the byte counters.
    message_len: usize,
    /// Its size class (which filler body).
    class: usize,
}

/// Write times of the commands still waiting for a reply, one queue per kind.
#[derive(Default)]
struct Pending {
    mail: VecDeque<Instant>,
    rcpt: VecDeque<Instant>,
    data: VecDeque<Instant>,
    /// Commands handed to the session since the last write: (MAIL, RCPT, DATA).
    unwritten: (usize, usize, usize),
}

impl Pending {
    fn stamp(&mut self, at: Instant) {
        let (m, r, d) = std::mem::take(&mut self.unwritten);
        self.mail.extend(std::iter::repeat_n(at, m));
        self.rcpt.extend(std::iter::repeat_n(at, r));
        self.data.extend(std::iter::repeat_n(at, d));
    }

    /// Records one sample per reply that arrived since `before`.
    fn record(&mut self, t: &Thread, before: Answered, now: Answered, at: Instant) {
        let mut s = t.stats.borrow_mut();
        for (queue, n, h) in [
            (&mut self.mail, now.mail - before.mail, H::Mail),
            (&mut self.rcpt, now.rcpt - before.rcpt, H::Rcpt),
            (&mut self.data, now.data - before.data, H::Data),
        ] {
            for _ in 0..n {
                if let Some(w) = queue.pop_front() {
                    s.record(h, at - w);
                }
            }
        }
    }
}

/// Sends messages on a ready, pipelining session until the tickets or the per-connection
/// limit run out. Returns false when the connection is gone (everything in flight is
/// counted), and a ticket taken but not yet sent (open loop, not due when the connection
/// ended), which the next connection sends.
pub(crate) async fn run(t: &Thread, conn: &mut Conn, first: Ticket) -> (bool, Option<Ticket>) {
    let opts = &t.shared.opts;
    let open_loop = opts.rate.is_some();
    let uses_data = !(opts.chunking && conn.session.capabilities().chunking);
    let mut flights: VecDeque<Flight> = VecDeque::with_capacity(opts.window);
    let mut pending = Pending::default();
    let mut next = Some(first);
    let mut sent = 0u64;
    let mut headers = Vec::with_capacity(256 + 48 * opts.rcpts);
    let mut out = std::mem::take(&mut conn.out);
    let mut alive = true;
    let mut answered = conn.session.answered();
    while alive {
        // Fill the window with what is due.
        while conn.session.can_send_mail() && opts.per_connection.is_none_or(|k| sent < k) {
            let Some(tk) = next.take().or_else(|| t.take_ticket()) else {
                break;
            };
            if tk.due > Instant::now() {
                if !flights.is_empty() {
                    next = Some(tk);
                    break;
                }
                wait_until(tk.due).await;
            }
            let class = opts.size.class_of(tk.n);
            let body = &t.bodies[class];
            headers.clear();
            let env = prepare(t, tk.n, body, &mut headers);
            if conn.session.send_mail(&env).is_err() {
                // Cannot happen after can_send_mail(); count the ticket rather than lose it.
                t.stats.borrow_mut().failed += 1;
                t.finish(false);
                break;
            }
            sent += 1;
            let flight = Flight {
                due: open_loop.then_some(tk.due),
                written: None,
                body_queued: false,
                body_at: None,
                message_len: headers.len() + body.raw.len(),
                class,
            };
            // A local refusal (over the hop's SIZE) ends it at once, nothing written.
            match conn.session.poll_event() {
                Some(ClientEvent::TransactionDone(r)) => {
                    let took = flight.due.map_or_else(Default::default, |d| d.elapsed());
                    settle(t, &r, took, None, flight.message_len);
                    continue;
                }
                Some(ClientEvent::NeedBody(format)) => {
                    render_body(format, &headers, body, &mut out);
                    flights.push_back(Flight {
                        body_queued: conn.session.send_body(&out).is_ok(),
                        ..flight
                    });
                }
                _ => flights.push_back(flight),
            }
            pending.unwritten.0 += 1;
            pending.unwritten.1 += opts.rcpts;
            pending.unwritten.2 += usize::from(uses_data);
            // The body of a DATA transaction is rendered when its 354 comes; keep the
            // headers for it until then (only the newest transaction can be waiting).
            if uses_data {
                break;
            }
        }
        if flights.is_empty() {
            break;
        }
        if conn.flush().await.is_err() {
            conn.abort();
            alive = false;
        } else {
            let at = Instant::now();
            pending.stamp(at);
            for f in flights.iter_mut() {
                f.written.get_or_insert(at);
                if f.body_queued && f.body_at.is_none() {
                    f.body_at = Some(at);
                }
            }
        }
        if alive && conn.read().await.is_err() {
            conn.abort();
            alive = false;
        }
        let at = Instant::now();
        let now = conn.session.answered();
        pending.record(t, answered, now, at);
        answered = now;
        while let Some(ev) = conn.session.poll_event() {
            match ev {
                ClientEvent::NeedBody(format) => {
                    // DATA's 354 for the newest transaction: its headers are the last
                    // ones rendered.
                    let Some(f) = flights.back_mut() else {
                        continue;
                    };
                    let body = &t.bodies[f.class];
                    render_body(format, &headers, body, &mut out);
                    f.body_queued = conn.session.send_body(&out).is_ok();
                }
                ClientEvent::TransactionDone(r) => {
                    if let Some(f) = flights.pop_front() {
                        done(t, &f, &r, at);
                    }
                }
                ClientEvent::Closed(r) => {
                    count(&mut t.stats.borrow_mut().session_codes, &r);
                    alive = false;
                }
                ClientEvent::ProtocolError(_) => alive = false,
                _ => {}
            }
        }
        if conn.session.is_closed() {
            alive = false;
        }
    }
    conn.out = out;
    if !alive {
        t.stats.borrow_mut().connection_errors += 1;
    }
    (alive, next)
}

/// Counts a transaction that got its final reply (or was ended by the connection) at `at`.
fn done(t: &Thread, f: &Flight, r: &TransactionResult, at: Instant) {
    let start = match (f.due, f.written) {
        (Some(d), Some(w)) => d.min(w),
        (Some(d), None) => d,
        (None, Some(w)) => w,
        (None, None) => at,
    };
    settle(
        t,
        r,
        at.saturating_duration_since(start),
        f.body_at.map(|b| at.saturating_duration_since(b)),
        f.message_len,
    );
}
