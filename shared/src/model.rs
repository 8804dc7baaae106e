//! The credential record as stored, and the public views rendered from it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The seven kinds of connection profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialType {
    Aws,
    Azure,
    Gcp,
    Database,
    ApiKey,
    Oauth,
    Password,
}

impl CredentialType {
    pub const ALL: [CredentialType; 7] = [
        Self::Aws,
        Self::Azure,
        Self::Gcp,
        Self::Database,
        Self::ApiKey,
        Self::Oauth,
        Self::Password,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Azure => "azure",
            Self::Gcp => "gcp",
            Self::Database => "database",
            Self::ApiKey => "api_key",
            Self::Oauth => "oauth",
            Self::Password => "password",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
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

/// `cred_` + lowercase ULID: sortable by creation time, unguessable enough not to leak counts.
pub fn new_credential_id() -> String {
    format!("cred_{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// True for ids this service could have minted. Anything else is answered 404 without a
/// database call.
pub fn is_credential_id(id: &str) -> bool {
    id.strip_prefix("cred_").is_some_and(|ulid| {
        ulid.len() == 26
            && ulid
                .bytes()
                .all(|b| b.is_ascii_digit() || (b.is_ascii_lowercase() && !b"ilou".contains(&b)))
    })
}

/// Current time as RFC 3339 UTC with second precision, e.g. `2025-03-20T09:15:22Z`.
pub fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("zero nanoseconds is always valid");
    now.format(&Rfc3339)
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

/// A credential exactly as it lives in the table.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredCredential {
    pub workspace_id: String,
    pub id: String,
    pub name: String,
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
}

impl StoredCredential {
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

    #[test]
    fn minted_ids_are_recognised() {
        let id = new_credential_id();
        assert!(is_credential_id(&id), "{id}");
        assert_eq!(id, id.to_lowercase());
    }

    #[test]
    fn junk_ids_are_not() {
        for junk in [
            "",
            "cred_",
            "cred_01j9k2m4n5p6q7r8",
            "cred_01J9K2M4N5P6Q7R8S9T0V1W2X3",
            "usr_01j9k2m4n5p6q7r8s9t0v1w2x3",
            "cred_01j9k2m4n5p6q7r8s9t0v1w2x!",
            "cred_01j9k2m4n5p6q7r8s9t0v1w2xi",
        ] {
            assert!(!is_credential_id(junk), "{junk}");
        }
    }

    #[test]
    fn timestamps_are_utc_seconds() {
        let ts = now_rfc3339();
        assert_eq!(ts.len(), 20, "{ts}");
        assert!(ts.ends_with('Z'));
    }
}
