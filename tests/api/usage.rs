//! The usage ledger: who resolves a credential and when (`GET …/usage`), refusals of a
//! soft-deleted one, the purge that refuses while it is in use, and `unused_since`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use credentials_core::auth::Scope;
use credentials_core::clock::{Clock, ManualClock};
use serde_json::{json, Value};
use test_harness::{database_body, unique, TestApp, TestResponse};

const DAY: u64 = 86_400;

/// A test app whose clock the test moves, at a fixed instant (02:00 UTC on its day).
async fn with_clock() -> (TestApp, Arc<ManualClock>) {
    let mut app = TestApp::new().await;
    let start = 1_800_000_000 - 1_800_000_000 % DAY + 2 * 3_600;
    let clock = ManualClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(start));
    let mut state = (*app.state).clone();
    state.clock = clock.clone();
    app.state = Arc::new(state);
    (app, clock)
}

/// The workspace of `key` (from its record).
async fn workspace_of(app: &TestApp, key: &str) -> String {
    let hash = credentials_core::auth::hash_key(key);
    app.state
        .store
        .get_api_key(&hash)
        .await
        .unwrap()
        .unwrap()
        .workspace_id
}

async fn created(app: &TestApp, key: &str, name: &str) -> String {
    let created = app.create(key, database_body(name).0).await;
    created["id"].as_str().unwrap().to_owned()
}

async fn usage(app: &TestApp, key: &str, id: &str) -> Value {
    let answer = app
        .request("GET", &format!("/api/credentials/{id}/usage"))
        .key(key)
        .send()
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["data"].clone()
}

async fn resolved(app: &TestApp, key: &str, id: &str, purpose: &str) {
    let answer = app.resolve(key, id, purpose).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

async fn purge(
    app: &TestApp,
    key: &str,
    id: &str,
    query: &str,
    etag: Option<&str>,
) -> TestResponse {
    let mut request = app
        .request("DELETE", &format!("/api/credentials/{id}/permanent{query}"))
        .key(key);
    if let Some(etag) = etag {
        request = request.header("if-match", etag);
    }
    request.send().await
}

#[tokio::test(flavor = "multi_thread")]
async fn two_pipelines_show_as_two_consumers_and_a_deleted_credential_shows_its_casualties() {
    let (app, clock) = with_clock().await;
    let key = app.admin_key().await;
    let id = created(&app, &key, &unique("shared")).await;
    let never = usage(&app, &key, &id).await;
    assert_eq!(never["last_resolved_at"], Value::Null);
    assert_eq!(never["consumers"], json!([]));

    resolved(&app, &key, &id, "pipeline:orders-nightly/run-41").await;
    clock.advance(Duration::from_secs(90));
    resolved(&app, &key, &id, "pipeline:orders-nightly/run-42").await;
    clock.advance(Duration::from_secs(5));
    resolved(&app, &key, &id, "pipeline:billing/run-7").await;
    let seen = usage(&app, &key, &id).await;
    assert_eq!(seen["credential_id"], id.as_str());
    assert_eq!(seen["resolves_24h"], 3);
    assert_eq!(seen["resolves_30d"], 3);
    assert_eq!(seen["last_purpose"], "pipeline:billing/run-7");
    let consumers: Vec<_> = seen["consumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["consumer"].as_str().unwrap(),
                c["resolves_24h"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        consumers,
        [("pipeline:billing", 1), ("pipeline:orders-nightly", 2)],
        "the most recently seen first"
    );
    assert_eq!(
        seen["consumers"][1]["last_purpose"],
        "pipeline:orders-nightly/run-42"
    );
    assert_eq!(
        seen["consumers"][1]["last_seen_at"],
        seen["consumers"][1]["last_resolved_at"]
    );

    // Soft deleted, a pipeline that still resolves it is refused, and that is recorded.
    let deleted = app
        .request("DELETE", &format!("/api/credentials/{id}"))
        .key(&key)
        .send()
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    clock.advance(Duration::from_secs(60));
    let refused = app
        .resolve(&key, &id, "pipeline:orders-nightly/run-43")
        .await;
    refused.assert_error(409, "credential_deleted");
    let after = usage(&app, &key, &id).await;
    let orders = &after["consumers"][0];
    assert_eq!(orders["consumer"], "pipeline:orders-nightly");
    assert_eq!(orders["refusals_30d"], 1);
    assert_eq!(orders["last_refused_at"], after["last_refused_at"]);
    assert_eq!(orders["last_seen_at"], orders["last_refused_at"]);
    assert_ne!(after["last_refused_at"], Value::Null);
    let events = app
        .request(
            "GET",
            &format!("/api/audit-events?credential_id={id}&action=credential.resolve_refused"),
        )
        .key(&key)
        .send()
        .await;
    assert_eq!(
        events.body["data"][0]["purpose"],
        "pipeline:orders-nightly/run-43"
    );

    // Windows are whole hours and days: a day later none is within 24 hours.
    clock.advance(Duration::from_secs(DAY));
    let later = usage(&app, &key, &id).await;
    assert_eq!(
        (
            later["resolves_24h"].as_u64(),
            later["resolves_30d"].as_u64()
        ),
        (Some(0), Some(3))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_purge_is_refused_while_in_use_until_forced_with_if_match() {
    let (app, clock) = with_clock().await;
    let key = app.admin_key().await;

    // Never resolved: purged at once.
    let idle = created(&app, &key, &unique("idle")).await;
    assert_eq!(purge(&app, &key, &idle, "", None).await.status, 200);

    let id = created(&app, &key, &unique("busy")).await;
    resolved(&app, &key, &id, "pipeline:orders-nightly/run-1").await;
    // A key that may purge but not read learns that it is in use, not who uses it.
    let purge_only = app
        .key(&workspace_of(&app, &key).await, &[Scope::Purge])
        .await;
    let blind = purge(&app, &purge_only, &id, "", None).await;
    blind.assert_error(409, "credential_in_use");
    assert_eq!(
        blind.body["error"]["details"],
        json!([{"field": "last_resolved_at", "issue": "within the purge quiet period"}])
    );
    let refused = purge(&app, &key, &id, "", None).await;
    refused.assert_error(409, "credential_in_use");
    let detail = &refused.body["error"]["details"][0];
    assert_eq!(detail["field"], "consumer");
    assert_eq!(detail["consumer"], "pipeline:orders-nightly");
    assert!(detail["last_resolved_at"].is_string(), "{detail}");
    // Forcing needs If-Match naming the version (not `*`), which must be current.
    purge(&app, &key, &id, "?force=true", None)
        .await
        .assert_error(428, "precondition_required");
    purge(&app, &key, &id, "?force=true", Some("*"))
        .await
        .assert_error(428, "precondition_required");
    purge(&app, &key, &id, "?force=true", Some("\"99\""))
        .await
        .assert_error(412, "precondition_failed");
    purge(&app, &key, &id, "?force=maybe", Some("\"1\""))
        .await
        .assert_error(400, "invalid_query");
    // Nothing was written by the refusals: the credential is still there.
    let get = app
        .request("GET", &format!("/api/credentials/{id}"))
        .key(&key)
        .send()
        .await;
    assert_eq!(get.status, 200);
    let forced = purge(&app, &key, &id, "?force=true", get.header("etag")).await;
    assert_eq!(forced.status, 200, "{}", forced.text);
    let events = app
        .request(
            "GET",
            &format!("/api/audit-events?credential_id={id}&action=credential.purged"),
        )
        .key(&key)
        .send()
        .await;
    assert_eq!(events.body["data"][0]["forced"], true);
    // A purge of an idle credential records no override.
    let idle_events = app
        .request(
            "GET",
            &format!("/api/audit-events?credential_id={idle}&action=credential.purged"),
        )
        .key(&key)
        .send()
        .await;
    assert!(idle_events.body["data"][0].get("forced").is_none());

    // Past the quiet period (7 days), a credential last resolved before it purges unforced.
    let quiet = created(&app, &key, &unique("quiet")).await;
    resolved(&app, &key, &quiet, "pipeline:once/run-1").await;
    clock.advance(Duration::from_secs(7 * DAY - 1));
    purge(&app, &key, &quiet, "", None)
        .await
        .assert_error(409, "credential_in_use");
    clock.advance(Duration::from_secs(2));
    assert_eq!(purge(&app, &key, &quiet, "", None).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_concurrent_resolves_of_one_credential_all_succeed_and_are_counted() {
    let (app, _clock) = with_clock().await;
    let key = app.admin_key().await;
    let id = created(&app, &key, &unique("hot")).await;
    let resolves = (0..50).map(|i| {
        let (app, key, id) = (app.clone(), key.clone(), id.clone());
        tokio::spawn(async move {
            app.resolve(&key, &id, &format!("pipeline:p{}/run-{i}", i % 5))
                .await
                .status
        })
    });
    let statuses: Vec<u16> = futures::future::join_all(resolves)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(statuses, vec![200; 50]);
    let seen = usage(&app, &key, &id).await;
    assert_eq!(seen["resolves_24h"], 50);
    assert_eq!(seen["consumers"].as_array().unwrap().len(), 5);
    for consumer in seen["consumers"].as_array().unwrap() {
        assert_eq!(consumer["resolves_24h"], 10, "{consumer}");
    }
}

fn listed(page: &TestResponse) -> Vec<String> {
    assert_eq!(page.status, 200, "{}", page.text);
    page.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn unused_since_lists_the_idle_ones_through_the_last_use_index() {
    let (app, clock) = with_clock().await;
    let key = app.admin_key().await;
    let a = created(&app, &key, "a-never").await;
    let b = created(&app, &key, "b-early").await;
    let c = created(&app, &key, "c-late").await;
    let _ = a;
    let day = |clock: &ManualClock| credentials_core::clock::rfc3339(clock.now())[..10].to_owned();
    let created_on = day(&clock);
    clock.advance(Duration::from_secs(DAY)); // the next day
    resolved(&app, &key, &b, "pipeline:b/run-1").await;
    let b_on = day(&clock);
    clock.advance(Duration::from_secs(DAY)); // the day after
    resolved(&app, &key, &c, "pipeline:c/run-1").await;
    let c_on = day(&clock);
    clock.advance(Duration::from_secs(DAY));
    let tomorrow = day(&clock);
    let list = |query: String| {
        let (app, key) = (app.clone(), key.clone());
        async move {
            app.request("GET", &format!("/api/credentials?{query}"))
                .key(&key)
                .send()
                .await
        }
    };
    // Not resolved since the day b was: only the one never resolved.
    assert_eq!(
        listed(&list(format!("unused_since={b_on}")).await),
        ["a-never"]
    );
    assert_eq!(
        listed(&list(format!("unused_since={created_on}")).await),
        ["a-never"]
    );
    // Since the day c was: never first, then the longest unused.
    assert_eq!(
        listed(&list(format!("unused_since={c_on}")).await),
        ["a-never", "b-early"]
    );
    let everything = format!("unused_since={tomorrow}");
    assert_eq!(
        listed(&list(everything.clone()).await),
        ["a-never", "b-early", "c-late"]
    );
    // Page by page through its own cursors.
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("{everything}&limit=1&cursor={c}"),
            None => format!("{everything}&limit=1"),
        };
        let page = list(query).await;
        names.extend(listed(&page));
        match page.body["meta"]["page"]["cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(names, ["a-never", "b-early", "c-late"]);
    // Every cursor the contract allows is a position in either list: a bare id here is
    // that credential's place among the never resolved (the plain list's first page ends
    // with the newest, c), and this list's cursor in the plain list is its id.
    let plain = list("limit=1".to_owned()).await;
    let plain_cursor = plain.body["meta"]["page"]["cursor"].as_str().unwrap();
    assert_eq!(plain_cursor, c.as_str());
    assert_eq!(
        listed(&list(format!("{everything}&cursor={plain_cursor}")).await),
        ["b-early", "c-late"]
    );
    let b_cursor = format!("{}.{b}", b_on.replace('-', "").to_owned() + "000000");
    assert_eq!(
        listed(&list(format!("limit=5&cursor={b_cursor}")).await),
        ["a-never"],
        "newest first after b: a"
    );
    list(format!("{everything}&cursor=1.{c}"))
        .await
        .assert_error(400, "invalid_cursor");
    // Bad dates, and date-times (some once panicked), are 400.
    for bad in [
        "yesterday",
        "2026-02-30",
        "9999-12-31T23:59:59-00:01",
        "0000-01-01T00:00:00%2B00:01",
    ] {
        list(format!("unused_since={bad}"))
            .await
            .assert_error(400, "invalid_query");
    }
    // With type and status: a soft-deleted credential is listed under its status.
    let deleted = app
        .request("DELETE", &format!("/api/credentials/{c}"))
        .key(&key)
        .send()
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(
        listed(&list(everything.clone()).await),
        ["a-never", "b-early"]
    );
    assert_eq!(
        listed(&list(format!("{everything}&status=deleted&type=database")).await),
        ["c-late"]
    );
    assert_eq!(
        listed(&list(format!("{everything}&type=password")).await),
        Vec::<String>::new()
    );
}
