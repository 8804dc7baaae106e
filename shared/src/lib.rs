//! The Credentials API's shared crate: everything the per-route Lambda functions run.
//!
//! A request goes `api` (extract input from the event, render the answer) → `service` (the
//! use case: authorize, read, `validate` with `classify` and `names`, seal with `crypto`,
//! conditional write through `store` together with its `audit` event) → back to `api` as
//! `model` views, which never carry secret values (except resolve's, by design).

pub mod api;
pub mod audit;
pub mod auth;
pub mod classify;
#[cfg(feature = "encryption")]
pub mod crypto;
pub mod cursor;
pub mod error;
pub mod idempotency;
pub mod ids;
pub mod model;
pub mod names;
pub mod schema;
pub mod service;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod validate;

use aws_types::SdkConfig;

pub use settings::Settings;
pub use store::Store;

/// Clients and configuration, built once per container and shared by every request.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    /// API keys this container has checked recently.
    pub keys: std::sync::Arc<auth::KeyCache>,
    /// How long audit events are kept (their TTL).
    pub audit_retention: std::time::Duration,
    #[cfg(feature = "encryption")]
    pub encryptor: crypto::Encryptor,
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl AppState {
    /// Reads the environment, builds the SDK clients this binary links, and opens the
    /// DynamoDB connection (see [`AppState::prewarm`]).
    pub async fn from_env() -> Result<Self, BoxError> {
        let settings = Settings::from_env()?;
        let sdk = settings::sdk_config(&settings)?;
        let state = Self::new(&sdk, &settings)?;
        state.prewarm().await;
        Ok(state)
    }

    /// Opens the DynamoDB connection during init, when Lambda gives the function a full
    /// CPU, instead of in the first request. Best effort: on failure the first request
    /// connects as usual. Logs `prewarm_ms` (what the benchmarks report next to init).
    pub async fn prewarm(&self) {
        let started = std::time::Instant::now();
        let outcome = self.store.prewarm().await;
        let prewarm_ms = started.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            Ok(()) => tracing::info!(prewarm_ms, "connection prewarmed"),
            Err(_) => tracing::warn!(prewarm_ms, "connection prewarm failed"),
        }
    }

    /// The clients of `sdk`, assembled by [`AppState::from_clients`].
    pub fn new(sdk: &SdkConfig, settings: &Settings) -> Result<Self, settings::MissingSetting> {
        Self::from_clients(
            Clients {
                dynamodb: aws_sdk_dynamodb::Client::new(sdk),
                #[cfg(feature = "encryption")]
                kms: aws_sdk_kms::Client::new(sdk),
            },
            settings,
        )
    }

    /// The one place a state is assembled: from clients (the tests pass clients that count
    /// or fail their calls) and settings.
    pub fn from_clients(
        clients: Clients,
        settings: &Settings,
    ) -> Result<Self, settings::MissingSetting> {
        #[cfg(feature = "encryption")]
        let encryptor = crypto::Encryptor::new(
            clients.kms,
            settings
                .kms_key_id
                .clone()
                .ok_or(settings::MissingSetting("KMS_KEY_ID"))?,
        )
        .with_fingerprint_key(settings.idempotency_key_id.clone());
        Ok(Self {
            store: Store::new(clients.dynamodb, &settings.table_name),
            keys: std::sync::Arc::new(auth::KeyCache::new(settings.api_key_cache)),
            audit_retention: settings.audit_retention,
            #[cfg(feature = "encryption")]
            encryptor,
        })
    }
}

/// The AWS clients a state uses.
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    #[cfg(feature = "encryption")]
    pub kms: aws_sdk_kms::Client,
}
