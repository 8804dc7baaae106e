//! List at scale: page latency through the local server, and Query calls per page, in a
//! workspace of [`SCALE_SMALL`] credentials and in one of many more.

use std::net::SocketAddr;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use credentials_core::auth::Scope;
use credentials_core::clock::rfc3339;
use credentials_core::clock::WallClock;
use credentials_core::cursor::ListFilter;
use credentials_core::domain::Status;
use credentials_core::service::api_keys;
use credentials_core::store::{encode_credential, Store};
use secrecy::ExposeSecret;
use test_harness::calls::CallLog;
use test_harness::unique;

use crate::items::active_credential;
use crate::server::Client;
use crate::stack::Stack;
use crate::stats::stats;
use crate::{Error, PAGE};

pub const SCALE_SMALL: usize = 100;

/// Figures of one workspace.
pub struct Scale {
    /// Median page latency, in ms.
    pub page_ms: f64,
    /// Query calls per page.
    pub calls_per_page: f64,
    /// Scan calls in the whole walk (the store never scans).
    pub scans: usize,
}

pub struct ListScale {
    /// [`SCALE_SMALL`] credentials.
    pub small: Scale,
    /// `scale_large` credentials.
    pub large: Scale,
}

/// Fills a workspace of [`SCALE_SMALL`] credentials and one of `scale_large`, then walks
/// their first pages (2 and 20 of them) through the server at `server`.
pub async fn measure(
    stack: &Stack,
    server: SocketAddr,
    scale_large: usize,
) -> Result<ListScale, Error> {
    eprintln!("list at scale ({SCALE_SMALL} and {scale_large} credentials)…");
    let small = unique("scale-small");
    let large = unique("scale-large");
    fill_workspace(stack, &small, SCALE_SMALL).await?;
    fill_workspace(stack, &large, scale_large).await?;
    Ok(ListScale {
        small: walk(stack, server, &small, 2).await?,
        large: walk(stack, server, &large, 20).await?,
    })
}

/// Writes `count` credentials straight into the table (BatchWriteItem, 25 at a time): the
/// list benchmark needs many items, not many creates.
async fn fill_workspace(stack: &Stack, workspace: &str, count: usize) -> Result<(), Error> {
    let dynamo = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let now = rfc3339(std::time::SystemTime::now());
    let items: Vec<_> = (0..count)
        .map(|i| {
            let credential = active_credential(workspace, format!("scale-{i}"), &now);
            WriteRequest::builder()
                .put_request(
                    PutRequest::builder()
                        .set_item(Some(encode_credential(&credential)))
                        .build()
                        .unwrap(),
                )
                .build()
        })
        .collect();
    for chunk in items.chunks(25) {
        let mut pending = Some(chunk.to_vec());
        while let Some(requests) = pending.take().filter(|r| !r.is_empty()) {
            let output = dynamo
                .batch_write_item()
                .request_items(&stack.settings.table_name, requests)
                .send()
                .await?;
            pending = output
                .unprocessed_items
                .and_then(|mut m| m.remove(&stack.settings.table_name));
        }
    }
    Ok(())
}

/// Median page latency through the local server over `pages` pages (three walks), and
/// Query calls per page measured in-process through the same store code.
async fn walk(
    stack: &Stack,
    server: SocketAddr,
    workspace: &str,
    pages: usize,
) -> Result<Scale, Error> {
    let key = api_keys::mint(
        &stack.state.store,
        &WallClock,
        workspace,
        &[Scope::Read],
        "bench",
        credentials_core::audit::default_retention(),
    )
    .await
    .map_err(|e| format!("{e:?}"))?;
    let mut client = Client::connect(server, key.key.expose_secret()).await?;
    let mut samples = Vec::new();
    for _ in 0..3 {
        let mut cursor: Option<String> = None;
        for _ in 0..pages {
            let path = match &cursor {
                Some(c) => format!("/api/credentials?limit={PAGE}&cursor={c}"),
                None => format!("/api/credentials?limit={PAGE}"),
            };
            let (elapsed, body) = client.timed("GET", &path, None, 200).await?;
            samples.push(elapsed);
            match body["meta"]["page"]["cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
    }
    let calls = CallLog::default();
    let counted = Store::new(
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&stack.sdk)
                .interceptor(calls.clone())
                .build(),
        ),
        &stack.settings.table_name,
    );
    let filter = ListFilter {
        status: Status::Active,
        kind: None,
        auth: None,
    };
    let mut after: Option<String> = None;
    let mut walked = 0;
    for _ in 0..pages {
        let page = counted
            .list_credentials(workspace, filter, after.as_deref(), PAGE)
            .await
            .map_err(|e| format!("{e:?}"))?;
        walked += 1;
        match page.resume_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let made = calls.take();
    let count = |op: &str| made.iter().filter(|c| c.as_str() == op).count();
    let (queries, scans) = (count("DynamoDB.Query"), count("DynamoDB.Scan"));
    Ok(Scale {
        page_ms: stats(samples).p50,
        calls_per_page: queries as f64 / walked as f64,
        scans,
    })
}
