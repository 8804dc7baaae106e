//! The audit trail: every change and every resolve leaves one event, written with the change
//! itself (or, for a resolve, before any secret is opened), carrying paths and never values,
//! readable by workspace and by credential after the credential is purged.

use credentials_core::audit::{Action, Actor, AuditEvent, RequestInfo};
use credentials_core::auth::Scope;
use futures::future::join_all;
use serde_json::{json, Value};
use test_harness::{secret, unique, TestApp};

/// Every event of the caller's workspace matching `query`, following cursors.
async fn all_events(app: &TestApp, key: &str, query: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/audit-events?{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.request("GET", &path).key(key).send().await;
        assert_eq!(page.status, 200, "{}", page.text);
        events.extend(page.body["data"].as_array().unwrap().iter().cloned());
        match page.body["meta"]["page"]["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return events,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lifecycle_leaves_six_events_in_order_without_a_value() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app.key(&workspace, Scope::ALL).await;
    let key_id = app.state.store.list_api_keys(&workspace).await.unwrap()[0]
        .key_id
        .clone();
    let (password, new_password) = (secret("pw"), secret("pw2"));
    let created = app
        .create(
            &key,
            json!({"name": "audited", "type": "database", "config": {
                "host": "db.example.com", "port": 5432, "password": password
            }}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/credentials/{id}");
    let updated = app
        .request("PUT", &path)
        .key(&key)
        .header("user-agent", "audit-test/1.0")
        .json(&json!({"config": {"password": new_password, "port": 6432}}))
        .send()
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    app.request("DELETE", &path).key(&key).send().await;
    // Deleting again changes nothing and records nothing.
    app.request("DELETE", &path).key(&key).send().await;
    app.request("POST", &format!("{path}/restore"))
        .key(&key)
        .send()
        .await;
    let resolved = app.resolve(&key, &id, "pipeline:audit/run-1").await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    // Resolved a moment ago: only a forced purge goes ahead.
    let purged = app.force_purge(&key, &id).await;
    assert_eq!(purged.status, 200, "{}", purged.text);

    // Readable after the purge, newest first.
    let events = all_events(&app, &key, &format!("credential_id={id}")).await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "credential.purged",
            "credential.resolved",
            "credential.restored",
            "credential.deleted",
            "credential.updated",
            "credential.created",
        ]
    );
    let versions: Vec<u64> = events
        .iter()
        .map(|e| e["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [4, 4, 4, 3, 2, 1]);
    for event in &events {
        assert_eq!(event["actor"], json!({"type": "api_key", "id": key_id}));
        assert_eq!(event["credential_id"], id.as_str());
        assert_eq!(event["credential_name"], "audited");
        assert!(event["id"].as_str().unwrap().starts_with("evt_"));
        assert!(event["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    }
    let changes = |i: usize| events[i]["changes"].clone();
    assert_eq!(
        changes(5),
        json!([
            "config.host",
            "config.password",
            "config.port",
            "name",
            "type"
        ])
    );
    assert_eq!(changes(4), json!(["config.password", "config.port"]));
    assert_eq!(events[4]["caller_asserted"]["user_agent"], "audit-test/1.0");
    assert_eq!(changes(3), json!(["deleted_at", "status"]));
    assert_eq!(changes(2), json!(["deleted_at", "status"]));
    assert_eq!(events[1]["purpose"], "pipeline:audit/run-1");
    assert_eq!(events[1]["caller_asserted"]["source_ip"], "10.0.0.1");
    assert_eq!(changes(0), json!([]));

    // No value in any stored event: not the secrets, not even the visible settings. Ids,
    // keys and times are left out of the text searched: random digits in them could
    // spell a port ("5432" in an id or an epoch) and fail the test by chance.
    const RANDOM: [&str; 14] = [
        "pk",
        "sk",
        "id",
        "gsi4pk",
        "gsi4sk",
        "workspace_id",
        "credential_id",
        "actor_id",
        "key_id",
        "at",
        "expires_at",
        "lambda_request_id",
        "request_id",
        "version",
    ];
    let stored: String = app
        .items("EVT#")
        .await
        .into_iter()
        .map(|mut item| {
            item.retain(|name, _| !RANDOM.contains(&name.as_str()));
            format!("{item:?}")
        })
        .collect();
    assert!(!stored.is_empty());
    for value in [&password, &new_password, "db.example.com", "6432", "5432"] {
        assert!(!stored.contains(value), "an event holds {value}");
    }
    // Filter by action; the workspace-wide list has them too.
    let deletes = all_events(&app, &key, "action=credential.deleted").await;
    assert_eq!(deletes.len(), 1);
    assert_eq!(all_events(&app, &key, "limit=2").await.len(), 7);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resolve_whose_event_cannot_be_written_opens_nothing() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body, password) = test_harness::database_body("fail-closed");
    let id = app.create(&key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.calls.take();
    app.calls.fail("DynamoDB.PutItem");
    let response = app.resolve(&key, &id, "pipeline:x").await;
    app.calls.heal();
    response.assert_error(503, "service_unavailable");
    assert!(!response.text.contains(&password));
    assert!(
        !app.calls.take().iter().any(|c| c == "KMS.Decrypt"),
        "a secret was opened without its audit event"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_change_leaves_no_event() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let id = app
        .create(
            &key,
            json!({"name": "kept", "type": "password", "config": {"password": secret("p")}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let events_before = app.items("EVT#").await.len();
    app.calls.fail("DynamoDB.TransactWriteItems");
    for (method, path) in [
        ("DELETE", format!("/api/credentials/{id}")),
        ("DELETE", format!("/api/credentials/{id}/permanent")),
    ] {
        app.request(method, &path)
            .key(&key)
            .send()
            .await
            .assert_error(503, "service_unavailable");
    }
    app.request("PUT", &format!("/api/credentials/{id}"))
        .key(&key)
        .json(&json!({"config": {"note": "x"}}))
        .send()
        .await
        .assert_error(503, "service_unavailable");
    app.calls.heal();
    assert_eq!(app.items("EVT#").await.len(), events_before);
}

#[tokio::test(flavor = "multi_thread")]
async fn events_are_per_workspace_and_need_the_audit_scope() {
    let app = TestApp::new().await;
    let key_a = app.admin_key().await;
    let key_b = app.admin_key().await;
    let id = app
        .create(
            &key_a,
            json!({"name": "a", "type": "password", "config": {"password": secret("p")}}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(all_events(&app, &key_b, &format!("credential_id={id}"))
        .await
        .is_empty());
    // B's own trail holds its key's creation only.
    let b_events = all_events(&app, &key_b, "").await;
    assert!(b_events.iter().all(|e| e["action"] == "api_key.created"));
    assert_eq!(b_events[0]["actor"], json!({"type": "admin"}));

    let workspace = unique("ws");
    let read_only = app
        .key(&workspace, &[Scope::Read, Scope::Write, Scope::Purge])
        .await;
    app.request("GET", "/api/audit-events")
        .key(&read_only)
        .send()
        .await
        .assert_error(403, "forbidden");
    for bad in [
        "action=credential.read",
        "credential_id=nope",
        "limit=0",
        "cursor=abc",
    ] {
        app.request("GET", &format!("/api/audit-events?{bad}"))
            .key(&key_a)
            .send()
            .await
            .assert_error(
                400,
                if bad.starts_with("cursor") {
                    "invalid_cursor"
                } else {
                    "invalid_query"
                },
            );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pagination_visits_each_of_a_thousand_events_once() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app.key(&workspace, Scope::ALL).await;
    let retention = credentials_core::audit::default_retention();
    for chunk in 0..20 {
        let events: Vec<AuditEvent> = (0..50)
            .map(|i| {
                let mut event = AuditEvent::for_api_key(
                    Action::ApiKeyRevoked,
                    &workspace,
                    &format!("key_{chunk}_{i}"),
                    std::time::SystemTime::now(),
                    retention,
                );
                event.actor = Actor::Admin;
                event.request = RequestInfo::default();
                event
            })
            .collect();
        join_all(events.iter().map(|e| app.state.store.put_event(e)))
            .await
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .expect("put events");
    }
    for limit in [100, 37] {
        let events = all_events(&app, &key, &format!("limit={limit}&action=api_key.revoked")).await;
        let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 1000, "limit {limit}");
        let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
        assert_eq!(unique.len(), 1000, "an event was visited twice");
        assert!(ids.windows(2).all(|w| w[0] > w[1]), "not newest first");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_answer_and_the_event_carry_one_request_id() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app.key(&workspace, Scope::ALL).await;
    let (body, _) = test_harness::database_body("one-id");
    let id = app.create(&key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An invocation whose event names no request id: one is made, once.
    let mut event = test_harness::resolve_event(&key, &id, "pipeline:x");
    event["requestContext"]
        .as_object_mut()
        .unwrap()
        .remove("requestId");
    let resolved = app.invoke("resolve-credential", &event).await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    let answered = resolved.header("x-request-id").unwrap().to_owned();
    let events = all_events(&app, &key, "action=credential.resolved").await;
    assert_eq!(events[0]["request_id"], answered.as_str());
}

/// An event's `request_id` is Lambda's own id of the invocation, which no caller chooses;
/// what the invoking event claims (its request id, source address, user agent) is kept
/// apart as caller-asserted, with bidirectional and other invisible characters removed.
/// A purpose carrying them is refused.
#[tokio::test(flavor = "multi_thread")]
async fn provenance_separates_lambdas_own_id_from_what_the_caller_asserts() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app.key(&workspace, Scope::ALL).await;
    let (body, _) = test_harness::database_body("provenance");
    let id = app.create(&key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut event = test_harness::resolve_event(&key, &id, "pipeline:x");
    event["requestContext"]["requestId"] = json!("forged-request-id");
    event["requestContext"]["http"]["sourceIp"] = json!("198.51.100.7");
    event["requestContext"]["http"]["userAgent"] = json!("good\u{202E}tneg-live");
    let resolved = app.invoke("resolve-credential", &event).await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    let events = all_events(&app, &key, "action=credential.resolved").await;
    let recorded = &events[0];
    let lambda_id = recorded["request_id"].as_str().unwrap();
    assert_ne!(lambda_id, "forged-request-id");
    assert_eq!(lambda_id.len(), 36, "a Lambda request id: {lambda_id}");
    assert_eq!(
        recorded["caller_asserted"],
        json!({"request_id": "forged-request-id", "source_ip": "198.51.100.7",
               "user_agent": "goodtneg-live"})
    );
    for purpose in [
        "pipeline:\u{202E}x",
        "pipeline:a\u{200B}b",
        "pipeline:\u{2066}x",
        // Separators that make a consumer look blank or like another (usage ledger).
        "pipeline:a\u{2028}/x",
        "\u{a0}/x",
        "pipeline:a\u{3000}/x",
    ] {
        let refused = app.resolve(&key, &id, purpose).await;
        refused.assert_error(400, "validation_failed");
        assert_eq!(refused.body["error"]["details"][0]["field"], "purpose");
    }
}
