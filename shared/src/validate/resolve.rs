//! The resolve body: purpose, which version (stage or number), by name, and an oauth
//! credential's token needs.

use serde_json::Value;

use super::config::is_clean_text;
use super::{
    body_object, bounded_integer, check_name, finish, has_format_characters,
    reject_unknown_top_level, whole_number,
};
use crate::domain::classify;
use crate::domain::{Selector, Stage};
use crate::error::{ApiError, FieldIssue};

pub const MAX_PURPOSE_CHARS: usize = 200;

/// A validated resolve body.
#[derive(Debug, PartialEq, Eq)]
pub struct ResolveRequest {
    pub purpose: String,
    /// Which version: a stage (`current` by default) or a version number.
    pub selector: Selector,
    /// The credential's name, when the body names it instead of the path's id.
    pub name: Option<String>,
    /// `min_ttl_seconds` (0 to a day, default 300): how long a refreshed oauth credential's
    /// access token must stay good.
    pub min_ttl: u64,
    /// `force_refresh`: refresh a refreshed oauth credential's token even if it is good.
    pub force_refresh: bool,
}

/// Validates a resolve body: `{"purpose": "<1–200 printable characters>"}`, optionally
/// with `stage` (`current`, `previous` or `pending`) or `version` (not both), and `name`
/// (to resolve by name, one extra read), and for refreshed oauth credentials
/// `min_ttl_seconds` and `force_refresh`.
pub fn resolve_request(body: Value) -> Result<ResolveRequest, ApiError> {
    let mut body = body_object(body)?;
    let mut issues = Vec::new();
    reject_unknown_top_level(
        &body,
        &[
            "purpose",
            "stage",
            "version",
            "name",
            "min_ttl_seconds",
            "force_refresh",
        ],
        &mut issues,
    );
    let min_ttl = bounded_integer(
        body.remove("min_ttl_seconds"),
        "min_ttl_seconds",
        0..=crate::domain::oauth::MAX_MIN_TTL_SECONDS,
        "must be an integer from 0 to 86400",
        &mut issues,
    )
    .unwrap_or(crate::domain::oauth::DEFAULT_MIN_TTL_SECONDS);
    let force_refresh = match body.remove("force_refresh") {
        None => false,
        Some(Value::Bool(b)) => b,
        Some(_) => {
            issues.push(FieldIssue::new("force_refresh", "must be true or false"));
            false
        }
    };
    let purpose = check_purpose(body.remove("purpose"), &mut issues);
    let stage = match body.remove("stage") {
        None => None,
        Some(Value::String(s)) => match Stage::parse(&s) {
            Some(stage) => Some(stage),
            None => {
                issues.push(FieldIssue::new("stage", Stage::ONE_OF));
                None
            }
        },
        Some(_) => {
            issues.push(FieldIssue::new("stage", Stage::ONE_OF));
            None
        }
    };
    let version = match body.remove("version") {
        None => None,
        Some(v) => match whole_number(&v).filter(|&n| n >= 1) {
            Some(n) => Some(n),
            None => {
                issues.push(FieldIssue::new("version", "must be a positive integer"));
                None
            }
        },
    };
    if stage.is_some() && version.is_some() {
        issues.push(FieldIssue::new(
            "version",
            "send either stage or version, not both",
        ));
    }
    let name = match body.remove("name") {
        None => None,
        some => check_name(some, &mut issues),
    };
    let selector = match (stage, version) {
        (_, Some(n)) => Selector::Version(n),
        (Some(stage), None) => Selector::Stage(stage),
        (None, None) => Selector::Stage(Stage::Current),
    };
    finish(
        purpose.map(|purpose| ResolveRequest {
            purpose,
            selector,
            name,
            min_ttl,
            force_refresh,
        }),
        issues,
    )
}

/// Has a separator (general category Z) other than U+0020: line and paragraph separators,
/// no-break and ideographic spaces, which make a consumer look blank or like another.
fn has_odd_separators(s: &str) -> bool {
    use unicode_general_category::{get_general_category, GeneralCategory};
    s.chars().any(|c| {
        c != ' '
            && matches!(
                get_general_category(c),
                GeneralCategory::SpaceSeparator
                    | GeneralCategory::LineSeparator
                    | GeneralCategory::ParagraphSeparator
            )
    })
}

fn check_purpose(value: Option<Value>, issues: &mut Vec<FieldIssue>) -> Option<String> {
    match value {
        Some(Value::String(p)) if p.trim().is_empty() => {
            issues.push(FieldIssue::new("purpose", "must not be empty"));
            None
        }
        Some(Value::String(p)) if p.chars().count() > MAX_PURPOSE_CHARS => {
            issues.push(FieldIssue::new("purpose", "must be at most 200 characters"));
            None
        }
        // Kept in the audit trail and named as a consumer in the usage ledger, whose
        // listings it must not make read wrongly.
        Some(Value::String(p))
            if !is_clean_text(&p) || has_format_characters(&p) || has_odd_separators(&p) =>
        {
            issues.push(FieldIssue::new(
                "purpose",
                "must not contain control, invisible format or separator characters other than the space (zero-width, bidirectional, line separators, no-break spaces or similar)",
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
    }
}
