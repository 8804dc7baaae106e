//! Reading the audit trail: the workspace's events, newest first, by `Query` only.

use super::Caller;
use crate::audit::{Action, AuditEvent};
use crate::cursor;
use crate::error::ApiError;
use crate::store::EventFilter;
use crate::AppState;

/// One page request of the audit list.
#[derive(Clone, Debug)]
pub struct AuditQuery {
    /// Page size, already checked to be 1–100.
    pub limit: usize,
    pub credential_id: Option<String>,
    pub action: Option<Action>,
    pub cursor: Option<String>,
}

pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub next_cursor: Option<String>,
}

/// Events of the caller's workspace (also of purged credentials), newest first.
pub async fn list_events(
    app: &AppState,
    caller: &Caller,
    query: AuditQuery,
) -> Result<AuditPage, ApiError> {
    let workspace = caller.workspace();
    let filter = EventFilter {
        credential_id: query.credential_id,
        action: query.action,
    };
    let after = match &query.cursor {
        None => None,
        Some(raw) => Some(cursor::decode_events(raw).ok_or_else(ApiError::invalid_cursor)?),
    };
    let page = app
        .store
        .list_events(
            workspace,
            &filter,
            after.as_ref().map(|c| c.after_id.as_str()),
            query.limit,
        )
        .await?;
    Ok(AuditPage {
        events: page.events,
        next_cursor: page.next_after.map(|after| cursor::encode_events(&after)),
    })
}
