//! The secret boundary: whatever a client calls a field and however it writes a credential
//! into a value, the value comes back in no answer (create, get, list, update, idempotent
//! replay), no log line, no index entry and no stored attribute outside the sealed ones.
//! The same boundary for visible fields is in `boundary_visible`, for names and keys in
//! `boundary_names`, and for items an earlier version wrote in `boundary_migration`.

use aws_sdk_dynamodb::types::AttributeValue;
use credentials_core::store::{workspace_pk, GSI_BY_STATUS};
use serde_json::{json, Value};
use test_harness::logs::assert_not_logged;
use test_harness::{secret, unique, Item, TestApp};

/// A fresh token-shaped run of `len` alphanumerics (so that each case's value is unique).
pub(crate) fn alnum(len: usize) -> String {
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
pub(crate) async fn unsealed_text(app: &TestApp) -> String {
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
