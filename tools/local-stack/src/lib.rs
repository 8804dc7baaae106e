//! The one way a local stack is set up: the table (with its indexes and TTL) and the two KMS
//! keys the service needs, in the emulator (or any account the SDK config points at). The
//! admin tool's `setup`, the integration tests and the benchmarks all call [`ensure`]; on
//! AWS, `template.yaml` creates the same resources.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_kms::types::{KeySpec, KeyUsageType};
use credentials_core::settings::{retries, timeouts, Settings};
use credentials_core::store::create_table;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// What a local stack consists of.
#[derive(Clone, Debug)]
pub struct LocalStack {
    pub table: String,
    /// The KMS key that wraps data keys (`KMS_KEY_ID`).
    pub kms_key_arn: String,
    /// The KMS HMAC key of idempotency fingerprints (`IDEMPOTENCY_KEY_ID`).
    pub mac_key_arn: String,
}

impl LocalStack {
    /// The service's settings for this stack (`api_key_cache`: how long a checked key is
    /// trusted; zero turns the cache off).
    pub fn settings(&self, api_key_cache: Duration) -> Settings {
        Settings {
            table_name: self.table.clone(),
            kms_key_id: Some(self.kms_key_arn.clone()),
            idempotency_key_id: Some(self.mac_key_arn.clone()),
            api_key_cache,
            endpoint_url: None,
            audit_retention: std::time::Duration::from_secs(
                86_400 * credentials_core::audit::DEFAULT_RETENTION_DAYS,
            ),
            purge_quiet: std::time::Duration::from_secs(
                86_400 * credentials_core::domain::usage::DEFAULT_PURGE_QUIET_DAYS,
            ),
        }
    }
}

/// SDK configuration for the tools run on a workstation (the admin command): region and
/// credentials from aws-config's usual chains (environment, profile files, SSO…), unlike
/// the functions, which take them from the environment alone
/// (`credentials_core::settings::sdk_config`); `AWS_ENDPOINT_URL` is honoured by both.
pub async fn workstation_sdk_config(settings: &Settings) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(retries());
    if let Some(endpoint) = &settings.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// SDK configuration for an emulator at `endpoint`: fixed region, dummy static credentials,
/// and the same timeouts and retries as production.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "local",
        ))
        .endpoint_url(endpoint)
        .timeout_config(timeouts())
        .retry_config(retries())
        .load()
        .await
}

/// Creates what is missing of the stack and returns it. With `alias`, the keys are found
/// or created behind `alias` and `<alias>-idempotency` (so a second run reuses them);
/// without, two fresh keys are made (each test its own).
pub async fn ensure(
    sdk: &SdkConfig,
    table: &str,
    alias: Option<&str>,
) -> Result<LocalStack, Error> {
    ensure_table(&aws_sdk_dynamodb::Client::new(sdk), table).await?;
    let kms = aws_sdk_kms::Client::new(sdk);
    let mac_alias = alias.map(|a| format!("{a}-idempotency"));
    let kms_key_arn = ensure_key(
        &kms,
        alias,
        KeySpec::SymmetricDefault,
        KeyUsageType::EncryptDecrypt,
    )
    .await?;
    let mac_key_arn = ensure_key(
        &kms,
        mac_alias.as_deref(),
        KeySpec::Hmac256,
        KeyUsageType::GenerateVerifyMac,
    )
    .await?;
    Ok(LocalStack {
        table: table.to_owned(),
        kms_key_arn,
        mac_key_arn,
    })
}

async fn ensure_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), Error> {
    if client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .is_ok()
    {
        return Ok(());
    }
    create_table(client, table)
        .await
        .map_err(|e| format!("creating table {table} failed: {e:?}"))?;
    Ok(())
}

/// The ARN of the key behind `alias` (created with the alias when missing), or of a new key.
async fn ensure_key(
    kms: &aws_sdk_kms::Client,
    alias: Option<&str>,
    spec: KeySpec,
    usage: KeyUsageType,
) -> Result<String, Error> {
    if let Some(alias) = alias {
        if let Ok(found) = kms.describe_key().key_id(alias).send().await {
            if let Some(arn) = found.key_metadata().and_then(|m| m.arn()) {
                return Ok(arn.to_owned());
            }
        }
    }
    let created = kms
        .create_key()
        .description("Credentials API (local)")
        .key_spec(spec)
        .key_usage(usage)
        .send()
        .await
        .map_err(|e| {
            format!(
                "creating a KMS key failed: {}",
                e.code().unwrap_or("unknown")
            )
        })?;
    let metadata = created
        .key_metadata()
        .ok_or("KMS returned no key metadata")?;
    if let Some(alias) = alias {
        kms.create_alias()
            .alias_name(alias)
            .target_key_id(metadata.key_id())
            .send()
            .await
            .map_err(|e| {
                format!(
                    "creating a KMS alias failed: {}",
                    e.code().unwrap_or("unknown")
                )
            })?;
    }
    metadata
        .arn()
        .map(str::to_owned)
        .ok_or_else(|| "KMS returned no key ARN".into())
}
