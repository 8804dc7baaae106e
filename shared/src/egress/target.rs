//! The URL checks: what an endpoint URL must look like before anything is resolved.

use std::net::IpAddr;

use tokio_rustls::rustls::pki_types::ServerName;

use super::error::{EgressError, Stage};
use super::policy::EgressPolicy;

/// How the connection is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scheme {
    Https,
    /// Local mode only, and only to loopback addresses.
    Http,
}

/// What the URL names as its host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Host {
    /// A DNS name (lower case, without a trailing dot): resolved once.
    Domain(String),
    /// An IP literal: not resolved.
    Ip(IpAddr),
}

/// A checked endpoint URL. No `Debug`: the path and query are not for logs.
pub(super) struct Target {
    pub scheme: Scheme,
    pub host: Host,
    pub port: u16,
    /// The `Host` header: the host as written in the URL (IPv6 in brackets), with the port
    /// when it is not the scheme's default.
    pub authority: String,
    /// The request target (origin form): the path and the query. Never logged.
    pub path_and_query: String,
}

impl Target {
    /// Checks `url` against the URL rules: an absolute `https` URL with a host, no user
    /// information and no fragment (RFC 6749 §3.2: a token endpoint has none); `http` only in
    /// local mode (its addresses are checked to be loopback after resolution).
    pub fn parse(url: &str, policy: &EgressPolicy) -> Result<Self, EgressError> {
        let parsed = url::Url::parse(url).map_err(|_| EgressError::InvalidUrl)?;
        let scheme = match parsed.scheme() {
            "https" => Scheme::Https,
            "http" if policy.local_mode => Scheme::Http,
            _ => return Err(EgressError::NotHttps),
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(EgressError::InvalidUrl);
        }
        if parsed.fragment().is_some() {
            return Err(EgressError::InvalidUrl);
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(name)) => {
                let name = name.trim_end_matches('.');
                if name.is_empty() {
                    return Err(EgressError::InvalidUrl);
                }
                Host::Domain(name.to_owned())
            }
            Some(url::Host::Ipv4(addr)) => Host::Ip(IpAddr::V4(addr)),
            Some(url::Host::Ipv6(addr)) => Host::Ip(IpAddr::V6(addr)),
            None => return Err(EgressError::InvalidUrl),
        };
        let port = parsed
            .port_or_known_default()
            .filter(|port| *port != 0)
            .ok_or(EgressError::InvalidUrl)?;
        let host_str = parsed.host_str().ok_or(EgressError::InvalidUrl)?;
        let authority = match parsed.port() {
            Some(port) => format!("{host_str}:{port}"),
            None => host_str.to_owned(),
        };
        let mut path_and_query = parsed.path().to_owned();
        if let Some(query) = parsed.query() {
            path_and_query.push('?');
            path_and_query.push_str(query);
        }
        Ok(Self {
            scheme,
            host,
            port,
            authority,
            path_and_query,
        })
    }

    /// The host for logs and for the allow-list's host entries (`None` for an IP literal).
    pub fn domain(&self) -> Option<&str> {
        match &self.host {
            Host::Domain(name) => Some(name),
            Host::Ip(_) => None,
        }
    }

    /// The host as it may appear in a log line (never the path or the query).
    pub fn log_host(&self) -> String {
        match &self.host {
            Host::Domain(name) => name.clone(),
            Host::Ip(addr) => addr.to_string(),
        }
    }

    /// The name the certificate must be valid for, and the SNI sent (none for an IP).
    pub fn server_name(&self) -> Result<ServerName<'static>, EgressError> {
        match &self.host {
            Host::Domain(name) => {
                ServerName::try_from(name.clone()).map_err(|_| EgressError::Transport(Stage::Tls))
            }
            Host::Ip(addr) => Ok(ServerName::IpAddress((*addr).into())),
        }
    }
}
