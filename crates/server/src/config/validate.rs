//! From the file as written to a typed [`Config`]: every string parsed, every address
//! resolved, every limit checked.
//!
//! This is the only place that decides what a key means. Errors name the key path
//! (`limits.max_recipients`, `listener[1].address`); `mod.rs` turns that path into a line
//! and column in the file. Listen addresses are resolved here, with the blocking
//! `to_socket_addrs`, because nothing may block an executor thread later (STYLE habit 11)
//! and glommio's bind would otherwise resolve and `unwrap()` the result itself.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use tern_delivery::route::{
    parse_reply, DomainPattern, Route, RouteAction, RouteTable, Target, TlsMode,
};
use tern_delivery::schedule::Schedule;
use tern_delivery::tls::{check_roots, load_roots, CertificateDer};

use super::file::{
    BareNewline, DeliverySection, DurationValue, FileConfig, LimitsSection, ListenerMode,
    ListenerSection, QueueSection, RelaySection, RouteSection, RouteTls, ServerSection, SizeValue,
};
use super::ipnet::IpNet;
use super::units::{parse_duration, parse_size};
use super::KeyPath;

/// The validated configuration. Every value is typed and checked; the runtime reads it
/// and never needs to re-check or re-parse anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `[server]`.
    pub server: Server,
    /// `[[listener]]`, one entry per resolved socket address (a name that resolves to
    /// both `127.0.0.1` and `::1` gives two). Never empty.
    pub listeners: Vec<Listener>,
    /// `[limits]`.
    pub limits: Limits,
    /// `[relay]`.
    pub relay: Relay,
    /// `[queue]`.
    pub queue: Queue,
    /// `[delivery]`.
    pub delivery: Delivery,
    /// `[[route]]`, in order; smarthost names resolved.
    pub routes: RouteTable,
}

/// `[delivery]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// Backoff and queue lifetime; `retry_initial <= retry_max`, all nonzero.
    pub schedule: Schedule,
    /// Outbound connect timeout; nonzero.
    pub connect_timeout: Duration,
    /// Wait for each reply of a next hop; nonzero.
    pub command_timeout: Duration,
    /// Idle connection cache time; nonzero.
    pub idle_timeout: Duration,
    /// Outbound connections per core; at least 1.
    pub max_connections: usize,
    /// Outbound connections per core and hop; at least 1.
    pub max_connections_per_host: usize,
    /// The recursive resolver MX routes ask: configured, or the first `nameserver` of
    /// `/etc/resolv.conf`, or `127.0.0.1:53`.
    pub resolver: SocketAddr,
    /// Roots for `tls = "required"` routes: `tls_roots`, or the system bundle; may be
    /// empty only when no route requires TLS.
    pub tls_roots: Vec<CertificateDer<'static>>,
}

/// `[server]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The name used in the greeting, EHLO reply and `Received:` headers: the configured
    /// one, or the system's hostname.
    pub hostname: String,
    /// Number of executors to run: at least 1, at most the available cores.
    pub cores: usize,
    /// Data directory, as written (relative paths are relative to the working directory).
    pub data_dir: PathBuf,
}

/// One listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The resolved address every core binds (with SO_REUSEPORT).
    pub address: SocketAddr,
    /// What the listener speaks. Always [`ListenerMode::Smtp`] until TLS and AUTH exist.
    pub mode: ListenerMode,
    /// Whether a PROXY protocol header is expected. Always `false` until it is supported.
    pub proxy_protocol: bool,
}

/// `[limits]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest message in bytes; at least 64 KiB (RFC 5321 4.5.3.1.7).
    pub max_message_size: u64,
    /// Most recipients per message; at least 100 (RFC 5321 4.5.3.1.8).
    pub max_recipients: usize,
    /// Most concurrent sessions per core; at least 1.
    pub max_connections_per_core: usize,
    /// Most concurrent sessions per client IP address, across all cores; at least 1.
    pub max_connections_per_ip: usize,
    /// Wait for the next command; nonzero.
    pub command_timeout: Duration,
    /// Wait for each read of message data; nonzero.
    pub data_timeout: Duration,
    /// Bad commands tolerated per session; at least 1.
    pub max_bad_commands: u32,
    /// Bare LF / bare CR policy for message data.
    pub bare_newline: BareNewline,
}

/// `[relay]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    /// Networks whose clients may relay anywhere.
    pub trusted_networks: Vec<IpNet>,
    /// Domains accepted from anyone, lower-cased.
    pub accept_domains: Vec<String>,
}

impl Relay {
    /// Whether a client at `ip` may relay to any domain.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_networks.iter().any(|n| n.contains(ip))
    }

    /// Whether mail for `domain` is accepted from any client (ASCII case-insensitive, as
    /// domain names compare).
    pub fn accepts_domain(&self, domain: &str) -> bool {
        self.accept_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }
}

/// `[queue]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    /// Segment roll size in bytes; nonzero.
    pub segment_size: u64,
    /// Disk budget in bytes for all shards together; at least one segment per core.
    pub max_disk_use: u64,
}

/// A validation failure: the key it concerns and what is wrong, before a file position
/// is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    pub(crate) path: KeyPath,
    pub(crate) message: String,
}

impl Invalid {
    fn new(path: KeyPath, message: impl Into<String>) -> Invalid {
        Invalid {
            path,
            message: message.into(),
        }
    }
}

/// What validation needs from the machine, passed in so tests can fix it.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    /// Cores the process may run on (`available_parallelism`).
    pub(crate) available_cores: usize,
    /// The system hostname, if it could be read.
    pub(crate) hostname: Option<String>,
    /// The first `nameserver` of `/etc/resolv.conf`, if any: the default resolver.
    pub(crate) nameserver: Option<IpAddr>,
    /// The system's CA bundle, if readable: the default outbound TLS roots.
    pub(crate) ca_bundle: Option<Vec<u8>>,
}

impl Host {
    /// Reads the real machine.
    pub(crate) fn current() -> Host {
        Host {
            // available_parallelism honours CPU affinity and cgroup quotas, which is what
            // decides how many executors can really run in parallel.
            available_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            hostname: system_hostname(),
            nameserver: system_nameserver(),
            ca_bundle: std::fs::read(SYSTEM_CA_BUNDLE).ok(),
        }
    }
}

/// Where Debian and its relatives keep the system's trusted roots.
const SYSTEM_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The first usable `nameserver` line of `/etc/resolv.conf`.
fn system_nameserver() -> Option<IpAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    first_nameserver(&text)
}

fn first_nameserver(text: &str) -> Option<IpAddr> {
    text.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some("nameserver"))
            .then(|| words.next()?.parse().ok())
            .flatten()
    })
}

/// The kernel's hostname, without going through libc: tern has no other use for it.
fn system_hostname() -> Option<String> {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = raw.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// Validates the whole file.
pub(crate) fn validate(file: &FileConfig, host: &Host) -> Result<Config, Invalid> {
    let server = validate_server(&file.server, host)?;
    let listeners = validate_listeners(&file.listeners)?;
    let limits = validate_limits(&file.limits)?;
    let relay = validate_relay(&file.relay)?;
    let queue = validate_queue(&file.queue, server.cores)?;
    let delivery = validate_delivery(&file.delivery, host)?;
    let routes = validate_routes(&file.routes, !delivery.tls_roots.is_empty())?;
    Ok(Config {
        server,
        listeners,
        limits,
        relay,
        queue,
        delivery,
        routes,
    })
}

fn validate_server(s: &ServerSection, host: &Host) -> Result<Server, Invalid> {
    let path = |key| KeyPath::key("server").push(key);
    let hostname = match &s.hostname {
        Some(name) => {
            check_domain(name).map_err(|e| Invalid::new(path("hostname"), e))?;
            name.clone()
        }
        // An unreadable hostname falls back to "localhost" (a container without /proc), but
        // a readable, malformed one is an error: greeting with it would be a protocol
        // violation, and replacing it silently would hide the problem.
        None => match &host.hostname {
            None => "localhost".to_owned(),
            Some(name) => {
                check_domain(name).map_err(|e| {
                    Invalid::new(
                        path("hostname"),
                        format!("not set, and the system hostname {name:?} cannot be used: {e}"),
                    )
                })?;
                name.clone()
            }
        },
    };
    let cores = match usize::try_from(s.cores) {
        Ok(0) => host.available_cores,
        Ok(n) if n <= host.available_cores => n,
        _ => {
            return Err(Invalid::new(
                path("cores"),
                format!(
                    "{} cores requested but only {} are available (0 means one per available core)",
                    s.cores, host.available_cores
                ),
            ))
        }
    };
    if s.data_dir.is_empty() {
        return Err(Invalid::new(path("data_dir"), "must not be empty"));
    }
    Ok(Server {
        hostname,
        cores,
        data_dir: PathBuf::from(&s.data_dir),
    })
}

fn validate_listeners(sections: &[ListenerSection]) -> Result<Vec<Listener>, Invalid> {
    if sections.is_empty() {
        return Err(Invalid::new(
            KeyPath::key("listener"),
            "at least one [[listener]] is required",
        ));
    }
    let mut listeners = Vec::new();
    // Which listener first claimed each address, to name it in the duplicate error.
    let mut owners: HashMap<SocketAddr, usize> = HashMap::new();
    for (i, l) in sections.iter().enumerate() {
        let path = |key| KeyPath::key("listener").index(i).push(key);
        match l.mode {
            ListenerMode::Smtp => {}
            ListenerMode::Submission | ListenerMode::Smtps => {
                return Err(Invalid::new(
                    path("mode"),
                    format!(
                        "mode \"{}\" is not supported yet (it needs TLS and AUTH); use \"smtp\"",
                        l.mode
                    ),
                ))
            }
        }
        if l.proxy_protocol {
            return Err(Invalid::new(
                path("proxy_protocol"),
                "the PROXY protocol is not supported yet; set proxy_protocol = false",
            ));
        }
        for address in resolve(&l.address).map_err(|e| Invalid::new(path("address"), e))? {
            if let Some(first) = owners.insert(address, i) {
                return Err(Invalid::new(
                    path("address"),
                    format!("{address} is already the address of listener[{first}]"),
                ));
            }
            listeners.push(Listener {
                address,
                mode: l.mode,
                proxy_protocol: l.proxy_protocol,
            });
        }
    }
    Ok(listeners)
}

/// Resolves `HOST:PORT` to every address it names.
fn resolve(text: &str) -> Result<Vec<SocketAddr>, String> {
    const HELP: &str = "expected HOST:PORT, e.g. \"127.0.0.1:2525\" or \"[::1]:2525\"";
    let addrs = match text.parse::<SocketAddr>() {
        Ok(addr) => vec![addr],
        Err(_) => {
            let (host, port) = text
                .rsplit_once(':')
                .ok_or_else(|| format!("invalid address {text:?}: {HELP}"))?;
            let port: u16 = port
                .parse()
                .map_err(|_| format!("invalid port in {text:?}: {HELP}"))?;
            // An unbracketed IPv6 address ("::1:25") is ambiguous; a name never has ':'.
            if host.is_empty() || host.contains(':') {
                return Err(format!("invalid address {text:?}: {HELP}"));
            }
            let mut addrs: Vec<SocketAddr> = (host, port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve {host:?}: {e}"))?
                .collect();
            // getaddrinfo lists one entry per socket type; the duplicates mean nothing here.
            addrs.sort();
            addrs.dedup();
            addrs
        }
    };
    if addrs.is_empty() {
        return Err(format!("{text:?} resolves to no address"));
    }
    if let Some(a) = addrs.iter().find(|a| a.port() == 0) {
        // With SO_REUSEPORT each core binds on its own; port 0 would give every core a
        // different port.
        return Err(format!(
            "port 0 in {a} is not supported: every core must bind the same, fixed port"
        ));
    }
    Ok(addrs)
}

fn validate_limits(l: &LimitsSection) -> Result<Limits, Invalid> {
    let path = |key| KeyPath::key("limits").push(key);
    let max_message_size = size(&l.max_message_size, path("max_message_size"))?;
    if max_message_size < 65_536 {
        return Err(Invalid::new(
            path("max_message_size"),
            format!("{max_message_size} bytes is below the 64KiB (65536 bytes) that RFC 5321 4.5.3.1.7 requires a server to accept"),
        ));
    }
    let max_recipients = count(l.max_recipients, path("max_recipients"))?;
    if max_recipients < 100 {
        return Err(Invalid::new(
            path("max_recipients"),
            format!("{max_recipients} is below the 100 recipients that RFC 5321 4.5.3.1.8 requires a server to accept"),
        ));
    }
    let max_bad_commands = count(l.max_bad_commands, path("max_bad_commands"))?;
    Ok(Limits {
        max_message_size,
        max_recipients,
        max_connections_per_core: count(
            l.max_connections_per_core,
            path("max_connections_per_core"),
        )?,
        max_connections_per_ip: count(l.max_connections_per_ip, path("max_connections_per_ip"))?,
        command_timeout: timeout(&l.command_timeout, path("command_timeout"))?,
        data_timeout: timeout(&l.data_timeout, path("data_timeout"))?,
        max_bad_commands: u32::try_from(max_bad_commands)
            .map_err(|_| Invalid::new(path("max_bad_commands"), "is too large"))?,
        bare_newline: l.bare_newline,
    })
}

fn validate_relay(r: &RelaySection) -> Result<Relay, Invalid> {
    let path = |key, i| KeyPath::key("relay").push(key).index(i);
    let trusted_networks = r
        .trusted_networks
        .iter()
        .enumerate()
        .map(|(i, text)| {
            text.parse::<IpNet>()
                .map_err(|e| Invalid::new(path("trusted_networks", i), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let accept_domains = r
        .accept_domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            check_domain(d)
                .map(|()| d.to_ascii_lowercase())
                .map_err(|e| Invalid::new(path("accept_domains", i), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Relay {
        trusted_networks,
        accept_domains,
    })
}

fn validate_queue(q: &QueueSection, cores: usize) -> Result<Queue, Invalid> {
    let path = |key| KeyPath::key("queue").push(key);
    let segment_size = size(&q.segment_size, path("segment_size"))?;
    if segment_size == 0 {
        return Err(Invalid::new(path("segment_size"), "must be greater than 0"));
    }
    let max_disk_use = size(&q.max_disk_use, path("max_disk_use"))?;
    // Each core's shard writes its own segments, so anything less than one segment per
    // core would refuse mail before a single segment could fill.
    let floor = segment_size.saturating_mul(cores as u64);
    if max_disk_use < floor {
        return Err(Invalid::new(
            path("max_disk_use"),
            format!("{max_disk_use} bytes is less than one segment ({segment_size} bytes) for each of the {cores} cores"),
        ));
    }
    Ok(Queue {
        segment_size,
        max_disk_use,
    })
}

fn validate_delivery(d: &DeliverySection, host: &Host) -> Result<Delivery, Invalid> {
    let path = |key| KeyPath::key("delivery").push(key);
    let resolver = match &d.resolver {
        // An IP literal only: resolving the resolver's name would need a resolver.
        Some(text) => text.parse::<SocketAddr>().map_err(|_| {
            Invalid::new(
                path("resolver"),
                format!("invalid resolver {text:?}: expected IP:PORT, e.g. \"127.0.0.1:53\" or \"[::1]:53\""),
            )
        })?,
        None => SocketAddr::new(host.nameserver.unwrap_or(IpAddr::from([127, 0, 0, 1])), 53),
    };
    let retry_initial = timeout(&d.retry_initial, path("retry_initial"))?;
    let retry_max = timeout(&d.retry_max, path("retry_max"))?;
    if retry_max < retry_initial {
        return Err(Invalid::new(
            path("retry_max"),
            "must not be less than delivery.retry_initial",
        ));
    }
    Ok(Delivery {
        schedule: Schedule {
            retry_initial,
            retry_max,
            max_queue_lifetime: timeout(&d.max_queue_lifetime, path("max_queue_lifetime"))?,
            delay_warning: timeout(&d.delay_warning, path("delay_warning"))?,
        },
        connect_timeout: timeout(&d.connect_timeout, path("connect_timeout"))?,
        command_timeout: timeout(&d.command_timeout, path("command_timeout"))?,
        idle_timeout: timeout(&d.idle_timeout, path("idle_timeout"))?,
        max_connections: count(d.max_connections, path("max_connections"))?,
        max_connections_per_host: count(
            d.max_connections_per_host,
            path("max_connections_per_host"),
        )?,
        resolver,
        tls_roots: tls_roots(d, host)?,
    })
}

fn tls_roots(d: &DeliverySection, host: &Host) -> Result<Vec<CertificateDer<'static>>, Invalid> {
    let path = || KeyPath::key("delivery").push("tls_roots");
    let roots = match &d.tls_roots {
        Some(file) => {
            let pem = std::fs::read(file)
                .map_err(|e| Invalid::new(path(), format!("cannot read {file:?}: {e}")))?;
            load_roots(&pem).map_err(|e| Invalid::new(path(), format!("{file:?}: {e}")))?
        }
        // A broken system bundle should not stop a relay that never verifies.
        None => host
            .ca_bundle
            .as_deref()
            .and_then(|pem| load_roots(pem).ok())
            .unwrap_or_default(),
    };
    check_roots(&roots).map_err(|e| Invalid::new(path(), e))?;
    Ok(roots)
}

fn validate_routes(sections: &[RouteSection], have_roots: bool) -> Result<RouteTable, Invalid> {
    let mut routes = Vec::with_capacity(sections.len());
    for (i, r) in sections.iter().enumerate() {
        let path = |key| KeyPath::key("route").index(i).push(key);
        if r.domains.is_empty() {
            return Err(Invalid::new(
                path("domains"),
                "at least one domain pattern is required",
            ));
        }
        let domains = r
            .domains
            .iter()
            .enumerate()
            .map(|(j, d)| {
                DomainPattern::parse(d).map_err(|e| Invalid::new(path("domains").index(j), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let given: Vec<&str> = [
            r.smarthost.as_ref().map(|_| "smarthost"),
            (r.hold == Some(true)).then_some("hold"),
            r.reject.as_ref().map(|_| "reject"),
            (r.mx == Some(true)).then_some("mx"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if r.port.is_some() && r.mx != Some(true) {
            return Err(Invalid::new(
                path("port"),
                "port is only for mx = true routes (a smarthost names its own ports)",
            ));
        }
        let action = match given[..] {
            ["smarthost"] => {
                let hosts = r.smarthost.as_deref().unwrap_or_default();
                if hosts.is_empty() {
                    return Err(Invalid::new(
                        path("smarthost"),
                        "at least one HOST:PORT is required",
                    ));
                }
                let mut addrs = Vec::new();
                for (j, h) in hosts.iter().enumerate() {
                    let resolved =
                        resolve(h).map_err(|e| Invalid::new(path("smarthost").index(j), e))?;
                    // The name as written, for the certificate check of tls = "required".
                    let name = h
                        .rsplit_once(':')
                        .map_or(h.as_str(), |(host, _)| host)
                        .trim_start_matches('[')
                        .trim_end_matches(']');
                    addrs.extend(resolved.into_iter().map(|addr| Target {
                        name: name.to_owned(),
                        addr,
                    }));
                }
                RouteAction::Smarthost(addrs)
            }
            ["hold"] => RouteAction::Hold,
            ["mx"] => RouteAction::Mx {
                port: match r.port {
                    None => 25,
                    Some(p) => u16::try_from(p)
                        .ok()
                        .filter(|&p| p > 0)
                        .ok_or_else(|| Invalid::new(path("port"), "must be a port number, 1-65535"))?,
                },
            },
            [_] => {
                let text = r.reject.as_deref().unwrap_or_default();
                RouteAction::Reject(parse_reply(text).map_err(|e| Invalid::new(path("reject"), e))?)
            }
            [] => {
                return Err(Invalid::new(
                    KeyPath::key("route").index(i),
                    "a route needs one of mx = true, smarthost = [\"HOST:PORT\", ...], hold = true or reject = \"550 ...\"",
                ))
            }
            [_, second, ..] => {
                return Err(Invalid::new(
                    path(second),
                    "a route takes only one of mx, smarthost, hold and reject",
                ))
            }
        };
        let tls =
            match r.tls {
                None | Some(RouteTls::Opportunistic) => TlsMode::Opportunistic,
                Some(RouteTls::Required) if !have_roots => return Err(Invalid::new(
                    path("tls"),
                    "tls = \"required\" needs trusted roots: set delivery.tls_roots to a PEM file",
                )),
                Some(RouteTls::Required) => TlsMode::Required,
            };
        if r.tls.is_some() && matches!(action, RouteAction::Hold | RouteAction::Reject(_)) {
            return Err(Invalid::new(
                path("tls"),
                "tls is only for mx and smarthost routes",
            ));
        }
        routes.push(Route {
            domains,
            action,
            tls,
        });
    }
    Ok(RouteTable::new(routes))
}

/// A count where zero would make the server refuse everything.
fn count(n: u64, path: KeyPath) -> Result<usize, Invalid> {
    match usize::try_from(n) {
        Ok(0) => Err(Invalid::new(path, "must be greater than 0")),
        Ok(n) => Ok(n),
        Err(_) => Err(Invalid::new(path, "is too large")),
    }
}

fn size(v: &SizeValue, path: KeyPath) -> Result<u64, Invalid> {
    match v {
        SizeValue::Bytes(n) => u64::try_from(*n)
            .map_err(|_| Invalid::new(path, format!("{n} is negative; expected a size"))),
        SizeValue::Text(t) => parse_size(t).map_err(|e| Invalid::new(path, e.to_string())),
    }
}

/// A timeout: zero would time out every read at once, so it is refused.
fn timeout(v: &DurationValue, path: KeyPath) -> Result<Duration, Invalid> {
    let d = match v {
        DurationValue::Seconds(n) => u64::try_from(*n).map(Duration::from_secs).map_err(|_| {
            Invalid::new(
                path.clone(),
                format!("{n} is negative; expected a duration"),
            )
        })?,
        DurationValue::Text(t) => {
            parse_duration(t).map_err(|e| Invalid::new(path.clone(), e.to_string()))?
        }
    };
    if d.is_zero() {
        return Err(Invalid::new(path, "must be greater than 0"));
    }
    Ok(d)
}

/// Checks RFC 5321 `Domain` syntax (letters, digits and hyphens in dot-separated labels,
/// no leading or trailing hyphen) with DNS's lengths: 63 per label, 253 in all.
/// Internationalised names must be written in their ASCII (A-label, `xn--`) form.
pub(crate) fn check_domain(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("expected a domain name, found an empty string".to_owned());
    }
    if name.len() > 253 {
        return Err(format!(
            "domain name is {} characters long; the limit is 253",
            name.len()
        ));
    }
    for label in name.split('.') {
        let bytes = label.as_bytes();
        let ok = !bytes.is_empty()
            && bytes.len() <= 63
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
            && bytes.first() != Some(&b'-')
            && bytes.last() != Some(&b'-');
        if !ok {
            return Err(format!(
                "invalid domain name {name:?}: each dot-separated label must be 1-63 letters, digits or inner hyphens"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
