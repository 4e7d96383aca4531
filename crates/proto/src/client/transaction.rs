//! One mail transaction on the way out: MAIL, RCPT..., then DATA or BDAT, with or without
//! PIPELINING (RFC 2920), and the per-recipient result.
//!
//! The transaction writes commands into the session's output buffer and consumes the
//! replies meant for it, in order. It knows nothing about greeting, EHLO or TLS.

use std::collections::VecDeque;
use std::io::Write;

use super::capabilities::Capabilities;
use super::local;
use super::session::Answered;
use super::{ClientOptions, Envelope, Recipient, UsageError};
use crate::params::{BodyType, MailParams, Notify, Ret};
use crate::reply::{Enhanced, Reply};
use crate::xtext;

/// How the session wants the message body, told by [`super::ClientEvent::NeedBody`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// For DATA: the body already dot-stuffed and terminated by `.\r\n` (the form that
    /// `crate::body::stuff` produces). The session sends it as given.
    DotStuffed,
    /// For BDAT (RFC 3030): the body as stored, not stuffed. The session sends
    /// `BDAT <len> LAST` and then the bytes.
    Raw,
}

/// What happened to one transaction, recipient by recipient.
///
/// Every transaction started with [`super::ClientSession::send_mail`] ends in exactly one
/// `TransactionResult`, also when the connection breaks half-way (missing replies are then
/// filled in with the local reply that ended the session). Use [`TransactionResult::outcome`]
/// to get the reply that decides a recipient's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionResult {
    /// The reply to MAIL FROM, or the local reply when the client refused the transaction
    /// itself (then `local` is true and nothing was sent).
    pub mail: Reply,
    /// The reply to each RCPT TO, in envelope order. Shorter than the envelope only when
    /// MAIL failed without PIPELINING (no RCPT was sent; `mail` decides every recipient).
    pub rcpts: Vec<Reply>,
    /// The final reply to the body (after `.` or to `BDAT ... LAST`), or the failure reply
    /// to DATA itself. `None` when the body was not attempted.
    pub data: Option<Reply>,
    /// True when the client decided the outcome itself without sending anything (the hop
    /// lacks SMTPUTF8, BINARYMIME, or the message exceeds its SIZE).
    pub local: bool,
}

/// Stands in for a reply that never came, should a result ever be incomplete.
pub(crate) static NO_FINAL_REPLY: Reply =
    Reply::fixed(451, Enhanced(4, 4, 0), "No final reply received");

impl TransactionResult {
    /// A transaction refused before anything was sent.
    pub(crate) fn refused(reply: Reply) -> TransactionResult {
        TransactionResult {
            mail: reply,
            rcpts: Vec::new(),
            data: None,
            local: true,
        }
    }

    /// The reply that decides recipient `i` (envelope order): MAIL's if it failed, else the
    /// recipient's RCPT reply if it failed, else the final body reply.
    pub fn outcome(&self, i: usize) -> &Reply {
        if !is_2xx(&self.mail) {
            return &self.mail;
        }
        match self.rcpts.get(i) {
            Some(r) if !is_2xx(r) => r,
            Some(_) => self.data.as_ref().unwrap_or(&NO_FINAL_REPLY),
            None => &NO_FINAL_REPLY,
        }
    }

    /// True when recipient `i` was delivered: its outcome is a 2xx reply.
    pub fn delivered(&self, i: usize) -> bool {
        is_2xx(self.outcome(i))
    }
}

fn is_2xx(r: &Reply) -> bool {
    (200..300).contains(&r.code)
}

/// Whether the envelope can only travel over SMTPUTF8 (RFC 6531 3.4).
pub(crate) fn needs_smtputf8(env: &Envelope) -> bool {
    env.params.smtputf8
        || env.from.mailbox().is_some_and(|m| m.is_utf8())
        || env
            .rcpts
            .iter()
            .any(|r| r.path.mailbox().is_some_and(|m| m.is_utf8()))
}

/// Decides, before anything is sent, whether this hop can take the message and how the body
/// goes. `Err` carries the local reply that refuses it.
pub(crate) fn plan(
    env: &Envelope,
    caps: &Capabilities,
    opts: &ClientOptions,
) -> Result<BodyFormat, Reply> {
    if needs_smtputf8(env) && !caps.smtputf8 {
        return Err(local::UTF8_NOT_SUPPORTED);
    }
    let binary = env.params.body == Some(BodyType::BinaryMime);
    if binary && !(caps.chunking && caps.binarymime) {
        return Err(local::BINARY_NOT_SUPPORTED);
    }
    if env.params.body == Some(BodyType::EightBitMime)
        && !caps.eightbitmime
        && opts.refuse_8bit_without_8bitmime
    {
        return Err(local::EIGHTBIT_NOT_SUPPORTED);
    }
    if let (Some(limit), Some(size)) = (caps.size_limit(), env.params.size) {
        if size > limit {
            return Err(local::size_exceeded(limit));
        }
    }
    if binary || (caps.chunking && opts.chunking) {
        Ok(BodyFormat::Raw)
    } else {
        Ok(BodyFormat::DotStuffed)
    }
}

/// `MAIL FROM:<path> [params]\r\n` with only the parameters this hop offers.
pub(crate) fn write_mail(env: &Envelope, caps: &Capabilities, out: &mut Vec<u8>) {
    let p: &MailParams = &env.params;
    // Writing into a Vec cannot fail.
    let _ = write!(out, "MAIL FROM:{}", env.from);
    if let (Some(_), Some(size)) = (caps.size, p.size) {
        let _ = write!(out, " SIZE={size}");
    }
    match p.body {
        Some(BodyType::EightBitMime) if caps.eightbitmime => {
            out.extend_from_slice(b" BODY=8BITMIME")
        }
        Some(BodyType::BinaryMime) => out.extend_from_slice(b" BODY=BINARYMIME"),
        // 7BIT is the default; 8BITMIME without the extension goes out unlabelled (see
        // `ClientOptions::refuse_8bit_without_8bitmime`).
        _ => {}
    }
    if needs_smtputf8(env) {
        out.extend_from_slice(b" SMTPUTF8");
    }
    if caps.dsn {
        match p.ret {
            Some(Ret::Full) => out.extend_from_slice(b" RET=FULL"),
            Some(Ret::Hdrs) => out.extend_from_slice(b" RET=HDRS"),
            None => {}
        }
        if let Some(envid) = &p.envid {
            let _ = write!(out, " ENVID={}", xtext::encode(envid));
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// `RCPT TO:<path> [params]\r\n`; NOTIFY and ORCPT only when the hop offers DSN.
pub(crate) fn write_rcpt(rcpt: &Recipient, caps: &Capabilities, out: &mut Vec<u8>) {
    let _ = write!(out, "RCPT TO:{}", rcpt.path);
    if caps.dsn {
        if let Some(n) = rcpt.params.notify {
            write_notify(n, out);
        }
        if let Some(o) = &rcpt.params.orcpt {
            let _ = write!(out, " ORCPT={};{}", o.addr_type, xtext::encode(&o.addr));
        }
    }
    out.extend_from_slice(b"\r\n");
}

fn write_notify(n: Notify, out: &mut Vec<u8>) {
    if n.never {
        out.extend_from_slice(b" NOTIFY=NEVER");
        return;
    }
    let mut sep: &[u8] = b" NOTIFY=";
    for (on, word) in [
        (n.success, &b"SUCCESS"[..]),
        (n.failure, b"FAILURE"),
        (n.delay, b"DELAY"),
    ] {
        if on {
            out.extend_from_slice(sep);
            out.extend_from_slice(word);
            sep = b",";
        }
    }
}

/// What the session should do after a reply.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Wait for more replies.
    Continue,
    /// Ask the driver for the body.
    NeedBody(BodyFormat),
    /// The transaction is over.
    Done,
}

/// The reply each command in flight is waiting for, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Mail,
    Rcpt,
    Data,
    /// The final reply after the stuffed body.
    DataEnd,
    /// The reply to a lone `.` sent because the server said 354 with no recipient.
    DataAbort,
    Bdat,
    Rset,
}

/// A transaction in flight.
#[derive(Debug)]
pub(crate) struct Transaction {
    /// The MAIL line followed by the RCPT lines, rendered once at the start.
    lines: Vec<u8>,
    /// End offset in `lines` of each line: MAIL first, then one per recipient.
    ends: Vec<usize>,
    /// How many lines have been written out.
    sent: usize,
    pipelined: bool,
    /// The BDAT body goes with MAIL and RCPT, before their replies (a window's transaction);
    /// its `Expect::Bdat` is queued from the start.
    eager: bool,
    format: BodyFormat,
    expect: VecDeque<Expect>,
    mail: Option<Reply>,
    rcpts: Vec<Reply>,
    data: Option<Reply>,
    awaiting_body: bool,
}

impl Transaction {
    /// Renders the commands and writes the first batch: everything up to DATA when
    /// pipelining (RFC 2920 3.1: DATA ends a batch), MAIL alone otherwise. With BDAT the
    /// body is held back until the RCPT replies show a recipient was accepted, so a
    /// transaction nobody takes costs no body bytes.
    pub(crate) fn start(
        env: &Envelope,
        caps: &Capabilities,
        format: BodyFormat,
        pipelined: bool,
        eager: bool,
        out: &mut Vec<u8>,
    ) -> Transaction {
        let mut lines = Vec::with_capacity(64 + 48 * env.rcpts.len());
        let mut ends = Vec::with_capacity(1 + env.rcpts.len());
        write_mail(env, caps, &mut lines);
        ends.push(lines.len());
        for r in &env.rcpts {
            write_rcpt(r, caps, &mut lines);
            ends.push(lines.len());
        }
        let mut t = Transaction {
            lines,
            ends,
            sent: 0,
            pipelined,
            eager: eager && pipelined && format == BodyFormat::Raw,
            format,
            expect: VecDeque::with_capacity(env.rcpts.len() + 3),
            mail: None,
            rcpts: Vec::with_capacity(env.rcpts.len()),
            data: None,
            awaiting_body: false,
        };
        if pipelined {
            while t.sent < t.ends.len() {
                t.send_line(out);
            }
            if format == BodyFormat::DotStuffed {
                t.command(b"DATA\r\n", Expect::Data, out);
            } else if t.eager {
                t.expect.push_back(Expect::Bdat);
                t.awaiting_body = true;
            }
        } else {
            t.send_line(out);
        }
        t
    }

    fn n_rcpts(&self) -> usize {
        self.ends.len() - 1
    }

    /// Writes the next rendered line (MAIL or RCPT) and expects its reply.
    fn send_line(&mut self, out: &mut Vec<u8>) {
        let start = if self.sent == 0 {
            0
        } else {
            self.ends[self.sent - 1]
        };
        out.extend_from_slice(&self.lines[start..self.ends[self.sent]]);
        self.expect.push_back(if self.sent == 0 {
            Expect::Mail
        } else {
            Expect::Rcpt
        });
        self.sent += 1;
    }

    fn command(&mut self, line: &[u8], expect: Expect, out: &mut Vec<u8>) {
        out.extend_from_slice(line);
        self.expect.push_back(expect);
    }

    /// MAIL and at least one RCPT were accepted: the body is worth sending.
    fn accepted(&self) -> bool {
        self.mail.as_ref().is_some_and(is_2xx) && self.rcpts.iter().any(is_2xx)
    }

    /// True when everything this transaction will write is written: what is left is
    /// waiting for replies that cannot make it write more than RSET. Only then may the next
    /// transaction of a window follow it on the wire.
    pub(crate) fn written(&self) -> bool {
        !self.awaiting_body
            && self.expect.iter().all(|e| match e {
                Expect::Mail | Expect::Rcpt => self.eager,
                Expect::Data | Expect::DataAbort => false,
                Expect::DataEnd | Expect::Bdat | Expect::Rset => true,
            })
    }

    /// Takes the next reply. `None` when no command is waiting for one (the server spoke
    /// out of turn).
    pub(crate) fn on_reply(
        &mut self,
        r: Reply,
        answered: &mut Answered,
        out: &mut Vec<u8>,
    ) -> Option<Step> {
        // An eager BDAT transaction waits for its body and for its MAIL/RCPT replies at
        // once; otherwise nothing may arrive while the driver owes the body.
        if self.awaiting_body && !self.eager {
            return None;
        }
        let expect = self.expect.pop_front()?;
        match expect {
            Expect::Mail => answered.mail += 1,
            Expect::Rcpt => answered.rcpt += 1,
            Expect::Data => answered.data += 1,
            Expect::DataEnd | Expect::Bdat => answered.body += 1,
            Expect::DataAbort | Expect::Rset => {}
        }
        match expect {
            Expect::Mail => {
                let ok = is_2xx(&r);
                self.mail = Some(r);
                if !self.pipelined && ok {
                    self.send_line(out);
                }
            }
            Expect::Rcpt => {
                self.rcpts.push(r);
                if self.rcpts.len() < self.n_rcpts() {
                    if !self.pipelined {
                        self.send_line(out);
                    }
                } else if let Some(step) = self.after_rcpts(out) {
                    return Some(step);
                }
            }
            Expect::Data => {
                if r.code == 354 && self.accepted() {
                    self.awaiting_body = true;
                    return Some(Step::NeedBody(BodyFormat::DotStuffed));
                } else if r.code == 354 {
                    // RFC 2920 3.1 wants 503/554 here; a server that says 354 anyway gets
                    // an empty body so that the transaction can end and be reset.
                    self.command(b".\r\n", Expect::DataAbort, out);
                } else {
                    self.data = Some(r);
                    self.command(b"RSET\r\n", Expect::Rset, out);
                }
            }
            Expect::DataEnd | Expect::Bdat => self.data = Some(r),
            Expect::DataAbort => self.command(b"RSET\r\n", Expect::Rset, out),
            Expect::Rset => {}
        }
        Some(if self.expect.is_empty() {
            Step::Done
        } else {
            Step::Continue
        })
    }

    /// The last RCPT reply is in. With pipelined DATA its reply is already on the way;
    /// otherwise decide between the body and RSET now.
    fn after_rcpts(&mut self, out: &mut Vec<u8>) -> Option<Step> {
        // Pipelined DATA and eager BDAT are on the wire already: their reply decides.
        if (self.pipelined && self.format == BodyFormat::DotStuffed) || self.eager {
            return None;
        }
        if !self.accepted() {
            self.command(b"RSET\r\n", Expect::Rset, out);
            return None;
        }
        match self.format {
            BodyFormat::DotStuffed => {
                self.command(b"DATA\r\n", Expect::Data, out);
                None
            }
            BodyFormat::Raw => {
                self.awaiting_body = true;
                Some(Step::NeedBody(BodyFormat::Raw))
            }
        }
    }

    /// Writes the body in the format asked for by [`Step::NeedBody`].
    pub(crate) fn send_body(&mut self, body: &[u8], out: &mut Vec<u8>) -> Result<(), UsageError> {
        if !self.awaiting_body {
            return Err(UsageError::BodyNotExpected);
        }
        match self.format {
            BodyFormat::DotStuffed => {
                // A body without its terminator would leave the server waiting in DATA and
                // the session waiting for a reply: refuse it here where the bug is visible.
                let terminated =
                    body == b".\r\n" || (body.len() > 5 && body.ends_with(b"\r\n.\r\n"));
                if !terminated {
                    return Err(UsageError::UnterminatedBody);
                }
                out.extend_from_slice(body);
                self.expect.push_back(Expect::DataEnd);
            }
            BodyFormat::Raw => {
                let _ = write!(out, "BDAT {} LAST\r\n", body.len());
                out.extend_from_slice(body);
                if self.eager {
                    // The next transaction of the window may follow before this BDAT's
                    // reply is in. Should every RCPT be refused, the BDAT fails but the
                    // server keeps the MAIL (RFC 3030 4.2 only discards the chunk): the
                    // next MAIL would get 503 and its RCPTs would join this sender's
                    // transaction. RSET closes every eager transaction, whatever happens.
                    self.command(b"RSET\r\n", Expect::Rset, out);
                } else {
                    self.expect.push_back(Expect::Bdat);
                }
            }
        }
        self.awaiting_body = false;
        Ok(())
    }

    /// The result, with any reply that never came replaced by `missing`.
    pub(crate) fn finish(self, missing: &Reply) -> TransactionResult {
        let n = self.n_rcpts();
        let accepted = self.accepted();
        let mail = self.mail.unwrap_or_else(|| missing.clone());
        let mut rcpts = self.rcpts;
        if is_2xx(&mail) {
            rcpts.resize(n, missing.clone());
        }
        let mut data = self.data;
        if data.is_none() && is_2xx(&mail) && (accepted || rcpts.iter().any(is_2xx)) {
            data = Some(missing.clone());
        }
        TransactionResult {
            mail,
            rcpts,
            data,
            local: false,
        }
    }
}
