//! Parsers for the values of command-line options: sizes, size distributions, durations,
//! rates, address patterns and the sink's reply rules. Each returns a [`ValueError`] whose
//! text says what was expected, so a typo gets a usage message, not a panic.

use std::fmt;
use std::time::Duration;

use tern_proto::address::parse_forward_path;

/// A bad option value: the message is shown to the user as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ValueError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ValueError> {
    Err(ValueError(msg.into()))
}

/// Largest message the generator makes: bigger bodies say more about memory than SMTP.
pub const MAX_SIZE: u64 = 64 << 20;

/// A message size: `1024`, `1KB`, `1KiB`, `1K`, `100KB`, `1MB`. Multiples are binary
/// (1KB = 1024 bytes), as `smtp-source -l 1024` counts, so "1KB" means the same message in
/// both tools. At most [`MAX_SIZE`]; at least 1.
pub fn parse_size(s: &str) -> Result<u64, ValueError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    if digits.is_empty() {
        return err(format!(
            "bad size {s:?}: expected a number with an optional unit, like 1KB"
        ));
    }
    let mult: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        _ => {
            return err(format!(
                "bad size {s:?}: unknown unit {unit:?} (use B, KB or MB)"
            ))
        }
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| ValueError(format!("bad size {s:?}: number too large")))?;
    let v = n.saturating_mul(mult);
    if v == 0 {
        return err(format!("bad size {s:?}: must be at least 1 byte"));
    }
    if v > MAX_SIZE {
        return err(format!("bad size {s:?}: at most 64MB"));
    }
    Ok(v)
}

/// Message sizes drawn with weights: `1KB` (fixed) or `1KB:70,10KB:25,1MB:5`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeDist {
    /// (size in bytes, weight), weights > 0.
    pub classes: Vec<(u64, u32)>,
    total: u64,
}

impl SizeDist {
    /// One size for every message.
    pub fn fixed(size: u64) -> SizeDist {
        SizeDist {
            classes: vec![(size, 1)],
            total: 1,
        }
    }

    /// Parses `SIZE` or `SIZE:WEIGHT,SIZE:WEIGHT,...` (weights are relative integers; they
    /// need not add up to 100).
    pub fn parse(s: &str) -> Result<SizeDist, ValueError> {
        if !s.contains(':') && !s.contains(',') {
            return Ok(SizeDist::fixed(parse_size(s)?));
        }
        let mut classes = Vec::new();
        for part in s.split(',') {
            let Some((size, weight)) = part.split_once(':') else {
                return err(format!(
                    "bad size distribution {s:?}: {part:?} needs a weight, like 1KB:70"
                ));
            };
            let size = parse_size(size)?;
            let weight: u32 = weight.trim().trim_end_matches('%').parse().map_err(|_| {
                ValueError(format!(
                    "bad size distribution {s:?}: weight {weight:?} is not a whole number"
                ))
            })?;
            if weight == 0 {
                return err(format!("bad size distribution {s:?}: weight 0 in {part:?}"));
            }
            classes.push((size, weight));
        }
        let total = classes.iter().map(|&(_, w)| u64::from(w)).sum();
        Ok(SizeDist { classes, total })
    }

    /// The size class (index into `classes`) of message `n`: a hash of `n` picks it, so a
    /// run is reproducible and every thread draws the same mix.
    pub fn class_of(&self, n: u64) -> usize {
        if self.classes.len() == 1 {
            return 0;
        }
        let mut pick = splitmix64(n) % self.total;
        for (i, &(_, w)) in self.classes.iter().enumerate() {
            if pick < u64::from(w) {
                return i;
            }
            pick -= u64::from(w);
        }
        self.classes.len() - 1
    }
}

/// A well-mixed 64-bit hash (SplitMix64's finaliser): cheap and deterministic.
pub fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A duration with a unit: `500us`, `10ms`, `30s`, `2m`, `1h`, or a sum like `1m30s`.
pub fn parse_duration(s: &str) -> Result<Duration, ValueError> {
    let t = s.trim();
    if t.is_empty() {
        return err("empty duration: expected something like 30s or 10ms");
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (digits, after) = rest.split_at(split);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let n: u64 = digits
            .parse()
            .map_err(|_| ValueError(format!("bad duration {s:?}: expected like 30s or 10ms")))?;
        let d = match unit {
            "us" => Duration::from_micros(n),
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "" => {
                return err(format!(
                    "bad duration {s:?}: missing unit (us, ms, s, m or h)"
                ))
            }
            _ => {
                return err(format!(
                    "bad duration {s:?}: unknown unit {unit:?} (us, ms, s, m or h)"
                ))
            }
        };
        total = total.saturating_add(d);
        rest = next;
    }
    if total.is_zero() {
        return err(format!("bad duration {s:?}: must be more than zero"));
    }
    Ok(total)
}

/// A rate in messages per second: `1000`, `1000/s`, `2.5k`, `2k/s`. Must be positive and
/// at most 10 million (beyond that the schedule is finer than the clock).
pub fn parse_rate(s: &str) -> Result<f64, ValueError> {
    let t = s.trim();
    let t = t.strip_suffix("/s").unwrap_or(t);
    let (num, mult) = match t.strip_suffix(['k', 'K']) {
        Some(n) => (n, 1000.0),
        None => (t, 1.0),
    };
    let v: f64 = num.parse().map_err(|_| {
        ValueError(format!(
            "bad rate {s:?}: expected messages per second, like 500 or 2k/s"
        ))
    })?;
    let v = v * mult;
    if !v.is_finite() || v <= 0.0 {
        return err(format!("bad rate {s:?}: must be more than zero"));
    }
    if v > 1e7 {
        return err(format!("bad rate {s:?}: at most 10M/s"));
    }
    Ok(v)
}

/// One piece of an address pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(String),
    /// `{n}` or `{n%K}`: the message number.
    N(Option<u64>),
    /// `{r}` or `{r%K}`: the recipient's index in its message (0-based).
    R(Option<u64>),
}

/// An address pattern: literal text with `{n}` (the message number, 0-based across the
/// whole run), `{r}` (the recipient's index within its message, 0-based) and their modulo
/// forms `{n%K}`, `{r%K}`. Example: `rcpt{n}.{r}@dom{n%10}.example` spreads recipients over
/// ten domains. No other braces are allowed, and the result must be a valid address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pieces: Vec<Piece>,
}

impl Pattern {
    /// Parses and checks a pattern (rendered once with n = r = 0 to validate the address).
    pub fn parse(s: &str) -> Result<Pattern, ValueError> {
        let mut pieces = Vec::new();
        let mut rest = s;
        while let Some(open) = rest.find(['{', '}']) {
            if rest.as_bytes()[open] == b'}' {
                return err(format!("bad pattern {s:?}: '}}' without '{{'"));
            }
            if open > 0 {
                pieces.push(Piece::Lit(rest[..open].to_owned()));
            }
            let Some(close) = rest[open..].find('}') else {
                return err(format!("bad pattern {s:?}: '{{' without '}}'"));
            };
            let inner = &rest[open + 1..open + close];
            let (var, modulo) = match inner.split_once('%') {
                Some((v, m)) => {
                    let k: u64 = m.parse().ok().filter(|&k| k > 0).ok_or_else(|| {
                        ValueError(format!(
                            "bad pattern {s:?}: {{{inner}}}: modulo must be a positive number"
                        ))
                    })?;
                    (v, Some(k))
                }
                None => (inner, None),
            };
            pieces.push(match var {
                "n" => Piece::N(modulo),
                "r" => Piece::R(modulo),
                _ => {
                    return err(format!(
                    "bad pattern {s:?}: unknown {{{inner}}} (use {{n}}, {{r}}, {{n%K}} or {{r%K}})"
                ))
                }
            });
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Lit(rest.to_owned()));
        }
        let p = Pattern { pieces };
        let sample = p.render(0, 0);
        let bracketed = format!("<{sample}>");
        match parse_forward_path(bracketed.as_bytes()) {
            Ok((_, tail)) if tail.is_empty() && sample.contains('@') => Ok(p),
            _ => err(format!(
                "bad pattern {s:?}: {sample:?} is not an address like user@example.org"
            )),
        }
    }

    /// The address for message `n`, recipient `r`.
    pub fn render(&self, n: u64, r: u64) -> String {
        let mut out = String::with_capacity(48);
        self.render_into(n, r, &mut out);
        out
    }

    /// Appends the address for message `n`, recipient `r` to `out`.
    pub fn render_into(&self, n: u64, r: u64, out: &mut String) {
        use std::fmt::Write;
        for p in &self.pieces {
            // Writing into a String cannot fail.
            let _ = match p {
                Piece::Lit(s) => out.write_str(s),
                Piece::N(m) => write!(out, "{}", m.map_or(n, |k| n % k)),
                Piece::R(m) => write!(out, "{}", m.map_or(r, |k| r % k)),
            };
        }
    }
}

/// A sink reply played at end of data for a share of the messages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplyShare {
    /// 4xx or 5xx.
    pub code: u16,
    /// Share of messages, 0 < percent <= 100.
    pub percent: f64,
}

/// `--reply`: `451` (every message) or `451:10%,550:5%` (shares, at most 100 % in all).
pub fn parse_reply_shares(s: &str) -> Result<Vec<ReplyShare>, ValueError> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let (code, percent) = match part.split_once(':') {
            Some((c, p)) => {
                let Some(p) = p.trim().strip_suffix('%') else {
                    return err(format!(
                        "bad reply rule {part:?}: the share needs a %, like 451:10%"
                    ));
                };
                let p: f64 = p
                    .parse()
                    .ok()
                    .filter(|p: &f64| *p > 0.0 && *p <= 100.0)
                    .ok_or_else(|| {
                        ValueError(format!(
                            "bad reply rule {part:?}: share must be in (0, 100]%"
                        ))
                    })?;
                (c, p)
            }
            None => (part, 100.0),
        };
        out.push(ReplyShare {
            code: parse_refusal_code(code)?,
            percent,
        });
    }
    let sum: f64 = out.iter().map(|r| r.percent).sum();
    if sum > 100.0 + 1e-9 {
        return err(format!(
            "bad reply rules {s:?}: shares add up to {sum}%, more than 100%"
        ));
    }
    Ok(out)
}

/// A reply code the sink may refuse a message with: 400..=599.
pub fn parse_refusal_code(s: &str) -> Result<u16, ValueError> {
    match s.trim().parse::<u16>() {
        Ok(c) if (400..600).contains(&c) => Ok(c),
        _ => err(format!(
            "bad reply code {s:?}: expected a 4xx or 5xx code like 451"
        )),
    }
}

/// `--reply-rcpt GLOB=CODE`: refuse a message whose envelope has a recipient matching GLOB
/// (`*` any run, `?` one character, case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcptRule {
    /// The lower-cased glob.
    pub glob: String,
    /// 4xx or 5xx.
    pub code: u16,
}

impl RcptRule {
    /// Parses `GLOB=CODE`.
    pub fn parse(s: &str) -> Result<RcptRule, ValueError> {
        let Some((glob, code)) = s.rsplit_once('=') else {
            return err(format!(
                "bad recipient rule {s:?}: expected GLOB=CODE like 'fail*@*=550'"
            ));
        };
        if glob.is_empty() {
            return err(format!("bad recipient rule {s:?}: empty pattern"));
        }
        Ok(RcptRule {
            glob: glob.to_ascii_lowercase(),
            code: parse_refusal_code(code)?,
        })
    }

    /// True when `addr` (without angle brackets) matches.
    pub fn matches(&self, addr: &str) -> bool {
        glob_match(self.glob.as_bytes(), addr.to_ascii_lowercase().as_bytes())
    }
}

/// `*`/`?` glob matching, iterative with one backtrack point (linear for these globs).
fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == s[i]) {
            p += 1;
            i += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let cases: &[(&str, Result<u64, &str>)] = &[
            ("1024", Ok(1024)),
            ("1KB", Ok(1024)),
            ("1kb", Ok(1024)),
            ("1KiB", Ok(1024)),
            ("100K", Ok(102_400)),
            ("1MB", Ok(1 << 20)),
            ("7B", Ok(7)),
            ("64MB", Ok(64 << 20)),
            ("65MB", Err("at most 64MB")),
            ("0", Err("at least 1 byte")),
            ("KB", Err("expected a number")),
            ("", Err("expected a number")),
            ("1GB", Err("unknown unit \"GB\"")),
            ("1.5KB", Err("unknown unit \".5KB\"")),
            ("99999999999999999999", Err("number too large")),
        ];
        for (input, want) in cases {
            match (parse_size(input), want) {
                (Ok(v), Ok(w)) => assert_eq!(v, *w, "{input}"),
                (Err(e), Err(w)) => assert!(e.0.contains(w), "{input}: {e}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn distributions() {
        assert_eq!(SizeDist::parse("1KB").unwrap(), SizeDist::fixed(1024));
        let d = SizeDist::parse("1KB:70,10KB:25,1MB:5").unwrap();
        assert_eq!(d.classes, vec![(1024, 70), (10240, 25), (1 << 20, 5)]);
        let bad: &[(&str, &str)] = &[
            ("1KB:70,10KB", "needs a weight"),
            ("1KB:x", "not a whole number"),
            ("1KB:0", "weight 0"),
            ("1XB:5", "unknown unit"),
            ("1KB:-3", "not a whole number"),
        ];
        for (input, want) in bad {
            let e = SizeDist::parse(input).unwrap_err();
            assert!(e.0.contains(want), "{input}: {e}");
        }
    }

    #[test]
    fn distribution_draws_follow_the_weights() {
        let d = SizeDist::parse("1KB:70,10KB:25,1MB:5").unwrap();
        let mut counts = [0u32; 3];
        for n in 0..100_000 {
            counts[d.class_of(n)] += 1;
        }
        // Within 1 % of the weights over 100k draws.
        for (c, w) in counts.iter().zip([70_000, 25_000, 5_000]) {
            assert!((i64::from(*c) - w).abs() < 1_000, "{counts:?}");
        }
        assert_eq!(SizeDist::fixed(5).class_of(12345), 0);
    }

    #[test]
    fn durations() {
        let cases: &[(&str, Result<Duration, &str>)] = &[
            ("30s", Ok(Duration::from_secs(30))),
            ("10ms", Ok(Duration::from_millis(10))),
            ("500us", Ok(Duration::from_micros(500))),
            ("2m", Ok(Duration::from_secs(120))),
            ("1h", Ok(Duration::from_secs(3600))),
            ("1m30s", Ok(Duration::from_secs(90))),
            ("30", Err("missing unit")),
            ("30sec", Err("unknown unit \"sec\"")),
            ("s", Err("expected like 30s")),
            ("", Err("empty duration")),
            ("0s", Err("more than zero")),
            ("-1s", Err("expected like 30s")),
        ];
        for (input, want) in cases {
            match (parse_duration(input), want) {
                (Ok(v), Ok(w)) => assert_eq!(v, *w, "{input}"),
                (Err(e), Err(w)) => assert!(e.0.contains(w), "{input}: {e}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn rates() {
        let cases: &[(&str, Result<f64, &str>)] = &[
            ("1000", Ok(1000.0)),
            ("1000/s", Ok(1000.0)),
            ("2.5k", Ok(2500.0)),
            ("2k/s", Ok(2000.0)),
            ("0.5", Ok(0.5)),
            ("0", Err("more than zero")),
            ("-5", Err("more than zero")),
            ("fast", Err("expected messages per second")),
            ("1e9", Err("at most 10M/s")),
            ("inf", Err("more than zero")),
        ];
        for (input, want) in cases {
            match (parse_rate(input), want) {
                (Ok(v), Ok(w)) => assert_eq!(v, *w, "{input}"),
                (Err(e), Err(w)) => assert!(e.0.contains(w), "{input}: {e}"),
                (got, want) => panic!("{input}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn patterns() {
        let cases: &[(&str, u64, u64, &str)] = &[
            ("user{n}@example.org", 42, 0, "user42@example.org"),
            ("rcpt{n}@dom{n%10}.example", 42, 0, "rcpt42@dom2.example"),
            ("r{r}.{n}@x{r%2}.example", 7, 3, "r3.7@x1.example"),
            ("fixed@example.org", 9, 9, "fixed@example.org"),
        ];
        for (pat, n, r, want) in cases {
            assert_eq!(Pattern::parse(pat).unwrap().render(*n, *r), *want, "{pat}");
        }
        let bad: &[(&str, &str)] = &[
            ("user{n@example.org", "'{' without '}'"),
            ("user}@example.org", "'}' without '{'"),
            ("user{x}@example.org", "unknown {x}"),
            ("user{n%0}@example.org", "modulo must be a positive number"),
            ("user{n%y}@example.org", "modulo must be a positive number"),
            ("user{n}", "is not an address"),
            ("a b@example.org", "is not an address"),
            ("", "is not an address"),
        ];
        for (pat, want) in bad {
            let e = Pattern::parse(pat).unwrap_err();
            assert!(e.0.contains(want), "{pat}: {e}");
        }
    }

    #[test]
    fn reply_shares() {
        assert_eq!(
            parse_reply_shares("451").unwrap(),
            vec![ReplyShare {
                code: 451,
                percent: 100.0
            }]
        );
        assert_eq!(
            parse_reply_shares("451:10%,550:5%").unwrap(),
            vec![
                ReplyShare {
                    code: 451,
                    percent: 10.0
                },
                ReplyShare {
                    code: 550,
                    percent: 5.0
                }
            ]
        );
        let bad: &[(&str, &str)] = &[
            ("250", "4xx or 5xx"),
            ("45x", "4xx or 5xx"),
            ("451:10", "needs a %"),
            ("451:0%", "share must be"),
            ("451:101%", "share must be"),
            ("451:60%,550:50%", "more than 100%"),
        ];
        for (input, want) in bad {
            let e = parse_reply_shares(input).unwrap_err();
            assert!(e.0.contains(want), "{input}: {e}");
        }
    }

    #[test]
    fn rcpt_rules() {
        let r = RcptRule::parse("fail*@*=550").unwrap();
        assert_eq!(r.code, 550);
        for (addr, want) in [
            ("fail1@x.example", true),
            ("FAIL@x.example", true),
            ("fail@", true),
            ("ok@x.example", false),
            ("xfail@x.example", false),
        ] {
            assert_eq!(r.matches(addr), want, "{addr}");
        }
        let q = RcptRule::parse("a?c@d.example=451").unwrap();
        assert!(q.matches("abc@d.example"));
        assert!(!q.matches("abbc@d.example"));
        for (input, want) in [
            ("fail*@*", "expected GLOB=CODE"),
            ("=550", "empty pattern"),
            ("x=200", "4xx or 5xx"),
        ] {
            let e = RcptRule::parse(input).unwrap_err();
            assert!(e.0.contains(want), "{input}: {e}");
        }
    }
}
