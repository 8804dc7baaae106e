//! Cold starts as Lambda pays them: each function binary started fresh per run through a
//! loopback Lambda Runtime API, reaching the emulator over TLS (`tools/python/tls_proxy.py`,
//! trusted through `SSL_CERT_FILE`), so the first request pays whatever handshake init left
//! to it. Per run the same process then answers [`WARM_EVENTS`] more events of the same
//! route (the same `events/` file; create with a new name each time, delete, restore and
//! purge each on a credential of their own): the median of all runs' later events is the
//! warm figure the cold penalty is measured against. Reported:
//! init (process start to first poll), the connection prewarm inside it (the function's
//! `prewarm_ms` log field), first answer, warm p50, cold penalty and peak RSS; a bare
//! `lambda_http` hello world first, for scale.

use std::path::Path;
use std::time::{Duration, Instant};

use credentials_core::http::Route;
use serde_json::Value;
use test_harness::events::{aimed, all};
use test_harness::runtime_api::{spawn_function, Outcome, RuntimeApi};
use test_harness::unique;

use crate::server::{database_body, Client};
use crate::stack::Stack;
use crate::stats::{round, stats};
use crate::Error;

/// Events each started process answers after its first (cold) one.
pub const WARM_EVENTS: usize = 5;

pub struct ColdStart {
    /// Process start to first answer.
    pub median: f64,
    pub max: f64,
    /// Process start to the first poll for an event: the init phase, prewarm included.
    pub init_median: f64,
    /// The connection prewarm the function reported (absent for the hello world).
    pub prewarm_median: Option<f64>,
    /// Init less its prewarm, per run, then the median.
    pub init_less_prewarm_median: f64,
    /// The same route answered again by the same (now warm) process: event handed out to
    /// answer posted.
    pub warm_p50: f64,
    /// First answer less warm p50.
    pub cold_penalty: f64,
    /// The first request's handler time (its `latency_ms` log field: auth included) less
    /// the median of the warm ones': mostly the API-key lookup a warm request skips. Absent
    /// for the hello world, which logs no requests.
    pub first_request_extra: Option<f64>,
    pub peak_rss_kb: u64,
}

pub struct ColdStarts {
    pub hello: ColdStart,
    /// In `Route::routed()` order.
    pub functions: Vec<(Route, ColdStart)>,
}

/// Where the functions reach the emulator over TLS, and the CA they trust for it.
pub struct Tls {
    pub endpoint: String,
    pub ca_file: String,
}

/// `runs` cold starts of the hello world and of each function in `bin_dir`. `fixed_id` is
/// the credential the routes that only read or update act on; the others get their own.
pub async fn measure(
    stack: &Stack,
    client: &mut Client,
    bin_dir: &Path,
    fixed_id: &str,
    runs: usize,
    tls: &Tls,
) -> Result<ColdStarts, Error> {
    eprintln!("cold starts over TLS ({runs} runs each, {WARM_EVENTS} warm events per run)…");
    let mut env = stack.function_env();
    env.retain(|(name, _)| *name != "AWS_ENDPOINT_URL" && *name != "LOG_LEVEL");
    env.push(("AWS_ENDPOINT_URL", tls.endpoint.clone()));
    env.push(("SSL_CERT_FILE", tls.ca_file.clone()));
    env.push(("LOG_LEVEL", "info".to_owned()));
    let hello_event = aimed(&event_file(Route::Get), &stack.key, fixed_id);
    let hello_runs = vec![vec![hello_event; 1 + WARM_EVENTS]; runs];
    let hello = cold_starts(&bin_dir.join("hello-world"), &env, hello_runs).await?;
    let mut functions = Vec::new();
    for route in Route::routed() {
        let raw = event_file(route);
        let mut per_run = Vec::with_capacity(runs);
        for _ in 0..runs {
            let mut events = Vec::with_capacity(1 + WARM_EVENTS);
            for _ in 0..=WARM_EVENTS {
                let id = subject(client, route, fixed_id).await?;
                let mut event = aimed(&raw, &stack.key, &id);
                if route == Route::Create {
                    event["body"] = Value::String(database_body(&unique("cold")).to_string());
                }
                events.push(event);
            }
            per_run.push(events);
        }
        let cold = cold_starts(&bin_dir.join(route.name()), &env, per_run).await?;
        functions.push((route, cold));
    }
    Ok(ColdStarts { hello, functions })
}

/// The credential one event of `route` acts on: a fresh one where the route consumes it
/// (soft deleted already for restore, with secret versions for the version routes), else
/// `fixed_id`.
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
        // Secret versions: the events promote 1, and restore or destroy 2, so each gets a
        // credential with versions 1 and 2 (and 3, so that 2 is neither current nor
        // pending).
        Route::PromoteVersion | Route::RestoreVersion | Route::DestroyVersion => {
            let (_, id) = client.create(&unique("cold")).await?;
            let rotations = if route == Route::PromoteVersion { 1 } else { 2 };
            for n in 0..rotations {
                client.rotate(&id, n).await?;
            }
            Ok(id)
        }
        _ => Ok(fixed_id.to_owned()),
    }
}

/// The `field` of each line a function logged with `message`, in order.
fn logged(stdout: &[u8], message: &str, field: &str) -> Vec<f64> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["message"] == message)
        .filter_map(|line| line[field].as_f64())
        .collect()
}

/// Starts `binary` fresh once per run, each time answering that run's events in order.
async fn cold_starts(
    binary: &Path,
    env: &[(&str, String)],
    runs: Vec<Vec<Value>>,
) -> Result<ColdStart, Error> {
    let (mut firsts, mut inits, mut less_prewarm, mut prewarms, mut warm) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut first_extra = Vec::new();
    let mut peak = 0;
    for events in runs {
        let runtime = RuntimeApi::start_many(&events).await;
        let started = Instant::now();
        let mut child = spawn_function(binary, runtime.addr, env);
        let pid = child.id().unwrap_or_default();
        let (answers, first_poll) = runtime.finish_all(Duration::from_secs(60)).await;
        peak = peak.max(peak_rss_kb(pid).unwrap_or(0));
        child.kill().await?;
        let output = child.wait_with_output().await?;
        if answers.len() != events.len() {
            return Err(format!(
                "{}: {} of {} events answered\n{}",
                binary.display(),
                answers.len(),
                events.len(),
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        for answer in &answers {
            match &answer.outcome {
                Outcome::Response(r)
                    if r["statusCode"].as_u64().is_some_and(|s| s < 300)
                        || r.get("statusCode").is_none() => {}
                other => return Err(format!("{}: {other:?}", binary.display()).into()),
            }
        }
        let init = first_poll.map_or(Duration::ZERO, |t| t.duration_since(started));
        let prewarm = logged(&output.stdout, "connection prewarmed", "prewarm_ms")
            .first()
            .copied();
        inits.push(init);
        less_prewarm
            .push(init.saturating_sub(Duration::from_secs_f64(prewarm.unwrap_or(0.0) / 1000.0)));
        prewarms.extend(prewarm.map(|p| Duration::from_secs_f64(p / 1000.0)));
        let handled = logged(&output.stdout, "request", "latency_ms");
        if let [first, rest @ ..] = handled.as_slice() {
            if !rest.is_empty() {
                let rest = rest.iter().map(|ms| Duration::from_secs_f64(ms / 1000.0));
                let warm_median = stats(rest.collect()).p50;
                first_extra.push(first - warm_median);
            }
        }
        firsts.push(answers[0].at.duration_since(started));
        warm.extend(answers[1..].iter().map(|a| a.took));
    }
    let first = stats(firsts);
    let warm_p50 = stats(warm).p50;
    Ok(ColdStart {
        median: first.p50,
        max: first.max,
        init_median: stats(inits).p50,
        prewarm_median: (!prewarms.is_empty()).then(|| stats(prewarms).p50),
        init_less_prewarm_median: stats(less_prewarm).p50,
        warm_p50,
        cold_penalty: round(first.p50 - warm_p50),
        first_request_extra: median(first_extra),
        peak_rss_kb: peak,
    })
}

/// The median of `xs`, rounded to the microsecond; `None` when empty.
fn median(mut xs: Vec<f64>) -> Option<f64> {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().map(round)
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
pub(crate) fn event_file(route: Route) -> String {
    all()
        .into_iter()
        .find(|(stem, _)| stem == route.name())
        .map(|(_, raw)| raw)
        .expect("event file")
}
