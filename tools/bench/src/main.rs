//! `make bench`: measures, in one run against the emulator,
//! - each function's bootstrap size and cold start (process start to first answer through a
//!   loopback Lambda Runtime API), peak RSS, next to a bare `lambda_http` hello world;
//! - warm latency per route through the local server, next to the raw SDK calls the route
//!   makes, against the same emulator;
//! - list latency and AWS calls per page with 100 and with 10,000 credentials.
//!
//! Prints a table and writes `target/bench/summary.json`. Figures, not pass/fail: the
//! budgets are compared and reported, never asserted.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, Put, PutRequest, TransactWriteItem, WriteRequest};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use integration_tests::calls::CallLog;
use integration_tests::events::{aimed, all};
use integration_tests::runtime_api::{spawn_function, Outcome, RuntimeApi};
use integration_tests::{sdk_config, unique};
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use shared::api::Route;
use shared::auth::{create_key, Scope};
use shared::cursor::ListFilter;
use shared::model::{new_credential_id, now_rfc3339, CredentialType, Status, StoredCredential};
use shared::store::{create_table, encode_credential, Store, GSI_BY_STATUS};
use shared::{AppState, Settings};
use tokio::net::TcpStream;

type Error = Box<dyn std::error::Error + Send + Sync>;

const PAGE: usize = 50;
/// Credentials alive at once in the warm lifecycle phase.
const WARM_ROUND: usize = 50;
const SCALE_SMALL: usize = 100;

/// A count from the environment (for quick trial runs), else the documented default.
fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0
}

#[derive(Clone, Copy)]
struct Stats {
    p50: f64,
    p99: f64,
    max: f64,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: usize| ms(samples[(samples.len() * q / 100).min(samples.len() - 1)]);
    Stats {
        p50: at(50),
        p99: at(99),
        max: ms(*samples.last().unwrap()),
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// One keep-alive HTTP/1.1 connection to the local server.
struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    key: String,
}

impl Client {
    async fn connect(addr: SocketAddr, key: &str) -> Result<Self, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self {
            sender,
            key: key.to_owned(),
        })
    }

    async fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), Error> {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1")
            .header("authorization", format!("Bearer {}", self.key));
        let bytes = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Bytes::from(serde_json::to_vec(body)?)
            }
            None => Bytes::new(),
        };
        self.sender.ready().await?;
        let response = self
            .sender
            .send_request(request.body(Full::new(bytes))?)
            .await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
    }

    /// Sends and times one request, checking its status.
    async fn timed(
        &mut self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        expect: u16,
    ) -> Result<(Duration, Value), Error> {
        let started = Instant::now();
        let (status, value) = self.call(method, path, body).await?;
        let elapsed = started.elapsed();
        if status != expect {
            return Err(format!("{method} {path}: {status} {value}").into());
        }
        Ok((elapsed, value))
    }
}

fn database_body(name: &str) -> Value {
    json!({"name": name, "type": "database", "config": {
        "engine": "postgresql", "host": "db.internal.example.com", "port": 5432,
        "database": "bench", "username": "etl", "password": "bench-password-value"}})
}

/// Whether a binary carries the KMS client (its service name is in every KMS request).
fn links_kms(binary: &Path) -> bool {
    std::fs::read(binary).is_ok_and(|bytes| bytes.windows(12).any(|w| w == b"TrentService"))
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

struct Stack {
    sdk: aws_config::SdkConfig,
    state: AppState,
    settings: Settings,
    endpoint: String,
    key: String,
}

async fn stack(endpoint: &str) -> Result<Stack, Error> {
    let sdk = sdk_config(endpoint).await;
    let table = unique("bench");
    create_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let kms = aws_sdk_kms::Client::new(&sdk);
    let data_key = kms.create_key().send().await?;
    let mac_key = kms
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Hmac256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::GenerateVerifyMac)
        .send()
        .await?;
    let arn = |o: &aws_sdk_kms::operation::create_key::CreateKeyOutput| {
        o.key_metadata()
            .and_then(|m| m.arn())
            .unwrap_or_default()
            .to_owned()
    };
    let settings = Settings {
        table_name: table,
        kms_key_id: Some(arn(&data_key)),
        idempotency_key_id: Some(arn(&mac_key)),
        api_key_cache: Duration::from_secs(60),
        endpoint_url: Some(endpoint.to_owned()),
    };
    let state = AppState::new(&sdk, &settings)?;
    let key = create_key(&state.store, "bench", &Scope::ALL, "bench")
        .await
        .map_err(|e| format!("{e:?}"))?
        .key
        .expose_secret()
        .to_owned();
    Ok(Stack {
        sdk,
        state,
        settings,
        endpoint: endpoint.to_owned(),
        key,
    })
}

fn function_env(stack: &Stack) -> Vec<(&'static str, String)> {
    vec![
        ("TABLE_NAME", stack.settings.table_name.clone()),
        (
            "KMS_KEY_ID",
            stack.settings.kms_key_id.clone().unwrap_or_default(),
        ),
        (
            "IDEMPOTENCY_KEY_ID",
            stack
                .settings
                .idempotency_key_id
                .clone()
                .unwrap_or_default(),
        ),
        ("AWS_ENDPOINT_URL", stack.endpoint.clone()),
        ("API_KEY_CACHE_SECONDS", "60".to_owned()),
        ("LOG_LEVEL", "warn".to_owned()),
    ]
}

struct ColdStart {
    /// Process start to first answer.
    median: f64,
    max: f64,
    /// Process start to the first poll for an event: the init phase alone.
    init_median: f64,
    peak_rss_kb: u64,
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

fn event_file(route: Route) -> String {
    all()
        .into_iter()
        .find(|(stem, _)| stem == route.name())
        .map(|(_, raw)| raw)
        .expect("event file")
}

/// The raw SDK calls a route makes, each timed `warm_requests` times.
async fn raw_calls(
    stack: &Stack,
    id: &str,
    warm_requests: usize,
) -> Result<BTreeMap<&'static str, Stats>, Error> {
    let dynamo = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let kms = aws_sdk_kms::Client::new(&stack.sdk);
    let table = &stack.settings.table_name;
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let mut out = BTreeMap::new();

    let mut samples = Vec::new();
    for _ in 0..warm_requests {
        let t = Instant::now();
        dynamo
            .get_item()
            .table_name(table)
            .key("pk", s("WS#bench"))
            .key("sk", s(&format!("CRED#{id}")))
            .consistent_read(true)
            .send()
            .await?;
        samples.push(t.elapsed());
    }
    out.insert("GetItem", stats(samples));

    let mut samples = Vec::new();
    for _ in 0..warm_requests {
        let t = Instant::now();
        dynamo
            .query()
            .table_name(table)
            .index_name(GSI_BY_STATUS)
            .key_condition_expression("gsi1pk = :pk AND gsi1sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s("WS#bench"))
            .expression_attribute_values(":low", s("active#"))
            .expression_attribute_values(":high", s("active#~"))
            .scan_index_forward(false)
            .limit((PAGE + 2) as i32)
            .send()
            .await?;
        samples.push(t.elapsed());
    }
    out.insert("Query", stats(samples));

    let mut samples = Vec::new();
    for i in 0..warm_requests {
        let t = Instant::now();
        // Shaped like soft delete / restore: conditional, index keys rewritten, item returned.
        dynamo
            .update_item()
            .table_name(table)
            .key("pk", s("WS#bench"))
            .key("sk", s(&format!("CRED#{id}")))
            .update_expression(
                "SET updated_at = :now, gsi1sk = :sk, gsi2sk = :sk, version = version + :one",
            )
            .condition_expression("attribute_exists(pk) AND #status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", s(&format!("2025-01-01T00:00:{:02}Z", i % 60)))
            .expression_attribute_values(":sk", s(&format!("active#{id}")))
            .expression_attribute_values(":active", s("active"))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await?;
        samples.push(t.elapsed());
    }
    out.insert("UpdateItem", stats(samples));

    let mut samples = Vec::new();
    for i in 0..warm_requests {
        let put = |sk: String| {
            Put::builder()
                .table_name(table)
                .item("pk", s("BENCH"))
                .item("sk", s(&sk))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .unwrap()
        };
        let t = Instant::now();
        dynamo
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(put(format!("A#{i}")))
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .put(put(format!("B#{i}")))
                    .build(),
            )
            .send()
            .await?;
        samples.push(t.elapsed());
    }
    out.insert("TransactWriteItems", stats(samples));

    let mut samples = Vec::new();
    for _ in 0..warm_requests {
        let t = Instant::now();
        kms.generate_data_key()
            .key_id(stack.settings.kms_key_id.as_deref().unwrap_or_default())
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
            .encryption_context("workspace_id", "bench")
            .encryption_context("credential_id", id)
            .send()
            .await?;
        samples.push(t.elapsed());
    }
    out.insert("GenerateDataKey", stats(samples));
    Ok(out)
}

/// The raw calls each route makes once its key is cached (its call budget).
fn raw_baseline(route: Route) -> &'static [&'static str] {
    match route {
        Route::List => &["Query"],
        Route::Get => &["GetItem"],
        Route::Create => &["GenerateDataKey", "TransactWriteItems"],
        Route::Update => &["GetItem", "TransactWriteItems"],
        Route::SoftDelete | Route::Restore => &["UpdateItem"],
        Route::Purge => &["GetItem", "TransactWriteItems"],
    }
}

/// Writes `count` credentials straight into the table (BatchWriteItem, 25 at a time): the
/// list benchmark needs many items, not many creates.
async fn fill_workspace(stack: &Stack, workspace: &str, count: usize) -> Result<(), Error> {
    let dynamo = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let now = now_rfc3339();
    let items: Vec<_> = (0..count)
        .map(|i| {
            let credential = StoredCredential {
                workspace_id: workspace.to_owned(),
                id: new_credential_id(),
                name: format!("scale-{i}"),
                kind: CredentialType::Database,
                status: Status::Active,
                config: json!({"host": "h", "port": 5432})
                    .as_object()
                    .unwrap()
                    .clone(),
                secrets: Default::default(),
                created_at: now.clone(),
                updated_at: now.clone(),
                deleted_at: None,
                created_by: None,
                version: 1,
            };
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

/// Median page latency through the local server over `pages` pages, and Query calls per page
/// measured in-process through the same store code.
async fn list_scale(
    stack: &Stack,
    server: SocketAddr,
    workspace: &str,
    pages: usize,
) -> Result<(f64, f64), Error> {
    let key = create_key(&stack.state.store, workspace, &[Scope::Read], "bench")
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
    };
    let mut after: Option<String> = None;
    let mut walked = 0;
    for _ in 0..pages {
        let page = counted
            .list_credentials(workspace, filter, after.as_deref(), PAGE)
            .await
            .map_err(|e| format!("{e:?}"))?;
        walked += 1;
        if !page.more {
            break;
        }
        after = page.items.last().map(|c| c.id.clone());
    }
    let queries = calls
        .take()
        .iter()
        .filter(|c| c.as_str() == "DynamoDB.Query")
        .count();
    Ok((stats(samples).p50, queries as f64 / walked as f64))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let endpoint = std::env::var("EMULATOR_ENDPOINT")
        .map_err(|_| "EMULATOR_ENDPOINT is not set: run `make bench`")?;
    let root = PathBuf::from(std::env::var("BENCH_ROOT").unwrap_or_else(|_| ".".into()));
    let release = std::env::var_os("BENCH_BIN_DIR")
        .map_or_else(|| root.join("target/release"), PathBuf::from);
    let cold_runs = count("BENCH_COLD_RUNS", 15);
    let warm_requests = count("BENCH_WARM_REQUESTS", 1000);
    let scale_large = count("BENCH_SCALE_LARGE", 10_000);
    let stack = stack(&endpoint).await?;
    let env = function_env(&stack);

    // The local server (release build) with the same environment the functions get.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = tokio::process::Command::new(release.join("local-server"));
    server
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("PORT", port.to_string())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true);
    let _server = server.spawn()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let mut client = loop {
        match Client::connect(addr, &stack.key).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    // Warm the emulator up (its first call per service is slow) before anything is timed.
    let (_, warm) = client
        .timed(
            "POST",
            "/api/credentials",
            Some(&database_body("warm-up")),
            201,
        )
        .await?;
    let fixed_id = warm["data"]["id"].as_str().unwrap().to_owned();

    // Sizes: the arm64 bootstraps of `make build` when present, else the host binaries.
    let arm64 = Route::ALL.iter().all(|r| {
        root.join(format!("target/lambda/{}/bootstrap", r.name()))
            .exists()
    }) && root.join("target/lambda/hello-world/bootstrap").exists();
    let target = if arm64 {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    };
    let size_of = |name: &str| -> u64 {
        let path = if arm64 {
            root.join(format!("target/lambda/{name}/bootstrap"))
        } else {
            release.join(name)
        };
        std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
    };

    // Cold starts: hello world first, then each function, in the same run.
    eprintln!("cold starts ({cold_runs} runs each)…");
    let hello_event = aimed(&event_file(Route::Get), &stack.key, &fixed_id);
    let hello = cold_starts(
        &release.join("hello-world"),
        &env,
        vec![hello_event; cold_runs],
    )
    .await?;
    let mut functions = serde_json::Map::new();
    let mut rows = Vec::new();
    for route in Route::ALL {
        let raw = event_file(route);
        let mut events = Vec::with_capacity(cold_runs);
        for _ in 0..cold_runs {
            // Each run acts on its own credential where the route consumes one.
            let id = match route {
                Route::SoftDelete | Route::Purge | Route::Restore => {
                    let (_, c) = client
                        .timed(
                            "POST",
                            "/api/credentials",
                            Some(&database_body(&unique("cold"))),
                            201,
                        )
                        .await?;
                    let id = c["data"]["id"].as_str().unwrap().to_owned();
                    if route == Route::Restore {
                        client
                            .timed("DELETE", &format!("/api/credentials/{id}"), None, 200)
                            .await?;
                    }
                    id
                }
                _ => fixed_id.clone(),
            };
            let mut event = aimed(&raw, &stack.key, &id);
            if route == Route::Create {
                event["body"] = Value::String(database_body(&unique("cold")).to_string());
            }
            events.push(event);
        }
        let cold = cold_starts(&release.join(route.name()), &env, events).await?;
        let ratio = round(cold.median / hello.median);
        let init_ratio = round(cold.init_median / hello.init_median);
        functions.insert(
            route.name().to_owned(),
            json!({
                "size_bytes": size_of(route.name()),
                "links_kms": links_kms(&release.join(route.name())),
                "cold_start_ms_median": cold.median,
                "cold_start_ms_max": cold.max,
                "cold_start_ratio": ratio,
                "init_ms_median": cold.init_median,
                "init_ratio": init_ratio,
                "peak_rss_kb": cold.peak_rss_kb,
            }),
        );
        rows.push(format!(
            "{:<20} {:>9.2} MiB {:>9.2} ms {:>9.2} ms {:>7.2}x {:>9.2} ms {:>7.2}x {:>8} kB {:>5}",
            route.name(),
            size_of(route.name()) as f64 / 1048576.0,
            cold.median,
            cold.max,
            ratio,
            cold.init_median,
            init_ratio,
            cold.peak_rss_kb,
            if links_kms(&release.join(route.name())) {
                "yes"
            } else {
                "no"
            }
        ));
    }

    // Warm latency per route, sequential, key cached; then the raw calls.
    eprintln!("warm latency ({warm_requests} requests per route)…");
    // moto copies a whole table for every transaction, so its transactions slow down as the
    // table grows: credentials are created, deleted, restored and purged in small rounds so
    // that the table stays the same size throughout (as a real table's cost would).
    let mut samples: std::collections::HashMap<Route, Vec<Duration>> = Default::default();
    let lifecycle = [
        (Route::SoftDelete, "DELETE", ""),
        (Route::Restore, "POST", "/restore"),
        (Route::Purge, "DELETE", "/permanent"),
    ];
    let mut done = 0;
    while done < warm_requests {
        let round = WARM_ROUND.min(warm_requests - done);
        let mut ids = Vec::with_capacity(round);
        for _ in 0..round {
            let body = database_body(&unique("warm"));
            let (t, c) = client
                .timed("POST", "/api/credentials", Some(&body), 201)
                .await?;
            samples.entry(Route::Create).or_default().push(t);
            ids.push(c["data"]["id"].as_str().unwrap().to_owned());
        }
        for (route, method, suffix) in lifecycle {
            for id in &ids {
                let path = format!("/api/credentials/{id}{suffix}");
                let (t, _) = client.timed(method, &path, None, 200).await?;
                samples.entry(route).or_default().push(t);
            }
        }
        done += round;
    }
    let one = format!("/api/credentials/{fixed_id}");
    for i in 0..warm_requests {
        let list = format!("/api/credentials?limit={PAGE}");
        samples
            .entry(Route::List)
            .or_default()
            .push(client.timed("GET", &list, None, 200).await?.0);
        samples
            .entry(Route::Get)
            .or_default()
            .push(client.timed("GET", &one, None, 200).await?.0);
        let body = json!({"config": {"database": format!("db-{i}")}});
        samples
            .entry(Route::Update)
            .or_default()
            .push(client.timed("PUT", &one, Some(&body), 200).await?.0);
    }
    let warm: std::collections::HashMap<Route, Stats> = samples
        .into_iter()
        .map(|(route, s)| (route, stats(s)))
        .collect();
    let raw = raw_calls(&stack, &fixed_id, warm_requests).await?;
    let mut routes = serde_json::Map::new();
    let mut latency_rows = Vec::new();
    for route in Route::ALL {
        let s = warm[&route];
        let baseline: Vec<&str> = raw_baseline(route).to_vec();
        let raw_p50 = round(baseline.iter().map(|op| raw[op].p50).sum());
        let ratio = round(s.p50 / raw_p50);
        routes.insert(route.name().to_owned(), json!({
            "p50_ms": s.p50, "p99_ms": s.p99, "raw_p50_ms": raw_p50, "raw_calls": baseline, "ratio_p50": ratio,
        }));
        latency_rows.push(format!(
            "{:<20} {:>8.3} ms {:>8.3} ms {:>8.3} ms {:>6.2}x  ({})",
            route.name(),
            s.p50,
            s.p99,
            raw_p50,
            ratio,
            baseline.join(" + ")
        ));
    }
    let raw_json: serde_json::Map<String, Value> = raw
        .iter()
        .map(|(op, s)| (op.to_string(), json!({"p50_ms": s.p50, "p99_ms": s.p99})))
        .collect();

    // List at scale.
    eprintln!("list at scale ({SCALE_SMALL} and {scale_large} credentials)…");
    let small = unique("scale-small");
    let large = unique("scale-large");
    fill_workspace(&stack, &small, SCALE_SMALL).await?;
    fill_workspace(&stack, &large, scale_large).await?;
    let (page_small, calls_small) = list_scale(&stack, addr, &small, 2).await?;
    let (page_large, calls_large) = list_scale(&stack, addr, &large, 20).await?;

    let summary = json!({
        "target": target,
        "cold_start_runs": cold_runs,
        "warm_requests_per_route": warm_requests,
        "functions": functions,
        "hello_world": {"size_bytes": size_of("hello-world"), "cold_start_ms_median": hello.median, "cold_start_ms_max": hello.max, "init_ms_median": hello.init_median, "peak_rss_kb": hello.peak_rss_kb},
        "routes": routes,
        "raw": raw_json,
        "list_scale": {
            "page_size": PAGE,
            "page_ms_100": page_small,
            "page_ms_10000": page_large,
            "calls_per_page": calls_large,
            "calls_per_page_100": calls_small,
        },
    });
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;

    println!("\nsizes ({target}) and cold starts ({cold_runs} runs; host binaries, loopback Runtime API)");
    println!("(cold = process start to first answer, incl. the route's DynamoDB calls; init = process start to first poll)");
    println!(
        "{:<20} {:>13} {:>12} {:>12} {:>8} {:>12} {:>8} {:>11} {:>5}",
        "function",
        "bootstrap",
        "cold p50",
        "cold max",
        "ratio",
        "init p50",
        "ratio",
        "peak RSS",
        "KMS"
    );
    println!(
        "{:<20} {:>9.2} MiB {:>9.2} ms {:>9.2} ms {:>7}  {:>9.2} ms {:>7}  {:>8} kB {:>5}",
        "hello-world",
        size_of("hello-world") as f64 / 1048576.0,
        hello.median,
        hello.max,
        "1.00x",
        hello.init_median,
        "1.00x",
        hello.peak_rss_kb,
        "no"
    );
    rows.iter().for_each(|r| println!("{r}"));
    println!("\nwarm latency ({warm_requests} sequential requests, key cached) vs the raw calls the route makes");
    println!(
        "{:<20} {:>11} {:>11} {:>11} {:>7}",
        "route", "p50", "p99", "raw p50", "ratio"
    );
    latency_rows.iter().for_each(|r| println!("{r}"));
    println!("\nlist, {PAGE} per page: {page_small:.3} ms with {SCALE_SMALL} credentials, {page_large:.3} ms with {scale_large}; {calls_large} Query per page (Scan: never)");
    println!("\nwrote {}", out.join("summary.json").display());
    Ok(())
}
