//! Visible fields: declared ones with ordinary values stay visible, undeclared ones move
//! between shown and sealed only as `visible_fields` says, and a secret the client also
//! sends visibly is shown only there.

use serde_json::json;
use test_harness::logs::assert_not_logged;
use test_harness::{secret, TestApp};

use crate::boundary::unsealed_text;

#[tokio::test(flavor = "multi_thread")]
async fn declared_visible_fields_with_ordinary_values_stay_visible() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app
        .create(
            &key,
            json!({"name": "visible", "type": "oauth",
                "visible_fields": ["tenant_hint", "api_version"], "config": {
                "client_id": "c-123",
                "client_secret": secret("s"),
                "token_url": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
                "authorization_url": "https://login.example.com/authorize",
                "scopes": ["read", "write"],
                "tenant_hint": "etl@example.com",
                "api_version": "2024-01-01",
            }}),
        )
        .await;
    assert_eq!(
        created["config"],
        json!({
            "client_id": "c-123",
            "token_url": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
            "authorization_url": "https://login.example.com/authorize",
            "scopes": ["read", "write"],
            "tenant_hint": "etl@example.com",
            "api_version": "2024-01-01",
        })
    );
    assert_eq!(created["secret_fields"], json!(["client_secret"]));
    let aws = app
        .create(
            &key,
            json!({"name": "aws", "type": "aws", "config": {
                "region": "eu-west-1",
                "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "secret_access_key": secret("aws"),
            }}),
        )
        .await;
    assert_eq!(aws["config"]["access_key_id"], "AKIAIOSFODNN7EXAMPLE");
}

/// An undeclared field moves between sealed and shown only when `visible_fields` says so:
/// leaving the list seals the value it shows; joining it needs the value sent again (no
/// write path can decrypt). Its value never decides.
#[tokio::test(flavor = "multi_thread")]
async fn a_field_moves_between_visible_and_sealed_as_visible_fields_say() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app
        .create(
            &key,
            json!({"name": "moves", "type": "password", "visible_fields": ["note"], "config": {
                "password": secret("p"), "note": "plain text"
            }}),
        )
        .await;
    assert_eq!(created["config"]["note"], "plain text");
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
    let sealed = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"visible_fields": []}))
        .send()
        .await;
    assert_eq!(sealed.status, 200, "{}", sealed.text);
    assert!(sealed.body["data"]["config"].get("note").is_none());
    assert_eq!(
        sealed.body["data"]["secret_fields"],
        json!(["note", "password"])
    );
    assert_eq!(sealed.body["data"]["visible_fields"], json!([]));
    // Joining the list without the value: 409 secrets_required (the field is sealed in
    // this credential), nothing written.
    let refused = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"visible_fields": ["note"]}))
        .send()
        .await;
    refused.assert_error(409, "secrets_required");
    assert_eq!(
        refused.body["error"]["details"][0]["field"],
        "visible_fields[0]"
    );
    let visible = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"visible_fields": ["note"], "config": {"note": "plain again"}}))
        .send()
        .await;
    assert_eq!(visible.status, 200, "{}", visible.text);
    assert_eq!(visible.body["data"]["config"]["note"], "plain again");
    assert_eq!(visible.body["data"]["secret_fields"], json!(["password"]));
    assert_eq!(visible.body["data"]["version"], 3);
    // A credential in a shown field is refused, whatever the field had before.
    let pw = secret("inside");
    let embedded = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"config": {"note": format!("postgres://u:{pw}@h/db")}}))
        .send()
        .await;
    embedded.assert_error(400, "validation_failed");
    assert!(!embedded.text.contains(&pw));
    assert!(!unsealed_text(&app).await.contains(&pw));
}

/// A value the client sends both as a secret and in the name or a visible setting is
/// shown where the client made it visible, and only there: the secret field stays sealed
/// and listed by name, nothing refuses it, and it is in no log line.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_the_client_also_shows_is_shown_only_where_it_was_sent_visibly() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let password = secret("echoed");
    let created = app
        .request("POST", "/api/credentials")
        .key(&key)
        .json(
            &json!({"name": "echo", "type": "password", "visible_fields": ["comment"],
            "config": {"password": password, "comment": format!("see {password}")}}),
        )
        .send()
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let data = &created.body["data"];
    assert_eq!(
        data["config"],
        json!({"comment": format!("see {password}")})
    );
    assert_eq!(data["secret_fields"], json!(["password"]));
    // The name too (names are logged, so this value carries no log canary).
    let name = format!("name-and-password-{}", ulid::Ulid::new());
    let named = app
        .request("POST", "/api/credentials")
        .key(&key)
        .json(&json!({"name": name, "type": "password", "config": {"password": name}}))
        .send()
        .await;
    assert_eq!(named.status, 201, "{}", named.text);
    assert_eq!(named.body["data"]["name"], name.as_str());
    assert_eq!(named.body["data"]["config"], json!({}));
    // An update that sets a secret equal to a visible setting it keeps: the same.
    let kept = app
        .create(
            &key,
            json!({"name": "kept", "type": "password", "visible_fields": ["region"], "config": {
                "password": secret("p"), "region": "eu-west-1-zone-a"
            }}),
        )
        .await;
    let updated = app
        .request(
            "PUT",
            &format!("/api/credentials/{}", kept["id"].as_str().unwrap()),
        )
        .key(&key)
        .json(&json!({"config": {"password": "eu-west-1-zone-a"}}))
        .send()
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(
        updated.body["data"]["config"],
        json!({"region": "eu-west-1-zone-a"})
    );
    assert_not_logged(&password);
}
