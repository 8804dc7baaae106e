//! API keys: their format, scopes and hash, and the per-container cache of checked keys. The
//! use cases that store and check them live in `service::api_keys`.
//!
//! A key is `cak_`, its workspace id and a dot, then 32 random bytes in unpadded base64url
//! (`cak_dev.…`); keys minted before workspaces were named in them (`cak_` and the random
//! part) keep working. The workspace in the clear lets a request that names a credential
//! read the key's record and the credential in one round trip
//! (`service::api_keys::authenticate_reading`). Only the key's SHA-256 is stored (a fast
//! hash is right here: the key has 256 bits of entropy, so there is nothing to
//! brute-force). Every function checks the key itself, because direct invocations by ARN
//! never pass through API Gateway.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::clock::SharedClock;
use crate::error::ApiError;
use crate::store::ApiKeyRecord;

const KEY_PREFIX: &str = "cak_";
const KEY_RANDOM_BYTES: usize = 32;
const KEY_ENCODED_CHARS: usize = 43;

crate::labelled_enum! {
    /// What a key allows.
    pub enum Scope {
        Read => "credentials:read",
        Write => "credentials:write",
        Purge => "credentials:purge",
        /// Read a credential whole, secrets decrypted (`resolve-credential`, direct
        /// invocation only). Granted only when asked for.
        Resolve => "credentials:resolve",
        /// Read the workspace's audit trail.
        Audit => "credentials:audit",
    }
}

impl Scope {
    /// What an operator may type: the full form (`credentials:read`) or the short one
    /// (`read`).
    pub fn parse_operator(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL.iter().copied().find(|scope| {
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

/// Generates a key and its record (not yet stored), created at `now` (RFC 3339).
pub fn mint_key(workspace_id: &str, scopes: &[Scope], description: &str, now: &str) -> MintedKey {
    let mut random = zeroize::Zeroizing::new([0u8; KEY_RANDOM_BYTES]);
    getrandom::getrandom(random.as_mut()).expect("the OS random source is available");
    let key = SecretString::from(format!(
        "{KEY_PREFIX}{workspace_id}.{}",
        URL_SAFE_NO_PAD.encode(random.as_ref())
    ));
    let record = ApiKeyRecord {
        key_id: crate::ids::new_key_id(),
        key_hash: hash_key(key.expose_secret()),
        workspace_id: workspace_id.to_owned(),
        scopes: scopes.to_vec(),
        description: description.to_owned(),
        created_at: now.to_owned(),
        revoked_at: None,
    };
    MintedKey { key, record }
}

/// Extracts the key from an `Authorization` header value, if it has the right shape:
/// `cak_<workspace>.<43 base64url>` or (minted before) `cak_<43 base64url>`.
pub fn bearer_key(header: Option<&str>) -> Option<&str> {
    let header = header?.trim();
    let (scheme, key) = header.split_once(' ')?;
    let key = key.trim();
    let rest = key.strip_prefix(KEY_PREFIX)?;
    let random = match rest.rsplit_once('.') {
        Some((workspace, random)) if is_workspace_id(workspace) => random,
        Some(_) => return None,
        None => rest,
    };
    let well_formed = scheme.eq_ignore_ascii_case("bearer")
        && random.len() == KEY_ENCODED_CHARS
        && random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some(key)
}

/// The workspace a well-formed key names (`None` for a key minted before keys named it).
pub fn key_workspace(key: &str) -> Option<&str> {
    let (workspace, _) = key.strip_prefix(KEY_PREFIX)?.rsplit_once('.')?;
    Some(workspace)
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
    clock: SharedClock,
    entries: Mutex<HashMap<String, (Option<Principal>, SystemTime)>>,
}

/// Bound on cached keys per container; when full, the cache starts over.
const KEY_CACHE_CAPACITY: usize = 1024;

impl KeyCache {
    /// A cache keeping each key for `ttl` (zero: no caching at all), aged on `clock`.
    pub fn new(ttl: Duration, clock: SharedClock) -> Self {
        Self {
            ttl,
            clock,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(answer)` while a check of this key is fresh: the principal, or `None` for a
    /// key known not to work. An entry from the future (the clock went back) is stale.
    pub fn get(&self, key_hash: &str) -> Option<Option<Principal>> {
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

    pub fn put(&self, key_hash: String, principal: Option<&Principal>) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn principal() -> Principal {
        Principal {
            workspace_id: "ws".into(),
            key_id: "key_1".into(),
            scopes: vec![Scope::Read],
        }
    }

    #[test]
    fn keys_name_their_workspace_and_older_keys_still_parse() {
        let minted = mint_key("dev-1", &[Scope::Read], "t", "2026-01-01T00:00:00Z");
        let key = minted.key.expose_secret();
        assert!(key.starts_with("cak_dev-1."), "{key}");
        let header = format!("Bearer {key}");
        assert_eq!(bearer_key(Some(&header)), Some(key));
        assert_eq!(key_workspace(key), Some("dev-1"));
        let older = format!("cak_{}", "A".repeat(KEY_ENCODED_CHARS));
        assert_eq!(
            bearer_key(Some(&format!("Bearer {older}"))),
            Some(older.as_str())
        );
        assert_eq!(key_workspace(&older), None);
        for bad in [
            format!("cak_Dev.{}", "A".repeat(KEY_ENCODED_CHARS)),
            format!("cak_.{}", "A".repeat(KEY_ENCODED_CHARS)),
            format!("cak_a#b.{}", "A".repeat(KEY_ENCODED_CHARS)),
            format!("cak_dev.{}", "A".repeat(KEY_ENCODED_CHARS - 1)),
            format!("cak_dev.{}.", "A".repeat(KEY_ENCODED_CHARS)),
        ] {
            assert_eq!(bearer_key(Some(&format!("Bearer {bad}"))), None, "{bad}");
        }
    }

    #[test]
    fn entries_age_on_the_wall_clock() {
        let clock = ManualClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000));
        let cache = KeyCache::new(Duration::from_secs(30), clock.clone());
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
        let clock = ManualClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000));
        let cache = KeyCache::new(Duration::from_secs(30), clock.clone());
        cache.put("bad".into(), None);
        assert_eq!(cache.get("bad"), Some(None));
        clock.advance(NEGATIVE_TTL);
        assert_eq!(cache.get("bad"), None);
        // With caching off, nothing is remembered, not even bad keys.
        let off = KeyCache::new(Duration::ZERO, clock.clone());
        off.put("bad".into(), None);
        off.put("k".into(), Some(&principal()));
        assert_eq!((off.get("bad"), off.get("k")), (None, None));
    }
}
