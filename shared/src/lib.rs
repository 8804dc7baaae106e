//! `credentials-core`: everything the per-route Lambda functions of the Credentials API run
//! (the crate lives in the `shared/` folder).
//!
//! A request goes `http` (extract input from the event) → `service` (the use case:
//! authorize, read, `validate` into the `domain`'s typed commands, seal with `crypto`,
//! conditional write through `store` together with its `audit` event) → back to `http`,
//! which renders the result as one of the `views` (none carries a secret value except
//! resolve's, by design).

pub mod audit;
pub mod auth;
pub mod clock;
#[cfg(feature = "encryption")]
pub mod crypto;
pub mod cursor;
pub mod domain;
#[cfg(feature = "egress")]
pub mod egress;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod ids;
mod labels;
#[cfg(test)]
mod properties;
pub mod service;
pub mod settings;
pub mod store;
pub mod telemetry;
pub mod validate;
pub mod views;

use aws_types::SdkConfig;

pub use settings::Settings;
pub use store::Store;

/// Clients and configuration, built once per container and shared by every request.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    /// API keys this container has checked recently.
    pub keys: std::sync::Arc<auth::KeyCache>,
    /// Where every timestamp, TTL and cache age comes from.
    pub clock: clock::SharedClock,
    /// How long audit events are kept (their TTL).
    pub audit_retention: std::time::Duration,
    /// How long after its last use a purge needs `force` (`PURGE_QUIET_DAYS`).
    pub purge_quiet: std::time::Duration,
    #[cfg(feature = "encryption")]
    pub encryptor: crypto::Encryptor,
    /// The one way to call a user-supplied endpoint (OAuth token endpoints), built on its
    /// first use from `egress_policy` (its TLS roots cost nothing at start-up then).
    #[cfg(feature = "refresh")]
    pub egress: std::sync::Arc<std::sync::OnceLock<egress::EgressGuard>>,
    #[cfg(feature = "refresh")]
    pub egress_policy: egress::EgressPolicy,
    /// How long a resolve waits for another caller's refresh of the same token.
    #[cfg(feature = "refresh")]
    pub refresh_wait: std::time::Duration,
}

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl AppState {
    /// Reads the environment, builds the SDK clients this binary links, and warms the
    /// DynamoDB connection as `PREWARM` says (see [`AppState::prewarm`]).
    pub async fn from_env() -> Result<Self, BoxError> {
        let settings = Settings::from_env()?;
        let sdk = settings::sdk_config(&settings)?;
        #[allow(unused_mut)]
        let mut state = Self::new(&sdk, &settings)?;
        // EGRESS_LOCAL_MODE and EGRESS_ALLOW (strict by default).
        #[cfg(feature = "refresh")]
        {
            state.egress_policy = egress::EgressPolicy::from_env()?;
        }
        state.prewarm(store::Prewarm::from_env()?).await;
        Ok(state)
    }

    /// Warms the DynamoDB connection during init as `mode` says ([`store::Prewarm`]: by
    /// default only where init runs before any event arrives). Best effort: on failure the
    /// first request connects as usual. Logs the mode and `prewarm_ms` (what the
    /// benchmarks report next to init); nothing for `none`.
    pub async fn prewarm(&self, mode: store::Prewarm) {
        if mode == store::Prewarm::None {
            return;
        }
        let started = std::time::Instant::now();
        let outcome = self.store.prewarm(mode).await;
        let prewarm_ms = started.elapsed().as_secs_f64() * 1000.0;
        let prewarm = mode.name();
        match outcome {
            Ok(()) => tracing::info!(prewarm, prewarm_ms, "connection prewarmed"),
            Err(_) => tracing::warn!(prewarm, prewarm_ms, "connection prewarm failed"),
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
        Self::with_clock(clients, settings, clock::wall())
    }

    /// [`AppState::from_clients`] on a given clock (tests freeze or move it).
    pub fn with_clock(
        clients: Clients,
        settings: &Settings,
        clock: clock::SharedClock,
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
            keys: std::sync::Arc::new(auth::KeyCache::new(settings.api_key_cache, clock.clone())),
            clock,
            audit_retention: settings.audit_retention,
            purge_quiet: settings.purge_quiet,
            #[cfg(feature = "encryption")]
            encryptor,
            #[cfg(feature = "refresh")]
            egress: std::sync::Arc::default(),
            #[cfg(feature = "refresh")]
            egress_policy: egress::EgressPolicy::strict(),
            #[cfg(feature = "refresh")]
            refresh_wait: service::refresh::DEFAULT_REFRESH_WAIT,
        })
    }
}

impl AppState {
    /// The egress guard (built on first use).
    #[cfg(feature = "refresh")]
    pub fn egress(&self) -> &egress::EgressGuard {
        self.egress
            .get_or_init(|| egress::EgressGuard::new(self.egress_policy.clone()))
    }

    /// Uses `guard` for every outbound call (tests: a resolver or connector of their own).
    #[cfg(feature = "refresh")]
    pub fn with_egress(mut self, guard: egress::EgressGuard) -> Self {
        self.egress = std::sync::Arc::new(std::sync::OnceLock::from(guard));
        self
    }

    /// The current time.
    pub fn now(&self) -> std::time::SystemTime {
        self.clock.now()
    }

    /// The current time as RFC 3339 UTC with second precision.
    pub fn now_rfc3339(&self) -> String {
        clock::rfc3339(self.now())
    }

    /// The current time in seconds since the Unix epoch.
    pub fn now_epoch(&self) -> u64 {
        clock::epoch_seconds(self.now())
    }
}

/// The AWS clients a state uses.
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    #[cfg(feature = "encryption")]
    pub kms: aws_sdk_kms::Client,
}
