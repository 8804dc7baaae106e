//! API keys: minting, hashing and checking.
//!
//! A key is `cak_` followed by 32 random bytes in unpadded base64url. Only its SHA-256 is
//! stored (a fast hash is right here: the key has 256 bits of entropy, so there is nothing
//! to brute-force). Every function checks the key itself, because direct invocations by ARN
//! never pass through API Gateway.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::audit::{Action, AuditEvent};
use crate::error::ApiError;
use crate::model::now_rfc3339;
use crate::store::{ApiKeyRecord, Store, StoreError};

const KEY_PREFIX: &str = "cak_";
const KEY_RANDOM_BYTES: usize = 32;
const KEY_ENCODED_CHARS: usize = 43;

/// What a key allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Read,
    Write,
    Purge,
    /// Read a credential whole, secrets decrypted (`resolve-credential`, direct invocation
    /// only). Granted only when asked for.
    Resolve,
    /// Read the workspace's audit trail.
    Audit,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::Write,
        Scope::Purge,
        Scope::Resolve,
        Scope::Audit,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "credentials:read",
            Self::Write => "credentials:write",
            Self::Purge => "credentials:purge",
            Self::Resolve => "credentials:resolve",
            Self::Audit => "credentials:audit",
        }
    }

    /// The stored form: exactly `credentials:read`, … (anything else is not a scope).
    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == s)
    }

    /// What an operator may type: the full form (`credentials:read`) or the short one
    /// (`read`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.into_iter().find(|scope| {
            scope.as_str() == s || scope.as_str().strip_prefix("credentials:") == Some(s)
        })
    }
}

/// The authenticated caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub workspace_id: String,
    pub key_id: String,
    pub scopes: Vec<Scope>,
}

impl Principal {
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// A freshly minted key: the secret is shown once, the record is what gets stored.
pub struct MintedKey {
    pub key: SecretString,
    pub record: ApiKeyRecord,
}

/// Workspace ids: short, lowercase, and free of the `#` the table keys use as separator.
pub fn is_workspace_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 64
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Hex SHA-256: how client-supplied keys (API keys, idempotency keys) are stored.
pub fn hash_key(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Generates a key and its record (not yet stored).
pub fn mint_key(workspace_id: &str, scopes: &[Scope], description: &str) -> MintedKey {
    let mut random = zeroize::Zeroizing::new([0u8; KEY_RANDOM_BYTES]);
    getrandom::getrandom(random.as_mut()).expect("the OS random source is available");
    let key = SecretString::from(format!(
        "{KEY_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(random.as_ref())
    ));
    let record = ApiKeyRecord {
        key_id: crate::ids::new_key_id(),
        key_hash: hash_key(key.expose_secret()),
        workspace_id: workspace_id.to_owned(),
        scopes: scopes.to_vec(),
        description: description.to_owned(),
        created_at: now_rfc3339(),
        revoked_at: None,
    };
    MintedKey { key, record }
}

/// Mints a key and stores its record with its `api_key.created` audit event (by the admin
/// tool, the only minter), in one transaction.
pub async fn create_key(
    store: &Store,
    workspace_id: &str,
    scopes: &[Scope],
    description: &str,
    audit_retention: std::time::Duration,
) -> Result<MintedKey, StoreError> {
    let minted = mint_key(workspace_id, scopes, description);
    let event = AuditEvent::for_api_key(
        Action::ApiKeyCreated,
        workspace_id,
        &minted.record.key_id,
        audit_retention,
    );
    store.put_api_key(&minted.record, &event).await?;
    event.log();
    Ok(minted)
}

/// Revokes a key of `workspace_id` and records `api_key.revoked` with it. Revoking an
/// already revoked key changes nothing and records nothing.
pub async fn revoke_key(
    store: &Store,
    workspace_id: &str,
    key_id: &str,
    audit_retention: std::time::Duration,
) -> Result<(), StoreError> {
    let event =
        AuditEvent::for_api_key(Action::ApiKeyRevoked, workspace_id, key_id, audit_retention);
    if store
        .revoke_api_key(workspace_id, key_id, &now_rfc3339(), &event)
        .await?
    {
        event.log();
    }
    Ok(())
}

/// Extracts the key from an `Authorization` header value, if it has the right shape.
fn bearer_key(header: Option<&str>) -> Option<&str> {
    let header = header?.trim();
    let (scheme, key) = header.split_once(' ')?;
    let key = key.trim();
    let well_formed = scheme.eq_ignore_ascii_case("bearer")
        && key.len() == KEY_PREFIX.len() + KEY_ENCODED_CHARS
        && key.starts_with(KEY_PREFIX)
        && key[KEY_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some(key)
}

/// The time a cache entry's age is measured on. The wall clock, not a monotonic one: a
/// Lambda container frozen between invocations does not see monotonic time advance, so a
/// 30-second entry could otherwise outlive a revocation by hours.
pub trait Clock: std::fmt::Debug + Send + Sync {
    fn now(&self) -> SystemTime;
}

#[derive(Debug)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// How long an unknown or revoked key is remembered as such (at most the cache's TTL): a
/// flood of requests with one bad key then costs one lookup per this time, and a key
/// minted right after being tried works within it.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(5);

/// Keys already checked by this container, for a short time: a warm request then makes no
/// key lookup. The price is that a revoked key keeps working on a container that checked it
/// for up to the TTL (measured on the wall clock); unknown and revoked keys are remembered
/// for [`NEGATIVE_TTL`].
#[derive(Debug)]
pub struct KeyCache {
    ttl: Duration,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<String, (Option<Principal>, SystemTime)>>,
}

/// Bound on cached keys per container; when full, the cache starts over.
const KEY_CACHE_CAPACITY: usize = 1024;

impl KeyCache {
    /// A cache keeping each key for `ttl` (zero: no caching at all).
    pub fn new(ttl: Duration) -> Self {
        Self::with_clock(ttl, Arc::new(WallClock))
    }

    pub fn with_clock(ttl: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            ttl,
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(answer)` while a check of this key is fresh: the principal, or `None` for a
    /// key known not to work. An entry from the future (the clock went back) is stale.
    fn get(&self, key_hash: &str) -> Option<Option<Principal>> {
        let now = self.clock.now();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (principal, at) = entries.get(key_hash)?;
        let ttl = match principal {
            Some(_) => self.ttl,
            None => self.ttl.min(NEGATIVE_TTL),
        };
        let age = now.duration_since(*at).ok()?;
        (age < ttl).then(|| principal.clone())
    }

    fn put(&self, key_hash: String, principal: Option<&Principal>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= KEY_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(key_hash, (principal.cloned(), self.clock.now()));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A clock the test moves by hand.
    #[derive(Debug)]
    struct Manual(Mutex<SystemTime>);

    impl Clock for Manual {
        fn now(&self) -> SystemTime {
            *self.0.lock().unwrap()
        }
    }

    impl Manual {
        fn advance(&self, by: Duration) {
            *self.0.lock().unwrap() += by;
        }

        fn rewind(&self, by: Duration) {
            *self.0.lock().unwrap() -= by;
        }
    }

    fn principal() -> Principal {
        Principal {
            workspace_id: "ws".into(),
            key_id: "key_1".into(),
            scopes: vec![Scope::Read],
        }
    }

    #[test]
    fn entries_age_on_the_wall_clock() {
        let clock = Arc::new(Manual(Mutex::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        )));
        let cache = KeyCache::with_clock(Duration::from_secs(30), clock.clone());
        cache.put("k".into(), Some(&principal()));
        clock.advance(Duration::from_secs(29));
        assert_eq!(cache.get("k"), Some(Some(principal())));
        // A container frozen for hours: the wall clock moved, the entry is stale.
        clock.advance(Duration::from_secs(3 * 3600));
        assert_eq!(cache.get("k"), None);
        // A clock that went back makes an entry stale, never older than it is.
        cache.put("k".into(), Some(&principal()));
        clock.rewind(Duration::from_secs(1));
        assert_eq!(cache.get("k"), None);
    }

    #[test]
    fn unknown_keys_are_remembered_briefly() {
        let clock = Arc::new(Manual(Mutex::new(
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        )));
        let cache = KeyCache::with_clock(Duration::from_secs(30), clock.clone());
        cache.put("bad".into(), None);
        assert_eq!(cache.get("bad"), Some(None));
        clock.advance(NEGATIVE_TTL);
        assert_eq!(cache.get("bad"), None);
        // With caching off, nothing is remembered, not even bad keys.
        let off = KeyCache::with_clock(Duration::ZERO, clock.clone());
        off.put("bad".into(), None);
        off.put("k".into(), Some(&principal()));
        assert_eq!((off.get("bad"), off.get("k")), (None, None));
    }
}
