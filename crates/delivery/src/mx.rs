//! MX resolution, the pure half: DNS queries to send and what their answers mean for
//! delivery (RFC 5321 section 5, RFC 7505 null MX). The UDP exchange is in `dns.rs`.
//!
//! The rules:
//!
//! - MX records are tried by preference, lowest first (equal preferences in the order the
//!   resolver gave them);
//! - a domain with no MX record (but which exists) is its own mail exchanger: its A/AAAA
//!   addresses are used (the "implicit MX" of RFC 5321 5.1);
//! - a single MX record with preference 0 and the root name `.` as exchange is a null MX
//!   (RFC 7505): the domain takes no mail, so the recipient fails with `556 5.1.10`;
//! - a domain that does not exist (NXDOMAIN) fails with `550 5.1.2`;
//! - a server failure or timeout defers with `451 4.4.3`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use simple_dns::rdata::RData;
use simple_dns::{Name, Packet, PacketFlag, Question, CLASS, RCODE, TYPE};
use tern_proto::reply::{Enhanced, Reply};

/// RFC 7505 3.2: mail to a domain that publishes a null MX.
pub const NULL_MX: Reply = Reply::fixed(
    556,
    Enhanced(5, 1, 10),
    "Recipient address has null MX: the domain accepts no mail",
);

/// What an MX query said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MxAnswer {
    /// Mail exchangers, most preferred first.
    Hosts(Vec<String>),
    /// The domain exists and has no MX: deliver to its own addresses.
    Implicit,
    /// RFC 7505 null MX.
    Null,
    /// The domain does not exist.
    NoSuchDomain,
    /// The lookup failed for now (server failure, malformed or mismatched answer).
    TempFail(String),
}

/// What an A or AAAA query said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrAnswer {
    /// The addresses (possibly none: NODATA).
    Found(Vec<IpAddr>),
    /// The name does not exist.
    NoSuchDomain,
    /// The lookup failed for now.
    TempFail(String),
}

/// Encodes a recursive query for `name` of type `qtype` (MX, A or AAAA).
pub fn query(id: u16, name: &str, qtype: TYPE) -> Result<Vec<u8>, String> {
    let mut p = Packet::new_query(id);
    p.set_flags(PacketFlag::RECURSION_DESIRED);
    let qname = Name::new(name).map_err(|e| format!("invalid name {name:?}: {e}"))?;
    p.questions
        .push(Question::new(qname, qtype.into(), CLASS::IN.into(), false));
    p.build_bytes_vec()
        .map_err(|e| format!("cannot encode a query for {name:?}: {e}"))
}

/// Parses a response to query `id`; `Err` is a temporary failure. NXDOMAIN is `Ok(None)`.
fn response(bytes: &[u8], id: u16) -> Result<Option<Packet<'_>>, String> {
    let p = Packet::parse(bytes).map_err(|e| format!("malformed DNS answer: {e}"))?;
    if p.id() != id {
        return Err("DNS answer for another query".to_owned());
    }
    match p.rcode() {
        RCODE::NoError => Ok(Some(p)),
        RCODE::NameError => Ok(None),
        other => Err(format!("DNS server answered {other:?}")),
    }
}

/// Reads the answer to an MX query.
pub fn parse_mx(bytes: &[u8], id: u16) -> MxAnswer {
    let p = match response(bytes, id) {
        Err(e) => return MxAnswer::TempFail(e),
        Ok(None) => return MxAnswer::NoSuchDomain,
        Ok(Some(p)) => p,
    };
    let mut mx: Vec<(u16, String)> = p
        .answers
        .iter()
        .filter_map(|rr| match &rr.rdata {
            RData::MX(m) => Some((m.preference, m.exchange.to_string())),
            _ => None,
        })
        .collect();
    if mx.is_empty() {
        return MxAnswer::Implicit;
    }
    if mx.len() == 1 && mx[0].1.trim_end_matches('.').is_empty() {
        return MxAnswer::Null;
    }
    // A root exchange among real ones is a misconfiguration; the real ones still count.
    mx.retain(|(_, host)| !host.trim_end_matches('.').is_empty());
    mx.sort_by_key(|(pref, _)| *pref);
    MxAnswer::Hosts(mx.into_iter().map(|(_, h)| h).collect())
}

/// Reads the answer to an A or AAAA query.
pub fn parse_addrs(bytes: &[u8], id: u16) -> AddrAnswer {
    let p = match response(bytes, id) {
        Err(e) => return AddrAnswer::TempFail(e),
        Ok(None) => return AddrAnswer::NoSuchDomain,
        Ok(Some(p)) => p,
    };
    AddrAnswer::Found(
        p.answers
            .iter()
            .filter_map(|rr| match &rr.rdata {
                RData::A(a) => Some(IpAddr::V4(Ipv4Addr::from(a.address))),
                RData::AAAA(a) => Some(IpAddr::V6(Ipv6Addr::from(a.address))),
                _ => None,
            })
            .collect(),
    )
}

/// The reply for a domain whose mail exchangers have no usable address: temporary if any
/// lookup failed for now, else permanent.
pub fn no_address(domain: &str, temp: Option<&str>) -> Reply {
    match temp {
        Some(why) => Reply::new(
            451,
            Some(Enhanced(4, 4, 3)),
            format!("Cannot resolve the mail exchangers of {domain}: {why}"),
        ),
        None => Reply::new(
            550,
            Some(Enhanced(5, 4, 4)),
            format!("No address for any mail exchanger of {domain}"),
        ),
    }
}

/// The reply for an MX answer that ends the lookup: null MX, no such domain, temporary
/// failure. `None` for the answers that give hosts to resolve.
pub fn mx_failure(domain: &str, answer: &MxAnswer) -> Option<Reply> {
    match answer {
        MxAnswer::Null => Some(NULL_MX),
        MxAnswer::NoSuchDomain => Some(Reply::new(
            550,
            Some(Enhanced(5, 1, 2)),
            format!("Recipient domain {domain} does not exist"),
        )),
        MxAnswer::TempFail(why) => Some(no_address(domain, Some(why))),
        MxAnswer::Hosts(_) | MxAnswer::Implicit => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use simple_dns::rdata::{A, AAAA, MX};
    use simple_dns::ResourceRecord;

    fn answer(id: u16, rcode: RCODE, rdata: Vec<RData<'static>>) -> Vec<u8> {
        let mut p = Packet::new_reply(id);
        *p.rcode_mut() = rcode;
        for r in rdata {
            p.answers.push(ResourceRecord::new(
                Name::new_unchecked("example.net"),
                CLASS::IN,
                60,
                r,
            ));
        }
        p.build_bytes_vec().unwrap_or_default()
    }

    fn mx(pref: u16, host: &'static str) -> RData<'static> {
        RData::MX(MX {
            preference: pref,
            exchange: Name::new_unchecked(host),
        })
    }

    #[test]
    fn mx_answers() {
        let table: Vec<(Vec<u8>, MxAnswer)> = vec![
            (
                answer(
                    7,
                    RCODE::NoError,
                    vec![
                        mx(20, "b.example.net"),
                        mx(10, "a.example.net"),
                        mx(20, "c.example.net"),
                    ],
                ),
                MxAnswer::Hosts(vec![
                    "a.example.net".into(),
                    "b.example.net".into(),
                    "c.example.net".into(),
                ]),
            ),
            (answer(7, RCODE::NoError, vec![]), MxAnswer::Implicit),
            (answer(7, RCODE::NoError, vec![mx(0, "")]), MxAnswer::Null),
            (
                answer(7, RCODE::NoError, vec![mx(0, ""), mx(5, "a.example.net")]),
                MxAnswer::Hosts(vec!["a.example.net".into()]),
            ),
            (answer(7, RCODE::NameError, vec![]), MxAnswer::NoSuchDomain),
            (
                answer(7, RCODE::ServerFailure, vec![]),
                MxAnswer::TempFail("DNS server answered ServerFailure".into()),
            ),
            (
                answer(8, RCODE::NoError, vec![mx(1, "a.example.net")]),
                MxAnswer::TempFail("DNS answer for another query".into()),
            ),
        ];
        for (bytes, want) in table {
            assert_eq!(parse_mx(&bytes, 7), want);
        }
        assert!(matches!(parse_mx(b"\x00\x07", 7), MxAnswer::TempFail(_)));
    }

    #[test]
    fn addr_answers_and_replies() {
        let bytes = answer(
            3,
            RCODE::NoError,
            vec![
                RData::A(A {
                    address: 0x7f00_0001,
                }),
                RData::AAAA(AAAA { address: 1 }),
            ],
        );
        assert_eq!(
            parse_addrs(&bytes, 3),
            AddrAnswer::Found(vec![
                IpAddr::from([127, 0, 0, 1]),
                IpAddr::V6(Ipv6Addr::LOCALHOST)
            ])
        );
        assert_eq!(
            parse_addrs(&answer(3, RCODE::NameError, vec![]), 3),
            AddrAnswer::NoSuchDomain
        );
        let r = |a: &MxAnswer| mx_failure("x.example", a).map(|r| r.to_string());
        assert_eq!(
            r(&MxAnswer::Null).as_deref(),
            Some("556 5.1.10 Recipient address has null MX: the domain accepts no mail\r\n")
        );
        assert_eq!(
            r(&MxAnswer::NoSuchDomain).as_deref(),
            Some("550 5.1.2 Recipient domain x.example does not exist\r\n")
        );
        assert_eq!(
            r(&MxAnswer::TempFail("t".into())).as_deref(),
            Some("451 4.4.3 Cannot resolve the mail exchangers of x.example: t\r\n")
        );
        assert_eq!(r(&MxAnswer::Implicit), None);
        assert_eq!(
            no_address("x.example", None).to_string(),
            "550 5.4.4 No address for any mail exchanger of x.example\r\n"
        );
    }

    #[test]
    fn queries_round_trip() {
        let q = query(0x1234, "example.net", TYPE::MX).unwrap_or_default();
        let p = Packet::parse(&q).map_err(|e| e.to_string());
        let p = match p {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(p.id(), 0x1234);
        assert!(p.has_flags(PacketFlag::RECURSION_DESIRED));
        assert_eq!(p.questions.len(), 1);
        assert_eq!(p.questions[0].qname.to_string(), "example.net");
        assert!(query(1, &format!("{}.example", "a".repeat(64)), TYPE::A).is_err());
    }
}
