//! Unit tests: reading the resolver's answers (secrets, typed errors, Retry-After) and the
//! request events a resolver sends.

use super::*;

fn result(status: u16, body: Value) -> Vec<u8> {
    json!({"statusCode": status, "headers": {}, "body": body.to_string(), "isBase64Encoded": false})
        .to_string()
        .into_bytes()
}

#[test]
fn a_resolved_credential_keeps_secrets_apart_and_out_of_debug() {
    let body = json!({"data": {
        "id": "cred_1", "name": "db", "type": "database", "status": "active",
        "version": 3, "updated_at": "2025-01-01T00:00:00Z",
        "secret_version": 2, "stage": "current", "rotated_at": "2025-01-01T00:00:00Z",
        "secret_fields": ["password"],
        "config": {"host": "h", "password": "s3cr3t-value"}
    }});
    let resolved = answer(&result(200, body)).unwrap();
    assert_eq!(
        resolved.visible,
        json!({"host": "h"}).as_object().unwrap().clone()
    );
    assert_eq!(
        resolved.secret("password").unwrap().expose_secret(),
        "s3cr3t-value"
    );
    assert!(!format!("{resolved:?}").contains("s3cr3t-value"));
}

fn resolver() -> Resolver {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .build();
    Resolver::new(
        aws_sdk_lambda::Client::from_conf(config),
        "resolve-credential",
        SecretString::from("cak_x".to_owned()),
    )
}

#[test]
fn events_name_the_target_and_the_version() {
    let r = resolver();
    let body = |e: &Value| -> Value { serde_json::from_str(e["body"].as_str().unwrap()).unwrap() };
    let by_id = r.event(&Target::Id("cred_1".into()), Selector::Current, "p");
    assert_eq!(by_id["pathParameters"], json!({"id": "cred_1"}));
    assert_eq!(by_id["rawPath"], "/api/credentials/cred_1/resolve");
    assert_eq!(body(&by_id), json!({"purpose": "p"}));
    let previous = r.event(&Target::Id("cred_1".into()), Selector::Previous, "p");
    assert_eq!(
        body(&previous),
        json!({"purpose": "p", "stage": "previous"})
    );
    let numbered = r.event(&Target::Id("cred_1".into()), Selector::Version(4), "p");
    assert_eq!(body(&numbered), json!({"purpose": "p", "version": 4}));
    let named = r.event(&Target::Name("Orders DB".into()), Selector::Pending, "p");
    assert_eq!(named["pathParameters"], json!({}));
    assert_eq!(named["rawPath"], "/api/credentials/{id}/resolve");
    assert_eq!(
        body(&named),
        json!({"purpose": "p", "stage": "pending", "name": "Orders DB"})
    );
}

#[test]
fn errors_are_typed() {
    let error =
        |status, code: &str| answer(&result(status, json!({"error": {"code": code}}))).unwrap_err();
    assert_eq!(error(404, "not_found"), ResolveError::NotFound);
    assert_eq!(error(409, "credential_deleted"), ResolveError::Deleted);
    assert_eq!(error(409, "version_expired"), ResolveError::VersionExpired);
    assert_eq!(
        error(409, "version_destroyed"),
        ResolveError::VersionDestroyed
    );
    assert_eq!(
        error(409, "reauthorization_required"),
        ResolveError::ReauthorizationRequired
    );
    assert_eq!(error(401, "unauthorized"), ResolveError::Unauthorized);
    assert_eq!(error(403, "forbidden"), ResolveError::Forbidden);
    assert_eq!(
        error(400, "validation_failed"),
        ResolveError::Invalid("validation_failed".into())
    );
    assert_eq!(
        error(503, "service_unavailable"),
        ResolveError::Unavailable { retry_after: None }
    );
    assert_eq!(
        error(409, "token_endpoint_refused"),
        ResolveError::TokenEndpointRefused
    );
    let throttled = json!({"statusCode": 503, "headers": {"Retry-After": "7"},
        "body": json!({"error": {"code": "refresh_in_progress"}}).to_string()});
    assert_eq!(
        answer(throttled.to_string().as_bytes()).err(),
        Some(ResolveError::Unavailable {
            retry_after: Some(Duration::from_secs(7))
        })
    );
    assert!(matches!(
        error(500, "internal_error"),
        ResolveError::Failed(_)
    ));
    assert!(matches!(answer(b"not json"), Err(ResolveError::Failed(_))));
}
