//! API key records. Only the SHA-256 of a key is stored; the key itself is shown once.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{KeysAndAttributes, TransactWriteItem, Update};

use super::codec::{credential_key, get_opt_s, get_s, s, Item};
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

/// The item that finds a key by its id in the base table (strongly consistent, unlike an
/// index): written with the key, read only by the admin tool.
fn key_id_item(key_id: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(format!("APIKEYID#{key_id}"))),
        ("sk".to_owned(), s("APIKEYID")),
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
        let mut by_id = key_id_item(&record.key_id);
        by_id.insert("key_hash".into(), s(&record.key_hash));
        by_id.insert("workspace_id".into(), s(&record.workspace_id));
        let items = vec![
            TransactWriteItem::builder()
                .put(self.put(item, "attribute_not_exists(pk)", None))
                .build(),
            TransactWriteItem::builder()
                .put(self.put(by_id, "attribute_not_exists(pk)", None))
                .build(),
            TransactWriteItem::builder()
                .put(self.event_put(event))
                .build(),
        ];
        self.transact_all(items).await
    }

    /// The hash of the key with this id, read from the base table with strongly
    /// consistent reads: its id item, or, for a key minted before id items existed, a
    /// consistent `Scan` of the API keys (admin tool only; `migrate` adds the missing id
    /// items).
    async fn key_hash_by_id(&self, key_id: &str) -> Result<Option<String>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_id_item(key_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e.into_service_error()))?;
        if let Some(item) = output.item {
            return Ok(Some(get_s(&item, "key_hash")?.to_owned()));
        }
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .consistent_read(true)
                .filter_expression("sk = :sk AND key_id = :id")
                .expression_attribute_values(":sk", s("APIKEY"))
                .expression_attribute_values(":id", s(key_id))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Scan", &e.into_service_error()))?;
            if let Some(item) = page.items().first() {
                return Ok(Some(get_s(item, "key_hash")?.to_owned()));
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(None),
            }
        }
    }

    /// Writes the id item of every API key that lacks one (keys minted before id items
    /// existed), so that revoking them needs no `Scan`. Returns how many were written.
    pub(super) async fn add_missing_key_id_items(
        &self,
        keys: &[(String, String, String)],
    ) -> Result<usize, StoreError> {
        let mut added = 0;
        for (key_id, key_hash, workspace_id) in keys {
            let mut by_id = key_id_item(key_id);
            by_id.insert("key_hash".into(), s(key_hash));
            by_id.insert("workspace_id".into(), s(workspace_id));
            let outcome = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(by_id))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            match outcome.map_err(|e| e.into_service_error()) {
                Ok(_) => added += 1,
                Err(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_)) => {}
                Err(other) => return Err(unavailable("PutItem", &other)),
            }
        }
        Ok(added)
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

    /// The key's record and the raw item of a credential of the workspace the key names,
    /// in one strongly consistent `BatchGetItem` (a cold request's one round trip). The
    /// credential is left undecoded: nothing of it is looked at before the key is checked
    /// (`service::api_keys::authenticate_reading`). One call: if DynamoDB leaves a key
    /// unprocessed (throttling) the answer is `Unavailable` (nothing was written; safe to
    /// retry), so a request never makes more calls than with separate reads.
    pub async fn get_api_key_and_credential(
        &self,
        key_hash: &str,
        workspace_id: &str,
        credential_id: &str,
    ) -> Result<(Option<ApiKeyRecord>, Option<Item>), StoreError> {
        let keys = KeysAndAttributes::builder()
            .keys(key_item(key_hash))
            .keys(credential_key(workspace_id, credential_id))
            .consistent_read(true)
            .build()
            .expect("keys are set");
        let output = self
            .client
            .batch_get_item()
            .request_items(&self.table, keys)
            .send()
            .await
            .map_err(|e| unavailable("BatchGetItem", &e.into_service_error()))?;
        let unprocessed = output
            .unprocessed_keys
            .as_ref()
            .and_then(|left| left.get(&self.table))
            .is_some_and(|left| !left.keys.is_empty());
        if unprocessed {
            tracing::error!(operation = "BatchGetItem", "dynamodb left keys unprocessed");
            return Err(StoreError::Unavailable);
        }
        let (mut record, mut credential) = (None, None);
        for item in output
            .responses
            .unwrap_or_default()
            .remove(&self.table)
            .unwrap_or_default()
        {
            match item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
            {
                Some("APIKEY") => record = Some(decode(&item)?),
                Some(_) => credential = Some(item),
                None => return Err(StoreError::Corrupt),
            }
        }
        Ok((record, credential))
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
        // By id through the base table, consistently: an index could miss a key minted
        // moments ago (or one never indexed), which would then keep working.
        let key_hash = self
            .key_hash_by_id(key_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let record = self
            .get_api_key(&key_hash)
            .await?
            .filter(|r| r.workspace_id == workspace_id)
            .ok_or(StoreError::NotFound)?;
        if !record.is_active() {
            return Ok(false);
        }
        let revoke = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_item(&record.key_hash)))
            .update_expression("SET revoked_at = :now")
            // Not yet revoked: a concurrent revoke may have won since the read, and a second
            // revoke must neither move `revoked_at` nor record a second event.
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
