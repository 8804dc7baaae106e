//! Secret versions: every write of a secret makes a version; `current`, `previous` (for the
//! grace window) and `pending` resolve by stage, any kept version by number; retention
//! deletes what falls out; promote, restore and destroy are guarded writes with their audit
//! event. Purge, failed and concurrent changes, selectors and item sizes are in
//! `versions_edges`, which shares this module's helpers.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use credentials_core::clock::ManualClock;
use serde_json::{json, Value};
use test_harness::{secret, TestApp, TestResponse};

pub(crate) fn password_body(name: &str, password: &str) -> Value {
    json!({"name": name, "type": "database", "config": {
        "engine": "postgresql", "host": "db.example.com", "port": 5432,
        "username": "etl", "password": password}})
}

pub(crate) async fn rotate(app: &TestApp, key: &str, id: &str, password: &str) -> TestResponse {
    let answer = app
        .request("PUT", &format!("/api/credentials/{id}"))
        .key(key)
        .json(&json!({"config": {"password": password}}))
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer
}

pub(crate) async fn resolve(app: &TestApp, key: &str, id: &str, selector: Value) -> TestResponse {
    let mut body = json!({"purpose": "versions-test"});
    for (k, v) in selector.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.resolve_with(key, Some(id), body).await
}

pub(crate) fn password_of(answer: &TestResponse) -> &str {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["data"]["config"]["password"].as_str().unwrap()
}

pub(crate) async fn history(app: &TestApp, key: &str, id: &str) -> Vec<Value> {
    let answer = app
        .request("GET", &format!("/api/credentials/{id}/versions?limit=100"))
        .key(key)
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["data"].as_array().unwrap().clone()
}

pub(crate) fn numbers(versions: &[Value]) -> Vec<u64> {
    versions
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect()
}

/// The version items of a credential in the table.
pub(crate) async fn version_items(app: &TestApp, id: &str) -> Vec<test_harness::Item> {
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
