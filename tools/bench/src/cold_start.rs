//! Cold starts as Lambda pays them: each function binary started fresh per run through a
//! loopback Lambda Runtime API, reaching the emulator over TLS (`tools/python/tls_proxy.py`,
//! trusted through `SSL_CERT_FILE`), so the first request pays whatever handshake init left
//! to it. Per run the same process then answers [`WARM_EVENTS`] more events of the same
//! route (the same `events/` file; create with a new name each time, delete, restore and
//! purge each on a credential of their own): the median of all runs' later events is the
//! warm figure the cold penalty is measured against. Reported:
//! init (process start to first poll), the connection prewarm inside it (the function's
//! `prewarm_ms` log field), first answer, warm p50, cold penalty and peak RSS; a bare
//! `lambda_http` hello world first, for scale, and `tools/hello-dynamodb` (the same with the
//! functions' SDK configuration and DynamoDB client built at init), the floor of init.
//!
//! In the same run: the floor a cold first answer is held to — the hello world's first
//! answer plus what a fresh process spends opening one TLS connection to the same endpoint
//! and making one `GetItem` over it (the bench binary itself, `floor-probe`, on the
//! functions' SDK configuration) — and the `PREWARM` modes side by side on both cold paths
//! (on demand: the first event waits at the first poll; provisioned concurrency: it comes
//! [`PROVISIONED_HOLD`] after init).

use std::path::Path;
use std::time::{Duration, Instant};

use credentials_core::http::Route;
use serde_json::Value;
use test_harness::events::{aimed, all};
use test_harness::runtime_api::{spawn_function, Outcome, RuntimeApi};
use test_harness::unique;

use crate::server::{database_body, Client, LocalServer};
use crate::stack::Stack;
use crate::stats::{round, stats};
use crate::Error;

/// Events each started process answers after its first (cold) one.
pub const WARM_EVENTS: usize = 5;

/// How long after init the first event arrives on the provisioned-concurrency path. Long
/// next to any init here; shorter than the 90 s after which the SDK's connection pool drops
/// an idle connection (a provisioned container may wait longer than that; then the
/// warm-up's connection is gone — not measured).
pub const PROVISIONED_HOLD: Duration = Duration::from_millis(300);

/// The routes whose `PREWARM` modes are compared: a read and the resolve pipelines call.
const PREWARM_ROUTES: [Route; 2] = [Route::Get, Route::Resolve];

/// The `PREWARM` modes, each on both paths.
pub const PREWARM_MODES: [&str; 3] = ["none", "connect", "read"];

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
    /// Event handed out to first answer (what a provisioned-concurrency container's first
    /// caller waits).
    pub first_event_median: f64,
    /// The first request's handler time (its `latency_ms` log field: auth included) less
    /// the median of the warm ones': mostly the API-key lookup a warm request skips. Absent
    /// for the hello world, which logs no requests.
    pub first_request_extra: Option<f64>,
    pub peak_rss_kb: u64,
}

pub struct ColdStarts {
    pub hello: ColdStart,
    /// Every function, in `Route::ALL` order, with the default `PREWARM` of an on-demand
    /// container.
    pub functions: Vec<(Route, ColdStart)>,
    /// With `BENCH_BEFORE=1`, every function again as its cold path was before keys named
    /// their workspace and the prewarm became a choice: `PREWARM=read` and a key in the
    /// older format (the key's record, then the credential: two reads). Empty otherwise.
    pub before: Vec<(Route, ColdStart)>,
    /// `tools/hello-dynamodb`: the hello world plus the functions' SDK configuration and
    /// DynamoDB client, built before the first poll (the init any function here pays).
    pub init_floor: ColdStart,
    /// A fresh process's one TLS connection and one `GetItem` (median, ms).
    pub connect_and_read_ms: f64,
    /// The same process's second `GetItem`, over the open connection (median, ms).
    pub warm_read_ms: f64,
    pub prewarm: Vec<PrewarmCell>,
}

impl ColdStarts {
    /// The floor of a cold first answer: the hello world's first answer, one TLS
    /// connection and one round trip.
    pub fn floor_ms(&self) -> f64 {
        round(self.hello.median + self.connect_and_read_ms)
    }

    /// The floor of a cold penalty (first answer less warm answers), whatever calls a route
    /// makes: the hello world's first answer and what a first call over a new TLS
    /// connection takes beyond the same call over an open one.
    pub fn penalty_floor_ms(&self) -> f64 {
        round(self.hello.median + self.connect_and_read_ms - self.warm_read_ms)
    }
}

/// One `PREWARM` mode of one function on one cold path.
pub struct PrewarmCell {
    pub route: Route,
    pub mode: &'static str,
    /// `on-demand` or `provisioned-concurrency` (as `AWS_LAMBDA_INITIALIZATION_TYPE` says).
    pub path: &'static str,
    /// What the first caller waits: from process start (on demand) or from the event's
    /// arrival (provisioned), median.
    pub first_answer_ms: f64,
    pub init_ms: f64,
}

/// Where the functions reach the emulator over TLS, and the CA they trust for it.
pub struct Tls {
    pub endpoint: String,
    pub ca_file: String,
}

/// A table, local server and credential of their own for a set of cold starts: what the
/// runs leave behind (credentials, events) would slow moto's queries on that table (see
/// `trim.rs`), so no other phase shares it.
pub struct ColdTable {
    pub stack: Stack,
    pub client: Client,
    /// The credential the routes that only read or update act on.
    pub fixed_id: String,
    _server: LocalServer,
}

impl ColdTable {
    pub async fn start(endpoint: &str, bin_dir: &Path) -> Result<Self, Error> {
        let stack = Stack::start(endpoint).await?;
        let server = LocalServer::start(bin_dir, &stack.function_env())?;
        let mut client = server.client(&stack.key).await;
        let (_, fixed_id) = client.create("warm-up").await?;
        Ok(Self {
            stack,
            client,
            fixed_id,
            _server: server,
        })
    }

    /// Deletes the table once its phase is done: nothing later reads it, and moto holds
    /// every table in the memory of its one process.
    pub async fn delete(self) -> Result<(), Error> {
        aws_sdk_dynamodb::Client::new(&self.stack.sdk)
            .delete_table()
            .table_name(&self.stack.settings.table_name)
            .send()
            .await?;
        Ok(())
    }

    /// The functions' environment on this table, reaching the emulator over TLS.
    fn function_env(&self, tls: &Tls) -> Vec<(&'static str, String)> {
        let mut env = self.stack.function_env();
        env.retain(|(name, _)| *name != "AWS_ENDPOINT_URL" && *name != "LOG_LEVEL");
        env.push(("AWS_ENDPOINT_URL", tls.endpoint.clone()));
        env.push(("SSL_CERT_FILE", tls.ca_file.clone()));
        env.push(("LOG_LEVEL", "info".to_owned()));
        env
    }
}

/// `runs` cold starts of the hello world and of each function in `bin_dir`, on `table`;
/// with `before`, each function's too as its cold path was before (see
/// [`ColdStarts::before`]), on that table of its own.
pub async fn measure(
    table: &mut ColdTable,
    mut before: Option<&mut ColdTable>,
    bin_dir: &Path,
    runs: usize,
    tls: &Tls,
) -> Result<ColdStarts, Error> {
    eprintln!("cold starts over TLS ({runs} runs each, {WARM_EVENTS} warm events per run)…");
    let env = table.function_env(tls);
    let fixed_id = table.fixed_id.clone();
    let hello_event = aimed(&event_file(Route::Get), &table.stack.key, &fixed_id);
    let hello_runs = vec![vec![hello_event; 1 + WARM_EVENTS]; runs];
    let hello = cold_starts(
        &bin_dir.join("hello-world"),
        &env,
        hello_runs.clone(),
        Duration::ZERO,
    )
    .await?;
    let init_floor = cold_starts(
        &bin_dir.join("hello-dynamodb"),
        &env,
        hello_runs,
        Duration::ZERO,
    )
    .await?;
    let (connect_and_read_ms, warm_read_ms) = floor_probe(&env, &fixed_id, runs).await?;
    let mut functions = Vec::new();
    let mut earlier = Vec::new();
    for &route in Route::ALL {
        let binary = bin_dir.join(route.name());
        let key = table.stack.key.clone();
        let per_run = events(&mut table.client, &key, route, &fixed_id, runs).await?;
        let cold = cold_starts(&binary, &env, per_run, Duration::ZERO).await?;
        functions.push((route, cold));
        if let Some(before) = before.as_deref_mut() {
            let mut env = before.function_env(tls);
            env.push(("PREWARM", "read".to_owned()));
            let (key, id) = (before.stack.older_key.clone(), before.fixed_id.clone());
            let per_run = events(&mut before.client, &key, route, &id, runs).await?;
            let cold = cold_starts(&binary, &env, per_run, Duration::ZERO).await?;
            earlier.push((route, cold));
        }
    }
    eprintln!("PREWARM modes on both cold paths ({runs} runs each)…");
    let mut prewarm = Vec::new();
    for route in PREWARM_ROUTES {
        for (path, hold) in [
            ("on-demand", Duration::ZERO),
            ("provisioned-concurrency", PROVISIONED_HOLD),
        ] {
            for mode in PREWARM_MODES {
                let mut env = env.clone();
                env.push(("PREWARM", mode.to_owned()));
                env.push(("AWS_LAMBDA_INITIALIZATION_TYPE", path.to_owned()));
                let key = table.stack.key.clone();
                let per_run = events(&mut table.client, &key, route, &fixed_id, runs).await?;
                let cold = cold_starts(&bin_dir.join(route.name()), &env, per_run, hold).await?;
                prewarm.push(PrewarmCell {
                    route,
                    mode,
                    path,
                    first_answer_ms: if hold.is_zero() {
                        cold.median
                    } else {
                        cold.first_event_median
                    },
                    init_ms: cold.init_median,
                });
            }
        }
    }
    Ok(ColdStarts {
        hello,
        functions,
        before: earlier,
        init_floor,
        connect_and_read_ms,
        warm_read_ms,
        prewarm,
    })
}

/// `runs` runs of `1 + WARM_EVENTS` events of `route`, with `key`.
async fn events(
    client: &mut Client,
    key: &str,
    route: Route,
    fixed_id: &str,
    runs: usize,
) -> Result<Vec<Vec<Value>>, Error> {
    let raw = event_file(route);
    let mut per_run = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut events = Vec::with_capacity(1 + WARM_EVENTS);
        for _ in 0..=WARM_EVENTS {
            let id = subject(client, route, fixed_id).await?;
            let mut event = aimed(&raw, key, &id);
            if route == Route::Create {
                event["body"] = Value::String(database_body(&unique("cold")).to_string());
            }
            events.push(event);
        }
        per_run.push(events);
    }
    Ok(per_run)
}

/// The bench binary started `runs` times as `floor-probe`, with the functions' environment:
/// each opens one TLS connection and makes one `GetItem` (of the credential the read routes
/// get), then the same `GetItem` over the open connection, and prints how long each took.
/// The medians, in ms.
async fn floor_probe(
    env: &[(&str, String)],
    fixed_id: &str,
    runs: usize,
) -> Result<(f64, f64), Error> {
    let (mut firsts, mut seconds) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        let output = tokio::process::Command::new(std::env::current_exe()?)
            .arg("floor-probe")
            .arg(fixed_id)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .output()
            .await?;
        let text = String::from_utf8_lossy(&output.stdout);
        let parsed: Vec<f64> = text
            .split_whitespace()
            .filter_map(|ms| ms.parse().ok())
            .collect();
        let [first, second] = parsed[..] else {
            return Err(format!(
                "floor-probe: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        };
        firsts.push(Duration::from_secs_f64(first / 1000.0));
        seconds.push(Duration::from_secs_f64(second / 1000.0));
    }
    Ok((stats(firsts).p50, stats(seconds).p50))
}

/// `credentials-bench floor-probe <credential id>`: one TLS connection and one `GetItem`,
/// then the same `GetItem` again over that connection, on the SDK configuration the
/// functions build (`credentials_core::settings`) and their current-thread runtime (see
/// `main`), each timed from the call to its answer (the configuration is built before: the
/// hello world's first answer stands for process start). Prints both, in milliseconds.
pub async fn run_floor_probe(id: &str) -> Result<(), Error> {
    let settings = credentials_core::Settings::from_env()?;
    let sdk = credentials_core::settings::sdk_config(&settings)?;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let read = || async {
        let started = Instant::now();
        let read = client
            .get_item()
            .table_name(&settings.table_name)
            .set_key(Some(credentials_core::store::credential_key(
                crate::stack::WORKSPACE,
                id,
            )))
            .consistent_read(true)
            .send()
            .await?;
        match read.item {
            Some(_) => Ok::<_, Error>(started.elapsed()),
            None => Err(format!("floor-probe: no credential {id}").into()),
        }
    };
    let connect_and_read = read().await?;
    let warm_read = read().await?;
    println!(
        "{} {}",
        crate::stats::ms(connect_and_read),
        crate::stats::ms(warm_read)
    );
    Ok(())
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
/// With `hold`, each run's first event comes that long after the first poll.
async fn cold_starts(
    binary: &Path,
    env: &[(&str, String)],
    runs: Vec<Vec<Value>>,
    hold: Duration,
) -> Result<ColdStart, Error> {
    let (mut firsts, mut inits, mut less_prewarm, mut prewarms, mut warm) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut first_extra = Vec::new();
    let mut first_events = Vec::new();
    let mut peak = 0;
    for events in runs {
        let runtime = RuntimeApi::start_held(&events, hold).await;
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
        first_events.push(answers[0].took);
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
        first_event_median: stats(first_events).p50,
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
