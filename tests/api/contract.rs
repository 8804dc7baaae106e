//! The contract check itself: it must catch what it is there to catch.

use std::collections::BTreeSet;

use credentials_core::error::ErrorCode;
use credentials_core::http::Route;
use serde_json::json;
use test_harness::contract::{check, SPEC};

fn credential() -> serde_json::Value {
    json!({"data": {
        "id": "cred_01m8j7de87n7wfccjakzam45hz", "name": "n", "type": "database", "status": "active",
        "created_at": "2025-03-20T09:15:22Z", "updated_at": "2025-03-20T09:15:22Z",
        "config": {"host": "h", "port": 5432}, "secret_fields": ["password"], "visible_fields": [],
        "secret_version": 1, "rotation_grace_seconds": 86400, "max_versions": 10, "auth_status": "ok", "version": 1
    }})
}

#[test]
fn a_conforming_body_passes() {
    check(
        "GET",
        "/api/credentials/cred_01m8j7de87n7wfccjakzam45hz",
        200,
        &credential(),
    );
    check(
        "GET",
        "/v1/api/credentials/cred_01m8j7de87n7wfccjakzam45hz",
        200,
        &credential(),
    );
}

#[test]
#[should_panic(expected = "breaks openapi.yaml")]
fn a_missing_field_is_caught() {
    let mut body = credential();
    body["data"].as_object_mut().unwrap().remove("version");
    check(
        "GET",
        "/api/credentials/cred_01m8j7de87n7wfccjakzam45hz",
        200,
        &body,
    );
}

#[test]
#[should_panic(expected = "breaks openapi.yaml")]
fn an_extra_field_is_caught() {
    let mut body = credential();
    body["data"]["password"] = json!("leak");
    check(
        "GET",
        "/api/credentials/cred_01m8j7de87n7wfccjakzam45hz",
        200,
        &body,
    );
}

#[test]
#[should_panic(expected = "does not document")]
fn an_undocumented_status_is_caught() {
    check(
        "GET",
        "/api/credentials/cred_01m8j7de87n7wfccjakzam45hz",
        409,
        &json!({}),
    );
}

#[test]
fn the_spec_lists_every_route_under_both_prefixes_and_every_error_code() {
    for route in Route::routed() {
        for prefix in ["", "/v1"] {
            let pointer = format!(
                "/paths/{}{}/{}",
                prefix.replace('/', "~1"),
                route.path().replace('/', "~1"),
                route.method().to_lowercase()
            );
            assert!(SPEC.pointer(&pointer).is_some(), "{pointer} missing");
        }
    }
    let documented: BTreeSet<&str> = SPEC
        .pointer("/components/schemas/Error/properties/error/properties/code/enum")
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let coded: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(documented, coded);
}
