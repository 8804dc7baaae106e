//! Why an egress call did not return a response. Every text is fixed: none quotes the URL,
//! a header, a resolved address or anything the endpoint sent, and no variant keeps a
//! source error (hyper's and rustls's errors can describe what the peer sent).

use std::fmt;

use super::address::AddressClass;

/// Where a transport failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// No TCP connection to any approved address.
    Connect,
    /// The TLS handshake failed (certificate, name, protocol, or the peer does not speak TLS).
    Tls,
    /// HTTP/1 failed: a malformed or oversized response head, a closed connection, a broken
    /// body.
    Http,
}

/// A refused or failed egress call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EgressError {
    /// Not an absolute URL with a host, or one with user information or a fragment.
    InvalidUrl,
    /// Not `https` (plain `http` is only for loopback, in local mode).
    NotHttps,
    /// The host name did not resolve, or resolved to no address.
    UnresolvableHost,
    /// The host is, or resolves to (at least one answer), an address the policy refuses.
    ForbiddenAddress(AddressClass),
    /// The connect bound or the total bound ran out.
    Timeout,
    /// The connection, the TLS handshake or the HTTP exchange failed.
    Transport(Stage),
    /// The endpoint answered with a redirect (3xx); redirects are never followed.
    Redirect,
    /// The response body is larger than the policy's cap.
    TooLarge,
    /// The request cannot be formed as given (a basic-auth user name with a colon).
    InvalidRequest,
}

impl EgressError {
    /// A fixed snake-case name, for a log field or a metric.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidUrl => "invalid_url",
            Self::NotHttps => "not_https",
            Self::UnresolvableHost => "unresolvable_host",
            Self::ForbiddenAddress(_) => "forbidden_address",
            Self::Timeout => "timeout",
            Self::Transport(Stage::Connect) => "connect_failed",
            Self::Transport(Stage::Tls) => "tls_failed",
            Self::Transport(Stage::Http) => "http_failed",
            Self::Redirect => "redirect",
            Self::TooLarge => "too_large",
            Self::InvalidRequest => "invalid_request",
        }
    }

    /// True for refusals by policy (the endpoint's URL or addresses), false for failures of
    /// an allowed call.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::InvalidUrl | Self::NotHttps | Self::ForbiddenAddress(_) | Self::Redirect
        )
    }
}

impl fmt::Display for EgressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidUrl => f.write_str("the endpoint is not a valid absolute URL"),
            Self::NotHttps => f.write_str("the endpoint must use https"),
            Self::UnresolvableHost => f.write_str("the endpoint's host does not resolve"),
            Self::ForbiddenAddress(class) => {
                write!(f, "the endpoint's host has a forbidden address ({class})")
            }
            Self::Timeout => f.write_str("the endpoint did not answer in time"),
            Self::Transport(Stage::Connect) => f.write_str("the endpoint could not be reached"),
            Self::Transport(Stage::Tls) => {
                f.write_str("the TLS handshake with the endpoint failed")
            }
            Self::Transport(Stage::Http) => f.write_str("the endpoint's HTTP answer was malformed"),
            Self::Redirect => {
                f.write_str("the endpoint answered with a redirect, which is not followed")
            }
            Self::TooLarge => f.write_str("the endpoint's answer is too large"),
            Self::InvalidRequest => f.write_str("the request to the endpoint cannot be formed"),
        }
    }
}

impl std::error::Error for EgressError {}
