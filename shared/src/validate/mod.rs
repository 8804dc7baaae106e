//! Every rule about what a client may send lives here: bodies are parsed into the domain's
//! typed commands ([`NewCredential`], [`CredentialChange`]),
//! each secret value is moved into a [`SecretString`] when its field is placed (the caller's
//! parsed body is not wiped), and every problem is reported as a [`FieldIssue`] that never
//! quotes the submitted value.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

mod config;
#[cfg(test)]
mod properties;

use config::{
    check_key, check_required, config_field, config_object, is_clean_text, place, Placement,
};

use crate::domain::{classify, names};
use crate::domain::{CredentialChange, CredentialType, NewCredential, StoredCredential};
use crate::error::{ApiError, ErrorCode, FieldIssue};

pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub use crate::domain::names::MAX_NAME_CHARS;
pub const MAX_CONFIG_FIELDS: usize = 50;
pub const MAX_KEY_CHARS: usize = 64;
pub const MAX_TEXT_CHARS: usize = 2048;
/// Characters (Unicode scalar values, as JSON Schema's `maxLength` counts) of one secret.
pub const MAX_SECRET_CHARS: usize = 16 * 1024;
pub const MAX_LIST_ITEMS: usize = 50;

/// Parses a JSON body without letting serde's error text (which quotes input) escape.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidJson,
            "The request body is not valid JSON.",
        )
    })
}

fn body_object(value: Value) -> Result<Map<String, Value>, ApiError> {
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::validation(vec![FieldIssue::new(
            "body",
            "must be a JSON object",
        )])),
    }
}

/// A key safe to repeat back in an error's `field`: a plain identifier we can show without
/// echoing arbitrary client text.
pub(super) fn is_plain_key(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= MAX_KEY_CHARS
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn reject_unknown_top_level(
    body: &Map<String, Value>,
    allowed: &[&str],
    issues: &mut Vec<FieldIssue>,
) {
    for key in body.keys() {
        if !allowed.contains(&key.as_str()) {
            let field = if is_plain_key(key) {
                key.clone()
            } else {
                "body".to_owned()
            };
            issues.push(FieldIssue::new(field, "is not a known field"));
        }
    }
}

fn check_name(value: Option<Value>, issues: &mut Vec<FieldIssue>) -> Option<String> {
    match value {
        Some(Value::String(name)) => match names::check_name(&name) {
            // The name is shown by every answer: it may not carry a credential.
            Ok(()) => match classify::value_rule(&name) {
                None => return Some(name),
                Some(rule) => issues.push(FieldIssue::new("name", rule.describe())),
            },
            Err(issue) => issues.push(FieldIssue::new("name", issue)),
        },
        Some(_) => issues.push(FieldIssue::new("name", "must be a string")),
        None => issues.push(FieldIssue::new("name", "is required")),
    }
    None
}

fn check_type(value: Option<Value>, issues: &mut Vec<FieldIssue>) -> Option<CredentialType> {
    match value {
        Some(Value::String(s)) => match CredentialType::parse(&s) {
            Some(kind) => return Some(kind),
            None => issues.push(FieldIssue::new("type", CredentialType::ONE_OF)),
        },
        Some(_) => issues.push(FieldIssue::new("type", "must be a string")),
        None => issues.push(FieldIssue::new("type", "is required")),
    }
    None
}

fn finish<T>(value: Option<T>, issues: Vec<FieldIssue>) -> Result<T, ApiError> {
    match value {
        Some(value) if issues.is_empty() => Ok(value),
        _ => Err(ApiError::validation(issues)),
    }
}

pub const MAX_PURPOSE_CHARS: usize = 200;

/// Validates a resolve body: `{"purpose": "<1–200 printable characters>"}`.
pub fn resolve_purpose(body: Value) -> Result<String, ApiError> {
    let mut body = body_object(body)?;
    let mut issues = Vec::new();
    reject_unknown_top_level(&body, &["purpose"], &mut issues);
    let purpose = match body.remove("purpose") {
        Some(Value::String(p)) if p.trim().is_empty() => {
            issues.push(FieldIssue::new("purpose", "must not be empty"));
            None
        }
        Some(Value::String(p)) if p.chars().count() > MAX_PURPOSE_CHARS => {
            issues.push(FieldIssue::new("purpose", "must be at most 200 characters"));
            None
        }
        Some(Value::String(p)) if !is_clean_text(&p) => {
            issues.push(FieldIssue::new(
                "purpose",
                "must not contain control characters",
            ));
            None
        }
        // The purpose is kept in the audit trail and its log line: never a credential.
        Some(Value::String(p)) => match classify::value_rule(&p) {
            Some(rule) => {
                issues.push(FieldIssue::new("purpose", rule.describe()));
                None
            }
            None => Some(p),
        },
        Some(_) => {
            issues.push(FieldIssue::new("purpose", "must be a string"));
            None
        }
        None => {
            issues.push(FieldIssue::new("purpose", "is required"));
            None
        }
    };
    finish(purpose, issues)
}

/// Validates a create body.
pub fn new_credential(body: Value) -> Result<NewCredential, ApiError> {
    let mut body = body_object(body)?;
    let mut issues = Vec::new();
    reject_unknown_top_level(&body, &["name", "type", "config"], &mut issues);
    let name = check_name(body.remove("name"), &mut issues);
    let kind = check_type(body.remove("type"), &mut issues);
    let raw_config = match body.remove("config") {
        None => Some(Map::new()),
        other => config_object(other, &mut issues),
    };

    let (Some(kind), Some(raw_config)) = (kind, raw_config) else {
        return Err(ApiError::validation(issues));
    };
    let mut config = Map::new();
    let mut secrets = BTreeMap::new();
    for (key, value) in raw_config {
        if !check_key(&key, &mut issues) {
            continue;
        }
        match place(kind, &key, value) {
            Ok(Placement::Secret(secret)) => {
                secrets.insert(key, secret);
            }
            Ok(Placement::Visible(value)) => {
                config.insert(key, value);
            }
            Err(issue) => issues.push(FieldIssue::new(config_field(&key), issue)),
        }
    }
    let secret_names = secrets.keys().map(String::as_str).collect();
    check_required(kind, &config, &secret_names, &mut issues);
    finish(
        name.map(|name| NewCredential {
            name,
            kind,
            config,
            secrets,
        }),
        issues,
    )
}

/// Validates an update body against the credential it would change. Present config keys
/// replace, `null` removes, omitted keys stay; `type` may be sent but not changed (409).
pub fn credential_change(
    body: Value,
    current: &StoredCredential,
) -> Result<CredentialChange, ApiError> {
    let mut body = body_object(body)?;
    let mut issues = Vec::new();
    reject_unknown_top_level(&body, &["name", "type", "config"], &mut issues);

    let rename = match body.remove("name") {
        None => None,
        some => check_name(some, &mut issues).filter(|name| *name != current.name),
    };
    // Another type is a well-formed request the credential's state refuses: 409, once the
    // body has no 400 problem.
    let other_type = match body.remove("type") {
        None => false,
        some => check_type(some, &mut issues).is_some_and(|kind| kind != current.kind),
    };
    let patch = config_object(body.remove("config"), &mut issues).unwrap_or_default();

    let kind = current.kind;
    let mut config = current.config.clone();
    let mut set_secrets = BTreeMap::new();
    let mut remove_secrets = BTreeSet::new();
    for (key, value) in patch {
        if !check_key(&key, &mut issues) {
            continue;
        }
        // A key is in at most one place at a time: a new value may move it between the
        // config and the sealed secrets (a free-form field can change classification).
        let placement = match value {
            Value::Null => None,
            value => match place(kind, &key, value) {
                Ok(placement) => Some(placement),
                Err(issue) => {
                    issues.push(FieldIssue::new(config_field(&key), issue));
                    continue;
                }
            },
        };
        let was_secret = current.secrets.contains_key(&key);
        if !matches!(placement, Some(Placement::Visible(_))) {
            config.shift_remove(&key);
        }
        if was_secret && !matches!(placement, Some(Placement::Secret(_))) {
            remove_secrets.insert(key.clone());
        }
        match placement {
            Some(Placement::Secret(secret)) => {
                set_secrets.insert(key, secret);
            }
            Some(Placement::Visible(value)) => {
                config.insert(key, value);
            }
            None => {}
        }
    }
    let secret_names: BTreeSet<&str> = current
        .secrets
        .keys()
        .map(String::as_str)
        .filter(|k| !remove_secrets.contains(*k))
        .chain(set_secrets.keys().map(String::as_str))
        .collect();
    // The same bound as create, on the credential as it would be stored.
    if config.len() + secret_names.len() > MAX_CONFIG_FIELDS {
        issues.push(FieldIssue::new("config", "must have at most 50 fields"));
    }
    check_required(kind, &config, &secret_names, &mut issues);
    if !issues.is_empty() {
        return Err(ApiError::validation(issues));
    }
    if other_type {
        return Err(ApiError::type_cannot_change());
    }
    Ok(CredentialChange {
        rename,
        config,
        set_secrets,
        remove_secrets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
            debug.contains("password")
                && !debug.contains("pw-value")
                && !debug.contains("key-value"),
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
                ("extra".to_owned(), "is not a known field"),
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
        let bad = new_credential(
            json!({"name": "a\u{7}b", "type": "password", "config": {"password": "x"}}),
        );
        assert!(bad.is_err());
        let good = new_credential(
            json!({"name": "Zürich-数据库", "type": "password", "config": {"password": "x"}}),
        );
        assert!(good.is_ok());
    }

    #[test]
    fn nested_objects_and_odd_keys_are_rejected() {
        let err = new_credential(json!({"name": "n", "type": "password", "config": {"password": "x", "opts": {"a": 1}, "bad key": 1}}))
            .unwrap_err();
        assert_eq!(
            issues(err),
            [
                ("config.opts".to_owned(), "nested objects are not supported"),
                (
                    "config".to_owned(),
                    "keys must start with a letter and contain only letters, digits and underscores (at most 64)"
                ),
            ]
        );
    }
}
