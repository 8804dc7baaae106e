//! Use cases: one function per operation, taking typed input and returning typed output.
//! They own the domain's sequence (authorize → read → validate → seal → conditional write)
//! and are what the HTTP layer, the tools and the tests call; nothing here knows about
//! HTTP events.
//!
//! # Retries
//!
//! A write that loses a race (its condition failed because the item changed since it was
//! read, or another transaction touched the same items) is run again from the read, at
//! most [`WRITE_ROUNDS`] times in all, by the one write path (`edit::on_current`; create,
//! whose id is new, repeats only its transaction, within the same bound). The
//! store makes one attempt per call, and the SDK's own retries cover transient failures
//! only (transport errors, timeouts, HTTP 5xx, throttling and transient error codes). Two rounds: one retry absorbs the common collision (two writers on one
//! credential), and each further round would add two calls to the worst case below.
//!
//! # Worst case of one request
//!
//! Every AWS call is bounded by the SDK operation timeout
//! ([`crate::settings::DEFAULT_OPERATION_TIMEOUT`], which includes the SDK's retries). The
//! most calls one request waits for one after another is [`WORST_CASE_CALLS`] (create: key
//! lookup, fingerprint key, idempotency record, data key, `WRITE_ROUNDS` transactions (each
//! counted as `TRANSACTION_BUDGET_CALLS` calls: the store attempts one until its outcome is
//! known), the winner's record; resolve's `Decrypt`s of several data keys run concurrently
//! and count once), so a request waits at most `WORST_CASE_CALLS × DEFAULT_OPERATION_TIMEOUT` on
//! AWS; `template.yaml`'s function timeout leaves a margin above that, and
//! `tests/api/template.rs` checks it.

pub mod api_keys;
mod audit;
#[cfg(feature = "encryption")]
mod create;
mod edit;
mod errors;
#[cfg(feature = "refresh")]
mod keep_alive;
mod lifecycle;
#[cfg(feature = "encryption")]
pub mod maintenance;
mod read;
#[cfg(feature = "refresh")]
pub mod refresh;
#[cfg(feature = "encryption")]
mod resolve;
#[cfg(feature = "encryption")]
mod update;
mod usage;
mod versions;

pub use audit::{list_events, AuditPage, AuditQuery};
#[cfg(feature = "encryption")]
pub use create::{create, CreateCommand, Created};
pub use edit::Target;
pub use lifecycle::{purge, restore, soft_delete};
pub use read::{get, list, ListPage, ListQuery};
#[cfg(feature = "encryption")]
pub use resolve::{resolve, ResolveCommand, ResolveTarget, ResolvedCredential};
#[cfg(feature = "encryption")]
pub use update::{update, UpdateCommand};
pub use usage::usage;
pub use versions::{
    destroy_version, list_versions, promote, restore_version, version_not_found, VersionHistory,
    VersionQuery, VersionTarget,
};

use crate::audit::{Action, Actor, AuditEvent, RequestInfo};
use crate::auth::{Principal, Scope};
use crate::domain::StoredCredential;
use crate::error::ApiError;
use crate::store::MAX_QUERIES_PER_PAGE;
use crate::AppState;

/// How many times a read → decide → conditional write runs when its write loses a race.
pub const WRITE_ROUNDS: usize = 2;

/// The most AWS calls one request waits for one after another, per use case (see the
/// module docs); calls made concurrently count once.
pub const WORST_CASE_CALLS_BY_USE_CASE: [(&str, usize); 10] = [
    ("list", 1 + MAX_QUERIES_PER_PAGE),
    ("get", 1 + 1),
    // key, the credential's GetItem alongside the ledger's Query pages
    ("usage", 1 + crate::store::MAX_USAGE_PAGES),
    ("list_events", 1 + MAX_QUERIES_PER_PAGE),
    // key, GenerateMac, idempotency GetItem, GenerateDataKey, rounds × transaction, the
    // winner's record
    ("create", 1 + 1 + 1 + 1 + WRITE_ROUNDS * TX + 1),
    // key, rounds × (GetItem + transaction), GenerateDataKey once
    ("update", 1 + WRITE_ROUNDS * (1 + TX) + 1),
    // key, rounds × (GetItem + transaction with the event)
    ("soft_delete", 1 + WRITE_ROUNDS * (1 + TX)),
    ("restore", 1 + WRITE_ROUNDS * (1 + TX)),
    // key, rounds × (GetItem + the usage ledger's Query + transaction)
    ("purge", 1 + WRITE_ROUNDS * (1 + 1 + TX)),
    // key, GetItem, the event's PutItem, one round of Decrypts (one per data key, made
    // concurrently; one in all when the secrets were set together, and the usage ledger's
    // writes made alongside them)
    ("resolve", 1 + 1 + 1 + 1),
];

/// A transaction counts as this many calls: the store keeps attempting it until its
/// outcome is known, for up to this many operation timeouts.
const TX: usize = crate::settings::TRANSACTION_BUDGET_CALLS as usize;

/// The largest entry of [`WORST_CASE_CALLS_BY_USE_CASE`].
pub const WORST_CASE_CALLS: usize = {
    let mut max = 0;
    let mut i = 0;
    while i < WORST_CASE_CALLS_BY_USE_CASE.len() {
        if WORST_CASE_CALLS_BY_USE_CASE[i].1 > max {
            max = WORST_CASE_CALLS_BY_USE_CASE[i].1;
        }
        i += 1;
    }
    max
};

/// An authorized request: whose key, and where it came from (for the audit trail).
#[derive(Clone, Debug)]
pub struct Caller {
    pub principal: Principal,
    pub request: RequestInfo,
    /// The credential the request names, when it was read with the key (a cold request's
    /// one round trip, `authorize_reading`).
    pub(crate) prefetched: Option<api_keys::Prefetched>,
}

impl Caller {
    pub fn workspace(&self) -> &str {
        &self.principal.workspace_id
    }

    /// The credential `id` as read with the key, if it was: `Some(None)` when it does not
    /// exist in the caller's workspace.
    pub fn prefetched(&self, id: &str) -> Option<Option<StoredCredential>> {
        let prefetched = self.prefetched.as_ref().filter(|p| p.id == id)?;
        // Read under the key's workspace, which is the caller's: checked again all the same.
        match &prefetched.credential {
            Some(c) if c.workspace_id != self.workspace() => None,
            found => Some(found.clone()),
        }
    }

    /// The credential `id` of the caller's workspace: as read with the key, or one
    /// strongly consistent `GetItem`.
    pub(crate) async fn read_credential(
        &self,
        app: &AppState,
        id: &str,
    ) -> Result<Option<StoredCredential>, crate::store::StoreError> {
        match self.prefetched(id) {
            Some(found) => Ok(found),
            None => app.store.get_credential(self.workspace(), id).await,
        }
    }

    /// The audit event of `action` on `credential` by this caller.
    fn event(
        &self,
        app: &AppState,
        action: Action,
        credential: &StoredCredential,
        changes: Vec<String>,
    ) -> AuditEvent {
        AuditEvent::for_credential(
            action,
            credential,
            Actor::ApiKey(self.principal.key_id.clone()),
            &self.request,
            changes,
            app.now(),
            app.audit_retention,
        )
    }
}

/// Authenticates the `Authorization` header and checks that the key has `scope`: 401
/// before 403 before anything else a request could be told.
pub async fn authorize(
    app: &AppState,
    authorization: Option<&str>,
    scope: Scope,
    request: RequestInfo,
) -> Result<Caller, ApiError> {
    authorize_reading(app, authorization, scope, request, None).await
}

/// [`authorize`] for a request that names credential `credential_id`: on a key-cache miss
/// the key and the credential are read in one round trip (see
/// [`api_keys::authenticate_reading`]); the credential is then in [`Caller::prefetched`].
pub async fn authorize_reading(
    app: &AppState,
    authorization: Option<&str>,
    scope: Scope,
    request: RequestInfo,
    credential_id: Option<&str>,
) -> Result<Caller, ApiError> {
    let (principal, prefetched) =
        api_keys::authenticate_reading(&app.store, &app.keys, authorization, credential_id).await?;
    let principal = principal.ok_or_else(ApiError::unauthorized)?;
    principal.require(scope)?;
    Ok(Caller {
        principal,
        request,
        prefetched,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_is_the_worst_case() {
        assert_eq!(WORST_CASE_CALLS, 9);
        assert!(WORST_CASE_CALLS_BY_USE_CASE
            .iter()
            .any(|(name, calls)| *name == "create" && *calls == WORST_CASE_CALLS));
    }
}
