//! Soft delete, restore and purge: conditional writes on one credential, through the one
//! write path ([`super::edit::on_current`]).

use super::edit::{on_current, round, Round, Target};
use super::errors::invalid_state;
use super::usage::{check_quiet, QuietCheck};
use super::Caller;
use crate::audit::{self, Action};
use crate::auth::Scope;
use crate::domain::{Lifecycle, StoredCredential};
use crate::error::{ApiError, ErrorCode};
use crate::AppState;

/// Soft delete and restore: one transaction (the update conditioned on the version and
/// status read, and the audit event). Already in the target state: deleting again answers
/// the credential as it is (nothing written, no event), restoring an active one is 409.
async fn move_status(
    app: &AppState,
    caller: &Caller,
    target: &Target,
    move_: Lifecycle,
) -> Result<StoredCredential, ApiError> {
    on_current(
        app,
        caller,
        target,
        |_| Ok(()),
        move |current, ()| async move {
            if current.status == move_.to() {
                return match move_ {
                    Lifecycle::SoftDelete => Ok(Round::Done(current)),
                    Lifecycle::Restore => {
                        Err(invalid_state("Only a deleted credential can be restored."))
                    }
                };
            }
            let next = current.transition(move_, &app.now_rfc3339());
            let action = match move_ {
                Lifecycle::SoftDelete => Action::CredentialDeleted,
                Lifecycle::Restore => Action::CredentialRestored,
            };
            let event = caller.event(app, action, &next, audit::lifecycle_paths());
            let written = round(app.store.move_status(&current, &next, &event).await)?;
            Ok(written.map(|()| {
                event.log();
                next
            }))
        },
    )
    .await
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

/// Deletes a credential, its sealed secrets and its name reservation for good (one
/// transaction conditioned on the version read, with the audit event). Refused with 409
/// `credential_in_use` while the credential was resolved, or a resolve of it refused,
/// within the purge quiet period (a `Query` of its usage ledger); `force` overrides that
/// only with an `If-Match` naming a version (else 428), and the event records it.
pub async fn purge(
    app: &AppState,
    caller: &Caller,
    target: &Target,
    force: bool,
) -> Result<(), ApiError> {
    if force && target.if_match.is_none() {
        return Err(ApiError::new(
            ErrorCode::PreconditionRequired,
            "A forced purge needs If-Match with the credential's ETag.",
        ));
    }
    on_current(
        app,
        caller,
        target,
        |_| Ok(()),
        move |current, ()| async move {
            // Boxed: keeps the purge future small (SDK call futures are large).
            let may_read = caller.principal.scopes.contains(&Scope::Read);
            let check = Box::pin(check_quiet(app, &current, force, may_read)).await?;
            let mut event = caller.event(app, Action::CredentialPurged, &current, Vec::new());
            event.forced = matches!(check, QuietCheck::Overridden);
            let written = round(
                app.store
                    .purge_credential(&current, &event, app.now_epoch())
                    .await,
            )?;
            Ok(written.map(|()| event.log()))
        },
    )
    .await
}
