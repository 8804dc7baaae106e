//! Idempotency records of create: which request (by keyed fingerprint) a client's
//! `Idempotency-Key` was first used for, and the 201 it got. Records expire through
//! DynamoDB TTL; one past its expiry counts as absent even before TTL removes it.

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue as Av, Put};

use super::codec::{get_n, get_s, n, s, Item};
use super::table::TTL_ATTRIBUTE;
use super::{unavailable, workspace_pk, Store, StoreError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub workspace_id: String,
    /// Hex SHA-256 of the client's key (bounded, and no client text in the table key).
    pub key_hash: String,
    /// HMAC of the canonical request under the service's fingerprint key.
    pub fingerprint: Vec<u8>,
    pub credential_id: String,
    /// The JSON body of the original 201 (metadata only: it never holds a secret).
    pub response_body: String,
    /// Epoch seconds after which the record is void.
    pub expires_at: u64,
}

pub(super) fn idempotency_key(workspace_id: &str, key_hash: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(workspace_pk(workspace_id))),
        ("sk".to_owned(), s(format!("IDEM#{key_hash}"))),
    ])
}

impl Store {
    /// The conditional put of a record: it may replace only one expired at `now` (epoch
    /// seconds).
    pub(super) fn idempotency_put(&self, record: &IdempotencyRecord, now: u64) -> Put {
        let mut item = idempotency_key(&record.workspace_id, &record.key_hash);
        item.insert(
            "fingerprint".into(),
            Av::B(Blob::new(record.fingerprint.clone())),
        );
        item.insert("credential_id".into(), s(&record.credential_id));
        item.insert("response".into(), s(&record.response_body));
        item.insert(TTL_ATTRIBUTE.into(), n(record.expires_at));
        self.put(
            item,
            "attribute_not_exists(pk) OR expires_at < :now",
            Some([(":now".to_owned(), n(now))].into()),
        )
    }

    /// The record for this key still live at `now` (epoch seconds), if any (strongly
    /// consistent).
    pub async fn get_idempotency(
        &self,
        workspace_id: &str,
        key_hash: &str,
        now: u64,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(idempotency_key(workspace_id, key_hash)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e.into_service_error()))?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let expires_at = get_n(&item, TTL_ATTRIBUTE)?;
        if expires_at < now {
            return Ok(None);
        }
        Ok(Some(IdempotencyRecord {
            workspace_id: workspace_id.to_owned(),
            key_hash: key_hash.to_owned(),
            fingerprint: item
                .get("fingerprint")
                .and_then(|v| v.as_b().ok())
                .map(|b| b.as_ref().to_vec())
                .ok_or(StoreError::Corrupt)?,
            credential_id: get_s(&item, "credential_id")?.to_owned(),
            response_body: get_s(&item, "response")?.to_owned(),
            expires_at,
        }))
    }
}
