//! In-process overhead: each handler called directly with its `events/` event (the API key
//! cached), on the bench stack's `AppState`, timed against the raw SDK calls it makes
//! (`raw.rs`, on the same SDK configuration and HTTP client). No HTTP hop on either side, so
//! the ratio is the service's own work: auth, validation, decoding, rendering, logging.

use std::time::{Duration, Instant};

use integration_tests::events::aimed;
use integration_tests::unique;
use shared::api::{self, function::event_request, Route};

use crate::cold_start::event_file;
use crate::server::Client;
use crate::stack::Stack;
use crate::stats::{stats, Stats};
use crate::Error;

/// Credentials deleted and restored in turn (each call a real transition).
const ROUND: usize = 50;

/// `requests` handler calls each for get, list, resolve, soft delete and restore.
pub async fn measure(
    stack: &Stack,
    client: &mut Client,
    fixed_id: &str,
    requests: usize,
) -> Result<Vec<(Route, Stats)>, Error> {
    eprintln!("in-process handlers ({requests} calls per route)…");
    let mut out = Vec::new();
    for route in [Route::Get, Route::List, Route::Resolve] {
        let event = aimed(&event_file(route), &stack.key, fixed_id).to_string();
        call(stack, route, &event).await?; // the key is cached from here on
        let mut samples = Vec::with_capacity(requests);
        for _ in 0..requests {
            samples.push(call(stack, route, &event).await?);
        }
        out.push((route, stats(samples)));
    }
    let mut ids = Vec::with_capacity(ROUND);
    for _ in 0..ROUND.min(requests) {
        ids.push(client.create(&unique("inproc")).await?.1);
    }
    let (mut deletes, mut restores) = (Vec::new(), Vec::new());
    while deletes.len() < requests {
        for (route, samples) in [
            (Route::SoftDelete, &mut deletes),
            (Route::Restore, &mut restores),
        ] {
            for id in &ids {
                let event = aimed(&event_file(route), &stack.key, id).to_string();
                samples.push(call(stack, route, &event).await?);
            }
        }
    }
    out.push((Route::SoftDelete, stats(deletes)));
    out.push((Route::Restore, stats(restores)));
    Ok(out)
}

/// One handler call with `event`; its duration, if it answered 2xx.
async fn call(stack: &Stack, route: Route, event: &str) -> Result<Duration, Error> {
    let req = event_request(event).ok_or("an events/ file is not an HTTP API event")?;
    let state = &stack.state;
    let started = Instant::now();
    let answered = match route {
        Route::Get => api::get_credential(state, req).await,
        Route::List => api::list_credentials(state, req).await,
        Route::SoftDelete => api::delete_credential(state, req).await,
        Route::Restore => api::restore_credential(state, req).await,
        Route::Resolve => api::resolve_credential(state, req).await,
        other => return Err(format!("{} is not measured in process", other.name()).into()),
    };
    let Ok(response) = answered;
    let took = started.elapsed();
    if !response.status().is_success() {
        return Err(format!("{}: {}", route.name(), response.status()).into());
    }
    Ok(took)
}
