//! Item encoding: `StoredCredential` <-> DynamoDB attribute maps.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue as Av;
use serde_json::{Map, Value};

use super::{workspace_pk, StoreError};
use crate::domain::{
    schema, AuthStatus, CredentialType, Encoding, IdempotencyRef, ListedCredential, Previous,
    SealedSecret, SecretVersion, Status, StoredCredential, UsageMarks, VersionState,
};

pub type Item = HashMap<String, Av>;

pub fn s(value: impl Into<String>) -> Av {
    Av::S(value.into())
}

pub fn n(value: u64) -> Av {
    Av::N(value.to_string())
}

pub fn credential_sk(id: &str) -> String {
    format!("CRED#{id}")
}

/// The sort key of a name reservation: its stored key (see `StoredCredential::name_key`).
pub fn name_sk(name_key: &str) -> String {
    format!("NAME#{name_key}")
}

pub fn status_sk(status: Status, id: &str) -> String {
    format!("{}#{id}", status.as_str())
}

/// The partition of the `unused_since` index: a workspace's credentials of one status.
pub fn unused_pk(workspace_id: &str, status: Status) -> String {
    format!("USED#{workspace_id}#{}", status.as_str())
}

/// The sort key in the `unused_since` index: when it was last resolved (see
/// [`use_stamp`]), then its id.
pub fn unused_sk(last_resolved_at: Option<&str>, id: &str) -> String {
    format!("{}#{id}", use_stamp(last_resolved_at))
}

/// A last-resolved time as the index sorts it: `YYYYMMDDhhmmss` (UTC), or `0` for never, so
/// credentials never resolved come first, then the longest unused.
pub fn use_stamp(rfc3339: Option<&str>) -> String {
    match rfc3339 {
        None => "0".to_owned(),
        Some(at) => at.chars().filter(char::is_ascii_digit).collect(),
    }
}

pub fn type_pk(workspace_id: &str, kind: CredentialType) -> String {
    format!("WS#{workspace_id}#TY#{}", kind.as_str())
}

pub fn credential_key(workspace_id: &str, id: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(workspace_pk(workspace_id))),
        ("sk".to_owned(), s(credential_sk(id))),
    ])
}

pub fn name_key_item(workspace_id: &str, name_key: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(workspace_pk(workspace_id))),
        ("sk".to_owned(), s(name_sk(name_key))),
    ])
}

pub fn name_reservation(workspace_id: &str, name_key: &str, credential_id: &str) -> Item {
    let mut item = name_key_item(workspace_id, name_key);
    item.insert("credential_id".to_owned(), s(credential_id));
    item
}

pub fn encode_credential(c: &StoredCredential) -> Item {
    let mut item = credential_key(&c.workspace_id, &c.id);
    let status_key = status_sk(c.status, &c.id);
    item.insert("gsi1pk".into(), s(workspace_pk(&c.workspace_id)));
    item.insert("gsi1sk".into(), s(status_key.clone()));
    item.insert("gsi2pk".into(), s(type_pk(&c.workspace_id, c.kind)));
    item.insert("gsi2sk".into(), s(status_key));
    item.insert("gsi6pk".into(), s(unused_pk(&c.workspace_id, c.status)));
    let last = c.used.last_resolved_at.as_deref();
    item.insert("gsi6sk".into(), s(unused_sk(last, &c.id)));
    let marks = [
        ("last_resolved_at", &c.used.last_resolved_at),
        ("last_purpose", &c.used.last_purpose),
        ("last_refused_at", &c.used.last_refused_at),
    ];
    for (name, value) in marks {
        if let Some(value) = value {
            item.insert(name.into(), s(value));
        }
    }
    item.insert("id".into(), s(&c.id));
    item.insert("workspace_id".into(), s(&c.workspace_id));
    item.insert("name".into(), s(&c.name));
    item.insert("name_key".into(), s(&c.name_key));
    item.insert("type".into(), s(c.kind.as_str()));
    item.insert("status".into(), s(c.status.as_str()));
    item.insert(
        "config".into(),
        s(serde_json::to_string(&c.config).expect("a JSON map always serializes")),
    );
    item.insert("secrets".into(), encode_sealed(&c.secrets));
    if c.auth_status != AuthStatus::Ok {
        item.insert("auth_status".into(), s(c.auth_status.as_str()));
    }
    if c.token_material > 0 {
        item.insert("token_material".into(), n(c.token_material));
    }
    // The names alone, for the list indexes (which never project `secrets`).
    item.insert(
        "secret_fields".into(),
        Av::L(c.secrets.keys().map(s).collect()),
    );
    item.insert(
        "visible_fields".into(),
        Av::L(c.visible_fields.iter().map(s).collect()),
    );
    if let Some(idempotency) = &c.idempotency {
        item.insert("idem_key_hash".into(), s(&idempotency.key_hash));
        item.insert("idem_expires_at".into(), n(idempotency.expires_at));
    }
    item.insert("created_at".into(), s(&c.created_at));
    item.insert("updated_at".into(), s(&c.updated_at));
    if let Some(deleted_at) = &c.deleted_at {
        item.insert("deleted_at".into(), s(deleted_at));
    }
    if let Some(created_by) = &c.created_by {
        item.insert("created_by".into(), s(created_by));
    }
    item.insert("version".into(), n(c.version));
    encode_versions(&c.versions, &mut item);
    item
}

fn encode_versions(v: &VersionState, item: &mut Item) {
    item.insert("secret_version".into(), n(v.current));
    item.insert("latest_version".into(), n(v.latest));
    item.insert(
        "kept_versions".into(),
        Av::L(v.kept.iter().map(|&x| n(x)).collect()),
    );
    item.insert(
        "sealed_versions".into(),
        Av::L(v.sealed.iter().map(|&x| n(x)).collect()),
    );
    if let Some(previous) = &v.previous {
        item.insert("previous_version".into(), n(previous.version));
        item.insert("previous_replaced_at".into(), s(&previous.replaced_at));
    }
    if let Some(pending) = v.pending {
        item.insert("pending_version".into(), n(pending));
    }
    if let Some(at) = &v.rotated_at {
        item.insert("rotated_at".into(), s(at));
    }
    item.insert("rotation_grace_seconds".into(), n(v.rotation_grace_seconds));
    item.insert("max_versions".into(), n(u64::from(v.max_versions)));
}

fn numbers(list: &Av) -> Result<Vec<u64>, StoreError> {
    list.as_l()
        .map_err(|_| StoreError::Corrupt)?
        .iter()
        .map(|x| {
            x.as_n()
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or(StoreError::Corrupt)
        })
        .collect()
}

/// The version state of an item; an item written before versions existed has none yet
/// (current 0: its secrets, if any, are inline and resolve as current).
fn decode_versions(item: &Item) -> Result<VersionState, StoreError> {
    let opt_n = |key: &str| item.get(key).map(|_| get_n(item, key)).transpose();
    let mut v = VersionState::default();
    if let Some(current) = opt_n("secret_version")? {
        v.current = current;
    }
    if let Some(latest) = opt_n("latest_version")? {
        v.latest = latest;
    }
    if let Some(list) = item.get("sealed_versions") {
        v.sealed = numbers(list)?;
    }
    if let Some(list) = item.get("kept_versions") {
        v.kept = numbers(list)?;
    }
    if let Some(version) = opt_n("previous_version")? {
        v.previous = Some(Previous {
            version,
            replaced_at: get_s(item, "previous_replaced_at")?.to_owned(),
        });
    }
    v.pending = opt_n("pending_version")?;
    v.rotated_at = get_opt_s(item, "rotated_at");
    if let Some(grace) = opt_n("rotation_grace_seconds")? {
        v.rotation_grace_seconds = grace;
    }
    if let Some(max) = opt_n("max_versions")? {
        v.max_versions = u32::try_from(max).map_err(|_| StoreError::Corrupt)?;
    }
    Ok(v)
}

/// The sort key of a secret version item (beside its credential, in the workspace's
/// partition; zero-padded so that versions sort by number).
pub fn version_sk(credential_id: &str, version: u64) -> String {
    format!("VER#{credential_id}#{version:010}")
}

pub fn version_key(workspace_id: &str, credential_id: &str, version: u64) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(workspace_pk(workspace_id))),
        ("sk".to_owned(), s(version_sk(credential_id, version))),
    ])
}

/// The sealed-secrets map attribute (`secrets`) of a credential or version item.
pub(super) fn encode_sealed(secrets: &BTreeMap<String, SealedSecret>) -> Av {
    Av::M(
        secrets
            .iter()
            .map(|(field, sealed)| {
                let mut parts = HashMap::from([
                    (
                        "k".to_owned(),
                        Av::B(Blob::new(sealed.encrypted_data_key.clone())),
                    ),
                    ("n".to_owned(), Av::B(Blob::new(sealed.nonce.clone()))),
                    ("c".to_owned(), Av::B(Blob::new(sealed.ciphertext.clone()))),
                ]);
                if sealed.encoding == Encoding::Json {
                    parts.insert("j".to_owned(), Av::Bool(true));
                }
                if sealed.bound {
                    parts.insert("b".to_owned(), Av::Bool(true));
                }
                (field.clone(), Av::M(parts))
            })
            .collect(),
    )
}

fn decode_sealed(item: &Item) -> Result<BTreeMap<String, SealedSecret>, StoreError> {
    decode_sealed_in(item, "secrets")
}

/// The sealed fields kept in `attribute` (a map of field name to its sealed parts).
pub(super) fn decode_sealed_in(
    item: &Item,
    attribute: &str,
) -> Result<BTreeMap<String, SealedSecret>, StoreError> {
    let mut secrets = BTreeMap::new();
    if let Some(map) = item.get(attribute) {
        for (field, parts) in map.as_m().map_err(|_| StoreError::Corrupt)? {
            let parts = parts.as_m().map_err(|_| StoreError::Corrupt)?;
            secrets.insert(
                field.clone(),
                SealedSecret {
                    encrypted_data_key: get_b(parts, "k")?,
                    nonce: get_b(parts, "n")?,
                    ciphertext: get_b(parts, "c")?,
                    encoding: match parts.get("j") {
                        Some(Av::Bool(true)) => Encoding::Json,
                        _ => Encoding::Text,
                    },
                    bound: matches!(parts.get("b"), Some(Av::Bool(true))),
                },
            );
        }
    }
    Ok(secrets)
}

pub fn encode_version(v: &SecretVersion) -> Item {
    let mut item = version_key(&v.workspace_id, &v.credential_id, v.version);
    item.insert("workspace_id".into(), s(&v.workspace_id));
    item.insert("credential_id".into(), s(&v.credential_id));
    item.insert("version".into(), n(v.version));
    item.insert("created_at".into(), s(&v.created_at));
    item.insert("created_by".into(), s(&v.created_by));
    item.insert(
        "changed_fields".into(),
        Av::L(v.changed_fields.iter().map(s).collect()),
    );
    item.insert("secrets".into(), encode_sealed(&v.secrets));
    item.insert(
        "destination".into(),
        s(serde_json::to_string(&v.destination).expect("a JSON map always serializes")),
    );
    if let Some(at) = &v.destroyed_at {
        item.insert("destroyed_at".into(), s(at));
    }
    item
}

pub fn decode_version(item: &Item) -> Result<SecretVersion, StoreError> {
    Ok(SecretVersion {
        workspace_id: get_s(item, "workspace_id")?.to_owned(),
        credential_id: get_s(item, "credential_id")?.to_owned(),
        version: get_n(item, "version")?,
        created_at: get_s(item, "created_at")?.to_owned(),
        created_by: get_s(item, "created_by")?.to_owned(),
        changed_fields: string_list(item, "changed_fields")?.unwrap_or_default(),
        secrets: decode_sealed(item)?,
        destination: serde_json::from_str(get_s(item, "destination")?)
            .map_err(|_| StoreError::Corrupt)?,
        destroyed_at: get_opt_s(item, "destroyed_at"),
    })
}

/// The largest item the service writes, as [`item_size`] counts it: under DynamoDB's 400 KB
/// (409,600 bytes) and under the local emulator's 405,000 (moto), so that a write past it is
/// always refused by the service's own check (413), at the size that check computes.
pub const MAX_ITEM_BYTES: usize = 405_000;

/// [`item_size`] counts each sealed value's ciphertext at its length rounded up to this
/// step. So the size at which a growing credential is refused depends on its secrets'
/// lengths only in steps of this many bytes: a key that may write visible fields cannot pad
/// a credential until it is refused and read a secret's exact length from where that was.
pub const SEALED_SIZE_STEP: usize = 256;

/// An item's size as DynamoDB counts it, never below the real size (names and values in
/// bytes; numbers at one byte per digit and one more, over what DynamoDB and moto count;
/// 3 bytes per list or map plus 1 per element), except that the sealed secrets' ciphertexts
/// count at their length rounded up to [`SEALED_SIZE_STEP`].
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(k, v)| {
            k.len()
                + match (k.as_str(), v) {
                    ("secrets", Av::M(fields)) => sealed_size(fields),
                    _ => value_size(v),
                }
        })
        .sum()
}

fn value_size(v: &Av) -> usize {
    match v {
        Av::S(s) => s.len(),
        Av::N(n) => n.len() + 1,
        Av::B(b) => b.as_ref().len(),
        Av::Bool(_) | Av::Null(_) => 1,
        Av::L(items) => 3 + items.iter().map(|i| 1 + value_size(i)).sum::<usize>(),
        Av::M(map) => {
            3 + map
                .iter()
                .map(|(k, i)| 1 + k.len() + value_size(i))
                .sum::<usize>()
        }
        Av::Ss(items) => items.iter().map(String::len).sum(),
        Av::Ns(items) => items.iter().map(|n| n.len() + 1).sum(),
        Av::Bs(items) => items.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

/// The `secrets` map ([`encode_sealed`]), its ciphertexts (`c`) rounded up.
fn sealed_size(fields: &HashMap<String, Av>) -> usize {
    let parts = |sealed: &Av| match sealed {
        Av::M(parts) => {
            3 + parts
                .iter()
                .map(|(k, v)| {
                    1 + k.len()
                        + match (k.as_str(), v) {
                            ("c", Av::B(b)) => b.as_ref().len().next_multiple_of(SEALED_SIZE_STEP),
                            _ => value_size(v),
                        }
                })
                .sum::<usize>()
        }
        other => value_size(other),
    };
    3 + fields
        .iter()
        .map(|(field, sealed)| 1 + field.len() + parts(sealed))
        .sum::<usize>()
}

pub fn get_s<'a>(item: &'a Item, key: &str) -> Result<&'a str, StoreError> {
    item.get(key)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or(StoreError::Corrupt)
}

pub fn get_opt_s(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

pub fn get_n(item: &Item, key: &str) -> Result<u64, StoreError> {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or(StoreError::Corrupt)
}

fn get_b(item: &HashMap<String, Av>, key: &str) -> Result<Vec<u8>, StoreError> {
    item.get(key)
        .and_then(|v| v.as_b().ok())
        .map(|b| b.as_ref().to_vec())
        .ok_or(StoreError::Corrupt)
}

fn decode_config(item: &Item) -> Result<Map<String, Value>, StoreError> {
    serde_json::from_str(get_s(item, "config")?).map_err(|_| StoreError::Corrupt)
}

fn decode_kind(item: &Item) -> Result<CredentialType, StoreError> {
    CredentialType::parse(get_s(item, "type")?).ok_or(StoreError::Corrupt)
}

fn decode_status(item: &Item) -> Result<Status, StoreError> {
    Status::parse(get_s(item, "status")?).ok_or(StoreError::Corrupt)
}

fn string_list(item: &Item, key: &str) -> Result<Option<Vec<String>>, StoreError> {
    item.get(key)
        .map(|v| {
            v.as_l()
                .map_err(|_| StoreError::Corrupt)?
                .iter()
                .map(|v| v.as_s().cloned().map_err(|_| StoreError::Corrupt))
                .collect()
        })
        .transpose()
}

/// `visible_fields` as stored, or, for an item written before it existed, the undeclared
/// fields its config shows (they stay visible: no stored field changes classification
/// unless a write or `credentials-admin migrate --seal-undeclared` says so).
fn decode_visible_fields(
    item: &Item,
    kind: CredentialType,
    config: &Map<String, Value>,
) -> Result<Vec<String>, StoreError> {
    Ok(match string_list(item, "visible_fields")? {
        Some(list) => list,
        None => config
            .keys()
            .filter(|k| schema::declared(kind, k).is_none())
            .cloned()
            .collect(),
    })
}

/// A list entry from an index item (projected attributes only).
pub fn decode_listed(item: &Item) -> Result<ListedCredential, StoreError> {
    let secret_fields = string_list(item, "secret_fields")?.ok_or(StoreError::Corrupt)?;
    let kind = decode_kind(item)?;
    let config = decode_config(item)?;
    let visible_fields = decode_visible_fields(item, kind, &config)?;
    let versions = decode_versions(item)?;
    Ok(ListedCredential {
        id: get_s(item, "id")?.to_owned(),
        name: get_s(item, "name")?.to_owned(),
        kind,
        status: decode_status(item)?,
        config,
        secret_fields,
        visible_fields,
        secret_version: versions.current,
        pending_secret_version: versions.pending,
        rotation_grace_seconds: versions.rotation_grace_seconds,
        max_versions: versions.max_versions,
        auth_status: decode_auth_status(item)?,
        created_at: get_s(item, "created_at")?.to_owned(),
        updated_at: get_s(item, "updated_at")?.to_owned(),
        deleted_at: get_opt_s(item, "deleted_at"),
        created_by: get_opt_s(item, "created_by"),
        version: get_n(item, "version")?,
    })
}

pub fn decode_credential(item: &Item) -> Result<StoredCredential, StoreError> {
    let config = decode_config(item)?;
    let secrets = decode_sealed(item)?;
    let kind = decode_kind(item)?;
    let visible_fields = decode_visible_fields(item, kind, &config)?;
    Ok(StoredCredential {
        workspace_id: get_s(item, "workspace_id")?.to_owned(),
        id: get_s(item, "id")?.to_owned(),
        name: get_s(item, "name")?.to_owned(),
        name_key: get_s(item, "name_key")?.to_owned(),
        kind,
        status: decode_status(item)?,
        config,
        secrets,
        visible_fields,
        created_at: get_s(item, "created_at")?.to_owned(),
        updated_at: get_s(item, "updated_at")?.to_owned(),
        deleted_at: get_opt_s(item, "deleted_at"),
        created_by: get_opt_s(item, "created_by"),
        version: get_n(item, "version")?,
        idempotency: match item.get("idem_key_hash") {
            None => None,
            Some(_) => Some(IdempotencyRef {
                key_hash: get_s(item, "idem_key_hash")?.to_owned(),
                expires_at: get_n(item, "idem_expires_at")?,
            }),
        },
        versions: decode_versions(item)?,
        auth_status: decode_auth_status(item)?,
        token_material: item
            .get("token_material")
            .map(|_| get_n(item, "token_material"))
            .transpose()?
            .unwrap_or(0),
        used: UsageMarks {
            last_resolved_at: get_opt_s(item, "last_resolved_at"),
            last_purpose: get_opt_s(item, "last_purpose"),
            last_refused_at: get_opt_s(item, "last_refused_at"),
        },
    })
}

/// `auth_status`: absent for `ok` (every credential but a refused oauth one).
fn decode_auth_status(item: &Item) -> Result<AuthStatus, StoreError> {
    match get_opt_s(item, "auth_status") {
        None => Ok(AuthStatus::Ok),
        Some(label) => AuthStatus::parse(&label).ok_or(StoreError::Corrupt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::new_credential_id;

    #[test]
    fn credentials_round_trip() {
        let mut config = Map::new();
        config.insert("host".into(), Value::from("db"));
        config.insert("port".into(), Value::from(5432));
        let original = StoredCredential {
            workspace_id: "ws".into(),
            id: new_credential_id(),
            name: "Prod DB".into(),
            name_key: "prod db".into(),
            kind: CredentialType::Database,
            status: Status::Deleted,
            config,
            secrets: BTreeMap::from([(
                "password".to_owned(),
                SealedSecret {
                    encrypted_data_key: vec![1, 2],
                    nonce: vec![3; 12],
                    ciphertext: vec![4; 20],
                    encoding: Encoding::Json,
                    bound: true,
                },
            )]),
            visible_fields: vec!["team".into()],
            created_at: "2025-03-20T09:15:22Z".into(),
            updated_at: "2025-03-21T09:15:22Z".into(),
            deleted_at: Some("2025-03-22T09:15:22Z".into()),
            created_by: Some("key_x".into()),
            version: 7,
            idempotency: Some(IdempotencyRef {
                key_hash: "ab".into(),
                expires_at: 9,
            }),
            versions: crate::domain::VersionState {
                current: 4,
                latest: 5,
                kept: vec![1, 2, 3, 4, 5],
                sealed: vec![2, 3, 4, 5],
                previous: Some(crate::domain::Previous {
                    version: 3,
                    replaced_at: "2025-03-21T09:15:22Z".into(),
                }),
                pending: Some(5),
                rotated_at: Some("2025-03-21T09:15:22Z".into()),
                rotation_grace_seconds: 3600,
                max_versions: 4,
            },
            auth_status: AuthStatus::ReauthorizationRequired,
            token_material: 3,
            used: UsageMarks {
                last_resolved_at: Some("2025-03-20T09:15:22Z".into()),
                last_purpose: Some("pipeline:p/run-1".into()),
                last_refused_at: None,
            },
        };
        let item = encode_credential(&original);
        assert_eq!(get_s(&item, "name_key").unwrap(), "prod db");
        assert_eq!(decode_credential(&item).unwrap(), original);
        let listed = decode_listed(&item).unwrap();
        assert_eq!(listed.secret_fields, ["password"]);
        assert_eq!(
            serde_json::to_value(crate::views::Credential::from(&listed)).unwrap(),
            serde_json::to_value(crate::views::Credential::from(&original)).unwrap()
        );
    }
}
