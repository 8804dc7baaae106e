//! Unit tests of `validate`: numbers as JSON Schema reads them, and create bodies.

use super::*;
use serde_json::json;

#[test]
fn whole_numbers_read_as_json_schema_integers() {
    for (value, expected) in [
        (json!(21), Some(21)),
        (json!(21.0), Some(21)),
        (json!(2.1e1), Some(21)),
        (json!(0), Some(0)),
        (json!(21.5), None),
        (json!(-1), None),
        (json!(-1.0), None),
        (json!(1e300), None),
        (json!("21"), None),
    ] {
        assert_eq!(whole_number(&value), expected, "{value}");
    }
}

fn issues(err: ApiError) -> Vec<(String, &'static str)> {
    err.details
        .into_iter()
        .map(|d| (d.field, d.issue))
        .collect()
}

#[test]
fn splits_secrets_from_config() {
    let input = new_credential(json!({
        "name": "staging-postgres-etl",
        "type": "database",
        "config": {"engine": "postgresql", "host": "db", "port": 5432, "password": "pw-value", "ssh_private_key": "key-value"}
    }))
    .unwrap();
    assert_eq!(
        input.config.keys().collect::<Vec<_>>(),
        ["engine", "host", "port"]
    );
    assert_eq!(
        input.secrets.keys().collect::<Vec<_>>(),
        ["password", "ssh_private_key"]
    );
    let debug = format!("{input:?}");
    assert!(
        debug.contains("password") && !debug.contains("pw-value") && !debug.contains("key-value"),
        "{debug}"
    );
}

#[test]
fn reports_every_problem_without_quoting_values() {
    let err = new_credential(json!({
        "name": "",
        "type": "database",
        "extra": 1,
        "config": {"port": "5432-leaked", "password": 7}
    }))
    .unwrap_err();
    let rendered = format!("{err:?}");
    assert!(!rendered.contains("leaked"));
    assert_eq!(
        issues(err),
        [
            ("body.keys[2]".to_owned(), "is not a known field"),
            ("name".to_owned(), crate::domain::names::ISSUE_EMPTY),
            (
                "config.port".to_owned(),
                "must be an integer between 1 and 65535"
            ),
            ("config.password".to_owned(), "must be a string"),
            ("config.host".to_owned(), "is required"),
        ]
    );
}

#[test]
fn port_bounds() {
    for (port, ok) in [
        (json!(0), false),
        (json!(1), true),
        (json!(65535), true),
        (json!(65536), false),
        (json!(5432.5), false),
        (json!(-1), false),
        (json!(65535.0), true),
        (json!(0.0), false),
        (json!(1e300), false),
    ] {
        let result = new_credential(
            json!({"name": "n", "type": "database", "config": {"host": "h", "port": port}}),
        );
        assert_eq!(result.is_ok(), ok, "{port}");
    }
    // JSON Schema's `integer` is any number without a fraction: stored as an integer.
    for raw in ["5432", "5432.0", "5.432e3"] {
        let body =
            format!(r#"{{"name":"n","type":"database","config":{{"host":"h","port":{raw}}}}}"#);
        let input = new_credential(serde_json::from_str(&body).unwrap()).unwrap();
        assert_eq!(input.config["port"], json!(5432), "{raw}");
        assert!(input.config["port"].is_u64(), "{raw}");
    }
}

#[test]
fn names_with_control_characters_are_rejected_but_unicode_is_fine() {
    let bad =
        new_credential(json!({"name": "a\u{7}b", "type": "password", "config": {"password": "x"}}));
    assert!(bad.is_err());
    let good = new_credential(
        json!({"name": "Zürich-数据库", "type": "password", "config": {"password": "x"}}),
    );
    assert!(good.is_ok());
}

#[test]
fn odd_keys_and_objects_are_refused_and_other_undeclared_values_are_sealed() {
    let err = new_credential(json!({"name": "n", "type": "password", "config": {"password": "x", "opts": {"a": 1}, "bad key": 1}}))
        .unwrap_err();
    assert_eq!(
        issues(err),
        [
            (
                "config.opts".to_owned(),
                "must be a string, a number, a boolean or a list of strings"
            ),
            (
                "config".to_owned(),
                "keys must start with a letter and contain only letters, digits and underscores (at most 64)"
            ),
        ]
    );
    let input = new_credential(json!({"name": "n", "type": "password", "config": {
        "password": "x", "retries": 3, "tags": ["a"], "note": "hi"}}))
    .unwrap();
    assert!(input.config.is_empty());
    assert_eq!(
        input.secrets.keys().collect::<Vec<_>>(),
        ["note", "password", "retries", "tags"]
    );
    assert_eq!(input.secrets["retries"].expose(), "3");
    assert_eq!(
        input.secrets["retries"].encoding,
        crate::domain::Encoding::Json
    );
    assert_eq!(
        input.secrets["note"].encoding,
        crate::domain::Encoding::Text
    );
}

#[test]
fn visible_fields_show_undeclared_fields_after_the_same_checks_as_declared_ones() {
    let body = |note: &str| {
        json!({"name": "n", "type": "password", "visible_fields": ["team", "note"],
               "config": {"password": "x", "team": "data", "note": note, "other": "y"}})
    };
    let input = new_credential(body("nightly loads")).unwrap();
    assert_eq!(input.config.keys().collect::<Vec<_>>(), ["team", "note"]);
    assert_eq!(
        input.secrets.keys().collect::<Vec<_>>(),
        ["other", "password"]
    );
    assert_eq!(input.visible_fields, ["team", "note"]);
    let refused = new_credential(body("postgres://etl:pw@db/prod")).unwrap_err();
    assert_eq!(
        issues(refused),
        [(
            "config.note".to_owned(),
            "must not embed a credential (a password before a host)"
        )]
    );
    let declared = new_credential(json!({"name": "n", "type": "password",
        "visible_fields": ["url", "ok", "bad key", "ok"], "config": {"password": "x"}}))
    .unwrap_err();
    assert_eq!(
        issues(declared),
        [
            (
                "visible_fields[0]".to_owned(),
                "is declared by the type: its declared flag applies"
            ),
            (
                "visible_fields[2]".to_owned(),
                "must be a field name: a letter, then letters, digits and underscores (at most 64)"
            ),
            ("visible_fields[3]".to_owned(), "is listed twice"),
        ]
    );
}
