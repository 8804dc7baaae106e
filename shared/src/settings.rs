//! Configuration from the environment (set by `template.yaml`, or by the local scripts) and
//! the AWS SDK configuration built from it. Both are made once per container.

use std::time::Duration;

use aws_sdk_dynamodb::config::{
    BehaviorVersion, Credentials, Region, SharedCredentialsProvider, SharedHttpClient,
};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;

/// Default of `API_KEY_CACHE_SECONDS`: a revoked key stops working within this time.
pub const DEFAULT_API_KEY_CACHE_SECONDS: u64 = 30;

/// Settings every function reads at start-up.
#[derive(Clone, Debug)]
pub struct Settings {
    /// DynamoDB table holding credentials, name reservations and API keys.
    pub table_name: String,
    /// KMS key (id, ARN or alias) that wraps the per-credential data keys. Only the
    /// functions that write secrets need it.
    pub kms_key_id: Option<String>,
    /// KMS HMAC key for idempotency fingerprints (create only).
    pub idempotency_key_id: Option<String>,
    /// How long a container trusts an API key it has checked (the revocation delay).
    pub api_key_cache: Duration,
    /// Endpoint override for a local emulator, e.g. `http://127.0.0.1:4566`.
    pub endpoint_url: Option<String>,
    /// How long audit events are kept (`AUDIT_RETENTION_DAYS`, default 400).
    pub audit_retention: Duration,
    /// How long after its last resolve (or refused resolve) a credential's purge is
    /// refused without `force` (`PURGE_QUIET_DAYS`, default 7).
    pub purge_quiet: Duration,
}

#[derive(Debug)]
pub struct MissingSetting(pub &'static str);

impl std::fmt::Display for MissingSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "environment variable {} must be set", self.0)
    }
}

impl std::error::Error for MissingSetting {}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Settings {
    pub fn from_env() -> Result<Self, MissingSetting> {
        Ok(Self {
            table_name: non_empty("TABLE_NAME").ok_or(MissingSetting("TABLE_NAME"))?,
            kms_key_id: non_empty("KMS_KEY_ID"),
            idempotency_key_id: non_empty("IDEMPOTENCY_KEY_ID"),
            api_key_cache: Duration::from_secs(
                non_empty("API_KEY_CACHE_SECONDS")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(DEFAULT_API_KEY_CACHE_SECONDS),
            ),
            endpoint_url: non_empty("AWS_ENDPOINT_URL"),
            audit_retention: Duration::from_secs(
                86_400
                    * non_empty("AUDIT_RETENTION_DAYS")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(crate::audit::DEFAULT_RETENTION_DAYS),
            ),
            purge_quiet: Duration::from_secs(
                86_400
                    * non_empty("PURGE_QUIET_DAYS")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(crate::domain::usage::DEFAULT_PURGE_QUIET_DAYS),
            ),
        })
    }
}

fn millis_from_env(name: &str, default: Duration) -> Duration {
    non_empty(name)
        .and_then(|v| v.parse().ok())
        .map_or(default, Duration::from_millis)
}

/// Per-attempt bound of an AWS call (`SDK_ATTEMPT_TIMEOUT_MS` overrides it). DynamoDB and
/// KMS answer in milliseconds; an attempt still waiting after this is retried.
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1_000);

/// Bound of one AWS call including the SDK's retries (`SDK_OPERATION_TIMEOUT_MS` overrides
/// it). With `service::WORST_CASE_CALLS` it bounds a whole request; `template.yaml`'s
/// function timeout is chosen above that product (`tests/api/template.rs`).
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_millis(2_000);

/// Explicit timeouts and retries: the SDK sets no operation timeout by default, and a Lambda
/// that hangs on a dead connection until its own timeout bills for all of it. The
/// overrides exist for the local emulator, which can stall for seconds and, unlike
/// DynamoDB, does not make a retried transaction idempotent; they void the worst-case
/// bound above, so production leaves them unset.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(attempt_timeout())
        .operation_timeout(operation_timeout())
        .build()
}

/// The bound of one AWS call, retries included ([`DEFAULT_OPERATION_TIMEOUT`] or
/// `SDK_OPERATION_TIMEOUT_MS`).
pub fn operation_timeout() -> Duration {
    millis_from_env("SDK_OPERATION_TIMEOUT_MS", DEFAULT_OPERATION_TIMEOUT)
}

/// The bound of one attempt ([`DEFAULT_ATTEMPT_TIMEOUT`] or `SDK_ATTEMPT_TIMEOUT_MS`).
pub fn attempt_timeout() -> Duration {
    millis_from_env("SDK_ATTEMPT_TIMEOUT_MS", DEFAULT_ATTEMPT_TIMEOUT)
}

/// How many operation timeouts one transaction may take: the store keeps attempting it
/// until its outcome is known (`store::transact`), so it counts as this many calls in the
/// worst case of a request (`service::WORST_CASE_CALLS`).
pub const TRANSACTION_BUDGET_CALLS: u32 = 2;

pub fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(20))
        .with_max_backoff(Duration::from_millis(500))
}

/// The roots AWS service endpoints chain to: Amazon Root CA 1–4 (Amazon Trust Services)
/// and Starfield Services Root Certificate Authority – G2, which cross-signs them; copied
/// from Debian's ca-certificates. Five certificates instead of the OS bundle's ~140: parsing
/// the bundle was most of a function's init, and no other CA can vouch for an AWS endpoint.
const AWS_TRUST_ROOTS: &[u8] = include_bytes!("../aws-trust-roots.pem");

/// The SDK's HTTPS client (rustls, aws-lc), built once per container. It trusts
/// [`AWS_TRUST_ROOTS`], unless the standard certificate environment names a trust store
/// (`SSL_CERT_FILE` or `SSL_CERT_DIR`, as rustls-native-certs reads them): then that one,
/// so an operator can widen trust (a TLS-inspecting proxy) without a rebuild.
pub fn http_client() -> SharedHttpClient {
    let from_environment = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    let trust = if from_environment {
        TrustStore::default()
    } else {
        TrustStore::empty()
            .with_native_roots(false)
            .with_pem_certificate(AWS_TRUST_ROOTS)
    };
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a TLS context with only a trust store always builds");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// The SDK configuration from what Lambda provides, and nothing else: the region from
/// `AWS_REGION` and the function's credentials from `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (Lambda sets them for the execution
/// environment's lifetime). No profile file is read, no instance metadata is probed, and no
/// STS or SSO client is linked (aws-config's chains would build an STS client, and its TLS
/// roots, at start-up: most of a cold start's init).
pub fn sdk_config(settings: &Settings) -> Result<SdkConfig, MissingSetting> {
    let region = non_empty("AWS_REGION")
        .or_else(|| non_empty("AWS_DEFAULT_REGION"))
        .ok_or(MissingSetting("AWS_REGION"))?;
    let credentials = Credentials::new(
        non_empty("AWS_ACCESS_KEY_ID").ok_or(MissingSetting("AWS_ACCESS_KEY_ID"))?,
        non_empty("AWS_SECRET_ACCESS_KEY").ok_or(MissingSetting("AWS_SECRET_ACCESS_KEY"))?,
        non_empty("AWS_SESSION_TOKEN"),
        None,
        "Environment",
    );
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(http_client())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .timeout_config(timeouts())
        .retry_config(retries());
    if let Some(endpoint) = &settings.endpoint_url {
        builder = builder.endpoint_url(endpoint);
    }
    Ok(builder.build())
}
