//! The `Received:` trace header (RFC 5321 4.4, RFC 5322 3.6.7) and RFC 5322 dates.
//!
//! ```text
//! Received: from client.example (rev.example [192.0.2.1]) by mx.example
//!     with ESMTPS id 1A2B for <bob@example.net>; Sun, 29 Nov 2026 06:38:20 +0000
//! ```
//!
//! (Continuation lines start with a TAB.) Clauses stay whole on a line where they fit, and
//! lines are folded at a space before 78 characters (RFC 5322 2.1.1).
//!
//! There is no clock here: the caller passes the time as Unix seconds and a UTC offset.

use std::io::Write;
use std::net::IpAddr;

use crate::address::ForwardPath;

/// The `with` keyword: how the message came in (RFC 3848, RFC 6531 3.7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WithProtocol {
    /// HELO.
    Smtp,
    /// EHLO.
    Esmtp,
    /// EHLO with STARTTLS.
    Esmtps,
    /// EHLO with AUTH.
    Esmtpa,
    /// EHLO with STARTTLS and AUTH.
    Esmtpsa,
    /// EHLO with SMTPUTF8 in the transaction.
    Utf8Smtp,
    /// SMTPUTF8 with STARTTLS.
    Utf8Smtps,
    /// SMTPUTF8 with AUTH.
    Utf8Smtpa,
    /// SMTPUTF8 with STARTTLS and AUTH.
    Utf8Smtpsa,
}

impl WithProtocol {
    /// The keyword for a session: `ehlo` (EHLO rather than HELO), `tls` (STARTTLS or
    /// implicit TLS), `auth` (the client authenticated), `utf8` (MAIL carried SMTPUTF8).
    /// After HELO none of the extensions exist, so it is plain `SMTP`.
    pub fn new(ehlo: bool, tls: bool, auth: bool, utf8: bool) -> WithProtocol {
        use WithProtocol::*;
        match (ehlo, utf8, tls, auth) {
            (false, ..) => Smtp,
            (true, false, false, false) => Esmtp,
            (true, false, true, false) => Esmtps,
            (true, false, false, true) => Esmtpa,
            (true, false, true, true) => Esmtpsa,
            (true, true, false, false) => Utf8Smtp,
            (true, true, true, false) => Utf8Smtps,
            (true, true, false, true) => Utf8Smtpa,
            (true, true, true, true) => Utf8Smtpsa,
        }
    }

    /// The keyword as registered.
    pub fn as_str(self) -> &'static str {
        match self {
            WithProtocol::Smtp => "SMTP",
            WithProtocol::Esmtp => "ESMTP",
            WithProtocol::Esmtps => "ESMTPS",
            WithProtocol::Esmtpa => "ESMTPA",
            WithProtocol::Esmtpsa => "ESMTPSA",
            WithProtocol::Utf8Smtp => "UTF8SMTP",
            WithProtocol::Utf8Smtps => "UTF8SMTPS",
            WithProtocol::Utf8Smtpa => "UTF8SMTPA",
            WithProtocol::Utf8Smtpsa => "UTF8SMTPSA",
        }
    }
}

/// A moment, as the caller's clock gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub unix: i64,
    /// The local offset from UTC in minutes (e.g. 120 for +0200); 0 writes `+0000`.
    pub offset_minutes: i16,
}

/// Everything one `Received:` header says.
#[derive(Debug, Clone)]
pub struct Received<'a> {
    /// The client's HELO/EHLO argument.
    pub helo: &'a str,
    /// The client's address (the real one, after any PROXY protocol header).
    pub client_ip: IpAddr,
    /// The client's name from reverse DNS, when it resolved and was confirmed.
    pub reverse_name: Option<&'a str>,
    /// Our host name.
    pub by: &'a str,
    /// The `with` keyword.
    pub protocol: WithProtocol,
    /// The queue id of the message.
    pub id: &'a str,
    /// The recipient, only when the message has exactly one: naming one of several would
    /// disclose it to the others (RFC 5321 7.2). See [`sole_recipient`].
    pub for_rcpt: Option<&'a ForwardPath>,
    /// When the message was received.
    pub time: Timestamp,
}

/// The only recipient, or `None` when there are none or several: what
/// [`Received::for_rcpt`] wants.
pub fn sole_recipient<'a>(
    rcpts: impl IntoIterator<Item = &'a ForwardPath>,
) -> Option<&'a ForwardPath> {
    let mut it = rcpts.into_iter();
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

/// Header lines are kept within 78 characters where spaces allow (RFC 5322 2.1.1).
const FOLD_AT: usize = 78;

impl Received<'_> {
    /// Appends the header, folded, ending with CRLF.
    pub fn write(&self, out: &mut Vec<u8>) {
        let helo = sanitize(self.helo);
        let ip = address_literal(self.client_ip);
        let tcp_info = match self.reverse_name {
            Some(name) => format!("({} {ip})", sanitize(name)),
            None => format!("({ip})"),
        };
        let mut date = Vec::with_capacity(32);
        write_date(self.time.unix, self.time.offset_minutes, &mut date);
        let date = String::from_utf8_lossy(&date);
        let rcpt = self.for_rcpt.map(|r| format!("{r};"));
        let id_word = if rcpt.is_none() {
            format!("{};", self.id)
        } else {
            self.id.to_owned()
        };
        // Phrases stay on one line when they fit; words inside a phrase are split only
        // when the phrase alone is too long for a line.
        let mut phrases: Vec<Vec<&str>> = vec![
            vec!["Received:", "from", &helo],
            vec![&tcp_info],
            vec!["by", self.by],
            vec!["with", self.protocol.as_str()],
            vec!["id", &id_word],
        ];
        if let Some(r) = &rcpt {
            phrases.push(vec!["for", r]);
        }
        phrases.push(date.split(' ').collect());

        let mut col = 0;
        for phrase in &phrases {
            let len = phrase.iter().map(|w| w.len() + 1).sum::<usize>() - 1;
            if col > 0 && col + 1 + len <= FOLD_AT {
                append(out, &mut col, b" ");
                append(out, &mut col, phrase.join(" ").as_bytes());
            } else if col > 0 && len < FOLD_AT {
                fold(out, &mut col);
                append(out, &mut col, phrase.join(" ").as_bytes());
            } else {
                for word in phrase {
                    place_word(out, &mut col, word);
                }
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// One word: on this line if it fits, else on a new one. A line just begun (the header name,
/// or a TAB after a fold) takes the word whatever its length: there is no better place.
fn place_word(out: &mut Vec<u8>, col: &mut usize, word: &str) {
    if *col > 1 && *col + 1 + word.len() > FOLD_AT {
        fold(out, col);
    } else if *col > 1 {
        append(out, col, b" ");
    }
    append(out, col, word.as_bytes());
}

fn fold(out: &mut Vec<u8>, col: &mut usize) {
    out.extend_from_slice(b"\r\n\t");
    *col = 1;
}

fn append(out: &mut Vec<u8>, col: &mut usize, s: &[u8]) {
    out.extend_from_slice(s);
    *col += s.len();
}

/// Client-chosen names go into a structured header: keep them from closing the comment or
/// breaking the line.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '(' | ')' | '\\' | ' ' => '?',
            c if c.is_control() => '?',
            c => c,
        })
        .collect()
}

/// `[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 4.1.3); an IPv4-mapped IPv6 address,
/// as a dual-stack socket reports IPv4 peers, is written as the IPv4 address it is.
pub fn address_literal(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("[{v4}]"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("[{v4}]"),
            None => format!("[IPv6:{v6}]"),
        },
    }
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Appends an RFC 5322 3.3 date-time, e.g. `Sun, 29 Nov 2026 06:38:20 +0000`, for `unix`
/// seconds shown in the zone `offset_minutes` east of UTC (clamped to ±99:59, the most the
/// four-digit zone can say).
pub fn write_date(unix: i64, offset_minutes: i16, out: &mut Vec<u8>) {
    let offset = i64::from(offset_minutes.clamp(-5999, 5999));
    let local = unix.saturating_add(offset * 60);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = DAYS[(days + 4).rem_euclid(7) as usize];
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.abs();
    // Writing into a Vec cannot fail.
    let _ = write!(
        out,
        "{weekday}, {d} {} {y:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        off / 60,
        off % 60,
    );
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day) in the
/// proleptic Gregorian calendar, exact for every day an i64 can count.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365, from March 1
    let mp = (5 * doy + 2) / 153; // 0..=11, March first
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Mailbox;
    use proptest::prelude::*;

    fn date(unix: i64, off: i16) -> String {
        let mut v = Vec::new();
        write_date(unix, off, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn dates() {
        let cases: &[(i64, i16, &str)] = &[
            (0, 0, "Thu, 1 Jan 1970 00:00:00 +0000"),
            (-1, 0, "Wed, 31 Dec 1969 23:59:59 +0000"),
            (951_782_400, 0, "Tue, 29 Feb 2000 00:00:00 +0000"),
            (951_868_799, 0, "Tue, 29 Feb 2000 23:59:59 +0000"),
            (951_868_800, 0, "Wed, 1 Mar 2000 00:00:00 +0000"),
            (1_795_934_300, 0, "Sun, 29 Nov 2026 06:38:20 +0000"),
            (1_795_934_300, 120, "Sun, 29 Nov 2026 08:38:20 +0200"),
            (1_795_934_300, -450, "Sat, 28 Nov 2026 23:08:20 -0730"),
            (1_709_164_800, 0, "Thu, 29 Feb 2024 00:00:00 +0000"),
            (4_102_444_800, 0, "Fri, 1 Jan 2100 00:00:00 +0000"),
            (0, 6000, "Mon, 5 Jan 1970 03:59:00 +9959"),
        ];
        for &(unix, off, want) in cases {
            assert_eq!(date(unix, off), want, "{unix} {off}");
        }
    }

    /// The naive twin: walk whole days from 1970, one at a time.
    fn naive_civil(mut days: i64) -> (i64, u32, u32) {
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let month_len = |y: i64, m: u32| match m {
            2 if leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        while days > 0 {
            d += 1;
            if d > month_len(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
            days -= 1;
        }
        (y, m, d)
    }

    proptest! {
        #[test]
        fn civil_matches_day_by_day_walk(days in 0i64..80_000) {
            prop_assert_eq!(civil_from_days(days), naive_civil(days));
        }

        #[test]
        fn any_time_formats_without_panic(unix in any::<i64>(), off in any::<i16>()) {
            let mut v = Vec::new();
            write_date(unix, off, &mut v);
            prop_assert!(!v.is_empty());
        }
    }

    #[test]
    fn protocol_keywords() {
        let cases = [
            ((false, true, true, true), "SMTP"),
            ((true, false, false, false), "ESMTP"),
            ((true, true, false, false), "ESMTPS"),
            ((true, false, true, false), "ESMTPA"),
            ((true, true, true, false), "ESMTPSA"),
            ((true, false, false, true), "UTF8SMTP"),
            ((true, true, false, true), "UTF8SMTPS"),
            ((true, false, true, true), "UTF8SMTPA"),
            ((true, true, true, true), "UTF8SMTPSA"),
        ];
        for ((ehlo, tls, auth, utf8), want) in cases {
            assert_eq!(WithProtocol::new(ehlo, tls, auth, utf8).as_str(), want);
        }
    }

    fn header(r: &Received<'_>) -> String {
        let mut v = Vec::new();
        r.write(&mut v);
        String::from_utf8(v).unwrap()
    }

    fn base<'a>(rcpt: Option<&'a ForwardPath>) -> Received<'a> {
        Received {
            helo: "client.example",
            client_ip: "192.0.2.1".parse().unwrap(),
            reverse_name: Some("rev.example"),
            by: "mx.example",
            protocol: WithProtocol::Esmtps,
            id: "1A2B",
            for_rcpt: rcpt,
            time: Timestamp {
                unix: 1_795_934_300,
                offset_minutes: 0,
            },
        }
    }

    #[test]
    fn full_header_folds_between_clauses() {
        let bob = ForwardPath::Mailbox(Mailbox::from_parts("bob", "example.net"));
        assert_eq!(
            header(&base(Some(&bob))),
            "Received: from client.example (rev.example [192.0.2.1]) by mx.example\r\n\
             \twith ESMTPS id 1A2B for <bob@example.net>; Sun, 29 Nov 2026 06:38:20 +0000\r\n"
        );
    }

    #[test]
    fn short_header_without_rcpt_or_reverse_name() {
        let mut r = base(None);
        r.reverse_name = None;
        r.client_ip = "2001:db8::1".parse().unwrap();
        r.protocol = WithProtocol::Smtp;
        assert_eq!(
            header(&r),
            "Received: from client.example ([IPv6:2001:db8::1]) by mx.example with SMTP\r\n\
             \tid 1A2B; Sun, 29 Nov 2026 06:38:20 +0000\r\n"
        );
    }

    #[test]
    fn mapped_ipv4_and_hostile_names() {
        let mut r = base(None);
        r.client_ip = "::ffff:198.51.100.7".parse().unwrap();
        r.helo = "evil)\r\nX-Injected: 1";
        r.reverse_name = Some("a(b");
        let h = header(&r);
        assert!(
            h.starts_with("Received: from evil???X-Injected:?1 (a?b [198.51.100.7])"),
            "{h}"
        );
        // Only the folds and the final CRLF break lines.
        assert_eq!(h.matches("\r\n").count(), h.matches("\r\n\t").count() + 1);
    }

    #[test]
    fn every_line_fits_and_long_words_stand_alone() {
        let long = "a".repeat(70);
        let long_rcpt = ForwardPath::Mailbox(Mailbox::from_parts(&"r".repeat(90), "example.net"));
        let mut r = base(Some(&long_rcpt));
        r.helo = &long;
        let h = header(&r);
        for line in h.trim_end_matches("\r\n").split("\r\n") {
            let words: Vec<&str> = line.split_whitespace().collect();
            assert!(line.len() <= FOLD_AT || words.len() == 1, "{line:?}");
        }
        // Unfolding gives back the single-line form.
        let unfolded = h.replace("\r\n\t", " ");
        assert!(unfolded.contains(&format!("from {long} (rev.example [192.0.2.1]) by")));
    }

    #[test]
    fn sole_recipient_only_when_one() {
        let a = ForwardPath::Postmaster;
        let b = ForwardPath::Mailbox(Mailbox::from_parts("b", "x"));
        assert_eq!(sole_recipient([&a]), Some(&a));
        assert_eq!(sole_recipient([&a, &b]), None);
        assert_eq!(sole_recipient(std::iter::empty()), None);
    }
}
