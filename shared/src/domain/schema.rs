//! Per-type config schemas: which fields each credential type knows, which are required and
//! which are secret. Fields a schema does not declare are accepted as free-form settings,
//! classified by name and value (`classify`).

use crate::domain::CredentialType;

/// What a declared field must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A non-empty string.
    Text,
    /// An integer TCP port, 1–65535.
    Port,
    /// One of a fixed set of strings.
    OneOf(&'static [&'static str]),
    /// A list of non-empty strings.
    TextList,
}

#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    pub secret: bool,
}

const fn field(name: &'static str, kind: FieldKind, required: bool, secret: bool) -> Field {
    Field {
        name,
        kind,
        required,
        secret,
    }
}

use FieldKind::{OneOf, Port, Text, TextList};

pub const DATABASE_ENGINES: &[&str] = &[
    "postgresql",
    "mysql",
    "mariadb",
    "sqlserver",
    "oracle",
    "snowflake",
    "redshift",
    "bigquery",
    "databricks",
    "mongodb",
    "clickhouse",
];

const AWS: &[Field] = &[
    field("region", Text, true, false),
    field("role_arn", Text, false, false),
    field("external_id", Text, false, false),
    field("access_key_id", Text, false, false),
    field("secret_access_key", Text, false, true),
    field("session_token", Text, false, true),
];

const AZURE: &[Field] = &[
    field("tenant_id", Text, true, false),
    field("client_id", Text, true, false),
    field("client_secret", Text, true, true),
    field("subscription_id", Text, false, false),
];

const GCP: &[Field] = &[
    field("project_id", Text, true, false),
    field("client_email", Text, false, false),
    field("credentials_json", Text, true, true),
];

const DATABASE: &[Field] = &[
    field("engine", OneOf(DATABASE_ENGINES), false, false),
    field("host", Text, true, false),
    field("port", Port, false, false),
    field("database", Text, false, false),
    field("username", Text, false, false),
    field("password", Text, false, true),
    field("warehouse", Text, false, false),
    field("role", Text, false, false),
    field("schema", Text, false, false),
    field("ssl_mode", Text, false, false),
];

const API_KEY: &[Field] = &[
    field("api_key", Text, true, true),
    field("base_url", Text, false, false),
    field("header_name", Text, false, false),
];

const OAUTH: &[Field] = &[
    field("client_id", Text, true, false),
    field("client_secret", Text, true, true),
    field("token_url", Text, false, false),
    field("authorization_url", Text, false, false),
    field("scopes", TextList, false, false),
    field("refresh_token", Text, false, true),
    field("access_token", Text, false, true),
];

const PASSWORD: &[Field] = &[
    field("username", Text, false, false),
    field("password", Text, true, true),
    field("url", Text, false, false),
];

/// The declared fields of a credential type.
pub fn fields(kind: CredentialType) -> &'static [Field] {
    match kind {
        CredentialType::Aws => AWS,
        CredentialType::Azure => AZURE,
        CredentialType::Gcp => GCP,
        CredentialType::Database => DATABASE,
        CredentialType::ApiKey => API_KEY,
        CredentialType::Oauth => OAUTH,
        CredentialType::Password => PASSWORD,
    }
}

pub fn declared(kind: CredentialType, name: &str) -> Option<&'static Field> {
    fields(kind).iter().find(|f| f.name == name)
}

/// The one rule for "is this field secret?" by name: a field the type declares uses its
/// declared flag (`token_url` stays visible); any other is secret when its name looks
/// secret (`classify`). Values are classified too: see `validate`.
pub fn is_secret(kind: CredentialType, name: &str) -> bool {
    match declared(kind, name) {
        Some(field) => field.secret,
        None => super::classify::name_looks_secret(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_secrets_and_lookalikes_are_secret() {
        assert!(is_secret(CredentialType::Database, "password"));
        assert!(is_secret(CredentialType::Database, "ssh_private_key"));
        assert!(is_secret(CredentialType::Aws, "my_token"));
        assert!(is_secret(CredentialType::Password, "Admin_Passphrase"));
        assert!(!is_secret(CredentialType::Database, "host"));
        assert!(!is_secret(CredentialType::Aws, "access_key_id"));
        assert!(!is_secret(CredentialType::Oauth, "token_url"));
        assert!(is_secret(CredentialType::Oauth, "refresh_token"));
    }

    #[test]
    fn every_type_has_a_schema_with_at_least_one_required_field() {
        for &kind in CredentialType::ALL {
            assert!(fields(kind).iter().any(|f| f.required), "{kind:?}");
        }
    }
}
