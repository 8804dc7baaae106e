//! Where a credential's secrets are sent: the values of its destination fields (a
//! database's `host` and `port`, an API key's `base_url`, an OAuth client's `token_url`…;
//! see `schema::is_destination`). Sealed secrets are bound to it (the seal's associated
//! data covers its digest), and an update that changes it while a stored secret stays is
//! refused: a key that may write cannot point a stored secret at a new destination.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{schema, CredentialType};

/// The destination fields of a credential and their values, in field-name order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Destination(Vec<(String, Value)>);

impl Destination {
    /// The destination of a credential of `kind` whose visible settings are `config`.
    pub fn of(kind: CredentialType, config: &Map<String, Value>) -> Self {
        let mut fields: Vec<(String, Value)> = config
            .iter()
            .filter(|(name, _)| schema::is_destination(kind, name))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        Self(fields)
    }

    /// SHA-256 of the canonical form (a JSON array of `[name, value]` pairs in name order),
    /// as lowercase hex: what a seal's associated data binds.
    pub fn digest(&self) -> String {
        let canonical = serde_json::to_vec(&self.0).expect("names and JSON values serialize");
        Sha256::digest(canonical)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The fields and values, as a JSON map (what a secret version records).
    pub fn fields(&self) -> Map<String, Value> {
        self.0.iter().cloned().collect()
    }

    /// The destination a secret version recorded.
    pub fn from_fields(fields: &Map<String, Value>) -> Self {
        let mut pairs: Vec<(String, Value)> =
            fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        Self(pairs)
    }

    /// The names of the fields whose values differ between `self` and `other`.
    pub fn changed_fields(&self, other: &Destination) -> Vec<String> {
        let mut names: Vec<&String> = self.0.iter().chain(&other.0).map(|(n, _)| n).collect();
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .filter(|n| {
                let get =
                    |d: &Destination| d.0.iter().find(|(f, _)| f == *n).map(|(_, v)| v.clone());
                get(self) != get(other)
            })
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn only_destination_fields_count_and_order_does_not() {
        let a = Destination::of(
            CredentialType::Database,
            &config(json!({"host": "db", "port": 5432, "database": "x"})),
        );
        let b = Destination::of(
            CredentialType::Database,
            &config(json!({"database": "y", "port": 5432, "host": "db"})),
        );
        assert_eq!(a, b);
        assert_eq!(a.digest(), b.digest());
        let moved = Destination::of(
            CredentialType::Database,
            &config(json!({"host": "evil.example.com", "port": 5432})),
        );
        assert_ne!(a.digest(), moved.digest());
        assert_eq!(a.changed_fields(&moved), ["host"]);
        let none = Destination::of(CredentialType::Database, &Map::new());
        assert_eq!(a.changed_fields(&none), ["host", "port"]);
    }
}
