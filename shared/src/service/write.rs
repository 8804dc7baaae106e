//! Create and update: the writes that seal secrets (linked by the `encryption` feature).

use std::collections::BTreeMap;

use secrecy::SecretString;
use serde_json::Value;

use super::errors::invalid_state;
use super::{Caller, WRITE_ROUNDS};
use crate::audit::{self, Action};
use crate::error::{ApiError, ErrorCode};
use crate::idempotency;
use crate::ids::new_credential_id;
use crate::model::{document, now_rfc3339, IdempotencyRef, SealedSecret, Status, StoredCredential};
use crate::store::{idempotency_now_epoch, IdempotencyRecord, StoreError};
use crate::validate;
use crate::AppState;

/// A create request: the JSON body as sent, and the `Idempotency-Key` (already checked to
/// be well-formed), if any.
#[derive(Debug)]
pub struct CreateCommand {
    pub body: Value,
    pub idempotency_key: Option<String>,
}

/// A partial update: the body as sent, and the version `If-Match` requires.
#[derive(Debug)]
pub struct UpdateCommand {
    pub id: String,
    /// The versions `If-Match` accepts (`None`: any).
    pub if_match: Option<Vec<u64>>,
    pub body: Value,
}

/// The answer of a write, rendered once so that what is stored for a replay and what is
/// sent are the same bytes.
#[derive(Debug)]
pub struct Rendered {
    pub id: String,
    pub version: u64,
    /// The `{"data": …}` document of the credential's public view.
    pub body: Vec<u8>,
    /// True when an idempotent create answers from its record.
    pub replayed: bool,
}

impl Rendered {
    fn of(credential: &StoredCredential) -> Self {
        Self {
            id: credential.id.clone(),
            version: credential.version,
            body: document(credential.view(), None::<()>),
            replayed: false,
        }
    }
}

/// Fails closed when the answer (which is also what an idempotency record stores) would
/// show a submitted secret among the visible settings: 500 and nothing written, rather
/// than a leak.
fn refuse_leak(
    credential: &StoredCredential,
    submitted: &BTreeMap<String, SecretString>,
) -> Result<(), ApiError> {
    if credential
        .view()
        .shows_any_of(submitted.keys().map(String::as_str))
    {
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
fn replay(record: IdempotencyRecord, fingerprint: &[u8]) -> Result<Rendered, ApiError> {
    if record.fingerprint != fingerprint {
        return Err(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "This Idempotency-Key was used for a different request.",
        ));
    }
    Ok(Rendered {
        id: record.credential_id,
        version: 1,
        body: record.response_body.into_bytes(),
        replayed: true,
    })
}

/// Creates a credential: its name reserved and its secrets sealed, in one transaction
/// (with the idempotency record, when the request carries a key).
pub async fn create(
    app: &AppState,
    caller: &Caller,
    command: CreateCommand,
) -> Result<Rendered, ApiError> {
    let workspace = caller.workspace();
    // A retry is answered from the record before anything else happens: no data key, no
    // write.
    let mut pending = None;
    if let Some(key) = &command.idempotency_key {
        let key_hash = idempotency::key_hash(key);
        let fingerprint = app
            .encryptor
            .fingerprint(&idempotency::canonical_request(&command.body))
            .await?;
        if let Some(record) = app.store.get_idempotency(workspace, &key_hash).await? {
            return replay(record, &fingerprint);
        }
        pending = Some((key_hash, fingerprint));
    }

    let mut input = validate::new_credential(command.body)?;
    let id = new_credential_id();
    let sealed = app.encryptor.seal(workspace, &id, &input.secrets).await?;
    let submitted = std::mem::take(&mut input.secrets);
    let mut credential = StoredCredential::new(
        workspace,
        id,
        input,
        sealed,
        &caller.principal.key_id,
        &now_rfc3339(),
    );
    refuse_leak(&credential, &submitted)?;
    let answer = Rendered::of(&credential);
    let record = pending.map(|(key_hash, fingerprint)| IdempotencyRecord {
        workspace_id: workspace.to_owned(),
        key_hash,
        fingerprint,
        credential_id: credential.id.clone(),
        response_body: String::from_utf8_lossy(&answer.body).into_owned(),
        expires_at: idempotency_now_epoch() + idempotency::RETENTION_SECONDS,
    });
    credential.idempotency = record.as_ref().map(|r| IdempotencyRef {
        key_hash: r.key_hash.clone(),
        expires_at: r.expires_at,
    });
    let event = caller.event(
        app,
        Action::CredentialCreated,
        &credential,
        audit::created_paths(&credential),
    );
    let mut outcome = Err(StoreError::Conflict);
    for _ in 0..WRITE_ROUNDS {
        outcome = app
            .store
            .insert_credential(&credential, record.as_ref(), &event)
            .await;
        // Only a collision with another transaction is worth another round: the id is new.
        if outcome != Err(StoreError::Conflict) {
            break;
        }
    }
    match outcome {
        Ok(()) => {
            event.log();
            Ok(answer)
        }
        // A concurrent retry with the same key won: answer as it did.
        Err(StoreError::IdempotencyKeyUsed) => {
            let record = record.ok_or_else(ApiError::internal)?;
            match app
                .store
                .get_idempotency(workspace, &record.key_hash)
                .await?
            {
                Some(winner) => replay(winner, &record.fingerprint),
                None => Err(StoreError::Conflict.into()),
            }
        }
        Err(other) => Err(other.into()),
    }
}

/// Applies a partial update: present config keys replace, `null` removes, omitted keys
/// stay; a rename moves the name reservation in the same transaction.
pub async fn update(
    app: &AppState,
    caller: &Caller,
    command: UpdateCommand,
) -> Result<Rendered, ApiError> {
    let workspace = caller.workspace();
    // Secrets are sealed once; a round after a lost race reuses them (their sealing depends
    // on workspace, id and field only).
    let mut sealed: Option<BTreeMap<String, SealedSecret>> = None;
    for _ in 0..WRITE_ROUNDS {
        let current = app
            .store
            .get_credential(workspace, &command.id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        // An invalid body is 400 whatever If-Match says; then 412, then the state.
        let change = validate::credential_change(command.body.clone(), &current)?;
        if super::lifecycle::mismatch(command.if_match.as_deref(), &current) {
            return Err(ApiError::precondition_failed());
        }
        if current.status == Status::Deleted {
            return Err(invalid_state(
                "A deleted credential cannot be updated. Restore it first.",
            ));
        }
        let new_secrets = match &sealed {
            Some(done) => done,
            None => sealed.insert(
                app.encryptor
                    .seal(workspace, &command.id, &change.set_secrets)
                    .await?,
            ),
        };
        let next = current.apply(&change, new_secrets, &now_rfc3339());
        refuse_leak(&next, &change.set_secrets)?;
        let changes = audit::changed_paths(&current, &next, change.set_secrets.keys().cloned());
        let event = caller.event(app, Action::CredentialUpdated, &next, changes);
        match app.store.replace_credential(&current, &next, &event).await {
            Ok(()) => {
                event.log();
                return Ok(Rendered::of(&next));
            }
            // With If-Match the client asked for exactly that version: no re-apply.
            Err(StoreError::Conflict) if command.if_match.is_some() => {
                return Err(ApiError::precondition_failed())
            }
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CredentialType;

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
