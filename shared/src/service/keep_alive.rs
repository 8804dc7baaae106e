//! The scheduled keep-alive (`refresh-tokens`): refreshes the tokens the keep-alive index
//! lists as due through [`Refresher::usable_token`], never waiting for a lease. Re-exported
//! from `service::refresh`, where callers name it.

use std::time::{Duration, Instant};

use super::refresh::{Refresher, TokenNeed};
use crate::audit::{Actor, RequestInfo};
use crate::domain::oauth::{self, OauthClient};
use crate::error::{ApiError, ErrorCode};
use crate::AppState;

/// What one run of the scheduled keep-alive did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct KeepAliveReport {
    /// Tokens the index listed as due.
    pub due: usize,
    pub refreshed: usize,
    /// Refreshed meanwhile, being refreshed, or no longer refreshable (deleted, purged,
    /// needing reauthorization).
    pub skipped: usize,
    /// The endpoint failed or refused (each left as resolve would leave it).
    pub failed: usize,
    /// Not started: the run's time box ended (the next run takes them).
    pub deferred: usize,
}

/// Most tokens one keep-alive run takes (the next run takes the rest).
pub const KEEP_ALIVE_BATCH: i32 = 100;
/// How far a due token the keep-alive could not refresh moves in its index (one period of
/// the schedule in `template.yaml`).
pub const KEEP_ALIVE_RETRY_SECONDS: u64 = 300;
/// No refresh starts after this much of a run: with one refresh's own bound (the token
/// endpoint's 10 s and its AWS calls) it ends well within the function's 300 s timeout.
pub const KEEP_ALIVE_TIME_BOX: Duration = Duration::from_secs(240);

/// The scheduled keep-alive (`refresh-tokens`): refreshes the tokens that expire within 15
/// minutes or were last refreshed over a day ago, found through the sparse keep-alive
/// index, with the same lease and the same commit as a resolve; it never waits for a lease
/// another caller holds.
pub async fn keep_alive(app: &AppState) -> Result<KeepAliveReport, ApiError> {
    let now = app.now_epoch();
    let due = app.store.due_tokens(now, KEEP_ALIVE_BATCH).await?;
    let mut report = KeepAliveReport {
        due: due.len(),
        ..KeepAliveReport::default()
    };
    let refresher = Refresher {
        app,
        actor: Actor::Scheduler,
        request: RequestInfo::default(),
    };
    let started = Instant::now();
    for token in due {
        if started.elapsed() > KEEP_ALIVE_TIME_BOX {
            report.deferred += 1;
            continue;
        }
        let credential = app
            .store
            .get_credential(&token.workspace_id, &token.credential_id)
            .await?;
        let usable = credential.as_ref().and_then(|c| {
            let live = c.status == crate::domain::Status::Active
                && c.auth_status == crate::domain::AuthStatus::Ok;
            OauthClient::of(c)
                .filter(|_| live)
                .map(|client| (c, client))
        });
        let Some((credential, client)) = usable else {
            // Deleted, or waiting for reauthorization: out of the index until a refresh
            // (after a restore, or new refresh material) puts it back.
            app.store.reschedule_keep_alive(&token, None).await?;
            report.skipped += 1;
            continue;
        };
        // The index is eventually consistent: a token refreshed meanwhile is not due.
        let state = app
            .store
            .get_token_state(&credential.workspace_id, &credential.id)
            .await?;
        if state.keep_alive_due().is_some_and(|at| at > now) {
            report.skipped += 1;
            continue;
        }
        let need = TokenNeed {
            min_ttl: oauth::KEEP_ALIVE_AHEAD_SECONDS,
            force: true,
            wait: false,
        };
        // Not refreshed (a cooldown, a refused endpoint): behind the others, for the next run.
        let retry = Some(now + KEEP_ALIVE_RETRY_SECONDS);
        match refresher.usable_token(credential, &client, need).await {
            Ok(usable) if usable.refreshed => report.refreshed += 1,
            // The endpoint failed (or is cooling down): the stored token was answered stale.
            Ok(usable) if usable.stale => {
                app.store.reschedule_keep_alive(&token, retry).await?;
                report.failed += 1;
            }
            // Another caller's refresh committed meanwhile (it moved the token itself).
            Ok(_) => report.skipped += 1,
            // The holder's commit moves it.
            Err(e) if e.code == ErrorCode::RefreshInProgress => report.skipped += 1,
            Err(_) => {
                app.store.reschedule_keep_alive(&token, retry).await?;
                report.failed += 1;
            }
        }
    }
    tracing::info!(
        due = report.due,
        refreshed = report.refreshed,
        skipped = report.skipped,
        failed = report.failed,
        deferred = report.deferred,
        "keep-alive run"
    );
    Ok(report)
}
