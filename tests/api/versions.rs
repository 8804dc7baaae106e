//! Secret versions: every write of a secret makes a version; `current`, `previous` (for the
//! grace window) and `pending` resolve by stage, any kept version by number; retention
//! deletes what falls out; promote, restore and destroy are guarded writes with their audit
//! event; purge leaves no version behind.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use credentials_core::clock::ManualClock;
use serde_json::{json, Value};
use test_harness::{secret, TestApp, TestResponse};

fn password_body(name: &str, password: &str) -> Value {
    json!({"name": name, "type": "database", "config": {
        "engine": "postgresql", "host": "db.example.com", "port": 5432,
        "username": "etl", "password": password}})
}

async fn rotate(app: &TestApp, key: &str, id: &str, password: &str) -> TestResponse {
    let answer = app
        .request("PUT", &format!("/api/credentials/{id}"))
        .key(key)
        .json(&json!({"config": {"password": password}}))
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer
}

async fn resolve(app: &TestApp, key: &str, id: &str, selector: Value) -> TestResponse {
    let mut body = json!({"purpose": "versions-test"});
    for (k, v) in selector.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.resolve_with(key, Some(id), body).await
}

fn password_of(answer: &TestResponse) -> &str {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["data"]["config"]["password"].as_str().unwrap()
}

async fn history(app: &TestApp, key: &str, id: &str) -> Vec<Value> {
    let answer = app
        .request("GET", &format!("/api/credentials/{id}/versions?limit=100"))
        .key(key)
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["data"].as_array().unwrap().clone()
}

fn numbers(versions: &[Value]) -> Vec<u64> {
    versions
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect()
}

/// The version items of a credential in the table.
async fn version_items(app: &TestApp, id: &str) -> Vec<test_harness::Item> {
    app.items(&format!("VER#{id}#")).await
}

/// A test app whose clock the test moves.
async fn with_clock() -> (TestApp, Arc<ManualClock>) {
    let mut app = TestApp::new().await;
    let clock = ManualClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let mut state = (*app.state).clone();
    state.clock = clock.clone();
    app.state = Arc::new(state);
    (app, clock)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_keeps_the_previous_secret_resolvable_through_its_grace() {
    let (app, clock) = with_clock().await;
    let key = app.admin_key().await;
    let (old, new) = (secret("old"), secret("new"));
    let created = app.create(&key, password_body("rotated", &old)).await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["secret_version"], 1);
    assert_eq!(created["rotation_grace_seconds"], 86_400);
    assert_eq!(created["max_versions"], 10);

    clock.advance(Duration::from_secs(60));
    let rotated = rotate(&app, &key, id, &new).await;
    assert_eq!(rotated.body["data"]["secret_version"], 2);
    assert!(!rotated.text.contains(&new) && !rotated.text.contains(&old));

    let current = resolve(&app, &key, id, json!({})).await;
    assert_eq!(password_of(&current), new);
    let data = &current.body["data"];
    assert_eq!(
        (data["secret_version"].as_u64(), data["stage"].as_str()),
        (Some(2), Some("current"))
    );
    assert_eq!(data["rotated_at"], "2027-01-15T08:01:00Z");
    assert!(data.get("valid_until").is_none());

    let previous = resolve(&app, &key, id, json!({"stage": "previous"})).await;
    assert_eq!(password_of(&previous), old);
    assert_eq!(previous.body["data"]["secret_version"], 1);
    assert_eq!(previous.body["data"]["stage"], "previous");
    assert_eq!(previous.body["data"]["valid_until"], "2027-01-16T08:01:00Z");

    // To the second, the grace window holds; one second later `previous` is expired, and
    // the version is still there by number.
    clock.advance(Duration::from_secs(86_400));
    let last = resolve(&app, &key, id, json!({"stage": "previous"})).await;
    assert_eq!(password_of(&last), old);
    clock.advance(Duration::from_secs(1));
    resolve(&app, &key, id, json!({"stage": "previous"}))
        .await
        .assert_error(409, "version_expired");
    let by_number = resolve(&app, &key, id, json!({"version": 1})).await;
    assert_eq!(password_of(&by_number), old);
    // It still carries the label (until the next rotation moves it), expired or not.
    assert_eq!(by_number.body["data"]["stage"], "previous");

    // No pending version, no version 3: 404.
    resolve(&app, &key, id, json!({"stage": "pending"}))
        .await
        .assert_error(404, "not_found");
    resolve(&app, &key, id, json!({"version": 3}))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zero_grace_ends_previous_at_once_and_visible_changes_make_no_version() {
    let (app, clock) = with_clock().await;
    let key = app.admin_key().await;
    let mut body = password_body("no-grace", &secret("a"));
    body["rotation_grace_seconds"] = json!(0);
    let created = app.create(&key, body).await;
    let id = created["id"].as_str().unwrap();
    rotate(&app, &key, id, &secret("b")).await;
    // Within the same second the window [replaced, replaced + 0] still holds.
    assert_eq!(
        resolve(&app, &key, id, json!({"stage": "previous"}))
            .await
            .status,
        200
    );
    clock.advance(Duration::from_secs(1));
    resolve(&app, &key, id, json!({"stage": "previous"}))
        .await
        .assert_error(409, "version_expired");

    let renamed = app
        .request("PUT", &format!("/api/credentials/{id}"))
        .key(&key)
        .json(&json!({"name": "no-grace-2", "config": {"database": "other"}, "rotation_grace_seconds": 3600}))
        .send()
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["data"]["secret_version"], 2);
    assert_eq!(renamed.body["data"]["rotation_grace_seconds"], 3600);
    assert_eq!(numbers(&history(&app, &key, id).await), [2, 1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pending_version_is_staged_tested_and_promoted() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (old, staged) = (secret("old"), secret("staged"));
    let created = app.create(&key, password_body("staged", &old)).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/credentials/{id}");

    // At least one field, and nothing but `config`: 400.
    for bad in [
        json!({"config": {}}),
        json!({"name": "other", "config": {"password": secret("x")}}),
        json!({}),
    ] {
        let refused = app
            .request("POST", &format!("{path}/versions"))
            .key(&key)
            .json(&bad)
            .send()
            .await;
        refused.assert_error(400, "validation_failed");
    }
    // A field this credential shows is not a secret to stage: 409, naming it.
    for (body, field) in [
        (
            json!({"config": {"password": secret("x"), "port": 1}}),
            "config.port",
        ),
        (json!({"config": {"username": null}}), "config.username"),
    ] {
        let refusal = app
            .request("POST", &format!("{path}/versions"))
            .key(&key)
            .json(&body)
            .send()
            .await;
        refusal.assert_error(409, "not_secret_field");
        assert_eq!(refusal.body["error"]["details"][0]["field"], field);
    }

    let answer = app
        .request("POST", &format!("{path}/versions"))
        .key(&key)
        .json(&json!({"config": {"password": staged}}))
        .send()
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(
        answer.header("location"),
        Some(format!("{path}/versions/2").as_str())
    );
    let data = &answer.body["data"];
    assert_eq!(data["secret_version"], 1, "current is untouched");
    assert_eq!(data["pending_secret_version"], 2);
    let etag = answer.header("etag").unwrap().to_owned();

    assert_eq!(password_of(&resolve(&app, &key, id, json!({})).await), old);
    let pending = resolve(&app, &key, id, json!({"stage": "pending"})).await;
    assert_eq!(password_of(&pending), staged);
    assert_eq!(pending.body["data"]["stage"], "pending");

    // A stale If-Match promotes nothing.
    app.request("POST", &format!("{path}/versions/2/promote"))
        .key(&key)
        .header("if-match", "\"1\"")
        .send()
        .await
        .assert_error(412, "precondition_failed");
    let promoted = app
        .request("POST", &format!("{path}/versions/2/promote"))
        .key(&key)
        .header("if-match", &etag)
        .send()
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.text);
    assert_eq!(promoted.body["data"]["secret_version"], 2);
    assert!(promoted.body["data"]
        .get("pending_secret_version")
        .is_none());
    assert_eq!(
        password_of(&resolve(&app, &key, id, json!({})).await),
        staged
    );
    assert_eq!(
        password_of(&resolve(&app, &key, id, json!({"stage": "previous"})).await),
        old
    );
    // Promoting the current one again changes nothing.
    app.request("POST", &format!("{path}/versions/2/promote"))
        .key(&key)
        .send()
        .await
        .assert_error(409, "invalid_state");

    let stages: Vec<(u64, Value)> = history(&app, &key, id)
        .await
        .iter()
        .map(|v| (v["version"].as_u64().unwrap(), v["stage"].clone()))
        .collect();
    assert_eq!(stages, [(2, json!("current")), (1, json!("previous"))]);
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_deletes_what_falls_out_and_keeps_every_label() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let mut body = password_body("retained", &secret("v1"));
    body["max_versions"] = json!(2);
    let created = app.create(&key, body).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/credentials/{id}");
    for n in 2..=5 {
        rotate(&app, &key, id, &secret(&format!("v{n}"))).await;
    }
    // The newest two (5 current, 4 previous); 1 to 3 are gone, data and metadata.
    assert_eq!(numbers(&history(&app, &key, id).await), [5, 4]);
    assert_eq!(version_items(&app, id).await.len(), 2);
    for n in 1..=3 {
        resolve(&app, &key, id, json!({"version": n}))
            .await
            .assert_error(409, "version_destroyed");
    }

    // A pending version counts in the window, and a labelled one outside it stays.
    app.request("POST", &format!("{path}/versions"))
        .key(&key)
        .json(&json!({"config": {"password": secret("v6")}}))
        .send()
        .await;
    // 6 pending, 5 current, 4 previous: all labelled, all kept beyond max_versions.
    assert_eq!(numbers(&history(&app, &key, id).await), [6, 5, 4]);
    rotate(&app, &key, id, &secret("v7")).await;
    // 7 current, 6 pending, 5 previous; 4 fell out.
    assert_eq!(numbers(&history(&app, &key, id).await), [7, 6, 5]);

    // Lowering max_versions applies at the next write that adds a version.
    let lowered = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"max_versions": 1, "config": {"password": secret("v8")}}))
        .send()
        .await;
    assert_eq!(lowered.status, 200, "{}", lowered.text);
    assert_eq!(numbers(&history(&app, &key, id).await), [8, 7, 6]);
    assert_eq!(version_items(&app, id).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_and_restore_are_guarded_and_audited() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (v1, v2, v3) = (secret("v1"), secret("v2"), secret("v3"));
    let created = app.create(&key, password_body("destroyed", &v1)).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/credentials/{id}");
    rotate(&app, &key, id, &v2).await;
    rotate(&app, &key, id, &v3).await;
    app.request("POST", &format!("{path}/versions"))
        .key(&key)
        .json(&json!({"config": {"password": secret("v4")}}))
        .send()
        .await;

    // Current (3) and pending (4) cannot be destroyed.
    for n in [3, 4] {
        app.request("DELETE", &format!("{path}/versions/{n}"))
            .key(&key)
            .send()
            .await
            .assert_error(409, "invalid_state");
    }
    for bad in ["0", "01", "x", "99", "-1"] {
        app.request("DELETE", &format!("{path}/versions/{bad}"))
            .key(&key)
            .send()
            .await
            .assert_error(404, "not_found");
    }
    // Destroying previous ends its grace at once; its metadata stays, marked.
    let destroyed = app
        .request("DELETE", &format!("{path}/versions/2"))
        .key(&key)
        .send()
        .await;
    assert_eq!(destroyed.status, 200, "{}", destroyed.text);
    resolve(&app, &key, id, json!({"stage": "previous"}))
        .await
        .assert_error(404, "not_found");
    resolve(&app, &key, id, json!({"version": 2}))
        .await
        .assert_error(409, "version_destroyed");
    let entry = history(&app, &key, id)
        .await
        .into_iter()
        .find(|v| v["version"] == 2)
        .unwrap();
    assert_eq!(entry["destroyed"], true);
    assert_eq!(entry["secret_fields"], json!([]));
    let item = version_items(&app, id)
        .await
        .into_iter()
        .find(|i| i["sk"].as_s().unwrap().ends_with("#0000000002"))
        .unwrap();
    assert!(!item.contains_key("secrets"), "the sealed data is gone");
    // Again: the same answer, nothing written.
    let version = destroyed.body["data"]["version"].clone();
    let again = app
        .request("DELETE", &format!("{path}/versions/2"))
        .key(&key)
        .send()
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["data"]["version"], version);
    // Restoring a destroyed version is refused; restoring version 1 copies it forward.
    app.request("POST", &format!("{path}/versions/2/restore"))
        .key(&key)
        .send()
        .await
        .assert_error(409, "version_destroyed");
    let restored = app
        .request("POST", &format!("{path}/versions/1/restore"))
        .key(&key)
        .send()
        .await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(restored.body["data"]["secret_version"], 5);
    let current = resolve(&app, &key, id, json!({})).await;
    assert_eq!(password_of(&current), v1);
    assert_eq!(current.body["data"]["secret_version"], 5);
    assert_eq!(
        password_of(&resolve(&app, &key, id, json!({"stage": "previous"})).await),
        v3
    );

    // Each change is one audit event naming the version.
    let events = app
        .request(
            "GET",
            &format!("/api/audit-events?credential_id={id}&limit=100"),
        )
        .key(&key)
        .send()
        .await;
    let seen: Vec<(String, Value)> = events.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] != "credential.resolved")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["secret_version"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("credential.version_restored".to_owned(), json!(5)),
            ("credential.version_destroyed".to_owned(), json!(2)),
            ("credential.secret_staged".to_owned(), json!(4)),
            ("credential.updated".to_owned(), json!(3)),
            ("credential.updated".to_owned(), json!(2)),
            ("credential.created".to_owned(), json!(1)),
        ]
    );
    for canary in [&v1, &v2, &v3] {
        assert!(!events.text.contains(canary.as_str()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_version_comes_back_with_the_destination_it_was_sealed_for() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (first, second) = (secret("first"), secret("second"));
    let created = app.create(&key, password_body("moved", &first)).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/credentials/{id}");
    let moved = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"config": {"host": "db2.example.com", "password": second}}))
        .send()
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    // Version 1 by number: its own host, never the new one.
    let old = resolve(&app, &key, id, json!({"version": 1})).await;
    assert_eq!(password_of(&old), first);
    assert_eq!(old.body["data"]["config"]["host"], "db.example.com");
    // Promoting it brings its host back with it.
    let promoted = app
        .request("POST", &format!("{path}/versions/1/promote"))
        .key(&key)
        .send()
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.text);
    assert_eq!(promoted.body["data"]["config"]["host"], "db.example.com");
    let current = resolve(&app, &key, id, json!({})).await;
    assert_eq!(password_of(&current), first);
    assert_eq!(current.body["data"]["config"]["host"], "db.example.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_removes_every_version_and_history_pages() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app
        .create(&key, password_body("paged", &secret("v1")))
        .await;
    let id = created["id"].as_str().unwrap();
    for n in 2..=7 {
        rotate(&app, &key, id, &secret(&format!("v{n}"))).await;
    }
    // Pages of 3, newest first, each version once.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor
            .as_ref()
            .map_or(String::new(), |c| format!("&cursor={c}"));
        let page = app
            .request(
                "GET",
                &format!("/api/credentials/{id}/versions?limit=3{query}"),
            )
            .key(&key)
            .send()
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(numbers(page.body["data"].as_array().unwrap()));
        match page.body["meta"]["page"]["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, [7, 6, 5, 4, 3, 2, 1]);
    app.request("GET", &format!("/api/credentials/{id}/versions?cursor=07"))
        .key(&key)
        .send()
        .await
        .assert_error(400, "invalid_cursor");

    assert_eq!(version_items(&app, id).await.len(), 7);
    let purged = app
        .request("DELETE", &format!("/api/credentials/{id}/permanent"))
        .key(&key)
        .send()
        .await;
    assert_eq!(purged.status, 200, "{}", purged.text);
    assert!(version_items(&app, id).await.is_empty());
    app.request("GET", &format!("/api/credentials/{id}/versions"))
        .key(&key)
        .send()
        .await
        .assert_error(404, "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_version_change_writes_nothing() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app
        .create(&key, password_body("faulty", &secret("v1")))
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/credentials/{id}");
    rotate(&app, &key, id, &secret("v2")).await;
    let before = app.scan().await;
    app.calls.fail("DynamoDB.TransactWriteItems");
    for (method, route) in [
        ("POST", format!("{path}/versions/1/promote")),
        ("POST", format!("{path}/versions/1/restore")),
        ("DELETE", format!("{path}/versions/1")),
    ] {
        app.request(method, &route)
            .key(&key)
            .send()
            .await
            .assert_error(503, "service_unavailable");
    }
    app.request("POST", &format!("{path}/versions"))
        .key(&key)
        .json(&json!({"config": {"password": secret("v3")}}))
        .send()
        .await
        .assert_error(503, "service_unavailable");
    app.calls.heal();
    assert_eq!(
        app.scan().await,
        before,
        "a failed version change wrote something"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_written_before_versions_become_version_one_on_their_next_change() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (old, new) = (secret("legacy"), secret("new"));
    let created = app.create(&key, password_body("legacy", &old)).await;
    let id = created["id"].as_str().unwrap();
    // Make the item what an earlier release wrote: no version state, no version item.
    let item = app.credential_item(id).await;
    let client = aws_sdk_dynamodb::Client::new(&app.sdk);
    client
        .update_item()
        .table_name(&app.table)
        .key("pk", item["pk"].clone())
        .key("sk", item["sk"].clone())
        .update_expression(
            "REMOVE secret_version, latest_version, kept_versions, sealed_versions, rotated_at, rotation_grace_seconds, max_versions",
        )
        .send()
        .await
        .unwrap();
    for version in version_items(&app, id).await {
        client
            .delete_item()
            .table_name(&app.table)
            .key("pk", version["pk"].clone())
            .key("sk", version["sk"].clone())
            .send()
            .await
            .unwrap();
    }
    let legacy = resolve(&app, &key, id, json!({})).await;
    assert_eq!(password_of(&legacy), old);
    assert_eq!(legacy.body["data"]["secret_version"], 0);
    assert!(history(&app, &key, id).await.is_empty());

    let rotated = rotate(&app, &key, id, &new).await;
    assert_eq!(rotated.body["data"]["secret_version"], 2);
    assert_eq!(password_of(&resolve(&app, &key, id, json!({})).await), new);
    let previous = resolve(&app, &key, id, json!({"stage": "previous"})).await;
    assert_eq!(password_of(&previous), old);
    let adopted = history(&app, &key, id).await;
    assert_eq!(numbers(&adopted), [2, 1]);
    assert_eq!(adopted[1]["created_by"], "unrecorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn resolve_by_name_and_bad_selectors() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let password = secret("named");
    let created = app
        .create(&key, password_body("Orders DB", &password))
        .await;
    let id = created["id"].as_str().unwrap();

    // Names are unique case-insensitively: any spelling of it finds it.
    for name in ["Orders DB", "orders db", "ORDERS DB"] {
        let found = app
            .resolve_with(&key, None, json!({"purpose": "by-name", "name": name}))
            .await;
        assert_eq!(password_of(&found), password, "{name}");
        assert_eq!(found.body["data"]["id"], id);
    }
    app.resolve_with(
        &key,
        None,
        json!({"purpose": "by-name", "name": "Orders DB2"}),
    )
    .await
    .assert_error(404, "not_found");
    // Another workspace's name is not found either.
    let other = app.admin_key().await;
    app.resolve_with(
        &other,
        None,
        json!({"purpose": "by-name", "name": "Orders DB"}),
    )
    .await
    .assert_error(404, "not_found");
    // A path id and a name at once is ambiguous.
    app.resolve_with(&key, Some(id), json!({"purpose": "x", "name": "Orders DB"}))
        .await
        .assert_error(400, "validation_failed");

    for bad in [
        json!({"stage": "latest"}),
        json!({"stage": 1}),
        json!({"version": 0}),
        json!({"version": -1}),
        json!({"version": "1"}),
        json!({"version": 1, "stage": "current"}),
    ] {
        resolve(&app, &key, id, bad.clone())
            .await
            .assert_error(400, "validation_failed");
    }
    for bad in [
        json!({"rotation_grace_seconds": 604_801}),
        json!({"rotation_grace_seconds": -1}),
        json!({"max_versions": 0}),
        json!({"max_versions": 101}),
        json!({"max_versions": "10"}),
    ] {
        let mut body = password_body("bad-settings", &secret("x"));
        for (k, v) in bad.as_object().unwrap() {
            body[k] = v.clone();
        }
        app.request("POST", "/api/credentials")
            .key(&key)
            .json(&body)
            .send()
            .await
            .assert_error(400, "validation_failed");
    }
    app.request("DELETE", &format!("/api/credentials/{id}"))
        .key(&key)
        .send()
        .await;
    app.resolve_with(
        &key,
        None,
        json!({"purpose": "by-name", "name": "orders db"}),
    )
    .await
    .assert_error(409, "credential_deleted");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_promotes_with_one_etag_let_exactly_one_through() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app
        .create(&key, password_body("raced", &secret("v1")))
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/credentials/{id}");
    // 2 current, 1 previous, 3 pending: restoring 1 and promoting 3 race.
    rotate(&app, &key, &id, &secret("v2")).await;
    let staged = app
        .request("POST", &format!("{path}/versions"))
        .key(&key)
        .json(&json!({"config": {"password": secret("v3")}}))
        .send()
        .await;
    let etag = staged.header("etag").unwrap().to_owned();
    let mut tasks = Vec::new();
    for n in [1u64, 3, 1, 3, 1, 3, 1, 3] {
        let (app, key, path, etag) = (app.clone(), key.clone(), path.clone(), etag.clone());
        tasks.push(tokio::spawn(async move {
            let route = if n == 1 {
                format!("{path}/versions/1/restore")
            } else {
                format!("{path}/versions/3/promote")
            };
            app.request("POST", &route)
                .key(&key)
                .header("if-match", &etag)
                .send()
                .await
                .status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 412),
        "{statuses:?}"
    );
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(got.body["data"]["version"], 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn items_stay_under_dynamodbs_limit_with_the_largest_sealed_set() {
    use credentials_core::store::{item_size, MAX_ITEM_BYTES};
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app
        .create(&key, password_body("largest", &secret("p")))
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/credentials/{id}");
    // Undeclared fields (sealed) of 16 KiB, added until the credential item is full: 8 at
    // a time, then one at a time.
    let big = |n: usize| format!("{}{}", secret("big"), "x".repeat(16 * 1024 - 64 - n % 10));
    let (mut fields, mut writes) = (0, 0);
    for batch in [8, 8, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1] {
        let config: serde_json::Map<String, Value> = (fields..fields + batch)
            .map(|n| (format!("blob_{n}"), json!(big(n))))
            .collect();
        let answer = app
            .request("PUT", &path)
            .key(&key)
            .json(&json!({ "config": config }))
            .send()
            .await;
        if answer.status == 413 {
            if batch == 1 {
                break;
            }
            continue;
        }
        assert_eq!(answer.status, 200, "{}", answer.text);
        fields += batch;
        writes += 1;
    }
    let credential = item_size(&app.credential_item(id).await);
    let largest_version = version_items(&app, id)
        .await
        .iter()
        .map(item_size)
        .max()
        .unwrap();
    // A rotation of the small secret makes one more version holding the whole set.
    let rotated = rotate(&app, &key, id, &secret("p2")).await;
    let versions = version_items(&app, id).await;
    let after = versions.iter().map(item_size).max().unwrap();
    eprintln!(
        "{fields} fields of 16 KiB: credential item {credential} bytes, largest version item \
         {largest_version} bytes before the rotation, {after} after; limit {MAX_ITEM_BYTES}"
    );
    assert!(fields >= 20, "{fields}");
    assert!(credential <= MAX_ITEM_BYTES && after <= MAX_ITEM_BYTES);
    assert!(
        credential > MAX_ITEM_BYTES - 17 * 1024,
        "the credential is not full: {credential}"
    );
    // Every write of a secret made a version: create, each accepted batch, the rotation.
    assert_eq!(
        rotated.body["data"]["secret_version"].as_u64(),
        Some(writes + 2)
    );
}
