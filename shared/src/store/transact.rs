//! Sending a transaction until its outcome is known. Every `TransactWriteItems` carries one
//! `ClientRequestToken` for all its attempts: within ten minutes DynamoDB answers a repeat
//! with the first outcome, so an attempt whose answer was lost (the write landed) is never
//! applied twice nor refused by its own conditions. The attempts are made here, not by the
//! SDK, so that what happened to each is known: after an attempt without an answer
//! (timeout, broken connection) or with `TransactionInProgressException` (an earlier attempt
//! is still being applied), the write may have landed, and only a definite answer within
//! the time budget (success, or a cancellation, which a landed write would not get) settles
//! it; without one the caller is told the outcome is unknown, never that nothing changed.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::Config;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, TransactWriteItem};
use aws_smithy_types::retry::RetryConfig;

use super::{unavailable as failure, Store, StoreError};

/// Most attempts of one transaction (the time budget usually ends it first).
const MAX_ATTEMPTS: u32 = 6;
/// Pause before the second attempt; doubled for each later one.
const FIRST_BACKOFF: Duration = Duration::from_millis(25);

/// Why a transaction was cancelled, by position of the item in the request. Another
/// transaction touching the same items (`TransactionConflict`) is a lost race like a
/// failed condition: the use case decides whether to run again.
pub(super) enum Cancelled {
    /// The condition of the item at this index failed.
    Condition(usize),
    /// Another transaction touched the same items.
    Contention,
}

/// Why a transaction did not (knowably) apply.
pub(super) enum Failure {
    Cancelled(Cancelled),
    /// `Unavailable` or `Rejected` (DynamoDB answered no) or `OutcomeUnknown` (no answer
    /// settled an attempt that may have landed).
    Store(StoreError),
}

fn cancellation(reasons: &[CancellationReason]) -> Option<Cancelled> {
    if let Some(index) = reasons
        .iter()
        .position(|r| r.code() == Some("ConditionalCheckFailed"))
    {
        return Some(Cancelled::Condition(index));
    }
    reasons
        .iter()
        .any(|r| r.code() == Some("TransactionConflict"))
        .then_some(Cancelled::Contention)
}

/// What one attempt came to.
enum Attempt {
    Settled(Result<(), Failure>),
    /// Worth another attempt; `landed_maybe`: this attempt may have been applied.
    Again {
        landed_maybe: bool,
    },
}

fn judge(
    outcome: Result<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput,
        SdkError<TransactWriteItemsError>,
    >,
) -> Attempt {
    let err = match outcome {
        Ok(_) => return Attempt::Settled(Ok(())),
        Err(err) => err,
    };
    let answered = matches!(err, SdkError::ServiceError(_));
    if !answered {
        // No answer (timeout, broken connection, unreadable response): it may have landed.
        tracing::warn!(operation = "TransactWriteItems", "an attempt got no answer");
        return Attempt::Again { landed_maybe: true };
    }
    match err.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            Attempt::Settled(match cancellation(e.cancellation_reasons()) {
                Some(c) => Err(Failure::Cancelled(c)),
                None => Err(Failure::Store(failure("TransactWriteItems", &e))),
            })
        }
        TransactWriteItemsError::TransactionInProgressException(_) => {
            Attempt::Again { landed_maybe: true }
        }
        TransactWriteItemsError::ProvisionedThroughputExceededException(_)
        | TransactWriteItemsError::RequestLimitExceeded(_)
        | TransactWriteItemsError::ThrottlingException(_)
        | TransactWriteItemsError::InternalServerError(_) => Attempt::Again {
            landed_maybe: false,
        },
        other if other.code() == Some("ThrottlingException") => Attempt::Again {
            landed_maybe: false,
        },
        other => Attempt::Settled(Err(Failure::Store(failure("TransactWriteItems", &other)))),
    }
}

impl Store {
    /// One transaction, attempted until its outcome is known within the time budget (see
    /// the module docs): no attempt starts that could end after it. Each attempt is bounded
    /// by the SDK's attempt timeout; the SDK makes no retries of its own here.
    pub(super) async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), Failure> {
        let token = crate::ids::new_request_id();
        let started = Instant::now();
        let mut landed_maybe = false;
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=MAX_ATTEMPTS {
            let outcome = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .client_request_token(&token)
                .customize()
                .config_override(Config::builder().retry_config(RetryConfig::disabled()))
                .send()
                .await;
            match judge(outcome) {
                Attempt::Settled(result) => return result,
                Attempt::Again { landed_maybe: now } => landed_maybe |= now,
            }
            if attempt == MAX_ATTEMPTS || started.elapsed() + backoff + self.attempt > self.budget {
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        tracing::error!(
            operation = "TransactWriteItems",
            landed_maybe,
            "no attempt settled the transaction within its budget"
        );
        Err(Failure::Store(if landed_maybe {
            StoreError::OutcomeUnknown
        } else {
            StoreError::Unavailable
        }))
    }

    /// A transaction whose every item must apply: any cancellation is `Conflict`.
    pub(super) async fn transact_all(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<(), StoreError> {
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(Failure::Cancelled(_)) => Err(StoreError::Conflict),
            Err(Failure::Store(e)) => Err(e),
        }
    }
}
