//! Per-type config schemas: which fields each credential type knows, which are required,
//! which are secret and which say where the secrets go. A field a schema does not declare is
//! sealed unless the client lists it in `visible_fields`.

use crate::domain::CredentialType;

/// What a declared field must hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// A non-empty string.
    Text,
    /// A non-empty string that names something and may look random (`client_id`,
    /// `access_key_id`): the random-token rule does not apply to it.
    Id,
    /// An integer TCP port, 1–65535.
    Port,
    /// Any JSON number.
    Number,
    /// `true` or `false`.
    Flag,
    /// One of a fixed set of strings.
    OneOf(&'static [&'static str]),
    /// A list of non-empty strings.
    TextList,
}

/// One field a credential type declares.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: bool,
    /// Sealed (returned only by resolve) rather than shown.
    pub secret: bool,
    /// Says where the type's secrets are sent (a host, a token endpoint): changing it while
    /// a stored secret stays is refused, and sealed secrets are bound to it.
    pub destination: bool,
}

/// How a field is declared: the builder every schema row uses.
const fn field(name: &'static str, kind: FieldKind) -> Field {
    Field {
        name,
        kind,
        required: false,
        secret: false,
        destination: false,
    }
}

impl Field {
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    const fn destination(mut self) -> Self {
        self.destination = true;
        self
    }
}

use FieldKind::{Flag, Id, Number, OneOf, Port, Text, TextList};

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

pub const OAUTH_GRANT_TYPES: &[&str] =
    &["client_credentials", "refresh_token", "authorization_code"];

const AWS: &[Field] = &[
    field("region", Text).required(),
    field("role_arn", Id),
    field("external_id", Id),
    field("access_key_id", Id),
    field("secret_access_key", Text).secret(),
    field("session_token", Text).secret(),
    // Where the keys are presented (STS or a compatible endpoint): a destination.
    field("endpoint_url", Text).destination(),
    field("role_session_name", Id),
    field("duration_seconds", Number),
];

const AZURE: &[Field] = &[
    field("tenant_id", Id).required(),
    field("client_id", Id).required(),
    field("client_secret", Text).required().secret(),
    field("subscription_id", Id),
    field("resource_group", Text),
    // The Microsoft Entra authority the secret is sent to (sovereign clouds differ).
    field("authority_host", Text).destination(),
];

const GCP: &[Field] = &[
    field("project_id", Id).required(),
    field("client_email", Text),
    field("credentials_json", Text).required().secret(),
    field("location", Text),
    field("impersonate_service_account", Text),
];

const DATABASE: &[Field] = &[
    field("engine", OneOf(DATABASE_ENGINES)),
    field("host", Text).required().destination(),
    field("port", Port).destination(),
    field("database", Text),
    field("username", Text),
    field("password", Text).secret(),
    field("warehouse", Text),
    field("role", Text),
    field("schema", Text),
    field("ssl_mode", Text),
    // Driver hints people expect to see back (libpq, Snowflake, Databricks, BigQuery,
    // MongoDB): names, paths and switches, never secrets.
    field("account", Text).destination(),
    // Snowflake's `authenticator` may name an IdP URL the password is sent to.
    field("authenticator", Text).destination(),
    field("options", Text),
    field("sslrootcert", Text),
    field("sslcert", Text),
    field("http_path", Text).destination(),
    field("catalog", Text),
    field("dataset", Text),
    field("location", Text),
    field("auth_source", Text),
    field("replica_set", Text),
    field("tls", Flag),
    field("connect_timeout", Number),
];

const API_KEY: &[Field] = &[
    field("api_key", Text).required().secret(),
    field("base_url", Text).destination(),
    field("header_name", Text),
    field("auth_scheme", Text),
    field("query_param", Text),
];

const OAUTH: &[Field] = &[
    field("client_id", Id).required(),
    field("client_secret", Text).required().secret(),
    field("token_url", Text).destination(),
    field("authorization_url", Text).destination(),
    field("scopes", TextList),
    field("refresh_token", Text).secret(),
    field("access_token", Text).secret(),
    field("grant_type", OneOf(OAUTH_GRANT_TYPES)),
    field("audience", Text),
    field("redirect_uri", Text),
];

const PASSWORD: &[Field] = &[
    field("username", Text),
    field("password", Text).required().secret(),
    field("url", Text).destination(),
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

/// The one rule for "is this field sealed?": a field the type declares uses its declared
/// flag; any other field is sealed unless the client named it in `visible_fields`.
pub fn is_sealed(kind: CredentialType, name: &str, visible_fields: &[String]) -> bool {
    match declared(kind, name) {
        Some(field) => field.secret,
        None => !visible_fields.iter().any(|v| v == name),
    }
}

/// Client-visible fields whose name says they hold an endpoint or a way to one count as
/// destinations, like the declared ones: the normalized name begins or ends with one of
/// these (`webhook_url`, `smtp_host`, `hosts`, `url_base`, `proxy`, `http_proxy`, …). A
/// name caught wrongly costs a resend of the secrets when it changes; one missed would let
/// a write key redirect them.
pub const DESTINATION_NAME_WORDS: &[&str] = &[
    "url",
    "uri",
    "endpoint",
    "host",
    "hostname",
    "server",
    "address",
    "dsn",
    "proxy",
    "urls",
    "uris",
    "endpoints",
    "hosts",
    "hostnames",
    "servers",
    "addresses",
    "proxies",
];

/// True when `name` says where the type's secrets go: a declared destination, or a
/// client-visible field whose normalized name begins or ends with a
/// [`DESTINATION_NAME_WORDS`] entry.
pub fn is_destination(kind: CredentialType, name: &str) -> bool {
    match declared(kind, name) {
        Some(field) => field.destination,
        None => {
            let normalized = super::classify::normalize_name(name);
            DESTINATION_NAME_WORDS
                .iter()
                .any(|word| normalized.starts_with(word) || normalized.ends_with(word))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_fields_keep_their_flag_and_the_rest_is_sealed() {
        let none: &[String] = &[];
        assert!(is_sealed(CredentialType::Database, "password", none));
        assert!(!is_sealed(CredentialType::Database, "host", none));
        assert!(!is_sealed(CredentialType::Oauth, "token_url", none));
        assert!(is_sealed(CredentialType::Oauth, "refresh_token", none));
        assert!(is_sealed(CredentialType::Database, "team", none));
        assert!(is_sealed(CredentialType::Database, "ssh_private_key", none));
        let visible = ["team".to_owned()];
        assert!(!is_sealed(CredentialType::Database, "team", &visible));
        assert!(is_sealed(CredentialType::Database, "notes", &visible));
    }

    #[test]
    fn destinations_are_declared_or_named_like_endpoints() {
        assert!(is_destination(CredentialType::Database, "host"));
        assert!(is_destination(CredentialType::ApiKey, "base_url"));
        assert!(is_destination(CredentialType::Oauth, "token_url"));
        assert!(is_destination(CredentialType::Oauth, "authorization_url"));
        assert!(is_destination(CredentialType::Password, "url"));
        assert!(!is_destination(CredentialType::Database, "database"));
        assert!(!is_destination(CredentialType::Oauth, "scopes"));
        assert!(is_destination(CredentialType::Password, "webhookUrl"));
        assert!(is_destination(CredentialType::Password, "smtp_host"));
        assert!(!is_destination(CredentialType::Password, "team"));
        // What an attacker review moved without a secret: each now needs the secrets again.
        for name in [
            "hosts",
            "url_base",
            "proxy",
            "HTTPS_PROXY",
            "proxyHost",
            "db_hostname",
        ] {
            assert!(is_destination(CredentialType::Password, name), "{name}");
        }
        assert!(is_destination(CredentialType::Database, "authenticator"));
    }

    #[test]
    fn every_type_has_a_schema_with_at_least_one_required_field() {
        for &kind in CredentialType::ALL {
            assert!(fields(kind).iter().any(|f| f.required), "{kind:?}");
            let mut names: Vec<_> = fields(kind).iter().map(|f| f.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(
                names.len(),
                fields(kind).len(),
                "{kind:?}: a field declared twice"
            );
        }
    }

    fn kind_text(kind: FieldKind) -> String {
        match kind {
            FieldKind::Text => "string".into(),
            FieldKind::Id => "string (an identifier)".into(),
            FieldKind::Port => "integer 1–65535".into(),
            FieldKind::Number => "number".into(),
            FieldKind::Flag => "boolean".into(),
            FieldKind::OneOf(values) => format!("one of {}", values.join(", ")),
            FieldKind::TextList => "list of strings".into(),
        }
    }

    /// The table of docs/api.md, rendered from the schemas.
    fn table() -> String {
        let mut out = String::from(
            "| type | field | required | sealed | destination | value |\n|---|---|---|---|---|---|\n",
        );
        for &kind in CredentialType::ALL {
            for (i, f) in fields(kind).iter().enumerate() {
                let yes = |b: bool| if b { "yes" } else { "" };
                out.push_str(&format!(
                    "| {} | {} | {} | {} | {} | {} |\n",
                    if i == 0 { kind.as_str() } else { "" },
                    f.name,
                    yes(f.required),
                    yes(f.secret),
                    yes(f.destination),
                    kind_text(f.kind)
                ));
            }
        }
        out
    }

    #[test]
    fn the_api_doc_shows_the_schemas_as_declared() {
        const DOC: &str = include_str!("../../../docs/api.md");
        assert!(
            DOC.contains(&table()),
            "docs/api.md's config table differs from the schemas; it should read:\n{}",
            table()
        );
    }
}
