//! Counters and latency histograms, kept per thread without sharing (each executor owns
//! its `SendStats`/`SinkStats`), merged once at the end, and printed as a table or JSON.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency recorded, in microseconds (an hour); above it values are clamped.
const MAX_MICROS: u64 = 3_600_000_000;

/// A latency histogram in microseconds, 3 significant digits.
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        // 1 us .. 1 h at 3 significant figures is a fixed, valid configuration.
        match Histogram::new_with_bounds(1, MAX_MICROS, 3) {
            Ok(h) => Latency(h),
            Err(_) => unreachable!("constant histogram bounds are valid"),
        }
    }
}

impl Latency {
    /// Records one latency.
    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(MAX_MICROS);
        self.0.saturating_record(us.clamp(1, MAX_MICROS));
    }

    /// Records a latency given in microseconds.
    pub fn record_micros(&mut self, us: u64) {
        self.0.saturating_record(us.clamp(1, MAX_MICROS));
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &Latency) {
        // Same bounds on both sides: adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The value at quantile `q` (0..=1), microseconds.
    pub fn quantile(&self, q: f64) -> u64 {
        self.0.value_at_quantile(q)
    }

    /// The summary written to reports.
    pub fn summary(&self) -> Summary {
        let h = &self.0;
        Summary {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean().round() as u64,
        }
    }
}

/// Quantiles of one histogram, in microseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Mean, rounded.
    pub mean: u64,
}

/// Reply codes counted per code.
pub type Codes = BTreeMap<u16, u64>;

fn merge_codes(into: &mut Codes, from: &Codes) {
    for (c, n) in from {
        *into.entry(*c).or_default() += n;
    }
}

/// The histograms of the sender, in report order: (name, what it measures).
pub const SEND_HISTOGRAMS: [(&str, &str); 10] = [
    ("connect", "TCP connect"),
    ("greeting", "connect to 220"),
    ("starttls", "TLS handshake after STARTTLS's 220"),
    (
        "ehlo",
        "EHLO to its reply (after STARTTLS: the second EHLO)",
    ),
    ("auth", "AUTH PLAIN to its reply"),
    ("mail", "MAIL to its reply (lock-step or --window)"),
    ("rcpt", "RCPT to its reply; pipelined, window 1: the batch"),
    ("data", "DATA to 354; pipelined, window 1: the batch"),
    ("data_end", "end of data to the final reply"),
    ("transaction", "scheduled start to the final reply"),
];

/// What one sender thread saw.
#[derive(Debug, Clone, Default)]
pub struct SendStats {
    /// Histograms, indexed like [`SEND_HISTOGRAMS`].
    pub latency: [Latency; 10],
    /// Messages whose every recipient got a 2xx final outcome.
    pub ok: u64,
    /// Messages with at least one recipient not delivered (or never sent: connection failed).
    pub failed: u64,
    /// Recipients delivered.
    pub rcpts_ok: u64,
    /// Message bytes (unstuffed, as stored) of delivered messages.
    pub bytes_ok: u64,
    /// Sessions opened.
    pub sessions: u64,
    /// Sessions that completed a TLS handshake.
    pub tls_sessions: u64,
    /// Connects refused or timed out, I/O errors, reply timeouts, protocol errors.
    pub connection_errors: u64,
    /// Reply codes to MAIL.
    pub mail_codes: Codes,
    /// Reply codes to RCPT.
    pub rcpt_codes: Codes,
    /// Final reply codes to the body (or the refusal of DATA itself).
    pub data_codes: Codes,
    /// Replies that ended a session or refused it (greeting/EHLO failures, 421, 221).
    pub session_codes: Codes,
    /// Replies to AUTH.
    pub auth_codes: Codes,
}

/// Index of a histogram in [`SendStats::latency`].
#[derive(Debug, Clone, Copy)]
pub enum H {
    /// TCP connect.
    Connect = 0,
    /// Greeting.
    Greeting,
    /// TLS handshake.
    StartTls,
    /// EHLO.
    Ehlo,
    /// AUTH.
    Auth,
    /// MAIL.
    Mail,
    /// RCPT.
    Rcpt,
    /// DATA go-ahead.
    Data,
    /// End of data to final reply.
    DataEnd,
    /// Whole transaction.
    Transaction,
}

impl SendStats {
    /// Records into histogram `h`.
    pub fn record(&mut self, h: H, d: Duration) {
        self.latency[h as usize].record(d);
    }

    /// Adds another thread's counts.
    pub fn merge(&mut self, o: &SendStats) {
        for (a, b) in self.latency.iter_mut().zip(o.latency.iter()) {
            a.merge(b);
        }
        self.ok += o.ok;
        self.failed += o.failed;
        self.rcpts_ok += o.rcpts_ok;
        self.bytes_ok += o.bytes_ok;
        self.sessions += o.sessions;
        self.tls_sessions += o.tls_sessions;
        self.connection_errors += o.connection_errors;
        merge_codes(&mut self.mail_codes, &o.mail_codes);
        merge_codes(&mut self.rcpt_codes, &o.rcpt_codes);
        merge_codes(&mut self.data_codes, &o.data_codes);
        merge_codes(&mut self.session_codes, &o.session_codes);
        merge_codes(&mut self.auth_codes, &o.auth_codes);
    }
}

/// The sender's JSON report.
#[derive(Debug, Serialize)]
pub struct SendReport {
    /// Always "send".
    pub kind: &'static str,
    /// Wall time of the run, seconds.
    pub elapsed_s: f64,
    /// Messages attempted (ok + failed).
    pub messages: u64,
    /// Messages delivered to every recipient.
    pub ok: u64,
    /// Messages not delivered to every recipient.
    pub failed: u64,
    /// Recipients delivered.
    pub rcpts_ok: u64,
    /// Bytes of delivered messages, unstuffed.
    pub bytes_ok: u64,
    /// Delivered messages per second.
    pub msgs_per_s: f64,
    /// Delivered bytes per second.
    pub bytes_per_s: f64,
    /// Sessions opened.
    pub sessions: u64,
    /// Sessions that completed a TLS handshake.
    pub tls_sessions: u64,
    /// Connection-level errors.
    pub connection_errors: u64,
    /// Latency summaries in microseconds, by histogram name.
    pub latency_us: BTreeMap<&'static str, Summary>,
    /// Reply codes per stage: mail, rcpt, data, session, auth.
    pub reply_codes: BTreeMap<&'static str, Codes>,
}

impl SendReport {
    /// Builds the report from merged stats.
    pub fn new(s: &SendStats, elapsed: Duration) -> SendReport {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let mut latency_us = BTreeMap::new();
        for (i, (name, _)) in SEND_HISTOGRAMS.iter().enumerate() {
            latency_us.insert(*name, s.latency[i].summary());
        }
        let mut reply_codes = BTreeMap::new();
        reply_codes.insert("mail", s.mail_codes.clone());
        reply_codes.insert("rcpt", s.rcpt_codes.clone());
        reply_codes.insert("data", s.data_codes.clone());
        reply_codes.insert("session", s.session_codes.clone());
        reply_codes.insert("auth", s.auth_codes.clone());
        SendReport {
            kind: "send",
            elapsed_s: elapsed.as_secs_f64(),
            messages: s.ok + s.failed,
            ok: s.ok,
            failed: s.failed,
            rcpts_ok: s.rcpts_ok,
            bytes_ok: s.bytes_ok,
            msgs_per_s: s.ok as f64 / secs,
            bytes_per_s: s.bytes_ok as f64 / secs,
            sessions: s.sessions,
            tls_sessions: s.tls_sessions,
            connection_errors: s.connection_errors,
            latency_us,
            reply_codes,
        }
    }

    /// The human-readable table for stdout.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "sent {} messages in {:.2}s: {} ok, {} failed; {:.0} msgs/s, {:.2} MB/s; {} sessions ({} TLS), {} connection errors",
            self.messages,
            self.elapsed_s,
            self.ok,
            self.failed,
            self.msgs_per_s,
            self.bytes_per_s / 1e6,
            self.sessions,
            self.tls_sessions,
            self.connection_errors
        );
        latency_table(
            &mut t,
            SEND_HISTOGRAMS
                .iter()
                .map(|(n, what)| (*n, *what, &self.latency_us[n])),
        );
        for (stage, codes) in &self.reply_codes {
            codes_line(&mut t, stage, codes);
        }
        t
    }
}

fn latency_table<'a>(t: &mut String, rows: impl Iterator<Item = (&'a str, &'a str, &'a Summary)>) {
    let _ = writeln!(
        t,
        "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  (microseconds)",
        "latency", "count", "p50", "p90", "p99", "p99.9", "max"
    );
    for (name, what, s) in rows {
        if s.count == 0 {
            continue;
        }
        let _ = writeln!(
            t,
            "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  {what}",
            name, s.count, s.p50, s.p90, s.p99, s.p999, s.max
        );
    }
}

fn codes_line(t: &mut String, stage: &str, codes: &Codes) {
    if codes.is_empty() {
        return;
    }
    let _ = write!(t, "replies {stage:<8}");
    for (c, n) in codes {
        let _ = write!(t, " {c}:{n}");
    }
    t.push('\n');
}

/// What one sink thread saw.
#[derive(Debug, Clone, Default)]
pub struct SinkStats {
    /// Messages received (accepted or refused at end of data).
    pub messages: u64,
    /// Messages answered 250.
    pub accepted: u64,
    /// Recipients of accepted messages.
    pub rcpts_accepted: u64,
    /// Bytes (unstuffed) of accepted messages.
    pub bytes_accepted: u64,
    /// Bytes of all received messages.
    pub bytes: u64,
    /// Sessions accepted.
    pub sessions: u64,
    /// Sessions that completed a TLS handshake.
    pub tls_sessions: u64,
    /// STARTTLS handshakes that failed.
    pub tls_failures: u64,
    /// AUTH exchanges with the right credentials.
    pub auth_ok: u64,
    /// AUTH exchanges with wrong credentials (answered 535).
    pub auth_failed: u64,
    /// End-of-data reply codes.
    pub codes: Codes,
    /// Receive time minus `X-Tern-Loadtest-Sent`.
    pub end_to_end: Latency,
    /// Messages without a readable `X-Tern-Loadtest-Sent` header.
    pub no_sent_header: u64,
}

impl SinkStats {
    /// Adds another thread's counts.
    pub fn merge(&mut self, o: &SinkStats) {
        self.messages += o.messages;
        self.accepted += o.accepted;
        self.rcpts_accepted += o.rcpts_accepted;
        self.bytes_accepted += o.bytes_accepted;
        self.bytes += o.bytes;
        self.sessions += o.sessions;
        self.tls_sessions += o.tls_sessions;
        self.tls_failures += o.tls_failures;
        self.auth_ok += o.auth_ok;
        self.auth_failed += o.auth_failed;
        merge_codes(&mut self.codes, &o.codes);
        self.end_to_end.merge(&o.end_to_end);
        self.no_sent_header += o.no_sent_header;
    }
}

/// The sink's JSON report.
#[derive(Debug, Serialize)]
pub struct SinkReport {
    /// Always "sink".
    pub kind: &'static str,
    /// Wall time from listening to stop, seconds.
    pub elapsed_s: f64,
    /// Messages received.
    pub messages: u64,
    /// Messages answered 250.
    pub accepted: u64,
    /// Messages refused by a rule.
    pub refused: u64,
    /// Recipients of accepted messages.
    pub rcpts_accepted: u64,
    /// Bytes of accepted messages, unstuffed.
    pub bytes_accepted: u64,
    /// Bytes of all messages.
    pub bytes: u64,
    /// Sessions.
    pub sessions: u64,
    /// Sessions that completed a TLS handshake.
    pub tls_sessions: u64,
    /// STARTTLS handshakes that failed.
    pub tls_failures: u64,
    /// Successful AUTH exchanges.
    pub auth_ok: u64,
    /// AUTH exchanges refused with 535.
    pub auth_failed: u64,
    /// Messages received per second of the run.
    pub msgs_per_s: f64,
    /// End-to-end latency (sink receive time minus the sent header), microseconds.
    pub end_to_end_us: Summary,
    /// Messages without the sent header.
    pub no_sent_header: u64,
    /// End-of-data reply codes.
    pub reply_codes: Codes,
}

impl SinkReport {
    /// Builds the report from merged stats.
    pub fn new(s: &SinkStats, elapsed: Duration) -> SinkReport {
        SinkReport {
            kind: "sink",
            elapsed_s: elapsed.as_secs_f64(),
            messages: s.messages,
            accepted: s.accepted,
            refused: s.messages - s.accepted,
            rcpts_accepted: s.rcpts_accepted,
            bytes_accepted: s.bytes_accepted,
            bytes: s.bytes,
            sessions: s.sessions,
            tls_sessions: s.tls_sessions,
            tls_failures: s.tls_failures,
            auth_ok: s.auth_ok,
            auth_failed: s.auth_failed,
            msgs_per_s: s.messages as f64 / elapsed.as_secs_f64().max(1e-9),
            end_to_end_us: s.end_to_end.summary(),
            no_sent_header: s.no_sent_header,
            reply_codes: s.codes.clone(),
        }
    }

    /// The human-readable table for stdout.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "sink received {} messages in {:.2}s: {} accepted ({} rcpts, {} bytes), {} refused; {:.0} msgs/s; {} sessions",
            self.messages,
            self.elapsed_s,
            self.accepted,
            self.rcpts_accepted,
            self.bytes_accepted,
            self.refused,
            self.msgs_per_s,
            self.sessions
        );
        if self.tls_sessions + self.tls_failures + self.auth_ok + self.auth_failed > 0 {
            let _ = writeln!(
                t,
                "tls sessions {}, tls failures {}; auth ok {}, auth failed {}",
                self.tls_sessions, self.tls_failures, self.auth_ok, self.auth_failed
            );
        }
        latency_table(
            &mut t,
            std::iter::once((
                "end_to_end",
                "X-Tern-Loadtest-Sent to receipt",
                &self.end_to_end_us,
            )),
        );
        codes_line(&mut t, "data", &self.reply_codes);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_samples() {
        let mut a = SendStats::default();
        let mut b = SendStats::default();
        a.record(H::Transaction, Duration::from_micros(100));
        b.record(H::Transaction, Duration::from_micros(300));
        b.ok = 2;
        b.data_codes.insert(451, 1);
        a.data_codes.insert(451, 2);
        a.merge(&b);
        assert_eq!(a.latency[H::Transaction as usize].count(), 2);
        assert_eq!(a.latency[H::Transaction as usize].summary().max, 300);
        assert_eq!(a.ok, 2);
        assert_eq!(a.data_codes[&451], 3);
        let r = SendReport::new(&a, Duration::from_secs(1));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["reply_codes"]["data"]["451"], 3);
        assert_eq!(json["latency_us"]["transaction"]["count"], 2);
        assert!(r.table().contains("replies data     451:3"));
    }

    #[test]
    fn latency_clamps_instead_of_failing() {
        let mut l = Latency::default();
        l.record(Duration::ZERO);
        l.record(Duration::from_secs(10_000));
        assert_eq!(l.count(), 2);
        assert!(l.summary().max >= MAX_MICROS);
    }
}
