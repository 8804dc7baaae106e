//! Credential reads and conditional writes.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};

use super::codec::{
    credential_key, decode_credential, decode_listed, encode_credential, item_size, n,
    name_key_item, name_reservation, s, status_sk, type_pk, unused_pk, unused_sk, Item,
    MAX_ITEM_BYTES,
};
use super::idempotency::idempotency_key;
use super::transact::{Cancelled, Failure};
use super::{unavailable, workspace_pk, Store, StoreError, GSI_BY_STATUS, GSI_BY_TYPE};
use super::{IdempotencyRecord, VersionWrites};
use crate::audit::AuditEvent;
use crate::cursor::ListFilter;
use crate::domain::{oauth, AuthStatus, CredentialType, ListedCredential, StoredCredential};

/// Query calls one list page may make. A page needs more than one only when DynamoDB's
/// 1 MB response limit cuts it short; past this bound the page is answered shorter, with a
/// cursor, so a request's AWS calls stay bounded (see `service::WORST_CASE_CALLS`).
pub const MAX_QUERIES_PER_PAGE: usize = 3;

/// The item of `credential`, refused as `TooLarge` past DynamoDB's item size limit (a
/// write that could never succeed is not sent).
fn encode_within_limit(credential: &StoredCredential) -> Result<Item, StoreError> {
    let item = encode_credential(credential);
    if item_size(&item) > MAX_ITEM_BYTES {
        return Err(StoreError::TooLarge);
    }
    Ok(item)
}

/// A page of a list query.
pub struct Page {
    pub items: Vec<ListedCredential>,
    /// Where the next page starts (after this id), when more credentials may follow.
    pub resume_after: Option<String>,
}

impl Store {
    /// The delete of `current`'s name reservation, under its stored key, only while it is
    /// still this credential's.
    fn release_name(&self, current: &StoredCredential) -> Delete {
        Delete::builder()
            .table_name(&self.table)
            .set_key(Some(name_key_item(
                &current.workspace_id,
                &current.name_key,
            )))
            .condition_expression("credential_id = :id")
            .expression_attribute_values(":id", s(&current.id))
            .build()
            .expect("table, key and condition are set")
    }

    pub(super) fn put(&self, item: Item, condition: &str, values: Option<Item>) -> Put {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()
            .expect("table, item and condition are set")
    }

    /// Stores a new credential, reserves its name and appends its audit event, atomically;
    /// with an idempotency record, that too, first (so a concurrent retry fails on it, not
    /// on the name). One attempt: a lost race is `Conflict`.
    pub async fn insert_credential(
        &self,
        credential: &StoredCredential,
        idempotency: Option<&IdempotencyRecord>,
        event: &AuditEvent,
        now: u64,
        versions: &VersionWrites,
    ) -> Result<(), StoreError> {
        let offset = usize::from(idempotency.is_some());
        let mut items = Vec::with_capacity(3);
        if let Some(record) = idempotency {
            items.push(
                TransactWriteItem::builder()
                    .put(self.idempotency_put(record, now))
                    .build(),
            );
        }
        let reserve = self.put(
            name_reservation(
                &credential.workspace_id,
                &credential.name_key,
                &credential.id,
            ),
            "attribute_not_exists(pk)",
            None,
        );
        let insert = self.put(
            encode_within_limit(credential)?,
            "attribute_not_exists(pk)",
            None,
        );
        items.push(TransactWriteItem::builder().put(reserve).build());
        items.push(TransactWriteItem::builder().put(insert).build());
        items.push(
            TransactWriteItem::builder()
                .put(self.event_put(event))
                .build(),
        );
        // A new credential deletes nothing: only its first version, if any, is written.
        self.version_items(
            &credential.workspace_id,
            &credential.id,
            versions,
            &mut items,
        )?;
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(Failure::Cancelled(Cancelled::Condition(0))) if offset == 1 => {
                Err(StoreError::IdempotencyKeyUsed)
            }
            Err(Failure::Cancelled(Cancelled::Condition(i))) if i == offset => {
                Err(StoreError::NameTaken)
            }
            Err(Failure::Cancelled(_)) => Err(StoreError::Conflict),
            Err(Failure::Store(e)) => Err(e),
        }
    }

    /// The id of the credential whose name has this folded key in the workspace (its name
    /// reservation, read strongly consistent), if any.
    pub async fn credential_id_by_name_key(
        &self,
        workspace_id: &str,
        name_key: &str,
    ) -> Result<Option<String>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(name_key_item(workspace_id, name_key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e.into_service_error()))?;
        output
            .item
            .as_ref()
            .map(|item| super::codec::get_s(item, "credential_id").map(str::to_owned))
            .transpose()
    }

    /// Reads one credential (strongly consistent). `None` when absent from this workspace.
    pub async fn get_credential(
        &self,
        workspace_id: &str,
        id: &str,
    ) -> Result<Option<StoredCredential>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(credential_key(workspace_id, id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e.into_service_error()))?;
        output.item.as_ref().map(decode_credential).transpose()
    }

    /// Replaces `current` by `next` if nobody changed it in between (same `version`), and
    /// appends `event`. A rename moves the name reservation in the same transaction. One
    /// attempt: a lost race is `Conflict`.
    pub async fn replace_credential(
        &self,
        current: &StoredCredential,
        next: &StoredCredential,
        event: &AuditEvent,
        versions: &VersionWrites,
    ) -> Result<(), StoreError> {
        // Also conditioned on the `auth_status` read: a refresh that marked the credential
        // in between is not overwritten (the write reads again and decides again).
        let guarded = match current.auth_status {
            AuthStatus::Ok => self.put(
                encode_within_limit(next)?,
                "attribute_exists(pk) AND version = :expected AND attribute_not_exists(auth_status)",
                Some([(":expected".to_owned(), n(current.version))].into()),
            ),
            marked => self.put(
                encode_within_limit(next)?,
                "attribute_exists(pk) AND version = :expected AND auth_status = :auth",
                Some(
                    [
                        (":expected".to_owned(), n(current.version)),
                        (":auth".to_owned(), s(marked.as_str())),
                    ]
                    .into(),
                ),
            ),
        };
        let mut items = Vec::new();
        // Compared on the stored keys: the old reservation is released under the key it was
        // written with.
        let renamed = current.name_key != next.name_key;
        if renamed {
            let reserve = self.put(
                name_reservation(&next.workspace_id, &next.name_key, &next.id),
                "attribute_not_exists(pk)",
                None,
            );
            items.push(TransactWriteItem::builder().put(reserve).build());
            items.push(
                TransactWriteItem::builder()
                    .delete(self.release_name(current))
                    .build(),
            );
        }
        items.push(TransactWriteItem::builder().put(guarded).build());
        // A new refresh token or destination forgets the token state (after the
        // reservation: its index is how a taken name is told from a lost race).
        if oauth::token_change(current, next) == oauth::TokenChange::Reset {
            items.push(self.token_reset(&next.workspace_id, &next.id));
        }
        items.push(
            TransactWriteItem::builder()
                .put(self.event_put(event))
                .build(),
        );
        let later = self.version_items(&next.workspace_id, &next.id, versions, &mut items)?;
        match self.transact(items).await {
            Ok(()) => {
                // Logged on failure: the credential no longer lists them, so nothing reads
                // them, and purge deletes every version item.
                let _ = self
                    .delete_versions(&next.workspace_id, &next.id, &later)
                    .await;
                Ok(())
            }
            Err(Failure::Cancelled(Cancelled::Condition(0))) if renamed => {
                Err(StoreError::NameTaken)
            }
            // The credential (or the name it held) changed since it was read.
            Err(Failure::Cancelled(_)) => Err(StoreError::Conflict),
            Err(Failure::Store(e)) => Err(e),
        }
    }

    /// Writes a soft delete or restore (`next`, as [`StoredCredential::transition`]
    /// computed it from `current`) with its audit event, in one transaction: an update
    /// conditioned on the version and status that were read. One attempt: a lost race is
    /// `Conflict`.
    pub async fn move_status(
        &self,
        current: &StoredCredential,
        next: &StoredCredential,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        // The `unused_since` index partitions by status; its sort key is the one the item
        // has (or, for an item written before that index, the one its marks give).
        let set = "#status = :to, gsi1sk = :sk, gsi2sk = :sk, gsi6pk = :upk, \
                   gsi6sk = if_not_exists(gsi6sk, :usk), updated_at = :now, version = :next";
        let expression = match &next.deleted_at {
            Some(_) => format!("SET {set}, deleted_at = :now"),
            None => format!("SET {set} REMOVE deleted_at"),
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(credential_key(&current.workspace_id, &current.id)))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk) AND #status = :from AND version = :version")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":from", s(current.status.as_str()))
            .expression_attribute_values(":to", s(next.status.as_str()))
            .expression_attribute_values(":sk", s(status_sk(next.status, &next.id)))
            .expression_attribute_values(":upk", s(unused_pk(&next.workspace_id, next.status)))
            .expression_attribute_values(
                ":usk",
                s(unused_sk(
                    current.used.last_resolved_at.as_deref(),
                    &next.id,
                )),
            )
            .expression_attribute_values(":now", s(&next.updated_at))
            .expression_attribute_values(":version", n(current.version))
            .expression_attribute_values(":next", n(next.version))
            .build()
            .expect("table, key and expressions are set");
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder()
                .put(self.event_put(event))
                .build(),
        ];
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(Failure::Cancelled(_)) => Err(StoreError::Conflict),
            Err(Failure::Store(e)) => Err(e),
        }
    }

    /// Deletes `current`, its name reservation (under its stored key), every secret version
    /// item and, while it is live, the idempotency record its create wrote, and appends
    /// `event`, in one transaction conditioned on the version that was read (`now`, epoch seconds, tells
    /// whether that record is still live). One attempt: a changed or vanished item is
    /// `Conflict` (the caller reads again to tell which).
    pub async fn purge_credential(
        &self,
        current: &StoredCredential,
        event: &AuditEvent,
        now: u64,
    ) -> Result<(), StoreError> {
        let remove = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(credential_key(&current.workspace_id, &current.id)))
            .condition_expression("attribute_exists(pk) AND version = :version")
            .expression_attribute_values(":version", n(current.version))
            .build()
            .expect("table, key and condition are set");
        let mut items = vec![
            TransactWriteItem::builder().delete(remove).build(),
            TransactWriteItem::builder()
                .delete(self.release_name(current))
                .build(),
        ];
        if current.kind == CredentialType::Oauth {
            items.push(self.token_reset(&current.workspace_id, &current.id));
        }
        // An expired record is void already (and its key may have been used again since, by
        // another create): only a live one is ours to delete. TTL may have removed it.
        if let Some(record) = current.idempotency.as_ref().filter(|r| r.expires_at >= now) {
            let forget = Delete::builder()
                .table_name(&self.table)
                .set_key(Some(idempotency_key(
                    &current.workspace_id,
                    &record.key_hash,
                )))
                .condition_expression("attribute_not_exists(pk) OR credential_id = :id")
                .expression_attribute_values(":id", s(&current.id))
                .build()
                .expect("table, key and condition are set");
            items.push(TransactWriteItem::builder().delete(forget).build());
        }
        items.push(
            TransactWriteItem::builder()
                .put(self.event_put(event))
                .build(),
        );
        // Every version item goes in the same transaction. A transaction holds at most 100
        // items and a credential keeps at most 100 versions plus its labelled ones: with
        // `max_versions` near its limit the oldest unlabelled ones that do not fit are
        // deleted first, in transactions of their own (should the purge then fail, those
        // versions are gone and the credential stays).
        let (workspace, id) = (&current.workspace_id, &current.id);
        let mut kept = current.versions.kept.clone();
        kept.sort_unstable();
        let room = 100 - items.len();
        if kept.len() > room {
            let labelled = current.labelled_versions();
            let first: Vec<u64> = kept
                .iter()
                .copied()
                .filter(|v| !labelled.contains(v))
                .take(kept.len() - room)
                .collect();
            self.delete_versions(workspace, id, &first).await?;
            kept.retain(|v| !first.contains(v));
        }
        for &v in &kept {
            items.push(
                TransactWriteItem::builder()
                    .delete(self.version_delete(workspace, id, v))
                    .build(),
            );
        }
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(Failure::Cancelled(_)) => Err(StoreError::Conflict),
            Err(Failure::Store(e)) => Err(e),
        }
    }

    /// One page of a workspace's credentials, newest first, through the status or type
    /// index. Items are fetched until `limit + 1` are seen (usually one Query) so that
    /// `more` is exact: a cursor is only handed out when another item exists, except when a
    /// page is cut short by [`MAX_QUERIES_PER_PAGE`] (then the cursor may lead to an empty
    /// page).
    pub async fn list_credentials(
        &self,
        workspace_id: &str,
        filter: ListFilter,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let (index, partition_attr, partition) = match filter.kind {
            None => (GSI_BY_STATUS, "gsi1pk", workspace_pk(workspace_id)),
            Some(kind) => (GSI_BY_TYPE, "gsi2pk", type_pk(workspace_id, kind)),
        };
        let sort_attr = if filter.kind.is_some() {
            "gsi2sk"
        } else {
            "gsi1sk"
        };
        let status = filter.status.as_str();
        // BETWEEN is inclusive: the item the cursor names may come back and is skipped.
        let low = format!("{status}#");
        let high = match after_id {
            Some(id) => format!("{status}#{id}"),
            None => format!("{status}#~"),
        };
        let mut items = Vec::with_capacity(limit + 1);
        let mut start_key = None;
        // The last credential read, matching or not: where a filtered page that found
        // nothing within the query bound continues.
        let mut last_read = None;
        for _ in 0..MAX_QUERIES_PER_PAGE {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#pk", partition_attr)
                .expression_attribute_names("#sk", sort_attr)
                .expression_attribute_values(":pk", s(&partition))
                .expression_attribute_values(":low", s(&low))
                .expression_attribute_values(":high", s(&high))
                .scan_index_forward(false)
                .limit((limit + 2) as i32)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| unavailable("Query", &e.into_service_error()))?;
            for item in output.items() {
                let credential = decode_listed(item)?;
                if Some(credential.id.as_str()) == after_id {
                    continue;
                }
                last_read = Some(credential.id.clone());
                if filter
                    .auth
                    .is_none_or(|auth| auth == credential.auth_status)
                {
                    items.push(credential);
                }
                if items.len() > limit {
                    items.truncate(limit);
                    let resume_after = items.last().map(|c| c.id.clone());
                    return Ok(Page {
                        items,
                        resume_after,
                    });
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => {
                    return Ok(Page {
                        items,
                        resume_after: None,
                    })
                }
            }
        }
        // Cut short by the query bound: a cursor after the last credential read (a filtered
        // page may hold none of them).
        Ok(Page {
            items,
            resume_after: last_read,
        })
    }
}
