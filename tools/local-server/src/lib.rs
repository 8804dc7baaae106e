//! A local stand-in for API Gateway (HTTP API, payload format 2.0) and for the Lambda Invoke
//! API:
//! - each request under `/api` and `/v1/api` is turned into the event API Gateway would
//!   send, routed by method and path, and handed to exactly the handler the route's
//!   function runs (`resolve-credential` has no route, as in production);
//! - `POST /2015-03-31/functions/{function-name}/invocations` takes an event as its body and
//!   answers what Lambda would, for every function in `functions/` named as deployed or not,
//!   by name, partial ARN or ARN: the function's JSON response (`statusCode`, `headers`,
//!   `body`) for `RequestResponse`, 202 for `Event`, 204 for `DryRun`, 413
//!   `RequestTooLargeException` over Lambda's payload limits, and a function error
//!   (`X-Amz-Function-Error: Unhandled`) for an event the function cannot read.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use credentials_core::error::{ApiError, ErrorCode};
use credentials_core::http::{self, Route, RouteMatch};
use credentials_core::AppState;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
};
use lambda_http::http::{HeaderMap, Method, StatusCode};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request, Response};
use tokio::net::TcpListener;

/// API Gateway refuses payloads over 10 MB before any function runs; so do we.
pub const GATEWAY_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// A request as it reaches the gateway.
pub struct GatewayRequest {
    pub method: Method,
    pub path: String,
    pub raw_query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// Builds the HTTP API (payload 2.0) event API Gateway would deliver for this request.
pub fn gateway_event(
    request: GatewayRequest,
    path_parameters: HashMap<String, String>,
    route_key: String,
) -> ApiGatewayV2httpRequest {
    let request_id = credentials_core::ids::new_request_id();
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.route_key = Some(route_key.clone());
    context.stage = Some("$default".to_owned());
    context.request_id = Some(request_id);
    context.http.method = request.method.clone();
    context.http.path = Some(request.path.clone());
    context.http.protocol = Some("HTTP/1.1".to_owned());
    context.http.source_ip = Some("127.0.0.1".to_owned());

    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".to_owned());
    event.route_key = Some(route_key);
    event.raw_path = Some(request.path);
    event.raw_query_string = Some(request.raw_query);
    event.headers = request.headers;
    event.path_parameters = path_parameters;
    event.request_context = context;
    if !request.body.is_empty() {
        match String::from_utf8(request.body) {
            Ok(text) => event.body = Some(text),
            Err(bytes) => {
                event.body = Some(STANDARD.encode(bytes.into_bytes()));
                event.is_base64_encoded = true;
            }
        }
    }
    event
}

/// Converts an event into the request a Lambda function receives, as `lambda_http` does.
pub fn lambda_request(event: ApiGatewayV2httpRequest) -> Request {
    LambdaRequest::ApiGatewayV2(event).into()
}

/// The Lambda Invoke API's path: `/2015-03-31/functions/{function-name}/invocations`, the
/// name percent-decoded (SDKs encode the `:` of an ARN).
fn invoked_function(path: &str) -> Option<String> {
    let raw = path
        .strip_prefix("/2015-03-31/functions/")?
        .strip_suffix("/invocations")
        .filter(|name| !name.is_empty() && !name.contains('/'))?;
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|name| name.into_owned())
}

/// The stages the template deploys (`Stage`'s allowed values): a deployed function is
/// named `credentials-api-<stage>-<function>`.
const STAGES: [&str; 3] = ["dev", "staging", "prod"];

/// The function an Invoke call names: a bare name, a deployed name, a partial ARN
/// (`<account>:function:<name>`) or a full ARN, each optionally with a qualifier
/// (`:$LATEST`, an alias or version).
pub fn function_route(name_or_arn: &str) -> Option<Route> {
    Route::parse(function_name(name_or_arn))
}

/// The function an Invoke call names, as in `functions/` (see [`function_route`]).
fn function_name(name_or_arn: &str) -> &str {
    let name = name_or_arn
        .split_once(":function:")
        .map_or(name_or_arn, |(_, rest)| rest);
    let name = name.split(':').next().unwrap_or(name);
    STAGES
        .iter()
        .find_map(|stage| name.strip_prefix(&format!("credentials-api-{stage}-")))
        .unwrap_or(name)
}

/// The scheduled token keep-alive (`refresh-tokens`, no route): invoked with any event, it
/// runs one keep-alive and answers its report, as the function does.
const REFRESHER: &str = "refresh-tokens";

async fn run_refresher(state: &AppState) -> Response<Body> {
    match credentials_core::service::refresh::keep_alive(state).await {
        Ok(report) => invoke_answer(
            StatusCode::OK,
            serde_json::to_vec(&report).expect("a report serializes"),
        ),
        Err(e) => {
            let mut response = invoke_answer(
                StatusCode::OK,
                serde_json::to_vec(
                    &serde_json::json!({"errorType": e.code.as_str(), "errorMessage": e.message}),
                )
                .expect("an error serializes"),
            );
            response.headers_mut().insert(
                "x-amz-function-error",
                lambda_http::http::HeaderValue::from_static("Unhandled"),
            );
            response
        }
    }
}

/// Lambda's synchronous payload limit (6 MB, `RequestResponse` and `DryRun`).
pub const SYNC_MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// Lambda's asynchronous payload limit (1 MB, `Event`).
pub const ASYNC_MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// How an Invoke call asks to be run (`X-Amz-Invocation-Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvocationType {
    /// Run and answer with the function's result (200).
    RequestResponse,
    /// Queue and answer at once (202, no body); the function runs afterwards.
    Event,
    /// Check the function and the caller's right to invoke it, run nothing (204).
    DryRun,
}

impl InvocationType {
    pub fn parse(header: Option<&str>) -> Option<Self> {
        match header {
            None | Some("RequestResponse") => Some(Self::RequestResponse),
            Some("Event") => Some(Self::Event),
            Some("DryRun") => Some(Self::DryRun),
            Some(_) => None,
        }
    }
}

/// Lambda's answer to an Invoke call: 200 with the function's result as the body, or the
/// error Lambda gives for an unknown function or an event the function cannot read.
fn invoke_answer(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Body::Binary(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static("application/json"),
    );
    response
}

fn invoke_error(status: StatusCode, kind: &str, message: &str) -> Response<Body> {
    let body = serde_json::json!({"Type": "User", "message": message});
    let mut response = invoke_answer(status, body.to_string().into_bytes());
    if let Ok(value) = lambda_http::http::HeaderValue::from_str(kind) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

/// What Lambda answers when the function fails: status 200, `X-Amz-Function-Error:
/// Unhandled` and the runtime's error report as the body.
fn function_error(error_type: &str, message: &str) -> Response<Body> {
    let mut response = invoke_answer(
        StatusCode::OK,
        serde_json::json!({"errorType": error_type, "errorMessage": message})
            .to_string()
            .into_bytes(),
    );
    response.headers_mut().insert(
        "x-amz-function-error",
        lambda_http::http::HeaderValue::from_static("Unhandled"),
    );
    response
}

/// The request a function's runtime would build from `event`, or the function error
/// Lambda would report: an event that is not an HTTP API request is an unmarshal error;
/// one whose fields `lambda_http` cannot turn into a request (a blank in `rawQueryString`,
/// a bad `Host`) makes the conversion panic, which the runtime reports as a function error.
fn request_of(event: &[u8]) -> Result<Request, Box<Response<Body>>> {
    let text = std::str::from_utf8(event)
        .map_err(|_| function_error("Runtime.UnmarshalError", "the event is not UTF-8 JSON"))?;
    let converted = std::panic::catch_unwind(|| http::function::event_request(text));
    match converted {
        Ok(Some(request)) => Ok(request),
        Ok(None) => Err(Box::new(function_error(
            "Runtime.UnmarshalError",
            "the event is not an API Gateway HTTP API (2.0) request",
        ))),
        Err(_) => Err(Box::new(function_error(
            "Runtime.Panic",
            "Lambda panicked: the event could not be converted into a request",
        ))),
    }
}

/// Runs one direct invocation as `RequestResponse`: the event is handed to the function's
/// handler exactly as the Lambda runtime would, and the handler's response comes back in
/// the shape `lambda_http` gives Lambda (HTTP API payload 2.0).
pub async fn invoke(state: &AppState, name: &str, event: &[u8]) -> Response<Body> {
    invoke_as(state, name, event, InvocationType::RequestResponse).await
}

/// One Invoke call of any [`InvocationType`], with Lambda's payload limits.
pub async fn invoke_as(
    state: &AppState,
    name: &str,
    event: &[u8],
    kind: InvocationType,
) -> Response<Body> {
    if function_name(name) == REFRESHER {
        return match kind {
            InvocationType::DryRun => {
                let mut response = Response::new(Body::Empty);
                *response.status_mut() = StatusCode::NO_CONTENT;
                response
            }
            InvocationType::Event => {
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = run_refresher(&state).await;
                });
                let mut response = Response::new(Body::Empty);
                *response.status_mut() = StatusCode::ACCEPTED;
                response
            }
            InvocationType::RequestResponse => run_refresher(state).await,
        };
    }
    let Some(route) = function_route(name) else {
        return invoke_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            "Function not found",
        );
    };
    let limit = match kind {
        InvocationType::Event => ASYNC_MAX_PAYLOAD_BYTES,
        _ => SYNC_MAX_PAYLOAD_BYTES,
    };
    if event.len() > limit {
        return invoke_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            &format!("Request must be smaller than {limit} bytes for the InvokeFunction operation"),
        );
    }
    match kind {
        InvocationType::DryRun => {
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = StatusCode::NO_CONTENT;
            response
        }
        InvocationType::Event => {
            // Queued: the caller gets 202 at once; the function runs afterwards and its
            // result goes nowhere, as with Lambda's asynchronous invocation.
            if let Ok(request) = request_of(event) {
                let state = state.clone();
                tokio::spawn(async move {
                    let _ = dispatch(&state, route, request).await;
                });
            }
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = StatusCode::ACCEPTED;
            response
        }
        InvocationType::RequestResponse => match request_of(event) {
            Ok(request) => {
                let answer = dispatch(state, route, request).await;
                invoke_answer(StatusCode::OK, lambda_result(answer))
            }
            Err(function_error) => *function_error,
        },
    }
}

/// The JSON a `lambda_http` function returns for an HTTP API (2.0) event.
fn lambda_result(response: Response<Body>) -> Vec<u8> {
    use lambda_http::aws_lambda_events::apigw::ApiGatewayV2httpResponse;
    let (parts, body) = response.into_parts();
    let mut result = ApiGatewayV2httpResponse::default();
    result.status_code = i64::from(parts.status.as_u16());
    result.headers = parts.headers;
    match body {
        Body::Empty => {}
        Body::Text(text) => result.body = Some(Body::Text(text)),
        Body::Binary(bytes) => {
            result.body = Some(Body::Text(STANDARD.encode(bytes)));
            result.is_base64_encoded = true;
        }
        _ => {}
    }
    serde_json::to_vec(&result).expect("a response always serializes")
}

/// Routes one request and runs the matching handler.
pub async fn handle(state: &AppState, request: GatewayRequest) -> Response<Body> {
    if let Some(name) = invoked_function(&request.path) {
        if request.method != Method::POST {
            return invoke_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "Invoke is POST",
            );
        }
        let header = request
            .headers
            .get("x-amz-invocation-type")
            .and_then(|v| v.to_str().ok());
        let Some(kind) = InvocationType::parse(header) else {
            return invoke_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValueException",
                "InvocationType must be RequestResponse, Event or DryRun",
            );
        };
        return invoke_as(state, &name, &request.body, kind).await;
    }
    let (route, params) = match http::match_route(request.method.as_str(), &request.path) {
        RouteMatch::Found { route, params } => (route, params),
        RouteMatch::MethodNotAllowed => {
            let mut response = gateway_error(
                ErrorCode::MethodNotAllowed,
                "This method is not allowed on this path.",
            );
            // RFC 9110: a 405 lists the methods the path supports.
            let allow = http::routes::allowed_methods(&request.path).join(", ");
            if let Ok(value) = lambda_http::http::HeaderValue::from_str(&allow) {
                response
                    .headers_mut()
                    .insert(lambda_http::http::header::ALLOW, value);
            }
            return response;
        }
        RouteMatch::NotFound => {
            return gateway_error(ErrorCode::NotFound, "No route matches this path.")
        }
    };
    let path_parameters: HashMap<String, String> = params
        .pairs()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    let prefix = if request.path.starts_with("/v1/") {
        "/v1"
    } else {
        ""
    };
    let route_key = format!("{} {prefix}{}", route.method(), route.path());
    let event = gateway_event(request, path_parameters, route_key);
    dispatch(state, route, lambda_request(event)).await
}

/// A Lambda request id as the Lambda service makes them (a random UUID).
fn lambda_request_id() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).expect("the OS random source is available");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Runs the entry point of `route`, exactly as that route's function binary does, with the
/// invocation context the Lambda runtime gives it (its own request id).
pub async fn dispatch(state: &AppState, route: Route, req: Request) -> Response<Body> {
    // On the heap: one future able to run any route is as large as the largest, and a
    // caller that awaits several (a test) would hold it on its thread's stack.
    Box::pin(dispatch_on_heap(state, route, req)).await
}

async fn dispatch_on_heap(state: &AppState, route: Route, mut req: Request) -> Response<Body> {
    if req.extensions().get::<lambda_http::Context>().is_none() {
        let mut context = lambda_http::Context::default();
        context.request_id = lambda_request_id();
        context.invoked_function_arn = format!(
            "arn:aws:lambda:us-east-1:000000000000:function:{}",
            route.name()
        );
        req.extensions_mut().insert(context);
    }
    let Ok(response) = match route {
        Route::List => http::list_credentials(state, req).await,
        Route::Create => http::create_credential(state, req).await,
        Route::Get => http::get_credential(state, req).await,
        Route::Update => http::update_credential(state, req).await,
        Route::SoftDelete => http::delete_credential(state, req).await,
        Route::Restore => http::restore_credential(state, req).await,
        Route::Purge => http::purge_credential(state, req).await,
        Route::ListAuditEvents => http::list_audit_events(state, req).await,
        Route::Resolve => http::resolve_credential(state, req).await,
        Route::ListVersions => http::list_credential_versions(state, req).await,
        Route::GetUsage => http::get_credential_usage(state, req).await,
        Route::StageVersion => http::stage_credential_version(state, req).await,
        Route::PromoteVersion => http::promote_credential_version(state, req).await,
        Route::RestoreVersion => http::restore_credential_version(state, req).await,
        Route::DestroyVersion => http::destroy_credential_version(state, req).await,
    };
    response
}

fn gateway_error(code: ErrorCode, message: &'static str) -> Response<Body> {
    let request_id = credentials_core::ids::new_request_id();
    http::error_response(&ApiError::new(code, message), &request_id)
}

fn into_hyper(response: Response<Body>) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

async fn serve_one(
    state: &AppState,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, GATEWAY_MAX_BODY_BYTES).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        // An Invoke call over every limit: Lambda's own answer.
        Err(_) if invoked_function(parts.uri.path()).is_some() => {
            return into_hyper(invoke_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestTooLargeException",
                &format!(
                    "Request must be smaller than {SYNC_MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation"
                ),
            ));
        }
        Err(_) => {
            let mut response = into_hyper(gateway_error(
                ErrorCode::PayloadTooLarge,
                "The request body is too large.",
            ));
            *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return response;
        }
    };
    let incoming = GatewayRequest {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        raw_query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
    };
    into_hyper(handle(state, incoming).await)
}

/// Accepts connections until the task is dropped.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(serve_one(&state, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds the listener (loopback only, unless told otherwise).
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
