//! How a credential's secret versions change: staging a pending version, promoting one,
//! copying an old one forward, destroying one, retention, and which version a resolve of a
//! stage gets. Each change returns the record as it must be stored next (one more write:
//! `version` + 1) and the version items to write or destroy with it.

use std::collections::BTreeMap;

use super::versions::fall_out;
use super::{CredentialChange, Destination, SealedSecret, SecretVersion, Stage, StoredCredential};
use crate::clock;

/// Who wrote a version adopted from secrets written before versions existed: not recorded.
pub const UNRECORDED: &str = "unrecorded";

/// What a resolve asks for: a stage, or a version by number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selector {
    Stage(Stage),
    Version(u64),
}

/// Why a version cannot be resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unresolvable {
    /// No such version, or no version has that stage.
    Unknown,
    /// `previous`, past its grace window.
    Expired,
    /// Its sealed data was destroyed.
    Destroyed,
}

/// The version a resolve reads: the number, the stage it carries, and whether its sealed
/// data is the credential's own (current) or in its version item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chosen {
    pub version: u64,
    pub stage: Option<Stage>,
    pub inline: bool,
}

impl StoredCredential {
    /// The version numbers a stage points at now.
    pub fn labelled_versions(&self) -> Vec<u64> {
        let v = &self.versions;
        [
            Some(v.current),
            v.previous.as_ref().map(|p| p.version),
            v.pending,
        ]
        .into_iter()
        .flatten()
        .filter(|&n| n > 0)
        .collect()
    }

    /// The stage `version` carries, if any.
    pub fn stage_of(&self, version: u64) -> Option<Stage> {
        let v = &self.versions;
        if version == 0 {
            None
        } else if version == v.current {
            Some(Stage::Current)
        } else if v.previous.as_ref().is_some_and(|p| p.version == version) {
            Some(Stage::Previous)
        } else if v.pending == Some(version) {
            Some(Stage::Pending)
        } else {
            None
        }
    }

    /// When the previous version stops being resolvable by its stage.
    pub fn previous_valid_until(&self) -> Option<String> {
        let previous = self.versions.previous.as_ref()?;
        let replaced = clock::parse_rfc3339(&previous.replaced_at)?;
        let until = replaced + std::time::Duration::from_secs(self.versions.rotation_grace_seconds);
        Some(clock::rfc3339(until))
    }

    /// Which version a resolve of `selector` at `now` gets.
    pub fn choose(&self, selector: Selector, now: &str) -> Result<Chosen, Unresolvable> {
        let v = &self.versions;
        let version = match selector {
            // A credential whose secrets predate versions has current 0 and its secrets
            // inline: current still resolves.
            Selector::Stage(Stage::Current) => v.current,
            Selector::Stage(Stage::Previous) => {
                let until = self.previous_valid_until().ok_or(Unresolvable::Unknown)?;
                if now > until.as_str() {
                    return Err(Unresolvable::Expired);
                }
                v.previous.as_ref().ok_or(Unresolvable::Unknown)?.version
            }
            Selector::Stage(Stage::Pending) => v.pending.ok_or(Unresolvable::Unknown)?,
            Selector::Version(n) if n == 0 || n > v.latest => return Err(Unresolvable::Unknown),
            Selector::Version(n) => n,
        };
        if version == v.current {
            return Ok(Chosen {
                version,
                stage: Some(Stage::Current),
                inline: true,
            });
        }
        if !v.sealed.contains(&version) {
            return Err(Unresolvable::Destroyed);
        }
        Ok(Chosen {
            version,
            stage: self.stage_of(version),
            inline: false,
        })
    }

    /// Applies retention to `self`: the versions that fall out are deleted, data and
    /// metadata. Returns their numbers (to delete with the write).
    pub(super) fn retain_versions(&mut self) -> Vec<u64> {
        let labelled = self.labelled_versions();
        let out = fall_out(&self.versions.kept, self.versions.max_versions, &labelled);
        self.versions.kept.retain(|v| !out.contains(v));
        self.versions.sealed.retain(|v| !out.contains(v));
        out
    }

    /// `self`, with secrets written before versions existed adopted as version 1 (and that
    /// version's item to write), or `self` as it is.
    pub fn versioned_base(&self) -> (Self, Option<SecretVersion>) {
        match self.adopt_unversioned() {
            Some((adopted, item)) => (adopted, Some(item)),
            None => (self.clone(), None),
        }
    }

    /// A credential whose secrets predate versions (current 0, secrets inline), with those
    /// secrets as version 1 and its item; `None` when there is nothing to adopt. Written
    /// before a change of secrets, so that the old set stays resolvable as `previous`.
    pub fn adopt_unversioned(&self) -> Option<(Self, SecretVersion)> {
        if self.versions.current != 0 || self.versions.latest != 0 || self.secrets.is_empty() {
            return None;
        }
        let mut adopted = self.clone();
        let v = &mut adopted.versions;
        v.current = 1;
        v.latest = 1;
        v.kept = vec![1];
        v.sealed = vec![1];
        v.rotated_at = Some(self.updated_at.clone());
        let changed = self.secrets.keys().cloned().collect();
        let item = adopted.version_item(1, self.secrets.clone(), UNRECORDED, changed);
        Some((adopted, item))
    }

    /// The record after a write (the next `version`, `updated_at`), with retention applied;
    /// returns the versions to destroy.
    fn written(&mut self, now: &str) -> Vec<u64> {
        self.updated_at = now.to_owned();
        self.version += 1;
        self.retain_versions()
    }

    /// The version item of the current sealed set, written by `by` at `now`.
    pub fn current_version_item(&self, by: &str, changed_fields: Vec<String>) -> SecretVersion {
        self.version_item(
            self.versions.current,
            self.secrets.clone(),
            by,
            changed_fields,
        )
    }

    fn version_item(
        &self,
        version: u64,
        secrets: BTreeMap<String, SealedSecret>,
        by: &str,
        changed_fields: Vec<String>,
    ) -> SecretVersion {
        SecretVersion {
            workspace_id: self.workspace_id.clone(),
            credential_id: self.id.clone(),
            version,
            created_at: self.updated_at.clone(),
            created_by: by.to_owned(),
            changed_fields,
            secrets,
            destination: Destination::of(self.kind, &self.config).fields(),
            destroyed_at: None,
        }
    }

    /// Retention after an ordinary update (`apply`): the versions to destroy.
    pub fn retained_after_update(&mut self) -> Vec<u64> {
        self.retain_versions()
    }

    /// A pending version: this credential's secrets with `change` applied (its sealed
    /// values in `sealed`), staged without touching what is current.
    pub fn stage_pending(
        &self,
        change: &CredentialChange,
        sealed: &BTreeMap<String, SealedSecret>,
        by: &str,
        now: &str,
    ) -> (Self, SecretVersion, Vec<u64>) {
        let mut next = self.clone();
        let version = self.versions.latest + 1;
        next.versions.latest = version;
        next.versions.pending = Some(version);
        next.versions.sealed.push(version);
        next.versions.kept.push(version);
        let destroyed = next.written(now);
        let item = next.version_item(
            version,
            self.secrets_after(change, sealed),
            by,
            change.secret_paths(),
        );
        (next, item, destroyed)
    }

    /// `version` made current: its sealed set becomes the credential's, and its
    /// destination fields their values (a secret is only ever shown with the destination
    /// it was sealed for).
    pub fn promote(&self, version: &SecretVersion, now: &str) -> (Self, Vec<u64>) {
        let mut next = self.clone();
        next.secrets.clone_from(&version.secrets);
        next.set_destination(&version.destination);
        next.make_current(version.version, now);
        let destroyed = next.written(now);
        self.settle_auth_status(&mut next);
        (next, destroyed)
    }

    /// `version` copied forward as a new current version (its sealed data as it is: the
    /// seal binds workspace, credential, field and destination, not the version number).
    pub fn restore_version(
        &self,
        version: &SecretVersion,
        by: &str,
        now: &str,
    ) -> (Self, SecretVersion, Vec<u64>) {
        let mut next = self.clone();
        let number = self.versions.latest + 1;
        next.secrets.clone_from(&version.secrets);
        next.set_destination(&version.destination);
        next.make_current(number, now);
        let destroyed = next.written(now);
        self.settle_auth_status(&mut next);
        let changed: Vec<String> = next.secrets.keys().cloned().collect();
        let item = next.version_item(number, next.secrets.clone(), by, changed);
        (next, item, destroyed)
    }

    /// `version` destroyed: it loses its sealed data (its metadata stays in the history
    /// until it falls out of retention) and the previous stage, if it had it (current and
    /// pending cannot be destroyed).
    pub fn destroy_version(&self, version: u64, now: &str) -> Self {
        let mut next = self.clone();
        next.versions.sealed.retain(|&v| v != version);
        if next
            .versions
            .previous
            .as_ref()
            .is_some_and(|p| p.version == version)
        {
            next.versions.previous = None;
        }
        next.updated_at = now.to_owned();
        next.version += 1;
        next
    }

    /// The destination fields set to `destination` (those absent from it removed).
    fn set_destination(&mut self, destination: &serde_json::Map<String, serde_json::Value>) {
        let kind = self.kind;
        self.config
            .retain(|name, _| !super::schema::is_destination(kind, name));
        for (name, value) in destination {
            self.config.insert(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Encoding, Previous};
    use crate::ids::new_credential_id;
    use crate::validate;

    fn sealed(byte: u8) -> SealedSecret {
        SealedSecret {
            encrypted_data_key: vec![byte],
            nonce: vec![byte; 12],
            ciphertext: vec![byte; 4],
            encoding: Encoding::Text,
            bound: true,
        }
    }

    fn credential() -> StoredCredential {
        let input = validate::new_credential(serde_json::json!({
            "name": "db", "type": "database", "max_versions": 2,
            "config": {"host": "h", "password": "p"}
        }))
        .unwrap();
        let secrets = BTreeMap::from([("password".to_owned(), sealed(1))]);
        StoredCredential::new(
            "ws",
            new_credential_id(),
            input,
            secrets,
            "key_1",
            "2026-01-01T00:00:00Z",
        )
    }

    fn rotate(c: &StoredCredential, byte: u8, now: &str) -> StoredCredential {
        let change =
            validate::credential_change(serde_json::json!({"config": {"password": "new"}}), c)
                .unwrap();
        let mut next = c.apply(
            &change,
            &BTreeMap::from([("password".to_owned(), sealed(byte))]),
            now,
        );
        next.retained_after_update();
        next
    }

    #[test]
    fn a_secret_write_makes_a_new_current_and_the_old_one_previous() {
        let c = credential();
        assert_eq!((c.versions.current, c.versions.latest), (1, 1));
        let r = rotate(&c, 2, "2026-01-02T00:00:00Z");
        assert_eq!((r.versions.current, r.versions.latest), (2, 2));
        assert_eq!(
            r.versions.previous,
            Some(Previous {
                version: 1,
                replaced_at: "2026-01-02T00:00:00Z".into()
            })
        );
        // Visible-only changes make no version.
        let visible = validate::credential_change(serde_json::json!({"name": "db2"}), &r).unwrap();
        let v = r.apply(&visible, &BTreeMap::new(), "2026-01-03T00:00:00Z");
        assert_eq!(v.versions.current, 2);
        assert_eq!(v.version, r.version + 1);
    }

    #[test]
    fn previous_resolves_within_its_grace_then_only_by_number() {
        let r = rotate(&credential(), 2, "2026-01-02T00:00:00Z");
        let within = r
            .choose(Selector::Stage(Stage::Previous), "2026-01-02T23:59:59Z")
            .unwrap();
        assert_eq!((within.version, within.inline), (1, false));
        assert_eq!(
            r.choose(Selector::Stage(Stage::Previous), "2026-01-03T00:00:01Z"),
            Err(Unresolvable::Expired)
        );
        assert_eq!(
            r.choose(Selector::Version(1), "2030-01-01T00:00:00Z")
                .unwrap()
                .version,
            1
        );
        assert_eq!(
            r.choose(Selector::Version(3), "2026-01-02T00:00:00Z"),
            Err(Unresolvable::Unknown)
        );
        assert_eq!(
            r.choose(Selector::Stage(Stage::Pending), "2026-01-02T00:00:00Z"),
            Err(Unresolvable::Unknown)
        );
    }

    #[test]
    fn retention_destroys_what_falls_out_but_keeps_labels() {
        let c = credential();
        let r2 = rotate(&c, 2, "2026-01-02T00:00:00Z");
        let mut r3 = rotate(&r2, 3, "2026-01-03T00:00:00Z");
        // max 2: versions 2 (previous) and 3 (current) keep their data; 1 fell out.
        assert_eq!(r3.versions.sealed, [2, 3]);
        assert_eq!(
            r3.choose(Selector::Version(1), "2026-01-03T00:00:00Z"),
            Err(Unresolvable::Destroyed)
        );
        assert!(r3.retained_after_update().is_empty());
    }
}
