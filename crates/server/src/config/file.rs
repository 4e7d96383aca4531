//! The configuration file as written: serde structs that mirror `tern.toml` key for key.
//!
//! Nothing here is interpreted. Durations and sizes stay as the operator wrote them (a
//! string or an integer), addresses stay strings, and no limit is checked; `validate.rs`
//! does all of that and reports each problem with the key path. Keeping the two steps apart
//! means this file reads as the list of keys, and that every key has exactly one place
//! where its meaning is decided.
//!
//! Every struct denies unknown fields: a misspelt key (`max_recipient`) must fail loudly
//! rather than leave the default silently in force. Every field has a named default
//! function so that the defaults can be compared with the shipped `config/tern.toml`.
//!
//! Sections not listed here (`[metrics]`) are not accepted yet:
//! a key that is read and then ignored is a bug, so each section arrives with the code
//! that uses it.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a TOML document")]
pub struct FileConfig {
    /// `[server]`: identity, cores and the data directory.
    #[serde(default)]
    pub server: ServerSection,
    /// `[[listener]]`: the addresses to accept SMTP on. Writing any `[[listener]]` table
    /// replaces the default listener.
    #[serde(default = "default_listeners", rename = "listener")]
    pub listeners: Vec<ListenerSection>,
    /// `[limits]`: per-message, per-session and per-peer limits, and timeouts.
    #[serde(default)]
    pub limits: LimitsSection,
    /// `[relay]`: who may relay, and which domains anyone may send to.
    #[serde(default)]
    pub relay: RelaySection,
    /// `[queue]`: the on-disk queue's segment size and disk budget.
    #[serde(default)]
    pub queue: QueueSection,
    /// `[delivery]`: retries, queue lifetime, outbound timeouts and connection limits.
    #[serde(default)]
    pub delivery: DeliverySection,
    /// `[[route]]`: where each recipient domain goes, first match wins. Default: none
    /// (see docs/configuration.md for what happens to a domain no route matches).
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteSection>,
}

impl Default for FileConfig {
    fn default() -> FileConfig {
        FileConfig {
            server: ServerSection::default(),
            listeners: default_listeners(),
            limits: LimitsSection::default(),
            relay: RelaySection::default(),
            queue: QueueSection::default(),
            delivery: DeliverySection::default(),
            routes: Vec::new(),
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [server] table")]
pub struct ServerSection {
    /// The name tern gives in its greeting, its EHLO reply and its `Received:` headers.
    /// Default: unset, which means the system's hostname (read at validation).
    #[serde(default = "default_hostname")]
    pub hostname: Option<String>,
    /// How many executors (one thread pinned to one core each) to run. `0` means one per
    /// available core. Default: `0`.
    #[serde(default = "default_cores", deserialize_with = "non_negative")]
    pub cores: u64,
    /// Where the queue and state live. Relative paths are taken from the working directory
    /// tern is started in. Default: `"./tern-data"`.
    #[serde(default = "default_data_dir")]
    pub data_dir: String,
}

impl Default for ServerSection {
    fn default() -> ServerSection {
        ServerSection {
            hostname: default_hostname(),
            cores: default_cores(),
            data_dir: default_data_dir(),
        }
    }
}

/// One `[[listener]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[listener]] table")]
pub struct ListenerSection {
    /// `HOST:PORT` to listen on, resolved once at start-up. Default: `"127.0.0.1:2525"`.
    #[serde(default = "default_listener_address")]
    pub address: String,
    /// What this listener speaks. Default: `"smtp"`.
    #[serde(default = "default_listener_mode")]
    pub mode: ListenerMode,
    /// Whether connections start with a PROXY protocol (v1/v2) header from a load
    /// balancer. Default: `false`. Not supported yet: `true` is rejected.
    #[serde(default = "default_proxy_protocol")]
    pub proxy_protocol: bool,
}

impl Default for ListenerSection {
    fn default() -> ListenerSection {
        ListenerSection {
            address: default_listener_address(),
            mode: default_listener_mode(),
            proxy_protocol: default_proxy_protocol(),
        }
    }
}

/// What a listener speaks. Only `smtp` is implemented; the other two are named so that
/// the file format has room for them, and validation rejects them until TLS and AUTH land.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenerMode {
    /// Plain SMTP relay/MX service (RFC 5321), usually port 25.
    Smtp,
    /// Message submission (RFC 6409, port 587): STARTTLS and AUTH required. Not supported yet.
    Submission,
    /// Submission over implicit TLS (RFC 8314, port 465). Not supported yet.
    Smtps,
}

impl fmt::Display for ListenerMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListenerMode::Smtp => "smtp",
            ListenerMode::Submission => "submission",
            ListenerMode::Smtps => "smtps",
        })
    }
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [limits] table")]
pub struct LimitsSection {
    /// Largest message accepted, announced as EHLO `SIZE` (RFC 1870). Default: `"35MB"`.
    #[serde(default = "default_max_message_size")]
    pub max_message_size: SizeValue,
    /// Most recipients per message; RCPT beyond it gets `452 4.5.3`. Default: `1000`.
    #[serde(default = "default_max_recipients", deserialize_with = "non_negative")]
    pub max_recipients: u64,
    /// Most concurrent sessions on one core; more are answered `421 4.3.2` and closed.
    /// Default: `1000`.
    #[serde(
        default = "default_max_connections_per_core",
        deserialize_with = "non_negative"
    )]
    pub max_connections_per_core: u64,
    /// Most concurrent sessions from one client IP address, across all cores. Default: `100`.
    #[serde(
        default = "default_max_connections_per_ip",
        deserialize_with = "non_negative"
    )]
    pub max_connections_per_ip: u64,
    /// How long to wait for the next command line (RFC 5321 4.5.3.2.7). Default: `"5m"`.
    #[serde(default = "default_command_timeout")]
    pub command_timeout: DurationValue,
    /// How long to wait for each read of message data during DATA or BDAT (the client's
    /// data block timeout of RFC 5321 4.5.3.2.5, seen from the server). Default: `"3m"`.
    #[serde(default = "default_data_timeout")]
    pub data_timeout: DurationValue,
    /// Unknown or malformed commands tolerated in one session before it is closed with
    /// `421`. Default: `20`.
    #[serde(
        default = "default_max_bad_commands",
        deserialize_with = "non_negative"
    )]
    pub max_bad_commands: u64,
    /// What to do with a bare LF or bare CR in message data. Default: `"reject"`.
    #[serde(default = "default_bare_newline")]
    pub bare_newline: BareNewline,
}

impl Default for LimitsSection {
    fn default() -> LimitsSection {
        LimitsSection {
            max_message_size: default_max_message_size(),
            max_recipients: default_max_recipients(),
            max_connections_per_core: default_max_connections_per_core(),
            max_connections_per_ip: default_max_connections_per_ip(),
            command_timeout: default_command_timeout(),
            data_timeout: default_data_timeout(),
            max_bad_commands: default_max_bad_commands(),
            bare_newline: default_bare_newline(),
        }
    }
}

/// The policy for a bare LF or CR in message data (RFC 5321 2.3.8 forbids them; SMTP
/// smuggling, CVE-2023-51764 and relatives, exploits servers that read them as line ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BareNewline {
    /// Refuse the message with `550 5.6.11` (the safe default).
    Reject,
    /// Accept the message and rewrite each bare LF or CR as CRLF before queueing it.
    Normalize,
}

/// `[relay]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [relay] table")]
pub struct RelaySection {
    /// Client networks (CIDR) allowed to relay to any domain. Default:
    /// `["127.0.0.0/8", "::1/128"]`.
    #[serde(default = "default_trusted_networks")]
    pub trusted_networks: Vec<String>,
    /// Domains tern accepts mail for from any client (it is their MX). Default: `[]`.
    #[serde(default = "default_accept_domains")]
    pub accept_domains: Vec<String>,
}

impl Default for RelaySection {
    fn default() -> RelaySection {
        RelaySection {
            trusted_networks: default_trusted_networks(),
            accept_domains: default_accept_domains(),
        }
    }
}

/// `[queue]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [queue] table")]
pub struct QueueSection {
    /// Size at which a queue segment file is closed and a new one started. Default: `"64MB"`.
    #[serde(default = "default_segment_size")]
    pub segment_size: SizeValue,
    /// Disk space the queue may use, across all cores; beyond it new mail gets `452 4.3.1`.
    /// Default: `"10GB"`.
    #[serde(default = "default_max_disk_use")]
    pub max_disk_use: SizeValue,
}

impl Default for QueueSection {
    fn default() -> QueueSection {
        QueueSection {
            segment_size: default_segment_size(),
            max_disk_use: default_max_disk_use(),
        }
    }
}

/// `[delivery]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [delivery] table")]
pub struct DeliverySection {
    /// Delay before the first retry of a temporarily failed recipient; it doubles with
    /// each further attempt (plus up to 1/8 of jitter). Default: `"5m"`.
    #[serde(default = "default_retry_initial")]
    pub retry_initial: DurationValue,
    /// Longest delay between two attempts. Default: `"1h"`.
    #[serde(default = "default_retry_max")]
    pub retry_max: DurationValue,
    /// How long a message may stay queued; a recipient still deferred after it fails and
    /// is bounced. Default: `"120h"` (5 days).
    #[serde(default = "default_max_queue_lifetime")]
    pub max_queue_lifetime: DurationValue,
    /// How long a message waits before a recipient still deferred earns a delay notice
    /// (only recipients that asked with NOTIFY=DELAY). Default: `"4h"`.
    #[serde(default = "default_delay_warning")]
    pub delay_warning: DurationValue,
    /// The recursive DNS resolver for `mx = true` routes, `IP:PORT`. Default: unset, which
    /// means the first `nameserver` of `/etc/resolv.conf` on port 53 (`127.0.0.1:53` if
    /// there is none).
    #[serde(default)]
    pub resolver: Option<String>,
    /// A PEM file of the root certificates that `tls = "required"` routes trust. A
    /// relative path is taken from the working directory. Default: unset, which means the
    /// system bundle `/etc/ssl/certs/ca-certificates.crt` when it exists.
    #[serde(default)]
    pub tls_roots: Option<String>,
    /// How long to wait for an outbound TCP connection. Default: `"30s"`.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: DurationValue,
    /// How long to wait for each reply of a next hop. Default: `"5m"`.
    #[serde(default = "default_delivery_command_timeout")]
    pub command_timeout: DurationValue,
    /// How long an idle outbound connection is kept open for the next message to the same
    /// hop. Default: `"5s"`.
    #[serde(default = "default_idle_timeout")]
    pub idle_timeout: DurationValue,
    /// Most outbound connections per core. Default: `100`.
    #[serde(default = "default_max_connections", deserialize_with = "non_negative")]
    pub max_connections: u64,
    /// Most outbound connections per core to one next hop (one route). Default: `10`.
    #[serde(
        default = "default_max_connections_per_host",
        deserialize_with = "non_negative"
    )]
    pub max_connections_per_host: u64,
}

impl Default for DeliverySection {
    fn default() -> DeliverySection {
        DeliverySection {
            retry_initial: default_retry_initial(),
            retry_max: default_retry_max(),
            max_queue_lifetime: default_max_queue_lifetime(),
            delay_warning: default_delay_warning(),
            resolver: None,
            tls_roots: None,
            connect_timeout: default_connect_timeout(),
            command_timeout: default_delivery_command_timeout(),
            idle_timeout: default_idle_timeout(),
            max_connections: default_max_connections(),
            max_connections_per_host: default_max_connections_per_host(),
        }
    }
}

/// One `[[route]]` table. Exactly one of `mx`, `smarthost`, `hold` and `reject` must be
/// given.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[route]] table")]
pub struct RouteSection {
    /// Domain patterns: `"example.com"` (exactly), `"*.example.net"` (any name below it,
    /// not itself), `"*"` (everything). Required.
    pub domains: Vec<String>,
    /// `true`: deliver to the domain's mail exchangers (DNS MX, RFC 5321 5; null MX per
    /// RFC 7505 fails the recipient).
    #[serde(default)]
    pub mx: Option<bool>,
    /// The mail exchangers' SMTP port, for `mx = true` only. Default: `25`.
    #[serde(default, deserialize_with = "non_negative_opt")]
    pub port: Option<u64>,
    /// `HOST:PORT` relays, tried in order; resolved once at start-up.
    #[serde(default)]
    pub smarthost: Option<Vec<String>>,
    /// `true`: keep the mail queued for the domain's owner to fetch (ETRN/ATRN/TURN).
    #[serde(default)]
    pub hold: Option<bool>,
    /// STARTTLS on this route's connections: `"opportunistic"` (when offered, certificate
    /// not checked) or `"required"` (certificate checked against `delivery.tls_roots`).
    /// Default: `"opportunistic"`.
    #[serde(default)]
    pub tls: Option<RouteTls>,
    /// A reply such as `"550 5.1.2 Domain not served here"`: recipients in these domains
    /// are refused at RCPT time with it.
    #[serde(default)]
    pub reject: Option<String>,
}

/// `tls` of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteTls {
    /// STARTTLS when offered, without checking the certificate.
    Opportunistic,
    /// STARTTLS with a verified certificate, or no delivery.
    Required,
}

/// A duration as written: a TOML integer (seconds) or a string such as `"5m"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationValue {
    /// A bare integer: seconds. Kept signed so validation can name a negative value.
    Seconds(i64),
    /// A string with a unit, parsed by validation.
    Text(String),
}

/// A byte size as written: a TOML integer (bytes) or a string such as `"35MB"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SizeValue {
    /// A bare integer: bytes. Kept signed so validation can name a negative value.
    Bytes(i64),
    /// A string with a unit, parsed by validation.
    Text(String),
}

/// Integer-or-string, with the `expecting` text that serde puts in a type error.
enum IntOrText {
    Int(i64),
    Text(String),
}

struct IntOrTextVisitor(&'static str);

impl Visitor<'_> for IntOrTextVisitor {
    type Value = IntOrText;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntOrText, E> {
        Ok(IntOrText::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntOrText, E> {
        i64::try_from(v)
            .map(IntOrText::Int)
            .map_err(|_| E::custom(format!("{v} is too large")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<IntOrText, E> {
        Ok(IntOrText::Text(v.to_owned()))
    }
}

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DurationValue, D::Error> {
        let v = d.deserialize_any(IntOrTextVisitor(
            "a duration such as \"30s\", \"5m\" or \"250ms\", or an integer number of seconds",
        ))?;
        Ok(match v {
            IntOrText::Int(n) => DurationValue::Seconds(n),
            IntOrText::Text(s) => DurationValue::Text(s),
        })
    }
}

impl<'de> Deserialize<'de> for SizeValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SizeValue, D::Error> {
        let v = d.deserialize_any(IntOrTextVisitor(
            "a size such as \"35MB\" or \"64KiB\", or an integer number of bytes",
        ))?;
        Ok(match v {
            IntOrText::Int(n) => SizeValue::Bytes(n),
            IntOrText::Text(s) => SizeValue::Text(s),
        })
    }
}

/// Reads a TOML integer that must not be negative. serde's own `u64` would say
/// "expected u64"; operators should not need to know Rust's integer types.
fn non_negative<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct NonNegative;
    impl Visitor<'_> for NonNegative {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }
    }
    d.deserialize_any(NonNegative)
}

fn non_negative_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    non_negative(d).map(Some)
}

// The named defaults. Each is the single source of a key's default: the Default impls
// above, serde, and the test that compares them with config/tern.toml all use these.

fn default_hostname() -> Option<String> {
    None
}
fn default_cores() -> u64 {
    0
}
fn default_data_dir() -> String {
    "./tern-data".to_owned()
}
fn default_listeners() -> Vec<ListenerSection> {
    vec![ListenerSection::default()]
}
fn default_listener_address() -> String {
    "127.0.0.1:2525".to_owned()
}
fn default_listener_mode() -> ListenerMode {
    ListenerMode::Smtp
}
fn default_proxy_protocol() -> bool {
    false
}
fn default_max_message_size() -> SizeValue {
    SizeValue::Text("35MB".to_owned())
}
fn default_max_recipients() -> u64 {
    1000
}
fn default_max_connections_per_core() -> u64 {
    1000
}
fn default_max_connections_per_ip() -> u64 {
    100
}
fn default_command_timeout() -> DurationValue {
    DurationValue::Text("5m".to_owned())
}
fn default_data_timeout() -> DurationValue {
    DurationValue::Text("3m".to_owned())
}
fn default_max_bad_commands() -> u64 {
    20
}
fn default_bare_newline() -> BareNewline {
    BareNewline::Reject
}
fn default_trusted_networks() -> Vec<String> {
    vec!["127.0.0.0/8".to_owned(), "::1/128".to_owned()]
}
fn default_accept_domains() -> Vec<String> {
    Vec::new()
}
fn default_segment_size() -> SizeValue {
    SizeValue::Text("64MB".to_owned())
}
fn default_max_disk_use() -> SizeValue {
    SizeValue::Text("10GB".to_owned())
}
fn default_retry_initial() -> DurationValue {
    DurationValue::Text("5m".to_owned())
}
fn default_retry_max() -> DurationValue {
    DurationValue::Text("1h".to_owned())
}
fn default_max_queue_lifetime() -> DurationValue {
    DurationValue::Text("120h".to_owned())
}
fn default_connect_timeout() -> DurationValue {
    DurationValue::Text("30s".to_owned())
}
fn default_delivery_command_timeout() -> DurationValue {
    DurationValue::Text("5m".to_owned())
}
fn default_idle_timeout() -> DurationValue {
    DurationValue::Text("5s".to_owned())
}
fn default_max_connections() -> u64 {
    100
}
fn default_max_connections_per_host() -> u64 {
    10
}
fn default_delay_warning() -> DurationValue {
    DurationValue::Text("4h".to_owned())
}
