//! The connection-level state machine: greeting, EHLO (or HELO), STARTTLS, transactions,
//! QUIT. Transactions themselves live in [`super::transaction`].

use std::collections::VecDeque;
use std::io::Write;

use super::capabilities::Capabilities;
use super::local;
use super::reply_parser::ReplyParser;
use super::transaction::{self, Step, Transaction, TransactionResult};
use super::{
    BodyFormat, ClientEvent, ClientOptions, Envelope, ProtocolError, TlsPolicy, UsageError,
};
use crate::reply::Reply;

/// Where the conversation stands.
#[derive(Debug)]
enum State {
    /// Connected, waiting for the 220 greeting.
    Greeting,
    /// EHLO sent.
    Ehlo,
    /// HELO sent after EHLO was refused.
    Helo,
    /// STARTTLS sent.
    StartTls,
    /// 220 to STARTTLS received; the driver runs the handshake.
    TlsHandshake,
    /// Ready for a transaction or QUIT.
    Idle,
    /// One or more transactions are in flight (oldest first in `ClientSession::txns`).
    Mail,
    /// QUIT sent.
    Quitting,
    /// Over: the driver closes the connection.
    Closed,
}

/// The client side of one SMTP connection, sans-IO. See the [module docs](super) for the
/// driving loop and an example.
#[derive(Debug)]
pub struct ClientSession {
    opts: ClientOptions,
    state: State,
    parser: ReplyParser,
    caps: Capabilities,
    /// EHLO was accepted (false after a HELO fallback).
    esmtp: bool,
    tls: bool,
    out: Vec<u8>,
    /// Bytes of `out` already taken by the driver.
    out_pos: usize,
    events: VecDeque<ClientEvent>,
    /// Transactions in flight, oldest first; more than one only with a window
    /// ([`ClientOptions::window`]). Kept across transactions so the queue is allocated once.
    txns: VecDeque<Transaction>,
    answered: Answered,
}

/// How many replies each kind of transaction command has received on this connection, for
/// a driver that times every command of a pipelined window: replies come in command order,
/// so the k-th MAIL reply answers the k-th MAIL written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answered {
    /// Replies to MAIL FROM.
    pub mail: u64,
    /// Replies to RCPT TO.
    pub rcpt: u64,
    /// Replies to DATA itself (the 354, or its refusal).
    pub data: u64,
    /// Final replies to a body: after the `.` of DATA, or to `BDAT ... LAST`.
    pub body: u64,
}

impl ClientSession {
    /// A session on a freshly opened connection: it waits for the server's greeting.
    pub fn new(opts: ClientOptions) -> ClientSession {
        ClientSession {
            opts,
            state: State::Greeting,
            parser: ReplyParser::new(),
            caps: Capabilities::default(),
            esmtp: false,
            tls: false,
            out: Vec::with_capacity(512),
            out_pos: 0,
            events: VecDeque::new(),
            txns: VecDeque::new(),
            answered: Answered::default(),
        }
    }

    /// A session on a connection that is already encrypted (implicit TLS, RFC 8314): it
    /// never sends STARTTLS.
    pub fn new_tls(opts: ClientOptions) -> ClientSession {
        let mut s = ClientSession::new(opts);
        s.tls = true;
        s
    }

    /// Bytes read from the server. Replies are acted on at once; see
    /// [`ClientSession::poll_event`] and [`ClientSession::output`] afterwards.
    pub fn input(&mut self, bytes: &[u8]) {
        match self.state {
            State::Closed => return,
            State::TlsHandshake => {
                // Nothing may arrive between the 220 to STARTTLS and the handshake: a
                // plaintext reply here would be trusted as if it came over TLS.
                self.protocol_error(ProtocolError::PlaintextAfterStartTls);
                return;
            }
            _ => {}
        }
        self.parser.feed(bytes);
        while let Some(next) = self.parser.next_reply() {
            match next {
                Ok(reply) => self.on_reply(reply),
                Err(e) => self.protocol_error(ProtocolError::Malformed(e)),
            }
            if matches!(self.state, State::Closed) {
                return;
            }
            if matches!(self.state, State::TlsHandshake) {
                if self.parser.buffered() > 0 {
                    self.protocol_error(ProtocolError::PlaintextAfterStartTls);
                }
                return;
            }
        }
    }

    /// Bytes to write to the server, oldest first. Write as many as the socket takes and
    /// report them with [`ClientSession::consume_output`].
    pub fn output(&self) -> &[u8] {
        &self.out[self.out_pos..]
    }

    /// Marks `n` bytes of [`ClientSession::output`] as written.
    pub fn consume_output(&mut self, n: usize) {
        self.out_pos = self.out_pos.saturating_add(n).min(self.out.len());
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
    }

    /// The next thing the driver must act on, if any.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// The extensions of the last EHLO reply (all off after HELO or before EHLO).
    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// True when EHLO was accepted (the session speaks ESMTP).
    pub fn is_esmtp(&self) -> bool {
        self.esmtp
    }

    /// True once TLS is on (after [`ClientSession::tls_established`] or with
    /// [`ClientSession::new_tls`]).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// True when a transaction may start or QUIT may be sent.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Idle)
    }

    /// True when [`ClientSession::send_mail`] would start a transaction now: the session is
    /// idle, or (with a [`ClientOptions::window`] above 1 and PIPELINING offered) fewer than
    /// `window` transactions are in flight and every one of them has been written out in
    /// full, so nothing the next one writes can overtake a command still waiting on a
    /// reply (RFC 2920 3.1: DATA ends a batch; the body follows only its 354).
    pub fn can_send_mail(&self) -> bool {
        match self.state {
            State::Idle => true,
            State::Mail => {
                self.windowed()
                    && self.txns.len() < self.opts.window
                    && self.txns.iter().all(Transaction::written)
            }
            _ => false,
        }
    }

    /// Transactions started and not yet ended by a [`ClientEvent::TransactionDone`].
    pub fn in_flight(&self) -> usize {
        self.txns.len()
    }

    /// Replies received so far per kind of transaction command; see [`Answered`].
    pub fn answered(&self) -> Answered {
        self.answered
    }

    /// More than one transaction may be in flight: a window was asked for and the server
    /// pipelines.
    fn windowed(&self) -> bool {
        self.opts.window > 1 && self.opts.pipelining && self.caps.pipelining
    }

    /// True when the session is over and the connection should be closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The driver finished the TLS handshake asked for by [`ClientEvent::StartTls`]. The
    /// session forgets everything learnt in plaintext and says EHLO again (RFC 3207 4.2).
    pub fn tls_established(&mut self) -> Result<(), UsageError> {
        if !matches!(self.state, State::TlsHandshake) {
            return Err(UsageError::NotExpected);
        }
        self.tls = true;
        self.caps = Capabilities::default();
        self.parser.clear();
        self.send_ehlo();
        Ok(())
    }

    /// Starts a transaction. Only while idle. If the hop cannot take the message (it needs
    /// SMTPUTF8, BINARYMIME or more than the advertised SIZE), nothing is sent and a
    /// [`ClientEvent::TransactionDone`] with a local reply follows at once; otherwise the
    /// session writes MAIL and RCPT (and DATA when pipelining) and asks for the body with
    /// [`ClientEvent::NeedBody`] when it is wanted.
    ///
    /// `env.params.size` is both the `SIZE=` value sent and the number checked against
    /// the hop's limit: set it to the message size.
    pub fn send_mail(&mut self, env: &Envelope) -> Result<(), UsageError> {
        if !self.can_send_mail() {
            return Err(UsageError::NotIdle);
        }
        if env.rcpts.is_empty() {
            return Err(UsageError::NoRecipients);
        }
        match transaction::plan(env, &self.caps, &self.opts) {
            Err(reply) => {
                // Nothing was written, so this result may come ahead of transactions still
                // in flight: it is this call's, and the driver sees it before any reply.
                let result = TransactionResult::refused(reply);
                self.events.push_back(ClientEvent::TransactionDone(result));
            }
            Ok(format) => {
                let pipelined = self.caps.pipelining && self.opts.pipelining;
                // In a window the BDAT body goes with its MAIL and RCPT, without waiting for
                // their replies (RFC 3030 4.2 allows BDAT in a pipelined group): waiting
                // would cost the round trip the window exists to save.
                let eager = self.windowed() && format == BodyFormat::Raw;
                let t =
                    Transaction::start(env, &self.caps, format, pipelined, eager, &mut self.out);
                if eager {
                    self.events
                        .push_back(ClientEvent::NeedBody(BodyFormat::Raw));
                }
                self.txns.push_back(t);
                self.state = State::Mail;
            }
        }
        Ok(())
    }

    /// The body asked for by [`ClientEvent::NeedBody`], in the format it named: already
    /// dot-stuffed and ending in `.\r\n` for [`super::BodyFormat::DotStuffed`], raw for
    /// [`super::BodyFormat::Raw`]. It is copied into the output buffer. In a window the
    /// body belongs to the newest transaction: only it can be waiting for one.
    pub fn send_body(&mut self, body: &[u8]) -> Result<(), UsageError> {
        match (&self.state, self.txns.back_mut()) {
            (State::Mail, Some(t)) => t.send_body(body, &mut self.out),
            _ => Err(UsageError::BodyNotExpected),
        }
    }

    /// Sends QUIT. Only while idle; [`ClientEvent::Closed`] follows with the server's reply.
    pub fn quit(&mut self) -> Result<(), UsageError> {
        if !matches!(self.state, State::Idle) {
            return Err(UsageError::NotIdle);
        }
        self.send_quit();
        Ok(())
    }

    /// The driver gives up on the connection (read or write error, end of stream, timeout).
    /// A transaction in flight ends with `reason` for every outcome not yet known, then
    /// [`ClientEvent::Closed`] carries `reason`. Typically [`local::CONNECTION_LOST`] or a
    /// 4xx timeout reply. Does nothing once closed.
    pub fn abort(&mut self, reason: Reply) {
        if matches!(self.state, State::Closed) {
            return;
        }
        self.close(reason);
    }

    fn on_reply(&mut self, reply: Reply) {
        // 421 may answer any command, or come unasked, when the server shuts the channel
        // (RFC 5321 3.8): whatever was in flight gets it as its answer.
        if reply.code == 421 {
            self.close(reply);
            return;
        }
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Greeting if is_2xx(&reply) => self.send_ehlo(),
            State::Greeting => self.fail(reply),
            State::Ehlo if is_2xx(&reply) => {
                self.esmtp = true;
                self.caps = Capabilities::from_ehlo(&reply);
                self.after_hello();
            }
            // RFC 5321 3.2: a server that does not know EHLO says 5xx; try HELO.
            State::Ehlo if reply.is_permanent() => {
                let _ = write!(self.out, "HELO {}\r\n", self.opts.hello_name);
                self.state = State::Helo;
            }
            State::Ehlo => self.fail(reply),
            State::Helo if is_2xx(&reply) => {
                self.esmtp = false;
                self.caps = Capabilities::default();
                self.after_hello();
            }
            State::Helo => self.fail(reply),
            State::StartTls if reply.code == 220 => {
                self.state = State::TlsHandshake;
                self.events.push_back(ClientEvent::StartTls);
            }
            State::StartTls if self.opts.tls == TlsPolicy::Required => self.fail(reply),
            // Opportunistic TLS: a refusal leaves the plaintext session as it was.
            State::StartTls => self.ready(),
            State::Mail => self.transaction_reply(reply),
            State::Quitting => self.events.push_back(ClientEvent::Closed(reply)),
            state @ (State::Idle | State::TlsHandshake) => {
                self.state = state;
                self.protocol_error(ProtocolError::Unexpected);
            }
            State::Closed => {}
        }
    }

    /// A reply in a transaction answers the oldest transaction in flight (replies come in
    /// command order, RFC 2920 3.1); when that one is over, the next one is oldest.
    fn transaction_reply(&mut self, reply: Reply) {
        self.state = State::Mail;
        let Some(t) = self.txns.front_mut() else {
            self.state = State::Idle;
            self.protocol_error(ProtocolError::Unexpected);
            return;
        };
        match t.on_reply(reply, &mut self.answered, &mut self.out) {
            None => self.protocol_error(ProtocolError::Unexpected),
            Some(Step::Continue) => {}
            Some(Step::NeedBody(format)) => {
                self.events.push_back(ClientEvent::NeedBody(format));
            }
            Some(Step::Done) => {
                if let Some(t) = self.txns.pop_front() {
                    let result = t.finish(&transaction::NO_FINAL_REPLY);
                    self.events.push_back(ClientEvent::TransactionDone(result));
                }
                if self.txns.is_empty() {
                    self.state = State::Idle;
                }
            }
        }
    }

    fn send_ehlo(&mut self) {
        // Writing into a Vec cannot fail.
        let _ = write!(self.out, "EHLO {}\r\n", self.opts.hello_name);
        self.state = State::Ehlo;
    }

    /// EHLO or HELO accepted: STARTTLS if wanted and offered, else ready.
    fn after_hello(&mut self) {
        let want = self.opts.tls != TlsPolicy::Disabled && !self.tls;
        if want && self.caps.starttls {
            self.command(b"STARTTLS\r\n");
            self.state = State::StartTls;
        } else if self.opts.tls == TlsPolicy::Required && !self.tls {
            self.fail(local::TLS_NOT_AVAILABLE);
        } else {
            self.ready();
        }
    }

    fn ready(&mut self) {
        self.state = State::Idle;
        self.events.push_back(ClientEvent::Ready);
    }

    /// The session cannot carry mail: say why, then QUIT politely.
    fn fail(&mut self, reason: Reply) {
        self.events.push_back(ClientEvent::Failed(reason));
        self.send_quit();
    }

    fn send_quit(&mut self) {
        self.command(b"QUIT\r\n");
        self.state = State::Quitting;
    }

    fn protocol_error(&mut self, e: ProtocolError) {
        self.events.push_back(ClientEvent::ProtocolError(e));
        self.close(local::PROTOCOL_ERROR);
    }

    /// Ends the session now: a transaction in flight is finished with `reason`, unsent
    /// output is dropped, and `Closed(reason)` is the last event.
    fn close(&mut self, reason: Reply) {
        self.state = State::Closed;
        for t in self.txns.drain(..) {
            self.events
                .push_back(ClientEvent::TransactionDone(t.finish(&reason)));
        }
        self.out.clear();
        self.out_pos = 0;
        self.events.push_back(ClientEvent::Closed(reason));
    }

    fn command(&mut self, line: &[u8]) {
        self.out.extend_from_slice(line);
    }
}

fn is_2xx(r: &Reply) -> bool {
    (200..300).contains(&r.code)
}
