//! Opaque list cursors.
//!
//! A cursor names the last credential of a page and the filter that produced it, followed by
//! a digest that binds it to the caller's workspace. A cursor from another workspace, with
//! another filter, or edited by hand is refused with 400. The digest is not a secret MAC: it
//! does not need to be, because the workspace a query reads is always taken from the API key,
//! never from the cursor; the digest only turns misuse into a clear error.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::audit::Action;
use crate::ids::is_event_id;
use crate::model::{is_credential_id, CredentialType, Status};
use crate::store::EventFilter;

const DIGEST_BYTES: usize = 16;
const MAX_CURSOR_CHARS: usize = 512;

/// What a list query filters on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListFilter {
    pub status: Status,
    pub kind: Option<CredentialType>,
}

/// A decoded cursor: continue after this credential id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub after_id: String,
}

fn digest(workspace_id: &str, payload: &[u8]) -> [u8; DIGEST_BYTES] {
    let mut hasher = Sha256::new();
    hasher.update(b"credentials-api/cursor/v1\0");
    hasher.update(workspace_id.as_bytes());
    hasher.update([0]);
    hasher.update(payload);
    let full = hasher.finalize();
    let mut out = [0u8; DIGEST_BYTES];
    out.copy_from_slice(&full[..DIGEST_BYTES]);
    out
}

fn payload(filter: ListFilter, after_id: &str) -> String {
    format!(
        "1|{}|{}|{}",
        filter.status.as_str(),
        filter.kind.map_or("", CredentialType::as_str),
        after_id
    )
}

fn event_payload(filter: &EventFilter, after_id: &str) -> String {
    format!(
        "audit1|{}|{}|{}",
        filter.credential_id.as_deref().unwrap_or(""),
        filter.action.map_or("", Action::as_str),
        after_id
    )
}

fn seal(workspace_id: &str, payload: String) -> String {
    let mut bytes = payload.into_bytes();
    let tag = digest(workspace_id, &bytes);
    bytes.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The id a cursor continues after, if it was sealed for this workspace and its payload is
/// exactly what `expected` makes of that id (same filter).
fn open(
    workspace_id: &str,
    cursor: &str,
    valid_id: fn(&str) -> bool,
    expected: impl Fn(&str) -> String,
) -> Option<Cursor> {
    if cursor.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let split = bytes.len().checked_sub(DIGEST_BYTES)?;
    let (body, tag) = bytes.split_at(split);
    if digest(workspace_id, body) != tag {
        return None;
    }
    let body = std::str::from_utf8(body).ok()?;
    let after_id = body.rsplit('|').next()?;
    (valid_id(after_id) && body == expected(after_id)).then(|| Cursor {
        after_id: after_id.to_owned(),
    })
}

pub fn encode(workspace_id: &str, filter: ListFilter, after_id: &str) -> String {
    seal(workspace_id, payload(filter, after_id))
}

/// Decodes a cursor for this workspace and filter; `None` for anything else.
pub fn decode(workspace_id: &str, filter: ListFilter, cursor: &str) -> Option<Cursor> {
    open(workspace_id, cursor, is_credential_id, |id| {
        payload(filter, id)
    })
}

/// A cursor of the audit list, bound to the workspace and the filter like the credentials'.
pub fn encode_events(workspace_id: &str, filter: &EventFilter, after_id: &str) -> String {
    seal(workspace_id, event_payload(filter, after_id))
}

pub fn decode_events(workspace_id: &str, filter: &EventFilter, cursor: &str) -> Option<Cursor> {
    open(workspace_id, cursor, is_event_id, |id| {
        event_payload(filter, id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::new_credential_id;

    const ACTIVE: ListFilter = ListFilter {
        status: Status::Active,
        kind: None,
    };

    #[test]
    fn round_trips_for_the_same_workspace_and_filter() {
        let id = new_credential_id();
        let cursor = encode("ws1", ACTIVE, &id);
        assert_eq!(
            decode("ws1", ACTIVE, &cursor),
            Some(Cursor { after_id: id })
        );
    }

    #[test]
    fn refuses_other_workspaces_filters_and_edits() {
        let id = new_credential_id();
        let cursor = encode("ws1", ACTIVE, &id);
        assert_eq!(decode("ws2", ACTIVE, &cursor), None);
        let deleted = ListFilter {
            status: Status::Deleted,
            kind: None,
        };
        assert_eq!(decode("ws1", deleted, &cursor), None);
        let mut edited = cursor.into_bytes();
        edited[3] = if edited[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            decode("ws1", ACTIVE, &String::from_utf8(edited).unwrap()),
            None
        );
        for junk in ["", "!!!", "bnVsbA", &"A".repeat(600)] {
            assert_eq!(decode("ws1", ACTIVE, junk), None, "{junk}");
        }
    }
}
