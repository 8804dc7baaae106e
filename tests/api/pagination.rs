//! Cursor pagination: newest first, exact page boundaries, filters, and cursors that are a
//! position (the last id of a page) read only within the caller's workspace.

use std::collections::HashSet;

use serde_json::{json, Value};
use test_harness::{database_body, secret, TestApp, TestResponse};

/// Walks every page of `query` and returns the pages' ids.
async fn walk(app: &TestApp, key: &str, query: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/credentials?{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let response = app.request("GET", &path).key(key).send().await;
        assert_eq!(response.status, 200, "{}", response.text);
        let ids: Vec<String> = response.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        let meta_cursor = &response.body["meta"]["page"]["cursor"];
        // A non-null cursor never leads to an empty page.
        assert!(
            !ids.is_empty() || pages.is_empty(),
            "empty page after a cursor"
        );
        pages.push(ids);
        match meta_cursor {
            Value::Null => return pages,
            Value::String(next) => cursor = Some(next.clone()),
            other => panic!("cursor is {other}"),
        }
        assert!(pages.len() < 100, "pagination does not end");
    }
}

async fn create_typed(app: &TestApp, key: &str, name: &str, kind: &str) -> String {
    let body = match kind {
        "database" => database_body(name).0,
        _ => json!({"name": name, "type": "password", "config": {"password": secret("pw")}}),
    };
    app.create(key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_full_until_the_last_and_cover_everything_once() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(create_typed(&app, &key, &format!("cred-{i}"), "database").await);
    }
    let pages = walk(&app, &key, "limit=3").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    // Newest first: ids descend.
    let flat: Vec<String> = pages.concat();
    let mut expected = ids.clone();
    expected.sort();
    expected.reverse();
    assert_eq!(flat, expected);

    // Exactly divisible: the last full page carries no cursor.
    let pages = walk(&app, &key, "limit=7").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [7]);
    let pages = walk(&app, &key, "limit=1").await;
    assert_eq!(pages.len(), 7);

    // The default page size is 50 and is reported.
    let response = app
        .request("GET", "/api/credentials")
        .key(&key)
        .send()
        .await;
    assert_eq!(
        response.body["meta"],
        json!({"page": {"limit": 50, "cursor": null}})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_by_type_and_status_across_pages() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let mut databases = HashSet::new();
    let mut passwords = HashSet::new();
    for i in 0..5 {
        databases.insert(create_typed(&app, &key, &format!("db-{i}"), "database").await);
        passwords.insert(create_typed(&app, &key, &format!("pw-{i}"), "password").await);
    }
    // Soft-delete two databases and one password.
    let deleted: Vec<String> = databases
        .iter()
        .take(2)
        .chain(passwords.iter().take(1))
        .cloned()
        .collect();
    for id in &deleted {
        let response = app
            .request("DELETE", &format!("/api/credentials/{id}"))
            .key(&key)
            .send()
            .await;
        assert_eq!(response.status, 200);
    }
    let collect = |pages: Vec<Vec<String>>| pages.concat().into_iter().collect::<HashSet<_>>();

    let active_db = collect(walk(&app, &key, "type=database&limit=2").await);
    let expected: HashSet<_> = databases
        .iter()
        .filter(|id| !deleted.contains(id))
        .cloned()
        .collect();
    assert_eq!(active_db, expected);

    let deleted_db = collect(walk(&app, &key, "type=database&status=deleted&limit=1").await);
    assert_eq!(
        deleted_db,
        databases
            .iter()
            .filter(|id| deleted.contains(id))
            .cloned()
            .collect()
    );

    let all_deleted = collect(walk(&app, &key, "status=deleted&limit=2").await);
    assert_eq!(all_deleted, deleted.iter().cloned().collect());

    let all_active = collect(walk(&app, &key, "status=active&limit=4").await);
    assert_eq!(all_active.len(), 7);
    assert!(all_active.is_disjoint(&all_deleted));

    // Every listed item matches its filter.
    let response = app
        .request("GET", "/api/credentials?type=password&status=deleted")
        .key(&key)
        .send()
        .await;
    for item in response.body["data"].as_array().unwrap() {
        assert_eq!(item["type"], "password");
        assert_eq!(item["status"], "deleted");
        assert!(item["deleted_at"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_survives_changes_behind_its_cursor() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    for i in 0..5 {
        create_typed(&app, &key, &format!("c-{i}"), "database").await;
    }
    let first = app
        .request("GET", "/api/credentials?limit=2")
        .key(&key)
        .send()
        .await;
    let cursor = first.body["meta"]["page"]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // The credential the cursor points at is deleted meanwhile.
    let last_id = first.body["data"][1]["id"].as_str().unwrap();
    app.request("DELETE", &format!("/api/credentials/{last_id}"))
        .key(&key)
        .send()
        .await;
    let second = app
        .request("GET", &format!("/api/credentials?limit=2&cursor={cursor}"))
        .key(&key)
        .send()
        .await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body["data"].as_array().unwrap().len(), 2);
}

fn assert_invalid(response: TestResponse, code: &str) {
    response.assert_error(400, code);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_is_a_position_in_the_callers_own_workspace_and_queries_are_checked() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let other = app.admin_key().await;
    let mut mine = Vec::new();
    let mut theirs = Vec::new();
    for i in 0..3 {
        mine.push(create_typed(&app, &key, &format!("c-{i}"), "database").await);
        theirs.push(create_typed(&app, &other, &format!("c-{i}"), "database").await);
    }
    let first = app
        .request("GET", "/api/credentials?limit=1")
        .key(&key)
        .send()
        .await;
    let cursor = first.body["meta"]["page"]["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    // The cursor is the id the page ended with: the newest credential.
    assert_eq!(cursor, mine[2]);
    let ids = |response: &TestResponse| -> Vec<String> {
        assert_eq!(response.status, 200, "{}", response.text);
        response.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect()
    };

    // In another workspace the same cursor is only a point in time: that key sees its own
    // credentials created before it, never one of this workspace.
    let elsewhere = app
        .request("GET", &format!("/api/credentials?cursor={cursor}"))
        .key(&other)
        .send()
        .await;
    assert_eq!(ids(&elsewhere), [theirs[1].clone(), theirs[0].clone()]);
    // Under another filter it continues that list from the same point.
    let deleted = app
        .request(
            "GET",
            &format!("/api/credentials?status=deleted&cursor={cursor}"),
        )
        .key(&key)
        .send()
        .await;
    assert!(ids(&deleted).is_empty());
    let by_type = app
        .request(
            "GET",
            &format!("/api/credentials?type=database&cursor={cursor}"),
        )
        .key(&key)
        .send()
        .await;
    assert_eq!(ids(&by_type), [mine[1].clone(), mine[0].clone()]);
    // Anything but a credential id is refused.
    let event_like = cursor.replacen("cred_", "evt_", 1);
    for junk in [
        event_like.as_str(),
        &cursor.to_uppercase(),
        &format!("{cursor}0"),
        "garbage",
        "",
        "%00",
        "eyJ9",
        &"A".repeat(2000),
    ] {
        assert_invalid(
            app.request("GET", &format!("/api/credentials?cursor={junk}"))
                .key(&key)
                .send()
                .await,
            "invalid_cursor",
        );
    }
    // Same workspace, same filter: it works.
    let second = app
        .request("GET", &format!("/api/credentials?limit=1&cursor={cursor}"))
        .key(&key)
        .send()
        .await;
    assert_eq!(second.status, 200);

    for query in [
        "limit=0",
        "limit=101",
        "limit=abc",
        "limit=-1",
        "limit=1.5",
        "status=gone",
        "type=ftp",
        "sort=name",
        "limit=1&limit=2",
    ] {
        assert_invalid(
            app.request("GET", &format!("/api/credentials?{query}"))
                .key(&key)
                .send()
                .await,
            "invalid_query",
        );
    }
    let max = app
        .request("GET", "/api/credentials?limit=100")
        .key(&key)
        .send()
        .await;
    assert_eq!(max.status, 200);
}
