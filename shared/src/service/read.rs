//! List and get: reads only, never a KMS call.

use super::Caller;
use crate::cursor::{self, ListFilter};
use crate::domain::{ListedCredential, StoredCredential};
use crate::error::ApiError;
use crate::AppState;

/// One page request of the credentials list.
#[derive(Clone, Debug)]
pub struct ListQuery {
    /// Page size, already checked to be 1–100.
    pub limit: usize,
    pub filter: ListFilter,
    /// Only credentials not resolved at or after this time (a `usage::since_stamp`),
    /// never resolved first: served by the last-use index, with its own cursors.
    pub unused_since: Option<String>,
    /// The cursor from the previous page (the id it ended with), if any.
    pub cursor: Option<String>,
}

pub struct ListPage {
    pub items: Vec<ListedCredential>,
    /// Present when more credentials follow the last of `items`.
    pub next_cursor: Option<String>,
}

pub async fn list(app: &AppState, caller: &Caller, query: ListQuery) -> Result<ListPage, ApiError> {
    let workspace = caller.workspace();
    if let Some(before) = &query.unused_since {
        let after = match &query.cursor {
            None => None,
            Some(raw) => Some(cursor::decode_unused(raw).ok_or_else(ApiError::invalid_cursor)?),
        };
        let page = app
            .store
            .list_unused(
                workspace,
                query.filter,
                before,
                after.as_deref(),
                query.limit,
            )
            .await?;
        return Ok(ListPage {
            items: page.items,
            next_cursor: page.resume_after.as_deref().map(cursor::encode_unused),
        });
    }
    let after = match &query.cursor {
        None => None,
        Some(raw) => Some(cursor::decode(raw).ok_or_else(ApiError::invalid_cursor)?),
    };
    let page = app
        .store
        .list_credentials(
            workspace,
            query.filter,
            after.as_ref().map(|c| c.after_id.as_str()),
            query.limit,
        )
        .await?;
    let next_cursor = page.resume_after.as_deref().map(cursor::encode);
    Ok(ListPage {
        items: page.items,
        next_cursor,
    })
}

/// One credential of the caller's workspace (also when soft-deleted); 404 for any other.
/// Read with the key when the key was not cached (one round trip in all).
pub async fn get(app: &AppState, caller: &Caller, id: &str) -> Result<StoredCredential, ApiError> {
    caller
        .read_credential(app, id)
        .await?
        .ok_or_else(ApiError::not_found)
}
