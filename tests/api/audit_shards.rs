//! A workspace's audit events are spread over eight partitions and listed merged: every
//! page newest first, every event once, with small pages, an action filter rarer than the
//! query bound, and the per-credential index.

use credentials_core::auth::Scope;
use credentials_core::store::{audit_partitions, AUDIT_SHARDS};
use serde_json::Value;
use test_harness::{database_body, unique, TestApp};

/// Every event id of the list `query` names, page by page (`limit` each), following the
/// cursors; and how many pages that took.
async fn ids(app: &TestApp, key: &str, query: &str, limit: usize) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for pages in 1.. {
        let mut path = format!("/api/audit-events?limit={limit}{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = app.request("GET", &path).key(key).send().await;
        assert_eq!(page.status, 200, "{}", page.text);
        let data = page.body["data"].as_array().unwrap();
        assert!(data.len() <= limit);
        ids.extend(data.iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        match page.body["meta"]["page"]["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (ids, pages),
        }
        assert!(pages < 500, "the cursors never end");
    }
    unreachable!()
}

#[tokio::test(flavor = "multi_thread")]
async fn events_spread_over_the_partitions_and_list_merged_newest_first() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app.key(&workspace, Scope::ALL).await;
    let created = app.create(&key, database_body("audited").0).await;
    let id = created["id"].as_str().unwrap();
    for i in 0..60 {
        let resolved = app.resolve(&key, id, &format!("pipeline:p/run-{i}")).await;
        assert_eq!(resolved.status, 200, "{}", resolved.text);
        if i == 30 {
            let deleted = app
                .request("DELETE", &format!("/api/credentials/{id}"))
                .key(&key)
                .send()
                .await;
            assert_eq!(deleted.status, 200);
            let restored = app
                .request("POST", &format!("/api/credentials/{id}/restore"))
                .key(&key)
                .send()
                .await;
            assert_eq!(restored.status, 200);
        }
    }
    // The stored events, and the partitions they went to.
    let items: Vec<_> = app
        .scan()
        .await
        .into_iter()
        .filter(|item| item["sk"].as_s().is_ok_and(|sk| sk.starts_with("EVT#")))
        .filter(|item| item["workspace_id"].as_s().is_ok_and(|ws| *ws == workspace))
        .collect();
    let mut own: Vec<String> = items
        .iter()
        .filter(|item| item.contains_key("credential_id"))
        .map(|item| item["id"].as_s().unwrap().clone())
        .collect();
    assert_eq!(
        own.len(),
        1 + 60 + 2,
        "created, 60 resolved, deleted, restored"
    );
    own.sort();
    own.reverse();
    let mut stored: Vec<(String, String)> = items
        .iter()
        .map(|item| {
            (
                item["id"].as_s().unwrap().clone(),
                item["pk"].as_s().unwrap().clone(),
            )
        })
        .collect();
    let partitions = audit_partitions(&workspace);
    assert!(stored.iter().all(|(_, pk)| partitions.contains(pk)));
    let used = partitions
        .iter()
        .filter(|p| stored.iter().any(|(_, pk)| pk == *p))
        .count();
    assert!(used >= AUDIT_SHARDS / 2, "63 events in {used} partitions");
    stored.sort();
    let newest_first: Vec<String> = stored.into_iter().rev().map(|(id, _)| id).collect();

    // Whole list, by pages of every size: each event once, newest first.
    for limit in [1, 7, 50, 100] {
        let (listed, _) = ids(&app, &key, "", limit).await;
        assert_eq!(listed, newest_first, "limit {limit}");
    }
    // A rare action: pages may come back short (the query bound), never out of order or
    // twice, and the cursors lead to every match.
    let (deleted, pages) = ids(&app, &key, "&action=credential.deleted", 1).await;
    assert_eq!(deleted.len(), 1);
    assert!(pages >= 1);
    let (resolved, _) = ids(&app, &key, "&action=credential.resolved", 3).await;
    assert_eq!(resolved.len(), 60);
    assert!(resolved.windows(2).all(|w| w[0] > w[1]), "newest first");
    // One credential's events: its index partition.
    let (listed_own, _) = ids(&app, &key, &format!("&credential_id={id}"), 9).await;
    assert_eq!(listed_own, own);
    // The calls: one round of one Query per partition, concurrently; by credential, one.
    app.calls.take();
    app.request("GET", "/api/audit-events?limit=100")
        .key(&key)
        .send()
        .await;
    let calls = app.calls.take();
    assert_eq!(calls.len(), 1 + AUDIT_SHARDS, "{calls:?}");
    assert!(
        calls[1..].iter().all(|c| c == "DynamoDB.Query"),
        "{calls:?}"
    );
    app.request("GET", &format!("/api/audit-events?credential_id={id}"))
        .key(&key)
        .send()
        .await;
    assert_eq!(app.calls.take()[1..], ["DynamoDB.Query"]);
    let first: Value = app
        .request("GET", "/api/audit-events?limit=1")
        .key(&key)
        .send()
        .await
        .body;
    assert_eq!(
        first["data"][0]["id"].as_str(),
        Some(newest_first[0].as_str())
    );
}
