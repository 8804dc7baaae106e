//! Update: a partial change of one credential, through the one write path.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::Value;

use super::create::refuse_leak;
use super::edit::{on_current, round, Target};
use super::errors::invalid_state;
use super::Caller;
use crate::audit::{self, Action};
use crate::crypto::SealScope;
use crate::domain::{CredentialChange, Destination, SealedSecret, Status, StoredCredential};
use crate::error::{ApiError, ErrorCode, FieldIssue};
use crate::store::VersionWrites;
use crate::validate;
use crate::AppState;

/// A partial update: the credential, the versions `If-Match` admits, the body as sent,
/// and whether its secrets are staged as a pending version (`POST …/versions`).
#[derive(Debug)]
pub struct UpdateCommand {
    pub target: Target,
    pub body: Value,
    pub pending: bool,
}

/// A change that moves the destination (where the secrets are sent) while a stored secret
/// stays is refused with 409 `secrets_required`, naming every stored secret that would stay:
/// the client sends each again (or removes it) in the same request. Otherwise a key that
/// may write could send a stored secret wherever it likes.
fn require_secrets_for_a_new_destination(
    current: &StoredCredential,
    change: &CredentialChange,
) -> Result<(), ApiError> {
    let moved = current.destination() != Destination::of(current.kind, &change.config);
    let kept: Vec<FieldIssue> = current
        .secret_fields()
        .filter(|f| !change.set_secrets.contains_key(*f) && !change.remove_secrets.contains(*f))
        .map(|f| {
            FieldIssue::new(
                format!("config.{f}"),
                "must be sent again (or removed): the destination changes",
            )
        })
        .collect();
    if moved && !kept.is_empty() {
        return Err(ApiError {
            code: ErrorCode::SecretsRequired,
            message: "This change points the credential somewhere else: send every stored secret again (or remove it) in the same request.",
            details: kept,
            retry_after: None,
        });
    }
    Ok(())
}

/// Applies a partial update: present config keys replace, `null` removes, omitted keys
/// stay; a rename moves the name reservation in the same transaction. An invalid body is
/// 400 whatever `If-Match` says; then 412; then a deleted credential is 409, and so is a
/// new destination without the stored secrets (`secrets_required`).
pub async fn update(
    app: &AppState,
    caller: &Caller,
    command: UpdateCommand,
) -> Result<StoredCredential, ApiError> {
    let workspace = caller.workspace();
    // Secrets are sealed once; a round after a lost race reuses them while the destination
    // they are bound to is the same.
    let sealed_once: Mutex<Option<(String, BTreeMap<String, SealedSecret>)>> = Mutex::new(None);
    let sealed_once = &sealed_once;
    on_current(
        app,
        caller,
        &command.target,
        |current| {
            if command.pending {
                validate::pending_change(command.body.clone(), current)
            } else {
                validate::credential_change(command.body.clone(), current)
            }
        },
        move |current, change| async move {
            if current.status == Status::Deleted {
                return Err(invalid_state(
                    "A deleted credential cannot be updated. Restore it first.",
                ));
            }
            require_secrets_for_a_new_destination(&current, &change)?;
            let destination = Destination::of(current.kind, &change.config).digest();
            let cached = sealed_once
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let new_secrets = match cached {
                Some((bound_to, done)) if bound_to == destination => done,
                _ => {
                    let scope = SealScope {
                        workspace_id: workspace,
                        credential_id: &current.id,
                        destination: &destination,
                    };
                    let done = app.encryptor.seal(&scope, &change.set_secrets).await?;
                    *sealed_once.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some((destination.clone(), done.clone()));
                    done
                }
            };
            let now = app.now_rfc3339();
            let by = &caller.principal.key_id;
            // Secrets written before versions existed become version 1 first (in the same
            // transaction), so that they stay resolvable as `previous`.
            let (base, adopted) = if change.touches_secrets() {
                current.versioned_base()
            } else {
                (current.clone(), None)
            };
            let mut put: Vec<_> = adopted.into_iter().collect();
            let (next, delete, action) = if command.pending {
                let (next, item, delete) = base.stage_pending(&change, &new_secrets, by, &now);
                put.push(item);
                (next, delete, Action::SecretStaged)
            } else {
                let mut next = base.apply(&change, &new_secrets, &now);
                if change.touches_secrets() {
                    put.push(next.current_version_item(by, change.secret_paths()));
                }
                let delete = next.retained_after_update();
                (next, delete, Action::CredentialUpdated)
            };
            let versions = VersionWrites {
                put,
                delete,
                ..VersionWrites::default()
            };
            refuse_leak(&next, &change.set_secrets)?;
            let changes = audit::changed_paths(&current, &next, change.set_secrets.keys().cloned());
            let mut event = caller.event(app, action, &next, changes);
            event.secret_version = versions.put.last().map(|v| v.version);
            let written = round(
                app.store
                    .replace_credential(&current, &next, &event, &versions)
                    .await,
            )?;
            Ok(written.map(|()| {
                event.log();
                next
            }))
        },
    )
    .await
}
