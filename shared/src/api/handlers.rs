//! One function per route: extract the input from the request, call the route's use case,
//! shape the answer. Authentication comes first, so a caller without a valid key learns
//! nothing else (401 before 403 before any other answer).

use lambda_http::Request;
use serde::Serialize;

use super::request::{credential_id, expected_version, header, invalid_query, Query};
use super::{Reply, Route};
use crate::auth::Principal;
use crate::cursor::ListFilter;
use crate::error::ApiError;
use crate::model::{CredentialType, Status, StoredCredential};
use crate::service::{self, ListQuery, Target};
use crate::AppState;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 100;

async fn caller(state: &AppState, req: &Request, route: Route) -> Result<Principal, ApiError> {
    service::authorize(state, header(req, "authorization"), route.scope()).await
}

#[derive(Serialize)]
struct PageMeta {
    page: PageInfo,
}

#[derive(Serialize)]
struct PageInfo {
    limit: usize,
    cursor: Option<String>,
}

fn list_query(req: &Request) -> Result<ListQuery, ApiError> {
    let query = Query::parse(req, &["limit", "cursor", "type", "status"])?;
    let limit = match query.get("limit") {
        None => DEFAULT_PAGE_SIZE,
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| invalid_query("limit", "must be an integer between 1 and 100"))?,
    };
    let status = match query.get("status") {
        None => Status::Active,
        Some(raw) => Status::parse(raw)
            .ok_or_else(|| invalid_query("status", "must be active or deleted"))?,
    };
    let kind = match query.get("type") {
        None => None,
        Some(raw) => Some(
            CredentialType::parse(raw)
                .ok_or_else(|| invalid_query("type", CredentialType::ONE_OF))?,
        ),
    };
    Ok(ListQuery {
        limit,
        filter: ListFilter { status, kind },
        cursor: query.get("cursor").map(str::to_owned),
    })
}

pub async fn list(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller(state, req, Route::List).await?;
    let query = list_query(req)?;
    let limit = query.limit;
    let page = service::list(state, &principal, query).await?;
    let data: Vec<_> = page.items.iter().map(StoredCredential::view).collect();
    let meta = PageMeta {
        page: PageInfo {
            limit,
            cursor: page.next_cursor,
        },
    };
    Ok(Reply::with_meta(data, Some(meta)))
}

pub async fn get(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller(state, req, Route::Get).await?;
    let id = credential_id(req)?;
    let credential = service::get(state, &principal, &id).await?;
    Ok(Reply::ok(credential.view()).version(credential.version))
}

#[cfg(feature = "encryption")]
pub async fn create(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller(state, req, Route::Create).await?;
    let idempotency_key = super::request::idempotency_key(req)?;
    let body = super::request::json_body(req)?;
    let command = service::CreateCommand {
        body,
        idempotency_key,
    };
    let created = service::create(state, &principal, command).await?;
    let reply = Reply::raw(created.body)
        .created(format!("/api/credentials/{}", created.id))
        .version(created.version);
    Ok(if created.replayed {
        reply.replayed()
    } else {
        reply
    })
}

#[cfg(feature = "encryption")]
pub async fn update(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller(state, req, Route::Update).await?;
    let id = credential_id(req)?;
    let if_match = expected_version(req)?;
    let body = super::request::json_body(req)?;
    let command = service::UpdateCommand { id, if_match, body };
    let updated = service::update(state, &principal, command).await?;
    Ok(Reply::raw(updated.body).version(updated.version))
}

fn target(req: &Request) -> Result<Target, ApiError> {
    Ok(Target {
        id: credential_id(req)?,
        if_match: expected_version(req)?,
    })
}

fn lifecycle_reply(credential: &StoredCredential) -> Reply {
    Reply::ok(credential.lifecycle_view()).version(credential.version)
}

pub async fn soft_delete(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller(state, req, Route::SoftDelete).await?;
    let target = target(req)?;
    let credential = service::soft_delete(state, &principal, &target).await?;
    Ok(lifecycle_reply(&credential))
}

pub async fn restore(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller(state, req, Route::Restore).await?;
    let target = target(req)?;
    let credential = service::restore(state, &principal, &target).await?;
    Ok(lifecycle_reply(&credential))
}

#[derive(Serialize)]
struct Purged<'a> {
    id: &'a str,
    purged: bool,
}

pub async fn purge(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller(state, req, Route::Purge).await?;
    let target = target(req)?;
    service::purge(state, &principal, &target).await?;
    Ok(Reply::ok(Purged {
        id: &target.id,
        purged: true,
    }))
}
