//! What kind of address an IP is, as far as the egress policy cares. [`classify`] is pure and
//! total: every address gets exactly one [`AddressClass`]; the policy
//! ([`super::EgressPolicy::check`]) decides what each class may do.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The class of an address. Only [`AddressClass::Public`] is reachable without a setting:
/// see [`super::EgressPolicy::check`] for what opens the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// Globally routable unicast (IPv4 outside every range below; IPv6 in 2000::/3 outside
    /// them).
    Public,
    /// 127.0.0.0/8, ::1. Only in local mode: on Lambda the Runtime API and extensions
    /// listen here, so no allow-list can open it.
    Loopback,
    /// RFC 1918: 10/8, 172.16/12, 192.168/16.
    Private,
    /// RFC 6598 carrier-grade NAT, 100.64/10.
    SharedCgnat,
    /// 169.254/16 and fe80::/10, except the [`AddressClass::Metadata`] addresses.
    LinkLocal,
    /// Cloud metadata and credential endpoints: 169.254.169.254 and fd00:ec2::254 (EC2
    /// instance metadata), 169.254.170.2 (ECS task credentials), 169.254.170.23 and
    /// fd00:ec2::23 (EKS Pod Identity). Opened only by an allow-list entry naming the exact
    /// address, never by a range or a host name.
    Metadata,
    /// fc00::/7 (RFC 4193).
    UniqueLocal,
    /// 224.0.0.0/4, ff00::/8. Never: TCP cannot reach a group.
    Multicast,
    /// 0.0.0.0/8 and ::. Never: on Linux a connect to 0.0.0.0 reaches the local host.
    Unspecified,
    /// 255.255.255.255. Never.
    Broadcast,
    /// Documentation ranges (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32,
    /// 3fff::/20): never routed, so an answer in them is a mistake or a probe.
    Documentation,
    /// Everything else that is not globally routable unicast: 192.0.0/24 (IETF protocol
    /// assignments, including 192.0.0.192, another cloud's metadata address), 192.88.99/24
    /// (6to4 relays), 198.18/15 (benchmarking), 240/4 (future use); IPv6 outside 2000::/3
    /// (IPv4-compatible ::/96, discard 100::/64, NAT64 local use 64:ff9b:1::/48, site-local
    /// fec0::/10, …) and 2001::/23 (IETF assignments: Teredo, benchmarking, ORCHID, …).
    Reserved,
}

impl AddressClass {
    /// A fixed, lower-case name (for errors and log fields).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Loopback => "loopback",
            Self::Private => "private",
            Self::SharedCgnat => "shared (CGNAT)",
            Self::LinkLocal => "link-local",
            Self::Metadata => "cloud metadata",
            Self::UniqueLocal => "unique local",
            Self::Multicast => "multicast",
            Self::Unspecified => "unspecified",
            Self::Broadcast => "broadcast",
            Self::Documentation => "documentation",
            Self::Reserved => "reserved",
        }
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The metadata and credential endpoints of AWS (see [`AddressClass::Metadata`]).
pub const METADATA_V4: [Ipv4Addr; 3] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 170, 23),
];

/// The IPv6 metadata and credential endpoints of AWS: fd00:ec2::254 and fd00:ec2::23.
pub const METADATA_V6: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23),
];

/// The class of `addr`. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address
/// it maps; NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses are public only when the
/// IPv4 address they embed is, and otherwise take its class.
pub fn classify(addr: IpAddr) -> AddressClass {
    match addr.to_canonical() {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(addr: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(addr) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn classify_v4(addr: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    if METADATA_V4.contains(&addr) {
        return Metadata;
    }
    let ranges: [([u8; 4], u32, AddressClass); 16] = [
        ([0, 0, 0, 0], 8, Unspecified),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, SharedCgnat),
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Documentation),
        ([192, 88, 99, 0], 24, Reserved),
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Reserved),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([224, 0, 0, 0], 4, Multicast),
        ([255, 255, 255, 255], 32, Broadcast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    ranges
        .iter()
        .find(|(net, prefix, _)| in_v4(addr, *net, *prefix))
        .map_or(Public, |(_, _, class)| *class)
}

fn in_v6(addr: Ipv6Addr, net: [u16; 8], prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(addr) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

fn classify_v6(addr: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    if addr.is_unspecified() {
        return Unspecified;
    }
    if addr.is_loopback() {
        return Loopback;
    }
    if METADATA_V6.contains(&addr) {
        return Metadata;
    }
    let segments = addr.segments();
    let octets = addr.octets();
    if in_v6(addr, [0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96) {
        return classify_v4(Ipv4Addr::new(
            octets[12], octets[13], octets[14], octets[15],
        ));
    }
    if segments[0] == 0x2002 {
        return classify_v4(Ipv4Addr::new(octets[2], octets[3], octets[4], octets[5]));
    }
    let ranges: [([u16; 8], u32, AddressClass); 7] = [
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Multicast),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, LinkLocal),
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, UniqueLocal),
        ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, Documentation),
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Documentation),
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, Reserved),
        ([0x2000, 0, 0, 0, 0, 0, 0, 0], 3, Public),
    ];
    ranges
        .iter()
        .find(|(net, prefix, _)| in_v6(addr, *net, *prefix))
        .map_or(Reserved, |(_, _, class)| *class)
}
