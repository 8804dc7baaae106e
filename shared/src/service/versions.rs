//! Secret version history and the version operations: list (metadata only), promote a
//! version to current, copy an old version forward as a new current, destroy a version's
//! sealed data. Each write goes through the one write path, conditioned on the
//! credential's version (`If-Match` as everywhere), with its audit event in the same
//! transaction. None of them seals or opens anything: no KMS call.

use super::edit::{on_current, round, Round, Target};
use super::errors::invalid_state;
use super::Caller;
use crate::audit::Action;
use crate::domain::{SecretVersion, Stage, Status, StoredCredential};
use crate::error::{ApiError, ErrorCode};
use crate::store::VersionWrites;
use crate::AppState;

/// One page request of a credential's version history.
#[derive(Clone, Debug)]
pub struct VersionQuery {
    pub id: String,
    /// Page size, already checked to be 1–100.
    pub limit: usize,
    /// The version the previous page ended with.
    pub before: Option<u64>,
}

/// A page of versions (newest first) and the credential they belong to (for their stages).
pub struct VersionHistory {
    pub credential: StoredCredential,
    pub versions: Vec<SecretVersion>,
    pub next_cursor: Option<u64>,
}

/// The version history of one credential of the caller's workspace: metadata, never
/// sealed data. One read of the credential (none when it came with the key), one `Query` of
/// its versions.
pub async fn list_versions(
    app: &AppState,
    caller: &Caller,
    query: VersionQuery,
) -> Result<VersionHistory, ApiError> {
    let credential = caller
        .read_credential(app, &query.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let page = app
        .store
        .list_versions(caller.workspace(), &query.id, query.before, query.limit)
        .await?;
    let next_cursor = page
        .more
        .then(|| page.versions.last().map(|v| v.version))
        .flatten();
    Ok(VersionHistory {
        credential,
        versions: page.versions,
        next_cursor,
    })
}

/// An operation on version `version` of a credential.
#[derive(Clone, Debug)]
pub struct VersionTarget {
    pub credential: Target,
    pub version: u64,
}

pub fn version_not_found() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "No secret version with this number exists for this credential.",
    )
}

fn version_destroyed() -> ApiError {
    ApiError::new(
        ErrorCode::VersionDestroyed,
        "This secret version was destroyed: its sealed data is gone.",
    )
}

/// The version item of `version`, when it still holds sealed data (404 when it never
/// existed, 409 `version_destroyed` when its data is gone).
async fn sealed_version(
    app: &AppState,
    current: &StoredCredential,
    version: u64,
) -> Result<SecretVersion, ApiError> {
    if version == 0 || version > current.versions.latest {
        return Err(version_not_found());
    }
    if !current.versions.sealed.contains(&version) {
        return Err(version_destroyed());
    }
    app.store
        .get_version(&current.workspace_id, &current.id, version)
        .await?
        .filter(|v| v.destroyed_at.is_none())
        .ok_or_else(version_destroyed)
}

/// The paths a version change touched: the secret fields whose sealed value differs, and
/// the visible settings that changed (a version brings its destination).
fn secret_changes(current: &StoredCredential, next: &StoredCredential) -> Vec<String> {
    let differs = next
        .secrets
        .iter()
        .filter(|(field, sealed)| current.secrets.get(*field) != Some(*sealed))
        .map(|(field, _)| field.clone());
    crate::audit::changed_paths(current, next, differs.collect::<Vec<_>>())
}

fn refuse_deleted(current: &StoredCredential) -> Result<(), ApiError> {
    if current.status == Status::Deleted {
        return Err(invalid_state(
            "A deleted credential's versions cannot change. Restore it first.",
        ));
    }
    Ok(())
}

/// Makes version `n` current (a pending version, or any other that still holds its sealed
/// data); the old current becomes previous. Version `n`'s destination comes with it.
pub async fn promote(
    app: &AppState,
    caller: &Caller,
    target: &VersionTarget,
) -> Result<StoredCredential, ApiError> {
    on_current(
        app,
        caller,
        &target.credential,
        |_| Ok(()),
        move |current, ()| async move {
            refuse_deleted(&current)?;
            if current.versions.current == target.version {
                return Err(invalid_state("This secret version is current already."));
            }
            let version = sealed_version(app, &current, target.version).await?;
            let now = app.now_rfc3339();
            let (next, delete) = current.promote(&version, &now);
            let writes = VersionWrites {
                delete,
                ..VersionWrites::default()
            };
            let changes = secret_changes(&current, &next);
            let mut event = caller.event(app, Action::VersionPromoted, &next, changes);
            event.secret_version = Some(target.version);
            let written = round(
                app.store
                    .replace_credential(&current, &next, &event, &writes)
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

/// Copies version `n` forward as a new current version (`n` keeps its own number and
/// stays as it is); the old current becomes previous.
pub async fn restore_version(
    app: &AppState,
    caller: &Caller,
    target: &VersionTarget,
) -> Result<StoredCredential, ApiError> {
    on_current(
        app,
        caller,
        &target.credential,
        |_| Ok(()),
        move |current, ()| async move {
            refuse_deleted(&current)?;
            if current.versions.current == target.version {
                return Err(invalid_state("This secret version is current already."));
            }
            let version = sealed_version(app, &current, target.version).await?;
            let now = app.now_rfc3339();
            let (next, item, delete) =
                current.restore_version(&version, &caller.principal.key_id, &now);
            let made = item.version;
            let writes = VersionWrites {
                put: vec![item],
                delete,
                ..VersionWrites::default()
            };
            let changes = secret_changes(&current, &next);
            let mut event = caller.event(app, Action::VersionRestored, &next, changes);
            event.secret_version = Some(made);
            let written = round(
                app.store
                    .replace_credential(&current, &next, &event, &writes)
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

/// Destroys version `n`'s sealed data (its metadata stays in the history). The current
/// and the pending version cannot be destroyed (409); destroying the previous one ends its
/// grace at once.
pub async fn destroy_version(
    app: &AppState,
    caller: &Caller,
    target: &VersionTarget,
) -> Result<StoredCredential, ApiError> {
    on_current(
        app,
        caller,
        &target.credential,
        |_| Ok(()),
        move |current, ()| async move {
            let n = target.version;
            if n == 0 || n > current.versions.latest {
                return Err(version_not_found());
            }
            match current.stage_of(n) {
                Some(Stage::Current) => {
                    return Err(invalid_state(
                        "The current secret version cannot be destroyed.",
                    ))
                }
                Some(Stage::Pending) => return Err(invalid_state(
                    "A pending secret version cannot be destroyed: promote it, or stage another.",
                )),
                _ => {}
            }
            if !current.versions.sealed.contains(&n) {
                // Destroyed already: nothing to do, nothing recorded.
                return Ok(Round::Done(current));
            }
            let now = app.now_rfc3339();
            let next = current.destroy_version(n, &now);
            let writes = VersionWrites {
                destroy: Some(n),
                now,
                ..VersionWrites::default()
            };
            let mut event = caller.event(app, Action::VersionDestroyed, &next, Vec::new());
            event.secret_version = Some(n);
            let written = round(
                app.store
                    .replace_credential(&current, &next, &event, &writes)
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
