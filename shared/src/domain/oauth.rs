//! OAuth tokens the store keeps fresh: which `oauth` credentials it refreshes, how, when a
//! stored access token is still good, the token state it keeps per credential, and how a
//! token endpoint's answer is read. No I/O here: the lease, the call and the commit are
//! `service::refresh`'s.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use super::{CredentialType, SealedSecret, StoredCredential};

/// The grant a refresh uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// RFC 6749 §6: the stored refresh token for a new access token.
    RefreshToken,
    /// RFC 6749 §4.4: the client's own credentials.
    ClientCredentials,
}

/// What a refresh needs to know of a credential (its visible settings; the secrets are
/// opened only by the lease holder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OauthClient {
    pub token_url: String,
    pub client_id: String,
    pub grant: Grant,
    /// Requested with each grant (`scopes`, space-separated).
    pub scope: Option<String>,
    pub audience: Option<String>,
}

/// The secret fields a resolve of a refreshed credential never answers: a pipeline has no
/// use for them once the store refreshes.
pub const WITHHELD: [&str; 2] = ["client_secret", "refresh_token"];

/// The fields whose change is new refresh material: the access token the store keeps is
/// no longer answered (the next resolve refreshes), and `reauthorization_required` ends.
pub const REFRESH_MATERIAL: [&str; 9] = [
    "client_id",
    "client_secret",
    "token_url",
    "scopes",
    "refresh_token",
    "access_token",
    "grant_type",
    "audience",
    "authorization_url",
];

/// What a write of a credential does to the token state the store keeps for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenChange {
    /// Nothing that refreshing depends on changed.
    None,
    /// New refresh material, but not a new refresh token: the stored access token is no
    /// longer answered; the stored refresh token (maybe rotated since) stays in use.
    Renew,
    /// A new (or removed) refresh token, or a new destination: the token state is
    /// forgotten (its item deleted) and the credential's own refresh token is used again.
    Reset,
}

/// How long one refresh may hold the lease: past this, another caller may take it over.
/// Longer than everything the holder does under it (open the secrets, the egress guard's
/// 10 s total bound, seal, commit) with room to spare.
pub const LEASE_MILLIS: u64 = 30_000;
/// How long a credential is not refreshed again after its token endpoint failed
/// transiently (429, 5xx, a timeout).
pub const COOLDOWN_SECONDS: u64 = 30;
/// Default of a resolve's `min_ttl_seconds`.
pub const DEFAULT_MIN_TTL_SECONDS: u64 = 300;
/// Largest `min_ttl_seconds` (a day).
pub const MAX_MIN_TTL_SECONDS: u64 = 86_400;
/// The scheduled refresher takes tokens that expire within this…
pub const KEEP_ALIVE_AHEAD_SECONDS: u64 = 15 * 60;
/// …or were last refreshed longer ago than this.
pub const KEEP_ALIVE_MAX_AGE_SECONDS: u64 = 24 * 60 * 60;

impl OauthClient {
    /// The refresh settings of `credential`: `Some` for an `oauth` credential with a
    /// `token_url` (the store refreshes it), `None` otherwise (resolve answers it as stored).
    pub fn of(credential: &StoredCredential) -> Option<Self> {
        if credential.kind != CredentialType::Oauth {
            return None;
        }
        let text = |name: &str| {
            credential
                .config
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let token_url = text("token_url")?;
        let client_id = text("client_id")?;
        let grant = match text("grant_type").as_deref() {
            Some("client_credentials") => Grant::ClientCredentials,
            Some(_) => Grant::RefreshToken,
            // Unsaid: refresh when there is a refresh token to refresh with.
            None if credential.secrets.contains_key("refresh_token") => Grant::RefreshToken,
            None => Grant::ClientCredentials,
        };
        let scope = match credential.config.get("scopes") {
            Some(Value::Array(items)) => {
                let words: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                (!words.is_empty()).then(|| words.join(" "))
            }
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        Some(Self {
            token_url,
            client_id,
            grant,
            scope,
            audience: text("audience"),
        })
    }
}

/// What changing `before` into `after` does to the token state.
pub fn token_change(before: &StoredCredential, after: &StoredCredential) -> TokenChange {
    if before.kind != CredentialType::Oauth {
        return TokenChange::None;
    }
    let changed = |field: &str| {
        before.config.get(field) != after.config.get(field)
            || before.secrets.get(field) != after.secrets.get(field)
    };
    if changed("refresh_token") || before.destination() != after.destination() {
        TokenChange::Reset
    } else if REFRESH_MATERIAL.iter().any(|field| changed(field)) {
        TokenChange::Renew
    } else {
        TokenChange::None
    }
}

/// Whether a credential's refresh token was refused: resolve answers 409
/// `reauthorization_required` until a write sets new refresh material.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStatus {
    Ok,
    ReauthorizationRequired,
}

crate::labelled_enum! {
    /// `auth_status` as stored and shown.
    pub enum AuthStatusLabel {
        Ok => "ok",
        ReauthorizationRequired => "reauthorization_required",
    }
}

impl AuthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => AuthStatusLabel::Ok.as_str(),
            Self::ReauthorizationRequired => AuthStatusLabel::ReauthorizationRequired.as_str(),
        }
    }

    pub fn parse(label: &str) -> Option<Self> {
        match AuthStatusLabel::parse(label)? {
            AuthStatusLabel::Ok => Some(Self::Ok),
            AuthStatusLabel::ReauthorizationRequired => Some(Self::ReauthorizationRequired),
        }
    }
}

/// The token state the store keeps beside a refreshed credential (its own item, so that a
/// user's write of the credential and a refresh never overwrite each other).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TokenState {
    /// Counts committed refreshes: a caller that saw generation g waits for g + 1.
    pub generation: u64,
    /// The sealed `access_token` and `refresh_token` of the last refresh (a refresh token
    /// only once one was issued: until then the credential's own is used).
    pub sealed: BTreeMap<String, SealedSecret>,
    pub token_type: Option<String>,
    /// Epoch seconds; `None` when the endpoint did not say (such a token counts as expired).
    pub expires_at: Option<u64>,
    /// The scope granted, as the endpoint answered it.
    pub scope: Option<String>,
    /// Epoch seconds of the last committed refresh.
    pub refreshed_at: Option<u64>,
    /// The credential's `token_material` when the access token was obtained: a token of
    /// other material is not answered.
    pub material: u64,
    /// Who holds the refresh lease, and until when (epoch milliseconds).
    pub lease: Option<Lease>,
    /// No refresh before this (epoch seconds): the endpoint failed transiently.
    pub cooldown_until: Option<u64>,
    /// The credential's `token_material` the endpoint refused (`invalid_grant` or another
    /// refusal): while it is still the credential's, nobody calls the endpoint with it.
    pub refused_material: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub until_ms: u64,
}

impl TokenState {
    /// True when an access token of the credential's current `material` is stored.
    fn usable(&self, material: u64) -> bool {
        self.material == material && self.sealed.contains_key("access_token")
    }

    /// True when the stored access token is good for at least `min_ttl` more seconds.
    pub fn fresh_for(&self, material: u64, now: u64, min_ttl: u64) -> bool {
        self.usable(material)
            && self
                .expires_at
                .is_some_and(|at| at >= now.saturating_add(min_ttl))
    }

    /// True when the stored access token has not expired yet.
    pub fn still_valid(&self, material: u64, now: u64) -> bool {
        self.usable(material) && self.expires_at.is_some_and(|at| at > now)
    }

    /// True when someone holds the lease at `now_ms`.
    pub fn leased(&self, now_ms: u64) -> bool {
        self.lease.as_ref().is_some_and(|l| l.until_ms > now_ms)
    }

    /// When the scheduled refresher should take this token (epoch seconds): before it
    /// expires, or once it is a day old, whichever comes first.
    pub fn keep_alive_due(&self) -> Option<u64> {
        let by_expiry = self
            .expires_at
            .map(|at| at.saturating_sub(KEEP_ALIVE_AHEAD_SECONDS));
        let by_age = self
            .refreshed_at
            .map(|at| at.saturating_add(KEEP_ALIVE_MAX_AGE_SECONDS));
        match (by_expiry, by_age) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A token endpoint's success (RFC 6749 §5.1). The tokens are secrets: no `Debug` of them.
pub struct TokenGrant {
    pub access_token: SecretString,
    /// `None` when the endpoint sent none: the refresh token in use stays.
    pub refresh_token: Option<SecretString>,
    pub token_type: Option<String>,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrant")
            .field("refresh_token_rotated", &self.refresh_token.is_some())
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// How a token endpoint's answer ends a refresh.
#[derive(Debug)]
pub enum Answer {
    Granted(TokenGrant),
    /// `invalid_grant`: the refresh token (or the grant) is no longer good.
    InvalidGrant,
    /// Any other refusal that only a write of the credential can fix (`invalid_client`,
    /// `unauthorized_client`, `invalid_scope`, a 4xx without an OAuth error, …).
    Refused,
    /// 408, 429, 5xx: try again later (after `retry_after` seconds, when it said).
    Transient {
        retry_after: Option<u64>,
    },
}

/// Reads a token endpoint's answer. Nothing of the body is kept but the grant: no provider
/// text reaches an error or a log.
pub fn read_answer(status: u16, body: &[u8], retry_after: Option<u64>) -> Answer {
    if status == 408 || status == 429 || status >= 500 {
        return Answer::Transient { retry_after };
    }
    let parsed: Option<Map<String, Value>> = serde_json::from_slice(body).ok();
    if status == 200 {
        return match parsed.and_then(grant) {
            Some(granted) => Answer::Granted(granted),
            // A 200 that is no token response: the endpoint is misbehaving; try later.
            None => Answer::Transient { retry_after },
        };
    }
    match parsed
        .as_ref()
        .and_then(|b| b.get("error"))
        .and_then(Value::as_str)
    {
        Some("invalid_grant") => Answer::InvalidGrant,
        _ => Answer::Refused,
    }
}

fn grant(mut body: Map<String, Value>) -> Option<TokenGrant> {
    let secret = |v: Value| match v {
        Value::String(s) if !s.is_empty() => Some(SecretString::from(s)),
        _ => None,
    };
    let access_token = secret(body.remove("access_token")?)?;
    let refresh_token = body.remove("refresh_token").and_then(secret);
    let text = |v: Option<Value>| v.and_then(|v| v.as_str().map(str::to_owned));
    let expires_in = match body.remove("expires_in") {
        Some(Value::Number(n)) => n.as_u64(),
        // Some providers send it as a string.
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    Some(TokenGrant {
        access_token,
        refresh_token,
        token_type: text(body.remove("token_type")),
        expires_in,
        scope: text(body.remove("scope")),
    })
}

/// The form a refresh posts (RFC 6749 §6 or §4.4); client authentication goes in the
/// Basic header (§2.3.1: both parts form-encoded first).
pub fn token_request_form<'a>(
    client: &'a OauthClient,
    refresh_token: Option<&'a SecretString>,
) -> Vec<(&'static str, &'a str)> {
    let mut form = Vec::new();
    match client.grant {
        Grant::RefreshToken => {
            form.push(("grant_type", "refresh_token"));
            if let Some(token) = refresh_token {
                form.push(("refresh_token", token.expose_secret()));
            }
        }
        Grant::ClientCredentials => form.push(("grant_type", "client_credentials")),
    }
    // The scopes asked for: all of them on a client-credentials grant; on a refresh, the
    // same or fewer than the grant had (RFC 6749 §6), so a narrower `scopes` takes effect.
    if let Some(scope) = &client.scope {
        form.push(("scope", scope.as_str()));
    }
    if let Some(audience) = &client.audience {
        form.push(("audience", audience.as_str()));
    }
    form
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_read_without_keeping_provider_text() {
        let body = json!({"access_token": "a", "token_type": "Bearer", "expires_in": 3600,
                          "refresh_token": "r", "scope": "read write"});
        let Answer::Granted(g) = read_answer(200, body.to_string().as_bytes(), None) else {
            panic!("a grant")
        };
        assert_eq!(g.access_token.expose_secret(), "a");
        assert_eq!(g.refresh_token.unwrap().expose_secret(), "r");
        assert_eq!(
            (g.expires_in, g.scope.as_deref()),
            (Some(3600), Some("read write"))
        );
        let no_rotation = json!({"access_token": "a", "expires_in": "60"});
        let Answer::Granted(g) = read_answer(200, no_rotation.to_string().as_bytes(), None) else {
            panic!("a grant")
        };
        assert!(g.refresh_token.is_none());
        assert_eq!(g.expires_in, Some(60));
        assert!(!format!("{g:?}").contains('a') || !format!("{g:?}").contains("\"a\""));

        let error = |status, body: Value| read_answer(status, body.to_string().as_bytes(), Some(7));
        assert!(matches!(
            error(400, json!({"error": "invalid_grant"})),
            Answer::InvalidGrant
        ));
        assert!(matches!(
            error(401, json!({"error": "invalid_client"})),
            Answer::Refused
        ));
        assert!(matches!(error(404, json!("not found")), Answer::Refused));
        assert!(matches!(
            error(429, json!({})),
            Answer::Transient {
                retry_after: Some(7)
            }
        ));
        assert!(matches!(error(503, json!({})), Answer::Transient { .. }));
        assert!(matches!(
            error(200, json!({"token": "x"})),
            Answer::Transient { .. }
        ));
    }

    #[test]
    fn freshness_and_keep_alive() {
        let mut state = TokenState {
            sealed: BTreeMap::from([(
                "access_token".to_owned(),
                SealedSecret {
                    encrypted_data_key: vec![1],
                    nonce: vec![1; 12],
                    ciphertext: vec![1],
                    encoding: super::super::Encoding::Text,
                    bound: true,
                },
            )]),
            expires_at: Some(1_000),
            refreshed_at: Some(100),
            ..TokenState::default()
        };
        assert!(state.fresh_for(0, 700, 300));
        assert!(!state.fresh_for(0, 701, 300));
        assert!(
            !state.fresh_for(1, 700, 300),
            "obtained with other material"
        );
        assert!(state.still_valid(0, 999) && !state.still_valid(0, 1_000));
        assert_eq!(state.keep_alive_due(), Some(100));
        state.expires_at = None;
        assert!(
            !state.fresh_for(0, 0, 0),
            "an unknown expiry counts as expired"
        );
        assert_eq!(state.keep_alive_due(), Some(100 + 86_400));
    }
}
