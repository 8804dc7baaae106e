//! DynamoDB persistence in one table; its items, keys and indexes are in
//! `docs/architecture.md` ("Storage and encryption").
//!
//! The indexes project only what their readers show (`INCLUDE`): sealed secrets live in
//! the base table alone.
//!
//! Name uniqueness is enforced by DynamoDB itself: a credential and its name reservation are
//! written in one transaction whose first item must not exist yet.
//!
//! Every method makes one attempt (the SDK still retries transient failures: transport
//! errors, timeouts, HTTP 5xx, throttling);
//! what to do after a lost race is the use case's decision (`service`).

mod api_keys;
mod audit;
mod codec;
mod credentials;
mod idempotency;
mod migrate;
mod prewarm;
mod table;
mod tokens;
mod transact;
mod unused;
mod usage;
mod versions;

pub use api_keys::ApiKeyRecord;
pub use audit::{audit_partitions, audit_pk, EventFilter, EventPage, AUDIT_SHARDS};
/// The item a credential is stored as, and its keys (benchmarks make the same raw calls
/// the store makes, and bulk-load items directly).
pub use codec::{
    credential_key, decode_credential as decode_credential_item, encode_credential, item_size,
    status_sk, type_pk, MAX_ITEM_BYTES, SEALED_SIZE_STEP,
};
pub use credentials::{Page, MAX_QUERIES_PER_PAGE};
pub use idempotency::IdempotencyRecord;
pub use migrate::MigrationReport;
pub use prewarm::Prewarm;
pub use table::{
    create_table, API_KEY_ATTRIBUTES, AUDIT_ATTRIBUTES, GSI_API_KEYS, GSI_AUDIT_BY_CREDENTIAL,
    GSI_BY_LAST_USE, GSI_BY_STATUS, GSI_BY_TYPE, LIST_ATTRIBUTES, TOKEN_REFRESH_ATTRIBUTES,
};
pub use tokens::{DueToken, GSI_TOKEN_REFRESH, TOKEN_ATTRIBUTES};
pub use usage::{usage_pk, MARK_ATTRIBUTES, MAX_USAGE_PAGES, USAGE_ATTRIBUTES, USAGE_SHARDS};
pub use versions::{VersionPage, VersionWrites, MAX_DELETES_PER_WRITE};

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::Client;

/// What can go wrong in the store, in terms the API can answer with.
#[derive(Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The name is reserved by another credential of the workspace.
    NameTaken,
    /// No such item (or not in this workspace).
    NotFound,
    /// The write lost a race: the item changed since it was read, or another transaction
    /// touched the same items. The store makes one attempt per call; the use case decides
    /// whether to read and try again.
    Conflict,
    /// Another request already used this idempotency key (read the record to tell whether
    /// it is a replay).
    IdempotencyKeyUsed,
    /// DynamoDB answered with an error (or a read failed): nothing was written.
    Unavailable,
    /// A write got no answer (timeout, broken connection) after the SDK's retries: it may
    /// or may not have been applied.
    OutcomeUnknown,
    /// An item in the table does not decode: a bug or a manual edit, never client input.
    Corrupt,
    /// The credential would exceed DynamoDB's item size limit: nothing was written, and
    /// the same request can never succeed.
    TooLarge,
    /// DynamoDB refused the request itself (`ValidationException`): nothing was written,
    /// and sending it again cannot succeed.
    Rejected,
}

/// Logs an SDK failure by its error code only (messages can carry item contents), and
/// says what it means: `Rejected` for a `ValidationException` (the request cannot succeed
/// as sent), else `Unavailable`.
pub(crate) fn unavailable<E: ProvideErrorMetadata>(operation: &'static str, err: &E) -> StoreError {
    let code = err.code().unwrap_or("none");
    tracing::error!(operation, aws_error_code = code, "dynamodb call failed");
    if code == "ValidationException" {
        StoreError::Rejected
    } else {
        StoreError::Unavailable
    }
}

/// The DynamoDB side of the service. Cheap to clone; build once per container.
#[derive(Clone, Debug)]
pub struct Store {
    client: Client,
    table: String,
    /// How long one transaction keeps trying to settle its outcome.
    budget: std::time::Duration,
    /// The bound of one attempt: no attempt starts that could end after `budget`.
    attempt: std::time::Duration,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            budget: crate::settings::operation_timeout()
                * crate::settings::TRANSACTION_BUDGET_CALLS,
            attempt: crate::settings::attempt_timeout(),
        }
    }
}

/// The partition of a workspace's items (and of its entries in the status index).
pub fn workspace_pk(workspace_id: &str) -> String {
    format!("WS#{workspace_id}")
}
