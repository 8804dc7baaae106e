//! Update: a partial change of one credential, through the one write path.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::Value;

use super::create::refuse_leak;
use super::edit::{on_current, round, Target};
use super::errors::invalid_state;
use super::Caller;
use crate::audit::{self, Action};
use crate::domain::{SealedSecret, Status, StoredCredential};
use crate::error::ApiError;
use crate::validate;
use crate::AppState;

/// A partial update: the credential, the versions `If-Match` admits, and the body as sent.
#[derive(Debug)]
pub struct UpdateCommand {
    pub target: Target,
    pub body: Value,
}

/// Applies a partial update: present config keys replace, `null` removes, omitted keys
/// stay; a rename moves the name reservation in the same transaction. An invalid body is
/// 400 whatever `If-Match` says; then 412; then a deleted credential is 409.
pub async fn update(
    app: &AppState,
    caller: &Caller,
    command: UpdateCommand,
) -> Result<StoredCredential, ApiError> {
    let workspace = caller.workspace();
    // Secrets are sealed once; a round after a lost race reuses them (their sealing depends
    // on workspace, id and field only).
    let sealed_once: Mutex<Option<BTreeMap<String, SealedSecret>>> = Mutex::new(None);
    let sealed_once = &sealed_once;
    on_current(
        app,
        caller,
        &command.target,
        |current| validate::credential_change(command.body.clone(), current),
        move |current, change| async move {
            if current.status == Status::Deleted {
                return Err(invalid_state(
                    "A deleted credential cannot be updated. Restore it first.",
                ));
            }
            let cached = sealed_once
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let new_secrets = match cached {
                Some(done) => done,
                None => {
                    let done = app
                        .encryptor
                        .seal(workspace, &current.id, &change.set_secrets)
                        .await?;
                    *sealed_once.lock().unwrap_or_else(|e| e.into_inner()) = Some(done.clone());
                    done
                }
            };
            let next = current.apply(&change, &new_secrets, &app.now_rfc3339());
            refuse_leak(&next, &change.set_secrets)?;
            let changes = audit::changed_paths(&current, &next, change.set_secrets.keys().cloned());
            let event = caller.event(app, Action::CredentialUpdated, &next, changes);
            let written = round(app.store.replace_credential(&current, &next, &event).await)?;
            Ok(written.map(|()| {
                event.log();
                next
            }))
        },
    )
    .await
}
