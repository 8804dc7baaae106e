//! Warm latency per route through the local server: sequential requests on one keep-alive
//! connection, the API key cached.

use std::collections::HashMap;
use std::time::Duration;

use credentials_core::http::Route;
use credentials_core::store::audit_partitions;
use serde_json::json;
use test_harness::unique;

use crate::server::Client;
use crate::stack::{Stack, WORKSPACE};
use crate::stats::{stats, Stats};
use crate::{trim, Error, PAGE};

/// Credentials alive at once in the lifecycle rounds.
const ROUND: usize = 50;

/// Audit events kept when the workspace's are cut back: two pages of the list measured.
pub const EVENTS_KEPT: usize = 2 * PAGE;

/// `requests` timed requests per route; list, get and update act on `fixed_id`.
pub async fn measure(
    stack: &Stack,
    client: &mut Client,
    fixed_id: &str,
    requests: usize,
) -> Result<HashMap<Route, Stats>, Error> {
    eprintln!("warm latency ({requests} requests per route)…");
    let mut samples: HashMap<Route, Vec<Duration>> = Default::default();
    // moto's queries slow down as the table grows (see trim.rs): credentials are created,
    // deleted, restored and purged in small rounds, and the audit events they write are cut
    // back between rounds, so that the table stays about the same size throughout (as a real
    // table's cost would).
    let lifecycle = [
        (Route::SoftDelete, "DELETE", ""),
        (Route::Restore, "POST", "/restore"),
        (Route::Purge, "DELETE", "/permanent"),
    ];
    let mut done = 0;
    while done < requests {
        for partition in audit_partitions(WORKSPACE) {
            trim::partition(stack, &partition, EVENTS_KEPT).await?;
        }
        let round = ROUND.min(requests - done);
        let mut ids = Vec::with_capacity(round);
        for _ in 0..round {
            let (t, id) = client.create(&unique("warm")).await?;
            samples.entry(Route::Create).or_default().push(t);
            ids.push(id);
        }
        // Secret versions, as the example events use them: a new password seals 2; promote
        // 1; copy 2 forward as 3; destroy 2 (no longer labelled).
        let versions = [
            (Route::ListVersions, "GET", "/versions"),
            (Route::PromoteVersion, "POST", "/versions/1/promote"),
            (Route::RestoreVersion, "POST", "/versions/2/restore"),
            (Route::DestroyVersion, "DELETE", "/versions/2"),
        ];
        // (Not an `update` sample: sealing adds a GenerateDataKey the visible update, the
        // one measured, does not make.)
        for id in &ids {
            client.rotate(id, 0).await?;
        }
        for id in &ids {
            let path = format!("/api/credentials/{id}/versions");
            let body = json!({"config": {"password": "bench-password-staged"}});
            let (t, _) = client.timed("POST", &path, Some(&body), 201).await?;
            samples.entry(Route::StageVersion).or_default().push(t);
        }
        for (route, method, suffix) in versions.into_iter().chain(lifecycle) {
            for id in &ids {
                let path = format!("/api/credentials/{id}{suffix}");
                let (t, _) = client.timed(method, &path, None, 200).await?;
                samples.entry(route).or_default().push(t);
            }
        }
        done += round;
    }
    let one = format!("/api/credentials/{fixed_id}");
    let usage = format!("/api/credentials/{fixed_id}/usage");
    let list = format!("/api/credentials?limit={PAGE}");
    let events = format!("/api/audit-events?limit={PAGE}");
    for i in 0..requests {
        if i % ROUND == 0 {
            for partition in audit_partitions(WORKSPACE) {
                trim::partition(stack, &partition, EVENTS_KEPT).await?;
            }
        }
        samples
            .entry(Route::ListAuditEvents)
            .or_default()
            .push(client.timed("GET", &events, None, 200).await?.0);
        samples
            .entry(Route::List)
            .or_default()
            .push(client.timed("GET", &list, None, 200).await?.0);
        samples
            .entry(Route::Get)
            .or_default()
            .push(client.timed("GET", &one, None, 200).await?.0);
        samples
            .entry(Route::GetUsage)
            .or_default()
            .push(client.timed("GET", &usage, None, 200).await?.0);
        let body = json!({"config": {"database": format!("db-{i}")}});
        samples
            .entry(Route::Update)
            .or_default()
            .push(client.timed("PUT", &one, Some(&body), 200).await?.0);
    }
    Ok(samples
        .into_iter()
        .map(|(route, s)| (route, stats(s)))
        .collect())
}
