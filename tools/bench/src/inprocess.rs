//! In-process overhead: each handler called directly with its `events/` event (the API key
//! cached), on the bench stack's `AppState`, against the raw SDK calls it makes, on the same
//! SDK configuration and HTTP client. No HTTP hop on either side, so the ratio is the
//! service's own work: auth, validation, decoding, rendering (the bench installs no tracing
//! subscriber, so log lines cost nothing here).
//!
//! The two are interleaved (raw then handler, then handler then raw, …) on items of the same
//! shape in the same table: the emulator's latency drifts as its table grows (see
//! `trim.rs`), so a baseline timed at another point of the run would compare two table
//! sizes rather than the service with its calls.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_kms::primitives::Blob;
use credentials_core::clock::rfc3339;
use credentials_core::crypto::encryption_context;
use credentials_core::domain::{CredentialType, Status};
use credentials_core::http::{self, function::event_request, Route};
use credentials_core::store::{
    audit_partitions, credential_key, encode_credential, status_sk, type_pk, workspace_pk,
    GSI_BY_TYPE,
};
use test_harness::events::aimed;
use test_harness::unique;

use crate::cold_start::event_file;
use crate::items::active_credential;
use crate::server::Client;
use crate::stack::{Stack, WORKSPACE};
use crate::stats::{stats, Stats};
use crate::warm::EVENTS_KEPT;
use crate::{trim, Error};

/// Credentials deleted and restored in turn (each call a real transition), per side; and
/// calls between two cuts of the audit events.
const ROUND: usize = 25;

/// The page size `events/list-credentials.json` asks for (`limit=20&type=database`).
const LIST_EVENT_LIMIT: usize = 20;

/// One route's handler timing and the timing of its raw calls, taken in turn.
pub struct InProcess {
    pub route: Route,
    pub handler: Stats,
    /// Per sample, the raw calls' durations summed.
    pub raw: Stats,
}

/// `requests` handler calls and as many raw rounds each for get, list and resolve; for soft
/// delete and restore, at least `requests`, in rounds of [`ROUND`].
pub async fn measure(
    stack: &Stack,
    client: &mut Client,
    fixed_id: &str,
    requests: usize,
) -> Result<Vec<InProcess>, Error> {
    eprintln!("in-process handlers ({requests} calls per route, each next to its raw calls)…");
    if !event_file(Route::List).contains(&format!("limit={LIST_EVENT_LIMIT}&type=database")) {
        return Err("events/list-credentials.json changed: make Raw::list ask the same".into());
    }
    let raw = Raw::new(stack, fixed_id).await?;
    let mut out = Vec::new();
    for route in [Route::Get, Route::List, Route::Resolve] {
        let event = aimed(&event_file(route), &stack.key, fixed_id).to_string();
        call(stack, route, &event).await?; // the key is cached from here on
        let (mut handler, mut baseline) = (Vec::new(), Vec::new());
        for i in 0..requests {
            if i % ROUND == 0 {
                raw.trim(stack).await?;
            }
            let raw_round = async {
                match route {
                    Route::Get => raw.get(fixed_id).await.map(|_| ()),
                    Route::List => raw.list().await,
                    _ => raw.resolve(i).await,
                }
            };
            let (raw_took, handler_took) =
                in_turn(i, raw_round, call(stack, route, &event)).await?;
            baseline.push(raw_took);
            handler.push(handler_took);
        }
        out.push(InProcess {
            route,
            handler: stats(handler),
            raw: stats(baseline),
        });
    }

    // Two sets of credentials made alike: the handlers move one, the raw calls the other.
    let mut served = Vec::with_capacity(ROUND);
    let mut bare = Vec::with_capacity(ROUND);
    for _ in 0..ROUND.min(requests) {
        served.push(client.create(&unique("inproc")).await?.1);
        bare.push(client.create(&unique("inproc")).await?.1);
    }
    let (mut deletes, mut restores) = (Vec::new(), Vec::new());
    let (mut raw_deletes, mut raw_restores) = (Vec::new(), Vec::new());
    let mut i = 0;
    while deletes.len() < requests {
        for (route, to, samples, raw_samples) in [
            (
                Route::SoftDelete,
                Status::Deleted,
                &mut deletes,
                &mut raw_deletes,
            ),
            (
                Route::Restore,
                Status::Active,
                &mut restores,
                &mut raw_restores,
            ),
        ] {
            raw.trim(stack).await?;
            for (id, bare_id) in served.iter().zip(&bare) {
                let event = aimed(&event_file(route), &stack.key, id).to_string();
                let raw_round = raw.move_status(bare_id, to, i);
                let (raw_took, handler_took) =
                    in_turn(i, raw_round, call(stack, route, &event)).await?;
                raw_samples.push(raw_took);
                samples.push(handler_took);
                i += 1;
            }
        }
    }
    out.push(InProcess {
        route: Route::SoftDelete,
        handler: stats(deletes),
        raw: stats(raw_deletes),
    });
    out.push(InProcess {
        route: Route::Restore,
        handler: stats(restores),
        raw: stats(raw_restores),
    });
    Ok(out)
}

/// One handler call with `event`; its duration, if it answered 2xx.
async fn call(stack: &Stack, route: Route, event: &str) -> Result<Duration, Error> {
    let req = event_request(event).ok_or("an events/ file is not an HTTP API event")?;
    let state = &stack.state;
    let started = Instant::now();
    let answered = match route {
        Route::Get => http::get_credential(state, req).await,
        Route::List => http::list_credentials(state, req).await,
        Route::SoftDelete => http::delete_credential(state, req).await,
        Route::Restore => http::restore_credential(state, req).await,
        Route::Resolve => http::resolve_credential(state, req).await,
        other => return Err(format!("{} is not measured in process", other.name()).into()),
    };
    let Ok(response) = answered;
    let took = started.elapsed();
    if !response.status().is_success() {
        return Err(format!("{}: {}", route.name(), response.status()).into());
    }
    Ok(took)
}

/// Times a raw round and a handler call one after the other, the raw round first when `i`
/// is even: neither side always runs on the connection the other just used.
async fn in_turn(
    i: usize,
    raw_round: impl std::future::Future<Output = Result<(), Error>>,
    handler_call: impl std::future::Future<Output = Result<Duration, Error>>,
) -> Result<(Duration, Duration), Error> {
    if i.is_multiple_of(2) {
        let raw = timed(raw_round).await?;
        Ok((raw, handler_call.await?))
    } else {
        let handler = handler_call.await?;
        Ok((timed(raw_round).await?, handler))
    }
}

async fn timed(
    round: impl std::future::Future<Output = Result<(), Error>>,
) -> Result<Duration, Error> {
    let started = Instant::now();
    round.await?;
    Ok(started.elapsed())
}

/// The raw calls each measured handler makes, shaped like the store's (keys from its codec,
/// the same expressions and encryption context). The store's audit codec is private to it,
/// so an audit event is written as a credential-shaped item of a workspace of its own.
struct Raw {
    dynamo: aws_sdk_dynamodb::Client,
    kms: aws_sdk_kms::Client,
    table: String,
    key_id: String,
    /// A data key wrapped under the credential's encryption context, as resolve opens.
    wrapped: Blob,
    fixed_id: String,
    events_workspace: String,
}

impl Raw {
    async fn new(stack: &Stack, fixed_id: &str) -> Result<Self, Error> {
        let kms = aws_sdk_kms::Client::new(&stack.sdk);
        let key_id = stack.settings.kms_key_id.clone().unwrap_or_default();
        let mut generate = kms
            .generate_data_key()
            .key_id(&key_id)
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256);
        for (k, v) in encryption_context(WORKSPACE, fixed_id) {
            generate = generate.encryption_context(k, v);
        }
        let wrapped = generate
            .send()
            .await?
            .ciphertext_blob
            .ok_or("GenerateDataKey returned no ciphertext")?;
        Ok(Self {
            dynamo: aws_sdk_dynamodb::Client::new(&stack.sdk),
            kms,
            table: stack.settings.table_name.clone(),
            key_id,
            wrapped,
            fixed_id: fixed_id.to_owned(),
            events_workspace: unique("raw-events"),
        })
    }

    /// Cuts back the audit events that resolve, delete and restore write (the handlers' and
    /// the raw calls' alike): see `trim`.
    async fn trim(&self, stack: &Stack) -> Result<(), Error> {
        for partition in audit_partitions(WORKSPACE) {
            trim::partition(stack, &partition, EVENTS_KEPT).await?;
        }
        trim::partition(stack, &workspace_pk(&self.events_workspace), 0).await?;
        Ok(())
    }

    /// As `Store::get_credential`: the item's version.
    async fn get(&self, id: &str) -> Result<u64, Error> {
        let item = self
            .dynamo
            .get_item()
            .table_name(&self.table)
            .set_key(Some(credential_key(WORKSPACE, id)))
            .consistent_read(true)
            .send()
            .await?
            .item
            .ok_or("the credential is gone")?;
        let version = item
            .get("version")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .ok_or("the item has no version")?;
        Ok(version)
    }

    /// As `Store::list_credentials` for the first page `events/list-credentials.json` asks
    /// for: active database credentials, [`LIST_EVENT_LIMIT`] of them.
    async fn list(&self) -> Result<(), Error> {
        self.dynamo
            .query()
            .table_name(&self.table)
            .index_name(GSI_BY_TYPE)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#pk", "gsi2pk")
            .expression_attribute_names("#sk", "gsi2sk")
            .expression_attribute_values(":pk", s(type_pk(WORKSPACE, CredentialType::Database)))
            .expression_attribute_values(":low", s(status_sk(Status::Active, "")))
            .expression_attribute_values(":high", s(status_sk(Status::Active, "~")))
            .scan_index_forward(false)
            .limit((LIST_EVENT_LIMIT + 2) as i32)
            .send()
            .await?;
        Ok(())
    }

    /// An audit event's item (the `i`th of this run).
    fn event_item(&self, i: usize) -> HashMap<String, AttributeValue> {
        let item = active_credential(
            &self.events_workspace,
            format!("e-{i}"),
            &rfc3339(std::time::SystemTime::now()),
        );
        encode_credential(&item)
    }

    /// An audit event's conditional put, in a transaction.
    fn event_put(&self, i: usize) -> Put {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.event_item(i)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table, item and condition are set")
    }

    /// As resolve: read the credential, write its audit event, open its data key.
    async fn resolve(&self, i: usize) -> Result<(), Error> {
        self.get(&self.fixed_id).await?;
        self.dynamo
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.event_item(i)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await?;
        let mut decrypt = self
            .kms
            .decrypt()
            .key_id(&self.key_id)
            .ciphertext_blob(self.wrapped.clone());
        for (k, v) in encryption_context(WORKSPACE, &self.fixed_id) {
            decrypt = decrypt.encryption_context(k, v);
        }
        decrypt.send().await?;
        Ok(())
    }

    /// As soft delete and restore: read the credential, then one transaction of the status
    /// update (conditioned on the status and version read) and the audit event's put.
    async fn move_status(&self, id: &str, to: Status, i: usize) -> Result<(), Error> {
        let version = self.get(id).await?;
        let from = match to {
            Status::Active => Status::Deleted,
            Status::Deleted => Status::Active,
        };
        let now = rfc3339(std::time::SystemTime::now());
        let set = "#status = :to, gsi1sk = :sk, gsi2sk = :sk, updated_at = :now, version = :next";
        let expression = match to {
            Status::Deleted => format!("SET {set}, deleted_at = :now"),
            Status::Active => format!("SET {set} REMOVE deleted_at"),
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(credential_key(WORKSPACE, id)))
            .update_expression(expression)
            .condition_expression("attribute_exists(pk) AND #status = :from AND version = :version")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":sk", s(status_sk(to, id)))
            .expression_attribute_values(":now", s(&now))
            .expression_attribute_values(":version", n(version))
            .expression_attribute_values(":next", n(version + 1))
            .build()
            .expect("table, key and expressions are set");
        self.dynamo
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().put(self.event_put(i)).build())
            .send()
            .await?;
        Ok(())
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
