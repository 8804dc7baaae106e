//! Operator maintenance (the admin tool's `migrate --seal-undeclared`): credentials written
//! before undeclared fields were sealed by default keep showing them until this seals them.

use std::collections::BTreeMap;

use crate::audit::{self, Action, Actor, AuditEvent, RequestInfo};
use crate::crypto::SealScope;
use crate::domain::{schema, CredentialChange, Destination, SecretValue};
use crate::error::ApiError;
use crate::store::{StoreError, VersionWrites};
use crate::AppState;

/// What sealing undeclared fields did (or, in a dry run, would do).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SealReport {
    /// Credentials that show undeclared fields (all of them, in a dry run).
    pub candidates: usize,
    /// Credentials sealed.
    pub sealed: usize,
    /// Credentials that changed between the scan and the write (a newer write won): left
    /// as they are; run again.
    pub skipped: usize,
}

/// Seals the undeclared visible fields of every credential written before
/// `visible_fields` existed: one data key per credential, one transaction conditioned on
/// the version read, with a `credential.updated` event by the admin actor. `dry_run` only
/// counts.
pub async fn seal_undeclared(app: &AppState, dry_run: bool) -> Result<SealReport, ApiError> {
    let candidates = app.store.credentials_showing_undeclared_fields().await?;
    let mut report = SealReport {
        candidates: candidates.len(),
        ..SealReport::default()
    };
    if dry_run {
        return Ok(report);
    }
    for current in candidates {
        let mut config = current.config.clone();
        let mut set_secrets = BTreeMap::new();
        for key in current.config.keys() {
            if schema::declared(current.kind, key).is_none() {
                if let Some(value) = config.shift_remove(key) {
                    set_secrets.insert(key.clone(), SecretValue::of(&value));
                }
            }
        }
        let change = CredentialChange {
            rename: None,
            config,
            set_secrets,
            remove_secrets: Default::default(),
            visible_fields: Vec::new(),
            rotation_grace_seconds: None,
            max_versions: None,
        };
        let destination = Destination::of(current.kind, &change.config).digest();
        let scope = SealScope {
            workspace_id: &current.workspace_id,
            credential_id: &current.id,
            destination: &destination,
        };
        let sealed = app.encryptor.seal(&scope, &change.set_secrets).await?;
        // Secrets written before versions existed become version 1 first, so that they
        // stay resolvable as `previous`.
        let (base, adopted) = current.versioned_base();
        let mut next = base.apply(&change, &sealed, &app.now_rfc3339());
        let mut put: Vec<_> = adopted.into_iter().collect();
        put.push(next.current_version_item("admin", change.secret_paths()));
        let versions = VersionWrites {
            put,
            delete: next.retained_after_update(),
            ..VersionWrites::default()
        };
        let changes = audit::changed_paths(&current, &next, change.set_secrets.keys().cloned());
        let mut event = AuditEvent::for_credential(
            Action::CredentialUpdated,
            &next,
            Actor::Admin,
            &RequestInfo::default(),
            changes,
            app.now(),
            app.audit_retention,
        );
        event.secret_version = Some(next.versions.current);
        match app
            .store
            .replace_credential(&current, &next, &event, &versions)
            .await
        {
            Ok(()) => {
                event.log();
                report.sealed += 1;
            }
            Err(StoreError::Conflict) => report.skipped += 1,
            Err(other) => return Err(other.into()),
        }
    }
    Ok(report)
}
