//! API-key use cases: mint and revoke (the admin tool's), and authenticate (every
//! request's). Key formats, scopes and the cache live in `auth`.

use crate::audit::{Action, AuditEvent};
use crate::auth::{bearer_key, hash_key, mint_key, KeyCache, MintedKey, Principal, Scope};
use crate::clock::{self, Clock};
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
    let Some(key) = bearer_key(authorization) else {
        return Ok(None);
    };
    let key_hash = hash_key(key);
    if let Some(answer) = cache.get(&key_hash) {
        return Ok(answer);
    }
    let principal = store
        .get_api_key(&key_hash)
        .await?
        .filter(ApiKeyRecord::is_active)
        .map(|record| Principal {
            workspace_id: record.workspace_id,
            key_id: record.key_id,
            scopes: record.scopes,
        });
    cache.put(key_hash, principal.as_ref());
    Ok(principal)
}
