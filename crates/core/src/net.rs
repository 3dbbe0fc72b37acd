//! IP addresses and networks, for the trusted-proxies setting and attack protection's
//! allowlist.

use std::net::IpAddr;

/// An IP network: `10.0.0.0/8`, `::1` (one address), `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "'{}' is not an IP address or network (10.0.0.0/8, ::1)",
                s.escape_default()
            )
        };
        let (addr, prefix) = s
            .trim()
            .split_once('/')
            .map_or((s.trim(), None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
        };
        // An IPv4-mapped network is kept as the IPv4 network it is.
        match (addr, canonical(addr)) {
            (IpAddr::V6(_), v4 @ IpAddr::V4(_)) => Ok(Self {
                addr: v4,
                prefix: prefix.checked_sub(96).ok_or_else(bad)?,
            }),
            _ => Ok(Self { addr, prefix }),
        }
    }
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let prefix = u32::from(self.prefix);
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
                (u32::from(net) ^ u32::from(ip)) & mask == 0
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
                (u128::from(net) ^ u128::from(ip)) & mask == 0
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the IPv4 address it is.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v) => v.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Is `ip` in any of the networks written in `list`? Entries that do not parse match nothing
/// (they are refused when saved).
pub fn listed(list: &[String], ip: &str) -> bool {
    let Ok(ip) = ip.parse::<IpAddr>() else {
        return false;
    };
    list.iter()
        .filter_map(|n| n.parse::<IpNet>().ok())
        .any(|n| n.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_contain() {
        let net = |s: &str| s.parse::<IpNet>().unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(net("10.0.0.0/8").contains(ip("10.255.0.1")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!net("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        assert!(!net("0.0.0.0/0").contains(ip("::1")));
        assert!(net("fd00::/8").contains(ip("fd12::1")));
        assert!(net("::/0").contains(ip("2001:db8::1")));
        // IPv4-mapped addresses are their IPv4 selves, on either side.
        assert!(net("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
        assert!(net("::ffff:10.0.0.0/104").contains(ip("10.9.9.9")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0",
            "",
            "x",
            "10.0.0.0/-1",
            "::ffff:10.0.0.0/90",
        ] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_list_matches_addresses_in_its_networks() {
        let list = vec!["10.0.0.0/8".to_owned(), "2001:db8::1".to_owned()];
        assert!(listed(&list, "10.1.1.1"));
        assert!(listed(&list, "2001:db8::1"));
        assert!(!listed(&list, "11.0.0.1"));
        assert!(!listed(&list, "not an ip"));
        assert!(!listed(&[], "10.1.1.1"));
    }
}
