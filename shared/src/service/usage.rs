//! The usage ledger's use cases: recording a resolve (or a refused one), reading a
//! credential's usage, and the purge's check that nobody used it within the quiet period.

use std::time::Duration;

use super::Caller;
use crate::clock;
use crate::domain::usage::{
    consumer_of, day_of, summarize, Outcome, Usage, MARK_INTERVAL_SECONDS, WINDOW_DAYS,
};
use crate::domain::StoredCredential;
use crate::error::{ApiError, ConsumerSeen, ErrorCode, FieldIssue, MAX_DETAILS};
use crate::store::MAX_USAGE_PAGES;
use crate::AppState;

/// Counts a resolve (or a refusal) of `credential` for `purpose`'s consumer, and renews the
/// credential's own mark when the one it read is [`MARK_INTERVAL_SECONDS`] old: at most two
/// `UpdateItem`s, made concurrently. Never fails the resolve: a write that fails is logged
/// (`usage not recorded`, naming which); without its day item that resolve is missing
/// from the ledger (the audit trail has it).
#[cfg_attr(not(feature = "encryption"), allow(dead_code))]
pub(super) async fn record(
    app: &AppState,
    credential: &StoredCredential,
    purpose: &str,
    outcome: Outcome,
) {
    let now = app.now();
    let epoch = clock::epoch_seconds(now);
    let at = clock::rfc3339(now);
    let mark = match outcome {
        Outcome::Resolved => &credential.used.last_resolved_at,
        Outcome::Refused => &credential.used.last_refused_at,
    };
    let mark_is_stale = mark
        .as_deref()
        .and_then(clock::parse_rfc3339)
        .map(clock::epoch_seconds)
        .is_none_or(|last| epoch >= last + MARK_INTERVAL_SECONDS);
    let count = app
        .store
        .record_usage(credential, consumer_of(purpose), purpose, outcome, epoch);
    let renew = async {
        if mark_is_stale {
            app.store
                .mark_usage(credential, outcome, &at, purpose)
                .await
        } else {
            Ok(())
        }
    };
    let (counted, marked) = tokio::join!(count, renew);
    for (write, outcome) in [("day item", counted), ("last-use mark", marked)] {
        if outcome.is_err() {
            tracing::warn!(
                credential_id = credential.id.as_str(),
                write,
                "usage not recorded"
            );
        }
    }
}

fn epoch_of(rfc3339: Option<&str>) -> Option<u64> {
    rfc3339
        .and_then(clock::parse_rfc3339)
        .map(clock::epoch_seconds)
}

fn with_marks(mut usage: Usage, credential: &StoredCredential, cut_short: bool) -> Usage {
    let marks = &credential.used;
    if let (Some(at), Some(purpose)) = (
        epoch_of(marks.last_resolved_at.as_deref()),
        marks.last_purpose.as_ref(),
    ) {
        if usage
            .last_resolved
            .as_ref()
            .is_none_or(|(last, _)| at > *last)
        {
            usage.last_resolved = Some((at, purpose.clone()));
        }
    }
    usage.last_refused = usage
        .last_refused
        .max(epoch_of(marks.last_refused_at.as_deref()));
    usage.consumers_truncated |= cut_short;
    usage
}

/// The credential (of the caller's workspace; 404 otherwise) and its usage: its day items
/// (one or more `Query` pages) and, unless it came with the key, the credential (one
/// `GetItem`, concurrently).
pub async fn usage(
    app: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(StoredCredential, Usage), ApiError> {
    let now = app.now_epoch();
    let first_day = day_of(now).saturating_sub(WINDOW_DAYS - 1);
    let (credential, items) = tokio::join!(
        caller.read_credential(app, id),
        app.store
            .usage_since(caller.workspace(), id, first_day, MAX_USAGE_PAGES),
    );
    let credential = credential?.ok_or_else(ApiError::not_found)?;
    let (items, cut_short) = items?;
    let usage = with_marks(summarize(&items, now), &credential, cut_short);
    Ok((credential, usage))
}

/// What a purge learns from the ledger: whether it is refused, and whether a `force`
/// overrode that.
pub(super) enum QuietCheck {
    Quiet,
    Overridden,
}

/// The purge's check: 409 `credential_in_use` when the credential was resolved, or a
/// resolve refused, within `app.purge_quiet` (`details`: each consumer seen in that period
/// when the key may read, `may_read`; else only which mark tripped the check); with
/// `force`, the purge goes ahead and says it overrode the check.
pub(super) async fn check_quiet(
    app: &AppState,
    credential: &StoredCredential,
    force: bool,
    may_read: bool,
) -> Result<QuietCheck, ApiError> {
    if app.purge_quiet.is_zero() {
        return Ok(QuietCheck::Quiet);
    }
    let now = app.now_epoch();
    let since = now.saturating_sub(app.purge_quiet.as_secs());
    // One page, newest days first, from the day the quiet period began: the consumers seen
    // in it (a page holds thousands of day items), and the marks besides.
    let (items, cut_short) = app
        .store
        .usage_since(&credential.workspace_id, &credential.id, day_of(since), 1)
        .await?;
    let usage = with_marks(summarize(&items, now), credential, cut_short);
    if !usage.seen_since(since) {
        return Ok(QuietCheck::Quiet);
    }
    if force {
        return Ok(QuietCheck::Overridden);
    }
    Err(in_use(&usage, since, may_read))
}

fn rfc3339_of(epoch: u64) -> String {
    clock::rfc3339(std::time::UNIX_EPOCH + Duration::from_secs(epoch))
}

fn in_use(usage: &Usage, since: u64, may_read: bool) -> ApiError {
    // Consumers and times are what the usage route shows: only to a key that may read.
    let shown = if may_read {
        usage.consumers.as_slice()
    } else {
        &[]
    };
    let mut details: Vec<FieldIssue> = shown
        .iter()
        .filter(|c| c.last_seen() >= since)
        .take(MAX_DETAILS)
        .map(|c| FieldIssue {
            field: "consumer".to_owned(),
            issue: "used within the purge quiet period",
            seen: Some(ConsumerSeen {
                consumer: c.consumer.clone(),
                last_resolved_at: c.last_resolved.as_ref().map(|(at, _)| rfc3339_of(*at)),
                last_refused_at: c.last_refused.map(rfc3339_of),
            }),
        })
        .collect();
    if details.is_empty() {
        // A key that may not read, or only the credential's own marks know (its day items
        // are beyond the page read, or were not written): name what tripped the check.
        let resolved = usage
            .last_resolved
            .as_ref()
            .is_some_and(|(at, _)| *at >= since);
        // (`usage` has the credential's own marks merged in.)
        let refused = !resolved && usage.last_refused.is_some_and(|at| at >= since);
        let mark = if refused {
            "last_refused_at"
        } else {
            "last_resolved_at"
        };
        details.push(FieldIssue::new(mark, "within the purge quiet period"));
    }
    ApiError {
        code: ErrorCode::CredentialInUse,
        message: "The credential was used (resolved, or a resolve refused) within the purge quiet period. Check the consumers in details, or purge with force=true and If-Match.",
        details,
        retry_after: None,
    }
}
