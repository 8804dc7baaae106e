//! The error type of a resolve.

use std::time::Duration;

/// Why a credential could not be resolved. Messages carry no secret and no server text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolveError {
    /// 404: no such credential in the key's workspace (or purged).
    NotFound,
    /// 409 `credential_deleted`: soft-deleted; restore it to use it again.
    Deleted,
    /// 409 `version_expired`: `previous` past its grace window (resolve current).
    VersionExpired,
    /// 409 `version_destroyed`: that version's sealed data was destroyed.
    VersionDestroyed,
    /// [`Resolver::resolve_newer_than`](crate::Resolver::resolve_newer_than): the current
    /// version is still the one that failed.
    NoNewerVersion { current: u64 },
    /// 409 `reauthorization_required`: the token endpoint refused this oauth credential's
    /// refresh material; someone must update it with a new refresh token (or client secret).
    ReauthorizationRequired,
    /// 409 `token_endpoint_refused`: the oauth credential's `token_url` is not one the
    /// service may call (not https, or a private address the operator did not allow).
    TokenEndpointRefused,
    /// 401: the API key is missing, unknown or revoked.
    Unauthorized,
    /// 403: the API key lacks `credentials:resolve`.
    Forbidden,
    /// 400: the id or purpose was refused (the error code, e.g. `validation_failed`).
    Invalid(String),
    /// The service or AWS could not answer now (503, throttling, a timeout): retry later,
    /// after `retry_after` when the service said (`Retry-After`: an OAuth refresh in
    /// progress, or a token endpoint cooling down).
    Unavailable { retry_after: Option<Duration> },
    /// Anything else: a 5xx, a function error, an answer that does not parse.
    Failed(String),
}

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound => f.write_str("no such credential"),
            Self::Deleted => f.write_str("the credential is deleted; restore it to use it"),
            Self::VersionExpired => f.write_str("the previous version's grace window has ended"),
            Self::VersionDestroyed => f.write_str("that secret version was destroyed"),
            Self::ReauthorizationRequired => {
                f.write_str("the oauth credential needs a new authorization")
            }
            Self::NoNewerVersion { current } => {
                write!(f, "no secret version newer than {current} exists yet")
            }
            Self::Unauthorized => f.write_str("the API key is missing, unknown or revoked"),
            Self::Forbidden => f.write_str("the API key lacks the credentials:resolve scope"),
            Self::Invalid(code) => write!(f, "the request was refused ({code})"),
            Self::TokenEndpointRefused => {
                f.write_str("the oauth credential's token_url may not be called")
            }
            Self::Unavailable { .. } => {
                f.write_str("the credentials service is unavailable; retry")
            }
            Self::Failed(why) => write!(f, "resolving failed: {why}"),
        }
    }
}

impl std::error::Error for ResolveError {}
