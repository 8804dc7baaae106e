//! Which visible text embeds a credential.
//!
//! Secrets are never judged by their shape any more: a config field the type does not
//! declare is sealed whatever its name or value. What remains is the opposite guard, for
//! text that *will be shown*: a declared visible field, a field the client asked to see
//! (`visible_fields`), a credential's name, a resolve's purpose and config keys. Such text
//! is refused (400) when it embeds a credential ([`value_rule`]), and a visible field that
//! is not an identifier is also refused when it is one unlabelled random token
//! ([`visible_value_rule`]). The rules fail closed: they look for where a credential is
//! written (`password=`, `user:pw@host`, `-----BEGIN … PRIVATE KEY-----`, `ghp_…`) and do not
//! try to tell a real value from a placeholder.
//!
//! [`is_mask_placeholder`] recognises the masking strings a UI may send back in place of a
//! secret it never saw; secret fields refuse them.
//!
//! Nothing here returns, formats or logs a value: the results are booleans, fieldless enums
//! and fixed `&'static str` texts.

mod blocks;
mod field_names;
mod hosts;
mod masks;
mod parameters;
mod random;
mod scan;
mod token_formats;

pub use field_names::{name_looks_secret, normalize_name};
pub use masks::is_mask_placeholder;
pub use parameters::{CommandArg, COMMAND_LINE_PASSWORDS, URL_QUERY_SECRET_KEYS};
pub use random::looks_like_random_token;
pub use token_formats::{TokenFormat, TOKEN_FORMATS};

crate::labelled_enum! {
    /// Why a value embeds a credential, by its stable id. Carries no part of the value.
    pub enum ValueRule {
        /// `-----BEGIN … PRIVATE KEY-----` (PEM, OpenSSH, PGP, SSH2), a PuTTY key file or a
        /// JWK with private members.
        PrivateKeyBlock => "private_key_block",
        /// A pasted Google service-account key file (`"type": "service_account"`).
        ServiceAccountJson => "service_account_key",
        /// A password (or token) before a host: `scheme://user:pw@host`, `user:pw@host`,
        /// `user/pw@host`, a `.pgpass` line.
        UrlUserinfo => "url_userinfo_password",
        /// A webhook URL whose path is its credential.
        WebhookUrl => "secret_webhook_url",
        /// A JSON Web Token (JWS or JWE compact form).
        Jwt => "jwt",
        /// An `Authorization` header value: `Bearer …`, `Basic …`, `token …`.
        AuthorizationHeader => "authorization_header",
        /// A parameter, element, prose or `.netrc` entry whose key reads as secret.
        KeyValuePair => "secret_parameter",
        /// A password on a command line.
        CommandLinePassword => "command_line_password",
        /// A token in a provider format ([`TOKEN_FORMATS`] and a few others).
        KnownTokenFormat => "known_token_format",
        /// An AWS access key ID together with a 40-character secret access key.
        AwsKeyPair => "aws_key_pair",
        /// One unlabelled random token (visible non-identifier fields only).
        RandomToken => "random_token",
    }
}

impl ValueRule {
    /// Short fixed English text for an error's `issue`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::PrivateKeyBlock => "must not embed a credential (a private key)",
            Self::ServiceAccountJson => "must not embed a credential (a service-account key file)",
            Self::UrlUserinfo => "must not embed a credential (a password before a host)",
            Self::WebhookUrl => "must not embed a credential (a webhook URL with its token)",
            Self::Jwt => "must not embed a credential (a JSON Web Token)",
            Self::AuthorizationHeader => {
                "must not embed a credential (an Authorization header value)"
            }
            Self::KeyValuePair => "must not embed a credential (a secret key=value parameter)",
            Self::CommandLinePassword => {
                "must not embed a credential (a password on a command line)"
            }
            Self::KnownTokenFormat => {
                "must not embed a credential (a token in a known provider format)"
            }
            Self::AwsKeyPair => {
                "must not embed a credential (an AWS access key ID with its secret access key)"
            }
            Self::RandomToken => {
                "must not be a random token (seal it: leave the field out of visible_fields)"
            }
        }
    }
}

/// Why `value` embeds a credential, if it does: the first rule of [`ValueRule::ALL`] (but
/// [`ValueRule::RandomToken`], which [`visible_value_rule`] adds) that finds one. Linear in
/// the value's length.
pub fn value_rule(value: &str) -> Option<ValueRule> {
    let b = value.as_bytes();
    ValueRule::ALL.iter().copied().find(|rule| match rule {
        ValueRule::PrivateKeyBlock => blocks::has_private_key_block(b),
        ValueRule::ServiceAccountJson => blocks::has_service_account_json(b),
        ValueRule::UrlUserinfo => {
            hosts::has_url_userinfo(b) || hosts::has_bare_userinfo(b) || hosts::has_pgpass_line(b)
        }
        ValueRule::WebhookUrl => blocks::has_webhook_url(b),
        ValueRule::Jwt => blocks::has_jwt(b),
        ValueRule::AuthorizationHeader => blocks::has_authorization_header(b),
        ValueRule::KeyValuePair => parameters::has_secret_parameter(b),
        ValueRule::CommandLinePassword => parameters::has_command_line_password(b),
        ValueRule::KnownTokenFormat => token_formats::has_known_token(b),
        ValueRule::AwsKeyPair => token_formats::has_aws_key_pair(b),
        ValueRule::RandomToken => false,
    })
}

/// The rule a visible field's text breaks: [`value_rule`], and for a field that is not an
/// identifier, one unlabelled random token ([`looks_like_random_token`]).
pub fn visible_value_rule(value: &str, identifier: bool) -> Option<ValueRule> {
    value_rule(value).or_else(|| {
        (!identifier && looks_like_random_token(value)).then_some(ValueRule::RandomToken)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON strings of a test data file (one per line after an optional `id\t`).
    fn entries(file: &'static str) -> impl Iterator<Item = (Option<&'static str>, String)> {
        file.lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|l| {
                let (id, json) = match l.split_once('\t') {
                    Some((id, json)) => (Some(id), json),
                    None => (None, l),
                };
                (id, serde_json::from_str(json).expect("a JSON string"))
            })
    }

    #[test]
    fn every_embedded_credential_is_found_by_its_rule() {
        let cases: Vec<_> = entries(include_str!("testdata/embedded.txt")).collect();
        assert!(cases.len() >= 100, "{}", cases.len());
        let wrong: Vec<_> = cases
            .iter()
            .filter(|(id, value)| value_rule(value).map(ValueRule::as_str) != *id)
            .map(|(id, value)| (id, value_rule(value), value))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn ordinary_values_pass() {
        let cases: Vec<_> = entries(include_str!("testdata/ordinary.txt")).collect();
        assert!(cases.len() >= 60, "{}", cases.len());
        let found: Vec<_> = cases
            .iter()
            .filter_map(|(_, value)| value_rule(value).map(|rule| (rule, value)))
            .collect();
        assert!(found.is_empty(), "{found:#?}");
    }

    /// Shapes people paste into config fields, each once shown back by an earlier version
    /// when it was classified by its shape (issue #25's list and the former known gaps).
    /// Visible, every one is refused.
    #[test]
    fn shapes_that_used_to_leak_are_refused_in_visible_text() {
        let cases: Vec<_> = entries(include_str!("testdata/fail_closed.txt")).collect();
        assert!(cases.len() >= 30, "{}", cases.len());
        let missed: Vec<_> = cases
            .iter()
            .filter(|(_, value)| visible_value_rule(value, false).is_none())
            .collect();
        assert!(missed.is_empty(), "{missed:#?}");
    }

    #[test]
    fn neighbours_of_credentials_are_refused_too() {
        let cases: Vec<_> = entries(include_str!("testdata/fail_closed_neighbours.txt")).collect();
        let passed: Vec<_> = cases
            .iter()
            .filter(|(_, v)| value_rule(v).is_none())
            .collect();
        assert!(passed.is_empty(), "{passed:#?}");
    }

    #[test]
    fn identifiers_may_look_random() {
        let salesforce_client_id = "3MVG9A2kN3Bn17hsWsLDatw7xEIXk2d4nFpUxtQzJGnBa7Lr8eXyH0hQP0R1s2";
        assert_eq!(visible_value_rule(salesforce_client_id, true), None);
        assert_eq!(
            visible_value_rule(salesforce_client_id, false),
            Some(ValueRule::RandomToken)
        );
    }

    #[test]
    fn rule_ids_are_unique_and_snake_case() {
        let mut ids: Vec<_> = ValueRule::ALL.iter().map(|r| r.as_str()).collect();
        assert!(ids
            .iter()
            .all(|id| id.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), ValueRule::ALL.len());
    }

    #[test]
    fn nothing_returned_carries_the_value() {
        let value = "postgres://etl:canary-5e3c7-x@db/prod";
        let rule = value_rule(value).unwrap();
        for text in [rule.as_str(), rule.describe(), &format!("{rule:?}")] {
            assert!(!text.contains("canary"), "{text}");
        }
    }

    #[test]
    fn long_values_stay_fast() {
        // Linear rules: a 256 KiB adversarial value is judged in well under a second even
        // in a debug build (no timing is asserted: the bound is structural).
        for unit in [
            "a:",
            "password=",
            "://a:",
            "-----BEGIN ",
            "eyJ",
            "@",
            "<a>",
            "--x ",
        ] {
            let value = unit.repeat(256 * 1024 / unit.len());
            let _ = visible_value_rule(&value, false);
        }
    }

    /// docs/secret-classification.md names every rule and every test data file, so the
    /// documented rule set and the code cannot drift apart unnoticed.
    #[test]
    fn the_classification_doc_names_every_rule_and_test_file() {
        const DOC: &str = include_str!("../../../../docs/secret-classification.md");
        for rule in ValueRule::ALL {
            assert!(DOC.contains(&format!("`{}`", rule.as_str())), "{rule:?}");
        }
        for file in [
            "embedded.txt",
            "fail_closed.txt",
            "fail_closed_neighbours.txt",
            "ordinary.txt",
        ] {
            assert!(DOC.contains(file), "{file}");
        }
    }
}
