//! What each route does, in terms of the domain: authenticate, read input, call the store
//! (and the encryptor), shape the answer. Every rule they apply lives in its own module.

use lambda_http::Request;
use serde::Serialize;

use super::request::{credential_id, expected_version, header, invalid_query, Query};
use super::{Reply, Route};
use crate::auth::{authenticate, Principal};
use crate::cursor::{self, ListFilter};
use crate::error::{ApiError, ErrorCode};
use crate::model::{now_rfc3339, CredentialType, Status, StoredCredential};
use crate::store::StoreError;
use crate::AppState;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 100;

/// How often a read-modify-write that lost a race is tried again before answering 409.
const RACE_RETRIES: usize = 3;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NameTaken => ApiError::new(
                ErrorCode::NameTaken,
                "A credential with this name already exists in the workspace.",
            ),
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict => ApiError::new(
                ErrorCode::Conflict,
                "The credential was changed by another request. Read it again and retry.",
            ),
            StoreError::VersionMismatch => ApiError::precondition_failed(),
            StoreError::Unavailable => ApiError::unavailable(),
            // Handled where it can happen (create); reaching here is a bug.
            StoreError::Corrupt | StoreError::IdempotencyKeyUsed => ApiError::internal(),
        }
    }
}

fn invalid_state(message: &'static str) -> ApiError {
    ApiError::new(ErrorCode::InvalidState, message)
}

/// Authenticates the caller and checks the route's scope (401 before 403 before anything).
async fn caller(state: &AppState, req: &Request, route: Route) -> Result<Principal, ApiError> {
    let principal = authenticate(&state.store, &state.keys, header(req, "authorization")).await?;
    principal.require(route.scope())?;
    Ok(principal)
}

#[derive(Serialize)]
struct PageMeta {
    page: PageInfo,
}

#[derive(Serialize)]
struct PageInfo {
    limit: usize,
    cursor: Option<String>,
}

pub async fn list(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller(state, req, Route::List).await?;
    let query = Query::parse(req, &["limit", "cursor", "type", "status"])?;
    let limit = match query.get("limit") {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| invalid_query("limit", "must be an integer between 1 and 100"))?,
    };
    let status = match query.get("status") {
        None => Status::Active,
        Some(raw) => Status::parse(raw)
            .ok_or_else(|| invalid_query("status", "must be active or deleted"))?,
    };
    let kind = match query.get("type") {
        None => None,
        Some(raw) => Some(CredentialType::parse(raw).ok_or_else(|| {
            invalid_query(
                "type",
                "must be one of aws, azure, gcp, database, api_key, oauth, password",
            )
        })?),
    };
    let filter = ListFilter { status, kind };
    let workspace = &principal.workspace_id;
    let after = match query.get("cursor") {
        None => None,
        Some(raw) => Some(cursor::decode(workspace, filter, raw).ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidCursor,
                "The cursor is not valid for this list. Start again without it.",
            )
        })?),
    };
    let page = state
        .store
        .list_credentials(
            workspace,
            filter,
            after.as_ref().map(|c| c.after_id.as_str()),
            limit,
        )
        .await?;
    let next = page
        .more
        .then(|| page.items.last())
        .flatten()
        .map(|last| cursor::encode(workspace, filter, &last.id));
    let data: Vec<_> = page.items.iter().map(|c| c.view()).collect();
    Ok(Reply::with_meta(
        data,
        Some(PageMeta {
            page: PageInfo {
                limit,
                cursor: next,
            },
        }),
    ))
}

pub async fn get(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller(state, req, Route::Get).await?;
    let id = credential_id(req)?;
    let credential = state
        .store
        .get_credential(&principal.workspace_id, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(Reply::ok(credential.view()).version(credential.version))
}

/// True when an `If-Match` version was given and differs from the stored one.
fn mismatch(expected: Option<u64>, current: &StoredCredential) -> bool {
    expected.is_some_and(|v| v != current.version)
}

#[cfg(feature = "encryption")]
fn crypto_error(error: crate::crypto::CryptoError) -> ApiError {
    match error {
        crate::crypto::CryptoError::Unavailable => ApiError::unavailable(),
        crate::crypto::CryptoError::NotConfigured => ApiError::internal(),
    }
}

/// Answers a retried create from its idempotency record: the first 201 again for the same
/// request, 422 for a different one.
#[cfg(feature = "encryption")]
fn replay(record: crate::store::IdempotencyRecord, fingerprint: &[u8]) -> Result<Reply, ApiError> {
    if record.fingerprint != fingerprint {
        return Err(ApiError::new(
            ErrorCode::IdempotencyKeyReused,
            "This Idempotency-Key was used for a different request.",
        ));
    }
    Ok(Reply::raw(record.response_body.into_bytes())
        .created(format!("/api/credentials/{}", record.credential_id))
        .version(1)
        .replayed())
}

#[cfg(feature = "encryption")]
pub async fn create(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    use crate::idempotency;
    use crate::model::new_credential_id;
    use crate::store::idempotency_now_epoch;

    let principal = caller(state, req, Route::Create).await?;
    let idempotency_key = header(req, "idempotency-key")
        .map(idempotency::check_key)
        .transpose()?;
    let body = super::request::json_body(req)?;
    let workspace = principal.workspace_id;

    // A retry is answered from the record before anything else happens: no KMS data key,
    // no write.
    let mut pending = None;
    if let Some(key) = idempotency_key {
        let key_hash = idempotency::key_hash(key);
        let fingerprint = state
            .encryptor
            .fingerprint(&idempotency::canonical_request(&body))
            .await
            .map_err(crypto_error)?;
        if let Some(record) = state.store.get_idempotency(&workspace, &key_hash).await? {
            return replay(record, &fingerprint);
        }
        pending = Some((key_hash, fingerprint));
    }

    let input = crate::validate::new_credential(body)?;
    let id = new_credential_id();
    let secrets = state
        .encryptor
        .seal(&workspace, &id, &input.secrets)
        .await
        .map_err(crypto_error)?;
    let now = now_rfc3339();
    let credential = StoredCredential {
        workspace_id: workspace,
        id,
        name: input.name,
        kind: input.kind,
        status: Status::Active,
        config: input.config,
        secrets,
        created_at: now.clone(),
        updated_at: now,
        deleted_at: None,
        created_by: Some(principal.key_id),
        version: 1,
    };
    let location = format!("/api/credentials/{}", credential.id);
    let reply = Reply::ok(credential.view())
        .created(location)
        .version(credential.version);
    let record = pending.map(|(key_hash, fingerprint)| crate::store::IdempotencyRecord {
        workspace_id: credential.workspace_id.clone(),
        key_hash,
        fingerprint,
        credential_id: credential.id.clone(),
        response_body: String::from_utf8_lossy(reply.body()).into_owned(),
        expires_at: idempotency_now_epoch() + idempotency::RETENTION_SECONDS,
    });
    match state
        .store
        .insert_credential(&credential, record.as_ref())
        .await
    {
        Ok(()) => Ok(reply),
        // A concurrent retry with the same key won: answer as it did.
        Err(StoreError::IdempotencyKeyUsed) => {
            let record = record.expect("only idempotent creates carry a record");
            match state
                .store
                .get_idempotency(&credential.workspace_id, &record.key_hash)
                .await?
            {
                Some(winner) => replay(winner, &record.fingerprint),
                None => Err(StoreError::Conflict.into()),
            }
        }
        Err(other) => Err(other.into()),
    }
}

#[cfg(feature = "encryption")]
pub async fn update(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    use crate::validate::credential_change;

    let principal = caller(state, req, Route::Update).await?;
    let id = credential_id(req)?;
    let expected = expected_version(req)?;
    let body = super::request::json_body(req)?;
    let workspace = &principal.workspace_id;
    // Secrets are sealed once; a retry after a lost race reuses them (their sealing depends
    // on workspace, id and field only).
    let mut sealed = None;
    for _ in 0..RACE_RETRIES {
        let current = state
            .store
            .get_credential(workspace, &id)
            .await?
            .ok_or_else(ApiError::not_found)?;
        if mismatch(expected, &current) {
            return Err(ApiError::precondition_failed());
        }
        if current.status == Status::Deleted {
            return Err(invalid_state(
                "A deleted credential cannot be updated. Restore it first.",
            ));
        }
        let change = credential_change(body.clone(), &current)?;
        let new_secrets = match &sealed {
            Some(done) => done,
            None => sealed.insert(
                state
                    .encryptor
                    .seal(workspace, &id, &change.set_secrets)
                    .await
                    .map_err(crypto_error)?,
            ),
        };
        let mut next = current.clone();
        if let Some(name) = change.rename {
            next.name = name;
        }
        next.config = change.config;
        next.secrets
            .retain(|field, _| !change.remove_secrets.contains(field));
        next.secrets
            .extend(new_secrets.iter().map(|(k, v)| (k.clone(), v.clone())));
        next.updated_at = now_rfc3339();
        next.version = current.version + 1;
        match state.store.replace_credential(&current, &next).await {
            Ok(()) => return Ok(Reply::ok(next.view()).version(next.version)),
            // With If-Match the client asked for exactly that version: no re-apply.
            Err(StoreError::Conflict) if expected.is_some() => {
                return Err(ApiError::precondition_failed())
            }
            Err(StoreError::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(StoreError::Conflict.into())
}

/// Soft delete and restore: one conditional status change. When it does not apply, a read
/// tells why: gone (404), another version than If-Match named (412), or already in the
/// target state (deleting again is harmless; restoring an active credential is 409).
async fn change_status(
    state: &AppState,
    req: &Request,
    route: Route,
    from: Status,
    to: Status,
) -> Result<Reply, ApiError> {
    let principal = caller(state, req, route).await?;
    let id = credential_id(req)?;
    let expected = expected_version(req)?;
    let workspace = &principal.workspace_id;
    let answer = |c: &StoredCredential| Reply::ok(c.lifecycle_view()).version(c.version);
    for _ in 0..RACE_RETRIES {
        let changed = state
            .store
            .set_status(workspace, &id, from, to, expected, &now_rfc3339())
            .await?;
        if let Some(changed) = changed {
            return Ok(answer(&changed));
        }
        match state.store.get_credential(workspace, &id).await? {
            None => return Err(ApiError::not_found()),
            Some(current) if mismatch(expected, &current) => {
                return Err(ApiError::precondition_failed())
            }
            Some(current) if current.status == to => {
                return match to {
                    Status::Deleted => Ok(answer(&current)),
                    Status::Active => {
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

pub async fn soft_delete(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    change_status(
        state,
        req,
        Route::SoftDelete,
        Status::Active,
        Status::Deleted,
    )
    .await
}

pub async fn restore(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    change_status(state, req, Route::Restore, Status::Deleted, Status::Active).await
}

#[derive(Serialize)]
struct Purged<'a> {
    id: &'a str,
    purged: bool,
}

pub async fn purge(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller(state, req, Route::Purge).await?;
    let id = credential_id(req)?;
    let expected = expected_version(req)?;
    state
        .store
        .purge_credential(&principal.workspace_id, &id, expected)
        .await?;
    Ok(Reply::ok(Purged {
        id: &id,
        purged: true,
    }))
}
