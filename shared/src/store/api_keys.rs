//! API key records. Only the SHA-256 of a key is stored; the key itself is shown once.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::codec::{get_opt_s, get_s, s, Item};
use super::{unavailable, workspace_pk, Store, StoreError, GSI_API_KEYS};
use crate::audit::AuditEvent;
use crate::auth::Scope;
use aws_sdk_dynamodb::types::AttributeValue as Av;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Public identifier (`key_` + ULID): safe to log, shown in lists, used to revoke.
    pub key_id: String,
    /// Hex SHA-256 of the key.
    pub key_hash: String,
    pub workspace_id: String,
    pub scopes: Vec<Scope>,
    pub description: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl ApiKeyRecord {
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

fn key_item(hash: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(format!("APIKEY#{hash}"))),
        ("sk".to_owned(), s("APIKEY")),
    ])
}

/// An item that does not decode (including a scope this build does not know) is `Corrupt`:
/// a key is never silently given fewer, or other, rights than were stored.
fn decode(item: &Item) -> Result<ApiKeyRecord, StoreError> {
    let scopes = item
        .get("scopes")
        .and_then(|v| v.as_l().ok())
        .ok_or(StoreError::Corrupt)?
        .iter()
        .map(|v| {
            v.as_s()
                .ok()
                .and_then(|s| Scope::parse(s))
                .ok_or(StoreError::Corrupt)
        })
        .collect::<Result<_, _>>()?;
    Ok(ApiKeyRecord {
        key_id: get_s(item, "key_id")?.to_owned(),
        key_hash: get_s(item, "key_hash")?.to_owned(),
        workspace_id: get_s(item, "workspace_id")?.to_owned(),
        scopes,
        description: get_opt_s(item, "description").unwrap_or_default(),
        created_at: get_s(item, "created_at")?.to_owned(),
        revoked_at: get_opt_s(item, "revoked_at"),
    })
}

impl Store {
    /// Stores a new key's record with its audit event, in one transaction.
    pub async fn put_api_key(
        &self,
        record: &ApiKeyRecord,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut item = key_item(&record.key_hash);
        item.insert("gsi3pk".into(), s(workspace_pk(&record.workspace_id)));
        item.insert("gsi3sk".into(), s(&record.key_id));
        item.insert("key_id".into(), s(&record.key_id));
        item.insert("key_hash".into(), s(&record.key_hash));
        item.insert("workspace_id".into(), s(&record.workspace_id));
        item.insert(
            "scopes".into(),
            Av::L(
                record
                    .scopes
                    .iter()
                    .map(|scope| s(scope.as_str()))
                    .collect(),
            ),
        );
        item.insert("description".into(), s(&record.description));
        item.insert("created_at".into(), s(&record.created_at));
        let items = vec![
            TransactWriteItem::builder()
                .put(self.put(item, "attribute_not_exists(pk)", None))
                .build(),
            TransactWriteItem::builder()
                .put(self.event_put(event))
                .build(),
        ];
        self.transact_all(items).await
    }

    /// Opens the connection to DynamoDB (TCP and TLS) with the read every function may
    /// make, an API key lookup, of a key no API key has (hashes are hex), so that a
    /// container's first request finds the connection open. One read unit per container.
    pub async fn prewarm(&self) -> Result<(), StoreError> {
        self.get_api_key("~prewarm").await.map(drop)
    }

    pub async fn get_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key_hash)))
            // A revocation is seen by the next lookup, not an eventually consistent later one.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e.into_service_error()))?;
        output.item.as_ref().map(decode).transpose()
    }

    pub async fn list_api_keys(&self, workspace_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut records = Vec::new();
        let mut start_key = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI_API_KEYS)
                .key_condition_expression("gsi3pk = :pk")
                .expression_attribute_values(":pk", s(workspace_pk(workspace_id)))
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| unavailable("Query", &e.into_service_error()))?;
            for item in output.items() {
                records.push(decode(item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => return Ok(records),
            }
        }
    }

    /// Revokes a key of this workspace and appends `event`, in one transaction. Revoking
    /// twice is harmless: `Ok(false)`, nothing written.
    pub async fn revoke_api_key(
        &self,
        workspace_id: &str,
        key_id: &str,
        now: &str,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI_API_KEYS)
            .key_condition_expression("gsi3pk = :pk AND gsi3sk = :sk")
            .expression_attribute_values(":pk", s(workspace_pk(workspace_id)))
            .expression_attribute_values(":sk", s(key_id))
            .send()
            .await
            .map_err(|e| unavailable("Query", &e.into_service_error()))?;
        let record = decode(output.items().first().ok_or(StoreError::NotFound)?)?;
        if !record.is_active() {
            return Ok(false);
        }
        let revoke = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&record.key_hash)))
            .update_expression("SET revoked_at = :now")
            // Not yet revoked: the index read above may be stale, and a second revoke must
            // neither move `revoked_at` nor record a second event.
            .condition_expression(
                "attribute_exists(pk) AND workspace_id = :ws AND attribute_not_exists(revoked_at)",
            )
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":ws", s(workspace_id))
            .build()
            .expect("table, key and expressions are set");
        let items = vec![
            TransactWriteItem::builder().update(revoke).build(),
            TransactWriteItem::builder()
                .put(self.event_put(event))
                .build(),
        ];
        match self.transact_all(items).await {
            Ok(()) => Ok(true),
            // Revoked meanwhile by another call: nothing to do.
            Err(StoreError::Conflict) => Ok(false),
            Err(other) => Err(other),
        }
    }
}
