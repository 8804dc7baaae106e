//! The HTTP layer every function runs: request parsing, the response envelope, error
//! rendering and the one log line per request.
//!
//! Each route has one public entry point here (`get_credential`, …) with the signature
//! `lambda_http::run` wants; the function binaries and the local server call exactly these.

pub mod function;
mod handlers;
mod request;
pub mod routes;

use std::convert::Infallible;
use std::future::Future;
use std::time::Instant;

use lambda_http::http::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use lambda_http::http::{HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::error::{ApiError, ErrorCode};
use crate::AppState;
pub use request::{request_id, with_request_id};
pub use routes::{match_route, Route, RouteMatch};

/// A successful answer, already serialized.
pub struct Reply {
    status: StatusCode,
    body: Vec<u8>,
    location: Option<String>,
    /// The credential version the answer shows (sent as `ETag`).
    version: Option<u64>,
    /// True when an idempotent create replays its first answer.
    replayed: bool,
}

impl Reply {
    pub fn ok<D: Serialize>(data: D) -> Self {
        Self::with_meta(data, None::<()>)
    }

    pub fn with_meta<D: Serialize, M: Serialize>(data: D, meta: Option<M>) -> Self {
        Self::raw(crate::views::document(data, meta))
    }

    fn raw(body: Vec<u8>) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            location: None,
            version: None,
            replayed: false,
        }
    }

    pub fn created(mut self, location: String) -> Self {
        self.status = StatusCode::CREATED;
        self.location = Some(location);
        self
    }

    pub fn version(mut self, version: u64) -> Self {
        self.version = Some(version);
        self
    }

    pub fn replayed(mut self) -> Self {
        self.replayed = true;
        self
    }
}

fn json_response(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response<Body> {
    // JSON is UTF-8: sent as text, so a direct invocation's answer carries the JSON itself
    // (`"isBase64Encoded": false`), as API Gateway's does.
    let body = String::from_utf8(body).map_or_else(|e| Body::Binary(e.into_bytes()), Body::Text);
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", id);
    }
    response
}

/// Renders an error in the one shape every route uses.
pub fn error_response(error: &ApiError, request_id: &str) -> Response<Body> {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(&error.body(request_id)).expect("error bodies always serialize");
    let mut response = json_response(status, body, request_id);
    if error.code == ErrorCode::Unauthorized {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"credentials-api\""),
        );
    }
    if let Some(seconds) = error.retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Runs one request: renders its outcome and writes the request's log line (id, route,
/// status, latency; never headers, bodies or config values). The line, and every line
/// logged while the request runs, carries the `request` span: the caller's key id and
/// workspace and the credential id, once known.
pub async fn respond<F>(route: Route, req: &Request, work: F) -> Result<Response<Body>, Infallible>
where
    F: Future<Output = Result<Reply, ApiError>>,
{
    use tracing::Instrument;
    let started = Instant::now();
    let request_id = request_id(req);
    let span = tracing::info_span!(
        "request",
        key_id = tracing::field::Empty,
        workspace_id = tracing::field::Empty,
        credential_id = tracing::field::Empty,
    );
    let outcome = work.instrument(span.clone()).await;
    let _entered = span.enter();
    let (response, error_code) = match outcome {
        Ok(reply) => {
            let mut response = json_response(reply.status, reply.body, &request_id);
            let headers = response.headers_mut();
            if let Some(location) = reply.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
                headers.insert(LOCATION, location);
            }
            if let Some(tag) = reply
                .version
                .and_then(|v| HeaderValue::from_str(&request::etag(v)).ok())
            {
                headers.insert(ETAG, tag);
            }
            if reply.replayed {
                headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            (response, None)
        }
        Err(error) => (
            error_response(&error, &request_id),
            Some(error.code.as_str()),
        ),
    };
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(
            request_id,
            route = route.name(),
            status,
            latency_ms,
            error_code,
            "request failed"
        );
    } else {
        tracing::info!(
            request_id,
            route = route.name(),
            status,
            latency_ms,
            error_code,
            "request"
        );
    }
    Ok(response)
}

pub async fn list_credentials(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(Route::List, &req, handlers::list(state, &req)).await
}

pub async fn get_credential(state: &AppState, req: Request) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(Route::Get, &req, handlers::get(state, &req)).await
}

#[cfg(feature = "encryption")]
pub async fn create_credential(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(Route::Create, &req, handlers::create(state, &req)).await
}

#[cfg(feature = "encryption")]
pub async fn update_credential(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(Route::Update, &req, handlers::update(state, &req)).await
}

pub async fn delete_credential(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(Route::SoftDelete, &req, handlers::soft_delete(state, &req)).await
}

pub async fn restore_credential(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(Route::Restore, &req, handlers::restore(state, &req)).await
}

pub async fn list_audit_events(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(
        Route::ListAuditEvents,
        &req,
        handlers::list_audit_events(state, &req),
    )
    .await
}

/// `resolve-credential`: direct invocation only (no API Gateway route).
#[cfg(feature = "encryption")]
pub async fn resolve_credential(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(Route::Resolve, &req, handlers::resolve(state, &req)).await
}

pub async fn purge_credential(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(Route::Purge, &req, handlers::purge(state, &req)).await
}

pub async fn get_credential_usage(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(Route::GetUsage, &req, handlers::usage(state, &req)).await
}

pub async fn list_credential_versions(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(
        Route::ListVersions,
        &req,
        handlers::list_versions(state, &req),
    )
    .await
}

#[cfg(feature = "encryption")]
pub async fn stage_credential_version(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(
        Route::StageVersion,
        &req,
        handlers::stage_version(state, &req),
    )
    .await
}

pub async fn promote_credential_version(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(
        Route::PromoteVersion,
        &req,
        handlers::promote_version(state, &req),
    )
    .await
}

pub async fn restore_credential_version(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(
        Route::RestoreVersion,
        &req,
        handlers::restore_version(state, &req),
    )
    .await
}

pub async fn destroy_credential_version(
    state: &AppState,
    req: Request,
) -> Result<Response<Body>, Infallible> {
    let req = with_request_id(req);
    respond(
        Route::DestroyVersion,
        &req,
        handlers::destroy_version(state, &req),
    )
    .await
}
