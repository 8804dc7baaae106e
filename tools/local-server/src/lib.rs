//! A local stand-in for API Gateway (HTTP API, payload format 2.0): each incoming request is
//! turned into the event API Gateway would send, routed by method and path under `/api` and
//! `/v1/api`, and handed to exactly the handler the route's Lambda function runs.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use lambda_http::aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
};
use lambda_http::http::{HeaderMap, Method, StatusCode};
use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request, Response};
use shared::api::{self, Resolved, Route};
use shared::error::{ApiError, ErrorCode};
use shared::AppState;
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
    let request_id = shared::ids::new_request_id();
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

/// Routes one request and runs the matching handler.
pub async fn handle(state: &AppState, request: GatewayRequest) -> Response<Body> {
    let (route, id) = match api::resolve(request.method.as_str(), &request.path) {
        Resolved::Found { route, id } => (route, id),
        Resolved::MethodNotAllowed => {
            return gateway_error(
                ErrorCode::MethodNotAllowed,
                "This method is not allowed on this path.",
            )
        }
        Resolved::NotFound => {
            return gateway_error(ErrorCode::NotFound, "No route matches this path.")
        }
    };
    let path_parameters = id
        .map(|id| HashMap::from([("id".to_owned(), id)]))
        .unwrap_or_default();
    let prefix = if request.path.starts_with("/v1/") {
        "/v1"
    } else {
        ""
    };
    let route_key = format!("{} {prefix}{}", route.method(), route.path());
    let event = gateway_event(request, path_parameters, route_key);
    dispatch(state, route, lambda_request(event)).await
}

/// Runs the entry point of `route`, exactly as that route's function binary does.
pub async fn dispatch(state: &AppState, route: Route, req: Request) -> Response<Body> {
    let Ok(response) = match route {
        Route::List => api::list_credentials(state, req).await,
        Route::Create => api::create_credential(state, req).await,
        Route::Get => api::get_credential(state, req).await,
        Route::Update => api::update_credential(state, req).await,
        Route::SoftDelete => api::delete_credential(state, req).await,
        Route::Restore => api::restore_credential(state, req).await,
        Route::Purge => api::purge_credential(state, req).await,
    };
    response
}

fn gateway_error(code: ErrorCode, message: &'static str) -> Response<Body> {
    let request_id = shared::ids::new_request_id();
    api::error_response(&ApiError::new(code, message), &request_id)
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
