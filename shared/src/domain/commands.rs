//! The typed commands validation produces and the domain consumes: holding one means the
//! request was checked. They live here, beside the record they change, so that `validate`
//! (which builds them) and `credential` (which applies them) need not import each other.

use std::collections::{BTreeMap, BTreeSet};

use secrecy::SecretString;
use serde_json::{Map, Value};

use super::CredentialType;

/// A validated create request. Its `Debug` output redacts secrets (`SecretString`).
#[derive(Debug)]
pub struct NewCredential {
    pub name: String,
    pub kind: CredentialType,
    pub config: Map<String, Value>,
    pub secrets: BTreeMap<String, SecretString>,
}

/// A validated update, already checked against the credential it applies to.
#[derive(Debug)]
pub struct CredentialChange {
    /// The new name, when it differs from the current one.
    pub rename: Option<String>,
    /// The complete non-secret config after the change.
    pub config: Map<String, Value>,
    /// Secret fields to (re)encrypt.
    pub set_secrets: BTreeMap<String, SecretString>,
    /// Secret fields to drop.
    pub remove_secrets: BTreeSet<String>,
}
