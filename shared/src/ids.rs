//! Every identifier this service mints: a fixed prefix and a lowercase ULID (sortable by
//! creation time, 80 random bits). Nothing else in the crate formats an id.

/// `<prefix>_<lowercase ulid>`.
fn mint(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// A credential id: `cred_…`.
pub fn new_credential_id() -> String {
    mint("cred")
}

/// The public id of an API key: `key_…` (safe to log and show; the key itself is not).
pub fn new_key_id() -> String {
    mint("key")
}

/// An audit event id: `evt_…` (sorts by time).
pub fn new_event_id() -> String {
    mint("evt")
}

/// A request id for requests that arrive without one (local use): a bare lowercase ULID.
pub fn new_request_id() -> String {
    ulid::Ulid::new().to_string().to_lowercase()
}

/// True for ids this service could have minted with `prefix`. Anything else is answered
/// 404 without a database call.
fn is_minted(prefix: &str, id: &str) -> bool {
    id.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|ulid| {
            ulid.len() == 26
                && ulid.bytes().all(|b| {
                    b.is_ascii_digit() || (b.is_ascii_lowercase() && !b"ilou".contains(&b))
                })
        })
}

pub fn is_credential_id(id: &str) -> bool {
    is_minted("cred", id)
}

pub fn is_event_id(id: &str) -> bool {
    is_minted("evt", id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_ids_are_recognised() {
        let id = new_credential_id();
        assert!(is_credential_id(&id), "{id}");
        assert_eq!(id, id.to_lowercase());
        assert!(new_key_id().starts_with("key_"));
        assert_eq!(new_request_id().len(), 26);
    }

    #[test]
    fn junk_ids_are_not() {
        for junk in [
            "",
            "cred_",
            "cred_01j9k2m4n5p6q7r8",
            "cred_01J9K2M4N5P6Q7R8S9T0V1W2X3",
            "usr_01j9k2m4n5p6q7r8s9t0v1w2x3",
            "cred_01j9k2m4n5p6q7r8s9t0v1w2x!",
            "cred_01j9k2m4n5p6q7r8s9t0v1w2xi",
            "cred01j9k2m4n5p6q7r8s9t0v1w2x3",
        ] {
            assert!(!is_credential_id(junk), "{junk}");
        }
    }
}
