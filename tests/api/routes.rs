//! Every route end to end, under both path prefixes, with the shapes the contract shows.

use serde_json::json;
use test_harness::{database_body, secret, unique, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn create_returns_201_with_metadata_and_no_secret() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body, password) = database_body("staging-postgres-etl");
    let response = app
        .request("POST", "/api/credentials")
        .key(&key)
        .json(&body)
        .send()
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    let data = &response.body["data"];
    let id = data["id"].as_str().unwrap();
    assert!(id.starts_with("cred_") && id.len() == 31 && id == id.to_lowercase());
    assert_eq!(
        response.header("location"),
        Some(format!("/api/credentials/{id}").as_str())
    );
    assert_eq!(data["name"], "staging-postgres-etl");
    assert_eq!(data["type"], "database");
    assert_eq!(data["status"], "active");
    assert_eq!(data["created_at"], data["updated_at"]);
    assert!(data["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(data.get("deleted_at").is_none());
    // Non-secret config in the order it was sent; the password only as a name.
    assert_eq!(
        data["config"],
        json!({"engine": "postgresql", "host": "db.internal.example.com", "port": 5432, "database": "staging", "username": "etl"})
    );
    assert_eq!(
        serde_json::to_string(&data["config"]).unwrap(),
        r#"{"engine":"postgresql","host":"db.internal.example.com","port":5432,"database":"staging","username":"etl"}"#
    );
    assert_eq!(data["secret_fields"], json!(["password"]));
    assert_eq!(data["version"], 1);
    assert!(data["created_by"].as_str().unwrap().starts_with("key_"));
    assert!(!response.text.contains(&password));
    assert_eq!(response.header("content-type"), Some("application/json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_works_under_both_prefixes() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    for prefix in ["", "/v1"] {
        let base = format!("{prefix}/api/credentials");
        let (body, _) = database_body(&unique("db"));
        let created = app
            .request("POST", &base)
            .key(&key)
            .json(&body)
            .send()
            .await;
        assert_eq!(created.status, 201, "{prefix}: {}", created.text);
        let id = created.body["data"]["id"].as_str().unwrap().to_owned();
        let one = format!("{base}/{id}");

        let list = app.request("GET", &base).key(&key).send().await;
        assert_eq!(list.status, 200);
        assert!(list.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == id.as_str()));

        let got = app.request("GET", &one).key(&key).send().await;
        assert_eq!(got.status, 200);
        assert_eq!(got.body["data"], created.body["data"]);

        let updated = app
            .request("PUT", &one)
            .key(&key)
            .json(&json!({"config": {"database": "analytics"}}))
            .send()
            .await;
        assert_eq!(updated.status, 200, "{}", updated.text);
        assert_eq!(updated.body["data"]["config"]["database"], "analytics");

        let deleted = app.request("DELETE", &one).key(&key).send().await;
        assert_eq!(deleted.status, 200);
        assert_eq!(deleted.body["data"]["status"], "deleted");

        let restored = app
            .request("POST", &format!("{one}/restore"))
            .key(&key)
            .send()
            .await;
        assert_eq!(restored.status, 200);
        assert_eq!(restored.body["data"]["status"], "active");

        let purged = app
            .request("DELETE", &format!("{one}/permanent"))
            .key(&key)
            .send()
            .await;
        assert_eq!(purged.status, 200);
        assert_eq!(purged.body, json!({"data": {"id": id, "purged": true}}));

        app.request("GET", &one)
            .key(&key)
            .send()
            .await
            .assert_error(404, "not_found");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn update_is_partial_renames_and_reencrypts() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body, _) = database_body("prod-snowflake-reader");
    let created = app.create(&key, body).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/credentials/{id}");
    let sealed_before = app.credential_item(id).await["secrets"].clone();

    // Rename, change one field, drop one with null, add a secret-looking field.
    let new_token = secret("token");
    let updated = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({
            "name": "prod-snowflake-reader-v2",
            "type": "database",
            "config": {"warehouse": "ETL_WH", "database": null, "refresh_token": new_token}
        }))
        .send()
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let data = &updated.body["data"];
    assert_eq!(data["name"], "prod-snowflake-reader-v2");
    assert_eq!(data["version"], 2);
    assert_eq!(
        data["config"],
        json!({"engine": "postgresql", "host": "db.internal.example.com", "port": 5432, "username": "etl", "warehouse": "ETL_WH"})
    );
    assert_eq!(data["secret_fields"], json!(["password", "refresh_token"]));
    assert_eq!(data["created_at"], created["created_at"]);
    assert!(!updated.text.contains(&new_token));

    // The untouched password keeps its sealed value; the old name is free again.
    let item = app.credential_item(id).await;
    let before = sealed_before.as_m().unwrap();
    let after = item["secrets"].as_m().unwrap();
    assert_eq!(before["password"], after["password"]);
    assert!(after.contains_key("refresh_token"));
    let (again, _) = database_body("PROD-SNOWFLAKE-READER");
    app.create(&key, again).await;

    // Removing a secret with null.
    let removed = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"config": {"refresh_token": null}}))
        .send()
        .await;
    assert_eq!(removed.status, 200);
    assert_eq!(removed.body["data"]["secret_fields"], json!(["password"]));
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_to_a_taken_name_conflicts_and_changes_nothing() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    app.create(&key, database_body("first").0).await;
    let second = app.create(&key, database_body("second").0).await;
    let path = format!("/api/credentials/{}", second["id"].as_str().unwrap());
    let response = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"name": "FIRST", "config": {"database": "changed"}}))
        .send()
        .await;
    response.assert_error(409, "name_taken");
    let unchanged = app.request("GET", &path).key(&key).send().await;
    assert_eq!(unchanged.body["data"], second);

    // A case-only rename of one's own name is allowed.
    let recased = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"name": "SECOND"}))
        .send()
        .await;
    assert_eq!(recased.status, 200, "{}", recased.text);
    assert_eq!(recased.body["data"]["name"], "SECOND");
}

#[tokio::test(flavor = "multi_thread")]
async fn names_are_unique_case_insensitively_and_reserved_until_purged() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app.create(&key, database_body("Shared-Name").0).await;
    let id = created["id"].as_str().unwrap();

    let clash = app
        .request("POST", "/api/credentials")
        .key(&key)
        .json(&database_body("shared-name").0)
        .send()
        .await;
    clash.assert_error(409, "name_taken");

    let path = format!("/api/credentials/{id}");
    assert_eq!(
        app.request("DELETE", &path).key(&key).send().await.status,
        200
    );
    let while_deleted = app
        .request("POST", "/api/credentials")
        .key(&key)
        .json(&database_body("SHARED-NAME").0)
        .send()
        .await;
    while_deleted.assert_error(409, "name_taken");

    let purge = format!("{path}/permanent");
    assert_eq!(
        app.request("DELETE", &purge).key(&key).send().await.status,
        200
    );
    app.create(&key, database_body("shared-name").0).await;
    // The reservation went with the purged credential: only the new one's remains.
    assert_eq!(app.items("NAME#").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn soft_delete_restore_and_purge_lifecycle() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app.create(&key, database_body("lifecycle").0).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/credentials/{id}");

    // Restoring an active credential is a state conflict.
    app.request("POST", &format!("{path}/restore"))
        .key(&key)
        .send()
        .await
        .assert_error(409, "invalid_state");

    let deleted = app.request("DELETE", &path).key(&key).send().await;
    assert_eq!(deleted.status, 200);
    let data = &deleted.body["data"];
    assert_eq!(data["id"], id);
    assert_eq!(data["status"], "deleted");
    assert!(data["deleted_at"].as_str().unwrap().ends_with('Z'));

    // Deleting again is harmless and answers the same.
    let again = app.request("DELETE", &path).key(&key).send().await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, deleted.body);

    // Still readable, with its state.
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["data"]["status"], "deleted");
    assert_eq!(got.body["data"]["deleted_at"], data["deleted_at"]);

    // A deleted credential cannot be updated.
    app.request("PUT", &path)
        .key(&key)
        .json(&json!({"config": {"database": "x"}}))
        .send()
        .await
        .assert_error(409, "invalid_state");

    let restored = app
        .request("POST", &format!("{path}/restore"))
        .key(&key)
        .send()
        .await;
    assert_eq!(restored.status, 200);
    assert_eq!(restored.body["data"]["status"], "active");
    assert!(restored.body["data"]["deleted_at"].is_null());
    assert!(restored.body["data"]
        .as_object()
        .unwrap()
        .contains_key("deleted_at"));
    let got = app.request("GET", &path).key(&key).send().await;
    assert!(got.body["data"].get("deleted_at").is_none());

    let purged = app
        .request("DELETE", &format!("{path}/permanent"))
        .key(&key)
        .send()
        .await;
    assert_eq!(purged.status, 200);
    app.request("GET", &path)
        .key(&key)
        .send()
        .await
        .assert_error(404, "not_found");
    app.request("DELETE", &format!("{path}/permanent"))
        .key(&key)
        .send()
        .await
        .assert_error(404, "not_found");
    app.request("POST", &format!("{path}/restore"))
        .key(&key)
        .send()
        .await
        .assert_error(404, "not_found");
    app.request("DELETE", &path)
        .key(&key)
        .send()
        .await
        .assert_error(404, "not_found");
    app.request("PUT", &path)
        .key(&key)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .assert_error(404, "not_found");
    // Nothing of it is left in the table.
    assert!(app.items("CRED#").await.is_empty());
    assert!(app.items("NAME#").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_type_can_be_created_with_its_schema() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let cases = [
        (
            "aws",
            json!({"region": "us-east-1", "role_arn": "arn:aws:iam::123456789012:role/Ingest", "secret_access_key": secret("aws")}),
            vec!["secret_access_key"],
        ),
        (
            "azure",
            json!({"tenant_id": "t", "client_id": "c", "client_secret": secret("azure")}),
            vec!["client_secret"],
        ),
        (
            "gcp",
            json!({"project_id": "p", "credentials_json": secret("gcp")}),
            vec!["credentials_json"],
        ),
        (
            "database",
            json!({"host": "h", "password": secret("db")}),
            vec!["password"],
        ),
        (
            "api_key",
            json!({"api_key": secret("api"), "base_url": "https://api.example.com"}),
            vec!["api_key"],
        ),
        (
            "oauth",
            json!({"client_id": "c", "client_secret": secret("oauth"), "scopes": ["read", "write"]}),
            vec!["client_secret"],
        ),
        (
            "password",
            json!({"username": "u", "password": secret("pw")}),
            vec!["password"],
        ),
    ];
    for (kind, config, secrets) in cases {
        let data = app
            .create(
                &key,
                json!({"name": format!("{kind}-one"), "type": kind, "config": config}),
            )
            .await;
        assert_eq!(data["type"], kind);
        assert_eq!(data["secret_fields"], json!(secrets), "{kind}");
        for secret_field in secrets {
            assert!(data["config"].get(secret_field).is_none());
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_request_line_names_key_workspace_and_credential() {
    let app = TestApp::new().await;
    let workspace = test_harness::unique("ws");
    let key = app
        .key(&workspace, credentials_core::auth::Scope::ALL)
        .await;
    let created = app.create(&key, database_body("logged").0).await;
    let id = created["id"].as_str().unwrap();
    app.request("GET", &format!("/api/credentials/{id}"))
        .key(&key)
        .send()
        .await;
    let logs = test_harness::logs::captured();
    let line = logs
        .lines()
        .find(|l| {
            l.contains("\"message\":\"request\"") && l.contains(id) && l.contains("get-credential")
        })
        .expect("the get's request line");
    let line: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(line["span"]["credential_id"], id);
    assert_eq!(line["span"]["workspace_id"], workspace.as_str());
    assert!(line["span"]["key_id"].as_str().unwrap().starts_with("key_"));
}
