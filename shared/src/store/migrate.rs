//! One-off migration of items written by earlier versions, for `credentials-admin migrate`:
//! credentials get the `secret_fields` attribute the list indexes now project, API keys
//! move from the status index to their own (`gsi3`) and get the id item revocation reads;
//! credentials enter the last-use index (`gsi6`). Idempotent: items already in the
//! current shape are left alone. It reads the table with `Scan`, the one place that does:
//! an operator's maintenance command, never a request path.

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue as Av;

use super::codec::{decode_credential, get_n, get_s, n, s, unused_pk, unused_sk, Item};
use super::{unavailable, workspace_pk, Store, StoreError};
use crate::domain::{schema, Status, StoredCredential};

/// What a migration changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub credentials: usize,
    pub api_keys: usize,
    /// Items that changed between the scan and the update (a newer write won): left as
    /// they are; run the migration again.
    pub skipped: usize,
    /// API keys that got the id item revocation reads them by.
    pub key_ids: usize,
    /// Credentials entered in the last-use index (`unused_since`).
    pub last_use: usize,
}

/// A conditional update's outcome: applied, or skipped because the item changed since it
/// was scanned.
fn applied<T>(
    outcome: Result<T, aws_sdk_dynamodb::error::SdkError<UpdateItemError>>,
) -> Result<bool, StoreError> {
    match outcome.map_err(|e| e.into_service_error()) {
        Ok(_) => Ok(true),
        Err(UpdateItemError::ConditionalCheckFailedException(_)) => Ok(false),
        Err(other) => Err(unavailable("UpdateItem", &other)),
    }
}

fn key_of(item: &Item) -> Result<Item, StoreError> {
    Ok(Item::from([
        ("pk".to_owned(), s(get_s(item, "pk")?)),
        ("sk".to_owned(), s(get_s(item, "sk")?)),
    ]))
}

impl Store {
    pub async fn migrate_items(&self) -> Result<MigrationReport, StoreError> {
        let mut report = MigrationReport::default();
        let mut start = None;
        let mut keys = Vec::new();
        let mut have_id_items = std::collections::HashSet::new();
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Scan", &e.into_service_error()))?;
            for item in page.items() {
                let sk = get_s(item, "sk")?;
                if sk == "APIKEY" {
                    keys.push((
                        get_s(item, "key_id")?.to_owned(),
                        get_s(item, "key_hash")?.to_owned(),
                        get_s(item, "workspace_id")?.to_owned(),
                    ));
                } else if sk == "APIKEYID" {
                    have_id_items.insert(
                        get_s(item, "pk")?
                            .trim_start_matches("APIKEYID#")
                            .to_owned(),
                    );
                }
                if sk.starts_with("CRED#") && !item.contains_key("secret_fields") {
                    let names: Vec<Av> = match item.get("secrets") {
                        Some(Av::M(map)) => map.keys().map(s).collect(),
                        _ => Vec::new(),
                    };
                    // Conditioned on the version scanned: a newer write is never overwritten.
                    let outcome = self
                        .client
                        .update_item()
                        .table_name(&self.table)
                        .set_key(Some(key_of(item)?))
                        .update_expression("SET secret_fields = :names")
                        .condition_expression(
                            "attribute_not_exists(secret_fields) AND version = :version",
                        )
                        .expression_attribute_values(":names", Av::L(names))
                        .expression_attribute_values(":version", n(get_n(item, "version")?))
                        .send()
                        .await;
                    if applied(outcome)? {
                        report.credentials += 1;
                    } else {
                        report.skipped += 1;
                    }
                }
                if sk.starts_with("CRED#") && !item.contains_key("gsi6pk") {
                    // Into the last-use index under its status, as never resolved unless
                    // it has a mark; conditioned on the status scanned.
                    let status = get_s(item, "status")?;
                    let status = Status::parse(status).ok_or(StoreError::Corrupt)?;
                    let id = get_s(item, "id")?;
                    let last = item.get("last_resolved_at").and_then(|v| v.as_s().ok());
                    let outcome = self
                        .client
                        .update_item()
                        .table_name(&self.table)
                        .set_key(Some(key_of(item)?))
                        .update_expression("SET gsi6pk = :upk, gsi6sk = :usk")
                        .condition_expression(
                            "attribute_exists(pk) AND attribute_not_exists(gsi6pk) AND #status = :status",
                        )
                        .expression_attribute_names("#status", "status")
                        .expression_attribute_values(":status", s(status.as_str()))
                        .expression_attribute_values(
                            ":upk",
                            s(unused_pk(get_s(item, "workspace_id")?, status)),
                        )
                        .expression_attribute_values(
                            ":usk",
                            s(unused_sk(last.map(String::as_str), id)),
                        )
                        .send()
                        .await;
                    if applied(outcome)? {
                        report.last_use += 1;
                    } else {
                        report.skipped += 1;
                    }
                }
                if sk == "APIKEY" && !item.contains_key("gsi3pk") {
                    let outcome = self
                        .client
                        .update_item()
                        .table_name(&self.table)
                        .set_key(Some(key_of(item)?))
                        .update_expression("SET gsi3pk = :pk, gsi3sk = :sk REMOVE gsi1pk, gsi1sk")
                        .condition_expression(
                            "attribute_exists(pk) AND attribute_not_exists(gsi3pk)",
                        )
                        .expression_attribute_values(
                            ":pk",
                            s(workspace_pk(get_s(item, "workspace_id")?)),
                        )
                        .expression_attribute_values(":sk", s(get_s(item, "key_id")?))
                        .send()
                        .await;
                    if applied(outcome)? {
                        report.api_keys += 1;
                    } else {
                        report.skipped += 1;
                    }
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        keys.retain(|(id, _, _)| !have_id_items.contains(id));
        report.key_ids = self.add_missing_key_id_items(&keys).await?;
        Ok(report)
    }

    /// Credentials written before `visible_fields` existed (no stored list) that show
    /// undeclared fields: the candidates of `credentials-admin migrate --seal-undeclared`.
    /// A `Scan`, like the rest of this module.
    pub async fn credentials_showing_undeclared_fields(
        &self,
    ) -> Result<Vec<StoredCredential>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable("Scan", &e.into_service_error()))?;
            for item in page.items() {
                if !get_s(item, "sk")?.starts_with("CRED#") || item.contains_key("visible_fields") {
                    continue;
                }
                let credential = decode_credential(item)?;
                let shows = credential
                    .config
                    .keys()
                    .any(|k| schema::declared(credential.kind, k).is_none());
                if shows {
                    found.push(credential);
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(found),
            }
        }
    }
}
