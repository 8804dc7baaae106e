//! Secrets never come back: not in responses, logs or the table in plain text. They are
//! sealed with a KMS data key bound to workspace and credential, and only the write paths
//! call KMS at all.

use std::collections::HashMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use aws_sdk_dynamodb::types::AttributeValue;
use credentials_core::crypto::{encryption_context, field_aad, SealScope};
use credentials_core::domain::{CredentialType, Destination};
use credentials_core::{AppState, Clients};
use serde_json::json;
use test_harness::logs::assert_not_logged;
use test_harness::{database_body, sdk_config, secret, TestApp};

/// Every string and byte string inside an attribute, recursively.
fn flatten(value: &AttributeValue, out: &mut Vec<String>) {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => out.push(s.clone()),
        AttributeValue::B(b) => out.push(String::from_utf8_lossy(b.as_ref()).into_owned()),
        AttributeValue::L(items) => items.iter().for_each(|v| flatten(v, out)),
        AttributeValue::M(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            flatten(v, out)
        }),
        AttributeValue::Ss(items) | AttributeValue::Ns(items) => out.extend(items.iter().cloned()),
        _ => {}
    }
}

async fn table_text(app: &TestApp) -> String {
    let mut out = Vec::new();
    for item in app.scan().await {
        for (k, v) in &item {
            out.push(k.clone());
            flatten(v, &mut out);
        }
    }
    out.join("\n")
}

/// Opens a sealed field the way a pipeline runtime with `kms:Decrypt` would.
async fn open(
    app: &TestApp,
    item: &HashMap<String, AttributeValue>,
    field: &str,
    context: [(&str, String); 2],
) -> Result<String, String> {
    let workspace = item["workspace_id"].as_s().unwrap();
    let id = item["id"].as_s().unwrap();
    let sealed = item["secrets"].as_m().unwrap()[field].as_m().unwrap();
    let kms = aws_sdk_kms::Client::new(&app.sdk);
    let mut request = kms
        .decrypt()
        .ciphertext_blob(sealed["k"].as_b().unwrap().clone());
    for (k, v) in context {
        request = request.encryption_context(k, v);
    }
    let plain_key = request
        .send()
        .await
        .map_err(|_| "kms refused".to_owned())?
        .plaintext
        .unwrap();
    let cipher = Aes256Gcm::new_from_slice(plain_key.as_ref()).unwrap();
    let config: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(item["config"].as_s().unwrap()).unwrap();
    let kind = CredentialType::parse(item["type"].as_s().unwrap()).unwrap();
    let destination = Destination::of(kind, &config).digest();
    let scope = SealScope {
        workspace_id: workspace,
        credential_id: id,
        destination: &destination,
    };
    let bound = matches!(sealed.get("b"), Some(AttributeValue::Bool(true)));
    let aad = field_aad(&scope, field, bound);
    let plain = cipher
        .decrypt(
            Nonce::from_slice(sealed["n"].as_b().unwrap().as_ref()),
            Payload {
                msg: sealed["c"].as_b().unwrap().as_ref(),
                aad: &aad,
            },
        )
        .map_err(|_| "aead refused".to_owned())?;
    Ok(String::from_utf8(plain).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn no_route_returns_a_secret_and_the_table_holds_none_in_plain_text() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body, password) = database_body("sealed");
    let token = secret("token");
    let mut responses = Vec::new();

    let created = app
        .request("POST", "/api/credentials")
        .key(&key)
        .json(&body)
        .send()
        .await;
    let id = created.body["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/credentials/{id}");
    responses.push(created);
    responses.push(
        app.request("GET", "/api/credentials")
            .key(&key)
            .send()
            .await,
    );
    responses.push(app.request("GET", &path).key(&key).send().await);
    responses.push(
        app.request("PUT", &path)
            .key(&key)
            .json(&json!({"config": {"api_token": token, "port": token}}))
            .send()
            .await,
    );
    responses.push(
        app.request("PUT", &path)
            .key(&key)
            .json(&json!({"config": {"api_token": token}}))
            .send()
            .await,
    );
    responses.push(app.request("DELETE", &path).key(&key).send().await);
    responses.push(
        app.request("GET", "/api/credentials?status=deleted")
            .key(&key)
            .send()
            .await,
    );
    responses.push(
        app.request("POST", &format!("{path}/restore"))
            .key(&key)
            .send()
            .await,
    );
    // A duplicate name with secrets: refused, and still not echoed.
    responses.push(
        app.request("POST", "/api/credentials")
            .key(&key)
            .json(&body)
            .send()
            .await,
    );

    for response in &responses {
        assert!(!response.text.contains(&password), "{}", response.text);
        assert!(!response.text.contains(&token), "{}", response.text);
    }
    assert_eq!(
        responses[4].body["data"]["secret_fields"],
        json!(["api_token", "password"])
    );

    let text = table_text(&app).await;
    assert!(
        text.contains("db.internal.example.com"),
        "the scan sees the items"
    );
    assert!(!text.contains(&password));
    assert!(!text.contains(&token));
    assert!(!text.contains("canary-"));

    responses.push(
        app.request("DELETE", &format!("{path}/permanent"))
            .key(&key)
            .send()
            .await,
    );
    assert!(!responses.last().unwrap().text.contains(&password));
    assert_not_logged(&password);
    assert_not_logged(&token);
}

#[tokio::test(flavor = "multi_thread")]
async fn sealed_fields_open_only_with_the_right_context() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body, password) = database_body("openable");
    let created = app.create(&key, body).await;
    let id = created["id"].as_str().unwrap();
    let item = &app.credential_item(id).await;
    let workspace = item["workspace_id"].as_s().unwrap();

    let opened = open(&app, item, "password", encryption_context(workspace, id)).await;
    assert_eq!(opened.as_deref(), Ok(password.as_str()));

    // Another credential's context: KMS refuses to unwrap the data key.
    let wrong = encryption_context(workspace, "cred_01m8j7de87n7wfccjakzam45hz");
    assert_eq!(
        open(&app, item, "password", wrong).await,
        Err("kms refused".to_owned())
    );
    let wrong = encryption_context("another-workspace", id);
    assert_eq!(
        open(&app, item, "password", wrong).await,
        Err("kms refused".to_owned())
    );
}

/// A state whose KMS (or DynamoDB) is a closed port: any call to it fails.
async fn state_with(app: &TestApp, broken_kms: bool, broken_dynamo: bool) -> Arc<AppState> {
    let dead = sdk_config("http://127.0.0.1:9").await;
    let clients = Clients {
        dynamodb: aws_sdk_dynamodb::Client::new(if broken_dynamo { &dead } else { &app.sdk }),
        kms: aws_sdk_kms::Client::new(if broken_kms { &dead } else { &app.sdk }),
    };
    Arc::new(AppState::from_clients(clients, &app.settings()).expect("state"))
}

#[tokio::test(flavor = "multi_thread")]
async fn read_and_lifecycle_routes_make_no_kms_call() {
    let mut app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app.create(&key, database_body("no-kms").0).await;
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());

    app.state = state_with(&app, true, false).await;
    assert_eq!(
        app.request("GET", "/api/credentials")
            .key(&key)
            .send()
            .await
            .status,
        200
    );
    assert_eq!(app.request("GET", &path).key(&key).send().await.status, 200);
    // An update that touches no secret needs no KMS either.
    let update = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"config": {"database": "d2"}}))
        .send()
        .await;
    assert_eq!(update.status, 200, "{}", update.text);
    assert_eq!(
        app.request("DELETE", &path).key(&key).send().await.status,
        200
    );
    assert_eq!(
        app.request("POST", &format!("{path}/restore"))
            .key(&key)
            .send()
            .await
            .status,
        200
    );
    assert_eq!(
        app.request("DELETE", &format!("{path}/permanent"))
            .key(&key)
            .send()
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_or_dynamodb_faults_answer_503_and_write_nothing() {
    let mut app = TestApp::new().await;
    let key = app.admin_key().await;
    let healthy = app.state.clone();
    let created = app.create(&key, database_body("before-fault").0).await;
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
    let before = app.scan().await.len();

    app.state = state_with(&app, true, false).await;
    let (body, password) = database_body("during-kms-fault");
    let response = app
        .request("POST", "/api/credentials")
        .key(&key)
        .json(&body)
        .send()
        .await;
    response.assert_error(503, "service_unavailable");
    assert!(!response.text.contains(&password));
    let response = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"name": "renamed", "config": {"password": secret("new")}}))
        .send()
        .await;
    response.assert_error(503, "service_unavailable");
    assert_eq!(
        app.scan().await.len(),
        before,
        "a KMS fault left items behind"
    );

    app.state = state_with(&app, false, true).await;
    for (method, route) in [
        ("GET", "/api/credentials".to_owned()),
        ("GET", path.clone()),
        ("DELETE", path.clone()),
    ] {
        let response = app.request(method, &route).key(&key).send().await;
        response.assert_error(503, "service_unavailable");
        assert_eq!(
            response.body["error"]["message"],
            "The service could not complete the request. It is safe to retry."
        );
    }

    app.state = healthy;
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(
        got.body["data"], created,
        "the faults changed the credential"
    );
}
