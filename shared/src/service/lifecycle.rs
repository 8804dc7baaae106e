//! Soft delete, restore and purge: conditional writes on one credential.

use super::errors::invalid_state;
use super::WRITE_ROUNDS;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::model::{now_rfc3339, Lifecycle, StoredCredential};
use crate::store::StoreError;
use crate::AppState;

/// The credential a lifecycle operation acts on, and the version `If-Match` requires.
#[derive(Clone, Debug)]
pub struct Target {
    pub id: String,
    pub if_match: Option<u64>,
}

/// True when an `If-Match` version was given and differs from the stored one.
fn mismatch(expected: Option<u64>, current: &StoredCredential) -> bool {
    expected.is_some_and(|v| v != current.version)
}

/// Soft delete and restore: one conditional status change. When it does not apply, a read
/// tells why: gone (404), another version than If-Match named (412), or already in the
/// target state (deleting again is harmless; restoring an active credential is 409).
async fn move_status(
    app: &AppState,
    caller: &Principal,
    target: &Target,
    move_: Lifecycle,
) -> Result<StoredCredential, ApiError> {
    let workspace = &caller.workspace_id;
    for _ in 0..WRITE_ROUNDS {
        let changed = app
            .store
            .set_status(
                workspace,
                &target.id,
                move_,
                target.if_match,
                &now_rfc3339(),
            )
            .await?;
        if let Some(changed) = changed {
            return Ok(changed);
        }
        match app.store.get_credential(workspace, &target.id).await? {
            None => return Err(ApiError::not_found()),
            Some(current) if mismatch(target.if_match, &current) => {
                return Err(ApiError::precondition_failed())
            }
            Some(current) if current.status == move_.to() => {
                return match move_ {
                    Lifecycle::SoftDelete => Ok(current),
                    Lifecycle::Restore => {
                        Err(invalid_state("Only a deleted credential can be restored."))
                    }
                };
            }
            // Changed between the write and the read: try again.
            Some(_) => continue,
        }
    }
    Err(StoreError::Conflict.into())
}

/// Marks a credential deleted (its name stays reserved). Deleting again answers the
/// credential as it is.
pub async fn soft_delete(
    app: &AppState,
    caller: &Principal,
    target: &Target,
) -> Result<StoredCredential, ApiError> {
    move_status(app, caller, target, Lifecycle::SoftDelete).await
}

/// Makes a deleted credential active again; 409 when it is not deleted.
pub async fn restore(
    app: &AppState,
    caller: &Principal,
    target: &Target,
) -> Result<StoredCredential, ApiError> {
    move_status(app, caller, target, Lifecycle::Restore).await
}

/// Deletes a credential, its sealed secrets and its name reservation for good.
pub async fn purge(app: &AppState, caller: &Principal, target: &Target) -> Result<(), ApiError> {
    for _ in 0..WRITE_ROUNDS {
        let current = app
            .store
            .get_credential(&caller.workspace_id, &target.id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        if mismatch(target.if_match, &current) {
            return Err(ApiError::precondition_failed());
        }
        match app.store.purge_credential(&current).await {
            Ok(()) => return Ok(()),
            // Changed or gone since the read (rename, restore, a concurrent purge): read
            // again and decide.
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}
