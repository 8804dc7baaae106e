//! `resolve-credential`: the one way a secret comes back, by direct invocation only, with
//! the `credentials:resolve` scope; and the client crate pipelines use, through the AWS SDK's
//! Lambda client against the local Invoke API.

use aws_sdk_dynamodb::types::AttributeValue;
use credentials_client::{CacheConfig, ResolveError, Resolver, Selector, Target};
use credentials_core::auth::Scope;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use test_harness::logs::assert_not_logged;
use test_harness::{database_body, secret, unique, TestApp};

const PURPOSE: &str = "pipeline:orders-nightly/run-42";

#[tokio::test(flavor = "multi_thread")]
async fn resolve_returns_every_secret_as_created_and_as_last_updated() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (password, token) = (secret("pw"), secret("token"));
    let created = app
        .create(
            &key,
            json!({"name": "wh", "type": "database", "config": {
                "engine": "postgresql", "host": "db.example.com", "port": 5432,
                "password": password, "api_token": token,
            }}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let resolved = app.resolve(&key, id, PURPOSE).await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    assert_eq!(resolved.header("cache-control"), Some("no-store"));
    let data = &resolved.body["data"];
    assert_eq!(data["config"]["password"], password.as_str());
    assert_eq!(data["config"]["api_token"], token.as_str());
    assert_eq!(data["config"]["host"], "db.example.com");
    assert_eq!(data["config"]["port"], 5432);
    assert_eq!(data["secret_fields"], json!(["api_token", "password"]));
    for field in ["id", "name", "type", "status", "version", "updated_at"] {
        assert_eq!(data[field], created[field], "{field}");
    }

    // One secret changed, one removed, a visible field changed.
    let new_password = secret("pw2");
    let updated = app
        .request("PUT", &format!("/api/credentials/{id}"))
        .key(&key)
        .json(&json!({"config": {"password": new_password, "api_token": null, "port": 6432}}))
        .send()
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let resolved = app.resolve(&key, id, PURPOSE).await;
    assert_eq!(resolved.status, 200, "{}", resolved.text);
    let config = &resolved.body["data"]["config"];
    assert_eq!(config["password"], new_password.as_str());
    assert!(config.get("api_token").is_none());
    assert_eq!(config["port"], 6432);
    assert_eq!(resolved.body["data"]["version"], 2);
    // Opened values never reach a log line.
    assert_not_logged(&new_password);
    assert_not_logged(&token);
}

#[tokio::test(flavor = "multi_thread")]
async fn resolve_answers_by_scope_workspace_and_lifecycle() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app.key(&workspace, Scope::ALL).await;
    let (body, password) = database_body("lifecycle");
    let id = app.create(&key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let other = app.admin_key().await;
    app.resolve(&other, &id, PURPOSE)
        .await
        .assert_error(404, "not_found");
    let without_scope = app
        .key(&workspace, &[Scope::Read, Scope::Write, Scope::Purge])
        .await;
    app.resolve(&without_scope, &id, PURPOSE)
        .await
        .assert_error(403, "forbidden");
    let response = app.resolve("cak_not-a-key", &id, PURPOSE).await;
    response.assert_error(401, "unauthorized");
    let token_purpose = format!("run with ghp_{}", "a1B2".repeat(9));
    for purpose in ["", " ", &"p".repeat(201), "line\nbreak", &token_purpose] {
        app.resolve(&key, &id, purpose)
            .await
            .assert_error(400, "validation_failed");
    }

    app.request("DELETE", &format!("/api/credentials/{id}"))
        .key(&key)
        .send()
        .await;
    let deleted = app.resolve(&key, &id, PURPOSE).await;
    deleted.assert_error(409, "credential_deleted");
    assert!(!deleted.text.contains(&password));
    app.request("POST", &format!("/api/credentials/{id}/restore"))
        .key(&key)
        .send()
        .await;
    let restored = app.resolve(&key, &id, PURPOSE).await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(
        restored.body["data"]["config"]["password"],
        password.as_str()
    );
    let purged = app.force_purge(&key, &id).await;
    assert_eq!(purged.status, 200, "{}", purged.text);
    app.resolve(&key, &id, PURPOSE)
        .await
        .assert_error(404, "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn resolve_is_not_routed_over_http() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let id = app.create(&key, database_body("unrouted").0).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for prefix in ["", "/v1"] {
        let response = app
            .request("POST", &format!("{prefix}/api/credentials/{id}/resolve"))
            .key(&key)
            .json(&json!({"purpose": PURPOSE}))
            .send()
            .await;
        response.assert_error(404, "not_found");
    }
}

/// Sets one attribute of a credential item directly, as an attacker with table access might.
async fn tamper(app: &TestApp, id: &str, expression: &str, value: AttributeValue) {
    let item = app.credential_item(id).await;
    aws_sdk_dynamodb::Client::new(&app.sdk)
        .update_item()
        .table_name(&app.table)
        .key("pk", item["pk"].clone())
        .key("sk", item["sk"].clone())
        .update_expression(expression)
        .expression_attribute_values(":v", value)
        .send()
        .await
        .expect("tamper");
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_or_moved_secrets_fail_closed() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body_a, password_a) = database_body("a");
    let (body_b, password_b) = database_body("b");
    let a = app.create(&key, body_a).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = app.create(&key, body_b).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A flipped ciphertext byte: AES-GCM refuses it.
    let item = app.credential_item(&a).await;
    let sealed = item["secrets"].as_m().unwrap()["password"].as_m().unwrap();
    let mut ciphertext = sealed["c"].as_b().unwrap().as_ref().to_vec();
    ciphertext[0] ^= 1;
    tamper(
        &app,
        &a,
        "SET secrets.password.c = :v",
        AttributeValue::B(ciphertext.into()),
    )
    .await;
    let response = app.resolve(&key, &a, PURPOSE).await;
    response.assert_error(500, "internal_error");
    assert!(!response.text.contains(&password_a));

    // B's wrapped key moved onto A: KMS refuses it under A's encryption context.
    let item_b = app.credential_item(&b).await;
    let wrapped_b = item_b["secrets"].as_m().unwrap()["password"]
        .as_m()
        .unwrap()["k"]
        .clone();
    tamper(&app, &a, "SET secrets.password.k = :v", wrapped_b).await;
    let response = app.resolve(&key, &a, PURPOSE).await;
    response.assert_error(500, "internal_error");
    assert!(!response.text.contains(&password_a) && !response.text.contains(&password_b));

    // B itself still resolves.
    let ok = app.resolve(&key, &b, PURPOSE).await;
    assert_eq!(ok.body["data"]["config"]["password"], password_b.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_client_crate_resolves_through_the_lambda_invoke_api() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app.key(&workspace, Scope::ALL).await;
    let (body, password) = database_body("client");
    let id = app.create(&key, body).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let listener = local_server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(local_server::serve(listener, (*app.state).clone()));
    let sdk = test_harness::sdk_config(&endpoint).await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:resolve-credential";

    let resolver = Resolver::new(lambda.clone(), arn, SecretString::from(key.clone()));
    let resolved = resolver.resolve(&id, PURPOSE).await.expect("resolve");
    assert_eq!(
        resolved.secret("password").unwrap().expose_secret(),
        password
    );
    assert_eq!(resolved.visible["host"], "db.internal.example.com");
    assert!(!format!("{resolved:?}").contains(&password));

    // Typed errors.
    let missing = format!("cred_{}", ulid::Ulid::new().to_string().to_lowercase());
    assert_eq!(
        resolver.resolve(&missing, PURPOSE).await.unwrap_err(),
        ResolveError::NotFound
    );
    let read_only = app.key(&workspace, &[Scope::Read]).await;
    let forbidden = Resolver::new(lambda.clone(), arn, SecretString::from(read_only));
    assert_eq!(
        forbidden.resolve(&id, PURPOSE).await.unwrap_err(),
        ResolveError::Forbidden
    );
    app.request("DELETE", &format!("/api/credentials/{id}"))
        .key(&key)
        .send()
        .await;
    assert_eq!(
        resolver.resolve(&id, PURPOSE).await.unwrap_err(),
        ResolveError::Deleted
    );
    app.request("POST", &format!("/api/credentials/{id}/restore"))
        .key(&key)
        .send()
        .await;

    // With the cache on, concurrent callers of one id share one invocation.
    let cached = Resolver::new(lambda.clone(), arn, SecretString::from(key.clone())).with_cache(
        CacheConfig {
            ttl: std::time::Duration::from_secs(60),
            max_entries: 16,
        },
    );
    app.calls.take();
    let results = futures::future::join_all((0..8).map(|_| cached.resolve(&id, PURPOSE))).await;
    for result in &results {
        assert_eq!(
            result
                .as_ref()
                .unwrap()
                .secret("password")
                .unwrap()
                .expose_secret(),
            password
        );
    }
    let decrypts = app
        .calls
        .take()
        .iter()
        .filter(|c| c.as_str() == "KMS.Decrypt")
        .count();
    assert_eq!(decrypts, 1, "eight concurrent callers, one invocation");

    // A rotation: the cache keeps serving what it holds until asked for something newer.
    let used = cached.resolve(&id, PURPOSE).await.unwrap();
    assert_eq!(used.secret_version, 1);
    let rotated = secret("rotated");
    app.request("PUT", &format!("/api/credentials/{id}"))
        .key(&key)
        .json(&serde_json::json!({"config": {"password": rotated}}))
        .send()
        .await;
    let stale = cached.resolve(&id, PURPOSE).await.unwrap();
    assert_eq!(stale.secret_version, 1, "a hit until the entry expires");
    let target = Target::Id(id.clone());
    let newer = cached
        .resolve_newer_than(&target, used.secret_version, PURPOSE)
        .await
        .unwrap();
    assert_eq!(newer.secret_version, 2);
    assert_eq!(newer.secret("password").unwrap().expose_secret(), rotated);
    // The cache now holds the newer one; asking past it again says there is none.
    assert_eq!(
        cached.resolve(&id, PURPOSE).await.unwrap().secret_version,
        2
    );
    assert_eq!(
        cached
            .resolve_newer_than(&target, 2, PURPOSE)
            .await
            .unwrap_err(),
        ResolveError::NoNewerVersion { current: 2 }
    );
    // The previous version, and by name.
    let previous = resolver
        .resolve_as(&target, Selector::Previous, PURPOSE)
        .await
        .unwrap();
    assert_eq!(
        previous.secret("password").unwrap().expose_secret(),
        password
    );
    assert_eq!(previous.stage.as_deref(), Some("previous"));
    assert!(previous.valid_until.is_some());
    let named = resolver
        .resolve_as(&Target::Name("CLIENT".into()), Selector::Current, PURPOSE)
        .await
        .unwrap();
    assert_eq!(named.id, id);
    assert_eq!(
        resolver
            .resolve_as(&target, Selector::Version(9), PURPOSE)
            .await
            .unwrap_err(),
        ResolveError::NotFound
    );

    // An unknown function is Lambda's 404.
    let unknown = Resolver::new(lambda, "no-such-function", SecretString::from(key));
    assert!(matches!(
        unknown.resolve(&id, PURPOSE).await.unwrap_err(),
        ResolveError::Failed(_)
    ));
    server.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn refresh_material_sealed_for_a_token_url_never_comes_back_at_any_version() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (client_secret, refresh_token) = (secret("oauth-cs"), secret("oauth-rt"));
    let leaked = |text: &str| text.contains(&client_secret) || text.contains(&refresh_token);
    let resolve = |id: String, body: serde_json::Value| {
        let (app, key) = (app.clone(), key.clone());
        async move {
            let mut body = body;
            body["purpose"] = json!(PURPOSE);
            app.resolve_with(&key, Some(&id), body).await
        }
    };

    // Removing token_url (with throwaway secrets): version 1, sealed for the token URL,
    // is still `previous`, and resolving it withholds what it was sealed with.
    let created = app
        .create(
            &key,
            json!({"name": unique("oauth"), "type": "oauth", "config": {
                "client_id": "c", "client_secret": client_secret,
                "token_url": "https://tokens.example.com/token", "refresh_token": refresh_token}}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/credentials/{id}");
    let moved = app
        .request("PUT", &path)
        .key(&key)
        .json(
            &json!({"config": {"token_url": null, "client_secret": "throwaway-1",
            "refresh_token": "throwaway-2"}}),
        )
        .send()
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    for body in [json!({"stage": "previous"}), json!({"version": 1})] {
        let answer = resolve(id.clone(), body).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert!(!leaked(&answer.text), "{}", answer.text);
        let config = &answer.body["data"]["config"];
        assert!(config.get("client_secret").is_none() && config.get("refresh_token").is_none());
    }
    // The current version has no token URL: its own secrets are answered as stored.
    let current = resolve(id.clone(), json!({})).await;
    assert_eq!(
        current.body["data"]["config"]["client_secret"],
        "throwaway-1"
    );

    // A version without a token URL restored over one with it: the version that had it
    // still withholds its material, by number and as `previous`.
    let created = app
        .create(
            &key,
            json!({"name": unique("oauth"), "type": "oauth", "config": {
                "client_id": "c", "client_secret": "first-cs"}}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let path = format!("/api/credentials/{id}");
    let added = app
        .request("PUT", &path)
        .key(&key)
        .json(
            &json!({"config": {"token_url": "https://tokens.example.com/token",
            "client_secret": client_secret, "refresh_token": refresh_token}}),
        )
        .send()
        .await;
    assert_eq!(added.status, 200, "{}", added.text);
    let restored = app
        .request("POST", &format!("{path}/versions/1/restore"))
        .key(&key)
        .send()
        .await;
    assert_eq!(restored.status, 200, "{}", restored.text);
    for body in [json!({"version": 2}), json!({"stage": "previous"})] {
        let answer = resolve(id.clone(), body).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert!(!leaked(&answer.text), "{}", answer.text);
    }
    assert_not_logged(&client_secret);
    assert_not_logged(&refresh_token);
}
