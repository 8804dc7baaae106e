//! Rules of idempotent create: what an `Idempotency-Key` may look like, how long it holds,
//! and what counts as "the same request".

use serde_json::Value;

use crate::error::{ApiError, FieldIssue};

/// How long a key replays its first answer.
pub const RETENTION_SECONDS: u64 = 24 * 60 * 60;
const MAX_KEY_CHARS: usize = 255;

/// Checks a client's key: 1–255 visible ASCII characters (UUIDs, ULIDs, hashes…).
pub fn check_key(key: &str) -> Result<&str, ApiError> {
    let valid =
        !key.is_empty() && key.len() <= MAX_KEY_CHARS && key.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        Ok(key)
    } else {
        Err(invalid_key())
    }
}

/// The answer to a key that is not 1–255 visible ASCII characters.
pub fn invalid_key() -> ApiError {
    ApiError::validation(vec![FieldIssue::new(
        "header.Idempotency-Key",
        "must be 1 to 255 visible ASCII characters",
    )])
}

/// The table key of a client's `Idempotency-Key`: the SHA-256 of the API key id that sent
/// it and the key itself, so no client text becomes a table key and a record belongs to the
/// API key that made it (another key of the workspace reusing the same `Idempotency-Key`
/// makes a separate request, and learns nothing about the first).
pub fn key_hash(api_key_id: &str, key: &str) -> String {
    // Length-prefixed, so that no two (id, key) pairs read the same.
    crate::auth::hash_key(&format!("{}:{api_key_id}{key}", api_key_id.len()))
}

/// The request as fingerprinted: the JSON body with object keys sorted at every level,
/// so that two encodings of one request are the same request.
pub fn canonical_request(body: &Value) -> Vec<u8> {
    fn write(value: &Value, out: &mut Vec<u8>) {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push(b'{');
                for (i, (key, value)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write(&Value::String(key.clone()), out);
                    out.push(b':');
                    write(value, out);
                }
                out.push(b'}');
            }
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write(item, out);
                }
                out.push(b']');
            }
            scalar => out.extend(scalar.to_string().into_bytes()),
        }
    }
    let mut out = b"POST /api/credentials\n".to_vec();
    write(body, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_does_not_change_the_request() {
        let a = json!({"name": "n", "config": {"b": 1, "a": [1, {"y": 2, "x": 1}]}});
        let b: Value =
            serde_json::from_str(r#"{"config":{"a":[1,{"x":1,"y":2}],"b":1},"name":"n"}"#).unwrap();
        assert_eq!(canonical_request(&a), canonical_request(&b));
        let c = json!({"name": "n", "config": {"b": 2, "a": [1, {"y": 2, "x": 1}]}});
        assert_ne!(canonical_request(&a), canonical_request(&c));
    }

    #[test]
    fn keys_are_checked() {
        assert!(check_key("3f1c2a4e-9d1b-4c7e-8a55-0f2b6d9e1a77").is_ok());
        for bad in ["", " ", "a b", "é", &"k".repeat(256)] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(crate::properties::config(512))]

        #[test]
        fn idempotency_keys_are_checked_without_panic(key in ".{0,300}") {
            let ok = check_key(&key).is_ok();
            proptest::prop_assert_eq!(ok, !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic()));
        }
    }

    #[test]
    fn records_belong_to_the_api_key_that_made_them() {
        assert_ne!(key_hash("key_a", "k-1"), key_hash("key_b", "k-1"));
        assert_eq!(key_hash("key_a", "k-1"), key_hash("key_a", "k-1"));
        assert_ne!(key_hash("key_a", "b\0c"), key_hash("key_a\0b", "c"));
    }
}
