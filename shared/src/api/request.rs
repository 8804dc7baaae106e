//! Reading what a request carries: request id, credential id, query, JSON body.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use super::routes::path_id;
use crate::audit::RequestInfo;
use crate::error::{ApiError, ErrorCode, FieldIssue};
use crate::model::is_credential_id;
#[cfg(feature = "encryption")]
use crate::validate::{parse_json, MAX_BODY_BYTES};

/// API Gateway's request id, else the Lambda invocation's, else a new one (local use).
pub fn request_id(req: &Request) -> String {
    #[allow(unreachable_patterns)]
    let from_gateway = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    from_gateway
        .filter(|id| !id.is_empty())
        .or_else(|| req.lambda_context_ref().map(|ctx| ctx.request_id.clone()))
        .unwrap_or_else(crate::ids::new_request_id)
}

/// Longest source address or user agent an audit event keeps.
const MAX_ORIGIN_CHARS: usize = 256;

/// Where the request came from, for the audit trail: its id, and the source address and
/// user agent API Gateway (or the invoking event) reports, trimmed to printable text.
pub fn request_info(req: &Request) -> RequestInfo {
    let printable = |s: &str| -> Option<String> {
        let clean: String = s
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_ORIGIN_CHARS)
            .collect();
        (!clean.is_empty()).then_some(clean)
    };
    #[allow(unreachable_patterns)]
    let (source_ip, agent) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (
            ctx.http.source_ip.as_deref(),
            ctx.http.user_agent.as_deref(),
        ),
        Some(RequestContext::ApiGatewayV1(ctx)) => (
            ctx.identity.source_ip.as_deref(),
            ctx.identity.user_agent.as_deref(),
        ),
        _ => (None, None),
    };
    RequestInfo {
        request_id: Some(request_id(req)),
        source_ip: source_ip.and_then(printable),
        user_agent: agent
            .or_else(|| header(req, "user-agent"))
            .and_then(printable),
    }
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The `{id}` of the path: from API Gateway's path parameters, or parsed from the raw path
/// (function URLs and some local runners do not fill path parameters). Ids this service
/// could not have minted are answered 404 without a lookup.
pub fn credential_id(req: &Request) -> Result<String, ApiError> {
    let params = req.path_parameters();
    let id = match params.first("id") {
        Some(id) => Some(id.to_owned()),
        None => path_id(req.raw_http_path()).map(str::to_owned),
    };
    id.filter(|id| is_credential_id(id))
        .ok_or_else(ApiError::not_found)
}

/// The request body as JSON: content type, size and syntax are checked here, once.
#[cfg(feature = "encryption")]
pub fn json_body(req: &Request) -> Result<serde_json::Value, ApiError> {
    let is_json = header(req, "content-type").is_some_and(|ct| {
        ct.split(';')
            .next()
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    });
    if !is_json {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the body as JSON with `Content-Type: application/json`.",
        ));
    }
    let body: &[u8] = req.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            "The request body is larger than 256 KiB.",
        ));
    }
    parse_json(body)
}

/// The `Idempotency-Key` header, checked to be well-formed, if the request has one.
#[cfg(feature = "encryption")]
pub fn idempotency_key(req: &Request) -> Result<Option<String>, ApiError> {
    match req.headers().get("idempotency-key") {
        None => Ok(None),
        // A value that is not visible ASCII is refused, never taken as no key at all.
        Some(raw) => {
            let key = raw
                .to_str()
                .map_err(|_| crate::idempotency::invalid_key())?;
            crate::idempotency::check_key(key).map(|k| Some(k.to_owned()))
        }
    }
}

/// Query parameters as single values; unknown or repeated parameters are refused so that a
/// typo never silently changes what a list returns.
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(req: &Request, known: &[&'static str]) -> Result<Self, ApiError> {
        let params = req.query_string_parameters();
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut issues = Vec::new();
        for (key, value) in params.iter() {
            match known.iter().find(|k| **k == key) {
                None => issues.push(FieldIssue::new("query", "contains an unknown parameter")),
                Some(k) if pairs.iter().any(|(seen, _)| seen == k) => {
                    issues.push(FieldIssue::new(*k, "must be given at most once"))
                }
                Some(k) => pairs.push(((*k).to_owned(), value.to_owned())),
            }
        }
        if issues.is_empty() {
            Ok(Self { pairs })
        } else {
            Err(ApiError {
                code: ErrorCode::InvalidQuery,
                message: "The query string is not valid.",
                details: issues,
            })
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

pub fn invalid_query(field: &'static str, issue: &'static str) -> ApiError {
    ApiError {
        code: ErrorCode::InvalidQuery,
        message: "The query string is not valid.",
        details: vec![FieldIssue::new(field, issue)],
    }
}

/// The version an `If-Match` header requires, if any. `*` requires only existence (which
/// every route checks anyway); a tag that cannot be one of ours can never match.
pub fn expected_version(req: &Request) -> Result<Option<u64>, ApiError> {
    let Some(raw) = req.headers().get("if-match") else {
        return Ok(None);
    };
    let value = raw.to_str().map(str::trim).unwrap_or_default();
    if value == "*" {
        return Ok(None);
    }
    let tag = value.strip_prefix("W/").unwrap_or(value);
    tag.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .and_then(|v| v.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(ApiError::precondition_failed)
}

/// The strong entity tag of a credential version.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}
