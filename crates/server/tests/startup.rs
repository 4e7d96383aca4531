//! `tern serve` when it cannot start: a bad config file and a port already taken both end
//! the process with exit status 2 and one line on stderr, before it claims to be ready.

mod common;

use std::net::TcpListener;

use common::{Dir, Tern, EXIT_TIMEOUT};

#[test]
fn serve_with_a_bad_config_exits_2() {
    let dir = Dir::new();
    let path = dir.path().join("bad.toml");
    if let Err(e) = std::fs::write(&path, "[limits]\nmax_recipients = 10\n") {
        panic!("write: {e}");
    }
    let out = common::tern(&["serve".as_ref(), "--config".as_ref(), path.as_os_str()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("max_recipients"), "{stderr}");
    // Nothing was created: the config is checked before the data_dir is touched.
    assert!(!dir.data_dir().exists());
}

#[test]
fn serve_on_a_port_in_use_exits_2() {
    let dir = Dir::new();
    // A plain std listener has no SO_REUSEPORT, so tern's SO_REUSEPORT bind must fail
    // instead of sharing the port with a stranger.
    let squatter = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => panic!("bind: {e}"),
    };
    let port = squatter.local_addr().map_or(0, |a| a.port());
    let mut settings = dir.config(2, "");
    let text = match std::fs::read_to_string(&settings.path) {
        Ok(t) => t,
        Err(e) => panic!("read config: {e}"),
    };
    let text = text.replace(&format!(":{}\"", settings.port), &format!(":{port}\""));
    if let Err(e) = std::fs::write(&settings.path, text) {
        panic!("write config: {e}");
    }
    settings.port = port;
    let mut tern = Tern::spawn(settings);
    let status = tern.wait_exit(EXIT_TIMEOUT);
    let stderr = tern.stderr();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("tern: ready"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("tern: cannot listen on 127.0.0.1:{port}: ")),
        "{stderr}"
    );
    drop(squatter);
}
