//! Cold starts: each function binary started fresh per event and answering it through a
//! loopback Lambda Runtime API (process start to first answer, and to first poll: the init
//! phase alone), with its peak RSS; a bare `lambda_http` hello world first, for scale.

use std::path::Path;
use std::time::{Duration, Instant};

use integration_tests::events::{aimed, all};
use integration_tests::runtime_api::{spawn_function, Outcome, RuntimeApi};
use integration_tests::unique;
use serde_json::Value;
use shared::api::Route;

use crate::server::{database_body, Client};
use crate::stack::Stack;
use crate::stats::stats;
use crate::Error;

pub struct ColdStart {
    /// Process start to first answer.
    pub median: f64,
    pub max: f64,
    /// Process start to the first poll for an event: the init phase alone.
    pub init_median: f64,
    pub peak_rss_kb: u64,
}

pub struct ColdStarts {
    pub hello: ColdStart,
    /// In `Route::ALL` order.
    pub functions: Vec<(Route, ColdStart)>,
}

/// `runs` cold starts of the hello world and of each function in `bin_dir`. `fixed_id` is
/// the credential the routes that only read or update act on; the others get their own.
pub async fn measure(
    stack: &Stack,
    client: &mut Client,
    bin_dir: &Path,
    fixed_id: &str,
    runs: usize,
) -> Result<ColdStarts, Error> {
    eprintln!("cold starts ({runs} runs each)…");
    let env = stack.function_env();
    let hello_event = aimed(&event_file(Route::Get), &stack.key, fixed_id);
    let hello = cold_starts(&bin_dir.join("hello-world"), &env, vec![hello_event; runs]).await?;
    let mut functions = Vec::new();
    for route in Route::ALL {
        let raw = event_file(route);
        let mut events = Vec::with_capacity(runs);
        for _ in 0..runs {
            let id = subject(client, route, fixed_id).await?;
            let mut event = aimed(&raw, &stack.key, &id);
            if route == Route::Create {
                event["body"] = Value::String(database_body(&unique("cold")).to_string());
            }
            events.push(event);
        }
        let cold = cold_starts(&bin_dir.join(route.name()), &env, events).await?;
        functions.push((route, cold));
    }
    Ok(ColdStarts { hello, functions })
}

/// The credential one run of `route` acts on: a fresh one where the route consumes it
/// (soft deleted already for restore), else `fixed_id`.
async fn subject(client: &mut Client, route: Route, fixed_id: &str) -> Result<String, Error> {
    match route {
        Route::SoftDelete | Route::Purge | Route::Restore => {
            let (_, id) = client.create(&unique("cold")).await?;
            if route == Route::Restore {
                client
                    .timed("DELETE", &format!("/api/credentials/{id}"), None, 200)
                    .await?;
            }
            Ok(id)
        }
        _ => Ok(fixed_id.to_owned()),
    }
}

/// Starts `binary` fresh once per event, each time answering that one event.
async fn cold_starts(
    binary: &Path,
    env: &[(&str, String)],
    events: Vec<Value>,
) -> Result<ColdStart, Error> {
    let mut samples = Vec::new();
    let mut inits = Vec::new();
    let mut peak = 0;
    for event in events {
        let runtime = RuntimeApi::start(&event).await;
        let started = Instant::now();
        let mut child = spawn_function(binary, runtime.addr, env);
        let pid = child.id().unwrap_or_default();
        let (outcome, first_poll) = runtime.finish(Duration::from_secs(30)).await;
        let elapsed = started.elapsed();
        inits.push(first_poll.map_or(elapsed, |t| t.duration_since(started)));
        peak = peak.max(peak_rss_kb(pid).unwrap_or(0));
        child.kill().await?;
        match outcome {
            Some(Outcome::Response(r))
                if r["statusCode"].as_u64().is_some_and(|s| s < 300)
                    || r.get("statusCode").is_none() => {}
            other => return Err(format!("{}: {other:?}", binary.display()).into()),
        }
        samples.push(elapsed);
    }
    let s = stats(samples);
    Ok(ColdStart {
        median: s.p50,
        max: s.max,
        init_median: stats(inits).p50,
        peak_rss_kb: peak,
    })
}

/// The high-water mark of a (still running) process's resident memory.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// The example event of `route` (`events/<function>.json`).
fn event_file(route: Route) -> String {
    all()
        .into_iter()
        .find(|(stem, _)| stem == route.name())
        .map(|(_, raw)| raw)
        .expect("event file")
}
