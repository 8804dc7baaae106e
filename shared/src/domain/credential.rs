//! The credential record as stored, and every change it goes through.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::names::name_key;
use super::oauth::AuthStatus;
use super::versions::{DEFAULT_MAX_VERSIONS, DEFAULT_ROTATION_GRACE_SECONDS};
use super::{
    CredentialChange, CredentialType, Encoding, Lifecycle, NewCredential, Previous, Status,
};

/// One secret field, sealed with a KMS data key (envelope encryption). The data key itself
/// is stored encrypted under the KMS key; only KMS can unwrap it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    pub encrypted_data_key: Vec<u8>,
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
    /// How the plaintext is written (a string's text, or another value's JSON).
    pub encoding: Encoding,
    /// Sealed with the credential's destination in its associated data. False only for
    /// secrets sealed before destination binding existed (they open without it).
    pub bound: bool,
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

/// What `If-Match` asks for: `None` without the header or with `*` (any version); otherwise
/// the versions its strong tags name (an empty list names none).
pub type IfMatch = Option<Vec<u64>>;

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
    /// Undeclared fields the client asked to see; every other undeclared field is sealed.
    pub visible_fields: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub created_by: Option<String>,
    /// Bumped by every write; the condition of every conditional update.
    pub version: u64,
    /// The idempotency record written with the create, if it carried a key.
    pub idempotency: Option<IdempotencyRef>,
    /// Secret versions and their stages (see `domain::versions`).
    pub versions: VersionState,
    /// `ReauthorizationRequired` once an `oauth` credential's refresh token was refused,
    /// until a write sets new refresh material (see `domain::oauth`).
    pub auth_status: AuthStatus,
    /// Counts the writes of new refresh material (see `domain::oauth::TokenChange`): an
    /// access token obtained with other material is not answered.
    pub token_material: u64,
    /// When it was last resolved and refused, as the credential item keeps them (see
    /// [`UsageMarks`]).
    pub used: UsageMarks,
}

/// A credential's own usage marks, kept on its item for the `unused_since` index and for
/// the time after its day items expired. `last_resolved_at` is rewritten by a resolve that
/// reads it at least `usage::MARK_INTERVAL_SECONDS` old, so it may be that much behind (and
/// a write of the credential at the same moment puts back the mark it read); the day items
/// (`store::usage`) have every resolve to the second.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageMarks {
    pub last_resolved_at: Option<String>,
    /// The purpose of that resolve.
    pub last_purpose: Option<String>,
    pub last_refused_at: Option<String>,
}

/// Where a credential's secret versions stand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionState {
    /// The current version (0: none yet, or the secrets were written before versions
    /// existed and have not been written since).
    pub current: u64,
    /// The highest version number written.
    pub latest: u64,
    /// Versions whose item exists (their metadata is in the history): at most
    /// `max_versions` plus the labelled ones.
    pub kept: Vec<u64>,
    /// Versions whose sealed data is kept (a subset of `kept`: a destroyed version keeps
    /// its metadata until it falls out of retention).
    pub sealed: Vec<u64>,
    pub previous: Option<Previous>,
    pub pending: Option<u64>,
    /// When the current version became current.
    pub rotated_at: Option<String>,
    pub rotation_grace_seconds: u64,
    pub max_versions: u32,
}

impl Default for VersionState {
    fn default() -> Self {
        Self {
            current: 0,
            latest: 0,
            kept: Vec::new(),
            sealed: Vec::new(),
            previous: None,
            pending: None,
            rotated_at: None,
            rotation_grace_seconds: DEFAULT_ROTATION_GRACE_SECONDS,
            max_versions: DEFAULT_MAX_VERSIONS,
        }
    }
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
    pub visible_fields: Vec<String>,
    pub secret_version: u64,
    pub pending_secret_version: Option<u64>,
    pub rotation_grace_seconds: u64,
    pub max_versions: u32,
    pub auth_status: AuthStatus,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    pub created_by: Option<String>,
    pub version: u64,
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
        let mut versions = VersionState {
            rotation_grace_seconds: input
                .rotation_grace_seconds
                .unwrap_or(DEFAULT_ROTATION_GRACE_SECONDS),
            max_versions: input.max_versions.unwrap_or(DEFAULT_MAX_VERSIONS),
            ..VersionState::default()
        };
        if !secrets.is_empty() {
            versions.current = 1;
            versions.latest = 1;
            versions.kept = vec![1];
            versions.sealed = vec![1];
            versions.rotated_at = Some(now.to_owned());
        }
        Self {
            workspace_id: workspace_id.to_owned(),
            id,
            name_key: name_key(&input.name),
            name: input.name,
            kind: input.kind,
            status: Status::Active,
            config: input.config,
            secrets,
            visible_fields: input.visible_fields,
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
            deleted_at: None,
            created_by: Some(created_by.to_owned()),
            version: 1,
            idempotency: None,
            versions,
            auth_status: AuthStatus::Ok,
            token_material: 0,
            used: UsageMarks::default(),
        }
    }

    /// True when `If-Match` admits this record: no header (or `*`), or a header naming its
    /// version. Comparison is strong and exact (RFC 9110).
    pub fn matches(&self, if_match: &IfMatch) -> bool {
        if_match
            .as_ref()
            .is_none_or(|versions| versions.contains(&self.version))
    }

    /// This credential after a validated partial update: the new name and config, secrets
    /// removed or replaced by their newly sealed values, and the next version. A change
    /// that sets or removes a secret makes a new secret version, current at once (the old
    /// current becomes previous).
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
        next.visible_fields.clone_from(&change.visible_fields);
        next.secrets = self.secrets_after(change, sealed);
        if let Some(grace) = change.rotation_grace_seconds {
            next.versions.rotation_grace_seconds = grace;
        }
        if let Some(max) = change.max_versions {
            next.versions.max_versions = max;
        }
        if change.touches_secrets() {
            let version = self.versions.latest + 1;
            next.make_current(version, now);
        }
        next.updated_at = now.to_owned();
        next.version = self.version + 1;
        self.settle_auth_status(&mut next);
        next
    }

    /// New refresh material (a new refresh token, client secret, token URL, …) ends a
    /// `reauthorization_required` status, and the stored access token is no longer
    /// answered (with a new refresh token or destination the store also forgets the token
    /// state, in the same write).
    pub(super) fn settle_auth_status(&self, next: &mut Self) {
        if super::oauth::token_change(self, next) != super::oauth::TokenChange::None {
            next.auth_status = AuthStatus::Ok;
            next.token_material = self.token_material + 1;
        }
    }

    /// The whole sealed set after `change`: this credential's, without the removed
    /// fields, with the newly sealed ones.
    pub fn secrets_after(
        &self,
        change: &CredentialChange,
        sealed: &BTreeMap<String, SealedSecret>,
    ) -> BTreeMap<String, SealedSecret> {
        let mut secrets = self.secrets.clone();
        secrets.retain(|field, _| !change.remove_secrets.contains(field));
        secrets.extend(sealed.iter().map(|(k, v)| (k.clone(), v.clone())));
        secrets
    }

    /// Makes `version` (already written, or written with this change) current: the old
    /// current becomes previous, a pending `version` is no longer pending.
    pub(super) fn make_current(&mut self, version: u64, now: &str) {
        let v = &mut self.versions;
        if v.current > 0 && v.current != version {
            v.previous = Some(Previous {
                version: v.current,
                replaced_at: now.to_owned(),
            });
        }
        if v.pending == Some(version) {
            v.pending = None;
        }
        v.current = version;
        v.latest = v.latest.max(version);
        if !v.sealed.contains(&version) {
            v.sealed.push(version);
        }
        if !v.kept.contains(&version) {
            v.kept.push(version);
        }
        v.rotated_at = Some(now.to_owned());
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

    /// Where its secrets are sent.
    pub fn destination(&self) -> super::Destination {
        super::Destination::of(self.kind, &self.config)
    }

    /// The names of the secret fields that are set.
    pub fn secret_fields(&self) -> impl Iterator<Item = &str> {
        self.secrets.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::new_credential_id;
    use crate::validate;
    use secrecy::SecretString;

    fn sealed(byte: u8) -> SealedSecret {
        SealedSecret {
            encrypted_data_key: vec![byte],
            nonce: vec![byte; 12],
            ciphertext: vec![byte; 4],
            encoding: Encoding::Text,
            bound: true,
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
            c.secret_fields().collect::<Vec<_>>(),
            ["api_token", "password"]
        );
    }

    #[test]
    fn if_match_admits_only_the_versions_it_names() {
        let c = credential();
        assert!(c.matches(&None));
        assert!(c.matches(&Some(vec![3, 1])));
        assert!(!c.matches(&Some(vec![2])));
        assert!(!c.matches(&Some(Vec::new())));
    }

    #[test]
    fn apply_renames_patches_config_and_replaces_or_drops_secrets() {
        let c = credential();
        let change = CredentialChange {
            rename: Some("renamed".into()),
            config: serde_json::from_value(serde_json::json!({"host": "h2"})).unwrap(),
            set_secrets: BTreeMap::from([(
                "password".to_owned(),
                crate::domain::SecretValue::text(SecretString::from("n")),
            )]),
            remove_secrets: ["api_token".to_owned()].into(),
            visible_fields: Vec::new(),
            rotation_grace_seconds: None,
            max_versions: None,
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
        let deleted = c.transition(Lifecycle::SoftDelete, "t1");
        assert_eq!(deleted.status, Status::Deleted);
        assert_eq!(deleted.deleted_at.as_deref(), Some("t1"));
        assert_eq!(deleted.version, 2);
        let restored = deleted.transition(Lifecycle::Restore, "t2");
        assert_eq!(restored.status, Status::Active);
        assert_eq!(restored.deleted_at, None);
        assert_eq!((restored.version, restored.updated_at.as_str()), (3, "t2"));
        assert_eq!(restored.secrets, c.secrets);
    }

    #[test]
    fn sealed_secrets_never_debug_print_their_bytes() {
        assert_eq!(format!("{:?}", sealed(7)), "SealedSecret(..)");
    }
}
