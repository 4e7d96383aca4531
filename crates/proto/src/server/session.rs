//! The session state machine: framing, sequencing, limits and the DATA/BDAT/AUTH sub-states.

use std::borrow::Cow;
use std::rc::Rc;

use memchr::memchr;

use super::auth::{self, AuthRequest};
use super::{Action, ClientInfo, Message, SessionConfig, StoreError};
use crate::address::{ForwardPath, ReversePath};
use crate::body::{DataScanner, Outcome};
use crate::command::{Command, CommandError};
use crate::envelope::{Envelope, Recipient};
use crate::params::{BodyType, MailParams, RcptParams};
use crate::reply::{self, Reply};

/// Longest line read in an AUTH exchange (RFC 4954 4: 12288 octets).
const AUTH_LINE_LIMIT: usize = 12288;
/// Longest ordinary command line, CRLF included (RFC 5321 4.5.3.1.4).
const COMMAND_LINE_LIMIT: usize = 512;

/// One SMTP server session. See the [module docs](super) for how a runtime drives it.
#[derive(Debug)]
pub struct Session {
    config: Rc<SessionConfig>,
    client: ClientInfo,
    state: State,
    /// The HELO/EHLO argument, once greeted.
    helo: Option<String>,
    /// EHLO (not HELO) was used: ESMTP parameters are allowed.
    esmtp: bool,
    tls: bool,
    auth_user: Option<String>,
    txn: Option<Transaction>,
    /// A completed message waiting for [`Session::take_message`].
    ready: Option<Message>,
    out: Vec<u8>,
    bad_commands: u32,
    /// Inside an over-long command line: bytes are dropped up to its LF.
    discarding_line: bool,
    /// Shutdown has begun: new transactions get 421 4.3.2.
    draining: bool,
}

#[derive(Debug)]
enum State {
    Command,
    Data(DataScanner),
    Bdat {
        remaining: u64,
        last: bool,
        /// The reply to give once the chunk is consumed, when the chunk is refused.
        refused: Option<Reply>,
    },
    AuthPlain,
    AuthLoginUser,
    AuthLoginPassword(String),
    /// An [`Action`] is with the runtime; nothing is consumed until it answers.
    Waiting(Wait),
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    Store,
    Tls,
    Auth,
    Etrn,
}

#[derive(Debug)]
struct Transaction {
    from: ReversePath,
    params: MailParams,
    rcpts: Vec<Recipient>,
    /// A BDAT chunk has been received: DATA is no longer allowed.
    bdat: bool,
    body: Vec<u8>,
    /// BDAT content went past the size limit: the rest is drained, the reply is 552.
    too_big: bool,
}

impl Session {
    /// A new session for a connection just accepted.
    pub fn new(config: Rc<SessionConfig>, client: ClientInfo) -> Session {
        let tls = client.tls;
        Session {
            config,
            client,
            state: State::Command,
            helo: None,
            esmtp: false,
            tls,
            auth_user: None,
            txn: None,
            ready: None,
            out: Vec::with_capacity(512),
            bad_commands: 0,
            discarding_line: false,
            draining: false,
        }
    }

    /// Writes the 220 greeting.
    pub fn greet(&mut self) {
        let r = reply::greeting(&self.config.hostname);
        self.reply(&r);
    }

    /// Writes `421 4.7.0` (connection limit) and closes: for a connection refused at accept.
    pub fn refuse_connection(&mut self) -> Action {
        self.close_with(&reply::TOO_MANY_CONNECTIONS)
    }

    /// The runtime's timer fired: `421 4.4.2` and close.
    pub fn timeout(&mut self) -> Action {
        self.close_with(&reply::TIMEOUT)
    }

    /// Shutdown has begun: commands in flight are answered, new transactions get
    /// `421 4.3.2`. Returns [`Action::Close`] (after writing the 421) when the session is
    /// idle between transactions and can be closed at once.
    pub fn begin_shutdown(&mut self) -> Option<Action> {
        self.draining = true;
        if matches!(self.state, State::Command) && self.txn.is_none() {
            Some(self.close_with(&reply::SHUTTING_DOWN))
        } else {
            None
        }
    }

    /// Replies waiting to be sent.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Forget the first `n` bytes of output (they were written to the socket).
    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// The HELO/EHLO name, once given.
    pub fn helo(&self) -> Option<&str> {
        self.helo.as_deref()
    }

    /// True after EHLO (as opposed to HELO).
    pub fn esmtp(&self) -> bool {
        self.esmtp
    }

    /// True once TLS is active.
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// The authenticated user, if any.
    pub fn auth_user(&self) -> Option<&str> {
        self.auth_user.as_deref()
    }

    /// True when the session is closed.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// True while a mail transaction or a DATA/BDAT transfer is open: the runtime uses the
    /// longer data timeout then (RFC 5321 4.5.3.2).
    pub fn in_data(&self) -> bool {
        matches!(self.state, State::Data(_) | State::Bdat { .. })
    }

    /// The message completed by the last [`Action::StoreMessage`].
    pub fn take_message(&mut self) -> Option<Message> {
        self.ready.take()
    }

    /// The runtime stored (or failed to store) the message of [`Action::StoreMessage`].
    /// `Ok(id)` sends `250 2.0.0 Ok: queued as ID`; an error never sends a 250.
    pub fn stored(&mut self, result: Result<&str, StoreError>) -> Option<Action> {
        if self.state_is(Wait::Store) {
            self.state = State::Command;
        }
        self.ready = None;
        match result {
            Ok(id) => self.reply(&reply::queued(id)),
            Err(StoreError::DiskFull) => self.reply(&reply::INSUFFICIENT_STORAGE),
            Err(StoreError::Io) => self.reply(&reply::LOCAL_ERROR),
            Err(StoreError::ShuttingDown) => return Some(self.close_with(&reply::SHUTTING_DOWN)),
        }
        None
    }

    /// Answers the message of [`Action::StoreMessage`] with the runtime's own refusal
    /// instead of storing it: a sink or test server that plays a 4xx/5xx, or a policy check
    /// after DATA. `reply` is sent as given when it is 4xx or 5xx; anything else is replaced
    /// by `451 4.3.0` so that this path can never acknowledge a message. A 421 also closes
    /// the session (RFC 5321 3.8) and returns [`Action::Close`].
    pub fn refuse_message(&mut self, reply: &Reply) -> Option<Action> {
        if self.state_is(Wait::Store) {
            self.state = State::Command;
        }
        self.ready = None;
        if reply.code == 421 {
            return Some(self.close_with(reply));
        }
        if (400..600).contains(&reply.code) {
            self.reply(reply);
        } else {
            self.reply(&reply::LOCAL_ERROR);
        }
        None
    }

    /// The TLS handshake after [`Action::StartTls`] succeeded: the session starts over,
    /// as if newly connected, without a greeting (RFC 3207 4.2).
    pub fn tls_started(&mut self) {
        if self.state_is(Wait::Tls) {
            self.state = State::Command;
        }
        self.tls = true;
        self.helo = None;
        self.esmtp = false;
        self.txn = None;
    }

    /// The runtime checked the credentials of [`Action::Authenticate`].
    pub fn auth_result(&mut self, user: Option<&str>) {
        if self.state_is(Wait::Auth) {
            self.state = State::Command;
        }
        match user {
            Some(u) => {
                self.auth_user = Some(u.to_owned());
                self.reply(&reply::AUTH_OK);
            }
            None => {
                self.reply(&reply::AUTH_FAILED);
                self.bad_commands += 1;
            }
        }
    }

    /// The runtime's answer to [`Action::Etrn`] (250, 251, 458 or 459, RFC 1985).
    pub fn etrn_result(&mut self, r: &Reply) {
        if self.state_is(Wait::Etrn) {
            self.state = State::Command;
        }
        self.reply(r);
    }

    /// Consumes as much of `input` as the session can and says what the runtime must do.
    /// Returns the number of bytes consumed; the rest must be offered again, with more,
    /// on the next call.
    pub fn input(&mut self, input: &[u8]) -> (usize, Action) {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            let step = match &mut self.state {
                State::Closed => return (input.len(), Action::Close),
                State::Waiting(_) => return (pos, Action::NeedInput),
                State::Data(scanner) => {
                    let body = match &mut self.txn {
                        Some(t) => &mut t.body,
                        None => return (input.len(), self.close_with(&reply::LOCAL_ERROR)),
                    };
                    let scan = scanner.scan(rest, body);
                    pos += scan.consumed;
                    if !scan.done {
                        return (pos, Action::NeedInput);
                    }
                    let outcome = scanner.outcome();
                    self.state = State::Command;
                    match outcome {
                        Some(o) => self.end_of_data(o),
                        None => Some(self.close_with(&reply::LOCAL_ERROR)),
                    }
                }
                State::Bdat { .. } => {
                    let (used, step) = self.bdat_bytes(rest);
                    pos += used;
                    match step {
                        Some(a) => Some(a),
                        None if pos == input.len() => return (pos, Action::NeedInput),
                        None => None,
                    }
                }
                State::Command
                | State::AuthPlain
                | State::AuthLoginUser
                | State::AuthLoginPassword(_) => {
                    let Some((line, used)) = self.frame(rest) else {
                        // No complete line: an over-long one is dropped as it arrives, so
                        // the buffer never grows past the limit.
                        if rest.len() > self.hard_line_limit() {
                            self.discarding_line = true;
                            return (input.len(), Action::NeedInput);
                        }
                        return (pos, Action::NeedInput);
                    };
                    pos += used;
                    if self.discarding_line {
                        self.discarding_line = false;
                        self.bad(&reply::LINE_TOO_LONG)
                    } else if matches!(self.state, State::Command) {
                        self.command_line(line, used)
                    } else {
                        self.auth_line(line)
                    }
                }
            };
            match step {
                None => {}
                Some(Action::StartTls) => return (input.len(), Action::StartTls),
                Some(Action::Close) => return (input.len(), Action::Close),
                Some(action) => return (pos, action),
            }
        }
    }

    /// Finds the next line in `buf`: the line without its line ending, and the bytes used.
    /// A line ends at LF; a CR before it is dropped. (Commands ending in a bare LF are
    /// accepted, as most MTAs do; the strict CRLF rule matters for DATA, where it is kept.)
    fn frame<'a>(&self, buf: &'a [u8]) -> Option<(&'a [u8], usize)> {
        let lf = memchr(b'\n', buf)?;
        let line = &buf[..lf];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Some((line, lf + 1))
    }

    fn hard_line_limit(&self) -> usize {
        match self.state {
            State::Command => self.config.long_line_limit(),
            _ => AUTH_LINE_LIMIT,
        }
    }

    fn state_is(&self, w: Wait) -> bool {
        matches!(self.state, State::Waiting(x) if x == w)
    }

    fn reply(&mut self, r: &Reply) {
        // Writing into a Vec cannot fail.
        let _ = r.write_to(&mut self.out, self.config.features.enhanced_status_codes);
    }

    fn close_with(&mut self, r: &Reply) -> Action {
        self.reply(r);
        self.state = State::Closed;
        self.txn = None;
        Action::Close
    }

    /// Replies to a bad command and counts it; too many close the session.
    fn bad(&mut self, r: &Reply) -> Option<Action> {
        self.reply(r);
        self.bad_commands += 1;
        if self.bad_commands >= self.config.max_bad_commands {
            return Some(self.close_with(&reply::TOO_MANY_ERRORS));
        }
        None
    }

    fn command_line(&mut self, line: &[u8], len: usize) -> Option<Action> {
        let long_verb = line.len() >= 4
            && (line[..4].eq_ignore_ascii_case(b"MAIL") || line[..4].eq_ignore_ascii_case(b"RCPT"));
        let limit = if long_verb {
            self.config.long_line_limit()
        } else {
            COMMAND_LINE_LIMIT
        };
        if len > limit {
            return self.bad(&reply::LINE_TOO_LONG);
        }
        // Borrowed from the input: a string is copied only where the session keeps it.
        match Command::parse_borrowed(line) {
            Ok(cmd) => self.command(cmd),
            Err(CommandError::BadBdatSize) => {
                // The chunk length is unknown, so the stream cannot be resynchronised.
                self.reply(&CommandError::BadBdatSize.reply());
                Some(self.close_with(&reply::TRANSACTION_FAILED))
            }
            Err(e @ CommandError::BdatSyntax { size }) => {
                self.bad_commands += 1;
                self.start_chunk(size, false, Some(e.reply()));
                None
            }
            Err(e) => self.bad(&e.reply()),
        }
    }

    fn command(&mut self, cmd: Command<Cow<'_, str>>) -> Option<Action> {
        match cmd {
            Command::Helo(name) => self.hello(name.into_owned(), false),
            Command::Ehlo(name) => self.hello(name.into_owned(), true),
            Command::Mail { from, params } => self.mail(from, params),
            Command::Rcpt { to, params } => self.rcpt(to, params),
            Command::Data => self.data(),
            Command::Bdat { size, last } => self.bdat(size, last),
            Command::Rset => {
                self.txn = None;
                self.reply(&reply::RESET_OK);
                None
            }
            Command::Noop => {
                self.reply(&reply::OK);
                None
            }
            Command::Help(_) => {
                self.reply(&reply::HELP);
                None
            }
            Command::Vrfy(_) => {
                self.reply(&reply::CANNOT_VRFY);
                None
            }
            Command::Expn(_) => self.bad(&reply::EXPN_DISABLED),
            Command::Quit => {
                let r = reply::bye(&self.config.hostname);
                Some(self.close_with(&r))
            }
            Command::StartTls => self.starttls(),
            Command::Auth { mechanism, initial } => self.auth(&mechanism, initial.as_deref()),
            Command::Etrn(node) => self.etrn(node.into_owned()),
            // ATRN needs the role reversal of the on-demand work; until then it is not offered.
            Command::Atrn(_) => self.bad(&reply::NOT_IMPLEMENTED),
            Command::Turn => self.bad(&reply::TURN_DISABLED),
        }
    }

    fn hello(&mut self, name: String, esmtp: bool) -> Option<Action> {
        // EHLO/HELO in the middle of a session resets the transaction (RFC 5321 4.1.4).
        self.txn = None;
        let r = if esmtp {
            self.config
                .ehlo_offer(self.tls, self.auth_user.is_some())
                .reply(&self.config.hostname, &name)
        } else {
            reply::helo(&self.config.hostname, &name)
        };
        self.helo = Some(name);
        self.esmtp = esmtp;
        self.reply(&r);
        None
    }

    fn mail(
        &mut self,
        from: ReversePath<Cow<'_, str>>,
        params: MailParams<Cow<'_, str>>,
    ) -> Option<Action> {
        if self.draining {
            return Some(self.close_with(&reply::SHUTTING_DOWN));
        }
        if self.helo.is_none() {
            return self.bad(&reply::NEED_HELO);
        }
        if self.txn.is_some() {
            return self.bad(&reply::NESTED_MAIL);
        }
        if let Err(r) = self.check_mail_params(&params) {
            return self.bad(&r);
        }
        let limit = self.config.max_message_size;
        if params.size.is_some_and(|n| n > limit) {
            self.reply(&reply::size_exceeded(limit));
            return None;
        }
        if from.mailbox().is_some_and(|m| m.is_utf8()) && !params.smtputf8 {
            self.reply(&reply::UTF8_NOT_PERMITTED);
            return None;
        }
        self.txn = Some(Transaction {
            from: from.into_owned(),
            params: params.into_owned(),
            rcpts: Vec::new(),
            bdat: false,
            body: Vec::new(),
            too_big: false,
        });
        self.reply(&reply::SENDER_OK);
        None
    }

    /// A parameter of an extension that was not offered is unknown to this session (555).
    fn check_mail_params<S>(&self, p: &MailParams<S>) -> Result<(), Reply> {
        let f = &self.config.features;
        let any = p.size.is_some()
            || p.body.is_some()
            || p.smtputf8
            || p.ret.is_some()
            || p.envid.is_some()
            || p.auth.is_some();
        let offered = self.esmtp
            && match p.body {
                Some(BodyType::EightBitMime) => f.eightbitmime,
                Some(BodyType::BinaryMime) => f.chunking && f.binarymime,
                _ => true,
            }
            && (!p.smtputf8 || f.smtputf8)
            && (p.ret.is_none() && p.envid.is_none() || f.dsn)
            && (p.auth.is_none() || !f.auth.is_empty());
        if any && !offered {
            return Err(reply::UNKNOWN_PARAMETER);
        }
        Ok(())
    }

    fn rcpt(
        &mut self,
        to: ForwardPath<Cow<'_, str>>,
        params: RcptParams<Cow<'_, str>>,
    ) -> Option<Action> {
        let dsn_ok = self.esmtp && self.config.features.dsn;
        let Some(txn) = &self.txn else {
            return self.bad(&reply::NEED_MAIL);
        };
        if txn.bdat {
            return self.bad(&reply::BAD_SEQUENCE);
        }
        if (params.notify.is_some() || params.orcpt.is_some()) && !dsn_ok {
            return self.bad(&reply::UNKNOWN_PARAMETER);
        }
        if txn.rcpts.len() >= self.config.max_recipients {
            self.reply(&reply::TOO_MANY_RECIPIENTS);
            return None;
        }
        if let Some(m) = to.mailbox() {
            if m.is_utf8() && !txn.params.smtputf8 {
                self.reply(&reply::UTF8_NOT_PERMITTED);
                return None;
            }
            if let Some(r) = self.config.rcpt_rejection(m.domain()) {
                let r = r.clone();
                self.reply(&r);
                return None;
            }
            let relay_ok = self.client.relay_allowed
                || self.auth_user.is_some()
                || self.config.accepts_domain(m.domain());
            if !relay_ok {
                self.reply(&reply::RELAY_DENIED);
                return None;
            }
        }
        if let Some(txn) = &mut self.txn {
            txn.rcpts.push(Recipient {
                path: to.into_owned(),
                params: params.into_owned(),
            });
        }
        self.reply(&reply::RECIPIENT_OK);
        None
    }

    fn data(&mut self) -> Option<Action> {
        let r = match &self.txn {
            None => &reply::NEED_MAIL,
            Some(t) if t.bdat => &reply::DATA_AFTER_BDAT,
            Some(t) if t.rcpts.is_empty() => &reply::NEED_RCPT,
            // BINARYMIME content can only be sent with BDAT (RFC 3030 3).
            Some(t) if t.params.body == Some(BodyType::BinaryMime) => &reply::DATA_AFTER_BDAT,
            Some(_) => {
                let c = &self.config;
                self.state = State::Data(DataScanner::new(c.bare_newline, c.max_message_size));
                self.reply(&reply::START_DATA);
                return None;
            }
        };
        self.bad(r)
    }

    fn end_of_data(&mut self, outcome: Outcome) -> Option<Action> {
        match outcome {
            Outcome::Ok { .. } => self.complete(),
            Outcome::TooLarge { .. } => {
                self.txn = None;
                self.reply(&reply::MESSAGE_TOO_BIG);
                None
            }
            Outcome::BareNewline { .. } => {
                self.txn = None;
                self.reply(&reply::BARE_NEWLINE);
                None
            }
        }
    }

    /// Hands the finished transaction to the runtime.
    fn complete(&mut self) -> Option<Action> {
        let txn = self.txn.take()?;
        self.ready = Some(Message {
            envelope: Envelope {
                from: txn.from,
                params: txn.params,
                rcpts: txn.rcpts,
            },
            body: txn.body,
        });
        self.state = State::Waiting(Wait::Store);
        Some(Action::StoreMessage)
    }

    fn bdat(&mut self, size: u64, last: bool) -> Option<Action> {
        let refused = match &self.txn {
            _ if !self.config.features.chunking => Some(reply::NOT_IMPLEMENTED),
            None => Some(reply::NEED_MAIL),
            Some(t) if t.rcpts.is_empty() => Some(reply::NEED_RCPT),
            Some(_) => None,
        };
        if refused.is_some() {
            self.bad_commands += 1;
        }
        self.start_chunk(size, last, refused);
        None
    }

    fn start_chunk(&mut self, size: u64, last: bool, refused: Option<Reply>) {
        if let (None, Some(t)) = (&refused, &mut self.txn) {
            t.bdat = true;
            let room = self
                .config
                .max_message_size
                .saturating_sub(t.body.len() as u64);
            // Reserve what will fit, so a big chunk is copied once.
            t.body.reserve(size.min(room).min(1 << 20) as usize);
        }
        self.state = State::Bdat {
            remaining: size,
            last,
            refused,
        };
    }

    /// Consumes chunk bytes; binary-safe, exact count. Returns the bytes used and the step.
    fn bdat_bytes(&mut self, rest: &[u8]) -> (usize, Option<Action>) {
        let State::Bdat {
            remaining,
            last,
            refused,
        } = &mut self.state
        else {
            return (0, None);
        };
        let take = (*remaining).min(rest.len() as u64) as usize;
        *remaining -= take as u64;
        if refused.is_none() {
            if let Some(t) = &mut self.txn {
                let room = self
                    .config
                    .max_message_size
                    .saturating_sub(t.body.len() as u64);
                if take as u64 > room || t.too_big {
                    t.too_big = true;
                } else {
                    t.body.extend_from_slice(&rest[..take]);
                }
            }
        }
        if *remaining > 0 {
            return (take, None);
        }
        let (last, refused) = (*last, refused.take());
        self.state = State::Command;
        if let Some(r) = refused {
            return (take, self.bad_after_chunk(&r));
        }
        let too_big = self.txn.as_ref().is_some_and(|t| t.too_big);
        if too_big {
            // The transaction is over; later chunks of it get 503 (no MAIL).
            self.txn = None;
            self.reply(&reply::MESSAGE_TOO_BIG);
            return (take, None);
        }
        if last {
            return (take, self.complete());
        }
        let total = self.txn.as_ref().map_or(0, |t| t.body.len() as u64);
        self.reply(&reply::chunk_ok(total));
        (take, None)
    }

    fn bad_after_chunk(&mut self, r: &Reply) -> Option<Action> {
        // The command was already counted when the chunk started.
        self.reply(r);
        if self.bad_commands >= self.config.max_bad_commands {
            return Some(self.close_with(&reply::TOO_MANY_ERRORS));
        }
        None
    }

    fn starttls(&mut self) -> Option<Action> {
        if !self.config.features.starttls {
            return self.bad(&reply::NOT_IMPLEMENTED);
        }
        if self.tls {
            return self.bad(&reply::ALREADY_TLS);
        }
        self.txn = None;
        self.reply(&reply::READY_TO_START_TLS);
        self.state = State::Waiting(Wait::Tls);
        Some(Action::StartTls)
    }

    fn auth(&mut self, mechanism: &str, initial: Option<&str>) -> Option<Action> {
        let f = &self.config.features;
        if f.auth.is_empty() {
            return self.bad(&reply::NOT_IMPLEMENTED);
        }
        if self.helo.is_none() || !self.esmtp {
            return self.bad(&reply::NEED_HELO);
        }
        if self.auth_user.is_some() {
            return self.bad(&reply::ALREADY_AUTHENTICATED);
        }
        if self.txn.is_some() {
            return self.bad(&reply::AUTH_IN_TRANSACTION);
        }
        let Some(mech) = auth::known_mechanism(mechanism).filter(|m| f.auth.contains(m)) else {
            return self.bad(&reply::UNKNOWN_MECHANISM);
        };
        if f.auth_requires_tls && !self.tls {
            return self.bad(&reply::AUTH_NEEDS_TLS);
        }
        match (mech, initial) {
            ("PLAIN", Some(resp)) => self.auth_plain(resp.as_bytes()),
            ("PLAIN", None) => {
                self.reply(&reply::auth_challenge(""));
                self.state = State::AuthPlain;
                None
            }
            (_, Some(resp)) => match auth::decode_login(resp.as_bytes()) {
                Ok(user) => {
                    self.reply(&reply::auth_challenge(auth::LOGIN_PASSWORD));
                    self.state = State::AuthLoginPassword(user);
                    None
                }
                Err(r) => self.bad(&r),
            },
            (_, None) => {
                self.reply(&reply::auth_challenge(auth::LOGIN_USER));
                self.state = State::AuthLoginUser;
                None
            }
        }
    }

    fn auth_plain(&mut self, resp: &[u8]) -> Option<Action> {
        match auth::decode_plain(resp) {
            Ok(req) => self.authenticate(req),
            Err(r) => {
                self.state = State::Command;
                self.bad(&r)
            }
        }
    }

    fn authenticate(&mut self, req: AuthRequest) -> Option<Action> {
        self.state = State::Waiting(Wait::Auth);
        Some(Action::Authenticate(req))
    }

    /// A client response inside an AUTH exchange.
    fn auth_line(&mut self, line: &[u8]) -> Option<Action> {
        let state = std::mem::replace(&mut self.state, State::Command);
        if line == b"*" {
            return self.bad(&reply::AUTH_CANCELLED);
        }
        match state {
            State::AuthPlain => self.auth_plain(line),
            State::AuthLoginUser => match auth::decode_login(line) {
                Ok(user) => {
                    self.reply(&reply::auth_challenge(auth::LOGIN_PASSWORD));
                    self.state = State::AuthLoginPassword(user);
                    None
                }
                Err(r) => self.bad(&r),
            },
            State::AuthLoginPassword(user) => match auth::decode_login(line) {
                Ok(password) => self.authenticate(AuthRequest {
                    mechanism: "LOGIN",
                    authzid: String::new(),
                    user,
                    password,
                }),
                Err(r) => self.bad(&r),
            },
            _ => None,
        }
    }

    fn etrn(&mut self, node: String) -> Option<Action> {
        if !self.config.features.etrn {
            return self.bad(&reply::NOT_IMPLEMENTED);
        }
        if self.helo.is_none() {
            return self.bad(&reply::NEED_HELO);
        }
        if self.txn.is_some() {
            return self.bad(&reply::BAD_SEQUENCE);
        }
        self.state = State::Waiting(Wait::Etrn);
        Some(Action::Etrn(node))
    }
}
