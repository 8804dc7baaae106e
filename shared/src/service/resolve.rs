//! Resolve: a credential whole, secrets decrypted, for the pipeline runtime. Reached only by
//! direct invocation of `resolve-credential` with the `credentials:resolve` scope.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::versions::version_not_found;
use super::Caller;
use crate::audit::Action;
use crate::crypto::SealScope;
use crate::domain::{
    names, Destination, SealedSecret, SecretValue, Selector, Stage, Status, StoredCredential,
    Unresolvable,
};
use crate::error::{ApiError, ErrorCode};
use crate::AppState;

/// Which credential: by id (the path's), or by name (one more read: its reservation).
#[derive(Debug)]
pub enum ResolveTarget {
    Id(String),
    Name(String),
}

/// Which credential and version, and why it is read (recorded; e.g.
/// `pipeline:orders-nightly/run-42`).
#[derive(Debug)]
pub struct ResolveCommand {
    pub target: ResolveTarget,
    pub purpose: String,
    pub selector: Selector,
}

/// The credential and the opened secrets of the version resolved. `Debug` shows field
/// names, never values.
#[derive(Debug)]
pub struct ResolvedCredential {
    pub credential: StoredCredential,
    /// The visible settings to answer with: the credential's, with the destination the
    /// resolved version was sealed for.
    pub config: Map<String, Value>,
    pub secrets: BTreeMap<String, SecretValue>,
    /// The secret version resolved (0: secrets written before versions existed).
    pub secret_version: u64,
    pub stage: Option<Stage>,
    /// When the current version became current.
    pub rotated_at: Option<String>,
    /// For `previous`: when its grace ends.
    pub valid_until: Option<String>,
}

fn unresolvable(reason: Unresolvable) -> ApiError {
    match reason {
        Unresolvable::Unknown => version_not_found(),
        Unresolvable::Expired => ApiError::new(
            ErrorCode::VersionExpired,
            "The previous secret version's grace window has ended. Resolve it by its version number, or use current.",
        ),
        Unresolvable::Destroyed => ApiError::new(
            ErrorCode::VersionDestroyed,
            "This secret version was destroyed: its sealed data is gone.",
        ),
    }
}

/// The credential a resolve names, of the caller's workspace.
async fn find(
    app: &AppState,
    caller: &Caller,
    target: &ResolveTarget,
) -> Result<StoredCredential, ApiError> {
    let id = match target {
        ResolveTarget::Id(id) => id.clone(),
        ResolveTarget::Name(name) => app
            .store
            .credential_id_by_name_key(caller.workspace(), &names::name_key(name))
            .await?
            .ok_or_else(ApiError::not_found)?,
    };
    app.store
        .get_credential(caller.workspace(), &id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Resolving the current version: one strongly consistent read (two by name), the audit
/// event's `PutItem` (before anything is opened; if it fails the caller gets 503 and no
/// secret), and one KMS `Decrypt` per data key (one for secrets set by one write). Another
/// version reads its version item too. A soft-deleted credential answers 409
/// `credential_deleted`; `previous` past its grace 409 `version_expired`; a destroyed
/// version 409 `version_destroyed`; an unknown one 404.
pub async fn resolve(
    app: &AppState,
    caller: &Caller,
    command: &ResolveCommand,
) -> Result<ResolvedCredential, ApiError> {
    let credential = find(app, caller, &command.target).await?;
    if credential.status == Status::Deleted {
        return Err(ApiError::new(
            ErrorCode::CredentialDeleted,
            "The credential is deleted. Restore it to resolve it again.",
        ));
    }
    let chosen = credential
        .choose(command.selector, &app.now_rfc3339())
        .map_err(unresolvable)?;
    let (sealed, destination): (BTreeMap<String, SealedSecret>, Map<String, Value>) =
        if chosen.inline {
            (
                credential.secrets.clone(),
                credential.destination().fields(),
            )
        } else {
            let version = app
                .store
                .get_version(caller.workspace(), &credential.id, chosen.version)
                .await?
                .filter(|v| v.destroyed_at.is_none())
                .ok_or_else(|| unresolvable(Unresolvable::Destroyed))?;
            (version.secrets, version.destination)
        };
    // The record comes first: if it cannot be written, no secret is opened (503).
    let mut event = caller.event(app, Action::CredentialResolved, &credential, Vec::new());
    event.purpose = Some(command.purpose.clone());
    event.secret_version = (chosen.version > 0).then_some(chosen.version);
    app.store.put_event(&event).await?;
    event.log();
    let digest = Destination::from_fields(&destination).digest();
    let scope = SealScope {
        workspace_id: caller.workspace(),
        credential_id: &credential.id,
        destination: &digest,
    };
    let secrets = app.encryptor.open(&scope, &sealed).await?;
    // Another version is answered with the destination it was sealed for.
    let mut config = credential.config.clone();
    if !chosen.inline {
        let kind = credential.kind;
        config.retain(|name, _| !crate::domain::schema::is_destination(kind, name));
        config.extend(destination);
    }
    Ok(ResolvedCredential {
        valid_until: (chosen.stage == Some(Stage::Previous))
            .then(|| credential.previous_valid_until())
            .flatten(),
        rotated_at: credential.versions.rotated_at.clone(),
        secret_version: chosen.version,
        stage: chosen.stage,
        config,
        secrets,
        credential,
    })
}
