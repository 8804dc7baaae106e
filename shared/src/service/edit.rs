//! The one write path on an existing credential. Update, soft delete, restore and purge all
//! run [`on_current`]: read the credential for write, 404 when it is not the caller's, let
//! the use case refuse the request (its 400s come before `If-Match`), compare `If-Match`
//! (412), then let the use case write conditionally on what it read. A write that loses a
//! race reads again and decides again, at most [`WRITE_ROUNDS`] times in all, then answers
//! `409 conflict`. This is the only retry loop for lost races.

use std::future::Future;

use super::{Caller, WRITE_ROUNDS};
use crate::domain::{IfMatch, StoredCredential};
use crate::error::ApiError;
use crate::store::StoreError;
use crate::AppState;

/// The credential an operation acts on, and the versions `If-Match` admits.
#[derive(Clone, Debug)]
pub struct Target {
    pub id: String,
    pub if_match: IfMatch,
}

/// What one round of a write came to.
pub(super) enum Round<T> {
    /// Finished: written, or nothing to write (deleting a deleted credential).
    Done(T),
    /// The conditional write lost a race: read again and decide again.
    Raced,
}

impl<T> Round<T> {
    /// The round with its result transformed (run only when it is done).
    pub(super) fn map<U>(self, f: impl FnOnce(T) -> U) -> Round<U> {
        match self {
            Self::Done(done) => Round::Done(f(done)),
            Self::Raced => Round::Raced,
        }
    }
}

/// A store write's outcome as a round: a lost race (`Conflict`) is [`Round::Raced`], any
/// other failure ends the request.
pub(super) fn round<T>(outcome: Result<T, StoreError>) -> Result<Round<T>, ApiError> {
    match outcome {
        Ok(done) => Ok(Round::Done(done)),
        Err(StoreError::Conflict) => Ok(Round::Raced),
        Err(other) => Err(other.into()),
    }
}

/// Runs read → 404 → `check` → If-Match → `write` until a round is done (see the module
/// docs). `check` sees the credential as read and returns what `write` needs (or the 400
/// the body deserves); `write` decides on the state (409s) and writes conditionally on the
/// version it was given.
pub(super) async fn on_current<P, T, Fut>(
    app: &AppState,
    caller: &Caller,
    target: &Target,
    mut check: impl FnMut(&StoredCredential) -> Result<P, ApiError>,
    mut write: impl FnMut(StoredCredential, P) -> Fut,
) -> Result<T, ApiError>
where
    Fut: Future<Output = Result<Round<T>, ApiError>>,
{
    for attempt in 0..WRITE_ROUNDS {
        // The first round may use the credential read with the key; after a lost race,
        // always a fresh read.
        let read = if attempt == 0 {
            caller.read_credential(app, &target.id).await?
        } else {
            app.store
                .get_credential(caller.workspace(), &target.id)
                .await?
        };
        let current = read.ok_or_else(ApiError::not_found)?;
        let plan = check(&current)?;
        if !current.matches(&target.if_match) {
            return Err(ApiError::precondition_failed());
        }
        match write(current, plan).await? {
            Round::Done(done) => return Ok(done),
            Round::Raced => continue,
        }
    }
    Err(StoreError::Conflict.into())
}
