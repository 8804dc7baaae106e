//! A key that may write cannot point a stored secret at a new destination: changing where a
//! type's secrets are sent (a database's host, an API key's base URL, an OAuth client's
//! token URL, a password's URL, a client-visible endpoint) needs every stored secret sent
//! again; and a secret moved by any other path (a raw item edit) does not open.

use aws_sdk_dynamodb::types::AttributeValue;
use credentials_core::auth::Scope;
use serde_json::{json, Value};
use test_harness::{secret, unique, TestApp};

/// One type's credential, the destination field to move, and a new value for it.
struct Move {
    kind: &'static str,
    config: Value,
    visible_fields: Value,
    field: &'static str,
    to: Value,
    secrets: &'static [&'static str],
}

fn moves() -> Vec<Move> {
    vec![
        Move {
            kind: "database",
            config: json!({"host": "db.example.com", "port": 5432, "password": secret("db")}),
            visible_fields: json!([]),
            field: "host",
            to: json!("db.attacker.example"),
            secrets: &["password"],
        },
        Move {
            kind: "database",
            config: json!({"host": "db.example.com", "port": 5432, "password": secret("db")}),
            visible_fields: json!([]),
            field: "port",
            to: json!(6543),
            secrets: &["password"],
        },
        Move {
            kind: "api_key",
            config: json!({"api_key": secret("k"), "base_url": "https://api.example.com"}),
            visible_fields: json!([]),
            field: "base_url",
            to: json!("https://collector.attacker.example"),
            secrets: &["api_key"],
        },
        Move {
            kind: "oauth",
            config: json!({"client_id": "c", "client_secret": secret("cs"),
                           "refresh_token": secret("rt"), "token_url": "https://auth.example.com/token"}),
            visible_fields: json!([]),
            field: "token_url",
            to: json!("https://auth.attacker.example/token"),
            secrets: &["client_secret", "refresh_token"],
        },
        Move {
            kind: "oauth",
            config: json!({"client_id": "c", "client_secret": secret("cs"),
                           "authorization_url": "https://auth.example.com/authorize"}),
            visible_fields: json!([]),
            field: "authorization_url",
            to: json!("https://auth.attacker.example/authorize"),
            secrets: &["client_secret"],
        },
        Move {
            kind: "password",
            config: json!({"password": secret("pw"), "url": "https://app.example.com"}),
            visible_fields: json!([]),
            field: "url",
            to: json!("https://app.attacker.example"),
            secrets: &["password"],
        },
        Move {
            kind: "password",
            config: json!({"password": secret("pw"), "smtp_host": "smtp.example.com"}),
            visible_fields: json!(["smtp_host"]),
            field: "smtp_host",
            to: json!("smtp.attacker.example"),
            secrets: &["password"],
        },
        // An attacker review moved these without a secret before they counted.
        Move {
            kind: "database",
            config: json!({"host": "acct.snowflakecomputing.com", "password": secret("sf"),
                           "authenticator": "snowflake"}),
            visible_fields: json!([]),
            field: "authenticator",
            to: json!("https://idp.attacker.example"),
            secrets: &["password"],
        },
        Move {
            kind: "api_key",
            config: json!({"api_key": secret("k"), "https_proxy": "http://proxy.example.com:3128"}),
            visible_fields: json!(["https_proxy"]),
            field: "https_proxy",
            to: json!("http://proxy.attacker.example:3128"),
            secrets: &["api_key"],
        },
        Move {
            kind: "password",
            config: json!({"password": secret("pw"), "url_base": "https://app.example.com"}),
            visible_fields: json!(["url_base"]),
            field: "url_base",
            to: json!("https://app.attacker.example"),
            secrets: &["password"],
        },
        Move {
            kind: "aws",
            config: json!({"region": "eu-west-1", "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                           "secret_access_key": secret("aws"), "endpoint_url": "https://sts.eu-west-1.amazonaws.com"}),
            visible_fields: json!([]),
            field: "endpoint_url",
            to: json!("https://sts.attacker.example"),
            secrets: &["secret_access_key"],
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn moving_a_destination_needs_every_stored_secret_again() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let writer = app.key(&workspace, &[Scope::Read, Scope::Write]).await;
    let resolver = app.key(&workspace, &[Scope::Resolve]).await;
    for (i, m) in moves().into_iter().enumerate() {
        let created = app
            .create(
                &writer,
                json!({"name": format!("move-{i}"), "type": m.kind,
                       "visible_fields": m.visible_fields, "config": m.config}),
            )
            .await;
        let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
        // Only the destination: 409, each stored secret named, nothing written.
        let moved = app
            .request("PUT", &path)
            .key(&writer)
            .json(&json!({"config": {m.field: m.to}}))
            .send()
            .await;
        moved.assert_error(409, "secrets_required");
        let named: Vec<&str> = moved.body["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["field"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = m.secrets.iter().map(|s| format!("config.{s}")).collect();
        assert_eq!(named, expected, "{} {}", m.kind, m.field);
        let unchanged = app.request("GET", &path).key(&writer).send().await;
        assert_eq!(
            unchanged.body["data"]["version"], 1,
            "{} {}",
            m.kind, m.field
        );
        assert_eq!(unchanged.body["data"]["config"][m.field], m.config[m.field]);
        // Resending only some of them is still refused.
        if m.secrets.len() > 1 {
            let partial = app
                .request("PUT", &path)
                .key(&writer)
                .json(&json!({"config": {m.field: m.to, m.secrets[0]: secret("again")}}))
                .send()
                .await;
            partial.assert_error(409, "secrets_required");
        }
        // The destination with every stored secret again: accepted, and resolve delivers
        // the new secrets to the new destination.
        let mut patch = json!({m.field: m.to});
        let mut fresh = Vec::new();
        for s in m.secrets {
            let value = secret("new");
            patch[*s] = json!(value);
            fresh.push(value);
        }
        let accepted = app
            .request("PUT", &path)
            .key(&writer)
            .json(&json!({ "config": patch }))
            .send()
            .await;
        assert_eq!(accepted.status, 200, "{}", accepted.text);
        // An oauth credential with a token URL is refreshed by the store, which would call
        // the (here unreachable, non-loopback) endpoint: its resolve is tested in oauth.rs.
        if m.kind == "oauth" && accepted.body["data"]["config"].get("token_url").is_some() {
            continue;
        }
        let id = created["id"].as_str().unwrap();
        let resolved = app.resolve(&resolver, id, "pipeline:dest/1").await;
        assert_eq!(resolved.status, 200, "{}", resolved.text);
        assert_eq!(resolved.body["data"]["config"][m.field], m.to);
        for (s, value) in m.secrets.iter().zip(&fresh) {
            assert_eq!(resolved.body["data"]["config"][*s], json!(value));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn renames_other_settings_and_removing_the_secret_need_no_secret() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app
        .create(
            &key,
            json!({"name": "db", "type": "database", "config": {
                "host": "db.example.com", "password": secret("db"), "database": "a"}}),
        )
        .await;
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
    for patch in [
        json!({"name": "db-renamed"}),
        json!({"config": {"database": "b", "warehouse": "w"}}),
        json!({"config": {"host": "db2.example.com", "password": null}}),
    ] {
        let response = app
            .request("PUT", &path)
            .key(&key)
            .json(&patch)
            .send()
            .await;
        assert_eq!(response.status, 200, "{patch}: {}", response.text);
    }
}

/// The binding is cryptographic too: a secret whose credential was pointed elsewhere by a
/// raw item edit (not the API) fails to open, and resolve answers 500 without a secret.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_moved_by_editing_the_item_does_not_open() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app.key(&workspace, Scope::ALL).await;
    let password = secret("bound");
    let created = app
        .create(
            &key,
            json!({"name": "bound", "type": "database", "config": {
                "host": "db.example.com", "password": password}}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let ok = app.resolve(&key, id, "pipeline:before/1").await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let item = app.credential_item(id).await;
    let moved_config = item["config"]
        .as_s()
        .unwrap()
        .replace("db.example.com", "db.attacker.example");
    aws_sdk_dynamodb::Client::new(&app.sdk)
        .update_item()
        .table_name(&app.table)
        .key("pk", item["pk"].clone())
        .key("sk", item["sk"].clone())
        .update_expression("SET config = :c")
        .expression_attribute_values(":c", AttributeValue::S(moved_config))
        .send()
        .await
        .unwrap();
    let refused = app.resolve(&key, id, "pipeline:after/1").await;
    refused.assert_error(500, "internal_error");
    assert!(!refused.text.contains(&password));
}
