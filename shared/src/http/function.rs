//! The Lambda side of a function binary: the runtime loop, with one guard in front of
//! `lambda_http`'s event conversion. That conversion panics on an event whose
//! `isBase64Encoded` body is not base64; here such a body is dropped and the request is
//! marked, so the handler answers 400 like any other unreadable body.

use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll};

use lambda_http::http::HeaderValue;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::Service;
use lambda_http::{service_fn, Body, LambdaEvent, Request, Response};

/// Set on a request whose event body claimed to be base64 and was not.
pub const INVALID_BODY_HEADER: &str = "x-credentials-api-invalid-body";

fn is_base64(body: &str) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .is_ok()
}

/// Drops a body that claims to be base64 and is not, and marks the request.
pub fn sanitize(event: &mut LambdaRequest) {
    #[allow(unreachable_patterns)]
    let (encoded, body, headers) = match event {
        LambdaRequest::ApiGatewayV2(e) => (&mut e.is_base64_encoded, &mut e.body, &mut e.headers),
        LambdaRequest::ApiGatewayV1(e) => (&mut e.is_base64_encoded, &mut e.body, &mut e.headers),
        _ => return,
    };
    if *encoded && body.as_deref().is_some_and(|b| !is_base64(b)) {
        *encoded = false;
        *body = None;
        headers.insert(INVALID_BODY_HEADER, HeaderValue::from_static("base64"));
    }
}

/// An event as a function receives it (JSON text), converted as `lambda_http` does, after
/// [`sanitize`]; `None` when it is not an API Gateway request at all.
pub fn event_request(event: &str) -> Option<Request> {
    let mut event: LambdaRequest = serde_json::from_str(event).ok()?;
    sanitize(&mut event);
    Some(event.into())
}

/// Runs the Lambda runtime loop with `handler`, as `lambda_http::run` does, behind
/// [`sanitize`].
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: FnMut(Request) -> Fut,
    Fut: Future<Output = Result<Response<Body>, Infallible>> + Send,
{
    let adapter = lambda_http::Adapter::from(service_fn(handler));
    lambda_http::lambda_runtime::run(Sanitized(adapter)).await
}

struct Sanitized<S>(S);

impl<S> Service<LambdaEvent<LambdaRequest>> for Sanitized<S>
where
    S: Service<LambdaEvent<LambdaRequest>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut event: LambdaEvent<LambdaRequest>) -> Self::Future {
        sanitize(&mut event.payload);
        self.0.call(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_that_is_not_base64_is_dropped_and_marked() {
        let event = r#"{"version":"2.0","rawPath":"/api/credentials","headers":{},
            "requestContext":{"http":{"method":"POST","path":"/api/credentials"}},
            "body":"%%% not base64 %%%","isBase64Encoded":true}"#;
        let request = event_request(event).expect("an HTTP API event");
        assert_eq!(request.headers()[INVALID_BODY_HEADER], "base64");
        assert!(request.body().is_empty());
        let fine = event.replace("%%% not base64 %%%", "e30=");
        let request = event_request(&fine).unwrap();
        assert!(request.headers().get(INVALID_BODY_HEADER).is_none());
        assert_eq!(request.body().as_ref(), b"{}");
    }

    #[test]
    fn non_http_events_are_not_requests() {
        assert!(event_request(r#"{"hello":"world"}"#).is_none());
        assert!(event_request("not json").is_none());
    }
}
