//! API keys: 401 for anything but a live key, 403 for a missing scope, and workspaces that
//! cannot see each other on any route.

use aws_sdk_dynamodb::types::AttributeValue;
use credentials_core::auth::Scope;
use serde_json::json;
use test_harness::{database_body, unique, TestApp};

/// Every route, with a valid body where one is needed. `{id}` is replaced by a real id.
fn all_routes() -> Vec<(&'static str, &'static str, Option<serde_json::Value>)> {
    vec![
        ("GET", "/api/credentials", None),
        (
            "POST",
            "/api/credentials",
            Some(database_body(&unique("auth")).0),
        ),
        ("GET", "/api/credentials/{id}", None),
        (
            "PUT",
            "/api/credentials/{id}",
            Some(json!({"config": {"database": "x"}})),
        ),
        ("DELETE", "/api/credentials/{id}", None),
        ("POST", "/api/credentials/{id}/restore", None),
        ("DELETE", "/api/credentials/{id}/permanent", None),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_malformed_unknown_and_revoked_keys_get_401() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app.key(&workspace, Scope::ALL).await;
    let id = app.create(&key, database_body("target").0).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let unknown = {
        let other = TestApp::new().await;
        other.admin_key().await
    };
    let bad_headers = [
        None,
        Some("".to_owned()),
        Some(format!("Basic {key}")),
        Some("Bearer".to_owned()),
        Some("Bearer not-a-key".to_owned()),
        Some(format!("Bearer {key}x")),
        Some(format!("Bearer {unknown}")),
    ];
    for (method, path, body) in all_routes() {
        let path = path.replace("{id}", &id);
        for header in &bad_headers {
            let mut request = app.request(method, &path);
            if let Some(value) = header {
                request = request.header("authorization", value);
            }
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await;
            response.assert_error(401, "unauthorized");
            assert_eq!(
                response.header("www-authenticate"),
                Some("Bearer realm=\"credentials-api\""),
                "{method} {path}"
            );
        }
    }

    // Revoked keys stop working at once.
    let records = app.state.store.list_api_keys(&workspace).await.unwrap();
    credentials_core::service::api_keys::revoke(
        &app.state.store,
        app.state.clock.as_ref(),
        &workspace,
        &records[0].key_id,
        credentials_core::audit::default_retention(),
    )
    .await
    .unwrap();
    app.request("GET", "/api/credentials")
        .key(&key)
        .send()
        .await
        .assert_error(401, "unauthorized");
    let listed = app.state.store.list_api_keys(&workspace).await.unwrap();
    assert!(!listed[0].is_active());
}

#[tokio::test(flavor = "multi_thread")]
async fn each_route_requires_its_scope() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let admin = app.key(&workspace, Scope::ALL).await;
    let read = app.key(&workspace, &[Scope::Read]).await;
    let write = app.key(&workspace, &[Scope::Write]).await;
    let purge = app.key(&workspace, &[Scope::Purge]).await;
    let id = app.create(&admin, database_body("scoped").0).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let needs = [
        Scope::Read,
        Scope::Write,
        Scope::Read,
        Scope::Write,
        Scope::Write,
        Scope::Write,
        Scope::Purge,
    ];
    for ((method, path, body), needed) in all_routes().into_iter().zip(needs) {
        let path = path.replace("{id}", &id);
        for (key, scope) in [
            (&read, Scope::Read),
            (&write, Scope::Write),
            (&purge, Scope::Purge),
        ] {
            if scope == needed {
                continue;
            }
            let mut request = app.request(method, &path).key(key);
            if let Some(body) = &body {
                request = request.json(body);
            }
            request.send().await.assert_error(403, "forbidden");
        }
    }
    // The credential is untouched by all those refusals.
    let got = app
        .request("GET", &format!("/api/credentials/{id}"))
        .key(&read)
        .send()
        .await;
    assert_eq!(got.body["data"]["version"], 1);
    assert_eq!(got.body["data"]["status"], "active");
}

#[tokio::test(flavor = "multi_thread")]
async fn other_workspaces_ids_are_not_found_on_every_route() {
    let app = TestApp::new().await;
    let owner = app.admin_key().await;
    let stranger = app.admin_key().await;
    let created = app.create(&owner, database_body("private").0).await;
    let id = created["id"].as_str().unwrap();

    for (method, path, body) in all_routes()
        .into_iter()
        .filter(|(_, p, _)| p.contains("{id}"))
    {
        let path = path.replace("{id}", id);
        let mut request = app.request(method, &path).key(&stranger);
        if let Some(body) = &body {
            request = request.json(body);
        }
        request.send().await.assert_error(404, "not_found");
    }
    // The stranger's list is empty; the owner's credential is unchanged.
    let list = app
        .request("GET", "/api/credentials")
        .key(&stranger)
        .send()
        .await;
    assert_eq!(list.body["data"], json!([]));
    let list = app
        .request("GET", "/api/credentials?status=deleted")
        .key(&stranger)
        .send()
        .await;
    assert_eq!(list.body["data"], json!([]));
    let got = app
        .request("GET", &format!("/api/credentials/{id}"))
        .key(&owner)
        .send()
        .await;
    assert_eq!(got.body["data"], created);

    // The same name is free in another workspace.
    app.create(&stranger, database_body("private").0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn revoking_twice_changes_nothing_the_second_time() {
    let app = TestApp::new().await;
    let workspace = test_harness::unique("ws");
    app.key(&workspace, &[Scope::Read]).await;
    let key_id = app.state.store.list_api_keys(&workspace).await.unwrap()[0]
        .key_id
        .clone();
    let retention = credentials_core::audit::default_retention();
    credentials_core::service::api_keys::revoke(
        &app.state.store,
        app.state.clock.as_ref(),
        &workspace,
        &key_id,
        retention,
    )
    .await
    .unwrap();
    let first = app.state.store.list_api_keys(&workspace).await.unwrap()[0]
        .revoked_at
        .clone();
    assert!(first.is_some());
    credentials_core::service::api_keys::revoke(
        &app.state.store,
        app.state.clock.as_ref(),
        &workspace,
        &key_id,
        retention,
    )
    .await
    .unwrap();
    let records = app.state.store.list_api_keys(&workspace).await.unwrap();
    assert_eq!(records[0].revoked_at, first);
    let revocations = app
        .items("EVT#")
        .await
        .iter()
        .filter(|e| e["action"].as_s().is_ok_and(|a| a == "api_key.revoked"))
        .count();
    assert_eq!(revocations, 1);
}

/// Revocation finds a key by id through the base table, consistently, legacy keys
/// included: a key minted before id items (and never in the key index) is revoked and
/// refused on its next request; `migrate` then adds its id item.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_is_revoked_by_id_even_without_an_index_entry() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app.key(&workspace, &[Scope::Read]).await;
    let record = app
        .state
        .store
        .get_api_key(&credentials_core::auth::hash_key(&key))
        .await
        .unwrap()
        .unwrap();
    // Back to a key an earlier version minted: no id item, no index entry.
    let client = aws_sdk_dynamodb::Client::new(&app.sdk);
    client
        .delete_item()
        .table_name(&app.table)
        .key(
            "pk",
            AttributeValue::S(format!("APIKEYID#{}", record.key_id)),
        )
        .key("sk", AttributeValue::S("APIKEYID".into()))
        .send()
        .await
        .unwrap();
    client
        .update_item()
        .table_name(&app.table)
        .key(
            "pk",
            AttributeValue::S(format!("APIKEY#{}", record.key_hash)),
        )
        .key("sk", AttributeValue::S("APIKEY".into()))
        .update_expression("REMOVE gsi3pk, gsi3sk")
        .send()
        .await
        .unwrap();
    let before = app
        .request("GET", "/api/credentials")
        .key(&key)
        .send()
        .await;
    assert_eq!(before.status, 200);
    credentials_core::service::api_keys::revoke(
        &app.state.store,
        app.state.clock.as_ref(),
        &workspace,
        &record.key_id,
        credentials_core::audit::default_retention(),
    )
    .await
    .unwrap();
    app.request("GET", "/api/credentials")
        .key(&key)
        .send()
        .await
        .assert_error(401, "unauthorized");
    // Another workspace's key id is not found there.
    let other = unique("ws");
    let result = credentials_core::service::api_keys::revoke(
        &app.state.store,
        app.state.clock.as_ref(),
        &other,
        &record.key_id,
        credentials_core::audit::default_retention(),
    )
    .await;
    assert_eq!(result, Err(credentials_core::store::StoreError::NotFound));
    let report = app.state.store.migrate_items().await.unwrap();
    assert_eq!(report.key_ids, 1);
    assert_eq!(app.state.store.migrate_items().await.unwrap().key_ids, 0);
}
