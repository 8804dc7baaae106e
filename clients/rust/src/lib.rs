//! Resolve credentials from a pipeline Lambda function.
//!
//! The Credentials API hands a credential's secrets to one function only,
//! `resolve-credential`, which API Gateway never routes: a pipeline invokes it by ARN with
//! the AWS SDK, authenticated by an API key with the `credentials:resolve` scope (and by
//! IAM: its role needs `lambda:InvokeFunction` on that ARN).
//!
//! ```no_run
//! # async fn run() -> Result<(), credentials_client::ResolveError> {
//! use credentials_client::Resolver;
//! use secrecy::{ExposeSecret, SecretString};
//!
//! let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let resolver = Resolver::new(
//!     aws_sdk_lambda::Client::new(&sdk),
//!     "arn:aws:lambda:eu-west-1:123456789012:function:credentials-api-prod-resolve-credential",
//!     SecretString::from(std::env::var("CREDENTIALS_API_KEY").unwrap()),
//! );
//! let db = resolver
//!     .resolve("cred_01j9k2m4n5p6q7r8s9t0v1w2x3", "pipeline:orders-nightly/run-42")
//!     .await?;
//! let password = db.secret("password").map(|s| s.expose_secret());
//! # Ok(()) }
//! ```
//!
//! A soft-deleted credential fails with [`ResolveError::Deleted`]: the pipeline should stop
//! (not retry) and report that the credential it references was deleted; restoring the
//! credential makes it resolvable again.
//!
//! # Versions and rotation
//!
//! [`Resolver::resolve`] returns the current secret version; [`Resolver::resolve_as`]
//! takes a [`Selector`] (`Previous` during a rotation's grace window, `Pending` to test a
//! staged version, or a version number) and a [`Target`] (an id, or a name). Every answer
//! carries its `secret_version`.
//!
//! When a downstream system refuses a secret (its password was rotated), call
//! [`Resolver::resolve_newer_than`] with the `secret_version` that failed: it skips the
//! cache and returns a newer current version, or [`ResolveError::NoNewerVersion`] when the
//! current one is still that version: never the same stale value twice.
//!
//! # Cache
//!
//! Off by default. [`Resolver::with_cache`] keeps each answer for a time-to-live, per
//! container, keyed by credential (id or name), selector **and** purpose, with a bound on
//! entries; concurrent callers of one key share one invocation. A cache hit makes no
//! invocation, so the service records no audit event for it, and a change to the credential
//! (a rotation, a soft delete) is seen only once the entry expires, or at once through
//! [`Resolver::resolve_fresh`] or [`Resolver::resolve_newer_than`], which replace what
//! the cache holds for it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_sdk_lambda::primitives::Blob;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Map, Value};
use tokio::sync::{Mutex, OnceCell};

mod error;

pub use error::ResolveError;

/// Per-attempt bound of the Invoke call: longer than the resolver's own timeout (60 s in
/// `template.yaml`), since a resolve that refreshes an OAuth token waits for the token
/// endpoint (up to 10 s) and for another caller's refresh (up to 8 s); an attempt cut
/// shorter would invoke again while the first is still running.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(65);
/// Bound of the Invoke call, the SDK's retries included.
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(70);

/// A credential with its secrets. `Debug` shows secret field names, never values.
#[derive(Debug)]
pub struct ResolvedCredential {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub version: u64,
    pub updated_at: String,
    /// The secret version resolved (0: secrets written before versions existed).
    pub secret_version: u64,
    /// The stage that version carries (`current`, `previous`, `pending`), if any.
    pub stage: Option<String>,
    /// When the current version became current.
    pub rotated_at: Option<String>,
    /// For `previous`: when its grace window ends.
    pub valid_until: Option<String>,
    /// Refreshed oauth credentials: the access token was answered during a cooldown of the
    /// token endpoint, good for less than the `min_ttl_seconds` asked.
    pub stale: bool,
    /// The settings that are not secret.
    pub visible: Map<String, Value>,
    /// The secret settings, wiped from memory when dropped.
    pub secrets: BTreeMap<String, SecretString>,
}

impl ResolvedCredential {
    pub fn secret(&self, field: &str) -> Option<&SecretString> {
        self.secrets.get(field)
    }

    /// Parses the function's answer body (`{"data": …}`), moving secret values into
    /// `SecretString`s.
    fn from_body(body: &[u8]) -> Result<Self, ResolveError> {
        let malformed = || ResolveError::Failed("the answer does not parse".into());
        let mut body: Value = serde_json::from_slice(body).map_err(|_| malformed())?;
        let data = body.get_mut("data").ok_or_else(malformed)?;
        let text = |data: &Value, key: &str| {
            data.get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(malformed)
        };
        let secret_fields: Vec<String> = data
            .get("secret_fields")
            .and_then(Value::as_array)
            .ok_or_else(malformed)?
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let (id, name, kind, updated_at) = (
            text(data, "id")?,
            text(data, "name")?,
            text(data, "type")?,
            text(data, "updated_at")?,
        );
        let version = data
            .get("version")
            .and_then(Value::as_u64)
            .ok_or_else(malformed)?;
        let secret_version = data
            .get("secret_version")
            .and_then(Value::as_u64)
            .ok_or_else(malformed)?;
        let optional = |key: &str| data.get(key).and_then(Value::as_str).map(str::to_owned);
        let (stage, rotated_at, valid_until) = (
            optional("stage"),
            optional("rotated_at"),
            optional("valid_until"),
        );
        let stale = data.get("stale").and_then(Value::as_bool).unwrap_or(false);
        let Some(Value::Object(mut visible)) = data.get_mut("config").map(Value::take) else {
            return Err(malformed());
        };
        let mut secrets = BTreeMap::new();
        for field in secret_fields {
            match visible.remove(&field) {
                Some(Value::String(value)) => {
                    secrets.insert(field, SecretString::from(value));
                }
                // A sealed value that is not a string (an undeclared field sent as JSON)
                // is kept as its JSON text.
                Some(other) => {
                    secrets.insert(field, SecretString::from(other.to_string()));
                }
                None => {}
            }
        }
        Ok(Self {
            id,
            name,
            kind,
            version,
            updated_at,
            secret_version,
            stage,
            rotated_at,
            valid_until,
            stale,
            visible,
            secrets,
        })
    }
}

/// Bounds of the optional per-container cache.
#[derive(Clone, Copy, Debug)]
pub struct CacheConfig {
    pub ttl: Duration,
    pub max_entries: usize,
}

/// Which secret version to resolve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Selector {
    /// What the credential uses now.
    #[default]
    Current,
    /// The version `current` replaced, during the credential's rotation grace window.
    Previous,
    /// The version staged with `?stage=pending`, not yet in use.
    Pending,
    /// A version by number (while it is kept).
    Version(u64),
}

/// Which credential: by id, or by its name (one more read on the service's side).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    Id(String),
    Name(String),
}

type Slot = Arc<OnceCell<Result<Arc<ResolvedCredential>, ResolveError>>>;

/// What an entry answers: which credential, which version, why.
type CacheKey = (Target, Selector, String);

struct Cache {
    config: CacheConfig,
    /// Entries with the wall-clock time they were made: a frozen Lambda container does not
    /// see monotonic time pass, the wall clock does.
    entries: Mutex<HashMap<CacheKey, (SystemTime, Slot)>>,
}

/// Invokes `resolve-credential` by ARN. Build once per container and share it.
pub struct Resolver {
    lambda: aws_sdk_lambda::Client,
    function: String,
    api_key: SecretString,
    timeouts: aws_sdk_lambda::config::timeout::TimeoutConfig,
    cache: Option<Cache>,
}

impl Resolver {
    /// `function_arn` is the stack's `ResolveCredentialFunctionArn` output; `api_key` a key
    /// with the `credentials:resolve` scope.
    pub fn new(
        lambda: aws_sdk_lambda::Client,
        function_arn: impl Into<String>,
        api_key: SecretString,
    ) -> Self {
        Self {
            lambda,
            function: function_arn.into(),
            api_key,
            timeouts: aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                .operation_attempt_timeout(DEFAULT_ATTEMPT_TIMEOUT)
                .operation_timeout(DEFAULT_OPERATION_TIMEOUT)
                .build(),
            cache: None,
        }
    }

    /// Replaces the Invoke call's timeouts.
    pub fn with_timeouts(mut self, attempt: Duration, operation: Duration) -> Self {
        self.timeouts = aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(attempt)
            .operation_timeout(operation)
            .build();
        self
    }

    /// Turns on the per-container cache (see the crate docs for what it trades away).
    pub fn with_cache(mut self, config: CacheConfig) -> Self {
        self.cache = Some(Cache {
            config,
            entries: Mutex::new(HashMap::new()),
        });
        self
    }

    /// The credential `id` with the secrets of its current version; `purpose` (1–200
    /// printable characters) says why, and is recorded by the service.
    pub async fn resolve(
        &self,
        id: &str,
        purpose: &str,
    ) -> Result<Arc<ResolvedCredential>, ResolveError> {
        self.resolve_as(&Target::Id(id.to_owned()), Selector::Current, purpose)
            .await
    }

    /// The credential `target` at the version `selector` names, through the cache if it is
    /// on.
    pub async fn resolve_as(
        &self,
        target: &Target,
        selector: Selector,
        purpose: &str,
    ) -> Result<Arc<ResolvedCredential>, ResolveError> {
        let Some(cache) = &self.cache else {
            return self.invoke(target, selector, purpose).await.map(Arc::new);
        };
        let key = (target.clone(), selector, purpose.to_owned());
        let slot = {
            let mut entries = cache.entries.lock().await;
            let now = SystemTime::now();
            // Stale, or from the future (the clock went back): dropped.
            entries.retain(|_, (at, _)| {
                now.duration_since(*at)
                    .is_ok_and(|age| age < cache.config.ttl)
            });
            match entries.get(&key) {
                Some((_, slot)) => slot.clone(),
                None => {
                    if entries.len() >= cache.config.max_entries {
                        // Full of live entries: drop the oldest.
                        if let Some(oldest) = entries
                            .iter()
                            .min_by_key(|(_, (at, _))| *at)
                            .map(|(k, _)| k.clone())
                        {
                            entries.remove(&oldest);
                        }
                    }
                    let slot = Slot::default();
                    if cache.config.max_entries > 0 {
                        entries.insert(key.clone(), (now, slot.clone()));
                    }
                    slot
                }
            }
        };
        let result = slot
            .get_or_init(|| async { self.invoke(target, selector, purpose).await.map(Arc::new) })
            .await
            .clone();
        if result.is_err() {
            // Failures are not cached: the next caller tries again.
            let mut entries = cache.entries.lock().await;
            if entries
                .get(&key)
                .is_some_and(|(_, cached)| Arc::ptr_eq(cached, &slot))
            {
                entries.remove(&key);
            }
        }
        result
    }

    /// As [`Resolver::resolve_as`], but always invoking the service; the answer replaces
    /// what the cache held for this key.
    pub async fn resolve_fresh(
        &self,
        target: &Target,
        selector: Selector,
        purpose: &str,
    ) -> Result<Arc<ResolvedCredential>, ResolveError> {
        let result = self.invoke(target, selector, purpose).await.map(Arc::new);
        if let Some(cache) = &self.cache {
            let key = (target.clone(), selector, purpose.to_owned());
            let mut entries = cache.entries.lock().await;
            match &result {
                Ok(fresh) if cache.config.max_entries > 0 => {
                    let slot = Slot::new(OnceCell::new_with(Some(Ok(fresh.clone()))));
                    entries.insert(key, (SystemTime::now(), slot));
                }
                _ => {
                    entries.remove(&key);
                }
            }
        }
        result
    }

    /// After a downstream system refused the secrets of `failed_version` (its
    /// `secret_version`): the current version if it is newer, fetched past the cache (and
    /// cached in place of the stale one), else [`ResolveError::NoNewerVersion`]. It never
    /// returns `failed_version` again.
    pub async fn resolve_newer_than(
        &self,
        target: &Target,
        failed_version: u64,
        purpose: &str,
    ) -> Result<Arc<ResolvedCredential>, ResolveError> {
        let fresh = self
            .resolve_fresh(target, Selector::Current, purpose)
            .await?;
        if fresh.secret_version > failed_version {
            return Ok(fresh);
        }
        Err(ResolveError::NoNewerVersion {
            current: fresh.secret_version,
        })
    }

    /// The API Gateway HTTP API (2.0) event the function expects. By name, the path keeps
    /// the route's `{id}` template and the body names the credential.
    fn event(&self, target: &Target, selector: Selector, purpose: &str) -> Value {
        let mut body = json!({"purpose": purpose});
        match selector {
            Selector::Current => {}
            Selector::Previous => body["stage"] = json!("previous"),
            Selector::Pending => body["stage"] = json!("pending"),
            Selector::Version(n) => body["version"] = json!(n),
        }
        let id = match target {
            Target::Id(id) => id.as_str(),
            Target::Name(name) => {
                body["name"] = json!(name);
                "{id}"
            }
        };
        let path = format!("/api/credentials/{id}/resolve");
        json!({
            "version": "2.0",
            "routeKey": "POST /api/credentials/{id}/resolve",
            "rawPath": path,
            "rawQueryString": "",
            "headers": {
                "authorization": format!("Bearer {}", self.api_key.expose_secret()),
                "content-type": "application/json",
                "user-agent": concat!("credentials-client/", env!("CARGO_PKG_VERSION")),
            },
            "requestContext": {
                "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "credentials-client"},
                "routeKey": "POST /api/credentials/{id}/resolve",
                "stage": "$default",
            },
            "pathParameters": match target {
                Target::Id(id) => json!({"id": id}),
                Target::Name(_) => json!({}),
            },
            "body": body.to_string(),
            "isBase64Encoded": false,
        })
    }

    async fn invoke(
        &self,
        target: &Target,
        selector: Selector,
        purpose: &str,
    ) -> Result<ResolvedCredential, ResolveError> {
        // The event carries the API key: it is built, sent and dropped here, never logged.
        let payload = serde_json::to_vec(&self.event(target, selector, purpose))
            .map_err(|_| ResolveError::Failed("the event does not serialize".into()))?;
        let output = self
            .lambda
            .invoke()
            .function_name(&self.function)
            .payload(Blob::new(payload))
            .customize()
            .config_override(
                aws_sdk_lambda::config::Builder::default().timeout_config(self.timeouts.clone()),
            )
            .send()
            .await
            .map_err(|e| {
                let e = e.into_service_error();
                tracing::warn!(
                    aws_error_code = e.code().unwrap_or("none"),
                    "lambda Invoke failed"
                );
                match e {
                    InvokeError::TooManyRequestsException(_)
                    | InvokeError::ServiceException(_)
                    | InvokeError::ResourceNotReadyException(_) => {
                        ResolveError::Unavailable { retry_after: None }
                    }
                    InvokeError::ResourceNotFoundException(_) => {
                        ResolveError::Failed("the resolve function does not exist".into())
                    }
                    other if other.code().is_none() => {
                        ResolveError::Unavailable { retry_after: None }
                    }
                    _ => ResolveError::Failed("Invoke was refused".into()),
                }
            })?;
        if output.function_error().is_some() {
            return Err(ResolveError::Failed("the function failed".into()));
        }
        let payload = output
            .payload()
            .ok_or_else(|| ResolveError::Failed("empty answer".into()))?;
        answer(payload.as_ref())
    }
}

/// The `Retry-After` of a result (seconds; header names in any case).
fn retry_after(result: &Value) -> Option<Duration> {
    let headers = result.get("headers")?.as_object()?;
    let value = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("retry-after"))?
        .1;
    value
        .as_str()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// Reads the function's result (`statusCode`, `headers`, `body`).
fn answer(payload: &[u8]) -> Result<ResolvedCredential, ResolveError> {
    let malformed = || ResolveError::Failed("the answer does not parse".into());
    let result: Value = serde_json::from_slice(payload).map_err(|_| malformed())?;
    let status = result
        .get("statusCode")
        .and_then(Value::as_u64)
        .ok_or_else(malformed)?;
    let raw = result.get("body").and_then(Value::as_str).unwrap_or("");
    let body = if result.get("isBase64Encoded") == Some(&Value::Bool(true)) {
        STANDARD.decode(raw).map_err(|_| malformed())?
    } else {
        raw.as_bytes().to_vec()
    };
    if status == 200 {
        return ResolvedCredential::from_body(&body);
    }
    let code = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default();
    Err(match (status, code.as_str()) {
        (404, _) => ResolveError::NotFound,
        (409, "credential_deleted") => ResolveError::Deleted,
        (409, "version_expired") => ResolveError::VersionExpired,
        (409, "version_destroyed") => ResolveError::VersionDestroyed,
        (409, "reauthorization_required") => ResolveError::ReauthorizationRequired,
        (409, "token_endpoint_refused") => ResolveError::TokenEndpointRefused,
        (401, _) => ResolveError::Unauthorized,
        (403, _) => ResolveError::Forbidden,
        (400..=499, _) => ResolveError::Invalid(code),
        (503, _) => ResolveError::Unavailable {
            retry_after: retry_after(&result),
        },
        _ => ResolveError::Failed(format!("status {status}")),
    })
}

#[cfg(test)]
mod tests;
