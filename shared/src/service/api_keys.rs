//! API-key use cases: mint and revoke (the admin tool's), and authenticate (every
//! request's). Key formats, scopes and the cache live in `auth`.

use crate::audit::{Action, AuditEvent};
use crate::auth::{
    bearer_key, hash_key, key_workspace, mint_key, KeyCache, MintedKey, Principal, Scope,
};
use crate::clock::{self, Clock};
use crate::domain::StoredCredential;
use crate::store::{ApiKeyRecord, Store, StoreError};

/// Mints a key and stores its record with its `api_key.created` audit event (by the admin
/// tool, the only minter), in one transaction.
pub async fn mint(
    store: &Store,
    clock: &dyn Clock,
    workspace_id: &str,
    scopes: &[Scope],
    description: &str,
    audit_retention: std::time::Duration,
) -> Result<MintedKey, StoreError> {
    let now = clock.now();
    let minted = mint_key(workspace_id, scopes, description, &clock::rfc3339(now));
    let event = AuditEvent::for_api_key(
        Action::ApiKeyCreated,
        workspace_id,
        &minted.record.key_id,
        now,
        audit_retention,
    );
    store.put_api_key(&minted.record, &event).await?;
    event.log();
    Ok(minted)
}

/// Revokes a key of `workspace_id` and records `api_key.revoked` with it. Revoking an
/// already revoked key changes nothing and records nothing.
pub async fn revoke(
    store: &Store,
    clock: &dyn Clock,
    workspace_id: &str,
    key_id: &str,
    audit_retention: std::time::Duration,
) -> Result<(), StoreError> {
    let now = clock.now();
    let event = AuditEvent::for_api_key(
        Action::ApiKeyRevoked,
        workspace_id,
        key_id,
        now,
        audit_retention,
    );
    if store
        .revoke_api_key(workspace_id, key_id, &clock::rfc3339(now), &event)
        .await?
    {
        event.log();
    }
    Ok(())
}

/// Checks the `Authorization` header against the stored keys (or this container's cache).
/// `Ok(None)` when there is no usable key: missing, malformed, unknown or revoked.
pub async fn authenticate(
    store: &Store,
    cache: &KeyCache,
    authorization: Option<&str>,
) -> Result<Option<Principal>, StoreError> {
    Ok(authenticate_reading(store, cache, authorization, None)
        .await?
        .0)
}

/// A credential read together with the key that asked for it.
#[derive(Clone, Debug)]
pub struct Prefetched {
    pub id: String,
    /// `None`: no such credential in the key's workspace.
    pub credential: Option<StoredCredential>,
}

/// [`authenticate`], and when the key is not cached, names its workspace, and the request
/// names a credential (`credential_id`), that credential read in the same round trip (one
/// strongly consistent `BatchGetItem`). The credential's item is decoded and returned only
/// with a usable key of its workspace. A made-up key that names a workspace costs that one
/// read of the credential it names (ids carry 80 random bits: one must know it), in the
/// same call as the key's, and is answered 401 like any unknown key.
pub async fn authenticate_reading(
    store: &Store,
    cache: &KeyCache,
    authorization: Option<&str>,
    credential_id: Option<&str>,
) -> Result<(Option<Principal>, Option<Prefetched>), StoreError> {
    let Some(key) = bearer_key(authorization) else {
        return Ok((None, None));
    };
    let key_hash = hash_key(key);
    if let Some(answer) = cache.get(&key_hash) {
        return Ok((answer, None));
    }
    let workspace = key_workspace(key);
    let (record, credential_item) = match (workspace, credential_id) {
        (Some(workspace), Some(id)) => {
            let (record, item) = store
                .get_api_key_and_credential(&key_hash, workspace, id)
                .await?;
            (record, Some((id, item)))
        }
        _ => (store.get_api_key(&key_hash).await?, None),
    };
    // A key names the workspace its record has (the hash covers the name): anything else
    // is a record this key did not mint, and no key at all.
    let principal = record
        .filter(ApiKeyRecord::is_active)
        .filter(|record| workspace.is_none_or(|w| w == record.workspace_id))
        .map(|record| Principal {
            workspace_id: record.workspace_id,
            key_id: record.key_id,
            scopes: record.scopes,
        });
    cache.put(key_hash, principal.as_ref());
    // Only now, for a usable key, is the credential's item decoded.
    let prefetched = match (&principal, credential_item) {
        (Some(_), Some((id, item))) => Some(Prefetched {
            id: id.to_owned(),
            credential: item
                .as_ref()
                .map(crate::store::decode_credential_item)
                .transpose()?,
        }),
        _ => None,
    };
    Ok((principal, prefetched))
}
