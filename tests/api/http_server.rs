//! The local server over real TCP: the same answers a curl user gets from `make dev`.

use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use test_harness::{database_body, TestApp};
use tokio::net::TcpStream;

struct Answer {
    status: u16,
    headers: hyper::HeaderMap,
    body: Value,
}

async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<Vec<u8>>,
) -> Answer {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost");
    if let Some(key) = key {
        request = request.header("authorization", format!("Bearer {key}"));
    }
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_every_route_over_http() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let listener = local_server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(local_server::serve(listener, (*app.state).clone()));

    let (body, password) = database_body("over-http");
    let created = call(
        addr,
        "POST",
        "/v1/api/credentials",
        Some(&key),
        Some(serde_json::to_vec(&body).unwrap()),
    )
    .await;
    assert_eq!(created.status, 201);
    assert!(!created.body.to_string().contains(&password));
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();

    let listed = call(
        addr,
        "GET",
        "/api/credentials?limit=10&type=database",
        Some(&key),
        None,
    )
    .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["data"][0]["id"], id.as_str());
    assert_eq!(listed.body["meta"]["page"]["limit"], 10);

    let got = call(
        addr,
        "GET",
        &format!("/api/credentials/{id}"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(got.body["data"], created.body["data"]);
    assert!(got.headers.contains_key("x-request-id"));

    let anonymous = call(addr, "GET", "/api/credentials", None, None).await;
    assert_eq!(anonymous.status, 401);
    assert_eq!(
        anonymous.headers["www-authenticate"],
        "Bearer realm=\"credentials-api\""
    );

    let big = vec![b' '; 300 * 1024];
    let too_big = call(addr, "POST", "/api/credentials", Some(&key), Some(big)).await;
    assert_eq!(too_big.status, 413);
    assert_eq!(too_big.body["error"]["code"], "payload_too_large");

    let purged = call(
        addr,
        "DELETE",
        &format!("/v1/api/credentials/{id}/permanent"),
        Some(&key),
        None,
    )
    .await;
    assert_eq!(purged.status, 200);
    assert_eq!(
        call(addr, "GET", "/nowhere", Some(&key), None).await.status,
        404
    );
    server.abort();
}

/// The local Lambda Invoke API answers as Lambda does, through the real AWS SDK: every way
/// of naming a function (name, deployed name, partial ARN, full ARN with a qualifier), the
/// three invocation types, Lambda's payload limit, and an event the function cannot turn
/// into a request (a function error, never a dropped connection).
#[tokio::test(flavor = "multi_thread")]
async fn the_invoke_api_answers_as_lambda_does() {
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::InvocationType;

    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body, _) = database_body("invoked");
    let id = app.create(&key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let listener = local_server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(local_server::serve(listener, (*app.state).clone()));
    let lambda = aws_sdk_lambda::Client::new(&test_harness::sdk_config(&endpoint).await);
    let event = test_harness::resolve_event(&key, &id, "pipeline:invoke/1").to_string();
    for name in [
        "resolve-credential",
        "credentials-api-dev-resolve-credential",
        "123456789012:function:credentials-api-prod-resolve-credential",
        "arn:aws:lambda:eu-west-1:123456789012:function:credentials-api-staging-resolve-credential:$LATEST",
    ] {
        let out = lambda
            .invoke()
            .function_name(name)
            .payload(Blob::new(event.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(out.status_code(), 200, "{name}");
        assert_eq!(out.function_error(), None, "{name}");
        let result: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
        assert_eq!(result["statusCode"], 200, "{name}: {result}");
    }
    let queued = lambda
        .invoke()
        .function_name("get-credential")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(event.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status_code(), 202);
    let dry = lambda
        .invoke()
        .function_name("get-credential")
        .invocation_type(InvocationType::DryRun)
        .payload(Blob::new(event.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(dry.status_code(), 204);
    let unknown = lambda
        .invoke()
        .function_name("credentials-api-dev-no-such-function")
        .payload(Blob::new(event.clone()))
        .send()
        .await
        .unwrap_err();
    assert!(
        unknown
            .into_service_error()
            .is_resource_not_found_exception(),
        "an unknown function is ResourceNotFoundException"
    );
    let too_large = lambda
        .invoke()
        .function_name("get-credential")
        .payload(Blob::new(vec![
            b' ';
            local_server::SYNC_MAX_PAYLOAD_BYTES + 1
        ]))
        .send()
        .await
        .unwrap_err();
    assert!(too_large
        .into_service_error()
        .is_request_too_large_exception());
    let mut malformed: Value = serde_json::from_str(&event).unwrap();
    malformed["rawQueryString"] = Value::from("a b");
    malformed["headers"]["host"] = Value::from("bad host");
    let failed = lambda
        .invoke()
        .function_name("resolve-credential")
        .payload(Blob::new(malformed.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status_code(), 200);
    assert_eq!(failed.function_error(), Some("Unhandled"));
    server.abort();
}
