//! The token state of refreshed `oauth` credentials: one item per credential
//! (`TOK#<credential id>`, beside it in the workspace's partition), so that a refresh and a
//! user's write of the credential never overwrite each other. The refresh lease is a
//! conditional update of that item; a refresh commits its tokens and its audit event in one
//! transaction conditioned on still holding the lease.
//!
//! Every write here touches only [`TOKEN_ATTRIBUTES`] (and a credential's `auth_status`):
//! the IAM policy of the roles that refresh allows no other (`dynamodb:Attributes`).

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue as Av, ConditionCheck, TransactWriteItem, Update};

use super::codec::{credential_key, decode_sealed_in, encode_sealed, n, s, Item};
use super::{unavailable, workspace_pk, Store, StoreError};
use crate::audit::AuditEvent;
use crate::domain::oauth::{Lease, TokenState, LEASE_MILLIS};

/// The index the scheduled refresher reads: token items that have a next refresh due.
pub const GSI_TOKEN_REFRESH: &str = "gsi5-token-refresh";
/// Its one partition (a sparse index: only token items with tokens to keep alive are in it).
pub const TOKEN_REFRESH_PARTITION: &str = "TOKENS";

/// Every attribute a refresh writes, keys included: the whole of what the refreshing roles'
/// `UpdateItem` may name (`template.yaml` lists the same, `make test` compares them).
pub const TOKEN_ATTRIBUTES: &[&str] = &[
    "pk",
    "sk",
    "workspace_id",
    "credential_id",
    "tok_gen",
    "tok_sealed",
    "tok_type",
    "tok_expires_at",
    "tok_scope",
    "tok_refreshed_at",
    "tok_material",
    "lease_owner",
    "lease_until",
    "cooldown_until",
    "tok_refused",
    "gsi5pk",
    "gsi5sk",
    "auth_status",
    // Named only in the mark's condition (the credential's refresh material is still the
    // one that was refused), never written by a refresh.
    "token_material",
];

pub fn token_sk(credential_id: &str) -> String {
    format!("TOK#{credential_id}")
}

pub fn token_key(workspace_id: &str, credential_id: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(workspace_pk(workspace_id))),
        ("sk".to_owned(), s(token_sk(credential_id))),
    ])
}

fn get_n(item: &Item, key: &str) -> Result<Option<u64>, StoreError> {
    match item.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_n()
            .ok()
            .and_then(|n| n.parse().ok())
            .map(Some)
            .ok_or(StoreError::Corrupt),
    }
}

fn get_s(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

/// An update whose condition failed changed nothing, and that is the intended outcome
/// (the lease or the index entry was no longer the caller's): only other failures count.
pub(super) fn unless_condition_failed<T>(
    outcome: Result<T, UpdateItemError>,
) -> Result<(), StoreError> {
    match outcome {
        Ok(_) => Ok(()),
        Err(e) => {
            if e.is_conditional_check_failed_exception() {
                Ok(())
            } else {
                Err(unavailable("UpdateItem", &e))
            }
        }
    }
}

pub(super) fn decode_token_state(item: &Item) -> Result<TokenState, StoreError> {
    let lease = match (get_s(item, "lease_owner"), get_n(item, "lease_until")?) {
        (Some(owner), Some(until_ms)) => Some(Lease { owner, until_ms }),
        _ => None,
    };
    Ok(TokenState {
        generation: get_n(item, "tok_gen")?.unwrap_or(0),
        sealed: decode_sealed_in(item, "tok_sealed")?,
        token_type: get_s(item, "tok_type"),
        expires_at: get_n(item, "tok_expires_at")?,
        scope: get_s(item, "tok_scope"),
        refreshed_at: get_n(item, "tok_refreshed_at")?,
        material: get_n(item, "tok_material")?.unwrap_or(0),
        lease,
        cooldown_until: get_n(item, "cooldown_until")?,
        refused_material: get_n(item, "tok_refused")?,
    })
}

/// One due token the scheduled refresher found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueToken {
    pub workspace_id: String,
    pub credential_id: String,
    /// Its key in the keep-alive index when it was found (`gsi5sk`).
    pub due_key: String,
}

impl Store {
    /// A credential's token state (strongly consistent); the default (generation 0, nothing
    /// sealed) when none was written yet.
    pub async fn get_token_state(
        &self,
        workspace_id: &str,
        credential_id: &str,
    ) -> Result<TokenState, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(token_key(workspace_id, credential_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e.into_service_error()))?;
        output
            .item
            .as_ref()
            .map_or(Ok(TokenState::default()), decode_token_state)
    }

    /// Takes the refresh lease for `owner` for [`LEASE_MILLIS`] from `now_ms`, if nobody
    /// holds it at `now_ms`, no refresh committed since the caller read generation `seen`,
    /// and the endpoint has not refused the credential's refresh material `material`.
    /// `false` otherwise (read again).
    pub async fn take_lease(
        &self,
        workspace_id: &str,
        credential_id: &str,
        owner: &str,
        now_ms: u64,
        seen: u64,
        material: u64,
    ) -> Result<bool, StoreError> {
        let outcome = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(token_key(workspace_id, credential_id)))
            .update_expression(
                "SET lease_owner = :owner, lease_until = :until, workspace_id = :ws, \
                 credential_id = :id, tok_gen = if_not_exists(tok_gen, :zero)",
            )
            .condition_expression(
                "(attribute_not_exists(lease_until) OR lease_until < :now) \
                 AND (attribute_not_exists(tok_gen) OR tok_gen = :seen) \
                 AND (attribute_not_exists(tok_refused) OR tok_refused <> :material)",
            )
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":until", n(now_ms + LEASE_MILLIS))
            .expression_attribute_values(":material", n(material))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":seen", n(seen))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":ws", s(workspace_id))
            .expression_attribute_values(":id", s(credential_id))
            .send()
            .await;
        match outcome {
            Ok(_) => Ok(true),
            Err(e) => {
                let e = e.into_service_error();
                if e.is_conditional_check_failed_exception() {
                    Ok(false)
                } else {
                    Err(unavailable("UpdateItem", &e))
                }
            }
        }
    }

    /// Commits a refresh: the token state `next` (its generation one more than the one the
    /// lease was taken at), the lease released, the cooldown cleared, with `event`, in one
    /// transaction conditioned on `owner` still holding the lease and on the credential
    /// still existing. `Conflict` when either no longer holds (the tokens are not kept).
    pub async fn commit_refresh(
        &self,
        workspace_id: &str,
        credential_id: &str,
        owner: &str,
        next: &TokenState,
        keep_alive_due: Option<u64>,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        let mut set = vec![
            "tok_gen = :gen",
            "tok_sealed = :sealed",
            "tok_refreshed_at = :refreshed",
            "tok_material = :material",
        ];
        let mut remove = vec![
            "lease_owner",
            "lease_until",
            "cooldown_until",
            "tok_refused",
        ];
        let mut values = HashMap::from([
            (":owner".to_owned(), s(owner)),
            (":gen".to_owned(), n(next.generation)),
            (":sealed".to_owned(), encode_sealed(&next.sealed)),
            (
                ":refreshed".to_owned(),
                n(next.refreshed_at.unwrap_or_default()),
            ),
            (":material".to_owned(), n(next.material)),
        ]);
        let optional: [(&str, &str, Option<Av>); 3] = [
            ("tok_type", ":type", next.token_type.as_deref().map(s)),
            ("tok_expires_at", ":expires", next.expires_at.map(n)),
            ("tok_scope", ":scope", next.scope.as_deref().map(s)),
        ];
        let mut assignments: Vec<String> = set.drain(..).map(str::to_owned).collect();
        for (attribute, placeholder, value) in optional {
            match value {
                Some(value) => {
                    assignments.push(format!("{attribute} = {placeholder}"));
                    values.insert(placeholder.to_owned(), value);
                }
                None => remove.push(attribute),
            }
        }
        match keep_alive_due {
            Some(due) => {
                assignments.push("gsi5pk = :due_pk, gsi5sk = :due_sk".to_owned());
                values.insert(":due_pk".to_owned(), s(TOKEN_REFRESH_PARTITION));
                values.insert(
                    ":due_sk".to_owned(),
                    s(format!("{due:012}#{workspace_id}#{credential_id}")),
                );
            }
            None => remove.extend(["gsi5pk", "gsi5sk"]),
        }
        let expression = format!(
            "SET {} REMOVE {}",
            assignments.join(", "),
            remove.join(", ")
        );
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(token_key(workspace_id, credential_id)))
            .update_expression(expression)
            .condition_expression("lease_owner = :owner")
            .set_expression_attribute_values(Some(values))
            .build()
            .expect("table, key and expressions are set");
        let items = vec![
            TransactWriteItem::builder().update(update).build(),
            TransactWriteItem::builder()
                .condition_check(self.credential_exists(workspace_id, credential_id))
                .build(),
            TransactWriteItem::builder()
                .put(self.event_put(event))
                .build(),
        ];
        self.transact_all(items).await
    }

    fn credential_exists(&self, workspace_id: &str, credential_id: &str) -> ConditionCheck {
        ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(credential_key(workspace_id, credential_id)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .expect("table, key and condition are set")
    }

    /// Gives the lease back (after a refresh that committed nothing), with a cooldown when
    /// the endpoint failed transiently. Nothing happens if `owner` no longer holds it.
    pub async fn release_lease(
        &self,
        workspace_id: &str,
        credential_id: &str,
        owner: &str,
        cooldown_until: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(token_key(workspace_id, credential_id)))
            .condition_expression("lease_owner = :owner")
            .expression_attribute_values(":owner", s(owner));
        request = match cooldown_until {
            Some(until) => request
                .update_expression("REMOVE lease_owner, lease_until SET cooldown_until = :cool")
                .expression_attribute_values(":cool", n(until)),
            None => request.update_expression("REMOVE lease_owner, lease_until"),
        };
        unless_condition_failed(request.send().await.map_err(|e| e.into_service_error()))
    }

    /// Marks the credential `reauthorization_required` (its refresh material `material`
    /// was refused), records on the token item which material was refused (callers that
    /// waited for this refresh answer 409 without calling the endpoint again), gives the
    /// lease back and takes the token out of the keep-alive index, with `event`, in one
    /// transaction conditioned on `owner` holding the lease and on the credential's
    /// material still being `material`: a write of new refresh material in between
    /// (which deletes the token item or changes the material) leaves nothing marked.
    pub async fn mark_reauthorization_required(
        &self,
        workspace_id: &str,
        credential_id: &str,
        owner: &str,
        material: u64,
        event: &AuditEvent,
    ) -> Result<(), StoreError> {
        // `token_material` is not stored while it is 0 (store/codec.rs).
        let same_material = if material == 0 {
            "attribute_exists(pk) AND attribute_not_exists(token_material)"
        } else {
            "attribute_exists(pk) AND token_material = :material"
        };
        let mut mark = Update::builder()
            .table_name(&self.table)
            .set_key(Some(credential_key(workspace_id, credential_id)))
            .update_expression("SET auth_status = :status")
            .condition_expression(same_material)
            .expression_attribute_values(":status", s("reauthorization_required"));
        if material != 0 {
            mark = mark.expression_attribute_values(":material", n(material));
        }
        let mark = mark.build().expect("table, key and expressions are set");
        let release = Update::builder()
            .table_name(&self.table)
            .set_key(Some(token_key(workspace_id, credential_id)))
            .update_expression(
                "REMOVE lease_owner, lease_until, gsi5pk, gsi5sk SET tok_refused = :material",
            )
            .condition_expression("lease_owner = :owner")
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":material", n(material))
            .build()
            .expect("table, key and expressions are set");
        let items = vec![
            TransactWriteItem::builder().update(mark).build(),
            TransactWriteItem::builder().update(release).build(),
            TransactWriteItem::builder()
                .put(self.event_put(event))
                .build(),
        ];
        self.transact_all(items).await
    }

    /// The delete of a credential's token state, in the transaction of a write that sets
    /// new refresh material (or purges the credential).
    pub(super) fn token_reset(&self, workspace_id: &str, credential_id: &str) -> TransactWriteItem {
        TransactWriteItem::builder()
            .delete(
                aws_sdk_dynamodb::types::Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(token_key(workspace_id, credential_id)))
                    .build()
                    .expect("table and key are set"),
            )
            .build()
    }

    /// Moves a due token the keep-alive could not refresh in its index: to `due` (epoch
    /// seconds), behind the tokens due before it, or out of the index (`None`), so that
    /// tokens that keep failing never take every place of the next run. Only if its index
    /// key is still `token.due_key` (a refresh that committed meanwhile set its own).
    pub async fn reschedule_keep_alive(
        &self,
        token: &DueToken,
        due: Option<u64>,
    ) -> Result<(), StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(token_key(&token.workspace_id, &token.credential_id)))
            .condition_expression("gsi5sk = :seen")
            .expression_attribute_values(":seen", s(&token.due_key));
        request = match due {
            Some(due) => request
                .update_expression("SET gsi5sk = :due")
                .expression_attribute_values(
                    ":due",
                    s(format!(
                        "{due:012}#{}#{}",
                        token.workspace_id, token.credential_id
                    )),
                ),
            None => request.update_expression("REMOVE gsi5pk, gsi5sk"),
        };
        unless_condition_failed(request.send().await.map_err(|e| e.into_service_error()))
    }

    /// Up to `limit` tokens whose keep-alive refresh is due at `now` (epoch seconds), oldest
    /// due first: one `Query` of the sparse keep-alive index.
    pub async fn due_tokens(&self, now: u64, limit: i32) -> Result<Vec<DueToken>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(GSI_TOKEN_REFRESH)
            .key_condition_expression("gsi5pk = :pk AND gsi5sk <= :due")
            .expression_attribute_values(":pk", s(TOKEN_REFRESH_PARTITION))
            // Every key of a due token sorts at or below "<now>~" ("~" after "#").
            .expression_attribute_values(":due", s(format!("{now:012}~")))
            .limit(limit)
            .send()
            .await
            .map_err(|e| unavailable("Query", &e.into_service_error()))?;
        output
            .items()
            .iter()
            .map(|item| {
                Ok(DueToken {
                    workspace_id: get_s(item, "workspace_id").ok_or(StoreError::Corrupt)?,
                    credential_id: get_s(item, "credential_id").ok_or(StoreError::Corrupt)?,
                    due_key: get_s(item, "gsi5sk").ok_or(StoreError::Corrupt)?,
                })
            })
            .collect()
    }
}
