//! The DNS exchange for MX delivery: one UDP query at a time to the configured resolver,
//! over glommio's `UdpSocket`, so a lookup never blocks the core. What the answers mean is
//! decided in [`crate::mx`].
//!
//! A truncated (TC) answer is used as far as it goes: MX and address answers for mail
//! hosts fit in 512 bytes in practice, and TCP fallback is not implemented.

use std::cell::Cell;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use glommio::net::UdpSocket;
use simple_dns::TYPE;
use tern_proto::reply::Reply;

use crate::mx::{self, AddrAnswer, MxAnswer};

/// How long to wait for one answer, and how many times to ask.
const TIMEOUT: Duration = Duration::from_secs(3);
const TRIES: usize = 2;

/// A stub resolver talking to one recursive resolver.
#[derive(Debug)]
pub(crate) struct Dns {
    server: SocketAddr,
    next_id: Cell<u16>,
}

impl Dns {
    pub(crate) fn new(server: SocketAddr) -> Dns {
        // Unpredictable-enough ids make a spoofed answer harder to land; the socket's random
        // source port does the rest.
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.subsec_nanos());
        Dns {
            server,
            next_id: Cell::new((seed ^ (seed >> 16)) as u16),
        }
    }

    /// Asks `name`/`qtype`; returns the answer bytes and the query id.
    async fn ask(&self, name: &str, qtype: TYPE) -> Result<(Vec<u8>, u16), String> {
        let id = self.next_id.get().wrapping_mul(25_173).wrapping_add(13_849);
        self.next_id.set(id);
        let query = mx::query(id, name, qtype)?;
        let local: SocketAddr = if self.server.is_ipv4() {
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            SocketAddr::from(([0u16; 8], 0))
        };
        let sock = UdpSocket::bind(local).map_err(|e| format!("cannot open a UDP socket: {e}"))?;
        sock.connect(self.server)
            .await
            .map_err(|e| format!("cannot reach the resolver {}: {e}", self.server))?;
        let _ = sock.set_read_timeout(Some(TIMEOUT));
        let mut buf = vec![0u8; 4096];
        for _ in 0..TRIES {
            if sock.send(&query).await.is_err() {
                continue;
            }
            // Skip stray datagrams until ours arrives or the timeout fires.
            while let Ok(n) = sock.recv(&mut buf).await {
                let got = &buf[..n];
                if got.len() >= 2 && u16::from_be_bytes([got[0], got[1]]) == id {
                    return Ok((got.to_vec(), id));
                }
            }
        }
        Err(format!(
            "no answer from the resolver {} for {name}",
            self.server
        ))
    }

    /// The addresses to try for mail to `domain`, in order, with the exchanger's name:
    /// each mail exchanger by preference, its IPv4 then IPv6 addresses, on `port`. `Err` is the reply that decides
    /// the recipients when there is none (null MX, no such domain, lookup failure).
    pub(crate) async fn mail_exchangers(
        &self,
        domain: &str,
        port: u16,
    ) -> Result<Vec<(String, SocketAddr)>, Reply> {
        let answer = match self.ask(domain, TYPE::MX).await {
            Ok((bytes, id)) => mx::parse_mx(&bytes, id),
            Err(e) => MxAnswer::TempFail(e),
        };
        if let Some(reply) = mx::mx_failure(domain, &answer) {
            return Err(reply);
        }
        let hosts = match answer {
            MxAnswer::Hosts(h) => h,
            _ => vec![domain.to_owned()],
        };
        let mut addrs = Vec::new();
        let mut temp = None;
        for host in &hosts {
            for qtype in [TYPE::A, TYPE::AAAA] {
                let answer = match self.ask(host, qtype).await {
                    Ok((bytes, id)) => mx::parse_addrs(&bytes, id),
                    Err(e) => AddrAnswer::TempFail(e),
                };
                match answer {
                    AddrAnswer::Found(ips) => {
                        addrs.extend(
                            ips.into_iter()
                                .map(|ip| (host.clone(), SocketAddr::new(ip, port))),
                        );
                    }
                    AddrAnswer::NoSuchDomain => {}
                    AddrAnswer::TempFail(e) => temp = Some(e),
                }
            }
        }
        addrs.dedup();
        if addrs.is_empty() {
            return Err(mx::no_address(domain, temp.as_deref()));
        }
        Ok(addrs)
    }
}
