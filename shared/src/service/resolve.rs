//! Resolve: a credential whole, secrets decrypted, for the pipeline runtime. Reached only by
//! direct invocation of `resolve-credential` with the `credentials:resolve` scope.

use std::collections::BTreeMap;

use super::Caller;
use crate::audit::Action;
use crate::crypto::SealScope;
use crate::domain::{SecretValue, Status, StoredCredential};
use crate::error::{ApiError, ErrorCode};
use crate::AppState;

/// Which credential, and why it is read (recorded; e.g. `pipeline:orders-nightly/run-42`).
#[derive(Debug)]
pub struct ResolveCommand {
    pub id: String,
    pub purpose: String,
}

/// The credential and its opened secrets. `Debug` shows field names, never values.
#[derive(Debug)]
pub struct ResolvedCredential {
    pub credential: StoredCredential,
    pub secrets: BTreeMap<String, SecretValue>,
}

/// One strongly consistent read, the audit event's `PutItem` (before anything is opened;
/// if it fails the caller gets 503 and no secret), and one KMS `Decrypt` per data key (one
/// for secrets set by one write). A soft-deleted credential answers 409
/// `credential_deleted`.
pub async fn resolve(
    app: &AppState,
    caller: &Caller,
    command: &ResolveCommand,
) -> Result<ResolvedCredential, ApiError> {
    let credential = app
        .store
        .get_credential(caller.workspace(), &command.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if credential.status == Status::Deleted {
        return Err(ApiError::new(
            ErrorCode::CredentialDeleted,
            "The credential is deleted. Restore it to resolve it again.",
        ));
    }
    // The record comes first: if it cannot be written, no secret is opened (503).
    let mut event = caller.event(app, Action::CredentialResolved, &credential, Vec::new());
    event.purpose = Some(command.purpose.clone());
    app.store.put_event(&event).await?;
    event.log();
    let destination = credential.destination().digest();
    let scope = SealScope {
        workspace_id: caller.workspace(),
        credential_id: &credential.id,
        destination: &destination,
    };
    let secrets = app.encryptor.open(&scope, &credential.secrets).await?;
    Ok(ResolvedCredential {
        credential,
        secrets,
    })
}
