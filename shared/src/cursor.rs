//! List cursors (keyset pagination).
//!
//! Lists are ordered newest first by id, and ids are lowercase ULIDs, which sort by creation
//! time. A cursor is therefore the id of the last item of a page, and any well-formed id is
//! a position: the next page holds the items older than it, in the caller's workspace,
//! under the request's filters. Only the shape is checked (anything else is 400
//! `invalid_cursor`); nothing else needs to be, because the workspace a query reads always
//! comes from the API key, never from the cursor.

use crate::domain::{AuthStatus, CredentialType, Status};
use crate::ids::{is_credential_id, is_event_id};

/// What a list query filters on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListFilter {
    pub status: Status,
    pub kind: Option<CredentialType>,
    /// Only credentials with this `auth_status` (a page may then be shorter than its
    /// limit, even empty, and still carry a cursor).
    pub auth: Option<AuthStatus>,
}

/// A decoded cursor: continue after this id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub after_id: String,
}

/// The cursor of the credentials list that continues after `id`.
pub fn encode(id: &str) -> String {
    id.to_owned()
}

/// A credentials-list cursor: a credential id (`cred_…`), or an `unused_since` cursor,
/// whose id is the position (every cursor the contract's pattern allows is one); `None`
/// for anything else.
pub fn decode(cursor: &str) -> Option<Cursor> {
    let sort_key = decode_unused(cursor)?;
    let (_, id) = sort_key.split_once('#')?;
    Some(Cursor {
        after_id: id.to_owned(),
    })
}

/// The cursor of the `unused_since` list that continues after the index position
/// `<stamp>#<id>` (sent as `<stamp>.<id>`: no `#` to escape in a query string).
pub fn encode_unused(sort_key: &str) -> String {
    sort_key.replacen('#', ".", 1)
}

/// An `unused_since` cursor: `0` or 14 digits, a dot, a credential id; or a bare
/// credential id, the position of a credential never resolved (`0`): the index position it
/// names, or `None` for anything else.
pub fn decode_unused(cursor: &str) -> Option<String> {
    let (stamp, id) = cursor.split_once('.').unwrap_or(("0", cursor));
    let stamp_ok = stamp == "0" || (stamp.len() == 14 && stamp.bytes().all(|b| b.is_ascii_digit()));
    (stamp_ok && is_credential_id(id)).then(|| format!("{stamp}#{id}"))
}

/// The cursor of the audit list that continues after the event `id`.
pub fn encode_events(id: &str) -> String {
    id.to_owned()
}

/// An audit-list cursor: an event id (`evt_…`); `None` for anything else.
pub fn decode_events(cursor: &str) -> Option<Cursor> {
    is_event_id(cursor).then(|| Cursor {
        after_id: cursor.to_owned(),
    })
}

/// The cursor of a version history that continues below secret version `n`.
pub fn encode_version(n: u64) -> String {
    n.to_string()
}

/// A version-history cursor: a version number (decimal, 1 or more, no leading zero);
/// `None` for anything else.
pub fn decode_version(cursor: &str) -> Option<u64> {
    if cursor.starts_with('0') || !cursor.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    cursor.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{new_credential_id, new_event_id};

    #[test]
    fn unused_cursors() {
        let id = new_credential_id();
        for stamp in ["0", "20261207021000"] {
            let key = format!("{stamp}#{id}");
            assert_eq!(decode_unused(&encode_unused(&key)), Some(key));
        }
        assert_eq!(
            decode_unused(&id),
            Some(format!("0#{id}")),
            "a bare id: never resolved"
        );
        for bad in [
            format!("1.{id}"),
            format!("2026120702100.{id}"),
            format!("2026120702100x.{id}"),
            "0.cred_x".to_owned(),
        ] {
            assert_eq!(decode_unused(&bad), None, "{bad}");
        }
        let from_unused = decode(&encode_unused(&format!("20261207021000#{id}")));
        assert_eq!(
            from_unused.map(|c| c.after_id),
            Some(id),
            "its id is the position"
        );
    }

    #[test]
    fn version_cursors() {
        assert_eq!(decode_version(&encode_version(7)), Some(7));
        for bad in [
            "",
            "0",
            "07",
            "+7",
            "-1",
            "7 ",
            "x",
            "99999999999999999999999",
        ] {
            assert_eq!(decode_version(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_cursor_is_the_last_id_and_round_trips() {
        let id = new_credential_id();
        assert_eq!(decode(&encode(&id)), Some(Cursor { after_id: id }));
        let event = new_event_id();
        assert_eq!(
            decode_events(&encode_events(&event)),
            Some(Cursor { after_id: event })
        );
    }

    #[test]
    fn anything_but_an_id_of_the_list_is_refused() {
        let credential = new_credential_id();
        let event = new_event_id();
        assert_eq!(decode_events(&credential), None);
        assert_eq!(decode(&event), None);
        let upper = credential.to_uppercase();
        for junk in ["", "!!!", "cred_", "abc", &upper, &format!("{credential}x")] {
            assert_eq!(decode(junk), None, "{junk}");
            assert_eq!(decode_events(junk), None, "{junk}");
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::properties::config(512))]

        /// A cursor is accepted exactly when it is an id of its list (the shape the spec's
        /// cursor pattern states), and round-trips.
        #[test]
        fn cursors_are_ids_of_their_list(garbage in ".{0,600}", tail in "[0-9a-hjkmnp-tv-z]{26}") {
            use crate::ids::is_credential_id;
            let id = new_credential_id();
            proptest::prop_assert_eq!(decode(&encode(&id)).map(|c| c.after_id), Some(id));
            proptest::prop_assert_eq!(decode(&garbage).is_some(), is_credential_id(&garbage));
            proptest::prop_assert_eq!(decode_events(&garbage).is_some(), garbage.starts_with("evt_") && is_credential_id(&garbage.replacen("evt_", "cred_", 1)));
            let credential_position = format!("cred_{tail}");
            let event_position = format!("evt_{tail}");
            proptest::prop_assert!(decode(&credential_position).is_some());
            proptest::prop_assert!(decode_events(&event_position).is_some());
        }
    }
}
