//! One function per route: extract the input from the request, call the route's use case,
//! shape the answer. Authentication comes first, so a caller without a valid key is told
//! nothing else (401 before 403 before any other answer; a route that names a credential
//! may have read it with the key, but looks at it only once the key checks out).

use lambda_http::Request;

#[cfg(feature = "encryption")]
use super::request::names_a_credential;
use super::request::{
    credential_id, expected_version, header, invalid_query, path_credential_id, request_info,
    version_number, Query,
};
use super::{Reply, Route};
use crate::audit::Action;
use crate::cursor::{self, ListFilter};
use crate::domain::{CredentialType, Status, StoredCredential};
use crate::error::ApiError;
#[cfg(feature = "encryption")]
use crate::error::FieldIssue;
use crate::ids::is_credential_id;
use crate::service::{self, AuditQuery, Caller, ListQuery, Target};
use crate::views::{self, PageMeta};
use crate::AppState;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 100;

async fn caller(state: &AppState, req: &Request, route: Route) -> Result<Caller, ApiError> {
    caller_reading(state, req, route, None).await
}

/// [`caller`] for a route that acts on the credential its path names: on a key-cache miss
/// the key and that credential are read in one round trip.
async fn caller_of_credential(
    state: &AppState,
    req: &Request,
    route: Route,
) -> Result<Caller, ApiError> {
    let id = path_credential_id(req);
    caller_reading(state, req, route, id.as_deref()).await
}

async fn caller_reading(
    state: &AppState,
    req: &Request,
    route: Route,
    credential_id: Option<&str>,
) -> Result<Caller, ApiError> {
    let caller = service::authorize_reading(
        state,
        header(req, "authorization"),
        route.scope(),
        request_info(req),
        credential_id,
    )
    .await?;
    let span = tracing::Span::current();
    span.record("key_id", caller.principal.key_id.as_str());
    span.record("workspace_id", caller.workspace());
    Ok(caller)
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
    let query = Query::parse(
        req,
        &[
            "limit",
            "cursor",
            "type",
            "status",
            "auth_status",
            "unused_since",
        ],
    )?;
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
    let auth = match query.get("auth_status") {
        None => None,
        Some(raw) => Some(crate::domain::AuthStatus::parse(raw).ok_or_else(|| {
            invalid_query("auth_status", "must be ok or reauthorization_required")
        })?),
    };
    let unused_since = match query.get("unused_since") {
        None => None,
        Some(raw) => Some(
            crate::domain::usage::since_stamp(raw)
                .ok_or_else(|| invalid_query("unused_since", "must be a date (YYYY-MM-DD)"))?,
        ),
    };
    Ok(ListQuery {
        limit,
        filter: ListFilter { status, kind, auth },
        unused_since,
        cursor: query.get("cursor").map(str::to_owned),
    })
}

pub async fn list(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller(state, req, Route::List).await?;
    let query = list_query(req)?;
    let limit = query.limit;
    let page = service::list(state, &principal, query).await?;
    let data: Vec<_> = page.items.iter().map(views::Credential::from).collect();
    Ok(Reply::with_meta(
        data,
        Some(PageMeta::new(limit, page.next_cursor)),
    ))
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
        Some(raw) => {
            Some(Action::parse(raw).ok_or_else(|| invalid_query("action", Action::ONE_OF))?)
        }
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
    let data: Vec<_> = page.events.iter().map(views::Event::from).collect();
    Ok(Reply::with_meta(
        data,
        Some(PageMeta::new(limit, page.next_cursor)),
    ))
}

pub async fn get(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller_of_credential(state, req, Route::Get).await?;
    let id = credential_id(req)?;
    let credential = service::get(state, &principal, &id).await?;
    Ok(credential_reply(&credential))
}

pub async fn usage(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller_of_credential(state, req, Route::GetUsage).await?;
    let id = credential_id(req)?;
    let (credential, usage) = service::usage(state, &principal, &id).await?;
    Ok(Reply::ok(views::CredentialUsage::of(
        &credential.id,
        &usage,
    )))
}

fn credential_reply(credential: &StoredCredential) -> Reply {
    Reply::ok(views::Credential::from(credential)).version(credential.version)
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
    let location = format!("/api/credentials/{}", created.view.id);
    let version = created.view.version;
    let reply = Reply::ok(created.view).created(location).version(version);
    Ok(if created.replayed {
        reply.replayed()
    } else {
        reply
    })
}

#[cfg(feature = "encryption")]
pub async fn update(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller_of_credential(state, req, Route::Update).await?;
    let id = credential_id(req)?;
    // A bad body is 400 whatever If-Match says.
    let body = super::request::json_body(req)?;
    let target = Target {
        id,
        if_match: expected_version(req),
    };
    let command = service::UpdateCommand {
        target,
        body,
        pending: false,
    };
    let updated = service::update(state, &principal, command).await?;
    Ok(credential_reply(&updated))
}

/// Stages secrets as a pending version: 201, `Location` the new version; the answer is the
/// credential (`pending_secret_version` names it; `current` is untouched).
#[cfg(feature = "encryption")]
pub async fn stage_version(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller_of_credential(state, req, Route::StageVersion).await?;
    let id = credential_id(req)?;
    let body = super::request::json_body(req)?;
    let target = Target {
        id,
        if_match: expected_version(req),
    };
    let command = service::UpdateCommand {
        target,
        body,
        pending: true,
    };
    let staged = service::update(state, &principal, command).await?;
    let pending = staged.versions.pending.unwrap_or_default();
    let location = format!("/api/credentials/{}/versions/{pending}", staged.id);
    Ok(credential_reply(&staged).created(location))
}

fn target(req: &Request) -> Result<Target, ApiError> {
    Ok(Target {
        id: credential_id(req)?,
        if_match: expected_version(req),
    })
}

fn lifecycle_reply(credential: &StoredCredential) -> Reply {
    Reply::ok(views::Lifecycle::from(credential)).version(credential.version)
}

pub async fn soft_delete(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller_of_credential(state, req, Route::SoftDelete).await?;
    let target = target(req)?;
    let credential = service::soft_delete(state, &principal, &target).await?;
    Ok(lifecycle_reply(&credential))
}

pub async fn restore(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller_of_credential(state, req, Route::Restore).await?;
    let target = target(req)?;
    let credential = service::restore(state, &principal, &target).await?;
    Ok(lifecycle_reply(&credential))
}

/// `force`: `true` or `false` (default).
fn force(req: &Request) -> Result<bool, ApiError> {
    let query = Query::parse(req, &["force"])?;
    match query.get("force") {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(invalid_query("force", "must be true or false")),
    }
}

pub async fn purge(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller_of_credential(state, req, Route::Purge).await?;
    let target = target(req)?;
    let force = force(req)?;
    service::purge(state, &principal, &target, force).await?;
    Ok(Reply::ok(views::Purged {
        id: target.id,
        purged: true,
    }))
}

#[cfg(feature = "encryption")]
pub async fn resolve(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller_of_credential(state, req, Route::Resolve).await?;
    let request = crate::validate::resolve_request(super::request::json_body(req)?)?;
    let target = match request.name {
        // By name, the path names no credential (it may be the route's template, or
        // absent): never a credential id, which would make the target ambiguous.
        Some(name) if !names_a_credential(req) => service::ResolveTarget::Name(name),
        Some(_) => {
            return Err(ApiError::validation(vec![FieldIssue::new(
                "name",
                "send either the path's credential id or name, not both",
            )]))
        }
        None => service::ResolveTarget::Id(credential_id(req)?),
    };
    let command = service::ResolveCommand {
        target,
        purpose: request.purpose,
        selector: request.selector,
        min_ttl: request.min_ttl,
        force_refresh: request.force_refresh,
    };
    let resolved = service::resolve(state, &principal, &command).await?;
    let reply = Reply::ok(views::Resolved::from(&resolved)).version(resolved.credential.version);
    // `resolved` (and with it every opened value) is dropped, and wiped, right here.
    Ok(reply)
}

fn version_query(req: &Request) -> Result<service::VersionQuery, ApiError> {
    let query = Query::parse(req, &["limit", "cursor"])?;
    let limit = page_limit(&query)?;
    let before = match query.get("cursor") {
        None => None,
        Some(raw) => Some(cursor::decode_version(raw).ok_or_else(ApiError::invalid_cursor)?),
    };
    Ok(service::VersionQuery {
        id: credential_id(req)?,
        limit,
        before,
    })
}

pub async fn list_versions(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller_of_credential(state, req, Route::ListVersions).await?;
    let query = version_query(req)?;
    let limit = query.limit;
    let history = service::list_versions(state, &principal, query).await?;
    let data: Vec<_> = history
        .versions
        .iter()
        .map(|v| views::SecretVersion::of(&history.credential, v))
        .collect();
    let next = history.next_cursor.map(cursor::encode_version);
    Ok(
        Reply::with_meta(data, Some(PageMeta::new(limit, next)))
            .version(history.credential.version),
    )
}

fn version_target(req: &Request) -> Result<service::VersionTarget, ApiError> {
    Ok(service::VersionTarget {
        credential: target(req)?,
        version: version_number(req)?,
    })
}

pub async fn promote_version(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller_of_credential(state, req, Route::PromoteVersion).await?;
    let target = version_target(req)?;
    let credential = service::promote(state, &principal, &target).await?;
    Ok(credential_reply(&credential))
}

pub async fn restore_version(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller_of_credential(state, req, Route::RestoreVersion).await?;
    let target = version_target(req)?;
    let credential = service::restore_version(state, &principal, &target).await?;
    Ok(credential_reply(&credential))
}

pub async fn destroy_version(state: &AppState, req: &Request) -> Result<Reply, ApiError> {
    let principal = caller_of_credential(state, req, Route::DestroyVersion).await?;
    let target = version_target(req)?;
    let credential = service::destroy_version(state, &principal, &target).await?;
    Ok(credential_reply(&credential))
}
