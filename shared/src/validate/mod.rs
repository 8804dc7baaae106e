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
mod resolve;

pub use resolve::{resolve_request, ResolveRequest, MAX_PURPOSE_CHARS};

use config::{check_key, check_required, config_field, config_object, place, Placement};

use crate::domain::{classify, names, schema};
use crate::domain::{
    CredentialChange, CredentialType, NewCredential, SecretValue, StoredCredential,
};
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
    // Named by position, never quoted: an unknown key may be anything, a token included.
    for (i, key) in body.keys().enumerate() {
        if !allowed.contains(&key.as_str()) {
            issues.push(FieldIssue::new(
                format!("body.keys[{i}]"),
                "is not a known field",
            ));
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

/// Has a character of general category Cf: zero-width, bidirectional embeddings, overrides
/// and isolates, and the like.
fn has_format_characters(s: &str) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory};
    s.chars()
        .any(|c| get_general_category(c) == GeneralCategory::Format)
}

fn finish<T>(value: Option<T>, issues: Vec<FieldIssue>) -> Result<T, ApiError> {
    match value {
        Some(value) if issues.is_empty() => Ok(value),
        _ => Err(ApiError::validation(issues)),
    }
}

/// Places every field of `raw` (a create's config, or an update's patch) by the one rule,
/// recording problems by field; `null` (remove, in an update) places nothing.
fn place_all(
    kind: CredentialType,
    raw: Map<String, Value>,
    visible: &[String],
    issues: &mut Vec<FieldIssue>,
) -> Vec<(String, Option<Placement>)> {
    let mut placed = Vec::with_capacity(raw.len());
    for (key, value) in raw {
        if !check_key(&key, issues) {
            continue;
        }
        match value {
            Value::Null => placed.push((key, None)),
            value => match place(kind, &key, value, visible) {
                Ok(placement) => placed.push((key, Some(placement))),
                Err(issue) => issues.push(FieldIssue::new(config_field(&key), issue)),
            },
        }
    }
    placed
}

/// Validates a create body.
pub fn new_credential(body: Value) -> Result<NewCredential, ApiError> {
    let mut body = body_object(body)?;
    let mut issues = Vec::new();
    reject_unknown_top_level(&body, TOP_LEVEL, &mut issues);
    let name = check_name(body.remove("name"), &mut issues);
    let kind = check_type(body.remove("type"), &mut issues);
    let raw_config = match body.remove("config") {
        None => Some(Map::new()),
        other => config_object(other, &mut issues),
    };
    let (Some(kind), Some(raw_config)) = (kind, raw_config) else {
        return Err(ApiError::validation(issues));
    };
    let visible_fields = match body.remove("visible_fields") {
        None => Vec::new(),
        Some(list) => config::visible_fields(kind, list, &mut issues).unwrap_or_default(),
    };
    let (rotation_grace_seconds, max_versions) = version_settings(&mut body, &mut issues);
    let mut config = Map::new();
    let mut secrets = BTreeMap::new();
    for (key, placement) in place_all(kind, raw_config, &visible_fields, &mut issues) {
        match placement {
            Some(Placement::Secret(secret)) => {
                secrets.insert(key, secret);
            }
            Some(Placement::Visible(value)) => {
                config.insert(key, value);
            }
            None => issues.push(FieldIssue::new(config_field(&key), "must not be null")),
        }
    }
    check_required(kind, &config, |f| secrets.contains_key(f), &mut issues);
    finish(
        name.map(|name| NewCredential {
            name,
            kind,
            config,
            secrets,
            visible_fields,
            rotation_grace_seconds,
            max_versions,
        }),
        issues,
    )
}

/// The top-level fields of a create or update body.
const TOP_LEVEL: &[&str] = &[
    "name",
    "type",
    "config",
    "visible_fields",
    "rotation_grace_seconds",
    "max_versions",
];

/// A JSON number as JSON Schema's `integer` reads it: any number with no fractional part
/// (`21`, `21.0`, `2.1e1`); `None` for anything else, negative numbers included.
pub(super) fn whole_number(value: &Value) -> Option<u64> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53: beyond it a float is not exact
    value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=EXACT).contains(f))
            .map(|f| f as u64)
    })
}

/// An integer top-level setting within `range`, if sent.
fn bounded_integer(
    value: Option<Value>,
    field: &'static str,
    range: std::ops::RangeInclusive<u64>,
    issue: &'static str,
    issues: &mut Vec<FieldIssue>,
) -> Option<u64> {
    let value = value?;
    match whole_number(&value).filter(|n| range.contains(n)) {
        Some(n) => Some(n),
        None => {
            issues.push(FieldIssue::new(field, issue));
            None
        }
    }
}

/// `rotation_grace_seconds` and `max_versions`, when sent.
fn version_settings(
    body: &mut Map<String, Value>,
    issues: &mut Vec<FieldIssue>,
) -> (Option<u64>, Option<u32>) {
    use crate::domain::versions::{MAX_MAX_VERSIONS, MAX_ROTATION_GRACE_SECONDS};
    let grace = bounded_integer(
        body.remove("rotation_grace_seconds"),
        "rotation_grace_seconds",
        0..=MAX_ROTATION_GRACE_SECONDS,
        "must be an integer from 0 to 604800",
        issues,
    );
    let max = bounded_integer(
        body.remove("max_versions"),
        "max_versions",
        1..=u64::from(MAX_MAX_VERSIONS),
        "must be an integer from 1 to 100",
        issues,
    )
    .map(|n| n as u32);
    (grace, max)
}

/// Validates an update body against the credential it would change. Present config keys
/// replace, `null` removes, omitted keys stay; `type` may be sent but not changed (409).
/// `visible_fields`, when sent, replaces the list: a field that leaves it is sealed with the
/// value it shows, and a sealed field that joins it must be sent again (no write path can
/// decrypt, so a sealed value cannot be shown without being sent).
pub fn credential_change(
    body: Value,
    current: &StoredCredential,
) -> Result<CredentialChange, ApiError> {
    let mut body = body_object(body)?;
    let mut issues = Vec::new();
    reject_unknown_top_level(&body, TOP_LEVEL, &mut issues);

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
    let (rotation_grace_seconds, max_versions) = version_settings(&mut body, &mut issues);
    let visible_fields = match body.remove("visible_fields") {
        None => current.visible_fields.clone(),
        Some(list) => config::visible_fields(kind, list, &mut issues)
            .unwrap_or_else(|| current.visible_fields.clone()),
    };
    // Showing a field this credential keeps sealed needs its value: no write path can
    // decrypt. Whether it is sealed is the credential's state, not the request's: 409 once
    // the body has no 400 problem.
    let reveal: Vec<FieldIssue> = visible_fields
        .iter()
        .enumerate()
        .filter(|(_, name)| {
            current.secrets.contains_key(*name) && patch.get(*name).is_none_or(Value::is_null)
        })
        .map(|(i, _)| {
            FieldIssue::new(
                format!("visible_fields[{i}]"),
                "names a sealed field: send its value in config to show it",
            )
        })
        .collect();

    let mut config = current.config.clone();
    let mut set_secrets = BTreeMap::new();
    let mut remove_secrets = BTreeSet::new();
    // Undeclared fields shown until now that leave `visible_fields` are sealed as they are.
    let leaving: Vec<String> = current
        .config
        .keys()
        .filter(|k| schema::declared(kind, k).is_none())
        .filter(|k| !visible_fields.contains(k) && !patch.contains_key(*k))
        .cloned()
        .collect();
    for key in leaving {
        if let Some(value) = config.shift_remove(&key) {
            set_secrets.insert(key, SecretValue::of(&value));
        }
    }
    for (key, placement) in place_all(kind, patch, &visible_fields, &mut issues) {
        // A key is in at most one place at a time: a new value may move it between the
        // config and the sealed secrets.
        if !matches!(placement, Some(Placement::Visible(_))) {
            config.shift_remove(&key);
        }
        if current.secrets.contains_key(&key) && !matches!(placement, Some(Placement::Secret(_))) {
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
    let kept = |k: &String| !remove_secrets.contains(k) && !set_secrets.contains_key(k);
    let secret_count = current.secrets.keys().filter(|k| kept(k)).count() + set_secrets.len();
    // The same bound as create, on the credential as it would be stored.
    if config.len() + secret_count > MAX_CONFIG_FIELDS {
        issues.push(FieldIssue::new("config", "must have at most 50 fields"));
    }
    let is_secret = |f: &str| {
        set_secrets.contains_key(f)
            || (current.secrets.contains_key(f) && !remove_secrets.contains(f))
    };
    check_required(kind, &config, is_secret, &mut issues);
    if !issues.is_empty() {
        return Err(ApiError::validation(issues));
    }
    if other_type {
        return Err(ApiError::type_cannot_change());
    }
    if !reveal.is_empty() {
        return Err(ApiError {
            code: ErrorCode::SecretsRequired,
            message: "A sealed field is shown only with its value: send it again in config.",
            details: reveal,
            retry_after: None,
        });
    }
    Ok(CredentialChange {
        rename,
        config,
        set_secrets,
        remove_secrets,
        visible_fields,
        rotation_grace_seconds,
        max_versions,
    })
}

/// Validates the body that stages a pending version (`POST …/versions`):
/// `{"config": {<secret field>: <value or null>, …}}`, at least one field (else 400). Every
/// field named must be a secret of this credential (declared secret, or undeclared and not
/// in its `visible_fields`): a pending version holds secrets only, and a field the
/// credential shows is 409 `not_secret_field`. `null` removes a secret from the pending
/// version (nothing for a field that is not set).
pub fn pending_change(
    body: Value,
    current: &StoredCredential,
) -> Result<CredentialChange, ApiError> {
    let mut body = body_object(body)?;
    let mut issues = Vec::new();
    reject_unknown_top_level(&body, &["config"], &mut issues);
    let patch = match body.get("config") {
        Some(Value::Object(patch)) if patch.is_empty() => {
            issues.push(FieldIssue::new(
                "config",
                "must name at least one secret field",
            ));
            None
        }
        Some(Value::Object(patch)) => Some(patch),
        Some(_) => {
            issues.push(FieldIssue::new("config", "must be an object"));
            None
        }
        None => {
            issues.push(FieldIssue::new("config", "is required"));
            None
        }
    };
    if !issues.is_empty() {
        return Err(ApiError::validation(issues));
    }
    let shown: Vec<FieldIssue> = patch
        .into_iter()
        .flat_map(|p| p.keys())
        .filter(|key| !schema::is_sealed(current.kind, key, &current.visible_fields))
        .map(|key| FieldIssue::new(format!("config.{key}"), "is shown, not sealed"))
        .collect();
    // The values are checked first: a bad value is 400 whatever the field is.
    let change = credential_change(Value::Object(std::mem::take(&mut body)), current)?;
    if !shown.is_empty() {
        return Err(ApiError {
            code: ErrorCode::NotSecretField,
            message: "A pending version holds secrets only: this credential shows the fields named. Change them with an update.",
            details: shown,
            retry_after: None,
        });
    }
    Ok(change)
}

#[cfg(test)]
mod tests;
