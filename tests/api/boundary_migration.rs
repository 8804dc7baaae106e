//! Items an earlier version wrote: the admin commands bring them to the current shape, and
//! undeclared fields they show stay shown until the operator seals them.

use aws_sdk_dynamodb::types::AttributeValue;
use credentials_core::store::workspace_pk;
use serde_json::json;
use test_harness::{secret, unique, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn items_of_the_previous_shape_are_migrated_by_the_admin_command() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app
        .key(&workspace, credentials_core::auth::Scope::ALL)
        .await;
    let created = app
        .create(
            &key,
            json!({"name": "old", "type": "password", "config": {"password": secret("p")}}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    // Put both items back into the shape an earlier version wrote.
    let client = aws_sdk_dynamodb::Client::new(&app.sdk);
    let cred = app.credential_item(id).await;
    client
        .update_item()
        .table_name(&app.table)
        .key("pk", cred["pk"].clone())
        .key("sk", cred["sk"].clone())
        .update_expression("REMOVE secret_fields, gsi6pk, gsi6sk")
        .send()
        .await
        .unwrap();
    let api_key = app
        .items("APIKEY")
        .await
        .into_iter()
        .find(|i| i["sk"].as_s().unwrap() == "APIKEY")
        .unwrap();
    client
        .update_item()
        .table_name(&app.table)
        .key("pk", api_key["pk"].clone())
        .key("sk", api_key["sk"].clone())
        .update_expression("SET gsi1pk = :pk, gsi1sk = :sk REMOVE gsi3pk, gsi3sk")
        .expression_attribute_values(":pk", AttributeValue::S(workspace_pk(&workspace)))
        .expression_attribute_values(":sk", AttributeValue::S("apikey#old".into()))
        .send()
        .await
        .unwrap();
    assert!(app
        .state
        .store
        .list_api_keys(&workspace)
        .await
        .unwrap()
        .is_empty());

    let unused = "/api/credentials?unused_since=2100-01-01";
    let before = app.request("GET", unused).key(&key).send().await;
    assert_eq!(
        before.body["data"],
        json!([]),
        "not in the last-use index yet"
    );
    let report = app.state.store.migrate_items().await.unwrap();
    assert_eq!((report.credentials, report.api_keys), (1, 1));
    assert_eq!(report.last_use, 1);
    let after = app.request("GET", unused).key(&key).send().await;
    assert_eq!(after.body["data"][0]["id"], id, "{}", after.text);
    let list = app
        .request("GET", "/api/credentials")
        .key(&key)
        .send()
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["data"][0]["secret_fields"], json!(["password"]));
    assert_eq!(
        app.state
            .store
            .list_api_keys(&workspace)
            .await
            .unwrap()
            .len(),
        1
    );
    // Again: nothing left to do.
    let again = app.state.store.migrate_items().await.unwrap();
    assert_eq!(
        (again.credentials, again.api_keys, again.last_use),
        (0, 0, 0)
    );
}

/// A credential written before undeclared fields were sealed keeps showing them (nothing
/// changes classification silently) until the operator seals them with
/// `migrate --seal-undeclared`, which counts first and then seals with an audit event.
#[tokio::test(flavor = "multi_thread")]
async fn legacy_visible_undeclared_fields_stay_until_the_operator_seals_them() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app
        .key(&workspace, credentials_core::auth::Scope::ALL)
        .await;
    let created = app
        .create(
            &key,
            json!({"name": "legacy", "type": "password", "visible_fields": ["team", "note"],
                   "config": {"password": secret("p"), "team": "data", "note": "old"}}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    // Back to the shape an earlier version wrote: no stored `visible_fields`.
    let client = aws_sdk_dynamodb::Client::new(&app.sdk);
    let cred = app.credential_item(id).await;
    client
        .update_item()
        .table_name(&app.table)
        .key("pk", cred["pk"].clone())
        .key("sk", cred["sk"].clone())
        .update_expression("REMOVE visible_fields")
        .send()
        .await
        .unwrap();
    let path = format!("/api/credentials/{id}");
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(got.body["data"]["config"]["team"], "data");
    assert_eq!(got.body["data"]["visible_fields"], json!(["team", "note"]));

    let dry = credentials_core::service::maintenance::seal_undeclared(&app.state, true)
        .await
        .unwrap();
    assert_eq!((dry.candidates, dry.sealed), (1, 0));
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(
        got.body["data"]["config"]["team"], "data",
        "a dry run writes nothing"
    );

    let done = credentials_core::service::maintenance::seal_undeclared(&app.state, false)
        .await
        .unwrap();
    assert_eq!((done.candidates, done.sealed, done.skipped), (1, 1, 0));
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(got.body["data"]["config"], json!({}));
    assert_eq!(
        got.body["data"]["secret_fields"],
        json!(["note", "password", "team"])
    );
    assert_eq!(got.body["data"]["visible_fields"], json!([]));
    let resolver = app
        .key(&workspace, &[credentials_core::auth::Scope::Resolve])
        .await;
    let resolved = app.resolve(&resolver, id, "pipeline:check/1").await;
    assert_eq!(resolved.body["data"]["config"]["team"], "data");
    let events = app
        .request("GET", &format!("/api/audit-events?credential_id={id}"))
        .key(&key)
        .send()
        .await;
    let sealing = &events.body["data"][1];
    assert_eq!(sealing["action"], "credential.updated");
    assert_eq!(sealing["actor"]["type"], "admin");
    assert_eq!(
        sealing["changes"],
        json!(["config.note", "config.team", "visible_fields"])
    );
    // Again: nothing left to seal.
    let again = credentials_core::service::maintenance::seal_undeclared(&app.state, false)
        .await
        .unwrap();
    assert_eq!(again.candidates, 0);
}
