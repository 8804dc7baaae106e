//! The typed commands validation produces and the domain consumes: holding one means the
//! request was checked. They live here, beside the record they change, so that `validate`
//! (which builds them) and `credential` (which applies them) need not import each other.

use std::collections::{BTreeMap, BTreeSet};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::CredentialType;

/// How a sealed value was written: a string as sent, or the JSON text of any other value
/// (a number, a list…), so that resolve gives back what was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Text,
    Json,
}

/// A value to seal, or one opened by resolve. `Debug` shows its encoding, never the value.
#[derive(Clone, Debug)]
pub struct SecretValue {
    pub text: SecretString,
    pub encoding: Encoding,
}

impl SecretValue {
    /// A string value, sealed as its text.
    pub fn text(text: SecretString) -> Self {
        Self {
            text,
            encoding: Encoding::Text,
        }
    }

    /// Any other JSON value, sealed as its JSON text.
    pub fn json(value: &Value) -> Self {
        Self {
            text: SecretString::from(value.to_string()),
            encoding: Encoding::Json,
        }
    }

    /// The value as it was sent (a JSON value), e.g. to seal a visible value in place.
    pub fn of(value: &Value) -> Self {
        match value {
            Value::String(s) => Self::text(SecretString::from(s.clone())),
            other => Self::json(other),
        }
    }

    pub fn expose(&self) -> &str {
        self.text.expose_secret()
    }
}

/// A validated create request. Its `Debug` output redacts secrets (`SecretString`).
#[derive(Debug)]
pub struct NewCredential {
    pub name: String,
    pub kind: CredentialType,
    pub config: Map<String, Value>,
    pub secrets: BTreeMap<String, SecretValue>,
    /// Undeclared fields the client asked to see (shown, and checked like declared ones).
    pub visible_fields: Vec<String>,
    /// How long the previous secret version stays resolvable (default when `None`).
    pub rotation_grace_seconds: Option<u64>,
    /// How many versions keep their sealed data (default when `None`).
    pub max_versions: Option<u32>,
}

/// A validated update, already checked against the credential it applies to.
#[derive(Debug)]
pub struct CredentialChange {
    /// The new name, when it differs from the current one.
    pub rename: Option<String>,
    /// The complete non-secret config after the change.
    pub config: Map<String, Value>,
    /// Secret fields to (re)encrypt.
    pub set_secrets: BTreeMap<String, SecretValue>,
    /// Secret fields to drop.
    pub remove_secrets: BTreeSet<String>,
    /// The complete `visible_fields` after the change.
    pub visible_fields: Vec<String>,
    /// A new `rotation_grace_seconds`, when sent.
    pub rotation_grace_seconds: Option<u64>,
    /// A new `max_versions`, when sent.
    pub max_versions: Option<u32>,
}

impl CredentialChange {
    /// Sets or removes a secret: the change makes a new secret version.
    pub fn touches_secrets(&self) -> bool {
        !self.set_secrets.is_empty() || !self.remove_secrets.is_empty()
    }

    /// The secret fields it sets or removes.
    pub fn secret_paths(&self) -> Vec<String> {
        let mut fields: Vec<String> = self
            .set_secrets
            .keys()
            .chain(&self.remove_secrets)
            .cloned()
            .collect();
        fields.sort_unstable();
        fields.dedup();
        fields
    }
}
