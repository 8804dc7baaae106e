//! Create: a new credential, its name reserved and its secrets sealed in one transaction,
//! optionally idempotent (`Idempotency-Key`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Caller, WRITE_ROUNDS};
use crate::audit::{self, Action};
use crate::crypto::SealScope;
use crate::domain::{Destination, IdempotencyRef, SecretValue, StoredCredential};
use crate::error::{ApiError, ErrorCode};
use crate::idempotency;
use crate::ids::new_credential_id;
use crate::store::{IdempotencyRecord, StoreError, VersionWrites};
use crate::validate;
use crate::views;
use crate::AppState;

/// A create request: the JSON body as sent, and the `Idempotency-Key` (already checked to
/// be well-formed), if any.
#[derive(Debug)]
pub struct CreateCommand {
    pub body: Value,
    pub idempotency_key: Option<String>,
}

/// What a create answers: the credential's view, and whether it replays an earlier 201.
#[derive(Debug)]
pub struct Created {
    pub view: views::Credential,
    /// True when an idempotent create answers from its record.
    pub replayed: bool,
}

/// Fails closed when the answer (which is also what an idempotency record stores) would
/// show a submitted secret among the visible settings: 500 and nothing written, rather
/// than a leak.
pub(super) fn refuse_leak(
    credential: &StoredCredential,
    submitted: &BTreeMap<String, SecretValue>,
) -> Result<(), ApiError> {
    if views::Credential::from(credential).shows_any_of(submitted.keys().map(String::as_str)) {
        tracing::error!(
            credential_id = credential.id.as_str(),
            "refused: the answer would have shown a submitted secret value"
        );
        return Err(ApiError::internal());
    }
    Ok(())
}

/// Answers a retried create from its idempotency record: the first 201 again for the same
/// request, 409 for a different one.
fn replay(record: IdempotencyRecord, fingerprint: &[u8]) -> Result<Created, ApiError> {
    if record.fingerprint != fingerprint {
        return Err(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "This Idempotency-Key was used for a different request.",
        ));
    }
    let stored: views::Envelope<views::Credential> =
        serde_json::from_str(&record.response_body).map_err(|_| ApiError::internal())?;
    Ok(Created {
        view: stored.data,
        replayed: true,
    })
}

/// Creates a credential: its name reserved and its secrets sealed, in one transaction
/// (with the idempotency record, when the request carries a key).
pub async fn create(
    app: &AppState,
    caller: &Caller,
    command: CreateCommand,
) -> Result<Created, ApiError> {
    let workspace = caller.workspace();
    // A retry is answered from the record before anything else happens: no data key, no
    // write.
    let mut pending = None;
    if let Some(key) = &command.idempotency_key {
        let key_hash = idempotency::key_hash(&caller.principal.key_id, key);
        let fingerprint = app
            .encryptor
            .fingerprint(&idempotency::canonical_request(&command.body))
            .await?;
        if let Some(record) = app
            .store
            .get_idempotency(workspace, &key_hash, app.now_epoch())
            .await?
        {
            return replay(record, &fingerprint);
        }
        pending = Some((key_hash, fingerprint));
    }

    let mut input = validate::new_credential(command.body)?;
    let id = new_credential_id();
    let destination = Destination::of(input.kind, &input.config).digest();
    let scope = SealScope {
        workspace_id: workspace,
        credential_id: &id,
        destination: &destination,
    };
    let sealed = app.encryptor.seal(&scope, &input.secrets).await?;
    let submitted = std::mem::take(&mut input.secrets);
    let mut credential = StoredCredential::new(
        workspace,
        id,
        input,
        sealed,
        &caller.principal.key_id,
        &app.now_rfc3339(),
    );
    refuse_leak(&credential, &submitted)?;
    let view = views::Credential::from(&credential);
    let record = pending.map(|(key_hash, fingerprint)| IdempotencyRecord {
        workspace_id: workspace.to_owned(),
        key_hash,
        fingerprint,
        credential_id: credential.id.clone(),
        response_body: String::from_utf8_lossy(&views::document(&view, None::<()>)).into_owned(),
        expires_at: app.now_epoch() + idempotency::RETENTION_SECONDS,
    });
    credential.idempotency = record.as_ref().map(|r| IdempotencyRef {
        key_hash: r.key_hash.clone(),
        expires_at: r.expires_at,
    });
    let mut event = caller.event(
        app,
        Action::CredentialCreated,
        &credential,
        audit::created_paths(&credential),
    );
    event.secret_version = (credential.versions.current > 0).then_some(credential.versions.current);
    // The first secret version, when the credential is created with secrets.
    let versions = VersionWrites {
        put: (credential.versions.current > 0)
            .then(|| {
                credential.current_version_item(
                    &caller.principal.key_id,
                    credential.secret_fields().map(str::to_owned).collect(),
                )
            })
            .into_iter()
            .collect(),
        ..VersionWrites::default()
    };
    let mut outcome = Err(StoreError::Conflict);
    for _ in 0..WRITE_ROUNDS {
        outcome = app
            .store
            .insert_credential(
                &credential,
                record.as_ref(),
                &event,
                app.now_epoch(),
                &versions,
            )
            .await;
        // Only a collision with another transaction is worth another round: the id is new.
        if outcome != Err(StoreError::Conflict) {
            break;
        }
    }
    match outcome {
        Ok(()) => {
            event.log();
            Ok(Created {
                view,
                replayed: false,
            })
        }
        // A concurrent retry with the same key won: answer as it did.
        Err(StoreError::IdempotencyKeyUsed) => {
            let record = record.ok_or_else(ApiError::internal)?;
            match app
                .store
                .get_idempotency(workspace, &record.key_hash, app.now_epoch())
                .await?
            {
                Some(winner) => replay(winner, &record.fingerprint),
                None => Err(StoreError::Conflict.into()),
            }
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CredentialType;

    /// The backstop, with validation bypassed: a record whose visible config holds a key
    /// that was submitted (and sealed) as a secret is refused before anything is written.
    #[test]
    fn an_answer_showing_a_submitted_secret_is_refused() {
        let input = validate::new_credential(serde_json::json!({
            "name": "n", "type": "password", "config": {"password": "s3cr3t-value-1"}
        }))
        .unwrap();
        let submitted = input.secrets.clone();
        let mut credential = StoredCredential::new(
            "ws",
            new_credential_id(),
            input,
            BTreeMap::new(),
            "key_1",
            "t",
        );
        assert_eq!(credential.kind, CredentialType::Password);
        assert!(refuse_leak(&credential, &submitted).is_ok());
        credential
            .config
            .insert("password".into(), "s3cr3t-value-1".into());
        let refused = refuse_leak(&credential, &submitted).unwrap_err();
        assert_eq!(refused.status(), 500);
    }
}
