//! OAuth tokens kept fresh by the store (`domain::oauth` has the rules, `store::tokens` the
//! items): a resolve that needs a fresher access token, and the scheduled keep-alive, go
//! through [`Refresher::usable_token`]:
//!
//! 1. read the token state; a token good for `min_ttl` seconds is answered as it is;
//! 2. during a cooldown (the endpoint failed transiently), a token still valid is answered
//!    flagged `stale`, else 503 `token_endpoint_unavailable` with `Retry-After`;
//! 3. otherwise take the lease (a conditional update: one refresh at a time per credential,
//!    across every container). A caller that cannot take it polls the token state with
//!    backoff for up to `refresh_wait` and answers the token the holder commits; if none
//!    comes, the current token when it is still good for `min_ttl`, else 503
//!    `refresh_in_progress` with `Retry-After`;
//! 4. the holder opens the refresh material, calls the token endpoint through the egress
//!    guard, seals the new tokens and commits them with the audit event in one transaction
//!    conditioned on still holding the lease (a refresh token the endpoint does not rotate
//!    is kept as it is).
//!
//! `invalid_grant` (after reading the state again) and every other refusal mark the
//! credential `reauthorization_required`; 408, 429, 5xx, timeouts and transport failures
//! start a cooldown. The endpoint's answers are never echoed.
//!
//! The scheduled keep-alive lives in `service/keep_alive.rs` and is re-exported here.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};

use crate::audit::{Action, Actor, AuditEvent, RequestInfo};
use crate::crypto::SealScope;
use crate::domain::oauth::{
    self, Answer, Grant, OauthClient, TokenGrant, TokenState, COOLDOWN_SECONDS,
};
use crate::domain::{Destination, SecretValue, StoredCredential};
use crate::egress::EgressError;
use crate::error::{ApiError, ErrorCode};
use crate::store::StoreError;
use crate::AppState;

pub use super::keep_alive::{
    keep_alive, KeepAliveReport, KEEP_ALIVE_BATCH, KEEP_ALIVE_RETRY_SECONDS, KEEP_ALIVE_TIME_BOX,
};

/// Default bound of how long a caller waits for another caller's refresh (in all, over
/// one resolve).
pub const DEFAULT_REFRESH_WAIT: Duration = Duration::from_secs(8);

/// The AWS calls a refreshing resolve may wait for one after another, besides the
/// resolve's own (key, credential, event): per decision round (three at most) the token
/// state; one lease, one open of the refresh material, one data key, the commit (a
/// transaction: two), a release or a mark (a transaction: two), a re-read after
/// `invalid_grant`; the open of the other secrets. With the token endpoint's bound and the
/// wait, `tests/api/template.rs` checks it against the resolver's timeout.
pub const REFRESH_WORST_CASE_CALLS: usize = 3 + 1 + 1 + 1 + 2 + 2 + 1 + 1;
/// The longest cooldown a `Retry-After` from the endpoint can ask for.
const MAX_COOLDOWN_SECONDS: u64 = 300;
/// Poll intervals while another caller holds the lease (then the last one, repeated).
const POLL_MILLIS: [u64; 5] = [50, 100, 200, 400, 800];

/// What a caller needs of the access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenNeed {
    /// Good for at least this many more seconds (`min_ttl_seconds`).
    pub min_ttl: u64,
    /// Refresh even if the stored token is good (`force_refresh`).
    pub force: bool,
    /// Wait for another caller's refresh (resolve), or give up at once (the keep-alive).
    pub wait: bool,
}

/// An access token to answer with. `Debug` never shows it.
#[derive(Debug)]
pub struct UsableToken {
    pub access_token: SecretValue,
    pub token_type: Option<String>,
    /// Epoch seconds; `None` when the endpoint did not say.
    pub expires_at: Option<u64>,
    pub scope: Option<String>,
    /// Answered during a cooldown although it is good for less than `min_ttl`.
    pub stale: bool,
    /// This call refreshed it.
    pub refreshed: bool,
}

/// Refreshes on behalf of `actor` (a resolving API key, or the scheduler).
pub struct Refresher<'a> {
    pub app: &'a AppState,
    pub actor: Actor,
    pub request: RequestInfo,
}

fn now_millis(app: &AppState) -> u64 {
    app.now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn reauthorization_required() -> ApiError {
    ApiError::new(
        ErrorCode::ReauthorizationRequired,
        "The token endpoint refused this credential's refresh material. Update the credential with a new refresh token (or client secret) to use it again.",
    )
}

fn endpoint_unavailable(retry_after: u64) -> ApiError {
    ApiError::new(
        ErrorCode::TokenEndpointUnavailable,
        "The token endpoint is not answering; no valid access token is stored. Retry later.",
    )
    .retry_after(retry_after)
}

fn endpoint_refused() -> ApiError {
    ApiError::new(
        ErrorCode::TokenEndpointRefused,
        "This credential's token_url is not one this service may call: https to a public address, or one the operator allows.",
    )
}

fn in_progress(retry_after: u64) -> ApiError {
    ApiError::new(
        ErrorCode::RefreshInProgress,
        "Another request is refreshing this credential's token. Retry shortly.",
    )
    .retry_after(retry_after)
}

/// How the holder's refresh ended.
enum Outcome {
    Done(UsableToken),
    /// The lease was lost (or the token state reset) before the commit: read again.
    Lost,
}

impl Refresher<'_> {
    fn scope_digest(credential: &StoredCredential) -> String {
        Destination::of(credential.kind, &credential.config).digest()
    }

    fn event(&self, action: Action, credential: &StoredCredential) -> AuditEvent {
        AuditEvent::for_credential(
            action,
            credential,
            self.actor.clone(),
            &self.request,
            Vec::new(),
            self.app.now(),
            self.app.audit_retention,
        )
    }

    /// Opens the stored access token of `state`.
    async fn open_stored(
        &self,
        credential: &StoredCredential,
        state: &TokenState,
        stale: bool,
    ) -> Result<UsableToken, ApiError> {
        let digest = Self::scope_digest(credential);
        let scope = SealScope {
            workspace_id: &credential.workspace_id,
            credential_id: &credential.id,
            destination: &digest,
        };
        let sealed: BTreeMap<String, _> = state
            .sealed
            .iter()
            .filter(|(field, _)| field.as_str() == "access_token")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut opened = self.app.encryptor.open(&scope, &sealed).await?;
        let access_token = opened
            .remove("access_token")
            .ok_or_else(ApiError::internal)?;
        Ok(UsableToken {
            access_token,
            token_type: state.token_type.clone(),
            expires_at: state.expires_at,
            scope: state.scope.clone(),
            stale,
            refreshed: false,
        })
    }

    /// An access token for `credential` that meets `need` (see the module docs).
    pub async fn usable_token(
        &self,
        credential: &StoredCredential,
        client: &OauthClient,
        need: TokenNeed,
    ) -> Result<UsableToken, ApiError> {
        let (workspace, id) = (credential.workspace_id.as_str(), credential.id.as_str());
        // Bounded: at most one refresh of our own, and waits of `refresh_wait` in all.
        let started = Instant::now();
        let mut tried = false;
        for _ in 0..3 {
            let state = self.app.store.get_token_state(workspace, id).await?;
            // Refused while this caller waited (or since its credential was read).
            if state.refused_material == Some(credential.token_material) {
                return Err(reauthorization_required());
            }
            let now = self.app.now_epoch();
            if !need.force && state.fresh_for(credential.token_material, now, need.min_ttl) {
                return self.open_stored(credential, &state, false).await;
            }
            if let Some(until) = state.cooldown_until.filter(|&until| until > now) {
                if state.still_valid(credential.token_material, now) {
                    return self.open_stored(credential, &state, true).await;
                }
                return Err(endpoint_unavailable(until - now));
            }
            let owner = crate::ids::new_request_id();
            let now_ms = now_millis(self.app);
            let taken = !tried
                && !state.leased(now_ms)
                && self
                    .app
                    .store
                    .take_lease(
                        workspace,
                        id,
                        &owner,
                        now_ms,
                        state.generation,
                        credential.token_material,
                    )
                    .await?;
            if taken {
                tried = true;
                match self.refresh(credential, client, &state, &owner).await? {
                    Outcome::Done(token) => return Ok(token),
                    Outcome::Lost => continue,
                }
            }
            if !need.wait {
                return Err(in_progress(1));
            }
            let budget = self.app.refresh_wait.saturating_sub(started.elapsed());
            if let Some(token) = self
                .wait_for_commit(credential, &state, need, budget)
                .await?
            {
                return Ok(token);
            }
        }
        Err(in_progress(1))
    }

    /// Polls the token state until a refresh after `seen` commits (its token is answered),
    /// the lease is given back without one (`None`: decide again), or `budget` runs out
    /// (the current token if it is good for `min_ttl`, else 503 `refresh_in_progress`).
    async fn wait_for_commit(
        &self,
        credential: &StoredCredential,
        seen: &TokenState,
        need: TokenNeed,
        budget: Duration,
    ) -> Result<Option<UsableToken>, ApiError> {
        let (workspace, id) = (credential.workspace_id.as_str(), credential.id.as_str());
        let started = Instant::now();
        let mut polls = POLL_MILLIS.iter().copied().chain(std::iter::repeat(800));
        loop {
            let pause = Duration::from_millis(polls.next().unwrap_or(800));
            if started.elapsed() + pause > budget {
                break;
            }
            tokio::time::sleep(pause).await;
            let state = self.app.store.get_token_state(workspace, id).await?;
            if state.generation > seen.generation && state.sealed.contains_key("access_token") {
                return self.open_stored(credential, &state, false).await.map(Some);
            }
            if !state.leased(now_millis(self.app)) {
                return Ok(None);
            }
        }
        let state = self.app.store.get_token_state(workspace, id).await?;
        let now = self.app.now_epoch();
        if state.fresh_for(credential.token_material, now, need.min_ttl) {
            return self.open_stored(credential, &state, false).await.map(Some);
        }
        let left_ms = state
            .lease
            .map_or(1_000, |l| l.until_ms.saturating_sub(now_millis(self.app)));
        Err(in_progress(left_ms.div_ceil(1_000)))
    }

    /// The lease holder's refresh.
    async fn refresh(
        &self,
        credential: &StoredCredential,
        client: &OauthClient,
        state: &TokenState,
        owner: &str,
    ) -> Result<Outcome, ApiError> {
        let (workspace, id) = (credential.workspace_id.as_str(), credential.id.as_str());
        let release = |cooldown: Option<u64>| async move {
            self.app
                .store
                .release_lease(workspace, id, owner, cooldown)
                .await
        };
        let material = match self.open_material(credential, client, state).await {
            Ok(material) => material,
            Err(e) => {
                release(None).await?;
                return Err(e);
            }
        };
        let Some(material) = material else {
            // A refresh-token grant without a refresh token: only a write can help.
            return self.mark(credential, owner).await;
        };
        let form = oauth::token_request_form(client, material.refresh_token.as_ref());
        let encode = |s: &str| -> SecretString {
            SecretString::from(
                url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>(),
            )
        };
        let user = encode(&client.client_id);
        let password = encode(material.client_secret.expose_secret());
        let answer = self
            .app
            .egress()
            .post_form(
                &client.token_url,
                &form,
                Some((user.expose_secret(), password.expose_secret())),
            )
            .await;
        drop(material);
        let now = self.app.now_epoch();
        let cooldown = |retry_after: Option<u64>| {
            now + retry_after
                .unwrap_or(COOLDOWN_SECONDS)
                .clamp(COOLDOWN_SECONDS, MAX_COOLDOWN_SECONDS)
        };
        let response = match answer {
            Ok(response) => response,
            Err(e) if refused(&e) => {
                tracing::warn!(
                    credential_id = id,
                    outcome = e.kind(),
                    "token endpoint refused by the egress guard"
                );
                release(Some(cooldown(None))).await?;
                return Err(endpoint_refused());
            }
            Err(e) => {
                tracing::warn!(
                    credential_id = id,
                    outcome = e.kind(),
                    "token endpoint unreachable"
                );
                let until = cooldown(None);
                release(Some(until)).await?;
                return self.after_transient(credential, state, until).await;
            }
        };
        let retry_after = response.retry_after.map(|d| d.as_secs());
        match oauth::read_answer(response.status, response.body.expose_secret(), retry_after) {
            Answer::Granted(grant) => self.commit(credential, state, owner, grant, client).await,
            Answer::Transient { retry_after } => {
                tracing::warn!(
                    credential_id = id,
                    status = response.status,
                    "token endpoint failed transiently"
                );
                let until = cooldown(retry_after);
                release(Some(until)).await?;
                self.after_transient(credential, state, until).await
            }
            Answer::InvalidGrant => {
                // Another refresh may have won meanwhile (a lease that expired under us).
                let again = self.app.store.get_token_state(workspace, id).await?;
                if again.generation > state.generation {
                    release(None).await?;
                    return Ok(Outcome::Lost);
                }
                tracing::warn!(credential_id = id, "token endpoint answered invalid_grant");
                self.mark(credential, owner).await
            }
            Answer::Refused => {
                tracing::warn!(
                    credential_id = id,
                    status = response.status,
                    "token endpoint refused the client"
                );
                self.mark(credential, owner).await
            }
        }
    }

    /// After a transient failure: the stored token while it is valid (stale), else 503.
    async fn after_transient(
        &self,
        credential: &StoredCredential,
        state: &TokenState,
        cooldown_until: u64,
    ) -> Result<Outcome, ApiError> {
        let now = self.app.now_epoch();
        if state.still_valid(credential.token_material, now) {
            return self
                .open_stored(credential, state, true)
                .await
                .map(Outcome::Done);
        }
        Err(endpoint_unavailable(cooldown_until.saturating_sub(now)))
    }

    async fn mark(&self, credential: &StoredCredential, owner: &str) -> Result<Outcome, ApiError> {
        let event = self.event(Action::ReauthorizationRequired, credential);
        match self
            .app
            .store
            .mark_reauthorization_required(
                &credential.workspace_id,
                &credential.id,
                owner,
                credential.token_material,
                &event,
            )
            .await
        {
            Ok(()) => {
                event.log();
                Err(reauthorization_required())
            }
            // A write of new refresh material came first (it reset the token state or
            // changed the material): decide again.
            Err(StoreError::Conflict) => Ok(Outcome::Lost),
            Err(e) => Err(e.into()),
        }
    }

    /// The client secret and the refresh token in use (the last one a refresh stored, or
    /// the credential's own), opened; `None` for a refresh-token grant without one.
    async fn open_material(
        &self,
        credential: &StoredCredential,
        client: &OauthClient,
        state: &TokenState,
    ) -> Result<Option<Material>, ApiError> {
        let digest = Self::scope_digest(credential);
        let scope = SealScope {
            workspace_id: &credential.workspace_id,
            credential_id: &credential.id,
            destination: &digest,
        };
        let needs_refresh_token = client.grant == Grant::RefreshToken;
        let from_state = needs_refresh_token && state.sealed.contains_key("refresh_token");
        let mut own: BTreeMap<String, _> = BTreeMap::new();
        for field in ["client_secret", "refresh_token"] {
            let wanted = field == "client_secret" || (needs_refresh_token && !from_state);
            if let Some(sealed) = credential.secrets.get(field).filter(|_| wanted) {
                own.insert(field.to_owned(), sealed.clone());
            }
        }
        let stored: BTreeMap<String, _> = state
            .sealed
            .iter()
            .filter(|(field, _)| from_state && field.as_str() == "refresh_token")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Two data keys at most (the credential's, the last refresh's): opened together.
        let (mut own, mut stored) = tokio::try_join!(
            self.app.encryptor.open(&scope, &own),
            self.app.encryptor.open(&scope, &stored),
        )?;
        let Some(client_secret) = own.remove("client_secret") else {
            return Ok(None);
        };
        let refresh_token = stored
            .remove("refresh_token")
            .or_else(|| own.remove("refresh_token"))
            .map(|v| SecretString::from(v.expose().to_owned()));
        if needs_refresh_token && refresh_token.is_none() {
            return Ok(None);
        }
        Ok(Some(Material {
            client_secret: SecretString::from(client_secret.expose().to_owned()),
            refresh_token,
        }))
    }

    /// Seals the granted tokens and commits them with the audit event.
    async fn commit(
        &self,
        credential: &StoredCredential,
        state: &TokenState,
        owner: &str,
        grant: TokenGrant,
        client: &OauthClient,
    ) -> Result<Outcome, ApiError> {
        let (workspace, id) = (credential.workspace_id.as_str(), credential.id.as_str());
        let now = self.app.now_epoch();
        let access_token = SecretValue::text(grant.access_token);
        let mut fresh = BTreeMap::from([("access_token".to_owned(), access_token.clone())]);
        if let Some(rotated) = grant.refresh_token {
            fresh.insert("refresh_token".to_owned(), SecretValue::text(rotated));
        }
        let digest = Self::scope_digest(credential);
        let scope = SealScope {
            workspace_id: workspace,
            credential_id: id,
            destination: &digest,
        };
        let sealed = match self.app.encryptor.seal(&scope, &fresh).await {
            Ok(sealed) => sealed,
            Err(e) => {
                // The endpoint rotated the refresh token and it cannot be kept: the window
                // the docs describe. The lease runs out on its own.
                tracing::error!(credential_id = id, "sealing refreshed tokens failed");
                return Err(e.into());
            }
        };
        let mut next = TokenState {
            generation: state.generation + 1,
            // A refresh token the endpoint did not rotate stays as it was stored.
            sealed: state
                .sealed
                .iter()
                .filter(|(field, _)| field.as_str() == "refresh_token")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            token_type: grant.token_type.clone(),
            expires_at: grant.expires_in.map(|s| now + s),
            scope: grant.scope.clone().or_else(|| client.scope.clone()),
            refreshed_at: Some(now),
            material: credential.token_material,
            lease: None,
            cooldown_until: None,
            refused_material: None,
        };
        next.sealed.extend(sealed);
        let event = self.event(Action::TokenRefreshed, credential);
        match self
            .app
            .store
            .commit_refresh(workspace, id, owner, &next, next.keep_alive_due(), &event)
            .await
        {
            Ok(()) => {
                event.log();
                Ok(Outcome::Done(UsableToken {
                    access_token,
                    token_type: next.token_type,
                    expires_at: next.expires_at,
                    scope: next.scope,
                    stale: false,
                    refreshed: true,
                }))
            }
            Err(StoreError::Conflict) => {
                tracing::error!(
                    credential_id = id,
                    "a refresh lost its lease before its commit; its tokens were not kept"
                );
                Ok(Outcome::Lost)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The refresh material, opened. No `Debug`.
struct Material {
    client_secret: SecretString,
    refresh_token: Option<SecretString>,
}

/// Refusals of the egress guard (a URL or address it will not call): no retry helps.
fn refused(error: &EgressError) -> bool {
    error.is_refusal()
}
