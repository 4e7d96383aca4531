//! A raw SMTP client over `std::net::TcpStream` that reads whole replies, for tests that
//! assert exact reply bytes ([`Client::cmd`]) and for those that only need a reply's class
//! while they drive mail through tern ([`Client::cmd_class`]).

use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};

use super::{find, queued_id, HOST, REPLY_TIMEOUT};

/// A raw SMTP client; every read waits at most [`REPLY_TIMEOUT`].
pub struct Client {
    pub stream: TcpStream,
    /// The server's hostname, which [`Client::ehlo`] expects in the EHLO reply.
    pub host: String,
    buf: Vec<u8>,
}

impl Client {
    /// Connects from 127.0.0.1 without reading the greeting.
    pub fn connect(addr: SocketAddr) -> Client {
        match TcpStream::connect_timeout(&addr, REPLY_TIMEOUT) {
            Ok(s) => Client::wrap(s),
            Err(e) => panic!("connect {addr}: {e}"),
        }
    }

    /// Connects from a chosen local address (any of 127/8 works on Linux loopback).
    pub fn connect_from(local: IpAddr, addr: SocketAddr) -> Client {
        use socket2::{Domain, Socket, Type};
        let s =
            Socket::new(Domain::IPV4, Type::STREAM, None).unwrap_or_else(|e| panic!("socket: {e}"));
        s.bind(&SocketAddr::new(local, 0).into())
            .unwrap_or_else(|e| panic!("bind {local}: {e}"));
        s.connect_timeout(&addr.into(), REPLY_TIMEOUT)
            .unwrap_or_else(|e| panic!("connect {addr} from {local}: {e}"));
        Client::wrap(s.into())
    }

    /// A client over a stream connected elsewhere.
    pub fn from_stream(stream: TcpStream) -> Client {
        Client::wrap(stream)
    }

    fn wrap(stream: TcpStream) -> Client {
        let _ = stream.set_nodelay(true);
        if let Err(e) = stream.set_read_timeout(Some(REPLY_TIMEOUT)) {
            panic!("set_read_timeout: {e}");
        }
        Client {
            stream,
            host: HOST.to_owned(),
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        if let Err(e) = self.stream.write_all(bytes.as_ref()) {
            panic!("write: {e}");
        }
    }

    /// Sends, reporting failure instead of panicking (for clients of a server that may
    /// be killed under them).
    pub fn try_send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Reads one whole reply (every line up to `ddd SP` or a bare `ddd`), as text.
    pub fn reply(&mut self) -> String {
        match self.try_reply() {
            Ok(r) => r,
            Err(e) => panic!("{e}; read so far: {:?}", String::from_utf8_lossy(&self.buf)),
        }
    }

    /// Like [`Client::reply`] but reports a closed or failed connection as an error.
    pub fn try_reply(&mut self) -> Result<String, String> {
        let mut scanned = 0;
        loop {
            while let Some(i) = find(&self.buf[scanned..], b"\r\n") {
                let line_end = scanned + i + 2;
                let line = &self.buf[scanned..line_end - 2];
                scanned = line_end;
                if line.len() < 3 || line.get(3) == Some(&b'-') {
                    continue;
                }
                let reply: Vec<u8> = self.buf.drain(..line_end).collect();
                return String::from_utf8(reply).map_err(|e| format!("reply not UTF-8: {e}"));
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err("connection closed before a whole reply".into()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
    }

    /// Reads `n` replies and returns them concatenated.
    pub fn replies(&mut self, n: usize) -> String {
        (0..n).map(|_| self.reply()).collect()
    }

    /// Reads one reply and checks it byte for byte.
    pub fn expect(&mut self, want: &str) {
        let got = self.reply();
        assert_eq!(got, want);
    }

    /// Sends a command line and checks the reply byte for byte.
    pub fn cmd(&mut self, line: &str, want: &str) {
        self.send(format!("{line}\r\n"));
        self.expect(want);
    }

    /// Reads one reply, checks that it starts with `class` (`"2"`, `"25"`, `"550"`) and
    /// returns it.
    pub fn expect_class(&mut self, class: &str) -> String {
        let got = self.reply();
        assert!(got.starts_with(class), "expected {class}xx, got {got:?}");
        got
    }

    /// Sends a command line, checks the reply's class and returns the reply.
    pub fn cmd_class(&mut self, line: &str, class: &str) -> String {
        self.send(format!("{line}\r\n"));
        self.expect_class(class)
    }

    /// EHLO, checking only that it succeeded.
    pub fn ehlo(&mut self) {
        self.send("EHLO client.test\r\n");
        let r = self.reply();
        let want = format!("250-{} greets client.test\r\n", self.host);
        assert!(r.starts_with(&want), "{r}");
    }

    /// QUIT, checking that the server said goodbye.
    pub fn quit(mut self) {
        self.cmd_class("QUIT", "221");
    }

    /// Asserts that the server closes the connection (EOF or reset) with nothing more to
    /// say, within the reply timeout.
    pub fn expect_closed(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unread bytes before close: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(n) => panic!(
                    "expected close, got {:?}",
                    String::from_utf8_lossy(&chunk[..n])
                ),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return,
                Err(e) => panic!("expected close, got error {e}"),
            }
        }
    }

    /// MAIL, RCPT, DATA and the body (already dot-stuffed, ending in CRLF), one command at
    /// a time, each reply checked byte for byte; returns the queue id.
    pub fn send_message(&mut self, from: &str, to: &[&str], wire_body: &[u8]) -> String {
        self.cmd(&format!("MAIL FROM:<{from}>"), "250 2.1.0 Sender ok\r\n");
        for rcpt in to {
            self.cmd(&format!("RCPT TO:<{rcpt}>"), "250 2.1.5 Recipient ok\r\n");
        }
        self.cmd("DATA", "354 2.0.0 End data with <CR><LF>.<CR><LF>\r\n");
        self.send(wire_body);
        self.send(".\r\n");
        queued_id(&self.reply())
    }

    /// One transaction from whole command lines (`MAIL FROM:<a@b> BODY=8BITMIME`, `RCPT
    /// TO:<c@d> NOTIFY=DELAY`), for tests about what tern does with ESMTP parameters
    /// rather than with its replies: checks only each reply's class. `wire` is the body
    /// already dot-stuffed, ending in CRLF, without the final dot. Returns the reply to
    /// the end of data.
    pub fn send_transaction(&mut self, mail: &str, rcpts: &[&str], wire: &[u8]) -> String {
        self.cmd_class(mail, "2");
        for r in rcpts {
            self.cmd_class(r, "2");
        }
        self.cmd_class("DATA", "3");
        self.send(wire);
        self.send(".\r\n");
        self.expect_class("2")
    }
}

/// Dot-stuffs a CRLF message for DATA (RFC 5321 4.5.2).
pub fn dot_stuff(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 16);
    let mut line_start = true;
    for &b in message {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = b == b'\n';
    }
    out
}
