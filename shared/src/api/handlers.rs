//! One function per route: extract the input from the request, call the route's use case,
//! shape the answer. Authentication comes first, so a caller without a valid key learns
//! nothing else (401 before 403 before any other answer).

use lambda_http::Request;
use serde::Serialize;

use super::request::{credential_id, expected_version, header, invalid_query, request_info, Query};
use super::{Reply, Route};
use crate::audit::{Action, AuditEvent};
use crate::cursor::ListFilter;
use crate::error::ApiError;
use crate::model::is_credential_id;
use crate::model::{CredentialType, ListedCredential, Status, StoredCredential};
use crate::service::{self, AuditQuery, Caller, ListQuery, Target};
use crate::AppState;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 100;

async fn caller(state: &AppState, req: &Request, route: Route) -> Result<Caller, ApiError> {
    let caller = service::authorize(
        state,
        header(req, "authorization"),
        route.scope(),
        request_info(req),
    )
    .await?;
    let span = tracing::Span::current();
    span.record("key_id", caller.principal.key_id.as_str());
    span.record("workspace_id", caller.workspace());
    Ok(caller)
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

/// `limit`: 1–100, default 50 (both lists).
fn page_limit(query: &Query) -> Result<usize, ApiError> {
    match query.get("limit") {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(raw) => raw
            .parse()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| invalid_query("limit", "must be an integer between 1 and 100")),
    }
}

fn list_query(req: &Request) -> Result<ListQuery, ApiError> {
    let query = Query::parse(req, &["limit", "cursor", "type", "status"])?;
    let limit = page_limit(&query)?;
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
    let data: Vec<_> = page.items.iter().map(ListedCredential::view).collect();
    let meta = PageMeta {
        page: PageInfo {
            limit,
            cursor: page.next_cursor,
        },
    };
    Ok(Reply::with_meta(data, Some(meta)))
}

fn audit_query(req: &Request) -> Result<AuditQuery, ApiError> {
    let query = Query::parse(req, &["limit", "cursor", "credential_id", "action"])?;
    let credential_id = match query.get("credential_id") {
        None => None,
        Some(id) if is_credential_id(id) => Some(id.to_owned()),
        Some(_) => return Err(invalid_query("credential_id", "must be a credential id")),
    };
    let action = match query.get("action") {
        None => None,
        Some(raw) => Some(Action::parse(raw).ok_or_else(|| {
            invalid_query(
                "action",
                "must be one of credential.created, credential.updated, credential.deleted, credential.restored, credential.purged, credential.resolved, api_key.created, api_key.revoked",
            )
        })?),
    };
    Ok(AuditQuery {
        limit: page_limit(&query)?,
        credential_id,
        action,
        cursor: query.get("cursor").map(str::to_owned),
    })
}

pub async fn list_audit_events(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let caller = caller(state, req, Route::ListAuditEvents).await?;
    let query = audit_query(req)?;
    let limit = query.limit;
    let page = service::list_events(state, &caller, query).await?;
    let data: Vec<_> = page.events.iter().map(AuditEvent::view).collect();
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
    // A bad body is 400 whatever If-Match says.
    let body = super::request::json_body(req)?;
    let if_match = expected_version(req);
    let command = service::UpdateCommand { id, if_match, body };
    let updated = service::update(state, &principal, command).await?;
    Ok(Reply::raw(updated.body).version(updated.version))
}

fn target(req: &Request) -> Result<Target, ApiError> {
    Ok(Target {
        id: credential_id(req)?,
        if_match: expected_version(req),
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

/// The resolve answer: the credential's metadata and every config field, secrets written
/// straight from their `SecretString`s into the body (no intermediate copy).
#[cfg(feature = "encryption")]
#[derive(Serialize)]
struct ResolvedView<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    status: &'a str,
    version: u64,
    updated_at: &'a str,
    /// Which fields of `config` are secrets (as in every other view).
    secret_fields: Vec<&'a str>,
    config: ResolvedConfig<'a>,
}

#[cfg(feature = "encryption")]
struct ResolvedConfig<'a>(&'a service::ResolvedCredential);

#[cfg(feature = "encryption")]
impl Serialize for ResolvedConfig<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use secrecy::ExposeSecret;
        use serde::ser::SerializeMap;
        let resolved = self.0;
        let config = &resolved.credential.config;
        let mut map = serializer.serialize_map(Some(config.len() + resolved.secrets.len()))?;
        for (key, value) in config {
            map.serialize_entry(key, value)?;
        }
        for (key, secret) in &resolved.secrets {
            map.serialize_entry(key, secret.expose_secret())?;
        }
        map.end()
    }
}

#[cfg(feature = "encryption")]
pub async fn resolve(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller(state, req, Route::Resolve).await?;
    let id = credential_id(req)?;
    let purpose = crate::validate::resolve_purpose(super::request::json_body(req)?)?;
    let command = service::ResolveCommand { id, purpose };
    let resolved = service::resolve(state, &principal, &command).await?;
    let credential = &resolved.credential;
    let view = ResolvedView {
        id: &credential.id,
        name: &credential.name,
        kind: credential.kind.as_str(),
        status: credential.status.as_str(),
        version: credential.version,
        updated_at: &credential.updated_at,
        secret_fields: resolved.secrets.keys().map(String::as_str).collect(),
        config: ResolvedConfig(&resolved),
    };
    // `resolved` (and with it every opened value) is dropped, and wiped, right after this.
    Ok(Reply::ok(view).version(credential.version))
}
