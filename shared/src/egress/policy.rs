//! The egress policy, built once per container: local mode, the operator's allow-list, the
//! time bounds and the response cap.
//!
//! From the environment ([`EgressPolicy::from_env`]):
//! - `EGRESS_LOCAL_MODE`: `true`/`1` (any case) in `make dev` and `make test` (plain `http` and
//!   loopback allowed); unset, empty, `false` or `0` everywhere else. Any other value is an
//!   error at start-up, not a silent default.
//! - `EGRESS_ALLOW`: comma-separated entries, each an address (`10.1.2.3`, `fd00::1`), a
//!   CIDR range (`10.1.2.0/24`) or an exact host name (`internal-idp.corp`, no wildcards).
//!   An unparsable entry is an error at start-up.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use ipnet::IpNet;

use super::address::{classify, AddressClass};

/// Whether plain `http` and loopback endpoints are allowed (`make dev`, `make test`).
pub const LOCAL_MODE_VAR: &str = "EGRESS_LOCAL_MODE";
/// The operator's allow-list (a template parameter).
pub const ALLOW_VAR: &str = "EGRESS_ALLOW";

/// Bound of the TCP connect (every approved address in turn) and the TLS handshake.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bound of a whole call: resolution, connect, request and the response body.
pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(10);
/// Cap of a response body (a token response is a few hundred bytes).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// One entry of the operator's allow-list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowEntry {
    /// An address range; a single address is a /32 or /128.
    Net(IpNet),
    /// An exact host name (lower case, without a trailing dot): whatever it resolves to is
    /// allowed, except what no entry can open (see [`EgressPolicy::check`]).
    Host(String),
}

impl AllowEntry {
    /// Whether this entry opens `addr` (canonical) reached through `host`.
    fn covers(&self, host: Option<&str>, addr: IpAddr) -> bool {
        match self {
            Self::Net(net) => net.contains(&addr),
            Self::Host(name) => host == Some(name.as_str()),
        }
    }

    /// Whether this entry is exactly the single address `addr` (canonical).
    fn names_exactly(&self, addr: IpAddr) -> bool {
        matches!(self, Self::Net(net) if net.prefix_len() == net.max_prefix_len() && net.addr() == addr)
    }
}

impl FromStr for AllowEntry {
    type Err = PolicyError;

    fn from_str(text: &str) -> Result<Self, PolicyError> {
        let text = text.trim();
        let invalid = || PolicyError::InvalidAllowEntry(text.to_owned());
        if text.contains('/') {
            let net: IpNet = text.parse().map_err(|_| invalid())?;
            return Ok(Self::Net(canonical_net(net.trunc())));
        }
        let bare = text.trim_start_matches('[').trim_end_matches(']');
        if let Ok(addr) = bare.parse::<IpAddr>() {
            return Ok(Self::Net(IpNet::from(addr.to_canonical())));
        }
        if text.contains('*') {
            return Err(invalid());
        }
        match url::Host::parse(text).map_err(|_| invalid())? {
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.');
                if name.is_empty() {
                    return Err(invalid());
                }
                Ok(Self::Host(name.to_owned()))
            }
            url::Host::Ipv4(addr) => Ok(Self::Net(IpNet::from(IpAddr::V4(addr)))),
            url::Host::Ipv6(addr) => Ok(Self::Net(IpNet::from(IpAddr::V6(addr).to_canonical()))),
        }
    }
}

/// A single IPv4-mapped address written as IPv6 (`::ffff:10.0.0.1/128`) is the IPv4 address:
/// the policy compares canonical addresses.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() == 128 => {
            IpNet::from(IpAddr::V6(v6.addr()).to_canonical())
        }
        other => other,
    }
}

/// Parses an `EGRESS_ALLOW` value: comma-separated entries, blanks ignored.
pub fn parse_allow_list(text: &str) -> Result<Vec<AllowEntry>, PolicyError> {
    text.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(str::parse)
        .collect()
}

/// A setting the policy cannot be built from. Names the variable and the operator's entry
/// (configuration, never user data).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyError {
    /// `EGRESS_LOCAL_MODE` is neither true/1 nor false/0.
    InvalidLocalMode,
    /// An `EGRESS_ALLOW` entry is not an address, a CIDR range or a host name.
    InvalidAllowEntry(String),
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidLocalMode => {
                write!(f, "{LOCAL_MODE_VAR} must be true, 1, false or 0")
            }
            Self::InvalidAllowEntry(entry) => write!(
                f,
                "{ALLOW_VAR} entry {entry:?} is not an address, a CIDR range or a host name"
            ),
        }
    }
}

impl std::error::Error for PolicyError {}

/// What the egress guard lets through. See [`EgressPolicy::check`] for the address rules.
#[derive(Clone, Debug)]
pub struct EgressPolicy {
    /// Plain `http` (to loopback only) and loopback addresses are allowed.
    pub local_mode: bool,
    /// The operator's allow-list.
    pub allow: Vec<AllowEntry>,
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    pub max_response_bytes: usize,
}

impl Default for EgressPolicy {
    fn default() -> Self {
        Self::strict()
    }
}

impl EgressPolicy {
    /// Production: `https` to public addresses only, the default bounds.
    pub fn strict() -> Self {
        Self {
            local_mode: false,
            allow: Vec::new(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            total_timeout: DEFAULT_TOTAL_TIMEOUT,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }

    /// `make dev` and `make test`: [`EgressPolicy::strict`] plus loopback and plain `http`
    /// to it.
    pub fn local() -> Self {
        Self {
            local_mode: true,
            ..Self::strict()
        }
    }

    /// From `EGRESS_LOCAL_MODE` and `EGRESS_ALLOW` (see the module documentation).
    pub fn from_env() -> Result<Self, PolicyError> {
        let var = |name| std::env::var(name).ok();
        Self::from_values(var(LOCAL_MODE_VAR).as_deref(), var(ALLOW_VAR).as_deref())
    }

    /// From the two variables' values (`None` when unset).
    pub fn from_values(local_mode: Option<&str>, allow: Option<&str>) -> Result<Self, PolicyError> {
        let local_mode = local_mode.map_or(String::new(), |v| v.trim().to_ascii_lowercase());
        let local_mode = match local_mode.as_str() {
            "" | "false" | "0" => false,
            "true" | "1" => true,
            _ => return Err(PolicyError::InvalidLocalMode),
        };
        Ok(Self {
            local_mode,
            allow: parse_allow_list(allow.unwrap_or(""))?,
            ..Self::strict()
        })
    }

    /// Whether `addr`, reached through the URL host `host` (`None` for an IP literal), may
    /// be connected to; the refusal names the address's class.
    ///
    /// | class | allowed when |
    /// | --- | --- |
    /// | public | always |
    /// | loopback | local mode (no allow-list entry opens it) |
    /// | private, CGNAT, link-local, unique local, documentation, reserved | an entry's range contains it, or an entry names `host` |
    /// | metadata | an entry is exactly that one address (a range or a host name is not enough) |
    /// | multicast, unspecified, broadcast | never |
    ///
    /// IPv4-mapped IPv6 addresses are checked as the IPv4 address they map.
    pub fn check(&self, host: Option<&str>, addr: IpAddr) -> Result<(), AddressClass> {
        use AddressClass::*;
        let addr = addr.to_canonical();
        let class = classify(addr);
        let allowed = match class {
            Public => true,
            Loopback => self.local_mode,
            Multicast | Unspecified | Broadcast => false,
            Metadata => self.allow.iter().any(|entry| entry.names_exactly(addr)),
            Private | SharedCgnat | LinkLocal | UniqueLocal | Documentation | Reserved => {
                self.allow.iter().any(|entry| entry.covers(host, addr))
            }
        };
        if allowed {
            Ok(())
        } else {
            Err(class)
        }
    }
}
