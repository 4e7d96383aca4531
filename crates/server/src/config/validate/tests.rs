use super::*;

#[test]
fn domains() {
    let table: &[(&str, bool)] = &[
        ("example.com", true),
        ("mx1.example.com", true),
        ("EXAMPLE.com", true),
        ("localhost", true),
        ("xn--bcher-kva.example", true),
        ("a-b.c", true),
        ("", false),
        ("example.com.", false),
        (".example.com", false),
        ("ex..ample", false),
        ("-a.example", false),
        ("a-.example", false),
        ("under_score.example", false),
        ("bücher.example", false),
        ("[127.0.0.1]", false),
        ("host name", false),
    ];
    for (name, ok) in table {
        assert_eq!(check_domain(name).is_ok(), *ok, "{name:?}");
    }
    let long_label = "a".repeat(64);
    assert!(check_domain(&long_label).is_err());
    assert!(check_domain(&"a".repeat(63)).is_ok());
    let long_name = vec!["a".repeat(63); 4].join(".");
    assert_eq!(long_name.len(), 255);
    assert_eq!(
        check_domain(&long_name),
        Err("domain name is 255 characters long; the limit is 253".to_owned())
    );
}

#[test]
fn resolve_table() {
    let table: &[(&str, Result<&[&str], &str>)] = &[
        ("127.0.0.1:2525", Ok(&["127.0.0.1:2525"])),
        ("[::1]:25", Ok(&["[::1]:25"])),
        ("0.0.0.0:25", Ok(&["0.0.0.0:25"])),
        (
            "127.0.0.1",
            Err("invalid address \"127.0.0.1\": expected HOST:PORT, e.g. \"127.0.0.1:2525\" or \"[::1]:2525\""),
        ),
        (
            "127.0.0.1:99999",
            Err("invalid port in \"127.0.0.1:99999\": expected HOST:PORT, e.g. \"127.0.0.1:2525\" or \"[::1]:2525\""),
        ),
        (
            "::1:25",
            Err("invalid address \"::1:25\": expected HOST:PORT, e.g. \"127.0.0.1:2525\" or \"[::1]:2525\""),
        ),
        (
            ":25",
            Err("invalid address \":25\": expected HOST:PORT, e.g. \"127.0.0.1:2525\" or \"[::1]:2525\""),
        ),
        (
            "127.0.0.1:0",
            Err("port 0 in 127.0.0.1:0 is not supported: every core must bind the same, fixed port"),
        ),
    ];
    for (input, want) in table {
        let got = resolve(input).map(|v| v.iter().map(|a| a.to_string()).collect::<Vec<_>>());
        let want = want
            .map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .map_err(str::to_string);
        assert_eq!(got, want, "input {input:?}");
    }
}

fn host(cores: usize, hostname: Option<&str>) -> Host {
    Host {
        available_cores: cores,
        hostname: hostname.map(str::to_owned),
        nameserver: None,
        ca_bundle: None,
    }
}

#[test]
fn resolv_conf() {
    let text =
        "# comment\nsearch example\nnameserver bogus\nnameserver 192.0.2.53\nnameserver ::1\n";
    assert_eq!(first_nameserver(text), Some(IpAddr::from([192, 0, 2, 53])));
    assert_eq!(first_nameserver("search x\n"), None);
}

#[test]
fn cores_resolve_against_available() {
    let mut file = FileConfig::default();
    let h = host(4, Some("mx.example"));
    let cores = |file: &FileConfig| validate(file, &h).map(|c| c.server.cores);
    assert_eq!(cores(&file), Ok(4));
    file.server.cores = 3;
    assert_eq!(cores(&file), Ok(3));
    file.server.cores = 5;
    assert_eq!(
        cores(&file).map_err(|e| (e.path.to_string(), e.message)),
        Err((
            "server.cores".to_owned(),
            "5 cores requested but only 4 are available (0 means one per available core)"
                .to_owned()
        ))
    );
}

#[test]
fn hostname_falls_back_only_when_unreadable() {
    let file = FileConfig::default();
    let name = |h: &Host| validate(&file, h).map(|c| c.server.hostname);
    assert_eq!(
        name(&host(1, Some("mx.example"))),
        Ok("mx.example".to_owned())
    );
    assert_eq!(name(&host(1, None)), Ok("localhost".to_owned()));
    assert_eq!(
        name(&host(1, Some("bad_name"))).map_err(|e| e.message),
        Err("not set, and the system hostname \"bad_name\" cannot be used: invalid domain name \"bad_name\": each dot-separated label must be 1-63 letters, digits or inner hyphens".to_owned())
    );
    let mut set = FileConfig::default();
    set.server.hostname = Some("relay.example.org".to_owned());
    assert_eq!(
        validate(&set, &host(1, Some("bad_name"))).map(|c| c.server.hostname),
        Ok("relay.example.org".to_owned())
    );
}

#[test]
fn disk_budget_covers_a_segment_per_core() {
    let mut file = FileConfig::default();
    file.queue.segment_size = SizeValue::Text("1MB".to_owned());
    file.queue.max_disk_use = SizeValue::Bytes(4_000_000);
    assert!(validate(&file, &host(4, None)).is_ok());
    assert_eq!(
        validate(&file, &host(5, None)).map_err(|e| (e.path.to_string(), e.message)),
        Err((
            "queue.max_disk_use".to_owned(),
            "4000000 bytes is less than one segment (1000000 bytes) for each of the 5 cores"
                .to_owned()
        ))
    );
}

#[test]
fn relay_helpers() {
    let mut file = FileConfig::default();
    file.relay.accept_domains = vec!["Example.ORG".to_owned()];
    let config = match validate(&file, &host(1, None)) {
        Ok(c) => c,
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(config.relay.accept_domains, ["example.org"]);
    assert!(config.relay.accepts_domain("EXAMPLE.org"));
    assert!(!config.relay.accepts_domain("example.com"));
    assert!(config
        .relay
        .is_trusted("127.0.0.2".parse().unwrap_or(IpAddr::from([0; 4]))));
    assert!(config
        .relay
        .is_trusted("::1".parse().unwrap_or(IpAddr::from([0; 4]))));
    assert!(!config.relay.is_trusted(IpAddr::from([192, 0, 2, 1])));
}
