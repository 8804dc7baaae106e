//! Every rule about what a client may send lives here: bodies are parsed into typed inputs,
//! each secret value is moved into a [`SecretString`] when its field is placed (the caller's
//! parsed body is not wiped), and every problem is reported as a [`FieldIssue`] that never
//! quotes the submitted value.

use std::collections::{BTreeMap, BTreeSet};

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorCode, FieldIssue};
use crate::model::{CredentialType, StoredCredential};
use crate::schema::{self, FieldKind};
use crate::{classify, names};

pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub use crate::names::MAX_NAME_CHARS;
pub const MAX_CONFIG_FIELDS: usize = 50;
pub const MAX_KEY_CHARS: usize = 64;
pub const MAX_TEXT_CHARS: usize = 2048;
/// Characters (Unicode scalar values, as JSON Schema's `maxLength` counts) of one secret.
pub const MAX_SECRET_CHARS: usize = 16 * 1024;
pub const MAX_LIST_ITEMS: usize = 50;

/// A validated create request. Its `Debug` output redacts secrets (`SecretString`).
#[derive(Debug)]
pub struct NewCredential {
    pub name: String,
    pub kind: CredentialType,
    pub config: Map<String, Value>,
    pub secrets: BTreeMap<String, SecretString>,
}

/// A validated update, already checked against the credential it applies to.
#[derive(Debug)]
pub struct CredentialChange {
    /// The new name, when it differs from the current one.
    pub rename: Option<String>,
    /// The complete non-secret config after the change.
    pub config: Map<String, Value>,
    /// Secret fields to (re)encrypt.
    pub set_secrets: BTreeMap<String, SecretString>,
    /// Secret fields to drop.
    pub remove_secrets: BTreeSet<String>,
}

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
fn is_plain_key(key: &str) -> bool {
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

fn config_field(key: &str) -> String {
    format!("config.{key}")
}

/// Checks one config key; returns false (after recording why) when it is unusable. Keys
/// are shown by every answer, so a key that is itself a credential (a pasted token) is
/// refused too.
fn check_key(key: &str, issues: &mut Vec<FieldIssue>) -> bool {
    if is_plain_key(key) && classify::value_rule(key).is_none() {
        true
    } else if is_plain_key(key) {
        issues.push(FieldIssue::new(
            "config",
            "keys must not embed a credential (a token pasted as a key)",
        ));
        false
    } else {
        issues.push(FieldIssue::new(
            "config",
            "keys must start with a letter and contain only letters, digits and underscores (at most 64)",
        ));
        false
    }
}

fn is_clean_text(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// A port as JSON Schema's `integer` reads it: any number with no fractional part
/// (`5432`, `5432.0`, `5.432e3`), from 1 to 65535.
fn port_number(n: &serde_json::Number) -> Option<u16> {
    let whole = match n.as_u64() {
        Some(v) => v,
        None => n
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (1.0..=65535.0).contains(f))? as u64,
    };
    u16::try_from(whole).ok().filter(|&p| p >= 1)
}

/// Checks a non-secret value against its declared kind (or the free-form rules).
fn check_public_value(kind: CredentialType, key: &str, value: &Value) -> Result<(), &'static str> {
    let declared = schema::declared(kind, key).map(|f| f.kind);
    match (declared, value) {
        (_, Value::Null) => Err("must not be null"),
        (Some(FieldKind::Port), Value::Number(n)) => match port_number(n) {
            Some(_) => Ok(()),
            None => Err("must be an integer between 1 and 65535"),
        },
        (Some(FieldKind::Port), _) => Err("must be an integer between 1 and 65535"),
        (Some(FieldKind::OneOf(allowed)), Value::String(s)) => {
            if allowed.contains(&s.as_str()) {
                Ok(())
            } else {
                Err("is not one of the supported values")
            }
        }
        (Some(FieldKind::OneOf(_)), _) => Err("must be a string"),
        (Some(FieldKind::TextList), Value::Array(items)) => check_text_list(items),
        (Some(FieldKind::TextList), _) => Err("must be a list of strings"),
        (Some(FieldKind::Text), Value::String(s)) => check_text(s),
        (Some(FieldKind::Text), _) => Err("must be a string"),
        // Free-form settings: scalars or lists of strings, never nested objects (a nested
        // key could hide a secret from the name-based rule).
        (None, Value::String(s)) => check_text(s),
        (None, Value::Number(_) | Value::Bool(_)) => Ok(()),
        (None, Value::Array(items)) => check_text_list(items),
        (None, Value::Object(_)) => Err("nested objects are not supported"),
    }
}

fn check_text(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        Err("must not be empty")
    } else if s.chars().count() > MAX_TEXT_CHARS {
        Err("must be at most 2048 characters")
    } else if !is_clean_text(s) {
        Err("must not contain control characters")
    } else {
        Ok(())
    }
}

fn check_text_list(items: &[Value]) -> Result<(), &'static str> {
    if items.len() > MAX_LIST_ITEMS {
        return Err("must have at most 50 items");
    }
    for item in items {
        match item {
            Value::String(s) if s.chars().count() <= 256 && !s.is_empty() && is_clean_text(s) => {}
            _ => return Err("must be a list of non-empty strings of at most 256 characters"),
        }
    }
    Ok(())
}

/// Moves a secret value out of the JSON tree into a [`SecretString`].
fn take_secret(value: Value) -> Result<SecretString, &'static str> {
    match value {
        Value::String(s) => {
            let secret = SecretString::from(s);
            let text = secret.expose_secret();
            if text.is_empty() {
                Err("must not be empty")
            } else if text.chars().count() > MAX_SECRET_CHARS {
                Err("must be at most 16384 characters")
            } else if text.contains('\0') {
                Err("must not contain NUL characters")
            } else if classify::is_mask_placeholder(text) {
                Err("must be the secret itself, not a masking placeholder such as ******** or [REDACTED]")
            } else {
                Ok(secret)
            }
        }
        Value::Null => Err("must not be null"),
        _ => Err("must be a string"),
    }
}

fn config_object(value: Option<Value>, issues: &mut Vec<FieldIssue>) -> Option<Map<String, Value>> {
    match value {
        Some(Value::Object(map)) => {
            if map.len() > MAX_CONFIG_FIELDS {
                issues.push(FieldIssue::new("config", "must have at most 50 fields"));
                None
            } else {
                Some(map)
            }
        }
        Some(_) => {
            issues.push(FieldIssue::new("config", "must be an object"));
            None
        }
        None => None,
    }
}

/// Where one submitted config value goes.
enum Placement {
    /// Sealed: a declared secret, a field named like one, or a free-form value that
    /// embeds a credential.
    Secret(SecretString),
    Visible(Value),
}

/// The embedded-credential rule a visible value breaks, if any: every string, and every
/// string of a list, is checked.
fn embedded_credential(value: &Value) -> Option<classify::ValueRule> {
    match value {
        Value::String(s) => classify::value_rule(s),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .find_map(classify::value_rule),
        _ => None,
    }
}

/// The one classification of a config field (see `classify` for the rules): a field the
/// type declares uses its declared flag; an undeclared one is secret when its name looks
/// secret or its value embeds a credential. A declared visible field that embeds a
/// credential is refused, naming the rule, never the value.
fn place(kind: CredentialType, key: &str, value: Value) -> Result<Placement, &'static str> {
    let declared = schema::declared(kind, key);
    if schema::is_secret(kind, key) {
        return take_secret(value).map(Placement::Secret);
    }
    match (embedded_credential(&value), declared, value) {
        // An unlabelled random token under a free-form name is sealed too (never refused).
        (None, None, Value::String(text)) if classify::looks_like_random_token(&text) => {
            take_secret(Value::String(text)).map(Placement::Secret)
        }
        // A free-form string that cannot be shown as a visible setting (multi-line, or over
        // 2048 characters) is sealed, held to the rules of secrets: it is far more likely
        // a key or a key file than a setting.
        (None, None, Value::String(text)) if check_text(&text).is_err() && !text.is_empty() => {
            take_secret(Value::String(text)).map(Placement::Secret)
        }
        (None, declared, value) => {
            check_public_value(kind, key, &value)?;
            // A port is stored as the integer it is, however the number was written.
            let value = match (declared.map(|f| f.kind), &value) {
                (Some(FieldKind::Port), Value::Number(n)) => {
                    port_number(n).map_or(value, Value::from)
                }
                _ => value,
            };
            Ok(Placement::Visible(value))
        }
        (Some(rule), Some(_), _) => Err(rule.describe()),
        // A free-form string that is (or holds) a credential is kept as a secret, held to
        // the rules of secrets (16 KiB, newlines allowed: a PEM key is multi-line).
        (Some(_), None, value @ Value::String(_)) => take_secret(value).map(Placement::Secret),
        (Some(rule), None, _) => Err(rule.describe()),
    }
}

/// Required fields missing from the final state of a credential.
fn check_required(
    kind: CredentialType,
    config: &Map<String, Value>,
    secret_names: &BTreeSet<&str>,
    issues: &mut Vec<FieldIssue>,
) {
    for field in schema::fields(kind).iter().filter(|f| f.required) {
        let present = if field.secret {
            secret_names.contains(field.name)
        } else {
            config.contains_key(field.name)
        };
        if !present {
            issues.push(FieldIssue::new(config_field(field.name), "is required"));
        }
    }
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
                ("name".to_owned(), crate::names::ISSUE_EMPTY),
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
