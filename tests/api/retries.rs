//! Retries that cannot lie: a write whose answer was lost after DynamoDB applied it is
//! retried by the SDK with the same `ClientRequestToken` and answered with the first
//! outcome, never refused by its own conditions (409/412/404) nor applied twice. The
//! emulator applies the write and then loses its answer (a retryable 500), as a network
//! would.

use serde_json::json;
use test_harness::{emulator_endpoint, secret, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TRANSACT: &str = "DynamoDB_20120810.TransactWriteItems";

/// Makes the emulator apply the next request with `target` and lose its answer.
async fn lose_next_response(target: &str) {
    let endpoint = emulator_endpoint();
    let authority = endpoint.trim_start_matches("http://");
    let body = json!({ "target": target }).to_string();
    let mut stream = tokio::net::TcpStream::connect(authority).await.unwrap();
    let request = format!(
        "POST /_fault/lose-next-response HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
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
    lose_next_response(TRANSACT).await;
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
    lose_next_response(TRANSACT).await;
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
        lose_next_response(TRANSACT).await;
        let response = app
            .request(method, &format!("{path}{suffix}"))
            .key(&key)
            .header("if-match", &format!("\"{}\"", version - 1))
            .send()
            .await;
        assert_eq!(response.status, 200, "{method} {suffix}: {}", response.text);
        assert_eq!(response.body["data"]["version"], version);
    }
    lose_next_response(TRANSACT).await;
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
