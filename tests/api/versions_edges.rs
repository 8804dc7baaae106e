//! Secret versions at their edges: purge leaves no version behind, a failed change writes
//! nothing, concurrent promotes let one through, secrets written before versions, by-name
//! and bad selectors, and the largest items.

use serde_json::{json, Value};
use test_harness::{secret, TestApp};

use crate::versions::{
    history, numbers, password_body, password_of, resolve, rotate, version_items,
};

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
