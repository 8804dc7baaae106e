//! The audit trail: one event per change (create, update, soft delete, restore, purge), per
//! resolve and per API-key mint or revoke. Events carry ids, the actor, where the request
//! came from and the paths that changed, never a config value (not even of a visible
//! field); the name and a resolve's purpose are kept as sent. Lambda's own request id is
//! recorded as the event's `request_id`; what the invoking event reports (its request id,
//! source address and user agent, printable characters only, at most 256) is kept apart,
//! as asserted by the caller. The
//! store writes each in the same transaction as its change (a resolve's before any
//! plaintext leaves); events outlive purge and expire by TTL.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use crate::clock;
use crate::domain::StoredCredential;

/// Default of `AUDIT_RETENTION_DAYS`: how long events are kept before DynamoDB TTL removes
/// them.
pub const DEFAULT_RETENTION_DAYS: u64 = 400;

/// `DEFAULT_RETENTION_DAYS` as a duration.
pub fn default_retention() -> Duration {
    Duration::from_secs(86_400 * DEFAULT_RETENTION_DAYS)
}

crate::labelled_enum! {
    /// What happened.
    pub enum Action {
        CredentialCreated => "credential.created",
        CredentialUpdated => "credential.updated",
        CredentialDeleted => "credential.deleted",
        CredentialRestored => "credential.restored",
        CredentialPurged => "credential.purged",
        CredentialResolved => "credential.resolved",
        /// A resolve of a soft-deleted credential was refused (who would have broken).
        ResolveRefused => "credential.resolve_refused",
        SecretStaged => "credential.secret_staged",
        VersionPromoted => "credential.version_promoted",
        VersionRestored => "credential.version_restored",
        VersionDestroyed => "credential.version_destroyed",
        /// The store refreshed an oauth credential's access token (never a value).
        TokenRefreshed => "credential.token_refreshed",
        /// The token endpoint refused the credential's refresh material.
        ReauthorizationRequired => "credential.reauthorization_required",
        ApiKeyCreated => "api_key.created",
        ApiKeyRevoked => "api_key.revoked",
    }
}

/// Who did it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A request authenticated by this API key (`key_…`).
    ApiKey(String),
    /// The operator's admin tool.
    Admin,
    /// The scheduled token refresher (`refresh-tokens`).
    Scheduler,
}

/// Where a request came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// Lambda's own id of the invocation (the one CloudTrail's `Invoke` record carries),
    /// from the runtime, never from the event: what no caller can choose.
    pub lambda_request_id: Option<String>,
    /// What the invoking event says about itself: its `requestContext.requestId`, source
    /// address and user agent. Set by API Gateway on routed requests, but a direct
    /// invocation writes its own event, so these are recorded as asserted by the caller.
    pub caller_asserted: CallerAsserted,
}

/// What the invoking event reports about the request (see [`RequestInfo`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallerAsserted {
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl CallerAsserted {
    pub fn is_empty(&self) -> bool {
        self.request_id.is_none() && self.source_ip.is_none() && self.user_agent.is_none()
    }
}

/// One audit event, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub workspace_id: String,
    /// `evt_` + lowercase ULID: sorts by time.
    pub id: String,
    pub at: String,
    pub action: Action,
    pub credential_id: Option<String>,
    /// The credential's name as it was when the event happened.
    pub credential_name: Option<String>,
    /// The API key an `api_key.*` event is about.
    pub key_id: Option<String>,
    /// The credential's version after the change (for a purge or resolve: the version it
    /// had).
    pub version: Option<u64>,
    pub actor: Actor,
    pub request: RequestInfo,
    /// Why a resolve read the credential.
    pub purpose: Option<String>,
    /// The secret version the event is about: the one a resolve read, or the one a write
    /// made, staged, promoted, restored or destroyed.
    pub secret_version: Option<u64>,
    /// The paths that changed (`name`, `config.port`, `config.password`), sorted.
    pub changes: Vec<String>,
    /// A purge made with `force=true` despite recent use.
    pub forced: bool,
    /// Epoch seconds after which DynamoDB TTL removes the event.
    pub expires_at: u64,
}

impl AuditEvent {
    /// An event about `credential` (its id, name and `version` as given).
    pub fn for_credential(
        action: Action,
        credential: &StoredCredential,
        actor: Actor,
        request: &RequestInfo,
        changes: Vec<String>,
        now: SystemTime,
        retention: Duration,
    ) -> Self {
        let (at, expires_at) = timestamps(now, retention);
        Self {
            workspace_id: credential.workspace_id.clone(),
            id: crate::ids::new_event_id(),
            at,
            action,
            credential_id: Some(credential.id.clone()),
            credential_name: Some(credential.name.clone()),
            key_id: None,
            version: Some(credential.version),
            actor,
            request: request.clone(),
            purpose: None,
            secret_version: None,
            changes,
            forced: false,
            expires_at,
        }
    }

    /// An event about an API key of `workspace_id`, by the admin tool.
    pub fn for_api_key(
        action: Action,
        workspace_id: &str,
        key_id: &str,
        now: SystemTime,
        retention: Duration,
    ) -> Self {
        let (at, expires_at) = timestamps(now, retention);
        Self {
            workspace_id: workspace_id.to_owned(),
            id: crate::ids::new_event_id(),
            at,
            action,
            credential_id: None,
            credential_name: None,
            key_id: Some(key_id.to_owned()),
            version: None,
            actor: Actor::Admin,
            request: RequestInfo::default(),
            purpose: None,
            secret_version: None,
            changes: Vec::new(),
            forced: false,
            expires_at,
        }
    }

    /// The event as one structured log line (`"message":"audit"`), for log subscriptions
    /// and SIEMs. Emitted once the event is stored.
    pub fn log(&self) {
        let view = crate::views::Event::from(self);
        tracing::info!(
            event_id = view.id,
            at = view.at,
            action = view.action,
            workspace_id = self.workspace_id.as_str(),
            credential_id = view.credential_id,
            credential_name = view.credential_name,
            key_id = view.key_id,
            version = view.version,
            actor_type = view.actor.kind,
            actor_id = view.actor.id,
            request_id = view.request_id,
            caller_request_id = self.request.caller_asserted.request_id.as_deref(),
            source_ip = self.request.caller_asserted.source_ip.as_deref(),
            user_agent = self.request.caller_asserted.user_agent.as_deref(),
            purpose = view.purpose,
            secret_version = view.secret_version,
            changes = self.changes.join(",").as_str(),
            forced = self.forced,
            "audit"
        );
    }
}

/// The event's time and its TTL expiry (epoch seconds).
fn timestamps(now: SystemTime, retention: Duration) -> (String, u64) {
    (
        clock::rfc3339(now),
        clock::epoch_seconds(now) + retention.as_secs(),
    )
}

/// The paths a create sets: `name`, `type`, every config field (secret or not) and
/// `visible_fields` when it names any.
pub fn created_paths(credential: &StoredCredential) -> Vec<String> {
    let mut paths: BTreeSet<String> = ["name".to_owned(), "type".to_owned()].into();
    paths.extend(credential.config.keys().map(|k| format!("config.{k}")));
    paths.extend(credential.secrets.keys().map(|k| format!("config.{k}")));
    if !credential.visible_fields.is_empty() {
        paths.insert("visible_fields".to_owned());
    }
    paths.into_iter().collect()
}

/// The paths an update changed: the name and `visible_fields` when they changed; a visible
/// config field when it
/// was added, removed or got another value; a secret field when it was set (a new value
/// cannot be compared with a sealed one, so setting counts as a change) or removed.
pub fn changed_paths(
    before: &StoredCredential,
    after: &StoredCredential,
    set_secrets: impl IntoIterator<Item = String>,
) -> Vec<String> {
    let mut paths = BTreeSet::new();
    if before.name != after.name {
        paths.insert("name".to_owned());
    }
    if before.visible_fields != after.visible_fields {
        paths.insert("visible_fields".to_owned());
    }
    let visible: BTreeSet<&String> = before.config.keys().chain(after.config.keys()).collect();
    for key in visible {
        if before.config.get(key) != after.config.get(key) {
            paths.insert(format!("config.{key}"));
        }
    }
    for key in before.secrets.keys() {
        if !after.secrets.contains_key(key) {
            paths.insert(format!("config.{key}"));
        }
    }
    paths.extend(set_secrets.into_iter().map(|k| format!("config.{k}")));
    paths.into_iter().collect()
}

/// The paths a soft delete or restore changes.
pub fn lifecycle_paths() -> Vec<String> {
    vec!["deleted_at".to_owned(), "status".to_owned()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SealedSecret;
    use crate::validate;
    use std::collections::BTreeMap;

    fn credential() -> StoredCredential {
        let input = validate::new_credential(serde_json::json!({
            "name": "db", "type": "database",
            "config": {"host": "h", "port": 5432, "password": "p-value"}
        }))
        .unwrap();
        let sealed = BTreeMap::from([(
            "password".to_owned(),
            SealedSecret {
                encrypted_data_key: vec![1],
                nonce: vec![2; 12],
                ciphertext: vec![3],
                encoding: crate::domain::Encoding::Text,
                bound: true,
            },
        )]);
        StoredCredential::new(
            "ws",
            crate::ids::new_credential_id(),
            input,
            sealed,
            "key_1",
            "t",
        )
    }

    #[test]
    fn actions_round_trip() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(*action));
        }
        assert_eq!(Action::parse("credential.read"), None);
    }

    #[test]
    fn paths_name_fields_never_values() {
        let before = credential();
        assert_eq!(
            created_paths(&before),
            [
                "config.host",
                "config.password",
                "config.port",
                "name",
                "type"
            ]
        );
        let mut after = before.clone();
        after.name = "db2".into();
        after.config.insert("port".into(), 6432.into());
        after.config.shift_remove("host");
        after.secrets.clear();
        let paths = changed_paths(&before, &after, ["token".to_owned()]);
        assert_eq!(
            paths,
            [
                "config.host",
                "config.password",
                "config.port",
                "config.token",
                "name"
            ]
        );
        let event = AuditEvent::for_credential(
            Action::CredentialUpdated,
            &after,
            Actor::ApiKey("key_1".into()),
            &RequestInfo::default(),
            paths,
            SystemTime::now(),
            Duration::from_secs(60),
        );
        let json = serde_json::to_string(&crate::views::Event::from(&event)).unwrap();
        assert!(
            !json.contains("6432") && !json.contains("p-value"),
            "{json}"
        );
        assert!(event.id.starts_with("evt_"));
    }
}
