//! IP networks in CIDR notation (`"127.0.0.0/8"`, `"::1/128"`) for `relay.trusted_networks`.
//!
//! Small on purpose: parse, display, and ask whether an address is inside. The relay check
//! runs once per connection, so a linear scan over a handful of networks is all it needs.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An IPv4 or IPv6 network: an address whose host bits are zero, and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// Why a CIDR string was refused. The text is written for the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpNetError(String);

impl fmt::Display for IpNetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IpNetError {}

impl IpNet {
    /// Builds a network from an address and a prefix length. Fails if the prefix is longer
    /// than the address or if host bits are set (`10.1.2.3/8`): such a network is usually a
    /// typo for either a host or a wider network, and guessing which would silently trust
    /// the wrong clients.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<IpNet, IpNetError> {
        let max = max_prefix(addr);
        if prefix > max {
            return Err(IpNetError(format!(
                "prefix length /{prefix} is longer than {max} bits"
            )));
        }
        let net = IpNet { addr, prefix };
        let masked = net.network();
        if masked != addr {
            return Err(IpNetError(format!(
                "{addr}/{prefix} has host bits set; did you mean {masked}/{prefix}?"
            )));
        }
        Ok(net)
    }

    /// The network address (host bits zero).
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this network.
    ///
    /// An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is compared as the IPv4 address it
    /// carries, because that is how a client of a dual-stack `[::]` listener appears.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask_v4(u32::from(ip), self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask_v6(u128::from(ip), self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }

    /// The address with the host bits cleared.
    fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(mask_v4(u32::from(a), self.prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(mask_v6(u128::from(a), self.prefix))),
        }
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

fn mask_v4(bits: u32, prefix: u8) -> u32 {
    // checked_shl: a shift by the full width (prefix 0) is the empty mask, not overflow.
    bits & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask_v6(bits: u128, prefix: u8) -> u128 {
    bits & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

impl FromStr for IpNet {
    type Err = IpNetError;

    /// Parses `ADDRESS/PREFIX`, or a bare address as a single host (`/32` or `/128`), the
    /// way Postfix's `mynetworks` reads it.
    fn from_str(s: &str) -> Result<IpNet, IpNetError> {
        let (addr_text, prefix_text) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr_text.parse().map_err(|_| {
            IpNetError(format!(
                "invalid network {s:?}: expected an IP address with an optional /prefix, e.g. \"192.0.2.0/24\" or \"2001:db8::/32\""
            ))
        })?;
        let prefix = match prefix_text {
            None => max_prefix(addr),
            // u8::from_str accepts a leading '+'; a prefix is digits only.
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                p.parse::<u8>().map_err(|_| {
                    IpNetError(format!(
                        "invalid network {s:?}: prefix length /{p} is out of range"
                    ))
                })?
            }
            Some(p) => {
                return Err(IpNetError(format!(
                    "invalid network {s:?}: prefix length {p:?} is not a number"
                )))
            }
        };
        IpNet::new(addr, prefix).map_err(|e| IpNetError(format!("invalid network {s:?}: {e}")))
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let table: &[(&str, Result<&str, &str>)] = &[
            ("127.0.0.0/8", Ok("127.0.0.0/8")),
            ("::1/128", Ok("::1/128")),
            ("0.0.0.0/0", Ok("0.0.0.0/0")),
            ("::/0", Ok("::/0")),
            ("192.0.2.7", Ok("192.0.2.7/32")),
            ("2001:db8::1", Ok("2001:db8::1/128")),
            ("2001:DB8::/32", Ok("2001:db8::/32")),
            (
                "127.0.0.1/8",
                Err("invalid network \"127.0.0.1/8\": 127.0.0.1/8 has host bits set; did you mean 127.0.0.0/8?"),
            ),
            (
                "10.0.0.0/33",
                Err("invalid network \"10.0.0.0/33\": prefix length /33 is longer than 32 bits"),
            ),
            (
                "::/129",
                Err("invalid network \"::/129\": prefix length /129 is longer than 128 bits"),
            ),
            (
                "10.0.0.0/300",
                Err("invalid network \"10.0.0.0/300\": prefix length /300 is out of range"),
            ),
            (
                "10.0.0.0/",
                Err("invalid network \"10.0.0.0/\": prefix length \"\" is not a number"),
            ),
            (
                "10.0.0.0/+8",
                Err("invalid network \"10.0.0.0/+8\": prefix length \"+8\" is not a number"),
            ),
            (
                "10.0.0/8",
                Err("invalid network \"10.0.0/8\": expected an IP address with an optional /prefix, e.g. \"192.0.2.0/24\" or \"2001:db8::/32\""),
            ),
            (
                "localhost",
                Err("invalid network \"localhost\": expected an IP address with an optional /prefix, e.g. \"192.0.2.0/24\" or \"2001:db8::/32\""),
            ),
            (
                "",
                Err("invalid network \"\": expected an IP address with an optional /prefix, e.g. \"192.0.2.0/24\" or \"2001:db8::/32\""),
            ),
        ];
        for (input, want) in table {
            let got = input
                .parse::<IpNet>()
                .map(|n| n.to_string())
                .map_err(|e| e.to_string());
            assert_eq!(
                got,
                want.map(str::to_string).map_err(str::to_string),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn contains_table() {
        let table: &[(&str, &str, bool)] = &[
            ("127.0.0.0/8", "127.0.0.1", true),
            ("127.0.0.0/8", "127.255.255.255", true),
            ("127.0.0.0/8", "128.0.0.0", false),
            ("127.0.0.0/8", "126.255.255.255", false),
            ("192.0.2.0/24", "192.0.2.200", true),
            ("192.0.2.0/24", "192.0.3.0", false),
            ("192.0.2.7", "192.0.2.7", true),
            ("192.0.2.7", "192.0.2.8", false),
            ("0.0.0.0/0", "203.0.113.9", true),
            ("0.0.0.0/0", "::1", false),
            ("::1/128", "::1", true),
            ("::1/128", "::2", false),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "2001:db8::1", true),
            ("::/0", "127.0.0.1", false),
            // A v4 client on a dual-stack listener arrives as ::ffff:a.b.c.d.
            ("127.0.0.0/8", "::ffff:127.0.0.1", true),
            ("10.0.0.0/8", "::ffff:127.0.0.1", false),
            // ...but a v4-compatible (deprecated) or NAT64 address is not unwrapped.
            ("127.0.0.0/8", "::127.0.0.1", false),
            ("127.0.0.0/8", "64:ff9b::7f00:1", false),
        ];
        for (net, ip, want) in table {
            let net: IpNet = match net.parse() {
                Ok(n) => n,
                Err(e) => panic!("{net}: {e}"),
            };
            let ip: IpAddr = match ip.parse() {
                Ok(i) => i,
                Err(e) => panic!("{ip}: {e}"),
            };
            assert_eq!(net.contains(ip), *want, "{net} contains {ip}");
        }
    }
}
