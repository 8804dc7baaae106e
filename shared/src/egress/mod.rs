//! The egress guard: the one way this service calls an endpoint a user supplied (an OAuth
//! token endpoint), so that such a call cannot be turned inward.
//!
//! One call ([`EgressGuard::post_form`]) goes:
//! 1. the URL checks (`target.rs`): `https` only (plain `http` only in local mode, and then
//!    only to loopback), a host, no user information, no fragment;
//! 2. one resolution through the [`Resolve`] seam (an IP literal is not resolved); **every**
//!    answer must pass [`EgressPolicy::check`], or the call is refused — a name that
//!    resolves to one public and one private address is refused, since which one a later
//!    connect would use is not ours to choose;
//! 3. a TCP connection through the [`Connect`] seam to an approved address (each in turn
//!    until one answers): nothing resolves the name again, so the address checked is the
//!    address connected to; TLS verifies the certificate against the URL's host name (its
//!    SNI), not the address;
//! 4. one HTTP/1.1 POST; a 3xx is refused ([`EgressError::Redirect`]) and never followed; the
//!    body is read up to the policy's cap.
//!
//! Steps 2–4 run within the total bound, step 3 within the connect bound. Nothing the
//! endpoint sends is echoed: errors have fixed texts, the body is a secret, and the log
//! lines name the host and the outcome, never the path, the query, a header or the body.

mod address;
mod body;
mod error;
mod net;
mod policy;
mod target;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Body as _;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use secrecy::SecretSlice;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::timeout;
use tokio_rustls::TlsConnector;

use crate::clock::{self, SharedClock};

pub use address::{classify, AddressClass, METADATA_V4, METADATA_V6};
pub use error::{EgressError, Stage};
pub use net::{tls_config, BoxFuture, Connect, Resolve, SystemResolver, TcpConnector};
pub use policy::{
    parse_allow_list, AllowEntry, EgressPolicy, PolicyError, ALLOW_VAR, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TOTAL_TIMEOUT, LOCAL_MODE_VAR,
};

use body::SecretBody;
use target::{Host, Scheme, Target};

/// Most header lines a response may have.
const MAX_RESPONSE_HEADERS: usize = 64;
/// Most bytes a response's status line and headers may take.
const MAX_RESPONSE_HEAD_BYTES: usize = 16 * 1024;

/// What the endpoint answered (any status but 1xx and 3xx). No `Debug` of the body: a token
/// response is a secret.
pub struct EgressResponse {
    pub status: u16,
    /// The `Retry-After` header, as delay-seconds or an HTTP date.
    pub retry_after: Option<Duration>,
    /// The body, at most the policy's cap (`expose_secret` to parse it).
    pub body: SecretSlice<u8>,
}

impl fmt::Debug for EgressResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EgressResponse")
            .field("status", &self.status)
            .field("retry_after", &self.retry_after)
            .field("body", &"[REDACTED]")
            .finish()
    }
}

/// The egress guard, built once per container. See the module documentation.
pub struct EgressGuard {
    policy: EgressPolicy,
    resolver: Arc<dyn Resolve>,
    connector: Arc<dyn Connect>,
    tls: TlsConnector,
    clock: SharedClock,
}

impl fmt::Debug for EgressGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EgressGuard")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A connection hyper can speak HTTP/1 over (plain TCP in local mode, TLS otherwise).
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl EgressGuard {
    /// A guard with the system resolver, plain TCP and [`tls_config`].
    pub fn new(policy: EgressPolicy) -> Self {
        Self {
            policy,
            resolver: Arc::new(SystemResolver),
            connector: Arc::new(TcpConnector),
            tls: TlsConnector::from(tls_config()),
            clock: clock::wall(),
        }
    }

    /// [`EgressGuard::new`] with [`EgressPolicy::from_env`].
    pub fn from_env() -> Result<Self, PolicyError> {
        Ok(Self::new(EgressPolicy::from_env()?))
    }

    /// Resolves through `resolver` (tests: a name that resolves where the test says).
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolve>) -> Self {
        self.resolver = resolver;
        self
    }

    /// Connects through `connector` (tests: count or refuse connects).
    pub fn with_connector(mut self, connector: Arc<dyn Connect>) -> Self {
        self.connector = connector;
        self
    }

    /// Reads the time (for a `Retry-After` date) from `clock`.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    /// POSTs `form` (`application/x-www-form-urlencoded`) to `url`, with HTTP basic
    /// authentication when `basic_auth` is given, and returns the answer. Refused before any
    /// connect unless the URL and every address its host resolves to pass the policy.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic_auth: Option<(&str, &str)>,
    ) -> Result<EgressResponse, EgressError> {
        let target = match Target::parse(url, &self.policy) {
            Ok(target) => target,
            Err(error) => {
                tracing::warn!(error = error.kind(), "egress call refused");
                return Err(error);
            }
        };
        let outcome = self.call(&target, form, basic_auth).await;
        match &outcome {
            Ok(response) => tracing::info!(
                host = %target.log_host(),
                status = response.status,
                "egress call answered"
            ),
            Err(error) => tracing::warn!(
                host = %target.log_host(),
                error = error.kind(),
                "egress call refused or failed"
            ),
        }
        outcome
    }

    async fn call(
        &self,
        target: &Target,
        form: &[(&str, &str)],
        basic_auth: Option<(&str, &str)>,
    ) -> Result<EgressResponse, EgressError> {
        let authorization = basic_auth
            .map(|(user, password)| body::basic_auth(user, password))
            .transpose()?;
        let request = self.request(target, body::form_body(form), authorization)?;
        let exchange = async {
            let addrs = self.approve(target).await?;
            let io = timeout(self.policy.connect_timeout, self.open(target, &addrs))
                .await
                .map_err(|_| EgressError::Timeout)??;
            self.exchange(io, request).await
        };
        timeout(self.policy.total_timeout, exchange)
            .await
            .map_err(|_| EgressError::Timeout)?
    }

    /// Resolves the host once and checks every answer; the approved addresses, in the
    /// resolver's order, without duplicates.
    async fn approve(&self, target: &Target) -> Result<Vec<IpAddr>, EgressError> {
        let answers = match &target.host {
            Host::Ip(addr) => vec![*addr],
            Host::Domain(name) => self
                .resolver
                .resolve(name)
                .await
                .map_err(|_| EgressError::UnresolvableHost)?,
        };
        if answers.is_empty() {
            return Err(EgressError::UnresolvableHost);
        }
        let mut approved = Vec::with_capacity(answers.len());
        for addr in answers {
            let addr = addr.to_canonical();
            self.policy
                .check(target.domain(), addr)
                .map_err(EgressError::ForbiddenAddress)?;
            if target.scheme == Scheme::Http && classify(addr) != AddressClass::Loopback {
                return Err(EgressError::NotHttps);
            }
            if !approved.contains(&addr) {
                approved.push(addr);
            }
        }
        Ok(approved)
    }

    /// A connection to the first approved address that accepts one, with TLS for `https`.
    async fn open(&self, target: &Target, addrs: &[IpAddr]) -> Result<Box<dyn Io>, EgressError> {
        let mut tcp = None;
        for addr in addrs {
            if let Ok(stream) = self
                .connector
                .connect(SocketAddr::new(*addr, target.port))
                .await
            {
                tcp = Some(stream);
                break;
            }
        }
        let tcp = tcp.ok_or(EgressError::Transport(Stage::Connect))?;
        match target.scheme {
            Scheme::Http => Ok(Box::new(tcp)),
            Scheme::Https => {
                let name = target.server_name()?;
                let tls = self
                    .tls
                    .connect(name, tcp)
                    .await
                    .map_err(|_| EgressError::Transport(Stage::Tls))?;
                Ok(Box::new(tls))
            }
        }
    }

    fn request(
        &self,
        target: &Target,
        form: SecretBody,
        authorization: Option<HeaderValue>,
    ) -> Result<Request<Full<SecretBody>>, EgressError> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(target.path_and_query.as_str())
            .header(header::HOST, target.authority.as_str())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("credentials-api/", env!("CARGO_PKG_VERSION")),
            )
            .header(header::CONNECTION, "close")
            .body(Full::new(form))
            .map_err(|_| EgressError::InvalidUrl)?;
        if let Some(value) = authorization {
            request.headers_mut().insert(header::AUTHORIZATION, value);
        }
        Ok(request)
    }

    /// Sends `request` over `io` and reads the answer, driving the connection alongside (no
    /// task outlives the call).
    async fn exchange(
        &self,
        io: Box<dyn Io>,
        request: Request<Full<SecretBody>>,
    ) -> Result<EgressResponse, EgressError> {
        let (mut sender, connection) = hyper::client::conn::http1::Builder::new()
            .max_headers(MAX_RESPONSE_HEADERS)
            .max_header_size(MAX_RESPONSE_HEAD_BYTES)
            .handshake(TokioIo::new(io))
            .await
            .map_err(|_| EgressError::Transport(Stage::Http))?;
        let answer = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|_| EgressError::Transport(Stage::Http))?;
            self.read(response).await
        };
        let mut connection = std::pin::pin!(connection);
        let mut answer = std::pin::pin!(answer);
        tokio::select! {
            outcome = &mut answer => outcome,
            // The connection ended first (closed, or failed): the answer ends with what
            // it had, or with hyper's error.
            _ = &mut connection => answer.await,
        }
    }

    async fn read(
        &self,
        response: hyper::Response<hyper::body::Incoming>,
    ) -> Result<EgressResponse, EgressError> {
        let status = response.status();
        if status.is_redirection() {
            return Err(EgressError::Redirect);
        }
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|value| body::retry_after(value, self.clock.now()));
        let declared = response.body().size_hint().exact();
        let bytes = body::read_capped(
            response.into_body(),
            declared,
            self.policy.max_response_bytes,
        )
        .await?;
        Ok(EgressResponse {
            status: status.as_u16(),
            retry_after,
            body: SecretSlice::from(Box::<[u8]>::from(bytes.as_slice())),
        })
    }
}
