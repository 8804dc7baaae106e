//! Keeps the emulator's table small between timed rounds. moto's queries slow down as items
//! pile up (every query, of an index or the table, walks and sorts every item of the
//! table), which a real table's do
//! not, so a run that grows the table would make each phase slower than the one before. Partitions that a measurement wrote and no later request
//! reads (audit events, the raw calls' throwaway items) are cut back here, untimed.

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};

use crate::stack::Stack;
use crate::Error;

/// Deletes the items of partition `pk` but its `keep` newest (highest sort keys: audit
/// events sort by ULID); returns how many it deleted.
pub async fn partition(stack: &Stack, pk: &str, keep: usize) -> Result<usize, Error> {
    let dynamo = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let table = &stack.settings.table_name;
    let mut keys = Vec::new();
    let mut start = None;
    loop {
        let page = dynamo
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .projection_expression("pk, sk")
            .scan_index_forward(false)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        keys.extend(page.items.unwrap_or_default());
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    let doomed: Vec<_> = keys
        .into_iter()
        .skip(keep)
        .map(|key| {
            WriteRequest::builder()
                .delete_request(DeleteRequest::builder().set_key(Some(key)).build().unwrap())
                .build()
        })
        .collect();
    for chunk in doomed.chunks(25) {
        let mut pending = Some(chunk.to_vec());
        while let Some(requests) = pending.take().filter(|r| !r.is_empty()) {
            pending = dynamo
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await?
                .unprocessed_items
                .and_then(|mut m| m.remove(table));
        }
    }
    Ok(doomed.len())
}
