//! Whole-file tests: the shipped default, and the one-line error for each way a file can
//! be wrong, with its exact position and key path.

use std::net::SocketAddr;
use std::time::Duration;

use super::*;

fn host() -> Host {
    Host {
        available_cores: 2,
        hostname: Some("mx.example".to_owned()),
        nameserver: Some(std::net::IpAddr::from([192, 0, 2, 53])),
        ca_bundle: None,
    }
}

fn check(text: &str) -> Result<Config, String> {
    parse_with(text, "t.toml", &host()).map_err(|e| e.to_string())
}

fn ok(text: &str) -> Config {
    match check(text) {
        Ok(c) => c,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

/// The shipped file must say exactly what the serde defaults say: otherwise the
/// documentation lies about what an absent key means.
#[test]
fn default_toml_equals_serde_defaults() {
    let doc = match toml::de::DeTable::parse(DEFAULT_TOML) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let from_file = match FileConfig::deserialize(toml::de::Deserializer::from(doc)) {
        Ok(f) => f,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(from_file, FileConfig::default());
    assert_eq!(ok(DEFAULT_TOML), ok(""));
}

/// Every key of every section appears in the shipped file (hostname commented out, since
/// its default is the system's), so the file documents them all.
#[test]
fn default_toml_mentions_every_key() {
    let keys = [
        "hostname",
        "cores",
        "data_dir",
        "address",
        "mode",
        "proxy_protocol",
        "max_message_size",
        "max_recipients",
        "max_connections_per_core",
        "max_connections_per_ip",
        "command_timeout",
        "data_timeout",
        "max_bad_commands",
        "bare_newline",
        "trusted_networks",
        "accept_domains",
        "segment_size",
        "max_disk_use",
        "retry_initial",
        "retry_max",
        "max_queue_lifetime",
        "delay_warning",
        "connect_timeout",
        "idle_timeout",
        "max_connections",
        "max_connections_per_host",
        "domains",
        "smarthost",
        "hold",
        "reject",
        "mx",
        "port",
        "resolver",
        "tls_roots",
        "tls",
    ];
    for key in keys {
        let assigned = DEFAULT_TOML
            .lines()
            .any(|l| l.trim_start_matches("# ").starts_with(&format!("{key} = ")));
        assert!(assigned, "{key} is not in config/tern.toml");
        let docs = include_str!("../../../../docs/configuration.md");
        assert!(
            docs.contains(&format!("`{key}`")),
            "{key} is not in docs/configuration.md"
        );
    }
}

#[test]
fn default_values() {
    let c = ok("");
    assert_eq!(c.server.hostname, "mx.example");
    assert_eq!(c.server.cores, 2);
    assert_eq!(c.server.data_dir, std::path::PathBuf::from("./tern-data"));
    let addr: SocketAddr = "127.0.0.1:2525"
        .parse()
        .unwrap_or(SocketAddr::from(([0; 4], 1)));
    assert_eq!(
        c.listeners,
        [Listener {
            address: addr,
            mode: ListenerMode::Smtp,
            proxy_protocol: false
        }]
    );
    assert_eq!(
        c.limits,
        Limits {
            max_message_size: 35_000_000,
            max_recipients: 1000,
            max_connections_per_core: 1000,
            max_connections_per_ip: 100,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(180),
            max_bad_commands: 20,
            bare_newline: BareNewline::Reject,
        }
    );
    assert_eq!(
        c.relay
            .trusted_networks
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>(),
        ["127.0.0.0/8", "::1/128"]
    );
    assert!(c.relay.accept_domains.is_empty());
    assert_eq!(
        c.queue,
        Queue {
            segment_size: 64_000_000,
            max_disk_use: 10_000_000_000
        }
    );
}

#[test]
fn values_are_read() {
    let c = ok(r#"
[server]
hostname = "relay.example.org"
cores = 1
data_dir = "/var/lib/tern"

[[listener]]
address = "127.0.0.1:25"

[[listener]]
address = "[::1]:2525"

[limits]
max_message_size = 1048576
max_recipients = 100
command_timeout = 60
data_timeout = "250ms"
max_bad_commands = 1
bare_newline = "normalize"

[relay]
trusted_networks = ["10.0.0.0/8", "192.0.2.1"]
accept_domains = ["Example.COM"]

[queue]
segment_size = "1MiB"
max_disk_use = "2 MiB"
"#);
    assert_eq!(c.server.hostname, "relay.example.org");
    assert_eq!(c.server.cores, 1);
    assert_eq!(
        c.listeners
            .iter()
            .map(|l| l.address.to_string())
            .collect::<Vec<_>>(),
        ["127.0.0.1:25", "[::1]:2525"]
    );
    assert_eq!(c.limits.max_message_size, 1 << 20);
    assert_eq!(c.limits.command_timeout, Duration::from_secs(60));
    assert_eq!(c.limits.data_timeout, Duration::from_millis(250));
    assert_eq!(c.limits.bare_newline, BareNewline::Normalize);
    assert_eq!(c.relay.accept_domains, ["example.com"]);
    assert!(c.relay.is_trusted([192, 0, 2, 1].into()));
    assert!(!c.relay.is_trusted([192, 0, 2, 2].into()));
    assert_eq!(c.queue.segment_size, 1 << 20);
    assert_eq!(c.queue.max_disk_use, 2 << 20);
}

/// One row per way to be wrong; the whole line is compared, position and key included.
#[test]
fn error_table() {
    let table: &[(&str, &str)] = &[
        // Syntax.
        ("[limits\n", "t.toml:1:8: unclosed table, expected `]`"),
        ("a = 1\na = 2\n", "t.toml:2:1: duplicate key"),
        // Unknown keys, at every level.
        (
            "bogus = 1\n",
            "t.toml:1:1: bogus: unknown field `bogus`, expected one of `server`, `listener`, `limits`, `relay`, `queue`, `delivery`, `route`",
        ),
        (
            "[delivery]\nsmarthost = \"x\"\n",
            "t.toml:2:1: delivery.smarthost: unknown field `smarthost`, expected one of `retry_initial`, `retry_max`, `max_queue_lifetime`, `delay_warning`, `resolver`, `tls_roots`, `connect_timeout`, `command_timeout`, `idle_timeout`, `max_connections`, `max_connections_per_host`",
        ),
        (
            "[server]\n\n  hostnme = \"x\"\n",
            "t.toml:3:3: server.hostnme: unknown field `hostnme`, expected one of `hostname`, `cores`, `data_dir`",
        ),
        (
            "[[listener]]\naddress = \"127.0.0.1:25\"\ntls = true\n",
            "t.toml:3:1: listener[0].tls: unknown field `tls`, expected one of `address`, `mode`, `proxy_protocol`",
        ),
        (
            "limits.max_recipent = 5\n",
            "t.toml:1:8: limits.max_recipent: unknown field `max_recipent`, expected one of `max_message_size`, `max_recipients`, `max_connections_per_core`, `max_connections_per_ip`, `command_timeout`, `data_timeout`, `max_bad_commands`, `bare_newline`",
        ),
        // Wrong types.
        (
            "[limits]\nmax_recipients = \"many\"\n",
            "t.toml:2:18: limits.max_recipients: invalid type: string \"many\", expected a non-negative integer",
        ),
        (
            "[limits]\nmax_recipients = -1\n",
            "t.toml:2:18: limits.max_recipients: invalid value: integer `-1`, expected a non-negative integer",
        ),
        (
            "limits = 5\n",
            "t.toml:1:10: limits: invalid type: integer `5`, expected a [limits] table",
        ),
        (
            "[queue]\nsegment_size = true\n",
            "t.toml:2:16: queue.segment_size: invalid type: boolean `true`, expected a size such as \"35MB\" or \"64KiB\", or an integer number of bytes",
        ),
        (
            "[limits]\ndata_timeout = 1.5\n",
            "t.toml:2:16: limits.data_timeout: invalid type: floating point `1.5`, expected a duration such as \"30s\", \"5m\" or \"250ms\", or an integer number of seconds",
        ),
        (
            "[relay]\ntrusted_networks = \"10.0.0.0/8\"\n",
            "t.toml:2:20: relay.trusted_networks: invalid type: string \"10.0.0.0/8\", expected a sequence",
        ),
        (
            "[limits]\nbare_newline = \"strip\"\n",
            "t.toml:2:16: limits.bare_newline: unknown variant `strip`, expected `reject` or `normalize`",
        ),
        // Bad values.
        (
            "[limits]\ncommand_timeout = \"5 min\"\n",
            "t.toml:2:19: limits.command_timeout: unknown unit \"min\" in \"5 min\": expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")",
        ),
        (
            "[limits]\ncommand_timeout = \"0s\"\n",
            "t.toml:2:19: limits.command_timeout: must be greater than 0",
        ),
        (
            "[limits]\ncommand_timeout = -5\n",
            "t.toml:2:19: limits.command_timeout: -5 is negative; expected a duration",
        ),
        (
            "[limits]\nmax_message_size = \"35mb\"\n",
            "t.toml:2:20: limits.max_message_size: unknown unit \"mb\" in \"35mb\": expected a whole number and a unit: B, KB, MB, GB, TB (1000-based) or KiB, MiB, GiB, TiB (1024-based) (e.g. \"35MB\")",
        ),
        (
            "[limits]\nmax_message_size = 1000\n",
            "t.toml:2:20: limits.max_message_size: 1000 bytes is below the 64KiB (65536 bytes) that RFC 5321 4.5.3.1.7 requires a server to accept",
        ),
        (
            "[limits]\nmax_recipients = 99\n",
            "t.toml:2:18: limits.max_recipients: 99 is below the 100 recipients that RFC 5321 4.5.3.1.8 requires a server to accept",
        ),
        (
            "[limits]\nmax_connections_per_ip = 0\n",
            "t.toml:2:26: limits.max_connections_per_ip: must be greater than 0",
        ),
        (
            "[limits]\nmax_bad_commands = 0\n",
            "t.toml:2:20: limits.max_bad_commands: must be greater than 0",
        ),
        (
            "[server]\ncores = 3\n",
            "t.toml:2:9: server.cores: 3 cores requested but only 2 are available (0 means one per available core)",
        ),
        (
            "[server]\nhostname = \"mx.example.com.\"\n",
            "t.toml:2:12: server.hostname: invalid domain name \"mx.example.com.\": each dot-separated label must be 1-63 letters, digits or inner hyphens",
        ),
        (
            "[server]\ndata_dir = \"\"\n",
            "t.toml:2:12: server.data_dir: must not be empty",
        ),
        (
            "[relay]\ntrusted_networks = [\"127.0.0.0/8\",\n  \"10.0.0.1/8\"]\n",
            "t.toml:3:3: relay.trusted_networks[1]: invalid network \"10.0.0.1/8\": 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?",
        ),
        (
            "[relay]\naccept_domains = [\"exa mple.com\"]\n",
            "t.toml:2:19: relay.accept_domains[0]: invalid domain name \"exa mple.com\": each dot-separated label must be 1-63 letters, digits or inner hyphens",
        ),
        (
            "[queue]\nsegment_size = 0\n",
            "t.toml:2:16: queue.segment_size: must be greater than 0",
        ),
        (
            "[queue]\nsegment_size = \"1GB\"\nmax_disk_use = \"1GB\"\n",
            "t.toml:3:16: queue.max_disk_use: 1000000000 bytes is less than one segment (1000000000 bytes) for each of the 2 cores",
        ),
        // Listeners: not supported yet, unusable addresses, none at all.
        (
            "[[listener]]\naddress = \"127.0.0.1:25\"\n\n[[listener]]\naddress = \"127.0.0.1:465\"\nmode = \"smtps\"\n",
            "t.toml:6:8: listener[1].mode: mode \"smtps\" is not supported yet (it needs TLS and AUTH); use \"smtp\"",
        ),
        (
            "[[listener]]\nmode = \"submission\"\n",
            "t.toml:2:8: listener[0].mode: mode \"submission\" is not supported yet (it needs TLS and AUTH); use \"smtp\"",
        ),
        (
            "[[listener]]\nproxy_protocol = true\n",
            "t.toml:2:18: listener[0].proxy_protocol: the PROXY protocol is not supported yet; set proxy_protocol = false",
        ),
        (
            "[[listener]]\naddress = \"127.0.0.1\"\n",
            "t.toml:2:11: listener[0].address: invalid address \"127.0.0.1\": expected HOST:PORT, e.g. \"127.0.0.1:2525\" or \"[::1]:2525\"",
        ),
        (
            "[[listener]]\naddress = \"127.0.0.1:25\"\n[[listener]]\naddress = \"127.0.0.1:25\"\n",
            "t.toml:4:11: listener[1].address: 127.0.0.1:25 is already the address of listener[0]",
        ),
        // The second listener takes its default address: the error points at its table.
        (
            "[[listener]]\naddress = \"127.0.0.1:2525\"\n[[listener]]\nproxy_protocol = false\n",
            "t.toml:3:1: listener[1].address: 127.0.0.1:2525 is already the address of listener[0]",
        ),
        ("listener = []\n", "t.toml:1:12: listener: at least one [[listener]] is required"),
    ];
    for (text, want) in table {
        assert_eq!(
            check(text).map(|_| ()),
            Err(want.to_string()),
            "input {text:?}"
        );
    }
}

#[test]
fn error_parts_are_exposed() {
    let err = match parse_with("[limits]\nmax_recipients = 0\n", "t.toml", &host()) {
        Ok(_) => panic!("accepted max_recipients = 0"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ConfigErrorKind::Invalid);
    assert_eq!(err.origin(), "t.toml");
    assert_eq!(err.position(), Some((2, 18)));
    assert_eq!(err.key(), Some("limits.max_recipients"));
    assert_eq!(err.message(), "must be greater than 0");
}

#[test]
fn load_names_the_path() {
    let err = match load(Path::new("/nonexistent/tern.toml")) {
        Ok(_) => panic!("loaded a missing file"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ConfigErrorKind::Read);
    assert_eq!(
        err.to_string(),
        "/nonexistent/tern.toml: cannot read: No such file or directory (os error 2)"
    );
}

#[test]
fn delivery_defaults_and_values() {
    let c = ok("");
    assert_eq!(
        c.delivery,
        Delivery {
            schedule: tern_delivery::schedule::Schedule {
                retry_initial: Duration::from_secs(300),
                retry_max: Duration::from_secs(3600),
                max_queue_lifetime: Duration::from_secs(5 * 86_400),
                delay_warning: Duration::from_secs(4 * 3600),
            },
            connect_timeout: Duration::from_secs(30),
            command_timeout: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(5),
            max_connections: 100,
            max_connections_per_host: 10,
            resolver: SocketAddr::from(([192, 0, 2, 53], 53)),
            tls_roots: Vec::new(),
        }
    );
    assert!(c.routes.routes().is_empty());
    let c = ok("[delivery]\nretry_initial = \"1s\"\nretry_max = 2\n");
    assert_eq!(c.delivery.schedule.retry_initial, Duration::from_secs(1));
    assert_eq!(c.delivery.schedule.retry_max, Duration::from_secs(2));
}

#[test]
fn routes() {
    use tern_delivery::route::{DomainPattern, RouteAction};
    let c = ok(concat!(
        "[[route]]\ndomains = [\"Hold.example\"]\nhold = true\n",
        "[[route]]\ndomains = [\"*.example\", \"*\"]\n",
        "smarthost = [\"127.0.0.1:2526\", \"[::1]:2527\"]\n",
    ));
    let r = c.routes.routes();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].domains, [DomainPattern::Exact("hold.example".into())]);
    assert_eq!(r[0].action, RouteAction::Hold);
    assert_eq!(r[1].tls, tern_delivery::route::TlsMode::Opportunistic);
    let addrs: Vec<String> = match &r[1].action {
        RouteAction::Smarthost(a) => a.iter().map(|a| a.to_string()).collect(),
        other => panic!("{other:?}"),
    };
    assert_eq!(addrs, ["127.0.0.1:2526", "[::1]:2527"]);
    assert_eq!(c.routes.lookup("x.example").map(|(i, _)| i), Some(1));
    let c = ok("[[route]]\ndomains = [\"*\"]\nmx = true\n[[route]]\ndomains = [\"x\"]\nmx = true\nport = 2526\n[delivery]\nresolver = \"[::1]:5353\"\n");
    assert_eq!(c.routes.routes()[0].action, RouteAction::Mx { port: 25 });
    assert_eq!(c.routes.routes()[1].action, RouteAction::Mx { port: 2526 });
    assert_eq!(c.delivery.resolver.to_string(), "[::1]:5353");
    let c = ok("[[route]]\ndomains = [\"bad.example\"]\nreject = \"550 5.1.2 Not here\"\n");
    assert_eq!(
        c.routes.routes()[0].action,
        RouteAction::Reject(tern_proto::reply::Reply::new(
            550,
            Some(tern_proto::reply::Enhanced(5, 1, 2)),
            "Not here"
        ))
    );
}

#[test]
fn delivery_and_route_errors() {
    let table: &[(&str, &str)] = &[
        (
            "[delivery]\nretry_initial = \"1h\"\nretry_max = \"1m\"\n",
            "t.toml:3:13: delivery.retry_max: must not be less than delivery.retry_initial",
        ),
        (
            "[delivery]\nmax_connections = 0\n",
            "t.toml:2:19: delivery.max_connections: must be greater than 0",
        ),
        (
            "[[route]]\ndomains = []\nhold = true\n",
            "t.toml:2:11: route[0].domains: at least one domain pattern is required",
        ),
        (
            "[[route]]\ndomains = [\"a.*\"]\nhold = true\n",
            "t.toml:2:12: route[0].domains[0]: invalid domain pattern \"a.*\": expected \"*\", \"*.example.net\" or \"example.com\"",
        ),
        (
            "[[route]]\ndomains = [\"*\"]\n",
            "t.toml:1:1: route[0]: a route needs one of mx = true, smarthost = [\"HOST:PORT\", ...], hold = true or reject = \"550 ...\"",
        ),
        (
            "[[route]]\ndomains = [\"*\"]\nhold = true\nsmarthost = [\"127.0.0.1:25\"]\n",
            "t.toml:3:8: route[0].hold: a route takes only one of mx, smarthost, hold and reject",
        ),
        (
            "[[route]]\ndomains = [\"*\"]\nsmarthost = [\"127.0.0.1\"]\n",
            "t.toml:3:14: route[0].smarthost[0]: invalid address \"127.0.0.1\": expected HOST:PORT, e.g. \"127.0.0.1:2525\" or \"[::1]:2525\"",
        ),
        (
            "[[route]]\ndomains = [\"*\"]\nmx = true\nport = 0\n",
            "t.toml:4:8: route[0].port: must be a port number, 1-65535",
        ),
        (
            "[[route]]\ndomains = [\"*\"]\nhold = true\nport = 25\n",
            "t.toml:4:8: route[0].port: port is only for mx = true routes (a smarthost names its own ports)",
        ),
        (
            "[[route]]\ndomains = [\"*\"]\nmx = true\ntls = \"required\"\n",
            "t.toml:4:7: route[0].tls: tls = \"required\" needs trusted roots: set delivery.tls_roots to a PEM file",
        ),
        (
            "[[route]]\ndomains = [\"*\"]\nhold = true\ntls = \"opportunistic\"\n",
            "t.toml:4:7: route[0].tls: tls is only for mx and smarthost routes",
        ),
        (
            "[delivery]\ntls_roots = \"/nonexistent/roots.pem\"\n",
            "t.toml:2:13: delivery.tls_roots: cannot read \"/nonexistent/roots.pem\": No such file or directory (os error 2)",
        ),
        (
            "[delivery]\nresolver = \"localhost:53\"\n",
            "t.toml:2:12: delivery.resolver: invalid resolver \"localhost:53\": expected IP:PORT, e.g. \"127.0.0.1:53\" or \"[::1]:53\"",
        ),
        (
            "[[route]]\ndomains = [\"*\"]\nreject = \"250 fine\"\n",
            "t.toml:3:10: route[0].reject: invalid reply \"250 fine\": expected a reply such as \"550 5.1.2 Domain not served here\" (code 400-599)",
        ),
    ];
    for (text, want) in table {
        assert_eq!(check(text).err().as_deref(), Some(*want), "{text:?}");
    }
}
