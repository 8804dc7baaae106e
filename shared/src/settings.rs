//! Configuration from the environment (set by `template.yaml`, or by the local scripts) and
//! the AWS SDK configuration built from it. Both are made once per container.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

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
/// function timeout is chosen above that product (`tests/template.rs`).
pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_millis(2_000);

/// Explicit timeouts and retries: the SDK sets no operation timeout by default, and a Lambda
/// that hangs on a dead connection until its own timeout bills for all of it. The
/// overrides exist for the local emulator, which can stall for seconds and, unlike
/// DynamoDB, does not make a retried transaction idempotent; they void the worst-case
/// bound above, so production leaves them unset.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(millis_from_env(
            "SDK_ATTEMPT_TIMEOUT_MS",
            DEFAULT_ATTEMPT_TIMEOUT,
        ))
        .operation_timeout(millis_from_env(
            "SDK_OPERATION_TIMEOUT_MS",
            DEFAULT_OPERATION_TIMEOUT,
        ))
        .build()
}

pub fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(20))
        .with_max_backoff(Duration::from_millis(500))
}

/// Loads the SDK configuration (region and credentials from the usual chain).
pub async fn load_sdk_config(settings: &Settings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(retries());
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}
