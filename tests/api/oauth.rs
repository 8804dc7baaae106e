//! OAuth tokens the store keeps fresh, against a real token endpoint (Authlib, one process
//! per test): one refresh at a time across concurrent resolves, rotated refresh tokens never
//! lost, failures ending as an operator would want, the call budget, and what other
//! versions withhold. The keep-alive and the egress guard's refusals are in
//! `oauth_keep_alive`, which shares this module's helpers.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use credentials_core::clock::ManualClock;
use credentials_core::egress::{EgressGuard, EgressPolicy};
use serde_json::{json, Value};
use test_harness::logs::assert_not_logged;
use test_harness::oauth_server::OauthServer;
use test_harness::{assert_calls, secret, unique, TestApp, TestResponse};

/// A rotating client on `server` and an oauth credential holding its first refresh token.
pub(crate) async fn oauth_credential(
    app: &TestApp,
    key: &str,
    server: &OauthServer,
    client: Value,
) -> (String, String) {
    let client_id = unique("client");
    let client_secret = secret("client-secret");
    let mut registration = json!({"client_id": client_id, "client_secret": client_secret,
        "scopes": ["read", "write"], "rotate_refresh_tokens": true, "access_token_ttl": 3600});
    for (k, v) in client.as_object().unwrap() {
        registration[k] = v.clone();
    }
    let refresh_token = server.register(registration).await;
    let created = app
        .create(
            key,
            json!({"name": unique("oauth"), "type": "oauth", "config": {
                "client_id": client_id, "client_secret": client_secret,
                "token_url": server.token_url(), "refresh_token": refresh_token,
                "scopes": ["read", "write"]}}),
        )
        .await;
    (created["id"].as_str().unwrap().to_owned(), refresh_token)
}

pub(crate) async fn resolve(app: &TestApp, key: &str, id: &str, extra: Value) -> TestResponse {
    let mut body = json!({"purpose": "oauth-test"});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.resolve_with(key, Some(id), body).await
}

pub(crate) fn access_token(answer: &TestResponse) -> String {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["data"]["config"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// How many `credential.reauthorization_required` events the credential has (one page).
async fn reauthorization_events(app: &TestApp, key: &str, id: &str) -> usize {
    let events = app
        .request(
            "GET",
            &format!(
                "/api/audit-events?credential_id={id}&action=credential.reauthorization_required"
            ),
        )
        .key(key)
        .send()
        .await;
    events.body["data"].as_array().unwrap().len()
}

pub(crate) fn count(stats: &Value, name: &str) -> u64 {
    stats[name].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_concurrent_resolves_of_an_expiring_token_make_one_token_call() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let server = OauthServer::start().await;
    let (id, refresh_token) = oauth_credential(&app, &key, &server, json!({})).await;
    // The endpoint answers slowly, so that every resolve finds the refresh under way.
    server
        .fail(json!({"mode": "delay", "delay_ms": 500, "count": 1}))
        .await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (app, key, id) = (app.clone(), key.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            resolve(&app, &key, &id, json!({})).await
        }));
    }
    let mut tokens = Vec::new();
    for task in tasks {
        tokens.push(access_token(&task.await.unwrap()));
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "every resolve answers the one new token");
    let stats = server.stats().await;
    assert_eq!(count(&stats, "token_requests"), 1, "{stats}");
    assert_eq!(count(&stats, "successful_refreshes"), 1);

    // A fresh token is answered as stored: no call.
    let again = resolve(&app, &key, &id, json!({})).await;
    assert_eq!(access_token(&again), tokens[0]);
    assert_eq!(count(&server.stats().await, "token_requests"), 1);

    // What comes back, and what never does.
    let data = &again.body["data"];
    assert_eq!(data["secret_fields"], json!(["access_token"]));
    assert_eq!(data["config"]["token_type"], "Bearer");
    assert!(data["config"]["expires_at"].as_str().is_some());
    assert_eq!(data["config"]["scopes"], json!(["read", "write"]));
    assert_eq!(data["stale"], false);
    assert!(data["config"].get("client_secret").is_none());
    assert!(data["config"].get("refresh_token").is_none());
    assert!(!again.text.contains(&refresh_token));
    assert_not_logged(&tokens[0]);
    assert_not_logged(&refresh_token);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotating_provider_is_refreshed_a_hundred_times_without_a_spent_token() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let server = OauthServer::start().await;
    let (id, _) = oauth_credential(&app, &key, &server, json!({})).await;
    // Rounds of four concurrent forced refreshes: each round refreshes at least once, and
    // every caller gets a token the endpoint issued.
    let mut seen = std::collections::BTreeSet::new();
    let mut rounds = 0;
    while count(&server.stats().await, "successful_refreshes") < 100 {
        rounds += 1;
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (app, key, id) = (app.clone(), key.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                resolve(&app, &key, &id, json!({"force_refresh": true})).await
            }));
        }
        for task in tasks {
            seen.insert(access_token(&task.await.unwrap()));
        }
        assert!(rounds <= 100, "every round refreshes at least once");
    }
    let stats = server.stats().await;
    assert_eq!(count(&stats, "reused_refresh_tokens"), 0, "{stats}");
    assert_eq!(stats["errors"], json!({}), "{stats}");
    assert!(seen.len() as u64 <= count(&stats, "successful_refreshes"));
    // Each refresh is one audit event (a filtered page may be short: page through).
    let mut events = 0;
    let mut cursor = String::new();
    loop {
        let page = app
            .request(
                "GET",
                &format!(
                    "/api/audit-events?credential_id={id}&action=credential.token_refreshed&limit=100{cursor}"
                ),
            )
            .key(&key)
            .send()
            .await;
        events += page.body["data"].as_array().unwrap().len() as u64;
        match page.body["meta"]["page"]["cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(events, count(&stats, "successful_refreshes"));
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_grant_asks_for_reauthorization_until_new_refresh_material() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let server = OauthServer::start().await;
    let client_id_secret = json!({});
    let (id, _) = oauth_credential(&app, &key, &server, client_id_secret).await;
    server.fail(json!({"mode": "invalid_grant"})).await;
    resolve(&app, &key, &id, json!({}))
        .await
        .assert_error(409, "reauthorization_required");
    let path = format!("/api/credentials/{id}");
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(got.body["data"]["auth_status"], "reauthorization_required");
    let listed = app
        .request(
            "GET",
            "/api/credentials?auth_status=reauthorization_required",
        )
        .key(&key)
        .send()
        .await;
    let ids: Vec<&str> = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    // Until then, no call at all.
    let before = count(&server.stats().await, "token_requests");
    resolve(&app, &key, &id, json!({}))
        .await
        .assert_error(409, "reauthorization_required");
    assert_eq!(count(&server.stats().await, "token_requests"), before);
    // The pipeline still depends on it: that refusal is recorded (an event, the ledger).
    let refusals = app
        .request(
            "GET",
            &format!("/api/audit-events?credential_id={id}&action=credential.resolve_refused"),
        )
        .key(&key)
        .send()
        .await;
    assert_eq!(refusals.body["data"].as_array().unwrap().len(), 1);
    let usage = app
        .request("GET", &format!("{path}/usage"))
        .key(&key)
        .send()
        .await;
    assert_eq!(usage.body["data"]["refusals_30d"], 1, "{}", usage.text);

    // A new refresh token (another authorization) ends it.
    let client_id = got.body["data"]["config"]["client_id"].as_str().unwrap();
    let fresh = server
        .register(json!({"client_id": client_id, "client_secret": "unused",
            "scopes": ["read", "write"], "rotate_refresh_tokens": true}))
        .await;
    let updated = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"config": {"refresh_token": fresh, "client_secret": "unused-but-new-1"}}))
        .send()
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["data"]["auth_status"], "ok");
    // The client secret the server knows is "unused" now.
    let updated = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"config": {"client_secret": "unused"}}))
        .send()
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let ok = resolve(&app, &key, &id, json!({})).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(reauthorization_events(&app, &key, &id).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn callers_that_waited_on_a_refused_refresh_never_call_the_endpoint_again() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let server = OauthServer::start().await;
    let (client_id, client_secret) = (unique("client"), secret("client-secret"));
    let refresh_token = server
        .register(
            json!({"client_id": client_id, "client_secret": client_secret,
            "scopes": ["read"], "rotate_refresh_tokens": true}),
        )
        .await;
    let created = app
        .create(
            &key,
            json!({"name": unique("oauth"), "type": "oauth", "config": {
                "client_id": client_id, "client_secret": client_secret,
                "token_url": server.token_url(), "refresh_token": refresh_token}}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    // Someone else spends the stored refresh token; the endpoint then answers slowly, so
    // that every resolve finds the (doomed) refresh under way and waits for it.
    server
        .spend(&client_id, &client_secret, &refresh_token)
        .await;
    server
        .fail(json!({"mode": "delay", "delay_ms": 500, "count": 1}))
        .await;
    let before = count(&server.stats().await, "token_requests");
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (app, key, id) = (app.clone(), key.clone(), id.clone());
        tasks.push(tokio::spawn(async move {
            resolve(&app, &key, &id, json!({})).await
        }));
    }
    for task in tasks {
        task.await
            .unwrap()
            .assert_error(409, "reauthorization_required");
    }
    // One refused call; the waiters took the refusal from the token state.
    assert_eq!(count(&server.stats().await, "token_requests"), before + 1);
    assert_eq!(reauthorization_events(&app, &key, &id).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_serves_a_valid_token_stale_and_cools_down() {
    let mut app = TestApp::new().await;
    let clock = ManualClock::at(SystemTime::now());
    let mut state = (*app.state).clone();
    state.clock = clock.clone();
    app.state = Arc::new(state);
    let key = app.admin_key().await;
    let server = OauthServer::start().await;
    let (id, _) = oauth_credential(&app, &key, &server, json!({"access_token_ttl": 600})).await;
    let first = access_token(&resolve(&app, &key, &id, json!({})).await);

    // 429: the token stored is still valid (600 s), but not for the 900 s asked: stale.
    server
        .fail(json!({"mode": "status", "status": 429, "retry_after": 45}))
        .await;
    let stale = resolve(&app, &key, &id, json!({"min_ttl_seconds": 900})).await;
    assert_eq!(access_token(&stale), first);
    assert_eq!(stale.body["data"]["stale"], true);
    // During the cooldown (45 s, as the endpoint asked): no call.
    let calls = count(&server.stats().await, "token_requests");
    clock.advance(Duration::from_secs(44));
    let again = resolve(&app, &key, &id, json!({"min_ttl_seconds": 900})).await;
    assert_eq!(again.body["data"]["stale"], true);
    assert_eq!(count(&server.stats().await, "token_requests"), calls);
    // A 503 once the token has expired: nothing valid to serve.
    server.fail(json!({"mode": "status", "status": 503})).await;
    clock.advance(Duration::from_secs(600));
    let down = resolve(&app, &key, &id, json!({})).await;
    down.assert_error(503, "token_endpoint_unavailable");
    assert_eq!(down.header("retry-after"), Some("30"));
    // After the cooldown, the endpoint answers again.
    clock.advance(Duration::from_secs(31));
    let back = resolve(&app, &key, &id, json!({})).await;
    assert_ne!(access_token(&back), first);
    assert_eq!(back.body["data"]["stale"], false);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_endpoint_that_does_not_answer_in_time_is_a_cooldown() {
    let mut app = TestApp::new().await;
    let mut policy = EgressPolicy::local();
    policy.total_timeout = Duration::from_millis(500);
    app.state = Arc::new((*app.state).clone().with_egress(EgressGuard::new(policy)));
    let key = app.admin_key().await;
    let server = OauthServer::start().await;
    let (id, _) = oauth_credential(&app, &key, &server, json!({})).await;
    server
        .fail(json!({"mode": "delay", "delay_ms": 5000}))
        .await;
    let answer = resolve(&app, &key, &id, json!({})).await;
    answer.assert_error(503, "token_endpoint_unavailable");
    assert_eq!(answer.header("retry-after"), Some("30"));
}

#[tokio::test(flavor = "multi_thread")]
async fn client_credentials_and_an_endpoint_that_does_not_rotate() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let server = OauthServer::start().await;
    let client_id = unique("cc");
    let client_secret = secret("cc-secret");
    server
        .register(
            json!({"client_id": client_id, "client_secret": client_secret, "scopes": ["read"]}),
        )
        .await;
    let created = app
        .create(
            &key,
            json!({"name": unique("cc"), "type": "oauth", "config": {
                "client_id": client_id, "client_secret": client_secret,
                "token_url": server.token_url(), "grant_type": "client_credentials",
                "scopes": ["read"]}}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let answer = resolve(&app, &key, id, json!({})).await;
    access_token(&answer);
    assert_eq!(count(&server.stats().await, "client_credentials_grants"), 1);

    // A refresh answered without a refresh token keeps the one in use.
    let (id, _) =
        oauth_credential(&app, &key, &server, json!({"rotate_refresh_tokens": false})).await;
    server.fail(json!({"mode": "omit_refresh_token"})).await;
    access_token(&resolve(&app, &key, &id, json!({})).await);
    access_token(&resolve(&app, &key, &id, json!({"force_refresh": true})).await);
    let stats = server.stats().await;
    assert_eq!(stats["errors"], json!({}), "{stats}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_call_budget_of_a_refreshing_resolve() {
    let mut app = TestApp::new().await;
    let mut state = (*app.state).clone();
    // Frozen: the second resolve comes within the minute its last-use mark stands.
    state.clock = ManualClock::at(SystemTime::now());
    state.keys = Arc::new(credentials_core::auth::KeyCache::new(
        Duration::from_secs(60),
        state.clock.clone(),
    ));
    app.state = Arc::new(state);
    let key = app.admin_key().await;
    let server = OauthServer::start().await;
    let (id, _) = oauth_credential(&app, &key, &server, json!({})).await;
    // Caches the key.
    app.request("GET", &format!("/api/credentials/{id}"))
        .key(&key)
        .send()
        .await;
    app.calls.take();
    // The first resolve refreshes: the credential, the event, then (made alongside the
    // usage ledger's day item and, a first resolve, the credential's last-use mark) the
    // token state, the lease, one Decrypt (client secret and refresh token sealed
    // together), one data key for the new tokens, the commit.
    access_token(&resolve(&app, &key, &id, json!({})).await);
    assert_calls(
        app.calls.take(),
        &["DynamoDB.GetItem", "DynamoDB.PutItem"],
        &[
            "DynamoDB.GetItem",
            "DynamoDB.UpdateItem",
            "KMS.Decrypt",
            "KMS.GenerateDataKey",
            "DynamoDB.TransactWriteItems",
            "DynamoDB.UpdateItem",
            "DynamoDB.UpdateItem",
        ],
    );
    // A fresh token: the credential, the event, the token state, one Decrypt, the day item.
    access_token(&resolve(&app, &key, &id, json!({})).await);
    assert_calls(
        app.calls.take(),
        &["DynamoDB.GetItem", "DynamoDB.PutItem"],
        &["DynamoDB.GetItem", "KMS.Decrypt", "DynamoDB.UpdateItem"],
    );
    assert_eq!(count(&server.stats().await, "token_requests"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_versions_of_a_refreshed_credential_withhold_its_refresh_material() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let server = OauthServer::start().await;
    let (id, refresh_token) = oauth_credential(&app, &key, &server, json!({})).await;
    // Version 2 current (a new client secret), 1 previous, 3 pending.
    let rotated = app
        .request("PUT", &format!("/api/credentials/{id}"))
        .key(&key)
        .json(&json!({"config": {"client_secret": secret("next")}}))
        .send()
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let staged = app
        .request("POST", &format!("/api/credentials/{id}/versions"))
        .key(&key)
        .json(&json!({"config": {"client_secret": secret("after")}}))
        .send()
        .await;
    assert_eq!(staged.status, 201, "{}", staged.text);
    // Only current is refreshed: the others answer what they hold, without the refresh
    // material.
    for selector in [
        json!({"version": 1}),
        json!({"stage": "previous"}),
        json!({"stage": "pending"}),
    ] {
        let answer = resolve(&app, &key, &id, selector).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let config = &answer.body["data"]["config"];
        assert!(config.get("client_secret").is_none() && config.get("refresh_token").is_none());
        assert!(!answer.text.contains(&refresh_token));
    }
    assert_eq!(count(&server.stats().await, "token_requests"), 0);
}
