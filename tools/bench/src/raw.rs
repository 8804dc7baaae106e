//! Raw SDK calls of the routes' call budgets, each timed on its own after the warm phase
//! against the same emulator: the floor each route's warm latency is compared with. Calls
//! are shaped like the service's (keys from the store's codec, the same expressions and
//! encryption context), but one figure stands for several routes: a two-put transaction for
//! every writing route's transaction (create's has three items, purge's deletes), and the
//! credentials list's Query for list-audit-events too. The in-process figures
//! (`inprocess.rs`) make each handler's own calls instead.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Instant;

use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use aws_sdk_kms::types::DataKeySpec;
use credentials_core::clock::rfc3339;
use credentials_core::crypto::encryption_context;
use credentials_core::domain::Status;
use credentials_core::http::Route;
use credentials_core::store::{
    credential_key, encode_credential, status_sk, workspace_pk, GSI_BY_STATUS,
};
use test_harness::unique;

use crate::items::active_credential;
use crate::stack::{Stack, WORKSPACE};
use crate::stats::{stats, Stats};
use crate::{trim, Error, PAGE};

/// The raw calls on each route's serial path once its key is cached (its call budget;
/// calls made concurrently count once).
pub fn baseline(route: Route) -> &'static [&'static str] {
    match route {
        Route::List => &["Query"],
        Route::Get => &["GetItem"],
        Route::Create => &["GenerateDataKey", "TransactWriteItems"],
        Route::Update => &["GetItem", "TransactWriteItems"],
        // The status change and its audit event are one transaction, after a read.
        Route::SoftDelete | Route::Restore => &["GetItem", "TransactWriteItems"],
        // The usage ledger's Queries (its partitions, concurrently) decide whether the
        // purge may go ahead.
        Route::Purge => &["GetItem", "Query", "TransactWriteItems"],
        Route::ListAuditEvents => &["Query"],
        // The usage ledger's UpdateItem runs alongside the Decrypt: not on the serial path.
        Route::Resolve => &["GetItem", "PutItem", "Decrypt"],
        // The credential and its ledger's partitions, read concurrently: one round trip.
        Route::GetUsage => &["Query"],
        Route::ListVersions => &["GetItem", "Query"],
        Route::StageVersion => &["GetItem", "GenerateDataKey", "TransactWriteItems"],
        // The credential, then the version item to promote or copy, then the transaction.
        Route::PromoteVersion | Route::RestoreVersion => {
            &["GetItem", "GetItem", "TransactWriteItems"]
        }
        Route::DestroyVersion => &["GetItem", "TransactWriteItems"],
    }
}

/// Each raw call timed `requests` times, by operation name. The reads and the update act
/// on `fixed_id`, a credential of the bench's workspace.
pub async fn measure(
    stack: &Stack,
    fixed_id: &str,
    requests: usize,
) -> Result<BTreeMap<&'static str, Stats>, Error> {
    let dynamo = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let kms = aws_sdk_kms::Client::new(&stack.sdk);
    let table = &stack.settings.table_name;
    let s = AttributeValue::S;
    let mut out = BTreeMap::new();

    // As `Store::get_credential`.
    let get = timed(requests, None, |_| {
        dynamo
            .get_item()
            .table_name(table)
            .set_key(Some(credential_key(WORKSPACE, fixed_id)))
            .consistent_read(true)
            .send()
    });
    out.insert("GetItem", get.await?);

    // As `Store::list_credentials` for a first page of active credentials: the sort key
    // bounds take in every `active#<id>`.
    let query = timed(requests, None, |_| {
        dynamo
            .query()
            .table_name(table)
            .index_name(GSI_BY_STATUS)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#pk", "gsi1pk")
            .expression_attribute_names("#sk", "gsi1sk")
            .expression_attribute_values(":pk", s(workspace_pk(WORKSPACE)))
            .expression_attribute_values(":low", s(status_sk(Status::Active, "")))
            .expression_attribute_values(":high", s(status_sk(Status::Active, "~")))
            .scan_index_forward(false)
            .limit((PAGE + 2) as i32)
            .send()
    });
    out.insert("Query", query.await?);

    // A conditional UpdateItem of the fixed credential (status, index keys, version; item
    // returned), from active to active so that it can repeat on one item. In no route's
    // baseline: reported under `raw` alone.
    let active = Status::Active.as_str();
    let update = timed(requests, None, |i| {
        dynamo
            .update_item()
            .table_name(table)
            .set_key(Some(credential_key(WORKSPACE, fixed_id)))
            .condition_expression("attribute_exists(pk) AND #status = :from")
            .update_expression(
                "SET #status = :to, gsi1sk = :sk, gsi2sk = :sk, updated_at = :now, \
                 version = version + :one REMOVE deleted_at",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":from", s(active.to_owned()))
            .expression_attribute_values(":to", s(active.to_owned()))
            .expression_attribute_values(":sk", s(status_sk(Status::Active, fixed_id)))
            .expression_attribute_values(":now", s(format!("2025-01-01T00:00:{:02}Z", i % 60)))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::AllNew)
            .send()
    });
    out.insert("UpdateItem", update.await?);

    // A two-put transaction, each put conditioned on its item not existing yet (create's
    // has three: name reservation, credential, audit event). The reservation and event
    // codecs are private to the store, so both are credentials, in a workspace of their own
    // where nothing lists them.
    let workspace = unique("raw");
    let now = rfc3339(std::time::SystemTime::now());
    let put = |name: String| {
        let item = encode_credential(&active_credential(&workspace, name, &now));
        let insert = Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .expect("table, item and condition are set");
        TransactWriteItem::builder().put(insert).build()
    };
    let grown = workspace_pk(&workspace);
    let transact = timed(requests, Some((stack, &grown)), |i| {
        dynamo
            .transact_write_items()
            .transact_items(put(format!("a-{i}")))
            .transact_items(put(format!("b-{i}")))
            .send()
    });
    out.insert("TransactWriteItems", transact.await?);
    trim::partition(stack, &grown, 0).await?;

    // As the encryptor sealing a credential's secrets.
    let key_id = stack.settings.kms_key_id.as_deref().unwrap_or_default();
    let generate = || {
        let mut request = kms
            .generate_data_key()
            .key_id(key_id)
            .key_spec(DataKeySpec::Aes256);
        for (k, v) in encryption_context(WORKSPACE, fixed_id) {
            request = request.encryption_context(k, v);
        }
        request
    };
    let data_key = timed(requests, None, |_| generate().send());
    out.insert("GenerateDataKey", data_key.await?);

    // As resolve's audit event: one conditional PutItem of a new item (a credential-shaped
    // item in a workspace of its own; the audit codec is private to the store).
    let event_workspace = unique("raw-events");
    let grown = workspace_pk(&event_workspace);
    let put_item = timed(requests, Some((stack, &grown)), |i| {
        dynamo
            .put_item()
            .table_name(table)
            .set_item(Some(encode_credential(&active_credential(
                &event_workspace,
                format!("e-{i}"),
                &now,
            ))))
            .condition_expression("attribute_not_exists(pk)")
            .send()
    });
    out.insert("PutItem", put_item.await?);

    // As resolve opening a credential's data key: Decrypt with its encryption context.
    let wrapped = generate()
        .send()
        .await?
        .ciphertext_blob
        .ok_or("GenerateDataKey returned no ciphertext")?;
    let decrypt = timed(requests, None, |_| {
        let mut request = kms
            .decrypt()
            .key_id(key_id)
            .ciphertext_blob(wrapped.clone());
        for (k, v) in encryption_context(WORKSPACE, fixed_id) {
            request = request.encryption_context(k, v);
        }
        request.send()
    });
    out.insert("Decrypt", decrypt.await?);
    trim::partition(stack, &grown, 0).await?;
    Ok(out)
}

/// Calls between two cuts of the partition a measurement grows.
const TRIM_EVERY: usize = 50;

/// Times `n` calls made by `call` (given the call's index), one after the other. `grows`:
/// the partition the calls add items to, emptied (untimed) every [`TRIM_EVERY`] calls.
async fn timed<F, Fut, T, E>(
    n: usize,
    grows: Option<(&Stack, &str)>,
    mut call: F,
) -> Result<Stats, Error>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Into<Error>,
{
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        if let Some((stack, pk)) = grows.filter(|_| i % TRIM_EVERY == 0) {
            trim::partition(stack, pk, 0).await?;
        }
        let started = Instant::now();
        call(i).await.map_err(Into::into)?;
        samples.push(started.elapsed());
    }
    Ok(stats(samples))
}
