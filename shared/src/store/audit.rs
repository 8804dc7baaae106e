//! Audit events: written with the change they describe (as one more item of its
//! transaction), or alone before a resolve answers. Their own partitions, so IAM can tell
//! them from credentials by leading key: a workspace's events are spread over
//! [`AUDIT_SHARDS`] partitions (`AUDIT#<ws>`, then `AUDIT#<ws>#1` … `#7`, chosen by the
//! event id) so that no partition takes more than an eighth of a busy workspace's writes;
//! the audit list reads them concurrently and merges them newest first. A credential's
//! events are also in the per-credential index (one partition per credential).

use std::collections::{HashMap, VecDeque};

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue as Av, Put};

use super::codec::{get_n, get_opt_s, get_s, n, s, Item};
use super::table::{GSI_AUDIT_BY_CREDENTIAL, TTL_ATTRIBUTE};
use super::{unavailable, Store, StoreError, MAX_QUERIES_PER_PAGE};
use crate::audit::{Action, Actor, AuditEvent, CallerAsserted, RequestInfo};

/// Partitions a workspace's events are spread over (see the arithmetic in
/// `docs/usage.md`). Shard 0 is `AUDIT#<ws>`, where every event was written before
/// sharding, so those stay readable.
pub const AUDIT_SHARDS: usize = 8;

/// The partition of a workspace's events of one shard (workspace ids never hold `#`, so
/// no two workspaces' partitions can be spelled alike).
fn shard_pk(workspace_id: &str, shard: usize) -> String {
    match shard {
        0 => format!("AUDIT#{workspace_id}"),
        k => format!("AUDIT#{workspace_id}#{k}"),
    }
}

/// Every partition of a workspace's events (benchmarks trim them).
pub fn audit_partitions(workspace_id: &str) -> Vec<String> {
    (0..AUDIT_SHARDS)
        .map(|k| shard_pk(workspace_id, k))
        .collect()
}

/// The ids' alphabet (lowercase Crockford base32): 32 letters, 4 per shard.
const ID_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The partition an event is written to: by the last character of its id (random), so a
/// workspace's events spread evenly and an event's place never changes.
pub fn audit_pk(workspace_id: &str, event_id: &str) -> String {
    let last = event_id.bytes().last().unwrap_or(b'0');
    let position = ID_ALPHABET.iter().position(|&c| c == last).unwrap_or(0);
    shard_pk(workspace_id, position % AUDIT_SHARDS)
}

fn credential_events_pk(workspace_id: &str, credential_id: &str) -> String {
    format!("AUDIT#{workspace_id}#{credential_id}")
}

fn event_sk(event_id: &str) -> String {
    format!("EVT#{event_id}")
}

pub fn encode_event(event: &AuditEvent) -> Item {
    let mut item: Item = HashMap::from([
        ("pk".to_owned(), s(audit_pk(&event.workspace_id, &event.id))),
        ("sk".to_owned(), s(event_sk(&event.id))),
        ("id".to_owned(), s(&event.id)),
        ("workspace_id".to_owned(), s(&event.workspace_id)),
        ("at".to_owned(), s(&event.at)),
        ("action".to_owned(), s(event.action.as_str())),
        (
            "changes".to_owned(),
            Av::L(event.changes.iter().map(s).collect()),
        ),
        (TTL_ATTRIBUTE.to_owned(), n(event.expires_at)),
    ]);
    match &event.actor {
        Actor::ApiKey(id) => {
            item.insert("actor_type".into(), s("api_key"));
            item.insert("actor_id".into(), s(id));
        }
        Actor::Admin => {
            item.insert("actor_type".into(), s("admin"));
        }
        Actor::Scheduler => {
            item.insert("actor_type".into(), s("scheduler"));
        }
    }
    if let Some(id) = &event.credential_id {
        item.insert("credential_id".into(), s(id));
        item.insert(
            "gsi4pk".into(),
            s(credential_events_pk(&event.workspace_id, id)),
        );
        item.insert("gsi4sk".into(), s(event_sk(&event.id)));
    }
    let optional = [
        ("credential_name", &event.credential_name),
        ("key_id", &event.key_id),
        ("lambda_request_id", &event.request.lambda_request_id),
        // Stored under the names earlier versions used for the same event-reported values.
        ("request_id", &event.request.caller_asserted.request_id),
        ("source_ip", &event.request.caller_asserted.source_ip),
        ("user_agent", &event.request.caller_asserted.user_agent),
        ("purpose", &event.purpose),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.into(), s(value));
        }
    }
    if let Some(version) = event.version {
        item.insert("version".into(), n(version));
    }
    if let Some(version) = event.secret_version {
        item.insert("secret_version".into(), n(version));
    }
    if event.forced {
        item.insert("forced".into(), Av::Bool(true));
    }
    item
}

pub fn decode_event(item: &Item) -> Result<AuditEvent, StoreError> {
    let actor = match get_s(item, "actor_type")? {
        "api_key" => Actor::ApiKey(get_s(item, "actor_id")?.to_owned()),
        "admin" => Actor::Admin,
        "scheduler" => Actor::Scheduler,
        _ => return Err(StoreError::Corrupt),
    };
    let changes = item
        .get("changes")
        .and_then(|v| v.as_l().ok())
        .ok_or(StoreError::Corrupt)?
        .iter()
        .map(|v| v.as_s().cloned().map_err(|_| StoreError::Corrupt))
        .collect::<Result<_, _>>()?;
    Ok(AuditEvent {
        workspace_id: get_s(item, "workspace_id")?.to_owned(),
        id: get_s(item, "id")?.to_owned(),
        at: get_s(item, "at")?.to_owned(),
        action: Action::parse(get_s(item, "action")?).ok_or(StoreError::Corrupt)?,
        credential_id: get_opt_s(item, "credential_id"),
        credential_name: get_opt_s(item, "credential_name"),
        key_id: get_opt_s(item, "key_id"),
        version: item
            .get("version")
            .map(|_| get_n(item, "version"))
            .transpose()?,
        actor,
        request: RequestInfo {
            lambda_request_id: get_opt_s(item, "lambda_request_id"),
            caller_asserted: CallerAsserted {
                request_id: get_opt_s(item, "request_id"),
                source_ip: get_opt_s(item, "source_ip"),
                user_agent: get_opt_s(item, "user_agent"),
            },
        },
        purpose: get_opt_s(item, "purpose"),
        secret_version: item
            .get("secret_version")
            .map(|_| get_n(item, "secret_version"))
            .transpose()?,
        changes,
        forced: item.get("forced").is_some_and(|v| v.as_bool() == Ok(&true)),
        expires_at: get_n(item, TTL_ATTRIBUTE)?,
    })
}

/// What an audit list filters on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub credential_id: Option<String>,
    pub action: Option<Action>,
}

/// A page of audit events, newest first.
pub struct EventPage {
    pub events: Vec<AuditEvent>,
    /// The id to continue after, when more may follow.
    pub next_after: Option<String>,
}

impl Store {
    /// The append of one event: it may not replace anything.
    pub(super) fn event_put(&self, event: &AuditEvent) -> Put {
        self.put(encode_event(event), "attribute_not_exists(pk)", None)
    }

    /// Writes one event on its own (a resolve's, before the secrets are opened).
    pub async fn put_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode_event(event)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| match e.into_service_error() {
                // Event ids are fresh: an existing one is this call's own earlier attempt,
                // whose answer was lost. Whether it landed is known, but not to this caller.
                PutItemError::ConditionalCheckFailedException(_) => StoreError::OutcomeUnknown,
                other => unavailable("PutItem", &other),
            })?;
        Ok(())
    }

    /// A page of a workspace's events, newest first: a `Query` on each of the workspace's
    /// audit partitions (concurrently) merged by event id, or on the per-credential index
    /// when filtered by credential; an action filter is a filter expression on those
    /// queries. At most `MAX_QUERIES_PER_PAGE` rounds of queries: a page cut short by that
    /// bound (a rare action) carries a cursor after the last event that all partitions
    /// have been read past, so it may be short or even empty with more to come.
    pub async fn list_events(
        &self,
        workspace_id: &str,
        filter: &EventFilter,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<EventPage, StoreError> {
        let (index, pk_attr, sk_attr, partitions) = match &filter.credential_id {
            None => (None, "pk", "sk", audit_partitions(workspace_id)),
            Some(id) => (
                Some(GSI_AUDIT_BY_CREDENTIAL),
                "gsi4pk",
                "gsi4sk",
                vec![credential_events_pk(workspace_id, id)],
            ),
        };
        let query = EventQuery {
            index,
            pk_attr,
            sk_attr,
            action: filter.action,
            // BETWEEN is inclusive: the event the cursor names may come back and is skipped.
            high: match after_id {
                Some(id) => event_sk(id),
                None => "EVT#~".to_owned(),
            },
            page: limit + 2,
        };
        let mut reads: Vec<PartitionRead> = partitions
            .into_iter()
            .map(|pk| PartitionRead {
                pk,
                buffer: VecDeque::new(),
                start_key: None,
                exhausted: false,
                read_past: None,
            })
            .collect();
        let mut events = Vec::with_capacity(limit + 1);
        let mut rounds = 0;
        loop {
            // The newest event still to come may be in a partition with nothing buffered:
            // read every such partition once more (all of them, the first time).
            let waiting: Vec<usize> = (0..reads.len())
                .filter(|&i| reads[i].buffer.is_empty() && !reads[i].exhausted)
                .collect();
            if !waiting.is_empty() {
                if rounds == MAX_QUERIES_PER_PAGE {
                    // Cut short: continue after what every waiting partition was read past
                    // (everything newer was returned or is in a buffer, read again later).
                    let next_after = waiting
                        .iter()
                        .filter_map(|&i| reads[i].read_past.clone())
                        .max();
                    return Ok(EventPage { events, next_after });
                }
                rounds += 1;
                let pages = futures_util::future::join_all(
                    waiting
                        .iter()
                        .map(|&i| self.query_events(&query, &reads[i])),
                )
                .await;
                for (&i, page) in waiting.iter().zip(pages) {
                    let (items, last_key) = page?;
                    let read = &mut reads[i];
                    for item in &items {
                        let event = decode_event(item)?;
                        if Some(event.id.as_str()) != after_id {
                            read.buffer.push_back(event);
                        }
                    }
                    match last_key {
                        Some(key) if !key.is_empty() => {
                            read.read_past = key
                                .get(sk_attr)
                                .and_then(|v| v.as_s().ok())
                                .and_then(|sk| sk.strip_prefix("EVT#"))
                                .map(str::to_owned);
                            read.start_key = Some(key);
                        }
                        _ => read.exhausted = true,
                    }
                }
            }
            // Take the newest buffered event while nothing unread can be newer.
            loop {
                // `None`: nothing unread anywhere; `Some(None)`: a partition not read past
                // anything yet (it blocks every event); else the newest read-past point.
                let mut blocking: Option<Option<&str>> = None;
                for read in reads.iter().filter(|r| r.buffer.is_empty() && !r.exhausted) {
                    blocking = Some(match (blocking, read.read_past.as_deref()) {
                        (Some(None), _) | (_, None) => None,
                        (Some(Some(a)), Some(b)) => Some(a.max(b)),
                        (None, Some(b)) => Some(b),
                    });
                }
                let newest = (0..reads.len())
                    .filter(|&i| !reads[i].buffer.is_empty())
                    .max_by(|&a, &b| reads[a].buffer[0].id.cmp(&reads[b].buffer[0].id));
                let Some(i) = newest else {
                    if blocking.is_none() {
                        // Every partition read to its end.
                        return Ok(EventPage {
                            events,
                            next_after: None,
                        });
                    }
                    break;
                };
                if let Some(past) = blocking {
                    if past.is_none_or(|past| reads[i].buffer[0].id.as_str() <= past) {
                        break;
                    }
                }
                let event = reads[i].buffer.pop_front().expect("not empty");
                events.push(event);
                if events.len() > limit {
                    events.truncate(limit);
                    let next_after = events.last().map(|e| e.id.clone());
                    return Ok(EventPage { events, next_after });
                }
            }
        }
    }

    /// One page of one partition's events (newest first), from where its last page ended.
    async fn query_events(
        &self,
        query: &EventQuery,
        read: &PartitionRead,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(query.index.map(str::to_owned))
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#pk", query.pk_attr)
            .expression_attribute_names("#sk", query.sk_attr)
            .expression_attribute_values(":pk", s(&read.pk))
            .expression_attribute_values(":low", s("EVT#"))
            .expression_attribute_values(":high", s(&query.high))
            .scan_index_forward(false)
            .limit(query.page as i32)
            .set_exclusive_start_key(read.start_key.clone());
        if let Some(action) = query.action {
            request = request
                .filter_expression("#action = :action")
                .expression_attribute_names("#action", "action")
                .expression_attribute_values(":action", s(action.as_str()));
        }
        let output = request
            .send()
            .await
            .map_err(|e| unavailable("Query", &e.into_service_error()))?;
        Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
    }
}

/// What every partition of one audit list is queried with.
struct EventQuery {
    index: Option<&'static str>,
    pk_attr: &'static str,
    sk_attr: &'static str,
    action: Option<Action>,
    high: String,
    page: usize,
}

/// Where the read of one partition stands.
struct PartitionRead {
    pk: String,
    /// Read, not yet returned, newest first.
    buffer: VecDeque<AuditEvent>,
    start_key: Option<Item>,
    /// Read to its end.
    exhausted: bool,
    /// The event id its reads have passed (returned or filtered out): anything it still
    /// holds is older.
    read_past: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shard_gets_four_of_the_32_last_characters() {
        let mut counts = HashMap::new();
        for &c in ID_ALPHABET {
            let id = format!("evt_0000000000000000000000000{}", c as char);
            *counts.entry(audit_pk("ws", &id)).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), AUDIT_SHARDS);
        assert!(counts.values().all(|&n| n == 4), "{counts:?}");
        assert_eq!(
            audit_pk("ws", "evt_x0"),
            "AUDIT#ws",
            "shard 0 is the old partition"
        );
        assert_eq!(audit_partitions("ws")[7], "AUDIT#ws#7");
    }
}
