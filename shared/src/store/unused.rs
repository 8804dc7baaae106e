//! The `unused_since` list: a `Query` on the last-use index (`gsi6`), whose partition is a
//! workspace's credentials of one status and whose sort key is when each was last resolved
//! (`0` for never, see `codec::use_stamp`), then its id.

use super::codec::{decode_listed, s, unused_pk};
use super::table::GSI_BY_LAST_USE;
use super::{unavailable, Page, Store, StoreError, MAX_QUERIES_PER_PAGE};
use crate::cursor::ListFilter;

impl Store {
    /// One page of the credentials not resolved at or after `before` (a `use_stamp`),
    /// never resolved first, then the longest unused; `after` is the index sort key the
    /// previous page ended with. Type and `auth_status` filters are applied to what the
    /// index returns (a filtered page may be short, even empty, and still carry a cursor,
    /// as in the other lists). `resume_after` is an index sort key.
    pub async fn list_unused(
        &self,
        workspace_id: &str,
        filter: ListFilter,
        before: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        // BETWEEN is inclusive: the item the cursor names may come back and is skipped;
        // every key at `before` itself is `<before>#<id>`, above the bound.
        let low = after.unwrap_or("0");
        let mut items = Vec::with_capacity(limit + 1);
        let mut start_key = None;
        let mut last_read = None;
        for _ in 0..MAX_QUERIES_PER_PAGE {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI_BY_LAST_USE)
                .key_condition_expression("gsi6pk = :pk AND gsi6sk BETWEEN :low AND :high")
                .expression_attribute_values(":pk", s(unused_pk(workspace_id, filter.status)))
                .expression_attribute_values(":low", s(low))
                .expression_attribute_values(":high", s(before))
                .limit((limit + 2) as i32)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| unavailable("Query", &e.into_service_error()))?;
            for item in output.items() {
                let sort_key = item
                    .get("gsi6sk")
                    .and_then(|v| v.as_s().ok())
                    .ok_or(StoreError::Corrupt)?;
                if Some(sort_key.as_str()) == after {
                    continue;
                }
                let credential = decode_listed(item)?;
                last_read = Some(sort_key.clone());
                let wanted = filter.kind.is_none_or(|k| k == credential.kind)
                    && filter.auth.is_none_or(|a| a == credential.auth_status);
                if wanted {
                    items.push((sort_key.clone(), credential));
                }
                if items.len() > limit {
                    items.truncate(limit);
                    let resume_after = items.last().map(|(key, _)| key.clone());
                    return Ok(Page {
                        items: items.into_iter().map(|(_, c)| c).collect(),
                        resume_after,
                    });
                }
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => {
                    return Ok(Page {
                        items: items.into_iter().map(|(_, c)| c).collect(),
                        resume_after: None,
                    })
                }
            }
        }
        Ok(Page {
            items: items.into_iter().map(|(_, c)| c).collect(),
            resume_after: last_read,
        })
    }
}
