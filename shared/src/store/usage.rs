//! The usage ledger's items: per credential and shard a partition
//! (`USAGE#<ws>#<credential id>#<shard>`), in it one item per consumer and day
//! (`D#<day>#<consumer>`), each written by a single-item `UpdateItem` with `ADD` counters
//! and no condition, so concurrent resolves never fail or retry because of one another;
//! and the credential's own marks (`last_resolved_at`, the `unused_since` index key),
//! renewed by the resolves that find them a minute old.
//!
//! A resolve's usage writes never fail the resolve: a failed one is logged (`usage not
//! recorded`) and, for the day item, that resolve is missing from the ledger, not from the
//! audit trail. The design and its arithmetic: `docs/usage.md`.

use super::codec::{credential_key, get_opt_s, n, s, unused_pk, unused_sk, Item};
use super::tokens::unless_condition_failed;
use super::{unavailable, Store, StoreError};
use crate::domain::usage::{day_of, hour_of, DayCounts, Outcome, WINDOW_DAYS};
use crate::domain::{Status, StoredCredential};

/// Partitions of one credential's ledger: a resolve updates its consumer's day item in one
/// of them at random, so a hot credential's writes spread over this many partitions (see
/// the arithmetic in `docs/usage.md`).
pub const USAGE_SHARDS: u32 = 4;
/// Most `Query` pages one read of the ledger makes per partition (1 MB each), one after
/// another (the partitions are read concurrently): a ledger larger than that is summed
/// from the newest days read.
pub const MAX_USAGE_PAGES: usize = 2;

/// Every attribute a resolve's usage writes name, keys included: the whole of what the
/// resolver's `UpdateItem` on `USAGE#` items may name (`template.yaml` lists the same).
pub const USAGE_ATTRIBUTES: &[&str] = &[
    "pk",
    "sk",
    "workspace_id",
    "credential_id",
    "consumer",
    "day",
    "h00",
    "h01",
    "h02",
    "h03",
    "h04",
    "h05",
    "h06",
    "h07",
    "h08",
    "h09",
    "h10",
    "h11",
    "h12",
    "h13",
    "h14",
    "h15",
    "h16",
    "h17",
    "h18",
    "h19",
    "h20",
    "h21",
    "h22",
    "h23",
    "refused",
    "last_at",
    "last_purpose",
    "last_refused_at",
    "expires_at",
];

/// What a resolve's mark on the credential item names (with its keys): the resolver's
/// `UpdateItem` on `WS#` items may name these besides the token attributes.
pub const MARK_ATTRIBUTES: &[&str] = &[
    "pk",
    "sk",
    "last_resolved_at",
    "last_purpose",
    "last_refused_at",
    "gsi6pk",
    "gsi6sk",
];

/// One partition of a credential's usage items.
pub fn usage_pk(workspace_id: &str, credential_id: &str, shard: u32) -> String {
    format!("USAGE#{workspace_id}#{credential_id}#{shard}")
}

fn day_prefix(day: u64) -> String {
    format!("D#{day:06}#")
}

fn usage_key(
    workspace_id: &str,
    credential_id: &str,
    day: u64,
    shard: u32,
    consumer: &str,
) -> Item {
    Item::from([
        (
            "pk".to_owned(),
            s(usage_pk(workspace_id, credential_id, shard)),
        ),
        ("sk".to_owned(), s(format!("{}{consumer}", day_prefix(day)))),
    ])
}

fn random_shard() -> u32 {
    let mut byte = [0u8; 1];
    getrandom::getrandom(&mut byte).expect("the OS random source is available");
    u32::from(byte[0]) % USAGE_SHARDS
}

fn decode_day(item: &Item) -> Result<DayCounts, StoreError> {
    let number = |name: &str| -> Result<Option<u64>, StoreError> {
        match item.get(name) {
            None => Ok(None),
            Some(value) => value
                .as_n()
                .ok()
                .and_then(|v| v.parse().ok())
                .map(Some)
                .ok_or(StoreError::Corrupt),
        }
    };
    let mut hours = [0; 24];
    for (hour, count) in hours.iter_mut().enumerate() {
        *count = number(&format!("h{hour:02}"))?.unwrap_or(0);
    }
    let last_resolved = match (number("last_at")?, get_opt_s(item, "last_purpose")) {
        (Some(at), Some(purpose)) => Some((at, purpose)),
        _ => None,
    };
    Ok(DayCounts {
        consumer: get_opt_s(item, "consumer").ok_or(StoreError::Corrupt)?,
        day: number("day")?.ok_or(StoreError::Corrupt)?,
        hours,
        refused: number("refused")?.unwrap_or(0),
        last_resolved,
        last_refused: number("last_refused_at")?,
    })
}

impl Store {
    /// Counts one resolve (or refusal) of `credential` for the consumer `consumer`:
    /// one `UpdateItem` of a day item, no condition. `now` is epoch seconds.
    pub async fn record_usage(
        &self,
        credential: &StoredCredential,
        consumer: &str,
        purpose: &str,
        outcome: Outcome,
        now: u64,
    ) -> Result<(), StoreError> {
        let day = day_of(now);
        let key = usage_key(
            &credential.workspace_id,
            &credential.id,
            day,
            random_shard(),
            consumer,
        );
        let set = "SET workspace_id = :ws, credential_id = :cred, consumer = :consumer, \
                   #day = :day, expires_at = :ttl";
        let update = match outcome {
            Outcome::Resolved => {
                format!("{set}, last_at = :at, last_purpose = :purpose ADD #count :one")
            }
            Outcome::Refused => format!("{set}, last_refused_at = :at ADD #count :one"),
        };
        let counter = match outcome {
            Outcome::Resolved => format!("h{:02}", hour_of(now)),
            Outcome::Refused => "refused".to_owned(),
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .expression_attribute_names("#day", "day")
            .expression_attribute_names("#count", counter)
            .expression_attribute_values(":ws", s(&credential.workspace_id))
            .expression_attribute_values(":cred", s(&credential.id))
            .expression_attribute_values(":consumer", s(consumer))
            .expression_attribute_values(":day", n(day))
            .expression_attribute_values(":ttl", n((day + WINDOW_DAYS + 1) * 86_400))
            .expression_attribute_values(":at", n(now))
            .expression_attribute_values(":one", n(1));
        if outcome == Outcome::Resolved {
            request = request.expression_attribute_values(":purpose", s(purpose));
        }
        request
            .send()
            .await
            .map_err(|e| unavailable("UpdateItem", &e.into_service_error()))?;
        Ok(())
    }

    /// Sets the credential's own mark of its last resolve (with the `unused_since` index
    /// key) or refusal to `at`: conditioned on the item existing, on a resolve's credential
    /// being in the index as active (`gsi6pk`; else the entry would move under the wrong
    /// status, and a credential written before the index waits for `migrate` or its next
    /// write), and on the stored mark being older. A failed condition is no error.
    pub async fn mark_usage(
        &self,
        credential: &StoredCredential,
        outcome: Outcome,
        at: &str,
        purpose: &str,
    ) -> Result<(), StoreError> {
        let key = credential_key(&credential.workspace_id, &credential.id);
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .expression_attribute_values(":at", s(at));
        let request = match outcome {
            Outcome::Resolved => request
                .update_expression(
                    "SET last_resolved_at = :at, last_purpose = :purpose, gsi6sk = :usk",
                )
                .condition_expression(
                    "attribute_exists(pk) AND gsi6pk = :upk AND \
                     (attribute_not_exists(last_resolved_at) OR last_resolved_at < :at)",
                )
                .expression_attribute_values(":purpose", s(purpose))
                .expression_attribute_values(
                    ":upk",
                    s(unused_pk(&credential.workspace_id, Status::Active)),
                )
                .expression_attribute_values(":usk", s(unused_sk(Some(at), &credential.id))),
            Outcome::Refused => request
                .update_expression("SET last_refused_at = :at")
                .condition_expression(
                    "attribute_exists(pk) AND \
                     (attribute_not_exists(last_refused_at) OR last_refused_at < :at)",
                ),
        };
        unless_condition_failed(request.send().await.map_err(|e| e.into_service_error()))
    }

    /// A credential's day items from `first_day` on (days since the epoch): its
    /// [`USAGE_SHARDS`] partitions read concurrently, each newest days first, at most
    /// `max_pages` strongly consistent `Query` pages each; `true` with them when that bound
    /// cut a read short.
    pub async fn usage_since(
        &self,
        workspace_id: &str,
        credential_id: &str,
        first_day: u64,
        max_pages: usize,
    ) -> Result<(Vec<DayCounts>, bool), StoreError> {
        let reads = (0..USAGE_SHARDS).map(|shard| {
            let pk = usage_pk(workspace_id, credential_id, shard);
            async move { self.usage_partition(pk, first_day, max_pages).await }
        });
        let mut items = Vec::new();
        let mut cut_short = false;
        for read in futures_util::future::join_all(reads).await {
            let (read, cut) = read?;
            items.extend(read);
            cut_short |= cut;
        }
        Ok((items, cut_short))
    }

    async fn usage_partition(
        &self,
        pk: String,
        first_day: u64,
        max_pages: usize,
    ) -> Result<(Vec<DayCounts>, bool), StoreError> {
        let mut items = Vec::new();
        let mut start_key = None;
        for _ in 0..max_pages {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
                .expression_attribute_values(":pk", s(&pk))
                .expression_attribute_values(":low", s(day_prefix(first_day)))
                .expression_attribute_values(":high", s("D#~"))
                .scan_index_forward(false)
                .consistent_read(true)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| unavailable("Query", &e.into_service_error()))?;
            for item in output.items() {
                items.push(decode_day(item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => return Ok((items, false)),
            }
        }
        Ok((items, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue as Av;

    #[test]
    fn day_items_decode() {
        let mut item = usage_key("ws", "cred_x", 20_428, 3, "pipeline:a");
        item.insert("consumer".into(), s("pipeline:a"));
        item.insert("day".into(), n(20_428));
        item.insert("h05".into(), n(7));
        item.insert("last_at".into(), n(1_765_000_000));
        item.insert("last_purpose".into(), s("pipeline:a/run-1"));
        let day = decode_day(&item).unwrap();
        assert_eq!(day.hours[5], 7);
        assert_eq!(
            day.last_resolved,
            Some((1_765_000_000, "pipeline:a/run-1".into()))
        );
        assert_eq!(
            item["sk"],
            Av::S("D#020428#pipeline:a".into()),
            "days sort as text"
        );
        item.remove("consumer");
        assert_eq!(decode_day(&item), Err(StoreError::Corrupt));
    }
}
