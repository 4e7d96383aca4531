//! Runs the real `tern` binary: `check-config` on files in a temporary directory, and the
//! command-line contract (exit codes, one-line errors on stderr, nothing on stdout).

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{tern, Dir};

/// A temporary directory holding one config file, deleted at the end of the test.
struct ConfigFile {
    _dir: Dir,
    path: PathBuf,
}

impl ConfigFile {
    fn new(text: &str) -> ConfigFile {
        let dir = Dir::new();
        let path = dir.write("tern.toml", text);
        ConfigFile { _dir: dir, path }
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }
}

fn check_config(path: &Path) -> Output {
    let path = path.to_string_lossy();
    tern(&["check-config", &path])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Asserts that `check-config` failed with exit code 2, printed nothing on stdout, and
/// printed exactly `want` as a single line on stderr.
fn assert_error(text_of_file: &str, want: impl Fn(&str) -> String) {
    let file = ConfigFile::new(text_of_file);
    let out = check_config(&file.path);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), format!("{}\n", want(&file.shown())));
}

#[test]
fn good_file_is_ok() {
    let file = ConfigFile::new(
        r#"
[server]
hostname = "mx.example.com"
cores = 1

[[listener]]
address = "127.0.0.1:2525"

[limits]
max_message_size = "50MiB"
command_timeout = "2m"

[relay]
trusted_networks = ["10.0.0.0/8"]
accept_domains = ["example.com"]
"#,
    );
    let out = check_config(&file.path);
    assert_eq!(text(&out.stderr), "");
    assert_eq!(text(&out.stdout), format!("{}: ok\n", file.shown()));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn shipped_default_is_ok() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/tern.toml");
    let out = check_config(&path);
    assert_eq!(text(&out.stderr), "");
    assert_eq!(text(&out.stdout), format!("{}: ok\n", path.display()));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn unknown_key() {
    assert_error("[limits]\nmax_recipient = 10\n", |f| {
        format!("{f}:2:1: limits.max_recipient: unknown field `max_recipient`, expected one of `max_message_size`, `max_recipients`, `max_connections_per_core`, `max_connections_per_ip`, `command_timeout`, `data_timeout`, `max_bad_commands`, `bare_newline`")
    });
}

#[test]
fn unknown_section() {
    assert_error("[metrics]\naddress = \"127.0.0.1:9090\"\n", |f| {
        format!("{f}:1:2: metrics: unknown field `metrics`, expected one of `server`, `listener`, `limits`, `relay`, `queue`, `delivery`, `route`")
    });
}

#[test]
fn bad_type() {
    assert_error("[server]\ncores = \"two\"\n", |f| {
        format!(
            "{f}:2:9: server.cores: invalid type: string \"two\", expected a non-negative integer"
        )
    });
}

#[test]
fn bad_duration() {
    assert_error("[limits]\ndata_timeout = \"3 minutes\"\n", |f| {
        format!("{f}:2:16: limits.data_timeout: unknown unit \"minutes\" in \"3 minutes\": expected a whole number and a unit: ms, s, m or h (e.g. \"30s\")")
    });
}

#[test]
fn bad_size() {
    assert_error("[queue]\nsegment_size = \"1.5GB\"\n", |f| {
        format!("{f}:2:16: queue.segment_size: unknown unit \".5GB\" in \"1.5GB\": expected a whole number and a unit: B, KB, MB, GB, TB (1000-based) or KiB, MiB, GiB, TiB (1024-based) (e.g. \"35MB\")")
    });
}

#[test]
fn bad_cidr() {
    assert_error(
        "[relay]\ntrusted_networks = [\"127.0.0.0/8\", \"192.168.1.0/33\"]\n",
        |f| {
            format!("{f}:2:36: relay.trusted_networks[1]: invalid network \"192.168.1.0/33\": prefix length /33 is longer than 32 bits")
        },
    );
}

#[test]
fn zero_limit() {
    assert_error("[limits]\nmax_connections_per_core = 0\n", |f| {
        format!("{f}:2:28: limits.max_connections_per_core: must be greater than 0")
    });
}

#[test]
fn unsupported_mode() {
    assert_error(
        "[[listener]]\naddress = \"127.0.0.1:587\"\nmode = \"submission\"\n",
        |f| {
            format!("{f}:3:8: listener[0].mode: mode \"submission\" is not supported yet (it needs TLS and AUTH); use \"smtp\"")
        },
    );
}

#[test]
fn unsupported_proxy_protocol() {
    assert_error("[[listener]]\nproxy_protocol = true\n", |f| {
        format!("{f}:2:18: listener[0].proxy_protocol: the PROXY protocol is not supported yet; set proxy_protocol = false")
    });
}

/// The resolver's own reason ends the line and depends on the machine's resolver (no
/// such name, or no DNS at all), so only the part tern writes is compared exactly.
#[test]
fn unresolvable_address() {
    let file = ConfigFile::new("[[listener]]\naddress = \"no-such-host.invalid:2525\"\n");
    let out = check_config(&file.path);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    let stderr = text(&out.stderr);
    let prefix = format!(
        "{}:2:11: listener[0].address: cannot resolve \"no-such-host.invalid\": ",
        file.shown()
    );
    assert!(stderr.starts_with(&prefix), "stderr: {stderr:?}");
    assert!(
        stderr.len() > prefix.len() + 1,
        "no reason given: {stderr:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr:?}");
    assert!(stderr.ends_with('\n'));
}

#[test]
fn syntax_error() {
    assert_error("[limits\nmax_recipients = 100\n", |f| {
        format!("{f}:1:8: unclosed table, expected `]`")
    });
}

#[test]
fn missing_file() {
    let dir = Dir::new();
    let path = dir.path().join("absent.toml");
    let out = check_config(&path);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        format!(
            "{}: cannot read: No such file or directory (os error 2)\n",
            path.display()
        )
    );
}

#[test]
fn help_and_version() {
    let out = tern(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert!(
        help.starts_with("tern: a high-performance SMTP relay\n"),
        "{help}"
    );
    assert!(help.contains("usage: tern check-config FILE\n"), "{help}");

    let out = tern(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        format!("tern {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["--frobnicate"][..],
        &["check-config"][..],
        &["serve", "--verbose"][..],
        &["queue", "purge"][..],
    ] {
        let out = tern(args);
        assert_eq!(out.status.code(), Some(2), "args {args:?}");
        assert_eq!(text(&out.stdout), "", "args {args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("tern: "), "args {args:?}: {stderr}");
        assert!(
            stderr.contains("\nusage: tern check-config FILE\n"),
            "{stderr}"
        );
    }
    let out = tern(&["--frobnicate"]);
    assert!(text(&out.stderr).starts_with("tern: unexpected argument \"--frobnicate\"\nusage:"));
}

#[test]
fn serve_and_queue_report_a_missing_config_file() {
    for args in [
        &["serve", "--config", "missing.toml"][..],
        &["queue", "list", "--config", "missing.toml"][..],
        &["queue", "show", "0-1-2", "--config", "missing.toml"][..],
    ] {
        let out = tern(args);
        assert_eq!(out.status.code(), Some(2), "args {args:?}");
        assert_eq!(text(&out.stdout), "");
        assert!(
            text(&out.stderr).starts_with("missing.toml: cannot read"),
            "args {args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn shipped_examples_are_ok() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let out = check_config(&path);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {}",
                path.display(),
                text(&out.stderr)
            );
            seen += 1;
        }
    }
    assert!(seen > 0, "no example in {}", dir.display());
}
