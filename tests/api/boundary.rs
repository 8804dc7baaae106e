//! The secret boundary: whatever a client calls a field and however it writes a credential
//! into a value, the value comes back in no answer (create, get, list, update, idempotent
//! replay), no log line, no index entry and no stored attribute outside the sealed ones.
//! Names that people read as the same clash.

use aws_sdk_dynamodb::types::AttributeValue;
use credentials_core::store::{workspace_pk, GSI_BY_STATUS};
use serde_json::{json, Value};
use test_harness::logs::assert_not_logged;
use test_harness::{secret, unique, Item, TestApp};

/// A fresh token-shaped run of `len` alphanumerics (so that each case's value is unique).
fn alnum(len: usize) -> String {
    let mut out = String::new();
    while out.len() < len {
        out.push_str(&ulid::Ulid::new().to_string());
    }
    out.truncate(len);
    out
}

/// `len` random lower-case hex digits (from ULIDs' random parts).
fn hex(len: usize) -> String {
    let mut out = String::new();
    while out.len() < len {
        out.push_str(&format!("{:020x}", ulid::Ulid::new().random()));
    }
    out.truncate(len);
    out
}

/// Every string in an attribute, recursively (sealed secrets excluded by the caller).
fn strings(value: &AttributeValue, out: &mut String) {
    match value {
        AttributeValue::S(s) | AttributeValue::N(s) => out.push_str(s),
        AttributeValue::B(b) => out.push_str(&String::from_utf8_lossy(b.as_ref())),
        AttributeValue::L(items) => items.iter().for_each(|v| strings(v, out)),
        AttributeValue::M(map) => map.iter().for_each(|(k, v)| {
            out.push_str(k);
            strings(v, out);
        }),
        AttributeValue::Ss(items) => items.iter().for_each(|s| out.push_str(s)),
        _ => {}
    }
    out.push('\n');
}

/// Everything stored outside the sealed `secrets` attribute, as text.
async fn unsealed_text(app: &TestApp) -> String {
    let mut out = String::new();
    for item in app.scan().await {
        for (k, v) in item.iter().filter(|(k, _)| k.as_str() != "secrets") {
            out.push_str(k);
            strings(v, &mut out);
        }
    }
    out
}

/// Every entry of a workspace in the status index, as text.
async fn index_text(app: &TestApp, workspace: &str) -> String {
    let client = aws_sdk_dynamodb::Client::new(&app.sdk);
    let mut out = String::new();
    for status in ["active#", "deleted#"] {
        let page = client
            .query()
            .table_name(&app.table)
            .index_name(GSI_BY_STATUS)
            .key_condition_expression("gsi1pk = :pk AND begins_with(gsi1sk, :st)")
            .expression_attribute_values(":pk", AttributeValue::S(workspace_pk(workspace)))
            .expression_attribute_values(":st", AttributeValue::S(status.to_owned()))
            .send()
            .await
            .expect("index query");
        for item in page.items() {
            let item: &Item = item;
            assert!(
                !item.contains_key("secrets"),
                "the index carries sealed secrets"
            );
            for (k, v) in item {
                out.push_str(k);
                strings(v, &mut out);
            }
        }
    }
    out
}

/// What must become of one submitted field.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// Accepted and sealed: listed in `secret_fields`, the value nowhere.
    Sealed,
    /// Refused with 400 naming the field.
    Refused,
}

struct Case {
    /// The credential type and the rest of its config.
    kind: &'static str,
    base: Value,
    /// The client asks to see `field` (`visible_fields`).
    shown: bool,
    field: String,
    value: Value,
    /// The text that must never come back (the whole value, or the credential inside it).
    needle: String,
    expect: Expect,
}

fn free_form(field: &str, value: String, needle: String) -> Case {
    Case {
        kind: "password",
        base: json!({"password": secret("base")}),
        shown: false,
        field: field.to_owned(),
        value: Value::String(value),
        needle,
        expect: Expect::Sealed,
    }
}

fn named(field: &str) -> Case {
    let value = secret(field);
    free_form(field, value.clone(), value)
}

/// A credential inside an ordinary-looking value, under a neutral field name: sealed like
/// every undeclared field, and refused when the client asks to see the field.
fn embedded(template: &str, needle: String) -> [Case; 2] {
    let sealed = free_form("note", template.replace("{}", &needle), needle);
    let shown = Case {
        shown: true,
        field: "notes".into(),
        expect: Expect::Refused,
        base: sealed.base.clone(),
        value: sealed.value.clone(),
        needle: sealed.needle.clone(),
        kind: sealed.kind,
    };
    [sealed, shown]
}

/// A declared visible field holding a credential: refused.
fn visible(kind: &'static str, base: Value, field: &str, template: &str) -> Case {
    let needle = format!("Pw{}", alnum(18));
    Case {
        kind,
        base,
        shown: false,
        field: field.to_owned(),
        value: Value::String(template.replace("{}", &needle)),
        needle,
        expect: Expect::Refused,
    }
}

fn cases() -> Vec<Case> {
    let mut cases: Vec<Case> = [
        // Names: camelCase, PascalCase, snake case, upper case, abbreviations.
        "connectionString",
        "ConnectionString",
        "connection_string",
        "CONNECTION_STRING",
        "accountKey",
        "AccountKey",
        "account_key",
        "pwd",
        "PWD",
        "dbPwd",
        "db_pwd",
        "passwd",
        "userPassword",
        "Password",
        "clientKey",
        "client_key",
        "sslKey",
        "ssl_key",
        "masterKey",
        "signing_key",
        "signingKey",
        "encryptionKey",
        "authorization",
        "Authorization",
        "auth",
        "authToken",
        "bearer",
        "bearerToken",
        "credentials",
        "credential",
        "Credentials",
        "dsn",
        "DSN",
        "sas",
        "sasToken",
        "sharedKey",
        "shared_access_key",
        "accessKey",
        "secretAccessKey",
        "privateKey",
        "private_key",
        "apiKey",
        "API_KEY",
        "xApiKey",
        "cookie",
        "sessionCookie",
        "session_key",
        "serviceAccountJson",
        "service_account_json",
        "passphrase",
        "clientSecret",
        "webhook_secret",
        "refreshToken",
        "id_token",
    ]
    .into_iter()
    .map(named)
    .collect();

    // Values that embed a credential, under a neutral name.
    let pw = || format!("Pw{}", alnum(16));
    cases.extend(
        [
        embedded("postgres://etl:{}@db.example.com/prod", pw()),
        embedded("mongodb+srv://app:{}@cluster0.example.net/db", pw()),
        embedded("redis://:{}@cache.example.com:6379/0", pw()),
        embedded("jdbc:postgresql://db:5432/prod?user=etl&password={}", pw()),
        embedded(
            "Server=tcp:x.database.windows.net;Database=d;User ID=u;Password={};",
            pw(),
        ),
        embedded(
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={};EndpointSuffix=core.windows.net",
            format!("{}==", alnum(40)),
        ),
        embedded(
            "https://acct.blob.core.windows.net/c?sv=2022-11-02&sr=c&sp=r&sig={}",
            alnum(30),
        ),
        embedded("host=db user=etl password={} dbname=prod", pw()),
        embedded("{}", format!("ghp_{}", alnum(36))),
        embedded("{}", format!("github_pat_{}", alnum(82))),
        embedded("{}", format!("xoxb-1234567890-1234567890-{}", alnum(24))),
        embedded("{}", format!("sk_live_{}", alnum(24))),
        embedded("{}", format!("AIza{}", alnum(35))),
        embedded("{}", format!("glpat-{}", alnum(20))),
        embedded("{}", format!("npm_{}", alnum(36))),
        embedded("{}", format!("dop_v1_{}", hex(64))),
        embedded(
            "aws_secret_access_key = {}",
            format!("{}/{}", alnum(20), alnum(19)),
        ),
        embedded(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            alnum(64),
        ),
        embedded(
            "{}",
            format!("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.{}", alnum(43)),
        ),
        embedded("Bearer {}", alnum(40)),
        // Unlabelled random tokens: sealed under a free-form name.
        embedded("{}", format!("{}/{}+{}", alnum(12), hex(14), alnum(12))),
        embedded("{}", hex(40)),
        ]
        .into_iter()
        .flatten(),
    );
    // A list of strings hiding a credential: sealed in an undeclared field (as its JSON),
    // refused in a field the client asked to see.
    for shown in [false, true] {
        let needle = pw();
        cases.push(Case {
            kind: "password",
            base: json!({"password": secret("base")}),
            shown,
            field: "mirrors".into(),
            value: json!([
                "https://a.example.com",
                format!("https://u:{needle}@b.example.com")
            ]),
            needle,
            expect: if shown {
                Expect::Refused
            } else {
                Expect::Sealed
            },
        });
    }

    // Declared visible fields that hold a credential are refused.
    cases.extend([
        visible(
            "database",
            json!({}),
            "host",
            "https://user:{}@db.example.com",
        ),
        visible(
            "api_key",
            json!({"api_key": secret("k")}),
            "base_url",
            "https://api.example.com/v1?api_key={}",
        ),
        visible(
            "oauth",
            json!({"client_id": "c", "client_secret": secret("s")}),
            "token_url",
            "https://client:{}@login.example.com/token",
        ),
        visible(
            "password",
            json!({"password": secret("p")}),
            "url",
            "ftp://admin:{}@files.example.com",
        ),
    ]);
    // A masking placeholder sent as a secret value is refused.
    for mask in [
        "********",
        "***",
        "•••",
        "[REDACTED]",
        "<redacted>",
        "[FILTERED]",
    ] {
        cases.push(Case {
            kind: "password",
            base: json!({}),
            shown: false,
            field: "password".into(),
            value: json!(mask),
            needle: format!("\"{mask}\""),
            expect: Expect::Refused,
        });
    }
    cases
}

#[tokio::test(flavor = "multi_thread")]
async fn no_spelling_of_a_secret_comes_back() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app
        .key(&workspace, credentials_core::auth::Scope::ALL)
        .await;
    let cases = cases();
    assert!(cases.len() >= 60, "{} cases", cases.len());
    let mut answers = String::new();
    for (i, case) in cases.iter().enumerate() {
        let mut config = case.base.clone();
        if case.kind == "database" {
            config["host"] = json!("db.example.com");
        }
        config[&case.field] = case.value.clone();
        let mut body = json!({"name": format!("case-{i}"), "type": case.kind, "config": config});
        if case.shown {
            body["visible_fields"] = json!([case.field]);
        }
        let created = app
            .request("POST", "/api/credentials")
            .key(&key)
            .header("idempotency-key", &format!("case-{i}"))
            .json(&body)
            .send()
            .await;
        answers.push_str(&created.text);
        match case.expect {
            Expect::Refused => {
                created.assert_error(400, "validation_failed");
                let field = format!("config.{}", case.field);
                assert!(
                    created.body["error"]["details"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|d| d["field"] == field.as_str()),
                    "case {i} ({}): {}",
                    case.field,
                    created.text
                );
                continue;
            }
            Expect::Sealed => {
                assert_eq!(
                    created.status, 201,
                    "case {i} ({}): {}",
                    case.field, created.text
                );
                let secret_fields = &created.body["data"]["secret_fields"];
                assert!(
                    secret_fields
                        .as_array()
                        .unwrap()
                        .contains(&json!(case.field)),
                    "case {i}: {} not sealed: {}",
                    case.field,
                    created.text
                );
            }
        }
        let path = format!(
            "/api/credentials/{}",
            created.body["data"]["id"].as_str().unwrap()
        );
        // The idempotent replay, a read, and an update that touches another field.
        let replay = app
            .request("POST", "/api/credentials")
            .key(&key)
            .header("idempotency-key", &format!("case-{i}"))
            .json(&body)
            .send()
            .await;
        assert_eq!(replay.status, 201, "{}", replay.text);
        answers.push_str(&replay.text);
        answers.push_str(&app.request("GET", &path).key(&key).send().await.text);
        let updated = app
            .request("PUT", &path)
            .key(&key)
            .json(&json!({"config": {"region_hint": "eu"}}))
            .send()
            .await;
        assert_eq!(updated.status, 200, "{}", updated.text);
        answers.push_str(&updated.text);
    }
    for status in ["active", "deleted"] {
        let list = app
            .request(
                "GET",
                &format!("/api/credentials?status={status}&limit=100"),
            )
            .key(&key)
            .send()
            .await;
        answers.push_str(&list.text);
    }
    let stored = unsealed_text(&app).await;
    let indexed = index_text(&app, &workspace).await;
    for (i, case) in cases.iter().enumerate() {
        assert!(
            !answers.contains(&case.needle),
            "case {i} ({}) came back",
            case.field
        );
        assert!(
            !stored.contains(&case.needle),
            "case {i} ({}) stored unsealed",
            case.field
        );
        assert!(
            !indexed.contains(&case.needle),
            "case {i} ({}) indexed",
            case.field
        );
        assert_not_logged(&case.needle);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn declared_visible_fields_with_ordinary_values_stay_visible() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app
        .create(
            &key,
            json!({"name": "visible", "type": "oauth",
                "visible_fields": ["tenant_hint", "api_version"], "config": {
                "client_id": "c-123",
                "client_secret": secret("s"),
                "token_url": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
                "authorization_url": "https://login.example.com/authorize",
                "scopes": ["read", "write"],
                "tenant_hint": "etl@example.com",
                "api_version": "2024-01-01",
            }}),
        )
        .await;
    assert_eq!(
        created["config"],
        json!({
            "client_id": "c-123",
            "token_url": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
            "authorization_url": "https://login.example.com/authorize",
            "scopes": ["read", "write"],
            "tenant_hint": "etl@example.com",
            "api_version": "2024-01-01",
        })
    );
    assert_eq!(created["secret_fields"], json!(["client_secret"]));
    let aws = app
        .create(
            &key,
            json!({"name": "aws", "type": "aws", "config": {
                "region": "eu-west-1",
                "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "secret_access_key": secret("aws"),
            }}),
        )
        .await;
    assert_eq!(aws["config"]["access_key_id"], "AKIAIOSFODNN7EXAMPLE");
}

/// An undeclared field moves between sealed and shown only when `visible_fields` says so:
/// leaving the list seals the value it shows; joining it needs the value sent again (no
/// write path can decrypt). Its value never decides.
#[tokio::test(flavor = "multi_thread")]
async fn a_field_moves_between_visible_and_sealed_as_visible_fields_say() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app
        .create(
            &key,
            json!({"name": "moves", "type": "password", "visible_fields": ["note"], "config": {
                "password": secret("p"), "note": "plain text"
            }}),
        )
        .await;
    assert_eq!(created["config"]["note"], "plain text");
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
    let sealed = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"visible_fields": []}))
        .send()
        .await;
    assert_eq!(sealed.status, 200, "{}", sealed.text);
    assert!(sealed.body["data"]["config"].get("note").is_none());
    assert_eq!(
        sealed.body["data"]["secret_fields"],
        json!(["note", "password"])
    );
    assert_eq!(sealed.body["data"]["visible_fields"], json!([]));
    // Joining the list without the value: 409 secrets_required (the field is sealed in
    // this credential), nothing written.
    let refused = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"visible_fields": ["note"]}))
        .send()
        .await;
    refused.assert_error(409, "secrets_required");
    assert_eq!(
        refused.body["error"]["details"][0]["field"],
        "visible_fields[0]"
    );
    let visible = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"visible_fields": ["note"], "config": {"note": "plain again"}}))
        .send()
        .await;
    assert_eq!(visible.status, 200, "{}", visible.text);
    assert_eq!(visible.body["data"]["config"]["note"], "plain again");
    assert_eq!(visible.body["data"]["secret_fields"], json!(["password"]));
    assert_eq!(visible.body["data"]["version"], 3);
    // A credential in a shown field is refused, whatever the field had before.
    let pw = secret("inside");
    let embedded = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"config": {"note": format!("postgres://u:{pw}@h/db")}}))
        .send()
        .await;
    embedded.assert_error(400, "validation_failed");
    assert!(!embedded.text.contains(&pw));
    assert!(!unsealed_text(&app).await.contains(&pw));
}

/// A value the client sends both as a secret and in the name or a visible setting is
/// shown where the client made it visible, and only there: the secret field stays sealed
/// and listed by name, nothing refuses it, and it is in no log line.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_the_client_also_shows_is_shown_only_where_it_was_sent_visibly() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let password = secret("echoed");
    let created = app
        .request("POST", "/api/credentials")
        .key(&key)
        .json(
            &json!({"name": "echo", "type": "password", "visible_fields": ["comment"],
            "config": {"password": password, "comment": format!("see {password}")}}),
        )
        .send()
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let data = &created.body["data"];
    assert_eq!(
        data["config"],
        json!({"comment": format!("see {password}")})
    );
    assert_eq!(data["secret_fields"], json!(["password"]));
    // The name too (names are logged, so this value carries no log canary).
    let name = format!("name-and-password-{}", ulid::Ulid::new());
    let named = app
        .request("POST", "/api/credentials")
        .key(&key)
        .json(&json!({"name": name, "type": "password", "config": {"password": name}}))
        .send()
        .await;
    assert_eq!(named.status, 201, "{}", named.text);
    assert_eq!(named.body["data"]["name"], name.as_str());
    assert_eq!(named.body["data"]["config"], json!({}));
    // An update that sets a secret equal to a visible setting it keeps: the same.
    let kept = app
        .create(
            &key,
            json!({"name": "kept", "type": "password", "visible_fields": ["region"], "config": {
                "password": secret("p"), "region": "eu-west-1-zone-a"
            }}),
        )
        .await;
    let updated = app
        .request(
            "PUT",
            &format!("/api/credentials/{}", kept["id"].as_str().unwrap()),
        )
        .key(&key)
        .json(&json!({"config": {"password": "eu-west-1-zone-a"}}))
        .send()
        .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(
        updated.body["data"]["config"],
        json!({"region": "eu-west-1-zone-a"})
    );
    assert_not_logged(&password);
}

#[tokio::test(flavor = "multi_thread")]
async fn names_people_read_as_the_same_clash() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let body =
        |name: &str| json!({"name": name, "type": "password", "config": {"password": secret("p")}});
    for (first, second) in [
        ("café", "cafe\u{301}"),
        ("STRASSE", "straße"),
        ("ｐｒｏｄ", "prod"),
        ("ﬁle-store", "FILE-STORE"),
        ("Ångström", "A\u{30a}ngstro\u{308}m"),
    ] {
        app.create(&key, body(first)).await;
        app.request("POST", "/api/credentials")
            .key(&key)
            .json(&body(second))
            .send()
            .await
            .assert_error(409, "name_taken");
    }
    for invisible in [
        "prod\u{200b}",
        "pro\u{200d}d",
        "\u{202e}dorp",
        "\u{feff}prod",
        "pr\u{ad}od",
        "prod\u{e000}",
        "prod\u{378}",
        "prod\u{2028}x",
    ] {
        let response = app
            .request("POST", "/api/credentials")
            .key(&key)
            .json(&body(invisible))
            .send()
            .await;
        response.assert_error(400, "validation_failed");
        assert_eq!(response.body["error"]["details"][0]["field"], "name");
    }
    // The name as sent is what the API shows.
    let shown = app.create(&key, body("Zürich-数据库")).await;
    assert_eq!(shown["name"], "Zürich-数据库");
}

/// Rewrites a credential's stored reservation key (as an older folding would have
/// written it), moving its reservation item to match.
async fn store_legacy_key(app: &TestApp, workspace: &str, id: &str, legacy: &str) {
    let client = aws_sdk_dynamodb::Client::new(&app.sdk);
    let item = app.credential_item(id).await;
    let current = item["name_key"].as_s().unwrap().to_owned();
    let s = |v: &str| AttributeValue::S(v.to_owned());
    client
        .delete_item()
        .table_name(&app.table)
        .key("pk", s(&workspace_pk(workspace)))
        .key("sk", s(&format!("NAME#{current}")))
        .send()
        .await
        .unwrap();
    client
        .put_item()
        .table_name(&app.table)
        .item("pk", s(&workspace_pk(workspace)))
        .item("sk", s(&format!("NAME#{legacy}")))
        .item("credential_id", s(id))
        .send()
        .await
        .unwrap();
    client
        .update_item()
        .table_name(&app.table)
        .key("pk", s(&workspace_pk(workspace)))
        .key("sk", s(&format!("CRED#{id}")))
        .update_expression("SET name_key = :k")
        .expression_attribute_values(":k", s(legacy))
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_and_purge_release_the_stored_reservation_key() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app
        .key(&workspace, credentials_core::auth::Scope::ALL)
        .await;
    let body =
        |name: &str| json!({"name": name, "type": "password", "config": {"password": secret("p")}});
    let renamed = app.create(&key, body("Legacy-One")).await;
    let purged = app.create(&key, body("Legacy-Two")).await;
    let renamed_id = renamed["id"].as_str().unwrap();
    let purged_id = purged["id"].as_str().unwrap();
    store_legacy_key(&app, &workspace, renamed_id, "legacy one (old folding)").await;
    store_legacy_key(&app, &workspace, purged_id, "legacy two (old folding)").await;

    let response = app
        .request("PUT", &format!("/api/credentials/{renamed_id}"))
        .key(&key)
        .json(&json!({"name": "renamed"}))
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    app.request("DELETE", &format!("/api/credentials/{purged_id}/permanent"))
        .key(&key)
        .send()
        .await;
    let mut reservations: Vec<String> = app
        .items("NAME#")
        .await
        .iter()
        .map(|i| i["sk"].as_s().unwrap().clone())
        .collect();
    reservations.sort();
    assert_eq!(reservations, ["NAME#renamed"]);
    // Both old names are free again.
    app.create(&key, body("Legacy-One")).await;
    app.create(&key, body("Legacy-Two")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_forgets_the_idempotency_record() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let body = json!({"name": "once", "type": "password", "config": {"password": secret("p")}});
    let send = || {
        app.request("POST", "/api/credentials")
            .key(&key)
            .header("idempotency-key", "purge-then-retry")
            .json(&body)
            .send()
    };
    let first = send().await;
    assert_eq!(first.status, 201);
    let id = first.body["data"]["id"].as_str().unwrap().to_owned();
    let purge = app
        .request("DELETE", &format!("/api/credentials/{id}/permanent"))
        .key(&key)
        .send()
        .await;
    assert_eq!(purge.status, 200, "{}", purge.text);
    assert!(app.items("IDEM#").await.is_empty());
    // A retry after purge creates anew instead of replaying a 201 that points at a 404.
    let again = send().await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert!(again.header("idempotent-replayed").is_none());
    assert_ne!(again.body["data"]["id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn names_and_keys_that_embed_a_credential_are_refused() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let token = format!("ghp_{}", alnum(36));
    let url = format!("postgres://etl:Pw{}@db.example.com/prod", alnum(16));
    for (body, field) in [
        (
            json!({"name": token, "type": "password", "config": {"password": secret("p")}}),
            "name",
        ),
        (
            json!({"name": url, "type": "password", "config": {"password": secret("p")}}),
            "name",
        ),
        (
            json!({"name": "k", "type": "password", "config": {"password": secret("p"), token.clone(): 1}}),
            "config",
        ),
    ] {
        let response = app
            .request("POST", "/api/credentials")
            .key(&key)
            .json(&body)
            .send()
            .await;
        response.assert_error(400, "validation_failed");
        assert_eq!(response.body["error"]["details"][0]["field"], field);
        assert!(!response.text.contains(&token) && !response.text.contains(&url));
    }
    // A rename too.
    let created = app
        .create(
            &key,
            json!({"name": "plain", "type": "password", "config": {"password": secret("p")}}),
        )
        .await;
    app.request(
        "PUT",
        &format!("/api/credentials/{}", created["id"].as_str().unwrap()),
    )
    .key(&key)
    .json(&json!({"name": url}))
    .send()
    .await
    .assert_error(400, "validation_failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn items_of_the_previous_shape_are_migrated_by_the_admin_command() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app
        .key(&workspace, credentials_core::auth::Scope::ALL)
        .await;
    let created = app
        .create(
            &key,
            json!({"name": "old", "type": "password", "config": {"password": secret("p")}}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    // Put both items back into the shape an earlier version wrote.
    let client = aws_sdk_dynamodb::Client::new(&app.sdk);
    let cred = app.credential_item(id).await;
    client
        .update_item()
        .table_name(&app.table)
        .key("pk", cred["pk"].clone())
        .key("sk", cred["sk"].clone())
        .update_expression("REMOVE secret_fields")
        .send()
        .await
        .unwrap();
    let api_key = app
        .items("APIKEY")
        .await
        .into_iter()
        .find(|i| i["sk"].as_s().unwrap() == "APIKEY")
        .unwrap();
    client
        .update_item()
        .table_name(&app.table)
        .key("pk", api_key["pk"].clone())
        .key("sk", api_key["sk"].clone())
        .update_expression("SET gsi1pk = :pk, gsi1sk = :sk REMOVE gsi3pk, gsi3sk")
        .expression_attribute_values(":pk", AttributeValue::S(workspace_pk(&workspace)))
        .expression_attribute_values(":sk", AttributeValue::S("apikey#old".into()))
        .send()
        .await
        .unwrap();
    assert!(app
        .state
        .store
        .list_api_keys(&workspace)
        .await
        .unwrap()
        .is_empty());

    let report = app.state.store.migrate_items().await.unwrap();
    assert_eq!((report.credentials, report.api_keys), (1, 1));
    let list = app
        .request("GET", "/api/credentials")
        .key(&key)
        .send()
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["data"][0]["secret_fields"], json!(["password"]));
    assert_eq!(
        app.state
            .store
            .list_api_keys(&workspace)
            .await
            .unwrap()
            .len(),
        1
    );
    // Again: nothing left to do.
    let again = app.state.store.migrate_items().await.unwrap();
    assert_eq!((again.credentials, again.api_keys), (0, 0));
}

/// A credential written before undeclared fields were sealed keeps showing them (nothing
/// changes classification silently) until the operator seals them with
/// `migrate --seal-undeclared`, which counts first and then seals with an audit event.
#[tokio::test(flavor = "multi_thread")]
async fn legacy_visible_undeclared_fields_stay_until_the_operator_seals_them() {
    let app = TestApp::new().await;
    let workspace = unique("ws");
    let key = app
        .key(&workspace, credentials_core::auth::Scope::ALL)
        .await;
    let created = app
        .create(
            &key,
            json!({"name": "legacy", "type": "password", "visible_fields": ["team", "note"],
                   "config": {"password": secret("p"), "team": "data", "note": "old"}}),
        )
        .await;
    let id = created["id"].as_str().unwrap();
    // Back to the shape an earlier version wrote: no stored `visible_fields`.
    let client = aws_sdk_dynamodb::Client::new(&app.sdk);
    let cred = app.credential_item(id).await;
    client
        .update_item()
        .table_name(&app.table)
        .key("pk", cred["pk"].clone())
        .key("sk", cred["sk"].clone())
        .update_expression("REMOVE visible_fields")
        .send()
        .await
        .unwrap();
    let path = format!("/api/credentials/{id}");
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(got.body["data"]["config"]["team"], "data");
    assert_eq!(got.body["data"]["visible_fields"], json!(["team", "note"]));

    let dry = credentials_core::service::maintenance::seal_undeclared(&app.state, true)
        .await
        .unwrap();
    assert_eq!((dry.candidates, dry.sealed), (1, 0));
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(
        got.body["data"]["config"]["team"], "data",
        "a dry run writes nothing"
    );

    let done = credentials_core::service::maintenance::seal_undeclared(&app.state, false)
        .await
        .unwrap();
    assert_eq!((done.candidates, done.sealed, done.skipped), (1, 1, 0));
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(got.body["data"]["config"], json!({}));
    assert_eq!(
        got.body["data"]["secret_fields"],
        json!(["note", "password", "team"])
    );
    assert_eq!(got.body["data"]["visible_fields"], json!([]));
    let resolver = app
        .key(&workspace, &[credentials_core::auth::Scope::Resolve])
        .await;
    let resolved = app.resolve(&resolver, id, "pipeline:check/1").await;
    assert_eq!(resolved.body["data"]["config"]["team"], "data");
    let events = app
        .request("GET", &format!("/api/audit-events?credential_id={id}"))
        .key(&key)
        .send()
        .await;
    let sealing = &events.body["data"][1];
    assert_eq!(sealing["action"], "credential.updated");
    assert_eq!(sealing["actor"]["type"], "admin");
    assert_eq!(
        sealing["changes"],
        json!(["config.note", "config.team", "visible_fields"])
    );
    // Again: nothing left to seal.
    let again = credentials_core::service::maintenance::seal_undeclared(&app.state, false)
        .await
        .unwrap();
    assert_eq!(again.candidates, 0);
}
