//! Optimistic concurrency (ETag / If-Match) and idempotent create (Idempotency-Key).

use credentials_core::auth::Scope;
use futures::future::join_all;
use serde_json::json;
use test_harness::{database_body, secret, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn etags_follow_versions_and_if_match_guards_every_write() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app
        .request("POST", "/api/credentials")
        .key(&key)
        .json(&database_body("tagged").0)
        .send()
        .await;
    assert_eq!(created.header("etag"), Some("\"1\""));
    let path = format!(
        "/api/credentials/{}",
        created.body["data"]["id"].as_str().unwrap()
    );
    assert_eq!(
        app.request("GET", &path)
            .key(&key)
            .send()
            .await
            .header("etag"),
        Some("\"1\"")
    );

    // A stale tag, a tag that cannot be ours (`"03"` is not `"1"`'s spelling: strong
    // comparison is exact) or a header that is no entity tag at all changes nothing: 412 on
    // every write, restore included.
    for tag in [
        "",
        " ",
        "garbage",
        "1",
        "\"1",
        "W/",
        "\"1\" \"1\"",
        "\"7\"",
        "\"0\"",
        "\"x\"",
        "\"01\"",
        "\"+1\"",
        "\"\"",
    ] {
        let update = app
            .request("PUT", &path)
            .key(&key)
            .header("if-match", tag)
            .json(&json!({"config": {"database": "x"}}))
            .send()
            .await;
        update.assert_error(412, "precondition_failed");
        app.request("DELETE", &path)
            .key(&key)
            .header("if-match", tag)
            .send()
            .await
            .assert_error(412, "precondition_failed");
        app.request("DELETE", &format!("{path}/permanent"))
            .key(&key)
            .header("if-match", tag)
            .send()
            .await
            .assert_error(412, "precondition_failed");
        app.request("POST", &format!("{path}/restore"))
            .key(&key)
            .header("if-match", tag)
            .send()
            .await
            .assert_error(412, "precondition_failed");
    }
    let unchanged = app.request("GET", &path).key(&key).send().await;
    assert_eq!(unchanged.body["data"], created.body["data"]);

    // The current tag (strong or weak form) and `*` pass.
    let updated = app
        .request("PUT", &path)
        .key(&key)
        .header("if-match", "\"1\"")
        .json(&json!({"config": {"database": "x"}}))
        .send()
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.header("etag"), Some("\"2\""));
    assert_eq!(updated.body["data"]["version"], 2);
    // Strong comparison: a weak tag never matches, even the current version's.
    app.request("DELETE", &path)
        .key(&key)
        .header("if-match", "W/\"2\"")
        .send()
        .await
        .assert_error(412, "precondition_failed");
    // A list matches when it names the current version.
    let deleted = app
        .request("DELETE", &path)
        .key(&key)
        .header("if-match", "\"7\", \"2\"")
        .send()
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.header("etag"), Some("\"3\""));
    // Restore with a stale tag: 412 before the state check.
    app.request("POST", &format!("{path}/restore"))
        .key(&key)
        .header("if-match", "\"2\"")
        .send()
        .await
        .assert_error(412, "precondition_failed");
    let restored = app
        .request("POST", &format!("{path}/restore"))
        .key(&key)
        .header("if-match", "\"3\"")
        .send()
        .await;
    assert_eq!(restored.status, 200);
    assert_eq!(restored.header("etag"), Some("\"4\""));
    let purged = app
        .request("DELETE", &format!("{path}/permanent"))
        .key(&key)
        .header("if-match", "*")
        .send()
        .await;
    assert_eq!(purged.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_conflicting_updates_with_if_match_lose_nothing() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app.create(&key, database_body("contended").0).await;
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
    // Ten writers all read version 1 and each writes its own database name.
    let tasks = (0..10).map(|i| {
        let (app, key, path) = (app.clone(), key.clone(), path.clone());
        tokio::spawn(async move {
            let response = app
                .request("PUT", &path)
                .key(&key)
                .header("if-match", "\"1\"")
                .json(&json!({"config": {"database": format!("writer-{i}")}}))
                .send()
                .await;
            (i, response)
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners: Vec<_> = results.iter().filter(|(_, r)| r.status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        results.iter().map(|(_, r)| r.status).collect::<Vec<_>>()
    );
    for (_, response) in results.iter().filter(|(_, r)| r.status != 200) {
        response.assert_error(412, "precondition_failed");
    }
    // What the winner was told is what is stored: no update was lost or overwritten.
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(
        got.body["data"]["config"]["database"],
        format!("writer-{}", winners[0].0)
    );
    assert_eq!(got.body["data"]["version"], 2);
    assert_eq!(got.body["data"], winners[0].1.body["data"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn idempotent_create_replays_and_refuses_a_different_body() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body, password) = database_body("idempotent");
    let first = app
        .request("POST", "/api/credentials")
        .key(&key)
        .header("idempotency-key", "retry-1")
        .json(&body)
        .send()
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let items_after_first = app.scan().await.len();

    // Same key, same body (keys in another order): the first answer again, nothing written.
    let reordered: serde_json::Value = serde_json::from_str(&format!(
        r#"{{"config": {{"password": "{password}", "username": "etl", "database": "staging", "port": 5432, "host": "db.internal.example.com", "engine": "postgresql"}}, "type": "database", "name": "idempotent"}}"#
    ))
    .unwrap();
    let replay = app
        .request("POST", "/api/credentials")
        .key(&key)
        .header("idempotency-key", "retry-1")
        .json(&reordered)
        .send()
        .await;
    assert_eq!(replay.status, 201, "{}", replay.text);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(replay.header("location"), first.header("location"));
    assert_eq!(replay.header("etag"), Some("\"1\""));
    assert_eq!(app.scan().await.len(), items_after_first);
    assert!(!replay.text.contains(&password));

    // Same key, another body (even only another secret): 409.
    let mut other = body.clone();
    other["config"]["password"] = json!(secret("other"));
    let refused = app
        .request("POST", "/api/credentials")
        .key(&key)
        .header("idempotency-key", "retry-1")
        .json(&other)
        .send()
        .await;
    refused.assert_error(409, "idempotency_key_reused");

    // Records belong to the API key that made them: another key of the same workspace
    // with the same Idempotency-Key makes a request of its own, so a right guess of the body
    // (secret included) and a wrong one are answered alike (issue #19: no oracle).
    let workspace = app
        .state
        .store
        .get_api_key(&credentials_core::auth::hash_key(&key))
        .await
        .unwrap()
        .unwrap()
        .workspace_id;
    let colleague = app.key(&workspace, &[Scope::Write]).await;
    let right_guess = app
        .request("POST", "/api/credentials")
        .key(&colleague)
        .header("idempotency-key", "retry-1")
        .json(&body)
        .send()
        .await;
    let wrong_guess = app
        .request("POST", "/api/credentials")
        .key(&colleague)
        .header("idempotency-key", "retry-1")
        .json(&other)
        .send()
        .await;
    for answer in [&right_guess, &wrong_guess] {
        answer.assert_error(409, "name_taken");
        assert_eq!(answer.header("idempotent-replayed"), None);
    }

    // Keys are per workspace, and a new key is a new request.
    let other_ws = app.admin_key().await;
    let elsewhere = app
        .request("POST", "/api/credentials")
        .key(&other_ws)
        .header("idempotency-key", "retry-1")
        .json(&body)
        .send()
        .await;
    assert_eq!(elsewhere.status, 201);
    assert_ne!(elsewhere.body["data"]["id"], first.body["data"]["id"]);
    let fresh = app
        .request("POST", "/api/credentials")
        .key(&key)
        .header("idempotency-key", "retry-2")
        .json(&body)
        .send()
        .await;
    fresh.assert_error(409, "name_taken");

    // The record holds no secret, only a keyed fingerprint.
    let records = app.items("IDEM#").await;
    assert_eq!(records.len(), 2);
    for record in &records {
        assert!(record.contains_key("expires_at"));
        assert!(!format!("{record:?}").contains(&password));
        assert!(!record["sk"].as_s().unwrap().contains("retry-1"));
    }
    // Bad keys are refused before anything happens.
    for bad in ["", "has space", &"k".repeat(256)] {
        app.request("POST", "/api/credentials")
            .key(&key)
            .header("idempotency-key", bad)
            .json(&body)
            .send()
            .await
            .assert_error(400, "validation_failed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn concurrent_retries_with_one_key_create_exactly_one_credential() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body, _) = database_body("retried");
    let tasks = (0..10).map(|_| {
        let (app, key, body) = (app.clone(), key.clone(), body.clone());
        tokio::spawn(async move {
            app.request("POST", "/api/credentials")
                .key(&key)
                .header("idempotency-key", "one-key")
                .json(&body)
                .send()
                .await
        })
    });
    let responses: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for response in &responses {
        assert_eq!(response.status, 201, "{}", response.text);
        assert_eq!(response.body["data"]["id"], responses[0].body["data"]["id"]);
    }
    assert_eq!(app.items("CRED#").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_key_that_is_not_ascii_is_refused_not_ignored() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body, _) = test_harness::database_body("non-ascii-key");
    for raw in ["k\u{e9}y".as_bytes(), b"k\xe9y".as_slice()] {
        let response = app
            .request("POST", "/api/credentials")
            .key(&key)
            .raw_header("idempotency-key", raw)
            .json(&body)
            .send()
            .await;
        response.assert_error(400, "validation_failed");
        assert_eq!(
            response.body["error"]["details"][0]["field"],
            "header.Idempotency-Key"
        );
    }
    assert!(app.items("CRED#").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_body_is_400_whatever_if_match_says() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body, _) = test_harness::database_body("order");
    let id = app.create(&key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = app
        .request("PUT", &format!("/api/credentials/{id}"))
        .key(&key)
        .header("if-match", "\"99\"")
        .json(&json!({"config": {"port": "not a port"}}))
        .send()
        .await;
    response.assert_error(400, "validation_failed");
}
