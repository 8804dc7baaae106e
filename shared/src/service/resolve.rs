//! Resolve: a credential whole, secrets decrypted, for the pipeline runtime. Reached only by
//! direct invocation of `resolve-credential` with the `credentials:resolve` scope.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::usage;
use super::versions::version_not_found;
use super::Caller;
use crate::audit::Action;
use crate::crypto::SealScope;
use crate::domain::oauth::{self, OauthClient};
use crate::domain::usage::Outcome;
use crate::domain::{
    names, AuthStatus, CredentialType, Destination, SealedSecret, SecretValue, Selector, Stage,
    Status, StoredCredential, Unresolvable,
};
use crate::error::{ApiError, ErrorCode};
use crate::AppState;
#[cfg(feature = "refresh")]
use std::time::{Duration, UNIX_EPOCH};

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
    /// For a refreshed oauth credential: the access token must be good for this many more
    /// seconds (`min_ttl_seconds`), or be refreshed first.
    pub min_ttl: u64,
    /// Refresh even if the stored access token is good (`force_refresh`).
    pub force_refresh: bool,
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
    /// For a refreshed oauth credential: whether the access token was answered during a
    /// cooldown, good for less than `min_ttl_seconds`.
    pub stale: Option<bool>,
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

/// A resolve refused because of the credential's state (soft-deleted, or its refresh
/// material refused): who would have broken is recorded like a resolve (a
/// `credential.resolve_refused` event and the usage ledger's refusal count) before `error`
/// is answered; if the event cannot be written, the answer is that failure (503).
async fn refused(
    app: &AppState,
    caller: &Caller,
    credential: &StoredCredential,
    purpose: &str,
    error: ApiError,
) -> ApiError {
    let mut event = caller.event(app, Action::ResolveRefused, credential, Vec::new());
    event.purpose = Some(purpose.to_owned());
    let (written, ()) = tokio::join!(
        app.store.put_event(&event),
        Box::pin(usage::record(app, credential, purpose, Outcome::Refused)),
    );
    match written {
        Ok(()) => {
            event.log();
            error
        }
        Err(failure) => failure.into(),
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
    caller
        .read_credential(app, &id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// Resolving the current version: one strongly consistent read (two by name), the audit
/// event's `PutItem` (before anything is opened; if it fails the caller gets 503 and no
/// secret), and one KMS `Decrypt` per data key (one for secrets set by one write), with the
/// usage ledger's `UpdateItem`s made alongside them. Another version reads its version
/// item too. A soft-deleted credential answers 409 `credential_deleted` (and an oauth one
/// whose refresh material was refused 409 `reauthorization_required`) once its
/// `credential.resolve_refused` event is written and its refusal counted; `previous` past its grace 409 `version_expired`; a destroyed
/// version 409 `version_destroyed`; an unknown one 404.
pub async fn resolve(
    app: &AppState,
    caller: &Caller,
    command: &ResolveCommand,
) -> Result<ResolvedCredential, ApiError> {
    let credential = find(app, caller, &command.target).await?;
    if credential.status == Status::Deleted {
        let deleted = ApiError::new(
            ErrorCode::CredentialDeleted,
            "The credential is deleted. Restore it to resolve it again.",
        );
        return Err(refused(app, caller, &credential, &command.purpose, deleted).await);
    }
    let chosen = credential
        .choose(command.selector, &app.now_rfc3339())
        .map_err(unresolvable)?;
    // An oauth credential with a token URL is refreshed by the store: its refresh material
    // never leaves it, and its current version answers an access token the store keeps.
    let refreshed = OauthClient::of(&credential);
    if refreshed.is_some() && credential.auth_status == AuthStatus::ReauthorizationRequired {
        let refused_material = ApiError::new(
            ErrorCode::ReauthorizationRequired,
            "The token endpoint refused this credential's refresh material. Update the credential with a new refresh token (or client secret) to use it again.",
        );
        return Err(refused(app, caller, &credential, &command.purpose, refused_material).await);
    }
    let (mut sealed, destination): (BTreeMap<String, SealedSecret>, Map<String, Value>) =
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
    // Withheld at every version while the credential is refreshed by the store, and at a
    // version that was sealed for a token URL even when the current one has none (else
    // removing `token_url`, or restoring a version without one, would hand out the
    // refresh material of the versions that had one).
    let sealed_for_refresh =
        credential.kind == CredentialType::Oauth && destination.contains_key("token_url");
    if refreshed.is_some() || sealed_for_refresh {
        sealed.retain(|field, _| !oauth::WITHHELD.contains(&field.as_str()));
    }
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
    // Another version is answered with the destination it was sealed for.
    let mut config = credential.config.clone();
    if !chosen.inline {
        let kind = credential.kind;
        config.retain(|name, _| !crate::domain::schema::is_destination(kind, name));
        config.extend(destination);
    }
    #[allow(unused_mut)]
    let mut stale = None;
    // The access token of a refreshed credential is the store's, not the one it was
    // created with.
    #[cfg(feature = "refresh")]
    if refreshed.is_some() && chosen.inline {
        sealed.remove("access_token");
    }
    let opening = async {
        #[cfg(feature = "refresh")]
        let token = match (&refreshed, chosen.inline) {
            (Some(client), true) => {
                let refresher = super::refresh::Refresher {
                    app,
                    actor: crate::audit::Actor::ApiKey(caller.principal.key_id.clone()),
                    request: caller.request.clone(),
                };
                let need = super::refresh::TokenNeed {
                    min_ttl: command.min_ttl,
                    force: command.force_refresh,
                    wait: true,
                };
                Some(refresher.usable_token(&credential, client, need).await?)
            }
            _ => None,
        };
        #[cfg(not(feature = "refresh"))]
        let token = ();
        let secrets = app.encryptor.open(&scope, &sealed).await?;
        Ok::<_, ApiError>((token, secrets))
    };
    // The usage ledger counts the resolve (its event is written) alongside the refresh and
    // the Decrypts, never failing it; boxed, so the resolve future stays small.
    let recording = Box::pin(usage::record(
        app,
        &credential,
        &command.purpose,
        Outcome::Resolved,
    ));
    let (opened, ()) = tokio::join!(opening, recording);
    #[allow(unused_mut, unused_variables)]
    let (token, mut secrets) = opened?;
    #[cfg(feature = "refresh")]
    if let Some(token) = token {
        secrets.insert("access_token".to_owned(), token.access_token);
        if let Some(token_type) = token.token_type {
            config.insert("token_type".to_owned(), Value::String(token_type));
        }
        let expires_at = token
            .expires_at
            .map(|at| Value::String(crate::clock::rfc3339(UNIX_EPOCH + Duration::from_secs(at))));
        config.insert("expires_at".to_owned(), expires_at.unwrap_or(Value::Null));
        if let Some(scope) = token.scope {
            let granted = scope
                .split_whitespace()
                .map(|s| Value::String(s.to_owned()));
            config.insert("scopes".to_owned(), Value::Array(granted.collect()));
        }
        stale = Some(token.stale);
    }
    Ok(ResolvedCredential {
        stale,
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
