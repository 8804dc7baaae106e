//! Every body a successful answer carries, in one place: the credential, the lifecycle and
//! purge answers, audit events, the resolved credential and page metadata, each a type the
//! HTTP layer renders in the `{"data": …, "meta": …}` envelope. None carries a secret value
//! except [`Resolved`] (resolve's answer, by design).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::audit::{Actor, AuditEvent};
use crate::domain::{ListedCredential, StoredCredential};

/// The public shape of a credential: metadata, non-secret config, and the names (never the
/// values) of the secret fields that are set. Owned, so that an idempotent create can store
/// it and replay it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub config: Map<String, Value>,
    pub secret_fields: Vec<String>,
    /// Undeclared fields shown because the client asked (`visible_fields`).
    #[serde(default)]
    pub visible_fields: Vec<String>,
    /// The current secret version (0: none, or secrets written before versions existed).
    #[serde(default)]
    pub secret_version: u64,
    /// The version staged (`POST …/versions`), until it is promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_secret_version: Option<u64>,
    #[serde(default = "default_grace")]
    pub rotation_grace_seconds: u64,
    #[serde(default = "default_max_versions")]
    pub max_versions: u32,
    /// `ok`, or `reauthorization_required` once an oauth credential's refresh token was
    /// refused (until a write sets new refresh material).
    #[serde(default = "default_auth_status")]
    pub auth_status: String,
    pub version: u64,
}

fn default_auth_status() -> String {
    crate::domain::AuthStatus::Ok.as_str().to_owned()
}

fn default_grace() -> u64 {
    crate::domain::versions::DEFAULT_ROTATION_GRACE_SECONDS
}

fn default_max_versions() -> u32 {
    crate::domain::versions::DEFAULT_MAX_VERSIONS
}

impl From<&StoredCredential> for Credential {
    fn from(c: &StoredCredential) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            kind: c.kind.as_str().to_owned(),
            status: c.status.as_str().to_owned(),
            created_at: c.created_at.clone(),
            updated_at: c.updated_at.clone(),
            deleted_at: c.deleted_at.clone(),
            created_by: c.created_by.clone(),
            config: c.config.clone(),
            secret_fields: c.secret_fields().map(str::to_owned).collect(),
            visible_fields: c.visible_fields.clone(),
            secret_version: c.versions.current,
            pending_secret_version: c.versions.pending,
            rotation_grace_seconds: c.versions.rotation_grace_seconds,
            max_versions: c.versions.max_versions,
            auth_status: c.auth_status.as_str().to_owned(),
            version: c.version,
        }
    }
}

impl From<&ListedCredential> for Credential {
    fn from(c: &ListedCredential) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            kind: c.kind.as_str().to_owned(),
            status: c.status.as_str().to_owned(),
            created_at: c.created_at.clone(),
            updated_at: c.updated_at.clone(),
            deleted_at: c.deleted_at.clone(),
            created_by: c.created_by.clone(),
            config: c.config.clone(),
            secret_fields: c.secret_fields.clone(),
            visible_fields: c.visible_fields.clone(),
            secret_version: c.secret_version,
            pending_secret_version: c.pending_secret_version,
            rotation_grace_seconds: c.rotation_grace_seconds,
            max_versions: c.max_versions,
            auth_status: c.auth_status.as_str().to_owned(),
            version: c.version,
        }
    }
}

impl Credential {
    /// True when one of `secret_keys` is also a visible setting. A key is in exactly one
    /// place (config or sealed secrets); the write paths check their answer against the
    /// keys they sealed before anything is stored, as the last line of defence should a
    /// path ever put a secret's value among the visible settings.
    pub fn shows_any_of<'s>(&self, mut secret_keys: impl Iterator<Item = &'s str>) -> bool {
        secret_keys.any(|key| self.config.contains_key(key))
    }
}

/// Answer of soft delete and restore: the lifecycle fields only.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Lifecycle {
    pub id: String,
    pub status: &'static str,
    pub deleted_at: Option<String>,
    pub version: u64,
}

impl From<&StoredCredential> for Lifecycle {
    fn from(c: &StoredCredential) -> Self {
        Self {
            id: c.id.clone(),
            status: c.status.as_str(),
            deleted_at: c.deleted_at.clone(),
            version: c.version,
        }
    }
}

/// Answer of purge.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Purged {
    pub id: String,
    pub purged: bool,
}

/// One entry of a credential's version history: metadata, never sealed data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SecretVersion {
    pub version: u64,
    /// The stage it carries now, if any.
    pub stage: Option<&'static str>,
    pub created_at: String,
    pub created_by: String,
    /// The secret fields it set or removed.
    pub changed_fields: Vec<String>,
    /// The secret fields it holds (names only); empty once destroyed.
    pub secret_fields: Vec<String>,
    pub destroyed: bool,
    pub destroyed_at: Option<String>,
}

impl SecretVersion {
    pub fn of(credential: &StoredCredential, v: &crate::domain::SecretVersion) -> Self {
        Self {
            version: v.version,
            stage: credential.stage_of(v.version).map(|s| s.as_str()),
            created_at: v.created_at.clone(),
            created_by: v.created_by.clone(),
            changed_fields: v.changed_fields.clone(),
            secret_fields: v.secrets.keys().cloned().collect(),
            destroyed: v.destroyed_at.is_some(),
            destroyed_at: v.destroyed_at.clone(),
        }
    }
}

/// Page metadata of both lists: `{"page": {"limit": 50, "cursor": "…" | null}}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PageMeta {
    pub page: PageInfo,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PageInfo {
    pub limit: usize,
    pub cursor: Option<String>,
}

impl PageMeta {
    pub fn new(limit: usize, cursor: Option<String>) -> Self {
        Self {
            page: PageInfo { limit, cursor },
        }
    }
}

/// The public shape of an audit event.
#[derive(Serialize, Debug)]
pub struct Event<'a> {
    pub id: &'a str,
    pub at: &'a str,
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    pub actor: EventActor<'a>,
    /// Lambda's own id of the invocation that made the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'a str>,
    /// What the invoking event reported about itself (a direct invocation can write
    /// anything here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caller_asserted: Option<EventCaller<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_version: Option<u64>,
    pub changes: &'a [String],
    /// Present (true) on a purge made with `force=true` despite recent use.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub forced: bool,
}

#[derive(Serialize, Debug)]
pub struct EventCaller<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<&'a str>,
}

#[derive(Serialize, Debug)]
pub struct EventActor<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a str>,
}

impl<'a> From<&'a AuditEvent> for Event<'a> {
    fn from(e: &'a AuditEvent) -> Self {
        Self {
            id: &e.id,
            at: &e.at,
            action: e.action.as_str(),
            credential_id: e.credential_id.as_deref(),
            credential_name: e.credential_name.as_deref(),
            key_id: e.key_id.as_deref(),
            version: e.version,
            actor: match &e.actor {
                Actor::ApiKey(id) => EventActor {
                    kind: "api_key",
                    id: Some(id),
                },
                Actor::Admin => EventActor {
                    kind: "admin",
                    id: None,
                },
                Actor::Scheduler => EventActor {
                    kind: "scheduler",
                    id: None,
                },
            },
            request_id: e.request.lambda_request_id.as_deref(),
            caller_asserted: (!e.request.caller_asserted.is_empty()).then(|| {
                let asserted = &e.request.caller_asserted;
                EventCaller {
                    request_id: asserted.request_id.as_deref(),
                    source_ip: asserted.source_ip.as_deref(),
                    user_agent: asserted.user_agent.as_deref(),
                }
            }),
            purpose: e.purpose.as_deref(),
            secret_version: e.secret_version,
            changes: &e.changes,
            forced: e.forced,
        }
    }
}

fn rfc3339_of(epoch: u64) -> String {
    crate::clock::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch))
}

/// `GET /api/credentials/{id}/usage`: who resolved the credential, when and how often
/// (never a value).
#[derive(Serialize, Debug)]
pub struct CredentialUsage<'a> {
    pub credential_id: &'a str,
    #[serde(flatten)]
    pub figures: UsageFigures<'a>,
    /// The most recently seen first, at most 100.
    pub consumers: Vec<ConsumerUsage<'a>>,
    pub consumers_truncated: bool,
}

#[derive(Serialize, Debug)]
pub struct ConsumerUsage<'a> {
    pub consumer: &'a str,
    pub last_seen_at: String,
    #[serde(flatten)]
    pub figures: UsageFigures<'a>,
}

/// What the credential and each consumer show alike: last times and counts.
#[derive(Serialize, Debug)]
pub struct UsageFigures<'a> {
    pub last_resolved_at: Option<String>,
    pub last_purpose: Option<&'a str>,
    pub last_refused_at: Option<String>,
    pub resolves_24h: u64,
    pub resolves_30d: u64,
    pub refusals_30d: u64,
}

impl<'a> UsageFigures<'a> {
    fn of(
        last_resolved: &'a Option<(u64, String)>,
        last_refused: Option<u64>,
        counts: [u64; 3],
    ) -> Self {
        let [resolves_24h, resolves_30d, refusals_30d] = counts;
        Self {
            last_resolved_at: last_resolved.as_ref().map(|(at, _)| rfc3339_of(*at)),
            last_purpose: last_resolved.as_ref().map(|(_, p)| p.as_str()),
            last_refused_at: last_refused.map(rfc3339_of),
            resolves_24h,
            resolves_30d,
            refusals_30d,
        }
    }
}

impl<'a> CredentialUsage<'a> {
    pub fn of(credential_id: &'a str, usage: &'a crate::domain::usage::Usage) -> Self {
        let counts = [usage.resolves_24h, usage.resolves_30d, usage.refusals_30d];
        Self {
            credential_id,
            figures: UsageFigures::of(&usage.last_resolved, usage.last_refused, counts),
            consumers: usage
                .consumers
                .iter()
                .map(|c| ConsumerUsage {
                    consumer: &c.consumer,
                    last_seen_at: rfc3339_of(c.last_seen()),
                    figures: UsageFigures::of(
                        &c.last_resolved,
                        c.last_refused,
                        [c.resolves_24h, c.resolves_30d, c.refusals_30d],
                    ),
                })
                .collect(),
            consumers_truncated: usage.consumers_truncated,
        }
    }
}

/// The envelope every successful answer uses: `{"data": …, "meta": …}`.
#[derive(Serialize, Deserialize)]
pub struct Envelope<D, M = ()> {
    pub data: D,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<M>,
}

/// Serializes an answer in the envelope. Views hold only strings, numbers and JSON values,
/// so serialization cannot fail.
pub fn document<D: Serialize, M: Serialize>(data: D, meta: Option<M>) -> Vec<u8> {
    serde_json::to_vec(&Envelope { data, meta }).expect("views always serialize")
}

#[cfg(feature = "encryption")]
pub use resolved::Resolved;

#[cfg(feature = "encryption")]
mod resolved {
    use serde::ser::SerializeMap;
    use serde::{Serialize, Serializer};
    use serde_json::value::RawValue;

    use crate::domain::Encoding;

    use crate::service::ResolvedCredential;

    /// The resolve answer: the credential's metadata and every config field, secrets
    /// written straight from their `SecretString`s into the body (no intermediate copy).
    #[derive(Serialize)]
    pub struct Resolved<'a> {
        id: &'a str,
        name: &'a str,
        #[serde(rename = "type")]
        kind: &'static str,
        status: &'static str,
        version: u64,
        updated_at: &'a str,
        /// Which fields of `config` are secrets (as in every other view).
        secret_fields: Vec<&'a str>,
        /// The secret version resolved, its stage, when the current version became current
        /// and, for `previous`, when its grace ends.
        secret_version: u64,
        stage: Option<&'static str>,
        rotated_at: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        valid_until: Option<&'a str>,
        /// Refreshed oauth credentials only: the access token was answered during a
        /// cooldown, good for less than the `min_ttl_seconds` asked.
        #[serde(skip_serializing_if = "Option::is_none")]
        stale: Option<bool>,
        config: Config<'a>,
    }

    impl<'a> From<&'a ResolvedCredential> for Resolved<'a> {
        fn from(resolved: &'a ResolvedCredential) -> Self {
            let c = &resolved.credential;
            Self {
                id: &c.id,
                name: &c.name,
                kind: c.kind.as_str(),
                status: c.status.as_str(),
                version: c.version,
                updated_at: &c.updated_at,
                secret_fields: resolved.secrets.keys().map(String::as_str).collect(),
                secret_version: resolved.secret_version,
                stage: resolved.stage.map(|s| s.as_str()),
                rotated_at: resolved.rotated_at.as_deref(),
                valid_until: resolved.valid_until.as_deref(),
                stale: resolved.stale,
                config: Config(resolved),
            }
        }
    }

    struct Config<'a>(&'a ResolvedCredential);

    impl Serialize for Config<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let resolved = self.0;
            let config = &resolved.config;
            let mut map = serializer.serialize_map(Some(config.len() + resolved.secrets.len()))?;
            for (key, value) in config {
                map.serialize_entry(key, value)?;
            }
            for (key, secret) in &resolved.secrets {
                match secret.encoding {
                    Encoding::Text => map.serialize_entry(key, secret.expose())?,
                    // Written as sent, without a parsed copy (the raw text is borrowed).
                    Encoding::Json => {
                        let raw: &RawValue = serde_json::from_str(secret.expose())
                            .map_err(|_| serde::ser::Error::custom("a sealed value is not JSON"))?;
                        map.serialize_entry(key, raw)?
                    }
                }
            }
            map.end()
        }
    }
}
