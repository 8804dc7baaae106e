//! Bad input: a clear 4xx with a stable code, no echo of what was sent, nothing written.

use serde_json::json;
use test_harness::{database_body, secret, TestApp};

/// Only the API keys (each a key item and its id item) and their `api_key.created` audit
/// events are in the table.
async fn assert_nothing_written(app: &TestApp) {
    let all = app.scan().await.len();
    let keys = app.items("APIKEY").await.len();
    let key_events = app.items("EVT#").await.len();
    assert_eq!(keys, 2 * key_events, "one api_key.created event per key");
    assert_eq!(
        all,
        keys + key_events,
        "a refused request left items behind"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_and_content_types() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let marker = secret("echo");
    let cases: [(&str, Vec<u8>, u16, &str); 6] = [
        (
            "application/json",
            format!("{{\"name\": \"{marker}").into_bytes(),
            400,
            "invalid_json",
        ),
        (
            "application/json",
            format!("[\"{marker}\"").into_bytes(),
            400,
            "invalid_json",
        ),
        (
            "application/json",
            vec![0xff, 0xfe, 0x00],
            400,
            "invalid_json",
        ),
        ("text/plain", b"{}".to_vec(), 415, "unsupported_media_type"),
        ("", b"{}".to_vec(), 415, "unsupported_media_type"),
        (
            "application/xml",
            b"<a/>".to_vec(),
            415,
            "unsupported_media_type",
        ),
    ];
    for (content_type, body, status, code) in cases {
        let response = app
            .request("POST", "/api/credentials")
            .key(&key)
            .raw_body(content_type, body)
            .send()
            .await;
        response.assert_error(status, code);
        assert!(
            !response.text.contains(&marker),
            "error echoed input: {}",
            response.text
        );
    }
    // Parameters on the media type are fine.
    let (body, _) = database_body("with-charset");
    let ok = app
        .request("POST", "/api/credentials")
        .key(&key)
        .raw_body(
            "application/json; charset=utf-8",
            serde_json::to_vec(&body).unwrap(),
        )
        .send()
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_types_unknown_fields_and_schema_violations() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let marker = secret("echo");
    let cases = [
        (json!([1, 2]), vec![("body", "must be a JSON object")]),
        (
            json!({"name": 5, "type": "database", "config": {"host": "h"}}),
            vec![("name", "must be a string")],
        ),
        (
            json!({"name": "n", "type": marker, "config": {}}),
            vec![(
                "type",
                "must be one of aws, azure, gcp, database, api_key, oauth, password",
            )],
        ),
        (
            json!({"type": "database", "config": {"host": "h"}}),
            vec![("name", "is required")],
        ),
        (
            json!({"name": "n", "config": {"host": "h"}}),
            vec![("type", "is required")],
        ),
        (
            json!({"name": "n", "type": "database", "config": "host=h"}),
            vec![("config", "must be an object")],
        ),
        (
            json!({"name": "n", "type": "database", "config": {"host": "h", "port": marker}}),
            vec![("config.port", "must be an integer between 1 and 65535")],
        ),
        (
            json!({"name": "n", "type": "database", "config": {"host": "h", "port": 70000}}),
            vec![("config.port", "must be an integer between 1 and 65535")],
        ),
        (
            json!({"name": "n", "type": "database", "config": {"host": "h", "engine": marker}}),
            vec![("config.engine", "is not one of the supported values")],
        ),
        (
            json!({"name": "n", "type": "database", "config": {"host": "h", "password": 12345}}),
            vec![("config.password", "must be a string")],
        ),
        (
            json!({"name": "n", "type": "database", "config": {"host": "h", "password": ""}}),
            vec![("config.password", "must not be empty")],
        ),
        (
            json!({"name": "n", "type": "database", "config": {}}),
            vec![("config.host", "is required")],
        ),
        (
            json!({"name": "n", "type": "password", "config": {"username": "u"}}),
            vec![("config.password", "is required")],
        ),
        (
            json!({"name": "n", "type": "database", "id": "cred_x", "config": {"host": "h"}}),
            vec![("body.keys[2]", "is not a known field")],
        ),
        (
            json!({"name": "a\u{0}b", "type": "database", "config": {"host": "h"}}),
            vec![("name", "must not contain control characters")],
        ),
        (
            json!({"name": "x".repeat(129), "type": "database", "config": {"host": "h"}}),
            vec![("name", "must be at most 128 characters")],
        ),
        (
            json!({"name": "n", "type": "database", "config": {"host": "h", "nested": {"password": marker}}}),
            vec![(
                "config.nested",
                "must be a string, a number, a boolean or a list of strings",
            )],
        ),
        (
            json!({"name": "n", "type": "database", "config": {"host": "x".repeat(2049)}}),
            vec![
                ("config.host", "must be at most 2048 characters"),
                ("config.host", "is required"),
            ],
        ),
        // A free-form string too long to show is sealed, held to the secrets' bound.
        (
            json!({"name": "n", "type": "database", "config": {"host": "h", "big": "x".repeat(16 * 1024 + 1)}}),
            vec![("config.big", "must be at most 16384 characters")],
        ),
        (
            json!({"name": "n", "type": "database", "config": {"host": "h", "password": "x".repeat(16 * 1024 + 1)}}),
            vec![("config.password", "must be at most 16384 characters")],
        ),
    ];
    for (body, expected) in cases {
        let response = app
            .request("POST", "/api/credentials")
            .key(&key)
            .json(&body)
            .send()
            .await;
        response.assert_error(400, "validation_failed");
        let details: Vec<(String, String)> = response.body["error"]["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["field"].as_str().unwrap().to_owned(),
                    d["issue"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(f, i)| (f.to_owned(), i.to_owned()))
            .collect();
        assert_eq!(details, expected, "{body}");
        assert!(
            !response.text.contains(&marker),
            "error echoed input: {}",
            response.text
        );
    }
    // Too many fields.
    let many: serde_json::Map<String, serde_json::Value> =
        (0..51).map(|i| (format!("f{i}"), json!("v"))).collect();
    app.request("POST", "/api/credentials")
        .key(&key)
        .json(&json!({"name": "n", "type": "database", "config": many}))
        .send()
        .await
        .assert_error(400, "validation_failed");
    assert_nothing_written(&app).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_over_256_kib_are_413() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let padding = "x".repeat(256 * 1024);
    let body = json!({"name": "big", "type": "database", "config": {"host": padding}});
    app.request("POST", "/api/credentials")
        .key(&key)
        .json(&body)
        .send()
        .await
        .assert_error(413, "payload_too_large");
    let created = app.create(&key, database_body("small").0).await;
    app.request(
        "PUT",
        &format!("/api/credentials/{}", created["id"].as_str().unwrap()),
    )
    .key(&key)
    .json(&json!({"config": {"host": "x".repeat(300 * 1024)}}))
    .send()
    .await
    .assert_error(413, "payload_too_large");
}

#[tokio::test(flavor = "multi_thread")]
async fn update_rules() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app.create(&key, database_body("updatable").0).await;
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
    // Another type is well-formed but the credential's type is fixed: 409, and a body with
    // a 400 problem as well is answered 400 first.
    let retyped = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"type": "aws", "name": "renamed"}))
        .send()
        .await;
    retyped.assert_error(409, "conflict");
    assert_eq!(
        retyped.body["error"]["details"],
        json!([{"field": "type", "issue": "cannot be changed"}])
    );
    app.request("PUT", &path)
        .key(&key)
        .json(&json!({"type": "aws", "name": ""}))
        .send()
        .await
        .assert_error(400, "validation_failed");
    let cases = [
        (
            json!({"status": "deleted"}),
            "body.keys[0]",
            "is not a known field",
        ),
        (
            json!({"config": {"host": null}}),
            "config.host",
            "is required",
        ),
        (
            json!({"config": {"port": 0}}),
            "config.port",
            "must be an integer between 1 and 65535",
        ),
        (
            json!({"name": ""}),
            "name",
            credentials_core::domain::names::ISSUE_EMPTY,
        ),
        (
            json!({"config": {"password": 1}}),
            "config.password",
            "must be a string",
        ),
    ];
    for (body, field, issue) in cases {
        let response = app.request("PUT", &path).key(&key).json(&body).send().await;
        response.assert_error(400, "validation_failed");
        assert_eq!(
            response.body["error"]["details"],
            json!([{"field": field, "issue": issue}]),
            "{body}"
        );
    }
    app.request("PUT", &path)
        .key(&key)
        .raw_body("application/json", b"{".to_vec())
        .send()
        .await
        .assert_error(400, "invalid_json");
    app.request("PUT", &path)
        .key(&key)
        .raw_body("text/plain", b"{}".to_vec())
        .send()
        .await
        .assert_error(415, "unsupported_media_type");
    // Nothing changed.
    let got = app.request("GET", &path).key(&key).send().await;
    assert_eq!(got.body["data"], created);
    // An empty object and the same name are no-ops that still succeed.
    let same = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"name": "updatable", "type": "database"}))
        .send()
        .await;
    assert_eq!(same.status, 200, "{}", same.text);
    assert_eq!(same.body["data"]["config"], created["config"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn junk_ids_are_404_and_unknown_routes_are_refused() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    for id in [
        "nope",
        "cred_",
        "cred_01j9k2m4n5p6q7r8",
        "CRED_01M8J7DE87N7WFCCJAKZAM45HZ",
        "cred_01m8j7de87n7wfccjakzam45hz",
        "%00",
        "cred_01m8j7de87n7wfccjakzam45h%2F",
    ] {
        for (method, suffix) in [
            ("GET", ""),
            ("DELETE", ""),
            ("POST", "/restore"),
            ("DELETE", "/permanent"),
        ] {
            app.request(method, &format!("/api/credentials/{id}{suffix}"))
                .key(&key)
                .send()
                .await
                .assert_error(404, "not_found");
        }
    }
    let patch = app
        .request("PATCH", "/api/credentials")
        .key(&key)
        .send()
        .await;
    patch.assert_error(405, "method_not_allowed");
    assert_eq!(patch.header("allow"), Some("GET, POST"));
    let trace = app
        .request(
            "TRACE",
            "/v1/api/credentials/cred_01m8m4rd7w9qptad651jxh2yak/restore",
        )
        .send()
        .await;
    assert_eq!(trace.status, 405);
    assert_eq!(trace.header("allow"), Some("POST"));
    app.request("GET", "/api/secrets")
        .key(&key)
        .send()
        .await
        .assert_error(404, "not_found");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_that_would_outgrow_the_item_limit_is_413_and_changes_nothing() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app
        .create(
            &key,
            json!({"name": "big", "type": "password", "config": {"password": secret("p")}}),
        )
        .await;
    let path = format!("/api/credentials/{}", created["id"].as_str().unwrap());
    // Each update stays under the body limit; together they would pass 400 KB.
    let mut last = None;
    let mut applied = 0;
    for round in 0..3 {
        let config: serde_json::Map<String, serde_json::Value> = (0..15)
            .map(|i| {
                let value = format!("{}{}", secret("big"), "x".repeat(16 * 1024 - 64));
                (format!("blob_secret_{round}_{i}"), json!(value))
            })
            .collect();
        let response = app
            .request("PUT", &path)
            .key(&key)
            .json(&json!({ "config": config }))
            .send()
            .await;
        let ok = response.status == 200;
        last = Some(response);
        if !ok {
            break;
        }
        applied += 1;
    }
    let response = last.unwrap();
    response.assert_error(413, "payload_too_large");
    let got = app.request("GET", &path).key(&key).send().await;
    assert!(applied >= 1, "the first round alone is under the limit");
    assert_eq!(
        got.body["data"]["version"],
        1 + applied,
        "the refused update changed something"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_body_that_claims_base64_and_is_not_is_400_not_a_crash() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let event = json!({
        "version": "2.0",
        "routeKey": "POST /api/credentials",
        "rawPath": "/api/credentials",
        "rawQueryString": "",
        "headers": {"authorization": format!("Bearer {key}"), "content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/api/credentials"}, "requestId": "r-1"},
        "body": "%%% this is not base64 %%%",
        "isBase64Encoded": true
    });
    let response = app.invoke("create-credential", &event).await;
    response.assert_error(400, "invalid_json");
    assert!(app.items("CRED#").await.is_empty());
    // A caller-chosen request id that is not plain text is replaced, never echoed.
    let mut odd = event.clone();
    odd["requestContext"]["requestId"] = json!("evil\nid\u{1b}[31m");
    odd["body"] = json!("e30=");
    let response = app.invoke("create-credential", &odd).await;
    assert_eq!(response.status, 400, "{}", response.text);
    let id = response.header("x-request-id").unwrap();
    assert!(!id.contains("evil") && id.len() == 26, "{id}");
}

/// Bodies as real clients send them: a pretty-printed GCP key file, PEM keys, a 16 KiB
/// secret (in multi-byte characters too), a multi-line free-form value. Each is valid by
/// openapi.yaml and accepted, and no secret comes back.
#[tokio::test(flavor = "multi_thread")]
async fn real_world_bodies_match_the_spec_and_are_accepted() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let canary = secret("real");
    let pem_body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7".repeat(20);
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n{canary}\n-----END PRIVATE KEY-----\n",
        pem_body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let gcp_key_file = serde_json::to_string_pretty(&json!({
        "type": "service_account",
        "project_id": "analytics-prod",
        "private_key_id": canary,
        "private_key": pem,
        "client_email": "etl@analytics-prod.iam.gserviceaccount.com",
        "client_id": "109876543210987654321",
        "token_uri": "https://oauth2.googleapis.com/token",
    }))
    .unwrap();
    assert!(gcp_key_file.contains('\n'));
    let big_ascii = format!("{canary}{}", "x".repeat(16 * 1024 - canary.len()));
    let big_multibyte = format!("{canary}{}", "é".repeat(16 * 1024 - canary.len()));
    let bodies = [
        json!({"name": "gcp-analytics", "type": "gcp", "config": {
            "project_id": "analytics-prod", "credentials_json": gcp_key_file,
            "client_email": "etl@analytics-prod.iam.gserviceaccount.com"}}),
        json!({"name": "sftp-drop", "type": "password", "config": {
            "password": canary, "username": "drop", "url": "sftp://files.example.com",
            "ssh_private_key": pem}}),
        json!({"name": "big-api-key", "type": "api_key", "config": {"api_key": big_ascii}}),
        json!({"name": "big-api-key-2", "type": "api_key", "config": {"api_key": big_multibyte}}),
        json!({"name": "notes-db", "type": "database", "config": {
            "host": "db.example.com", "port": 5432.0, "password": canary,
            "notes": "line one\nline two"}}),
    ];
    for body in bodies {
        assert!(
            test_harness::contract::schema_accepts("/components/schemas/CreateCredential", &body),
            "openapi.yaml refuses {}",
            body["name"]
        );
        let response = app
            .request("POST", "/api/credentials")
            .key(&key)
            .json(&body)
            .send()
            .await;
        assert_eq!(response.status, 201, "{}: {}", body["name"], response.text);
        assert!(!response.text.contains(&canary), "{}", body["name"]);
    }
    // The multi-line free-form value was sealed, not shown; the port is an integer.
    let listed = app
        .request("GET", "/api/credentials?type=database")
        .key(&key)
        .send()
        .await;
    let notes_db = &listed.body["data"][0];
    assert_eq!(notes_db["config"]["port"], 5432);
    assert!(notes_db["config"].get("notes").is_none());
    assert_eq!(notes_db["secret_fields"], json!(["notes", "password"]));
}
