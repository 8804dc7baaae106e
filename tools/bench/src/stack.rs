//! The stack every measurement runs against: a fresh table and KMS keys in the emulator
//! (set up by `local_stack::ensure`, as the tests and the admin tool do), and an API key.

use std::time::{Duration, SystemTime};

use credentials_core::audit::{Action, AuditEvent};
use credentials_core::store::ApiKeyRecord;

use credentials_core::auth::Scope;
use credentials_core::clock::WallClock;
use credentials_core::service::api_keys;
use credentials_core::{AppState, Settings};
use secrecy::ExposeSecret;
use test_harness::{sdk_config, unique};

use crate::Error;

/// The workspace of the bench's own API key: the credentials the warm routes and the raw
/// calls act on live there.
pub const WORKSPACE: &str = "bench";

pub struct Stack {
    pub sdk: aws_config::SdkConfig,
    pub state: AppState,
    pub settings: Settings,
    pub endpoint: String,
    /// An API key of [`WORKSPACE`] with every scope.
    pub key: String,
    /// The same, in the format keys had before they named their workspace (`cak_<43>`):
    /// a request with it reads the key, then the credential, as every request did then.
    pub older_key: String,
}

impl Stack {
    pub async fn start(endpoint: &str) -> Result<Self, Error> {
        let sdk = sdk_config(endpoint).await;
        let local = local_stack::ensure(&sdk, &unique("bench"), None).await?;
        let mut settings = local.settings(Duration::from_secs(60));
        settings.endpoint_url = Some(endpoint.to_owned());
        let state = AppState::new(&sdk, &settings)?;
        let key = api_keys::mint(
            &state.store,
            &WallClock,
            WORKSPACE,
            Scope::ALL,
            "bench",
            credentials_core::audit::default_retention(),
        )
        .await
        .map_err(|e| format!("{e:?}"))?
        .key
        .expose_secret()
        .to_owned();
        let older_key = older_key(&state).await?;
        Ok(Self {
            sdk,
            state,
            settings,
            endpoint: endpoint.to_owned(),
            key,
            older_key,
        })
    }

    /// The environment a function (or the local server) is configured by on this stack.
    pub fn function_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("TABLE_NAME", self.settings.table_name.clone()),
            (
                "KMS_KEY_ID",
                self.settings.kms_key_id.clone().unwrap_or_default(),
            ),
            (
                "IDEMPOTENCY_KEY_ID",
                self.settings.idempotency_key_id.clone().unwrap_or_default(),
            ),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("API_KEY_CACHE_SECONDS", "60".to_owned()),
            ("LOG_LEVEL", "warn".to_owned()),
        ];
        // The emulator's longer bounds (scripts/lib.sh): moto serves one request at a time,
        // and a write cut off by the default 1 s attempt answers 503.
        for name in ["SDK_ATTEMPT_TIMEOUT_MS", "SDK_OPERATION_TIMEOUT_MS"] {
            if let Ok(value) = std::env::var(name) {
                env.push((name, value));
            }
        }
        env
    }
}

/// Stores a key in the older format with every scope, as `mint` stored keys then (its record
/// and its audit event).
async fn older_key(state: &AppState) -> Result<String, Error> {
    // 42 Crockford letters and digits (all in base64url's alphabet) and a last letter whose
    // two unused bits are zero: 43 characters that decode to 32 bytes.
    let random = format!("{}{}", ulid::Ulid::new(), ulid::Ulid::new());
    let key = format!("cak_{}Q", &random[..42]);
    let record = ApiKeyRecord {
        key_id: credentials_core::ids::new_key_id(),
        key_hash: credentials_core::auth::hash_key(&key),
        workspace_id: WORKSPACE.to_owned(),
        scopes: Scope::ALL.to_vec(),
        description: "bench, older format".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        revoked_at: None,
    };
    let event = AuditEvent::for_api_key(
        Action::ApiKeyCreated,
        WORKSPACE,
        &record.key_id,
        SystemTime::now(),
        credentials_core::audit::default_retention(),
    );
    state
        .store
        .put_api_key(&record, &event)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(key)
}
