//! Soft delete, restore and purge: conditional writes on one credential.

use super::errors::invalid_state;
use super::{Caller, WRITE_ROUNDS};
use crate::audit::{self, Action};
use crate::error::ApiError;
use crate::model::{now_rfc3339, Lifecycle, StoredCredential};
use crate::store::StoreError;
use crate::AppState;

/// The credential a lifecycle operation acts on, and the version `If-Match` requires.
#[derive(Clone, Debug)]
pub struct Target {
    pub id: String,
    /// The versions `If-Match` accepts (`None`: any).
    pub if_match: Option<Vec<u64>>,
}

/// True when `If-Match` was given (not `*`) and the stored version is not among those it
/// names (an empty list names none).
pub(super) fn mismatch(expected: Option<&[u64]>, current: &StoredCredential) -> bool {
    expected.is_some_and(|versions| !versions.contains(&current.version))
}

/// Soft delete and restore: read, decide, then one transaction (the update conditioned on
/// the version and status read, and the audit event). Gone is 404, another version than
/// If-Match named is 412; already in the target state: deleting again answers the
/// credential as it is (nothing written, no event), restoring an active one is 409.
async fn move_status(
    app: &AppState,
    caller: &Caller,
    target: &Target,
    move_: Lifecycle,
) -> Result<StoredCredential, ApiError> {
    for _ in 0..WRITE_ROUNDS {
        let current = app
            .store
            .get_credential(caller.workspace(), &target.id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        if mismatch(target.if_match.as_deref(), &current) {
            return Err(ApiError::precondition_failed());
        }
        if current.status == move_.to() {
            return match move_ {
                Lifecycle::SoftDelete => Ok(current),
                Lifecycle::Restore => {
                    Err(invalid_state("Only a deleted credential can be restored."))
                }
            };
        }
        let next = current.transition(move_, &now_rfc3339());
        let action = match move_ {
            Lifecycle::SoftDelete => Action::CredentialDeleted,
            Lifecycle::Restore => Action::CredentialRestored,
        };
        let event = caller.event(app, action, &next, audit::lifecycle_paths());
        match app.store.move_status(&current, &next, &event).await {
            Ok(()) => {
                event.log();
                return Ok(next);
            }
            // Changed between the read and the write: read again and decide.
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// Marks a credential deleted (its name stays reserved). Deleting again answers the
/// credential as it is.
pub async fn soft_delete(
    app: &AppState,
    caller: &Caller,
    target: &Target,
) -> Result<StoredCredential, ApiError> {
    move_status(app, caller, target, Lifecycle::SoftDelete).await
}

/// Makes a deleted credential active again; 409 when it is not deleted.
pub async fn restore(
    app: &AppState,
    caller: &Caller,
    target: &Target,
) -> Result<StoredCredential, ApiError> {
    move_status(app, caller, target, Lifecycle::Restore).await
}

/// Deletes a credential, its sealed secrets and its name reservation for good.
pub async fn purge(app: &AppState, caller: &Caller, target: &Target) -> Result<(), ApiError> {
    for _ in 0..WRITE_ROUNDS {
        let current = app
            .store
            .get_credential(caller.workspace(), &target.id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        if mismatch(target.if_match.as_deref(), &current) {
            return Err(ApiError::precondition_failed());
        }
        let event = caller.event(app, Action::CredentialPurged, &current, Vec::new());
        match app.store.purge_credential(&current, &event).await {
            Ok(()) => {
                event.log();
                return Ok(());
            }
            // Changed or gone since the read (rename, restore, a concurrent purge): read
            // again and decide.
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}
