//! One-off migration of items written by earlier versions, for `credentials-admin migrate`:
//! credentials get the `secret_fields` attribute the list indexes now project, API keys
//! move from the status index to their own (`gsi3`). Idempotent: items already in the
//! current shape are left alone. It reads the table with `Scan`, the one place that does:
//! an operator's maintenance command, never a request path.

use aws_sdk_dynamodb::types::AttributeValue as Av;

use super::codec::{get_s, s, Item};
use super::{unavailable, workspace_pk, Store, StoreError};

/// What a migration changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    pub credentials: usize,
    pub api_keys: usize,
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
                if sk.starts_with("CRED#") && !item.contains_key("secret_fields") {
                    let names: Vec<Av> = match item.get("secrets") {
                        Some(Av::M(map)) => map.keys().map(s).collect(),
                        _ => Vec::new(),
                    };
                    self.client
                        .update_item()
                        .table_name(&self.table)
                        .set_key(Some(key_of(item)?))
                        .update_expression("SET secret_fields = :names")
                        .condition_expression("attribute_exists(pk)")
                        .expression_attribute_values(":names", Av::L(names))
                        .send()
                        .await
                        .map_err(|e| unavailable("UpdateItem", &e.into_service_error()))?;
                    report.credentials += 1;
                } else if sk == "APIKEY" && !item.contains_key("gsi3pk") {
                    self.client
                        .update_item()
                        .table_name(&self.table)
                        .set_key(Some(key_of(item)?))
                        .update_expression("SET gsi3pk = :pk, gsi3sk = :sk REMOVE gsi1pk, gsi1sk")
                        .condition_expression("attribute_exists(pk)")
                        .expression_attribute_values(
                            ":pk",
                            s(workspace_pk(get_s(item, "workspace_id")?)),
                        )
                        .expression_attribute_values(":sk", s(get_s(item, "key_id")?))
                        .send()
                        .await
                        .map_err(|e| unavailable("UpdateItem", &e.into_service_error()))?;
                    report.api_keys += 1;
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(report),
            }
        }
    }
}
