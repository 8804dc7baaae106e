//! AWS calls per operation: deterministic, so asserted exactly (times live in `make bench`).

use std::sync::Arc;
use std::time::Duration;

use credentials_core::auth::KeyCache;
use credentials_core::auth::Scope;
use credentials_core::clock::ManualClock;
use credentials_core::store::USAGE_SHARDS;
use serde_json::json;
use std::time::SystemTime;
use test_harness::{assert_calls, database_body, secret, unique, TestApp};

const AUTH: &str = "DynamoDB.GetItem";

/// A test app as deployed (checked keys cached by the container) on a frozen clock, so
/// whether a resolve renews the credential's last-use mark (once a minute) or a key is
/// still cached never depends on how fast the test runs.
async fn as_deployed() -> TestApp {
    let mut app = TestApp::new().await;
    let mut state = (*app.state).clone();
    state.clock = ManualClock::at(SystemTime::now());
    state.keys = Arc::new(KeyCache::new(Duration::from_secs(60), state.clock.clone()));
    app.state = Arc::new(state);
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn each_route_stays_within_its_call_budget() {
    let app = as_deployed().await;
    let key = app.admin_key().await;
    let calls = app.calls.clone();
    calls.take();

    // create: the key lookup (first use), one data key, one transaction.
    let created = app.create(&key, database_body("budget").0).await;
    assert_eq!(
        calls.take(),
        [AUTH, "KMS.GenerateDataKey", "DynamoDB.TransactWriteItems"]
    );
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());

    // get with the key cached: one read.
    app.request("GET", &path).key(&key).send().await;
    assert_eq!(calls.take(), ["DynamoDB.GetItem"]);

    // resolve: one consistent read, the audit event's PutItem, then one Decrypt of the data
    // key (all secrets were set by one write, under one data key) alongside the usage
    // ledger's day item and, on a first resolve, the credential's last-use mark.
    let id = created["id"].as_str().unwrap();
    let resolved = app.resolve(&key, id, "budget").await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    let serial = ["DynamoDB.GetItem", "DynamoDB.PutItem"];
    let ledger = ["KMS.Decrypt", "DynamoDB.UpdateItem", "DynamoDB.UpdateItem"];
    assert_calls(calls.take(), &serial, &ledger);
    // Within the minute, the mark stands: one ledger write.
    let resolved = app.resolve(&key, id, "budget").await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    assert_calls(calls.take(), &serial, &ledger[..2]);

    // usage: the credential and its ledger's partitions (one Query page each), read
    // concurrently.
    let usage = app
        .request("GET", &format!("{path}/usage"))
        .key(&key)
        .send()
        .await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    let ledger_pages = ["DynamoDB.Query"; USAGE_SHARDS as usize];
    assert_calls(
        calls.take(),
        &[],
        &[&["DynamoDB.GetItem"][..], &ledger_pages].concat(),
    );

    // list: one Query per page.
    for i in 0..4 {
        app.create(&key, json!({"name": format!("p{i}"), "type": "password", "config": {"password": secret("p")}})).await;
    }
    calls.take();
    let page = app
        .request("GET", "/api/credentials?limit=2")
        .key(&key)
        .send()
        .await;
    assert_eq!(calls.take(), ["DynamoDB.Query"]);
    let cursor = page.body["meta"]["page"]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    app.request("GET", &format!("/api/credentials?limit=2&cursor={cursor}"))
        .key(&key)
        .send()
        .await;
    assert_eq!(calls.take(), ["DynamoDB.Query"]);

    // update without a secret change: no KMS call.
    app.request("PUT", &path)
        .key(&key)
        .json(&json!({"config": {"database": "d2"}}))
        .send()
        .await;
    assert_eq!(
        calls.take(),
        ["DynamoDB.GetItem", "DynamoDB.TransactWriteItems"]
    );
    // update of a secret: one data key.
    app.request("PUT", &path)
        .key(&key)
        .json(&json!({"config": {"password": secret("new")}}))
        .send()
        .await;
    assert_eq!(
        calls.take(),
        [
            "DynamoDB.GetItem",
            "KMS.GenerateDataKey",
            "DynamoDB.TransactWriteItems"
        ]
    );

    // Secret versions. Resolving another version than current reads its version item;
    // by name, the name's reservation first.
    let previous = app
        .resolve_with(
            &key,
            Some(id),
            json!({"purpose": "budget", "stage": "previous"}),
        )
        .await;
    assert_eq!(previous.status, 200, "{}", previous.text);
    assert_calls(
        calls.take(),
        &["DynamoDB.GetItem", "DynamoDB.GetItem", "DynamoDB.PutItem"],
        &ledger[..2],
    );
    let by_name = app
        .resolve_with(&key, None, json!({"purpose": "budget", "name": "budget"}))
        .await;
    assert_eq!(by_name.status, 200, "{}", by_name.text);
    assert_calls(
        calls.take(),
        &["DynamoDB.GetItem", "DynamoDB.GetItem", "DynamoDB.PutItem"],
        &ledger[..2],
    );
    // Staging a pending version: as an update of a secret.
    let staged = app
        .request("POST", &format!("{path}/versions"))
        .key(&key)
        .json(&json!({"config": {"password": secret("staged")}}))
        .send()
        .await;
    assert_eq!(staged.status, 201, "{}", staged.text);
    assert_eq!(
        calls.take(),
        [
            "DynamoDB.GetItem",
            "KMS.GenerateDataKey",
            "DynamoDB.TransactWriteItems"
        ]
    );
    let pending = staged.body["data"]["pending_secret_version"]
        .as_u64()
        .unwrap();
    // The history: the credential, one Query.
    app.request("GET", &format!("{path}/versions"))
        .key(&key)
        .send()
        .await;
    assert_eq!(calls.take(), ["DynamoDB.GetItem", "DynamoDB.Query"]);
    // Promote and restore: the credential, the version item, one transaction; no KMS call
    // (sealed data moves as it is).
    for route in [
        format!("{path}/versions/{pending}/promote"),
        format!("{path}/versions/1/restore"),
    ] {
        let answer = app.request("POST", &route).key(&key).send().await;
        assert_eq!(answer.status, 200, "{route}: {}", answer.text);
        assert_eq!(
            calls.take(),
            [
                "DynamoDB.GetItem",
                "DynamoDB.GetItem",
                "DynamoDB.TransactWriteItems"
            ],
            "{route}"
        );
    }
    // Destroy: the credential, one transaction.
    let destroyed = app
        .request("DELETE", &format!("{path}/versions/2"))
        .key(&key)
        .send()
        .await;
    assert_eq!(destroyed.status, 200, "{}", destroyed.text);
    assert_eq!(
        calls.take(),
        ["DynamoDB.GetItem", "DynamoDB.TransactWriteItems"]
    );

    // soft delete and restore: a read, then one transaction (the change and its audit
    // event).
    app.request("DELETE", &path).key(&key).send().await;
    assert_eq!(
        calls.take(),
        ["DynamoDB.GetItem", "DynamoDB.TransactWriteItems"]
    );
    let restored = app
        .request("POST", &format!("{path}/restore"))
        .key(&key)
        .send()
        .await;
    assert_eq!(
        calls.take(),
        ["DynamoDB.GetItem", "DynamoDB.TransactWriteItems"]
    );
    // The purge reads the usage ledger first: resolved a moment ago, it is refused...
    let refused = app
        .request("DELETE", &format!("{path}/permanent"))
        .key(&key)
        .send()
        .await;
    refused.assert_error(409, "credential_in_use");
    assert_calls(calls.take(), &["DynamoDB.GetItem"], &ledger_pages);
    // ...and forced with If-Match, it is the same read, queries and one transaction.
    let purged = app
        .request("DELETE", &format!("{path}/permanent?force=true"))
        .key(&key)
        .header("if-match", restored.header("etag").unwrap())
        .send()
        .await;
    assert_eq!(purged.status, 200, "{}", purged.text);
    let calls = calls.take();
    assert_eq!(
        calls.last().map(String::as_str),
        Some("DynamoDB.TransactWriteItems")
    );
    assert_calls(
        calls[..calls.len() - 1].to_vec(),
        &["DynamoDB.GetItem"],
        &ledger_pages,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotent_replay_makes_no_write_and_no_kms_call() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body, _) = database_body("replayed");
    let send = || {
        app.request("POST", "/api/credentials")
            .key(&key)
            .header("idempotency-key", "k-1")
            .json(&body)
            .send()
    };
    assert_eq!(send().await.status, 201);
    app.calls.take();
    let replay = send().await;
    assert_eq!(replay.status, 201);
    // The key lookup (uncached in tests) and the record read: nothing else.
    assert_eq!(app.calls.take(), [AUTH, "DynamoDB.GetItem"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_mid_request_answer_503_and_leave_nothing_half_written() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let kept = app.create(&key, database_body("kept").0).await;
    let path = format!("/api/credentials/{}", kept["id"].as_str().unwrap());
    let snapshot = app.scan().await;

    // The data key was made, the write fails: no credential, no name reserved.
    app.calls.fail("DynamoDB.TransactWriteItems");
    let (body, password) = database_body("half-made");
    let response = app
        .request("POST", "/api/credentials")
        .key(&key)
        .json(&body)
        .send()
        .await;
    response.assert_error(503, "service_unavailable");
    assert!(!response.text.contains(&password));
    // A rename whose transaction fails keeps the old name and leaves the new one free.
    app.request("PUT", &path)
        .key(&key)
        .json(&json!({"name": "moved", "config": {"password": secret("x")}}))
        .send()
        .await
        .assert_error(503, "service_unavailable");
    app.request("DELETE", &format!("{path}/permanent"))
        .key(&key)
        .send()
        .await
        .assert_error(503, "service_unavailable");

    app.request("DELETE", &path)
        .key(&key)
        .send()
        .await
        .assert_error(503, "service_unavailable");

    app.calls.fail("KMS.GenerateDataKey");
    app.request("POST", "/api/credentials")
        .key(&key)
        .json(&database_body("no-key").0)
        .send()
        .await
        .assert_error(503, "service_unavailable");

    app.calls.fail("DynamoDB.Query");
    app.request("GET", "/api/credentials")
        .key(&key)
        .send()
        .await
        .assert_error(503, "service_unavailable");

    app.calls.heal();
    let after = app.scan().await;
    assert_eq!(after, snapshot, "a failed request changed the table");
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(got.body["data"], kept);
    app.create(&key, database_body("moved").0).await;
    app.create(&key, database_body("half-made").0).await;
}

/// A key the container has not checked yet: a request that names a credential reads the
/// key and the credential in one `BatchGetItem` (a key that names its workspace); a key
/// minted before keys named their workspace takes two reads, as before.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_cache_miss_reads_key_and_credential_in_one_round_trip() {
    let app = as_deployed().await;
    let key = app.admin_key().await;
    let created = app.create(&key, database_body("cold").0).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/credentials/{id}");
    let workspace = credentials_core::auth::key_workspace(&key)
        .unwrap()
        .to_owned();

    // get, and resolve, with keys this container never checked.
    let fresh = app.key(&workspace, &[Scope::Read]).await;
    app.calls.take();
    let got = app.request("GET", &path).key(&fresh).send().await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(app.calls.take(), ["DynamoDB.BatchGetItem"]);
    let resolver = app.key(&workspace, &[Scope::Resolve]).await;
    app.calls.take();
    let resolved = app.resolve(&resolver, id, "pipeline:cold/run-1").await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    assert_calls(
        app.calls.take(),
        &["DynamoDB.BatchGetItem", "DynamoDB.PutItem"],
        &["KMS.Decrypt", "DynamoDB.UpdateItem", "DynamoDB.UpdateItem"],
    );
    // Usage and the version history: the key and the credential, then the route's Queries.
    let reader = app.key(&workspace, &[Scope::Read]).await;
    app.calls.take();
    let usage = app
        .request("GET", &format!("{path}/usage"))
        .key(&reader)
        .send()
        .await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    assert_calls(
        app.calls.take(),
        &["DynamoDB.BatchGetItem"],
        &["DynamoDB.Query"; USAGE_SHARDS as usize],
    );
    let reader = app.key(&workspace, &[Scope::Read]).await;
    app.calls.take();
    let history = app
        .request("GET", &format!("{path}/versions"))
        .key(&reader)
        .send()
        .await;
    assert_eq!(history.status, 200, "{}", history.text);
    assert_eq!(
        app.calls.take(),
        ["DynamoDB.BatchGetItem", "DynamoDB.Query"]
    );
    // Stage and promote a version: the key and the credential, then as with a cached key.
    let stager = app.key(&workspace, &[Scope::Write]).await;
    app.calls.take();
    let staged = app
        .request("POST", &format!("{path}/versions"))
        .key(&stager)
        .json(&json!({"config": {"password": secret("cold-staged")}}))
        .send()
        .await;
    assert_eq!(staged.status, 201, "{}", staged.text);
    assert_eq!(
        app.calls.take(),
        [
            "DynamoDB.BatchGetItem",
            "KMS.GenerateDataKey",
            "DynamoDB.TransactWriteItems"
        ]
    );
    let pending = staged.body["data"]["pending_secret_version"]
        .as_u64()
        .unwrap();
    let promoter = app.key(&workspace, &[Scope::Write]).await;
    app.calls.take();
    let promoted = app
        .request("POST", &format!("{path}/versions/{pending}/promote"))
        .key(&promoter)
        .send()
        .await;
    assert_eq!(promoted.status, 200, "{}", promoted.text);
    assert_eq!(
        app.calls.take(),
        [
            "DynamoDB.BatchGetItem",
            "DynamoDB.GetItem",
            "DynamoDB.TransactWriteItems"
        ]
    );
    // A write: the key and the credential, then the transaction.
    let writer = app.key(&workspace, &[Scope::Write]).await;
    app.calls.take();
    let deleted = app.request("DELETE", &path).key(&writer).send().await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(
        app.calls.take(),
        ["DynamoDB.BatchGetItem", "DynamoDB.TransactWriteItems"]
    );

    // The key is checked before anything of the credential is used: another workspace's
    // key naming this credential gets 404, an unknown key 401, a key without the scope 403.
    let stranger = app.key(&unique("ws"), &[Scope::Read]).await;
    app.request("GET", &path)
        .key(&stranger)
        .send()
        .await
        .assert_error(404, "not_found");
    let forged = format!("{}{}", &key[..key.len() - 4], "AAAA");
    app.request("GET", &path)
        .key(&forged)
        .send()
        .await
        .assert_error(401, "unauthorized");
    let no_scope = app.key(&workspace, &[Scope::Audit]).await;
    app.request("GET", &path)
        .key(&no_scope)
        .send()
        .await
        .assert_error(403, "forbidden");

    // A key in the older format (no workspace in it): its record, then the credential.
    let older = format!("cak_{}", "Q".repeat(43));
    let record = credentials_core::store::ApiKeyRecord {
        key_id: credentials_core::ids::new_key_id(),
        key_hash: credentials_core::auth::hash_key(&older),
        workspace_id: workspace.clone(),
        scopes: vec![Scope::Read],
        description: "older format".into(),
        created_at: "2026-01-01T00:00:00Z".into(),
        revoked_at: None,
    };
    let event = credentials_core::audit::AuditEvent::for_api_key(
        credentials_core::audit::Action::ApiKeyCreated,
        &workspace,
        &record.key_id,
        SystemTime::now(),
        Duration::from_secs(86_400),
    );
    app.state.store.put_api_key(&record, &event).await.unwrap();
    app.calls.take();
    let got = app.request("GET", &path).key(&older).send().await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(app.calls.take(), ["DynamoDB.GetItem", "DynamoDB.GetItem"]);

    // A record whose workspace is not the one its key names is no key (401), and its
    // read credential is not used: only this workspace's record could have been minted so.
    let misnamed = format!("cak_{}.{}", unique("other"), "R".repeat(43));
    let record = credentials_core::store::ApiKeyRecord {
        key_id: credentials_core::ids::new_key_id(),
        key_hash: credentials_core::auth::hash_key(&misnamed),
        ..record
    };
    let event = credentials_core::audit::AuditEvent::for_api_key(
        credentials_core::audit::Action::ApiKeyCreated,
        &workspace,
        &record.key_id,
        SystemTime::now(),
        Duration::from_secs(86_400),
    );
    app.state.store.put_api_key(&record, &event).await.unwrap();
    app.request("GET", &path)
        .key(&misnamed)
        .send()
        .await
        .assert_error(401, "unauthorized");
}
