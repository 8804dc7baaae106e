//! Reading what a request carries: request id, credential id, query, JSON body.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

use super::routes::path_params;
use crate::audit::{CallerAsserted, RequestInfo};
use crate::error::{ApiError, ErrorCode, FieldIssue};
use crate::ids::is_credential_id;
#[cfg(feature = "encryption")]
use crate::validate::{parse_json, MAX_BODY_BYTES};

/// Longest request id taken from an event.
const MAX_REQUEST_ID_CHARS: usize = 128;

/// A request id a caller may pick (direct invocations choose their own event): 1–128 of
/// `A-Z a-z 0-9 - _ = + / .`, the characters API Gateway and Lambda ids use. Anything
/// else never reaches a log line or a header; a new id replaces it.
fn is_plain_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_=+/.".contains(&b))
}

/// The request's id, fixed once per request by [`with_request_id`] (so the log line, the
/// `x-request-id` header, error bodies and audit events all carry the same one).
#[derive(Clone, Debug)]
struct RequestId(String);

/// Fixes the request's id: API Gateway's, else the Lambda invocation's, else a new one
/// (local use); an id that is not plain text is replaced by a new one.
pub fn with_request_id(mut req: Request) -> Request {
    let id = derive_request_id(&req);
    req.extensions_mut().insert(RequestId(id));
    req
}

/// The id [`with_request_id`] fixed (derived afresh for a request that did not pass it).
pub fn request_id(req: &Request) -> String {
    match req.extensions().get::<RequestId>() {
        Some(RequestId(id)) => id.clone(),
        None => derive_request_id(req),
    }
}

fn derive_request_id(req: &Request) -> String {
    #[allow(unreachable_patterns)]
    let from_gateway = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    from_gateway
        .filter(|id| !id.is_empty())
        .or_else(|| req.lambda_context_ref().map(|ctx| ctx.request_id.clone()))
        .filter(|id| is_plain_request_id(id))
        .unwrap_or_else(crate::ids::new_request_id)
}

/// Longest source address or user agent an audit event keeps.
const MAX_ORIGIN_CHARS: usize = 256;

/// Text an audit event can show as it is: control and format characters (zero-width,
/// bidirectional overrides and isolates, which could make a listing read wrongly) removed,
/// at most [`MAX_ORIGIN_CHARS`] characters.
fn shown_as_is(s: &str) -> Option<String> {
    use unicode_general_category::{get_general_category, GeneralCategory};
    let clean: String = s
        .chars()
        .filter(|&c| !c.is_control() && get_general_category(c) != GeneralCategory::Format)
        .take(MAX_ORIGIN_CHARS)
        .collect();
    (!clean.is_empty()).then_some(clean)
}

/// Where the request came from, for the audit trail: Lambda's own id of the invocation
/// (from the runtime), and what the event reports (its request id, source address and
/// user agent), kept as asserted by the caller.
pub fn request_info(req: &Request) -> RequestInfo {
    #[allow(unreachable_patterns)]
    let (request_id, source_ip, agent) = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => (
            ctx.request_id.as_deref(),
            ctx.http.source_ip.as_deref(),
            ctx.http.user_agent.as_deref(),
        ),
        Some(RequestContext::ApiGatewayV1(ctx)) => (
            ctx.request_id.as_deref(),
            ctx.identity.source_ip.as_deref(),
            ctx.identity.user_agent.as_deref(),
        ),
        _ => (None, None, None),
    };
    RequestInfo {
        lambda_request_id: req
            .lambda_context_ref()
            .map(|ctx| ctx.request_id.clone())
            .filter(|id| is_plain_request_id(id)),
        caller_asserted: CallerAsserted {
            request_id: request_id
                .filter(|id| is_plain_request_id(id))
                .map(str::to_owned),
            source_ip: source_ip.and_then(shown_as_is),
            user_agent: agent
                .or_else(|| header(req, "user-agent"))
                .and_then(shown_as_is),
        },
    }
}

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The `{id}` of the path: from API Gateway's path parameters, or parsed from the raw path
/// (function URLs and some local runners do not fill path parameters). Ids this service
/// could not have minted are answered 404 without a lookup.
pub fn credential_id(req: &Request) -> Result<String, ApiError> {
    let id = path_param(req, "id")
        .filter(|id| is_credential_id(id))
        .ok_or_else(ApiError::not_found)?;
    tracing::Span::current().record("credential_id", id.as_str());
    Ok(id)
}

/// The path's credential id when it has the shape of one (nothing recorded, no error: for
/// reading it with the key, before the request is authenticated).
pub fn path_credential_id(req: &Request) -> Option<String> {
    path_param(req, "id").filter(|id| is_credential_id(id))
}

/// A path segment by name: from API Gateway's path parameters, or parsed from the raw path.
fn path_param(req: &Request, name: &str) -> Option<String> {
    if let Some(value) = req.path_parameters().first(name) {
        return Some(value.to_owned());
    }
    let params = path_params(req.raw_http_path());
    match name {
        "id" => params.id,
        "version" => params.version,
        _ => None,
    }
}

#[cfg(feature = "encryption")]
/// True when the request's path carries a credential id (a by-name resolve must not).
pub fn names_a_credential(req: &Request) -> bool {
    path_param(req, "id").is_some_and(|id| is_credential_id(&id))
}

/// The `{version}` of the path: a secret version number (1 or more, decimal, no sign or
/// leading zero); anything else is 404, as a version that does not exist.
pub fn version_number(req: &Request) -> Result<u64, ApiError> {
    path_param(req, "version")
        .filter(|v| !v.starts_with('0') && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(crate::service::version_not_found)
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
    if req
        .headers()
        .contains_key(super::function::INVALID_BODY_HEADER)
    {
        return Err(ApiError::new(
            ErrorCode::InvalidJson,
            "The request body is marked base64-encoded but is not valid base64.",
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
                retry_after: None,
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
        retry_after: None,
    }
}

/// The versions an `If-Match` header accepts: `None` without the header or with `*`
/// (existence, which every route checks anyway); otherwise the strong tags it lists
/// (`"3"`, or `"3", "4"`). Comparison is strong and exact (RFC 9110): a weak tag (`W/"3"`),
/// another spelling of the number (`"03"`, `"+3"`) or anything that is not an entity tag
/// never matches: a header with no tag that can match gives an empty list, which the
/// service answers 412 once the body is found valid (a bad body is 400 first).
pub fn expected_version(req: &Request) -> crate::domain::IfMatch {
    let raw = req.headers().get("if-match")?;
    let value = raw.to_str().map(str::trim).unwrap_or_default();
    if value == "*" {
        return None;
    }
    let versions: Vec<u64> = value
        .split(',')
        .map(str::trim)
        .filter_map(|tag| {
            let quoted = tag.strip_prefix('"')?.strip_suffix('"')?;
            quoted
                .parse()
                .ok()
                .filter(|v: &u64| v.to_string() == quoted)
        })
        .collect();
    Some(versions)
}

/// The strong entity tag of a credential version.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}
