//! Secret versions: every write that sets or removes a secret makes an immutable version
//! n+1 holding the whole sealed set, and three stages say which versions are in use:
//! `current` (what resolve returns by default), `previous` (the one `current` replaced,
//! resolvable for the credential's `rotation_grace_seconds`) and `pending` (staged, not yet
//! in use). Retention keeps the newest `max_versions` versions plus any labelled one; what
//! falls out is deleted, data and metadata. A version destroyed on request loses its sealed
//! data and keeps its metadata until it falls out too.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::SealedSecret;

/// Default of `rotation_grace_seconds`: a day.
pub const DEFAULT_ROTATION_GRACE_SECONDS: u64 = 86_400;
/// Largest `rotation_grace_seconds`: a week.
pub const MAX_ROTATION_GRACE_SECONDS: u64 = 604_800;
/// Default of `max_versions`.
pub const DEFAULT_MAX_VERSIONS: u32 = 10;
/// Largest `max_versions`.
pub const MAX_MAX_VERSIONS: u32 = 100;

crate::labelled_enum! {
    /// A label a version can carry.
    pub enum Stage {
        Current => "current",
        Previous => "previous",
        Pending => "pending",
    }
}

/// The version `current` replaced, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Previous {
    pub version: u64,
    /// When it stopped being current (RFC 3339): its grace window starts here.
    pub replaced_at: String,
}

/// One secret version as stored: the whole sealed set it holds (none once destroyed),
/// where it was bound to send its secrets, and who wrote it.
#[derive(Clone, Debug, PartialEq)]
pub struct SecretVersion {
    pub workspace_id: String,
    pub credential_id: String,
    pub version: u64,
    pub created_at: String,
    /// The API key id that wrote it (`admin` for the admin tool).
    pub created_by: String,
    /// The secret fields this version set or removed, compared with the version before.
    pub changed_fields: Vec<String>,
    /// Empty once destroyed.
    pub secrets: BTreeMap<String, SealedSecret>,
    /// The destination fields and values its secrets were sealed for.
    pub destination: Map<String, Value>,
    pub destroyed_at: Option<String>,
}

/// Which versions stay: the newest `max_versions` of `kept` (the version numbers whose item
/// exists) and every labelled one. Returns the numbers to delete, oldest first.
pub fn fall_out(kept: &[u64], max_versions: u32, labelled: &[u64]) -> Vec<u64> {
    let mut newest_first: Vec<u64> = kept.to_vec();
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    newest_first.dedup();
    let mut out: Vec<u64> = newest_first
        .into_iter()
        .skip(max_versions as usize)
        .filter(|v| !labelled.contains(v))
        .collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_keeps_the_newest_and_every_labelled_version() {
        assert_eq!(fall_out(&[1, 2, 3], 10, &[3]), Vec::<u64>::new());
        assert_eq!(fall_out(&[1, 2, 3, 4, 5], 2, &[5, 4]), [1, 2, 3]);
        // A labelled version outside the window stays.
        assert_eq!(fall_out(&[1, 2, 3, 4, 5], 2, &[5, 1]), [2, 3]);
        assert_eq!(fall_out(&[7, 3, 9], 1, &[9, 3]), [7]);
    }

    #[test]
    fn stages_have_wire_labels() {
        assert_eq!(Stage::parse("previous"), Some(Stage::Previous));
        assert_eq!(Stage::ONE_OF, "must be one of current, previous, pending");
    }
}
