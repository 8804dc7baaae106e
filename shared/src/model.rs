//! The credential record as stored, and the public views rendered from it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::names::name_key;
use crate::validate::{CredentialChange, NewCredential};

/// Declares the credential types once: the enum, `ALL`, the wire names, and the issue text
/// that lists them.
macro_rules! credential_types {
    ($($variant:ident => $wire:literal),+ $(,)?) => {
        /// The kinds of connection profile.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum CredentialType {
            $($variant),+
        }

        impl CredentialType {
            pub const ALL: &'static [CredentialType] = &[$(Self::$variant),+];

            /// The issue reported for an unknown type: every wire name, in order.
            pub const ONE_OF: &'static str =
                concat!("must be one of ", credential_types!(@join $($wire),+));

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire),+
                }
            }
        }
    };
    (@join $first:literal $(, $rest:literal)*) => { concat!($first $(, ", ", $rest)*) };
}

credential_types! {
    Aws => "aws",
    Azure => "azure",
    Gcp => "gcp",
    Database => "database",
    ApiKey => "api_key",
    Oauth => "oauth",
    Password => "password",
}

impl CredentialType {
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == s)
    }
}

/// Lifecycle state. A deleted credential keeps its name reserved until it is purged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Active,
    Deleted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

pub use crate::ids::{is_credential_id, new_credential_id};

/// Current time as RFC 3339 UTC with second precision, e.g. `2025-03-20T09:15:22Z`.
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// `at` in UTC as RFC 3339 with second precision.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .expect("zero nanoseconds is always valid")
        .format(&Rfc3339)
        .expect("a UTC timestamp always formats as RFC 3339")
}

/// One secret field, sealed with a KMS data key (envelope encryption). The data key itself
/// is stored encrypted under the KMS key; only KMS can unwrap it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub encrypted_data_key: Vec<u8>,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedSecret(..)")
    }
}

/// The idempotency record a create wrote, so that purge can delete it with the credential
/// (a replay after purge is then a fresh create, not a 201 pointing at a 404).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRef {
    /// Hex SHA-256 of the client's `Idempotency-Key`.
    pub key_hash: String,
    /// Epoch seconds after which the record is void (and may belong to another create).
    pub expires_at: u64,
}

/// A credential exactly as it lives in the table.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredCredential {
    pub workspace_id: String,
    pub id: String,
    pub name: String,
    /// The key the name reservation is stored under, as computed when the name was set.
    /// Release and rename use this stored key, never a recomputation, so a change of the
    /// folding rules (a new Unicode version) cannot orphan a reservation.
    pub name_key: String,
    pub kind: CredentialType,
    pub status: Status,
    /// Non-secret settings only, in the order the client sent them.
    pub config: Map<String, Value>,
    /// Secret settings, sealed; keyed by field name.
    pub secrets: BTreeMap<String, SealedSecret>,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub created_by: Option<String>,
    /// Bumped by every write; the condition of every conditional update.
    pub version: u64,
    /// The idempotency record written with the create, if it carried a key.
    pub idempotency: Option<IdempotencyRef>,
}

/// A credential as the list indexes project it: everything its public view shows (secret
/// field names, never sealed values), nothing more.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedCredential {
    pub id: String,
    pub name: String,
    pub kind: CredentialType,
    pub status: Status,
    pub config: Map<String, Value>,
    pub secret_fields: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub created_by: Option<String>,
    pub version: u64,
}

impl ListedCredential {
    pub fn view(&self) -> CredentialView<'_> {
        CredentialView {
            id: &self.id,
            name: &self.name,
            kind: self.kind.as_str(),
            status: self.status.as_str(),
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            deleted_at: self.deleted_at.as_deref(),
            created_by: self.created_by.as_deref(),
            config: &self.config,
            secret_fields: self.secret_fields.iter().map(String::as_str).collect(),
            version: self.version,
        }
    }
}

/// The two lifecycle moves between `active` and `deleted`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    SoftDelete,
    Restore,
}

impl Lifecycle {
    /// The status the move starts from (the condition of its write).
    pub fn from(self) -> Status {
        match self {
            Self::SoftDelete => Status::Active,
            Self::Restore => Status::Deleted,
        }
    }

    /// The status the move ends in.
    pub fn to(self) -> Status {
        match self {
            Self::SoftDelete => Status::Deleted,
            Self::Restore => Status::Active,
        }
    }
}

/// Every change a credential record goes through. Each returns the record as it must be
/// stored next; the store only persists it (conditionally on the version it replaces).
impl StoredCredential {
    /// A new, active credential at version 1.
    pub fn new(
        workspace_id: &str,
        id: String,
        input: NewCredential,
        secrets: BTreeMap<String, SealedSecret>,
        created_by: &str,
        now: &str,
    ) -> Self {
        Self {
            workspace_id: workspace_id.to_owned(),
            id,
            name_key: name_key(&input.name),
            name: input.name,
            kind: input.kind,
            status: Status::Active,
            config: input.config,
            secrets,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
            deleted_at: None,
            created_by: Some(created_by.to_owned()),
            version: 1,
            idempotency: None,
        }
    }

    /// This credential after a validated partial update: the new name and config, secrets
    /// removed or replaced by their newly sealed values, and the next version.
    pub fn apply(
        &self,
        change: &CredentialChange,
        sealed: &BTreeMap<String, SealedSecret>,
        now: &str,
    ) -> Self {
        let mut next = self.clone();
        if let Some(name) = &change.rename {
            next.name.clone_from(name);
            next.name_key = name_key(name);
        }
        next.config.clone_from(&change.config);
        next.secrets
            .retain(|field, _| !change.remove_secrets.contains(field));
        next.secrets
            .extend(sealed.iter().map(|(k, v)| (k.clone(), v.clone())));
        next.updated_at = now.to_owned();
        next.version = self.version + 1;
        next
    }

    /// This credential after `move_` (soft delete or restore).
    pub fn transition(&self, move_: Lifecycle, now: &str) -> Self {
        let mut next = self.clone();
        next.status = move_.to();
        next.deleted_at = match move_ {
            Lifecycle::SoftDelete => Some(now.to_owned()),
            Lifecycle::Restore => None,
        };
        next.updated_at = now.to_owned();
        next.version = self.version + 1;
        next
    }

    pub fn soft_delete(&self, now: &str) -> Self {
        self.transition(Lifecycle::SoftDelete, now)
    }

    pub fn restore(&self, now: &str) -> Self {
        self.transition(Lifecycle::Restore, now)
    }

    pub fn view(&self) -> CredentialView<'_> {
        CredentialView {
            id: &self.id,
            name: &self.name,
            kind: self.kind.as_str(),
            status: self.status.as_str(),
            created_at: &self.created_at,
            updated_at: &self.updated_at,
            deleted_at: self.deleted_at.as_deref(),
            created_by: self.created_by.as_deref(),
            config: &self.config,
            secret_fields: self.secrets.keys().map(String::as_str).collect(),
            version: self.version,
        }
    }
}

/// The public shape of a credential: metadata, non-secret config, and the names (never the
/// values) of the secret fields that are set.
#[derive(Serialize, Debug)]
pub struct CredentialView<'a> {
    pub id: &'a str,
    pub name: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub status: &'a str,
    pub created_at: &'a str,
    pub updated_at: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<&'a str>,
    pub config: &'a Map<String, Value>,
    pub secret_fields: Vec<&'a str>,
    pub version: u64,
}

impl CredentialView<'_> {
    /// True when one of `secret_keys` is also a visible setting. A key is in exactly one
    /// place (config or sealed secrets); the write paths check their answer against the
    /// keys they sealed before anything is stored, as the last line of defence should a
    /// path ever put a secret's value among the visible settings.
    pub fn shows_any_of<'s>(&self, mut secret_keys: impl Iterator<Item = &'s str>) -> bool {
        secret_keys.any(|key| self.config.contains_key(key))
    }
}

/// The envelope every successful answer uses: `{"data": …, "meta": …}`.
#[derive(Serialize)]
struct Envelope<D, M> {
    data: D,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<M>,
}

/// Serializes an answer in the envelope. Views hold only strings, numbers and JSON values,
/// so serialization cannot fail.
pub fn document<D: Serialize, M: Serialize>(data: D, meta: Option<M>) -> Vec<u8> {
    serde_json::to_vec(&Envelope { data, meta }).expect("views always serialize")
}

/// Answer of soft delete and restore: the lifecycle fields only.
#[derive(Serialize, Debug)]
pub struct LifecycleView<'a> {
    pub id: &'a str,
    pub status: &'a str,
    pub deleted_at: Option<&'a str>,
    pub version: u64,
}

impl StoredCredential {
    pub fn lifecycle_view(&self) -> LifecycleView<'_> {
        LifecycleView {
            id: &self.id,
            status: self.status.as_str(),
            deleted_at: self.deleted_at.as_deref(),
            version: self.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate;
    use secrecy::SecretString;

    fn sealed(byte: u8) -> SealedSecret {
        SealedSecret {
            encrypted_data_key: vec![byte],
            nonce: vec![byte; 12],
            ciphertext: vec![byte; 4],
        }
    }

    fn credential() -> StoredCredential {
        let input = validate::new_credential(serde_json::json!({
            "name": "prod-db",
            "type": "database",
            "config": {"host": "h", "port": 5432, "password": "p", "api_token": "t"}
        }))
        .unwrap();
        let secrets = input
            .secrets
            .keys()
            .map(|k| (k.clone(), sealed(1)))
            .collect();
        StoredCredential::new("ws", new_credential_id(), input, secrets, "key_1", "t0")
    }

    #[test]
    fn a_new_credential_is_active_at_version_one() {
        let c = credential();
        assert_eq!((c.status, c.version), (Status::Active, 1));
        assert_eq!((c.created_at.as_str(), c.updated_at.as_str()), ("t0", "t0"));
        assert_eq!(c.created_by.as_deref(), Some("key_1"));
        assert_eq!(
            c.secrets.keys().collect::<Vec<_>>(),
            ["api_token", "password"]
        );
    }

    #[test]
    fn apply_renames_patches_config_and_replaces_or_drops_secrets() {
        let c = credential();
        let change = validate::CredentialChange {
            rename: Some("renamed".into()),
            config: serde_json::from_value(serde_json::json!({"host": "h2"})).unwrap(),
            set_secrets: BTreeMap::from([("password".to_owned(), SecretString::from("n"))]),
            remove_secrets: ["api_token".to_owned()].into(),
        };
        let next = c.apply(
            &change,
            &BTreeMap::from([("password".to_owned(), sealed(2))]),
            "t1",
        );
        assert_eq!(next.name, "renamed");
        assert_eq!(next.config, change.config);
        assert_eq!(
            next.secrets,
            BTreeMap::from([("password".to_owned(), sealed(2))])
        );
        assert_eq!((next.version, next.updated_at.as_str()), (2, "t1"));
        assert_eq!(
            (next.created_at.as_str(), next.id.as_str()),
            ("t0", c.id.as_str())
        );
    }

    #[test]
    fn soft_delete_and_restore_are_inverse_moves_that_bump_the_version() {
        let c = credential();
        let deleted = c.soft_delete("t1");
        assert_eq!(deleted.status, Status::Deleted);
        assert_eq!(deleted.deleted_at.as_deref(), Some("t1"));
        assert_eq!(deleted.version, 2);
        let restored = deleted.restore("t2");
        assert_eq!(restored.status, Status::Active);
        assert_eq!(restored.deleted_at, None);
        assert_eq!((restored.version, restored.updated_at.as_str()), (3, "t2"));
        assert_eq!(restored.secrets, c.secrets);
        for move_ in [Lifecycle::SoftDelete, Lifecycle::Restore] {
            assert_ne!(move_.from(), move_.to());
        }
    }

    #[test]
    fn the_type_list_is_written_once() {
        assert_eq!(
            CredentialType::ONE_OF,
            "must be one of aws, azure, gcp, database, api_key, oauth, password"
        );
        for kind in CredentialType::ALL {
            assert_eq!(CredentialType::parse(kind.as_str()), Some(*kind));
        }
    }

    #[test]
    fn timestamps_are_utc_seconds() {
        let ts = now_rfc3339();
        assert_eq!(ts.len(), 20, "{ts}");
        assert!(ts.ends_with('Z'));
    }

    #[test]
    fn sealed_secrets_never_debug_print_their_bytes() {
        assert_eq!(format!("{:?}", sealed(7)), "SealedSecret(..)");
    }
}
