//! Test harness: every test gets its own table and KMS key in the moto emulator that
//! `make test` starts (`EMULATOR_ENDPOINT`), real SDK clients, and a client that sends
//! requests through the local server's router into the real handlers.
//!
//! All logs of a test binary are captured (in memory, and in `target/test-logs/` for the
//! whole-suite scan `make test` runs), and every secret a test sends comes from
//! [`secret`], which marks it with a canary so that a leak anywhere can be searched for.

pub mod calls;
#[cfg(feature = "contract")]
pub mod contract;
pub mod logs;
pub mod oauth_server;
pub mod runtime_api;

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use calls::CallLog;
use credentials_core::auth::Scope;
use credentials_core::service::api_keys;
use credentials_core::{AppState, Clients};
use lambda_http::http::{HeaderMap, HeaderName, HeaderValue, Method};
use lambda_http::Body;
use local_server::GatewayRequest;
use secrecy::ExposeSecret;
use serde_json::Value;

/// The marker every test secret carries; `make test` fails if it shows up in any log.
pub const CANARY: &str = "canary-5e3c7";

/// A unique secret value for tests.
pub fn secret(label: &str) -> String {
    format!("{CANARY}-{label}-{}", ulid::Ulid::new())
}

pub fn emulator_endpoint() -> String {
    std::env::var("EMULATOR_ENDPOINT").unwrap_or_else(|_| {
        panic!("EMULATOR_ENDPOINT is not set: run the suite with `make test`, which starts the emulator")
    })
}

pub use local_stack::sdk_config;

/// A raw DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// One isolated stack: its own table and KMS key.
#[derive(Clone)]
pub struct TestApp {
    pub state: Arc<AppState>,
    pub sdk: SdkConfig,
    pub table: String,
    pub kms_key_arn: String,
    pub mac_key_arn: String,
    /// The AWS operations `state` makes.
    pub calls: CallLog,
}

impl TestApp {
    pub async fn new() -> Self {
        logs::capture();
        let sdk = sdk_config(&emulator_endpoint()).await;
        let stack = local_stack::ensure(&sdk, &unique("credentials-test"), None)
            .await
            .expect("local stack");
        // Tests see revocations at once; the call-budget test turns caching on.
        let settings = stack.settings(std::time::Duration::ZERO);
        // The service's clients count (and can fail) their calls.
        let calls = CallLog::default();
        let clients = Clients {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
            kms: aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(&sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
        };
        let mut state = AppState::from_clients(clients, &settings).expect("state");
        // As `make dev` and `make test` run the server: token endpoints on loopback allowed
        // (the local OAuth server is plain http on 127.0.0.1). A refresh another caller is
        // making is waited for long enough that the suite's verdict never depends on speed.
        state.egress_policy = credentials_core::egress::EgressPolicy::local();
        state.refresh_wait = std::time::Duration::from_secs(60);
        Self {
            state: Arc::new(state),
            sdk,
            table: stack.table,
            kms_key_arn: stack.kms_key_arn,
            mac_key_arn: stack.mac_key_arn,
            calls,
        }
    }

    /// The settings this stack's service runs with (key cache off).
    pub fn settings(&self) -> credentials_core::Settings {
        local_stack::LocalStack {
            table: self.table.clone(),
            kms_key_arn: self.kms_key_arn.clone(),
            mac_key_arn: self.mac_key_arn.clone(),
        }
        .settings(std::time::Duration::ZERO)
    }

    /// Mints an API key for `workspace` with the given scopes.
    pub async fn key(&self, workspace: &str, scopes: &[Scope]) -> String {
        let minted = api_keys::mint(
            &self.state.store,
            self.state.clock.as_ref(),
            workspace,
            scopes,
            "test",
            credentials_core::audit::default_retention(),
        )
        .await
        .expect("mint key");
        minted.key.expose_secret().to_owned()
    }

    /// A key with every scope in a fresh workspace.
    pub async fn admin_key(&self) -> String {
        self.key(&unique("ws"), Scope::ALL).await
    }

    pub fn request(&self, method: &str, path: &str) -> TestRequest<'_> {
        TestRequest {
            app: self,
            method: Method::from_bytes(method.as_bytes()).expect("method"),
            path: path.to_owned(),
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }

    /// Creates a credential and returns its `data`.
    pub async fn create(&self, key: &str, body: Value) -> Value {
        let response = self
            .request("POST", "/api/credentials")
            .key(key)
            .json(&body)
            .send()
            .await;
        assert_eq!(response.status, 201, "{}", response.body);
        response.body["data"].clone()
    }

    /// Purges `id` even though it was resolved lately: `force=true` with the If-Match of
    /// its current version (a purge within the quiet period is otherwise 409).
    pub async fn force_purge(&self, key: &str, id: &str) -> TestResponse {
        let etag = self.etag(key, id).await;
        self.request(
            "DELETE",
            &format!("/api/credentials/{id}/permanent?force=true"),
        )
        .key(key)
        .header("if-match", &etag)
        .send()
        .await
    }

    /// The current ETag of credential `id`.
    pub async fn etag(&self, key: &str, id: &str) -> String {
        let current = self
            .request("GET", &format!("/api/credentials/{id}"))
            .key(key)
            .send()
            .await;
        current
            .header("etag")
            .expect("a credential answers its ETag")
            .to_owned()
    }

    /// Invokes `function` directly (the local Lambda Invoke API's path) with `event`, and
    /// reads the function's result (`statusCode`, `headers`, `body`).
    pub async fn invoke(&self, function: &str, event: &Value) -> TestResponse {
        let answer =
            local_server::invoke(&self.state, function, event.to_string().as_bytes()).await;
        assert_eq!(answer.status(), 200, "Invoke itself failed");
        let result: Value = serde_json::from_slice(answer.body().as_ref()).expect("result JSON");
        TestResponse::from_result(&result)
    }

    /// Resolves `id` through `resolve-credential`, as a pipeline does.
    pub async fn resolve(&self, key: &str, id: &str, purpose: &str) -> TestResponse {
        self.invoke("resolve-credential", &resolve_event(key, id, purpose))
            .await
    }

    /// Resolves with a body of its own (`stage`, `version`, `name`): `id` in the path, or
    /// none (by name: the path keeps the route's `{id}` template, as a client that has no
    /// id sends it).
    pub async fn resolve_with(&self, key: &str, id: Option<&str>, body: Value) -> TestResponse {
        let mut event = resolve_event(key, id.unwrap_or("{id}"), "");
        event["body"] = Value::String(body.to_string());
        if id.is_none() {
            event.as_object_mut().unwrap().remove("pathParameters");
        }
        self.invoke("resolve-credential", &event).await
    }

    /// The raw items whose sort key starts with `prefix` (`CRED#`, `NAME#`, `IDEM#`, `APIKEY`).
    pub async fn items(&self, prefix: &str) -> Vec<Item> {
        self.scan()
            .await
            .into_iter()
            .filter(|i| i["sk"].as_s().is_ok_and(|sk| sk.starts_with(prefix)))
            .collect()
    }

    /// The raw item of one credential.
    pub async fn credential_item(&self, id: &str) -> Item {
        self.items(&format!("CRED#{id}"))
            .await
            .pop()
            .unwrap_or_else(|| panic!("no item for {id}"))
    }

    /// Every raw item in this test's table.
    pub async fn scan(&self) -> Vec<Item> {
        let client = aws_sdk_dynamodb::Client::new(&self.sdk);
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("scan");
            items.extend(page.items().iter().cloned());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return items,
            }
        }
    }
}

pub struct TestRequest<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl TestRequest<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
        self
    }

    /// A header whose value is raw bytes (e.g. Latin-1 or UTF-8, which `header` refuses).
    pub fn raw_header(mut self, name: &str, value: &[u8]) -> Self {
        self.headers.insert(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_bytes(value).expect("header bytes"),
        );
        self
    }

    pub fn key(self, key: &str) -> Self {
        self.header("authorization", &format!("Bearer {key}"))
    }

    pub fn json(self, body: &Value) -> Self {
        self.raw_body("application/json", serde_json::to_vec(body).expect("json"))
    }

    pub fn raw_body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.body = body;
        if !content_type.is_empty() {
            self = self.header("content-type", content_type);
        }
        self
    }

    /// Sends the request through the local server's router into the route's handler and,
    /// with the `contract` feature (on for the tests), checks the answer against
    /// `openapi.yaml`.
    pub async fn send(self) -> TestResponse {
        #[cfg(feature = "contract")]
        let method = self.method.clone();
        let (path, raw_query) = match self.path.split_once('?') {
            Some((path, query)) => (path.to_owned(), query.to_owned()),
            None => (self.path, String::new()),
        };
        let request = GatewayRequest {
            method: self.method,
            path: path.clone(),
            raw_query,
            headers: self.headers,
            body: self.body,
        };
        let response = local_server::handle(&self.app.state, request).await;
        let response = TestResponse::from_lambda(response);
        #[cfg(feature = "contract")]
        contract::check(method.as_str(), &path, response.status, &response.body);
        response
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl TestResponse {
    /// A function's result as Lambda returns it for an HTTP API (2.0) event.
    pub fn from_result(result: &Value) -> Self {
        let mut headers = HeaderMap::new();
        for (name, value) in result["headers"].as_object().into_iter().flatten() {
            headers.insert(
                HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value.as_str().unwrap_or_default()).expect("header value"),
            );
        }
        assert_eq!(
            result["isBase64Encoded"], false,
            "JSON answers are sent as text"
        );
        let text = result["body"].as_str().unwrap_or_default().to_owned();
        Self {
            status: result["statusCode"].as_u64().expect("statusCode") as u16,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    pub fn from_lambda(response: lambda_http::Response<Body>) -> Self {
        let (parts, body) = response.into_parts();
        let bytes: &[u8] = body.as_ref();
        let text = String::from_utf8(bytes.to_vec()).expect("utf-8 body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status: parts.status.as_u16(),
            headers: parts.headers,
            text,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and the error code of the one error shape.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.text);
        assert_eq!(self.body["error"]["code"], code, "{}", self.text);
        assert!(
            self.body["error"]["request_id"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{}",
            self.text
        );
        assert!(self.body["error"]["message"].is_string(), "{}", self.text);
    }
}

/// The event a pipeline sends to `resolve-credential` (API Gateway HTTP API 2.0 shape).
pub fn resolve_event(key: &str, id: &str, purpose: &str) -> Value {
    let path = format!("/api/credentials/{id}/resolve");
    serde_json::json!({
        "version": "2.0",
        "routeKey": "POST /api/credentials/{id}/resolve",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"authorization": format!("Bearer {key}"), "content-type": "application/json"},
        "requestContext": {
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "10.0.0.1"},
            "requestId": ulid::Ulid::new().to_string(),
            "routeKey": "POST /api/credentials/{id}/resolve",
            "stage": "$default"
        },
        "pathParameters": {"id": id},
        "body": serde_json::json!({"purpose": purpose}).to_string(),
        "isBase64Encoded": false
    })
}

/// A well-formed database create body with a canary password.
pub fn database_body(name: &str) -> (Value, String) {
    let password = secret("db-password");
    let body = serde_json::json!({
        "name": name,
        "type": "database",
        "config": {
            "engine": "postgresql",
            "host": "db.internal.example.com",
            "port": 5432,
            "database": "staging",
            "username": "etl",
            "password": password,
        }
    });
    (body, password)
}

/// The calls made one after another (`serial`, in order), then the ones made concurrently
/// (`concurrent`, in any order).
#[track_caller]
pub fn assert_calls(calls: Vec<String>, serial: &[&str], concurrent: &[&str]) {
    let split = serial.len().min(calls.len());
    assert_eq!(&calls[..split], serial, "{calls:?}");
    let mut rest = calls[split..].to_vec();
    let mut expected = concurrent.to_vec();
    rest.sort_unstable();
    expected.sort_unstable();
    assert_eq!(rest, expected, "{calls:?}");
}

/// The example events in `events/` and how to aim them at a test stack.
pub mod events {
    use credentials_core::http::Route;
    use serde_json::Value;

    /// The order that gives each function's event something to act on. Secret versions:
    /// create seals 1; update (a new password) seals 2, current; stage seals 3, pending;
    /// promote makes 1 current again; restore copies 2 forward as 4, current; destroy
    /// removes 2, no longer labelled. Resolve then opens 4: the update's password, and
    /// counts in the usage ledger, so the test forces the purge (with If-Match).
    pub const LIFECYCLE: [Route; 15] = [
        Route::Create,
        Route::List,
        Route::Get,
        Route::Update,
        Route::ListVersions,
        Route::StageVersion,
        Route::PromoteVersion,
        Route::RestoreVersion,
        Route::DestroyVersion,
        Route::SoftDelete,
        Route::Restore,
        Route::Resolve,
        Route::GetUsage,
        Route::Purge,
        Route::ListAuditEvents,
    ];

    /// The placeholders the example events carry.
    pub const EXAMPLE_KEY: &str = "cak_dev.EXAMPLEexampleEXAMPLEexampleEXAMPLEexample1";
    pub const EXAMPLE_ID: &str = "cred_01j9k2m4n5p6q7r8s9t0v1w2x3";
    /// The password `update-credential.json` sets.
    pub const UPDATED_PASSWORD: &str = "rotate-me-to-a-new-secret";

    pub fn dir() -> std::path::PathBuf {
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../events"))
    }

    /// Every event file: (file stem, raw text).
    pub fn all() -> Vec<(String, String)> {
        let mut files: Vec<_> = std::fs::read_dir(dir())
            .expect("events/")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| {
                let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
                (stem, std::fs::read_to_string(&p).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    /// The route an event file is for: its name ends with the function's name.
    pub fn route_of(stem: &str) -> Route {
        Route::ALL
            .iter()
            .copied()
            .find(|r| stem.ends_with(r.name()))
            .unwrap_or_else(|| panic!("events/{stem}.json names no function"))
    }

    /// A purge event forced past the lifecycle's resolve (a purge is refused within the
    /// quiet period): `force=true`, with If-Match `etag`.
    pub fn forced(mut event: Value, etag: &str) -> Value {
        event["rawQueryString"] = "force=true".into();
        event["queryStringParameters"] = serde_json::json!({"force": "true"});
        event["headers"]["if-match"] = etag.into();
        event
    }

    /// The event with a real API key and credential id in place of the examples.
    pub fn aimed(raw: &str, key: &str, id: &str) -> Value {
        serde_json::from_str(&raw.replace(EXAMPLE_KEY, key).replace(EXAMPLE_ID, id))
            .expect("event JSON")
    }
}
