//! The command line: `tern-loadtest send [OPTIONS]` and `tern-loadtest sink [OPTIONS]`.
//!
//! Hand-written rather than a derive: the tool may depend only on tern-proto, glommio,
//! hdrhistogram and serde, and the option set is small. Every value goes through
//! [`crate::values`], so bad input gives a one-line usage error naming the option.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::values::{
    parse_duration, parse_rate, parse_reply_shares, Pattern, RcptRule, ReplyShare, SizeDist,
    ValueError,
};

/// The usage text printed by `--help` and after a usage error.
pub const USAGE: &str = "\
usage: tern-loadtest send [OPTIONS]      generate SMTP load against a server
       tern-loadtest sink [OPTIONS]      a fast SMTP sink that stores nothing

send options:
  --target HOST:PORT     server to load (default 127.0.0.1:2525)
  --connections N        concurrent sessions (default 10)
  --messages M           total messages to send, or
  --duration D           send for this long (30s, 2m); one of the two is required
  --rate R               open loop at R msgs/s (latency counted from the scheduled time);
                         default: closed loop, as fast as the server answers
  --size S               message size, 1KB, or a distribution 1KB:70,10KB:25,1MB:5
                         (default 1KB; KB = 1024 bytes)
  --rcpts N              recipients per message (default 1)
  --per-connection K     messages per session, then QUIT and reconnect (default: unlimited)
  --pipelining           use PIPELINING when the server offers it (default: lock-step)
  --chunking             use BDAT when the server offers CHUNKING (default: DATA)
  --window W             with --pipelining, up to W transactions in flight per session
                         (default 1): with DATA a body's end leaves with the next MAIL,
                         RCPT and DATA; with --chunking whole transactions (MAIL, RCPT,
                         BDAT n LAST, body, RSET) go without waiting for replies. Used
                         only when the server offers PIPELINING; every command is still
                         timed from its own write
  --from PATTERN         sender (default loadtest{n}@example.org)
  --to PATTERN           recipients (default rcpt{n}.{r}@example.com); in patterns {n} is the
                         message number, {r} the recipient index, {n%K}/{r%K} their modulo
  --threads N            executor threads (default: number of cores)
  --timeout D            per-reply timeout (default 30s)
  --json FILE            write the report as JSON
  --allow-errors         exit 0 even when messages failed
  --starttls             demand STARTTLS on every session (a server that does not offer it
                         fails the session); needs --ca or --insecure
  --ca FILE              verify the server's certificate against the PEM certificates in
                         FILE, for the target's IP address
  --insecure             do not verify the server's certificate (the handshake still runs)
  --auth USER:PASS       AUTH PLAIN after EHLO on every session; a refusal (535) fails the
                         session's first message and is counted under replies auth

sink options:
  --listen HOST:PORT     address to listen on (default 127.0.0.1:2526; port 0 picks one)
  --threads N            executor threads (default: number of cores)
  --reply RULES          refuse at end of data: 451 (every message) or 451:10%,550:5%
  --reply-rcpt GLOB=CODE refuse a message if ANY recipient matches GLOB (* and ?), checked
                         at end of data; may be repeated; checked before --reply
  --delay D              wait this long before answering end of data (10ms)
  --save DIR             write each message to DIR (X-Sink-From/X-Sink-To lines, then body)
  --exit-after N         stop after N messages (accepted or refused)
  --duration D           stop after this long
  --json FILE            write the final report as JSON
  --tls-cert FILE        offer STARTTLS with this PEM certificate chain ...
  --tls-key FILE         ... and this PEM private key (both or neither)
  --tls-self-signed      offer STARTTLS with a certificate made at start for the listen
                         address and localhost
  --auth USER:PASS       offer AUTH PLAIN and LOGIN (with or without TLS) and accept only
                         these credentials; clients that do not authenticate still may send
";

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `send`.
    Send(SendOptions),
    /// `sink`.
    Sink(SinkOptions),
    /// `--help` or `-h`.
    Help,
}

/// Options of `send`.
#[derive(Debug, Clone, PartialEq)]
pub struct SendOptions {
    /// Server address.
    pub target: SocketAddr,
    /// Concurrent sessions.
    pub connections: usize,
    /// Total messages to send, if bounded by count.
    pub messages: Option<u64>,
    /// How long to send, if bounded by time.
    pub duration: Option<Duration>,
    /// Open-loop rate in messages per second; `None` = closed loop.
    pub rate: Option<f64>,
    /// Message sizes.
    pub size: SizeDist,
    /// Recipients per message.
    pub rcpts: usize,
    /// Messages per session before reconnecting.
    pub per_connection: Option<u64>,
    /// Use PIPELINING when offered.
    pub pipelining: bool,
    /// Use BDAT when CHUNKING is offered.
    pub chunking: bool,
    /// Transactions in flight per session when pipelining (1 = one at a time).
    pub window: usize,
    /// Sender pattern.
    pub from: Pattern,
    /// Recipient pattern.
    pub to: Pattern,
    /// Executor threads.
    pub threads: usize,
    /// Per-reply timeout.
    pub timeout: Duration,
    /// JSON report path.
    pub json: Option<PathBuf>,
    /// Exit 0 even when messages failed.
    pub allow_errors: bool,
    /// `--starttls`: how to check the server's certificate; `None` = no STARTTLS.
    pub tls: Option<TlsTrust>,
    /// `--auth`: credentials for AUTH PLAIN.
    pub auth: Option<Credentials>,
}

/// How `send --starttls` checks the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsTrust {
    /// `--ca FILE`: chain to these PEM certificates and match the target's IP.
    Ca(PathBuf),
    /// `--insecure`: accept any certificate.
    Insecure,
}

/// Where the sink's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkTls {
    /// `--tls-cert FILE --tls-key FILE`.
    Files {
        /// PEM certificate chain.
        cert: PathBuf,
        /// PEM private key.
        key: PathBuf,
    },
    /// `--tls-self-signed`.
    SelfSigned,
}

/// `--auth USER:PASS`.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    // Options are printed in test failures; a password is not.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Parses `USER:PASS` (split at the first colon; the password may hold colons).
    pub fn parse(v: &str) -> Result<Credentials, ValueError> {
        match v.split_once(':') {
            Some((user, password)) if !user.is_empty() && !v.contains(['\0', '\r', '\n']) => {
                Ok(Credentials {
                    user: user.to_owned(),
                    password: password.to_owned(),
                })
            }
            _ => Err(ValueError(
                "expected USER:PASS with a non-empty user and no NUL or line breaks".into(),
            )),
        }
    }
}

/// Options of `sink`.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkOptions {
    /// Listening address.
    pub listen: SocketAddr,
    /// Executor threads.
    pub threads: usize,
    /// Shares of messages refused at end of data.
    pub reply: Vec<ReplyShare>,
    /// Refuse when any recipient matches.
    pub reply_rcpt: Vec<RcptRule>,
    /// Wait before answering end of data.
    pub delay: Option<Duration>,
    /// Directory to save messages into.
    pub save: Option<PathBuf>,
    /// Stop after this many messages.
    pub exit_after: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// JSON report path.
    pub json: Option<PathBuf>,
    /// Offer STARTTLS with this certificate.
    pub tls: Option<SinkTls>,
    /// Offer AUTH and accept only these credentials.
    pub auth: Option<Credentials>,
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, ValueError> {
    let Some(first) = args.first() else {
        return Err(ValueError("missing command: send or sink".into()));
    };
    let rest = &args[1..];
    match first.as_str() {
        "send" => parse_send(rest).map(Command::Send),
        "sink" => parse_sink(rest).map(Command::Sink),
        "-h" | "--help" | "help" => Ok(Command::Help),
        other => Err(ValueError(format!(
            "unknown command {other:?}: send or sink"
        ))),
    }
}

/// Walks `--flag value` pairs; `flag` is called with the name and a closure to fetch the
/// value, so boolean flags simply do not call it.
struct Args<'a> {
    it: std::slice::Iter<'a, String>,
}

impl<'a> Args<'a> {
    fn value(&mut self, name: &str) -> Result<&'a str, ValueError> {
        self.it
            .next()
            .map(String::as_str)
            .ok_or_else(|| ValueError(format!("{name} needs a value")))
    }
}

fn with_name<T>(name: &str, r: Result<T, ValueError>) -> Result<T, ValueError> {
    r.map_err(|e| ValueError(format!("{name}: {e}")))
}

fn count(name: &str, v: &str, min: u64) -> Result<u64, ValueError> {
    match v.parse::<u64>() {
        Ok(n) if n >= min => Ok(n),
        _ => Err(ValueError(format!(
            "{name}: expected a whole number of at least {min}, got {v:?}"
        ))),
    }
}

fn addr(name: &str, v: &str) -> Result<SocketAddr, ValueError> {
    // Only numeric addresses: name resolution would block and is no part of a load test.
    v.parse().map_err(|_| {
        ValueError(format!(
            "{name}: expected IP:PORT like 127.0.0.1:2525, got {v:?}"
        ))
    })
}

fn usize_of(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn parse_send(args: &[String]) -> Result<SendOptions, ValueError> {
    let mut o = SendOptions {
        target: SocketAddr::from(([127, 0, 0, 1], 2525)),
        connections: 10,
        messages: None,
        duration: None,
        rate: None,
        size: SizeDist::fixed(1024),
        rcpts: 1,
        per_connection: None,
        pipelining: false,
        chunking: false,
        window: 1,
        from: Pattern::parse("loadtest{n}@example.org")?,
        to: Pattern::parse("rcpt{n}.{r}@example.com")?,
        threads: default_threads(),
        timeout: Duration::from_secs(30),
        json: None,
        allow_errors: false,
        tls: None,
        auth: None,
    };
    let (mut starttls, mut ca, mut insecure) = (false, None, false);
    let mut a = Args { it: args.iter() };
    while let Some(flag) = a.it.next() {
        let name = flag.as_str();
        match name {
            "--target" => o.target = addr(name, a.value(name)?)?,
            "--connections" => o.connections = usize_of(count(name, a.value(name)?, 1)?),
            "--messages" => o.messages = Some(count(name, a.value(name)?, 1)?),
            "--duration" => o.duration = Some(with_name(name, parse_duration(a.value(name)?))?),
            "--rate" => o.rate = Some(with_name(name, parse_rate(a.value(name)?))?),
            "--size" => o.size = with_name(name, SizeDist::parse(a.value(name)?))?,
            "--rcpts" => o.rcpts = usize_of(count(name, a.value(name)?, 1)?),
            "--per-connection" => o.per_connection = Some(count(name, a.value(name)?, 1)?),
            "--pipelining" => o.pipelining = true,
            "--chunking" => o.chunking = true,
            "--window" => o.window = usize_of(count(name, a.value(name)?, 1)?),
            "--from" => o.from = with_name(name, Pattern::parse(a.value(name)?))?,
            "--to" => o.to = with_name(name, Pattern::parse(a.value(name)?))?,
            "--threads" => o.threads = usize_of(count(name, a.value(name)?, 1)?),
            "--timeout" => o.timeout = with_name(name, parse_duration(a.value(name)?))?,
            "--json" => o.json = Some(PathBuf::from(a.value(name)?)),
            "--allow-errors" => o.allow_errors = true,
            "--starttls" => starttls = true,
            "--ca" => ca = Some(PathBuf::from(a.value(name)?)),
            "--insecure" => insecure = true,
            "--auth" => o.auth = Some(with_name(name, Credentials::parse(a.value(name)?))?),
            _ => return Err(ValueError(format!("send: unknown option {name:?}"))),
        }
    }
    if o.messages.is_none() && o.duration.is_none() {
        return Err(ValueError(
            "send: give --messages M or --duration D (a load test must stop by itself)".into(),
        ));
    }
    // A trust option without --starttls would be accepted and ignored: refuse it instead.
    o.tls = match (starttls, ca, insecure) {
        (false, None, false) => None,
        (false, _, _) => return Err(ValueError("--ca and --insecure need --starttls".into())),
        (true, Some(_), true) => {
            return Err(ValueError("give --ca FILE or --insecure, not both".into()))
        }
        (true, Some(path), false) => Some(TlsTrust::Ca(path)),
        (true, None, true) => Some(TlsTrust::Insecure),
        (true, None, false) => {
            return Err(ValueError(
                "--starttls needs --ca FILE or --insecure".into(),
            ))
        }
    };
    if o.rcpts > 1000 {
        return Err(ValueError("--rcpts: at most 1000".into()));
    }
    // A window is pipelining across transactions: without --pipelining it would silently
    // do nothing, which is not what someone who typed it wants to measure.
    if o.window > 1 && !o.pipelining {
        return Err(ValueError("--window needs --pipelining".into()));
    }
    if o.window > 1024 {
        return Err(ValueError("--window: at most 1024".into()));
    }
    // More threads than sessions would leave executors idle.
    o.threads = o.threads.min(o.connections).max(1);
    Ok(o)
}

fn parse_sink(args: &[String]) -> Result<SinkOptions, ValueError> {
    let mut o = SinkOptions {
        listen: SocketAddr::from(([127, 0, 0, 1], 2526)),
        threads: default_threads(),
        reply: Vec::new(),
        reply_rcpt: Vec::new(),
        delay: None,
        save: None,
        exit_after: None,
        duration: None,
        json: None,
        tls: None,
        auth: None,
    };
    let (mut cert, mut key, mut self_signed) = (None, None, false);
    let mut a = Args { it: args.iter() };
    while let Some(flag) = a.it.next() {
        let name = flag.as_str();
        match name {
            "--listen" => o.listen = addr(name, a.value(name)?)?,
            "--threads" => o.threads = usize_of(count(name, a.value(name)?, 1)?),
            "--reply" => o.reply = with_name(name, parse_reply_shares(a.value(name)?))?,
            "--reply-rcpt" => o
                .reply_rcpt
                .push(with_name(name, RcptRule::parse(a.value(name)?))?),
            "--delay" => o.delay = Some(with_name(name, parse_duration(a.value(name)?))?),
            "--save" => o.save = Some(PathBuf::from(a.value(name)?)),
            "--exit-after" => o.exit_after = Some(count(name, a.value(name)?, 1)?),
            "--duration" => o.duration = Some(with_name(name, parse_duration(a.value(name)?))?),
            "--json" => o.json = Some(PathBuf::from(a.value(name)?)),
            "--tls-cert" => cert = Some(PathBuf::from(a.value(name)?)),
            "--tls-key" => key = Some(PathBuf::from(a.value(name)?)),
            "--tls-self-signed" => self_signed = true,
            "--auth" => o.auth = Some(with_name(name, Credentials::parse(a.value(name)?))?),
            _ => return Err(ValueError(format!("sink: unknown option {name:?}"))),
        }
    }
    o.tls = match (cert, key, self_signed) {
        (None, None, false) => None,
        (None, None, true) => Some(SinkTls::SelfSigned),
        (Some(cert), Some(key), false) => Some(SinkTls::Files { cert, key }),
        (_, _, true) => {
            return Err(ValueError(
                "give --tls-cert/--tls-key or --tls-self-signed, not both".into(),
            ))
        }
        _ => return Err(ValueError("--tls-cert and --tls-key go together".into())),
    };
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn send_defaults_and_flags() {
        let Command::Send(o) = parse(&argv("send --messages 100")).unwrap() else {
            panic!()
        };
        assert_eq!(o.target, "127.0.0.1:2525".parse().unwrap());
        assert_eq!((o.connections, o.messages, o.rcpts), (10, Some(100), 1));
        assert!(!o.pipelining && !o.chunking && !o.allow_errors);
        assert_eq!(o.window, 1);
        assert_eq!(o.size, SizeDist::fixed(1024));

        let Command::Send(o) = parse(&argv(
            "send --target 127.0.0.1:2600 --connections 50 --duration 30s --rate 2k \
             --size 1KB:70,1MB:30 --rcpts 3 --per-connection 5 --pipelining --chunking \
             --from a{n}@x.example --to b{r}@d{n%10}.example --threads 2 --json /tmp/r.json \
             --allow-errors --timeout 5s",
        ))
        .unwrap() else {
            panic!()
        };
        assert_eq!(o.target.port(), 2600);
        assert_eq!(o.connections, 50);
        assert_eq!(o.duration, Some(Duration::from_secs(30)));
        assert_eq!(o.rate, Some(2000.0));
        assert_eq!(o.size.classes, vec![(1024, 70), (1 << 20, 30)]);
        assert_eq!((o.rcpts, o.per_connection, o.threads), (3, Some(5), 2));
        assert!(o.pipelining && o.chunking && o.allow_errors);
        assert_eq!(o.to.render(13, 1), "b1@d3.example");
        assert_eq!(o.json, Some(PathBuf::from("/tmp/r.json")));
        assert_eq!(o.timeout, Duration::from_secs(5));
    }

    #[test]
    fn window_flag() {
        let Command::Send(o) = parse(&argv(
            "send --messages 1 --pipelining --chunking --window 8",
        ))
        .unwrap() else {
            panic!()
        };
        assert_eq!(o.window, 8);
        let e = parse(&argv("send --messages 1 --window 8")).unwrap_err();
        assert_eq!(e.0, "--window needs --pipelining");
        assert!(parse(&argv("send --messages 1 --pipelining --window 0")).is_err());
        assert!(parse(&argv("send --messages 1 --pipelining --window 2000")).is_err());
    }

    #[test]
    fn tls_and_auth_flags() {
        let Command::Send(o) = parse(&argv(
            "send --messages 1 --starttls --ca /tmp/ca.pem --auth bob:s3:cr:et",
        ))
        .unwrap() else {
            panic!()
        };
        assert_eq!(o.tls, Some(TlsTrust::Ca(PathBuf::from("/tmp/ca.pem"))));
        let auth = o.auth.unwrap();
        assert_eq!(
            (auth.user.as_str(), auth.password.as_str()),
            ("bob", "s3:cr:et")
        );
        assert!(!format!("{auth:?}").contains("s3"));
        let Command::Send(o) = parse(&argv("send --messages 1 --insecure --starttls")).unwrap()
        else {
            panic!()
        };
        assert_eq!((o.tls, o.auth), (Some(TlsTrust::Insecure), None));
        let Command::Send(o) = parse(&argv("send --messages 1")).unwrap() else {
            panic!()
        };
        assert_eq!(o.tls, None);

        let Command::Sink(o) =
            parse(&argv("sink --tls-key k.pem --tls-cert c.pem --auth u:")).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            o.tls,
            Some(SinkTls::Files {
                cert: PathBuf::from("c.pem"),
                key: PathBuf::from("k.pem")
            })
        );
        assert_eq!(o.auth.map(|c| c.password), Some(String::new()));
        let Command::Sink(o) = parse(&argv("sink --tls-self-signed")).unwrap() else {
            panic!()
        };
        assert_eq!((o.tls, o.auth), (Some(SinkTls::SelfSigned), None));
    }

    #[test]
    fn threads_never_exceed_connections() {
        let Command::Send(o) =
            parse(&argv("send --messages 1 --connections 1 --threads 8")).unwrap()
        else {
            panic!()
        };
        assert_eq!(o.threads, 1);
    }

    #[test]
    fn sink_flags() {
        let Command::Sink(o) = parse(&argv(
            "sink --listen 127.0.0.1:0 --threads 1 --reply 451:10%,550:5% \
             --reply-rcpt fail*@*=550 --reply-rcpt x@y=421 --delay 10ms --save /tmp/s \
             --exit-after 20 --duration 1m --json r.json",
        ))
        .unwrap() else {
            panic!()
        };
        assert_eq!(o.listen.port(), 0);
        assert_eq!(o.reply.len(), 2);
        assert_eq!(o.reply_rcpt.len(), 2);
        assert_eq!(o.delay, Some(Duration::from_millis(10)));
        assert_eq!(
            (o.exit_after, o.duration),
            (Some(20), Some(Duration::from_secs(60)))
        );
    }

    #[test]
    fn usage_errors_name_the_option() {
        let cases: &[(&str, &str)] = &[
            ("", "missing command"),
            ("bench", "unknown command \"bench\""),
            ("send", "give --messages M or --duration D"),
            ("send --messages", "--messages needs a value"),
            (
                "send --messages 0",
                "--messages: expected a whole number of at least 1",
            ),
            ("send --messages ten", "--messages: expected a whole number"),
            (
                "send --messages 1 --connections 0",
                "--connections: expected",
            ),
            (
                "send --messages 1 --target localhost:25",
                "--target: expected IP:PORT",
            ),
            ("send --messages 1 --size 1GB", "--size: bad size"),
            ("send --messages 1 --rate 0", "--rate: bad rate"),
            (
                "send --duration 30",
                "--duration: bad duration \"30\": missing unit",
            ),
            ("send --messages 1 --to nobody", "--to: bad pattern"),
            (
                "send --messages 1 --starttls",
                "--starttls needs --ca FILE or --insecure",
            ),
            (
                "send --messages 1 --insecure",
                "--ca and --insecure need --starttls",
            ),
            (
                "send --messages 1 --ca x.pem",
                "--ca and --insecure need --starttls",
            ),
            (
                "send --messages 1 --starttls --ca x.pem --insecure",
                "not both",
            ),
            (
                "send --messages 1 --auth nopass",
                "--auth: expected USER:PASS",
            ),
            ("send --messages 1 --auth :p", "--auth: expected USER:PASS"),
            (
                "sink --tls-cert c.pem",
                "--tls-cert and --tls-key go together",
            ),
            (
                "sink --tls-key k.pem",
                "--tls-cert and --tls-key go together",
            ),
            (
                "sink --tls-self-signed --tls-cert c.pem --tls-key k.pem",
                "not both",
            ),
            ("sink --auth", "--auth needs a value"),
            ("send --messages 1 --rcpts 1001", "--rcpts: at most 1000"),
            ("sink --reply 250", "--reply: bad reply code"),
            ("sink --reply-rcpt nope", "--reply-rcpt: bad recipient rule"),
            ("sink --delay soon", "--delay: bad duration"),
            ("sink --exit-after 0", "--exit-after: expected"),
            ("sink --verbose", "unknown option \"--verbose\""),
        ];
        for (input, want) in cases {
            let e = parse(&argv(input)).unwrap_err();
            assert!(e.0.contains(want), "{input:?}: {e}");
        }
    }
}
