//! Audit events: written with the change they describe (as one more item of its
//! transaction), or alone before a resolve answers. Their own partition (`AUDIT#<ws>`), so
//! IAM can tell them from credentials by leading key; a credential's events are also in
//! the per-credential index.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue as Av, Put};

use super::codec::{get_n, get_opt_s, get_s, n, s, Item};
use super::table::{GSI_AUDIT_BY_CREDENTIAL, TTL_ATTRIBUTE};
use super::{unavailable, Store, StoreError, MAX_QUERIES_PER_PAGE};
use crate::audit::{Action, Actor, AuditEvent, CallerAsserted, RequestInfo};

pub fn audit_pk(workspace_id: &str) -> String {
    format!("AUDIT#{workspace_id}")
}

fn credential_events_pk(workspace_id: &str, credential_id: &str) -> String {
    format!("AUDIT#{workspace_id}#{credential_id}")
}

fn event_sk(event_id: &str) -> String {
    format!("EVT#{event_id}")
}

pub fn encode_event(event: &AuditEvent) -> Item {
    let mut item: Item = HashMap::from([
        ("pk".to_owned(), s(audit_pk(&event.workspace_id))),
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

    /// A page of a workspace's events, newest first: a `Query` on the workspace's audit
    /// partition, or on the per-credential index when filtered by credential; an action
    /// filter is a filter expression on that query. At most `MAX_QUERIES_PER_PAGE` calls:
    /// a page cut short by that bound (a rare action) carries a cursor after the last event
    /// examined, so it may be short or even empty with more to come.
    pub async fn list_events(
        &self,
        workspace_id: &str,
        filter: &EventFilter,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<EventPage, StoreError> {
        let (index, pk_attr, sk_attr, partition) = match &filter.credential_id {
            None => (None, "pk", "sk", audit_pk(workspace_id)),
            Some(id) => (
                Some(GSI_AUDIT_BY_CREDENTIAL),
                "gsi4pk",
                "gsi4sk",
                credential_events_pk(workspace_id, id),
            ),
        };
        // BETWEEN is inclusive: the event the cursor names may come back and is skipped.
        let high = match after_id {
            Some(id) => event_sk(id),
            None => "EVT#~".to_owned(),
        };
        let mut events = Vec::with_capacity(limit + 1);
        let mut start_key = None;
        let mut last_examined: Option<String> = None;
        for _ in 0..MAX_QUERIES_PER_PAGE {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .set_index_name(index.map(str::to_owned))
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .expression_attribute_names("#pk", pk_attr)
                .expression_attribute_names("#sk", sk_attr)
                .expression_attribute_values(":pk", s(&partition))
                .expression_attribute_values(":low", s("EVT#"))
                .expression_attribute_values(":high", s(&high))
                .scan_index_forward(false)
                .limit((limit + 2) as i32)
                .set_exclusive_start_key(start_key.take());
            if let Some(action) = filter.action {
                query = query
                    .filter_expression("#action = :action")
                    .expression_attribute_names("#action", "action")
                    .expression_attribute_values(":action", s(action.as_str()));
            }
            let output = query
                .send()
                .await
                .map_err(|e| unavailable("Query", &e.into_service_error()))?;
            for item in output.items() {
                let event = decode_event(item)?;
                if Some(event.id.as_str()) != after_id {
                    events.push(event);
                }
            }
            if events.len() > limit {
                events.truncate(limit);
                let next_after = events.last().map(|e| e.id.clone());
                return Ok(EventPage { events, next_after });
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => {
                    last_examined = key
                        .get(sk_attr)
                        .and_then(|v| v.as_s().ok())
                        .and_then(|sk| sk.strip_prefix("EVT#"))
                        .map(str::to_owned);
                    start_key = Some(key);
                }
                _ => {
                    return Ok(EventPage {
                        events,
                        next_after: None,
                    })
                }
            }
        }
        // Cut short: continue after the last event examined (returned or filtered out).
        Ok(EventPage {
            next_after: last_examined.or_else(|| events.last().map(|e| e.id.clone())),
            events,
        })
    }
}
