//! Delivery status notifications (RFC 3461, RFC 3464, RFC 6522). Pure.
//!
//! [`build`] writes one report: a `multipart/report; report-type=delivery-status` message
//! with a human-readable part, the `message/delivery-status` part and, as RET asks, the
//! original message (`message/rfc822`, the default) or its header (`text/rfc822-headers`
//! for RET=HDRS). The worker sends it from the null reverse-path `<>` to the original
//! sender; [`wanted`] says, from each recipient's NOTIFY, whether it is asked for.

use std::io::Write;

use tern_proto::params::{Notify, Ret};
use tern_proto::reply::Enhanced;
use tern_proto::{Envelope, ForwardPath, Recipient};

use crate::outcome::Recorded;

/// What the report says happened to its recipients (RFC 3464 2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Failed for good: the bounce.
    Failed,
    /// Not delivered yet, still being retried: the delay warning.
    Delayed,
    /// Handed to a next hop that does not offer DSN, so no further notice will come.
    Relayed,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
            Action::Relayed => "relayed",
        }
    }
}

/// Whether a recipient's NOTIFY asks for a report of `action` (RFC 3461 4.1). Without
/// NOTIFY, only failures are reported: delay and relay notices are opt-in.
pub fn wanted(notify: Option<Notify>, action: Action) -> bool {
    match notify {
        None => action == Action::Failed,
        Some(n) if n.never => false,
        Some(n) => match action {
            Action::Failed => n.failure,
            Action::Delayed => n.delay,
            Action::Relayed => n.success,
        },
    }
}

/// One recipient in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRecipient {
    /// The recipient as the envelope has it (its ORCPT gives Original-Recipient).
    pub rcpt: Recipient,
    /// The last reply, if there was one (a relayed notice has the hop's 250).
    pub reply: Option<Recorded>,
}

/// Everything a report says.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// Our host name: Reporting-MTA, From and Message-ID.
    pub reporting_mta: &'a str,
    /// The queue id of the original message: Message-ID and the MIME boundary.
    pub id: &'a str,
    /// The original envelope: sender (To:), ENVID, RET.
    pub envelope: &'a Envelope,
    /// When the original arrived, unix seconds.
    pub arrival: u64,
    /// Now, unix seconds: Date and Last-Attempt-Date.
    pub now: u64,
    /// What happened.
    pub action: Action,
    /// The recipients reported on (all with `action`).
    pub recipients: &'a [ReportRecipient],
    /// The original message as queued.
    pub original: &'a [u8],
}

fn date(unix: u64) -> String {
    let mut v = Vec::with_capacity(32);
    tern_proto::received::write_date(i64::try_from(unix).unwrap_or(i64::MAX), 0, &mut v);
    String::from_utf8_lossy(&v).into_owned()
}

/// `addr-type; address` for Final-Recipient: `utf-8` when the address needs it (RFC 6533).
fn typed_address(path: &ForwardPath) -> String {
    match path.mailbox() {
        Some(m) if m.is_utf8() => format!("utf-8; {m}"),
        Some(m) => format!("rfc822; {m}"),
        None => "rfc822; postmaster".to_owned(),
    }
}

fn shown(path: &ForwardPath) -> String {
    match path.mailbox() {
        Some(m) => format!("<{m}>"),
        None => "<postmaster>".to_owned(),
    }
}

/// The header part of a message: everything before the first empty line.
fn header_of(message: &[u8]) -> &[u8] {
    memchr_blank(message).map_or(message, |end| &message[..end])
}

fn memchr_blank(m: &[u8]) -> Option<usize> {
    if m.starts_with(b"\r\n") {
        return Some(0);
    }
    m.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 2)
}

/// Writes the whole report (header and body, CRLF line ends), ready to queue.
pub fn build(r: &Report<'_>) -> Vec<u8> {
    let mta = r.reporting_mta;
    let boundary = format!("{}.{}/{mta}", r.id, r.action.as_str());
    let to = match r.envelope.from.mailbox() {
        Some(m) => format!("<{m}>"),
        // Never sent: a null sender gets no report. Written for completeness.
        None => "undisclosed-recipients:;".to_owned(),
    };
    let subject = match r.action {
        Action::Failed => "Undelivered Mail Returned to Sender",
        Action::Delayed => "Delayed Mail (still being retried)",
        Action::Relayed => "Relayed Mail Delivery Report",
    };
    let mut o = Vec::with_capacity(r.original.len() + 2048);
    // Writing into a Vec cannot fail.
    let _ = write!(
        o,
        "From: Mail Delivery System <MAILER-DAEMON@{mta}>\r\n\
         To: {to}\r\n\
         Subject: {subject}\r\n\
         Date: {}\r\n\
         Message-ID: <{}.{}@{mta}>\r\n\
         Auto-Submitted: auto-replied\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\
         \tboundary=\"{boundary}\"\r\n\
         \r\n\
         This is a MIME-encapsulated message.\r\n\
         \r\n\
         --{boundary}\r\n\
         Content-Description: Notification\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         This is the mail system at host {mta}.\r\n\
         \r\n",
        date(r.now),
        r.id,
        r.action.as_str(),
    );
    let _ = o.write_all(match r.action {
        Action::Failed => {
            b"Your message could not be delivered to one or more recipients.\r\n\
              It is attached below; the reasons follow.\r\n" as &[u8]
        }
        Action::Delayed => {
            b"Your message has not been delivered yet to one or more recipients.\r\n\
              The mail system will keep trying; you do not need to send it again.\r\n"
        }
        Action::Relayed => {
            b"Your message was relayed to a system that does not send delivery\r\n\
              notifications; you will get no further report for these recipients.\r\n"
        }
    });
    o.extend_from_slice(b"\r\n");
    for rr in r.recipients {
        let _ = write!(o, "{}", shown(&rr.rcpt.path));
        if let Some(rep) = &rr.reply {
            let _ = write!(o, ": {rep}");
        }
        o.extend_from_slice(b"\r\n");
    }
    let _ = write!(
        o,
        "\r\n--{boundary}\r\n\
         Content-Description: Delivery report\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; {mta}\r\n"
    );
    if let Some(envid) = &r.envelope.params.envid {
        let _ = write!(o, "Original-Envelope-Id: {envid}\r\n");
    }
    let _ = write!(o, "Arrival-Date: {}\r\n", date(r.arrival));
    for rr in r.recipients {
        let _ = write!(
            o,
            "\r\nFinal-Recipient: {}\r\n",
            typed_address(&rr.rcpt.path)
        );
        if let Some(orcpt) = &rr.rcpt.params.orcpt {
            let _ = write!(
                o,
                "Original-Recipient: {}; {}\r\n",
                orcpt.addr_type, orcpt.addr
            );
        }
        let Enhanced(c, s, d) = match (&rr.reply, r.action) {
            (Some(rep), _) => rep.status(),
            (None, Action::Relayed) => Enhanced(2, 0, 0),
            (None, Action::Delayed) => Enhanced(4, 0, 0),
            (None, Action::Failed) => Enhanced(5, 0, 0),
        };
        let _ = write!(
            o,
            "Action: {}\r\nStatus: {c}.{s}.{d}\r\n",
            r.action.as_str()
        );
        if let Some(Recorded {
            remote: Some(remote),
            ..
        }) = &rr.reply
        {
            let _ = write!(o, "Remote-MTA: dns; {remote}\r\n");
        }
        if let Some(rep) = &rr.reply {
            let kind = if rep.remote.is_some() {
                "smtp"
            } else {
                "x-tern"
            };
            let _ = write!(o, "Diagnostic-Code: {kind}; {}\r\n", rep.reply_line());
        }
        if r.action != Action::Relayed {
            let _ = write!(o, "Last-Attempt-Date: {}\r\n", date(r.now));
        }
    }
    let _ = write!(o, "\r\n--{boundary}\r\n");
    match r.envelope.params.ret {
        Some(Ret::Hdrs) => {
            let _ = write!(
                o,
                "Content-Description: Undelivered message headers\r\n\
                 Content-Type: text/rfc822-headers\r\n\r\n"
            );
            o.extend_from_slice(header_of(r.original));
        }
        Some(Ret::Full) | None => {
            let _ = write!(
                o,
                "Content-Description: Undelivered message\r\n\
                 Content-Type: message/rfc822\r\n\r\n"
            );
            o.extend_from_slice(r.original);
        }
    }
    if !o.ends_with(b"\r\n") {
        o.extend_from_slice(b"\r\n");
    }
    let _ = write!(o, "\r\n--{boundary}--\r\n");
    o
}
