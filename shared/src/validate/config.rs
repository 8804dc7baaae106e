//! The rules of one config field: its key, its value against the type's schema, and where
//! it goes (sealed or visible).

use std::collections::BTreeSet;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::{is_plain_key, MAX_CONFIG_FIELDS, MAX_LIST_ITEMS, MAX_SECRET_CHARS, MAX_TEXT_CHARS};
use crate::domain::schema::{self, FieldKind};
use crate::domain::{classify, CredentialType};
use crate::error::FieldIssue;

pub(super) fn config_field(key: &str) -> String {
    format!("config.{key}")
}

/// Checks one config key; returns false (after recording why) when it is unusable. Keys
/// are shown by every answer, so a key that is itself a credential (a pasted token) is
/// refused too.
pub(super) fn check_key(key: &str, issues: &mut Vec<FieldIssue>) -> bool {
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

pub(super) fn is_clean_text(s: &str) -> bool {
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

pub(super) fn check_text(s: &str) -> Result<(), &'static str> {
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

pub(super) fn config_object(
    value: Option<Value>,
    issues: &mut Vec<FieldIssue>,
) -> Option<Map<String, Value>> {
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
pub(super) enum Placement {
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
pub(super) fn place(
    kind: CredentialType,
    key: &str,
    value: Value,
) -> Result<Placement, &'static str> {
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
pub(super) fn check_required(
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
