//! Retries that cannot lie: a write whose answer was lost after DynamoDB applied it is
//! attempted again with the same `ClientRequestToken` and answered with the first outcome,
//! never refused by its own conditions (409/412/404) nor applied twice; and when no answer
//! settles whether it landed, the client is told the outcome is unknown, never that
//! nothing changed. The emulator's faults (scoped to one test's table) apply a write and
//! lose its answer, hold it past the attempt timeout, or answer
//! `TransactionInProgressException`, as DynamoDB and a network would.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use credentials_core::{AppState, Clients};
use serde_json::{json, Value};
use test_harness::{emulator_endpoint, secret, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TRANSACT: &str = "DynamoDB_20120810.TransactWriteItems";

/// Makes the emulator apply the next request with `target` on `app`'s table and lose its
/// answer.
async fn lose_next_response(app: &TestApp, target: &str) {
    fault(
        "/_fault/lose-next-response",
        json!({ "target": target, "table": app.table }),
    )
    .await;
}

async fn fault(path: &str, body: Value) {
    let endpoint = emulator_endpoint();
    let authority = endpoint.trim_start_matches("http://");
    let body = body.to_string();
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_after_the_write_landed_is_answered_as_the_write_went() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;

    // Create: 201, one credential, one name, one event, not 409 name_taken.
    lose_next_response(&app, TRANSACT).await;
    let created = app
        .request("POST", "/api/credentials")
        .key(&key)
        .header("idempotency-key", "lost-answer")
        .json(&json!({"name": "lost", "type": "password", "config": {"password": secret("p")}}))
        .send()
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(app.items("CRED#").await.len(), 1);
    assert_eq!(app.items("NAME#").await.len(), 1);
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/credentials/{id}");

    // Update with If-Match: 200 and version 2, not 412.
    lose_next_response(&app, TRANSACT).await;
    let updated = app
        .request("PUT", &path)
        .key(&key)
        .header("if-match", "\"1\"")
        .json(&json!({"config": {"note": "n"}}))
        .send()
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["data"]["version"], 2);

    // Soft delete, restore, purge.
    for (method, suffix, version) in [("DELETE", "", 3), ("POST", "/restore", 4)] {
        lose_next_response(&app, TRANSACT).await;
        let response = app
            .request(method, &format!("{path}{suffix}"))
            .key(&key)
            .header("if-match", &format!("\"{}\"", version - 1))
            .send()
            .await;
        assert_eq!(response.status, 200, "{method} {suffix}: {}", response.text);
        assert_eq!(response.body["data"]["version"], version);
    }
    lose_next_response(&app, TRANSACT).await;
    let purged = app
        .request("DELETE", &format!("{path}/permanent"))
        .key(&key)
        .send()
        .await;
    assert_eq!(purged.status, 200, "{}", purged.text);
    assert!(app.items("CRED#").await.is_empty());
    assert!(app.items("NAME#").await.is_empty());
    // Each change recorded once: created, updated, deleted, restored, purged.
    let events: Vec<String> = app
        .items("EVT#")
        .await
        .iter()
        .filter_map(|e| e["action"].as_s().ok().cloned())
        .filter(|a| a.starts_with("credential."))
        .collect();
    assert_eq!(events.len(), 5, "{events:?}");
}

/// `app` with DynamoDB attempts bounded at 300 ms, so an answer held for longer is, to the
/// client, no answer.
fn with_short_attempts(app: &TestApp) -> TestApp {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_millis(300))
        .operation_timeout(Duration::from_secs(2))
        .build();
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&app.sdk)
            .timeout_config(timeouts)
            .build(),
    );
    let clients = Clients {
        dynamodb,
        kms: aws_sdk_kms::Client::new(&app.sdk),
    };
    let mut short = app.clone();
    short.state = Arc::new(AppState::from_clients(clients, &app.settings()).unwrap());
    short
}

async fn updated_events(app: &TestApp) -> usize {
    app.items("EVT#")
        .await
        .iter()
        .filter(|e| e["action"].as_s().is_ok_and(|a| a == "credential.updated"))
        .count()
}

/// An attempt that landed but whose answer never came, then `TransactionInProgressException`
/// while it is applied: the store keeps attempting with the same token until the first
/// outcome comes back, and the client gets the 200 the write deserved, applied once.
#[tokio::test(flavor = "multi_thread")]
async fn no_answer_then_in_progress_is_settled_by_a_later_attempt() {
    let app = with_short_attempts(&TestApp::new().await);
    let key = app.admin_key().await;
    let created = app
        .create(
            &key,
            json!({"name": "slow", "type": "password", "config": {"password": secret("p")}}),
        )
        .await;
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
    fault(
        "/_fault/in-progress",
        json!({"table": app.table, "delay_ms": 1500, "in_progress": 2}),
    )
    .await;
    let updated = app
        .request("PUT", &path)
        .key(&key)
        .header("if-match", "\"1\"")
        .json(&json!({"name": "slow-renamed"}))
        .send()
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["data"]["version"], 2);
    assert_eq!(updated_events(&app).await, 1, "applied once");
}

/// The same, but DynamoDB keeps answering `TransactionInProgressException` for longer than
/// the store may wait: the write did land, so the answer must not say nothing changed.
#[tokio::test(flavor = "multi_thread")]
async fn without_a_settling_answer_the_outcome_is_unknown() {
    let app = with_short_attempts(&TestApp::new().await);
    let key = app.admin_key().await;
    let created = app
        .create(
            &key,
            json!({"name": "stuck", "type": "password", "config": {"password": secret("p")}}),
        )
        .await;
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
    fault(
        "/_fault/in-progress",
        json!({"table": app.table, "delay_ms": 1500, "in_progress": 100}),
    )
    .await;
    let answer = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"name": "stuck-renamed"}))
        .send()
        .await;
    answer.assert_error(503, "service_unavailable");
    let message = answer.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("outcome is unknown"), "{message}");
    assert!(!message.contains("safe to retry"), "{message}");
    // It had landed: version 2 is stored.
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(got.body["data"]["version"], 2);
}
