//! The rules of one config field: its key, its value against the type's schema, and where
//! it goes. A declared field keeps its declared flag; an undeclared one is sealed unless the
//! client lists it in `visible_fields`. Text that will be shown (declared visible fields
//! and client-visible ones) is refused when it embeds a credential.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::{is_plain_key, MAX_CONFIG_FIELDS, MAX_LIST_ITEMS, MAX_SECRET_CHARS, MAX_TEXT_CHARS};
use crate::domain::schema::{self, FieldKind};
use crate::domain::{classify, CredentialType, SecretValue};
use crate::error::FieldIssue;

pub(super) fn config_field(key: &str) -> String {
    format!("config.{key}")
}

/// Checks one config key; returns false (after recording why) when it is unusable. Keys
/// are shown by every answer (visible settings and `secret_fields`), so a key that is
/// itself a credential (a pasted token) is refused too. The key is never quoted back.
pub(super) fn check_key(key: &str, issues: &mut Vec<FieldIssue>) -> bool {
    if !is_plain_key(key) {
        issues.push(FieldIssue::new(
            "config",
            "keys must start with a letter and contain only letters, digits and underscores (at most 64)",
        ));
        false
    } else if classify::value_rule(key).is_some() {
        issues.push(FieldIssue::new(
            "config",
            "keys must not embed a credential (a token pasted as a key)",
        ));
        false
    } else {
        true
    }
}

pub(super) fn is_clean_text(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

/// A port as JSON Schema's `integer` reads it (see [`super::whole_number`]), from 1 to
/// 65535.
fn port_number(n: &serde_json::Number) -> Option<u16> {
    let whole = super::whole_number(&Value::Number(n.clone()))?;
    u16::try_from(whole).ok().filter(|&p| p >= 1)
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

/// Every string a visible value shows (itself, or each list element) is checked against
/// the embedded-credential rules; `identifier` fields may look random.
fn check_shown_text(value: &Value, identifier: bool) -> Result<(), &'static str> {
    let strings: Vec<&str> = match value {
        Value::String(s) => vec![s],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    match strings
        .into_iter()
        .find_map(|s| classify::visible_value_rule(s, identifier))
    {
        Some(rule) => Err(rule.describe()),
        None => Ok(()),
    }
}

/// A visible value against its declared kind (`None`: a client-visible free-form field),
/// then against the embedded-credential rules. A port is stored as the integer it is.
fn visible_value(kind: Option<FieldKind>, value: Value) -> Result<Value, &'static str> {
    let value = match (kind, value) {
        (_, Value::Null) => return Err("must not be null"),
        (Some(FieldKind::Port), Value::Number(n)) => match port_number(&n) {
            Some(port) => Value::from(port),
            None => return Err("must be an integer between 1 and 65535"),
        },
        (Some(FieldKind::Port), _) => return Err("must be an integer between 1 and 65535"),
        (Some(FieldKind::Number), v @ Value::Number(_)) => v,
        (Some(FieldKind::Number), _) => return Err("must be a number"),
        (Some(FieldKind::Flag), v @ Value::Bool(_)) => v,
        (Some(FieldKind::Flag), _) => return Err("must be true or false"),
        (Some(FieldKind::OneOf(allowed)), Value::String(s)) => {
            if !allowed.contains(&s.as_str()) {
                return Err("is not one of the supported values");
            }
            Value::String(s)
        }
        (Some(FieldKind::OneOf(_)), _) => return Err("must be a string"),
        (Some(FieldKind::TextList), Value::Array(items)) => {
            check_text_list(&items)?;
            Value::Array(items)
        }
        (Some(FieldKind::TextList), _) => return Err("must be a list of strings"),
        (Some(FieldKind::Text | FieldKind::Id), Value::String(s)) => {
            check_text(&s)?;
            Value::String(s)
        }
        (Some(FieldKind::Text | FieldKind::Id), _) => return Err("must be a string"),
        // Client-visible: scalars or lists of strings, never nested objects.
        (None, Value::String(s)) => {
            check_text(&s)?;
            Value::String(s)
        }
        (None, v @ (Value::Number(_) | Value::Bool(_))) => v,
        (None, Value::Array(items)) => {
            check_text_list(&items)?;
            Value::Array(items)
        }
        (None, Value::Object(_)) => return Err("a visible field cannot hold an object"),
    };
    check_shown_text(&value, kind == Some(FieldKind::Id))?;
    Ok(value)
}

/// A secret string: non-empty, at most 16384 characters, no NUL, not a masking placeholder.
fn secret_text(s: String) -> Result<SecretValue, &'static str> {
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
        Ok(SecretValue::text(secret))
    }
}

/// A value to seal: a declared secret takes a string; an undeclared field takes a string, a
/// number, a boolean or a list of strings (a non-string is sealed as its JSON text, at most
/// 16384 characters).
fn sealed_value(declared_secret: bool, value: Value) -> Result<SecretValue, &'static str> {
    match value {
        Value::String(s) => secret_text(s),
        Value::Null => Err("must not be null"),
        _ if declared_secret => Err("must be a string"),
        Value::Object(_) => Err("must be a string, a number, a boolean or a list of strings"),
        Value::Array(items) if check_text_list(&items).is_err() => {
            Err("must be a list of non-empty strings of at most 256 characters")
        }
        other => {
            let sealed = SecretValue::json(&other);
            if sealed.expose().chars().count() > MAX_SECRET_CHARS {
                Err("must be at most 16384 characters")
            } else {
                Ok(sealed)
            }
        }
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
    /// Sealed: a declared secret, or an undeclared field the client did not ask to see.
    Secret(SecretValue),
    /// Shown: a declared visible field or a client-visible one, checked.
    Visible(Value),
}

/// The one placement rule (see the module docs).
pub(super) fn place(
    kind: CredentialType,
    key: &str,
    value: Value,
    visible_fields: &[String],
) -> Result<Placement, &'static str> {
    match schema::declared(kind, key) {
        Some(field) if field.secret => sealed_value(true, value).map(Placement::Secret),
        Some(field) => visible_value(Some(field.kind), value).map(Placement::Visible),
        None if visible_fields.iter().any(|v| v == key) => {
            visible_value(None, value).map(Placement::Visible)
        }
        None => sealed_value(false, value).map(Placement::Secret),
    }
}

/// Required fields missing from the final state of a credential.
pub(super) fn check_required(
    kind: CredentialType,
    config: &Map<String, Value>,
    mut secret_names: impl FnMut(&str) -> bool,
    issues: &mut Vec<FieldIssue>,
) {
    for field in schema::fields(kind).iter().filter(|f| f.required) {
        let present = if field.secret {
            secret_names(field.name)
        } else {
            config.contains_key(field.name)
        };
        if !present {
            issues.push(FieldIssue::new(config_field(field.name), "is required"));
        }
    }
}

/// Checks a `visible_fields` list: at most 50 distinct plain keys, none declared by the
/// type, none embedding a credential. Problems are reported by position, never quoted.
pub(super) fn visible_fields(
    kind: CredentialType,
    value: Value,
    issues: &mut Vec<FieldIssue>,
) -> Option<Vec<String>> {
    let Value::Array(items) = value else {
        issues.push(FieldIssue::new(
            "visible_fields",
            "must be a list of field names",
        ));
        return None;
    };
    if items.len() > MAX_CONFIG_FIELDS {
        issues.push(FieldIssue::new(
            "visible_fields",
            "must have at most 50 names",
        ));
        return None;
    }
    let mut names: Vec<String> = Vec::with_capacity(items.len());
    let before = issues.len();
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("visible_fields[{i}]");
        match item {
            Value::String(name) if !is_plain_key(&name) => issues.push(FieldIssue::new(
                at,
                "must be a field name: a letter, then letters, digits and underscores (at most 64)",
            )),
            Value::String(name) if classify::value_rule(&name).is_some() => {
                issues.push(FieldIssue::new(at, "must not embed a credential"))
            }
            Value::String(name) if schema::declared(kind, &name).is_some() => issues.push(
                FieldIssue::new(at, "is declared by the type: its declared flag applies"),
            ),
            Value::String(name) if names.contains(&name) => {
                issues.push(FieldIssue::new(at, "is listed twice"))
            }
            Value::String(name) => names.push(name),
            _ => issues.push(FieldIssue::new(at, "must be a string")),
        }
    }
    (issues.len() == before).then_some(names)
}
