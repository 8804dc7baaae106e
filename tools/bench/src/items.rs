//! Credentials written straight into the table, past the API: the list benchmark needs many
//! items, not many creates, and the raw transactions need items shaped like the store's.

use credentials_core::domain::names::name_key;
use credentials_core::domain::{CredentialType, Status, StoredCredential};
use credentials_core::ids::new_credential_id;
use serde_json::json;

/// An active database credential without secrets, as the store would hold it (built
/// literally: `StoredCredential::new` wants a validated request, which a bulk load skips).
pub fn active_credential(workspace: &str, name: String, now: &str) -> StoredCredential {
    StoredCredential {
        workspace_id: workspace.to_owned(),
        id: new_credential_id(),
        name_key: name_key(&name),
        name,
        kind: CredentialType::Database,
        status: Status::Active,
        config: json!({"host": "h", "port": 5432})
            .as_object()
            .unwrap()
            .clone(),
        secrets: Default::default(),
        visible_fields: Vec::new(),
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
        deleted_at: None,
        created_by: None,
        version: 1,
        idempotency: None,
        versions: Default::default(),
        auth_status: credentials_core::domain::AuthStatus::Ok,
        token_material: 0,
        used: Default::default(),
    }
}
