//! Names: names people read as the same clash, rename and purge release the stored
//! reservation key, purge forgets the idempotency record, and names and keys that embed a
//! credential are refused.

use aws_sdk_dynamodb::types::AttributeValue;
use credentials_core::store::workspace_pk;
use serde_json::json;
use test_harness::{secret, unique, TestApp};

use crate::boundary::alnum;

#[tokio::test(flavor = "multi_thread")]
async fn names_people_read_as_the_same_clash() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let body =
        |name: &str| json!({"name": name, "type": "password", "config": {"password": secret("p")}});
    for (first, second) in [
        ("café", "cafe\u{301}"),
        ("STRASSE", "straße"),
        ("ｐｒｏｄ", "prod"),
        ("ﬁle-store", "FILE-STORE"),
        ("Ångström", "A\u{30a}ngstro\u{308}m"),
    ] {
        app.create(&key, body(first)).await;
        app.request("POST", "/api/credentials")
            .key(&key)
            .json(&body(second))
            .send()
            .await
            .assert_error(409, "name_taken");
    }
    for invisible in [
        "prod\u{200b}",
        "pro\u{200d}d",
        "\u{202e}dorp",
        "\u{feff}prod",
        "pr\u{ad}od",
        "prod\u{e000}",
        "prod\u{378}",
        "prod\u{2028}x",
    ] {
        let response = app
            .request("POST", "/api/credentials")
            .key(&key)
            .json(&body(invisible))
            .send()
            .await;
        response.assert_error(400, "validation_failed");
        assert_eq!(response.body["error"]["details"][0]["field"], "name");
    }
    // The name as sent is what the API shows.
    let shown = app.create(&key, body("Zürich-数据库")).await;
    assert_eq!(shown["name"], "Zürich-数据库");
}

/// Rewrites a credential's stored reservation key (as an older folding would have
/// written it), moving its reservation item to match.
async fn store_legacy_key(app: &TestApp, workspace: &str, id: &str, legacy: &str) {
    let client = aws_sdk_dynamodb::Client::new(&app.sdk);
    let item = app.credential_item(id).await;
    let current = item["name_key"].as_s().unwrap().to_owned();
    let s = |v: &str| AttributeValue::S(v.to_owned());
    client
        .delete_item()
        .table_name(&app.table)
        .key("pk", s(&workspace_pk(workspace)))
        .key("sk", s(&format!("NAME#{current}")))
        .send()
        .await
        .unwrap();
    client
        .put_item()
        .table_name(&app.table)
        .item("pk", s(&workspace_pk(workspace)))
        .item("sk", s(&format!("NAME#{legacy}")))
        .item("credential_id", s(id))
        .send()
        .await
        .unwrap();
    client
        .update_item()
        .table_name(&app.table)
        .key("pk", s(&workspace_pk(workspace)))
        .key("sk", s(&format!("CRED#{id}")))
        .update_expression("SET name_key = :k")
        .expression_attribute_values(":k", s(legacy))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_and_purge_release_the_stored_reservation_key() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app
        .key(&workspace, credentials_core::auth::Scope::ALL)
        .await;
    let body =
        |name: &str| json!({"name": name, "type": "password", "config": {"password": secret("p")}});
    let renamed = app.create(&key, body("Legacy-One")).await;
    let purged = app.create(&key, body("Legacy-Two")).await;
    let renamed_id = renamed["id"].as_str().unwrap();
    let purged_id = purged["id"].as_str().unwrap();
    store_legacy_key(&app, &workspace, renamed_id, "legacy one (old folding)").await;
    store_legacy_key(&app, &workspace, purged_id, "legacy two (old folding)").await;

    let response = app
        .request("PUT", &format!("/api/credentials/{renamed_id}"))
        .key(&key)
        .json(&json!({"name": "renamed"}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    app.request("DELETE", &format!("/api/credentials/{purged_id}/permanent"))
        .key(&key)
        .send()
        .await;
    let mut reservations: Vec<String> = app
        .items("NAME#")
        .await
        .iter()
        .map(|i| i["sk"].as_s().unwrap().clone())
        .collect();
    reservations.sort();
    assert_eq!(reservations, ["NAME#renamed"]);
    // Both old names are free again.
    app.create(&key, body("Legacy-One")).await;
    app.create(&key, body("Legacy-Two")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_forgets_the_idempotency_record() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let body = json!({"name": "once", "type": "password", "config": {"password": secret("p")}});
    let send = || {
        app.request("POST", "/api/credentials")
            .key(&key)
            .header("idempotency-key", "purge-then-retry")
            .json(&body)
            .send()
    };
    let first = send().await;
    assert_eq!(first.status, 201);
    let id = first.body["data"]["id"].as_str().unwrap().to_owned();
    let purge = app
        .request("DELETE", &format!("/api/credentials/{id}/permanent"))
        .key(&key)
        .send()
        .await;
    assert_eq!(purge.status, 200, "{}", purge.text);
    assert!(app.items("IDEM#").await.is_empty());
    // A retry after purge creates anew instead of replaying a 201 that points at a 404.
    let again = send().await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert!(again.header("idempotent-replayed").is_none());
    assert_ne!(again.body["data"]["id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn names_and_keys_that_embed_a_credential_are_refused() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let token = format!("ghp_{}", alnum(36));
    let url = format!("postgres://etl:Pw{}@db.example.com/prod", alnum(16));
    for (body, field) in [
        (
            json!({"name": token, "type": "password", "config": {"password": secret("p")}}),
            "name",
        ),
        (
            json!({"name": url, "type": "password", "config": {"password": secret("p")}}),
            "name",
        ),
        (
            json!({"name": "k", "type": "password", "config": {"password": secret("p"), token.clone(): 1}}),
            "config",
        ),
    ] {
        let response = app
            .request("POST", "/api/credentials")
            .key(&key)
            .json(&body)
            .send()
            .await;
        response.assert_error(400, "validation_failed");
        assert_eq!(response.body["error"]["details"][0]["field"], field);
        assert!(!response.text.contains(&token) && !response.text.contains(&url));
    }
    // A rename too.
    let created = app
        .create(
            &key,
            json!({"name": "plain", "type": "password", "config": {"password": secret("p")}}),
        )
        .await;
    app.request(
        "PUT",
        &format!("/api/credentials/{}", created["id"].as_str().unwrap()),
    )
    .key(&key)
    .json(&json!({"name": url}))
    .send()
    .await
    .assert_error(400, "validation_failed");
}
