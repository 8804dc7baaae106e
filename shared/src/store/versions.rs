//! Secret version items (`VER#<credential id>#<n>`, beside their credential): written,
//! destroyed and deleted in the same transaction as the credential change that makes or
//! drops them, read one at a time by resolve, listed newest first by the history route, and
//! deleted with the credential by purge.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::codec::{
    decode_version, encode_version, item_size, s, version_key, version_sk, MAX_ITEM_BYTES,
};
use super::{unavailable, workspace_pk, Store, StoreError};
use crate::domain::SecretVersion;

/// Most versions one transaction deletes besides the change itself (a transaction holds
/// at most 100 items); more (only when `max_versions` is lowered by more than this at once)
/// are deleted by follow-up transactions of the same request, once the change landed.
pub const MAX_DELETES_PER_WRITE: usize = 80;

/// The version items a credential write makes, destroys and deletes, in the same
/// transaction.
#[derive(Debug, Default)]
pub struct VersionWrites {
    /// New versions (their items may not exist yet): one, or two when secrets written
    /// before versions existed are adopted as version 1 first.
    pub put: Vec<SecretVersion>,
    /// Versions that fell out of retention: their items are deleted.
    pub delete: Vec<u64>,
    /// A version whose sealed data is destroyed on request (its metadata stays).
    pub destroy: Option<u64>,
    /// When (RFC 3339) a destroyed version was destroyed.
    pub now: String,
}

/// A page of a credential's version history, newest first.
pub struct VersionPage {
    pub versions: Vec<SecretVersion>,
    /// True when older versions follow.
    pub more: bool,
}

impl Store {
    /// The put of a new version item; `TooLarge` past DynamoDB's item limit (a version holds
    /// the sealed set its credential held, within the same limit, plus its metadata).
    fn version_put(&self, version: &SecretVersion) -> Result<Put, StoreError> {
        let item = encode_version(version);
        if item_size(&item) > MAX_ITEM_BYTES {
            return Err(StoreError::TooLarge);
        }
        Ok(self.put(item, "attribute_not_exists(pk)", None))
    }

    fn version_destroy(
        &self,
        workspace_id: &str,
        credential_id: &str,
        version: u64,
        now: &str,
    ) -> Update {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(version_key(workspace_id, credential_id, version)))
            .update_expression(
                "SET destroyed_at = if_not_exists(destroyed_at, :now) REMOVE secrets",
            )
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":now", s(now))
            .build()
            .expect("table, key and expressions are set")
    }

    /// The transaction items of `writes` for the credential of `workspace_id`/`id`: the
    /// puts, the destroy, and the first [`MAX_DELETES_PER_WRITE`] deletes; returns the
    /// deletes left for [`Store::delete_versions`] after the transaction.
    pub(super) fn version_items(
        &self,
        workspace_id: &str,
        credential_id: &str,
        writes: &VersionWrites,
        items: &mut Vec<TransactWriteItem>,
    ) -> Result<Vec<u64>, StoreError> {
        for version in &writes.put {
            items.push(
                TransactWriteItem::builder()
                    .put(self.version_put(version)?)
                    .build(),
            );
        }
        if let Some(v) = writes.destroy {
            items.push(
                TransactWriteItem::builder()
                    .update(self.version_destroy(workspace_id, credential_id, v, &writes.now))
                    .build(),
            );
        }
        let (now_delete, later) = writes
            .delete
            .split_at(writes.delete.len().min(MAX_DELETES_PER_WRITE));
        for &v in now_delete {
            items.push(
                TransactWriteItem::builder()
                    .delete(self.version_delete(workspace_id, credential_id, v))
                    .build(),
            );
        }
        Ok(later.to_vec())
    }

    /// Deletes the items of `versions` in transactions of at most 100 items: retention's
    /// overflow, after the write that dropped them landed (a failure is logged: the
    /// credential no longer lists them, so nothing reads them, and purge deletes every
    /// version item), or a purge's oldest versions before its own transaction.
    pub(super) async fn delete_versions(
        &self,
        workspace_id: &str,
        credential_id: &str,
        versions: &[u64],
    ) -> Result<(), StoreError> {
        for chunk in versions.chunks(100) {
            let items = chunk
                .iter()
                .map(|&v| {
                    TransactWriteItem::builder()
                        .delete(self.version_delete(workspace_id, credential_id, v))
                        .build()
                })
                .collect();
            self.transact_all(items).await.inspect_err(|_| {
                tracing::error!(credential_id, "deleting secret versions failed");
            })?;
        }
        Ok(())
    }

    /// One version of a credential (strongly consistent).
    pub async fn get_version(
        &self,
        workspace_id: &str,
        credential_id: &str,
        version: u64,
    ) -> Result<Option<SecretVersion>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(version_key(workspace_id, credential_id, version)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e.into_service_error()))?;
        output.item.as_ref().map(decode_version).transpose()
    }

    /// A page of a credential's versions, newest first, before version `before` (all
    /// when `None`): one `Query` of the versions' sort-key range.
    pub async fn list_versions(
        &self,
        workspace_id: &str,
        credential_id: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<VersionPage, StoreError> {
        let low = version_sk(credential_id, 0);
        let high = match before {
            Some(v) => version_sk(credential_id, v.saturating_sub(1)),
            None => version_sk(credential_id, u64::from(u32::MAX) * 1000),
        };
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(workspace_pk(workspace_id)))
            .expression_attribute_values(":low", s(low))
            .expression_attribute_values(":high", s(high))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit((limit + 1) as i32)
            .send()
            .await
            .map_err(|e| unavailable("Query", &e.into_service_error()))?;
        let mut versions = output
            .items()
            .iter()
            .map(decode_version)
            .collect::<Result<Vec<_>, _>>()?;
        let more = versions.len() > limit;
        versions.truncate(limit);
        Ok(VersionPage { versions, more })
    }

    /// The delete of one version item.
    pub(super) fn version_delete(
        &self,
        workspace_id: &str,
        credential_id: &str,
        version: u64,
    ) -> Delete {
        Delete::builder()
            .table_name(&self.table)
            .set_key(Some(version_key(workspace_id, credential_id, version)))
            .build()
            .expect("table and key are set")
    }
}
