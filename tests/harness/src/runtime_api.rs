//! A minimal AWS Lambda Runtime API on loopback, to run a function's real binary the way the
//! Lambda service does: the binary polls `/next`, gets one event, posts its answer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{oneshot, Notify};

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// What the function posted back.
#[derive(Debug)]
pub enum Outcome {
    Response(Value),
    Error(Value),
}

struct Shared {
    /// Events not served yet, in order.
    events: Mutex<std::collections::VecDeque<String>>,
    /// When each served event was handed out, in order.
    served: Mutex<Vec<Instant>>,
    /// Each answer and when it arrived, in order.
    answers: Mutex<Vec<(Instant, Outcome)>>,
    /// Sent once every event has its answer.
    done: Mutex<Option<oneshot::Sender<()>>>,
    /// When `/next` was first asked for, i.e. when the binary finished its init.
    first_poll: Mutex<Option<Instant>>,
    /// How long the first event is held back after the first poll (provisioned
    /// concurrency: init long before the first event).
    hold_first: Duration,
    never: Notify,
}

/// One event's answer: how long the function took (event handed out to answer posted).
#[derive(Debug)]
pub struct Answer {
    pub outcome: Outcome,
    pub at: Instant,
    pub took: Duration,
}

pub struct RuntimeApi {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    done: oneshot::Receiver<()>,
    server: tokio::task::JoinHandle<()>,
}

async fn answer(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_owned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if path.ends_with("/invocation/next") {
        let first = {
            let mut first_poll = shared.first_poll.lock().unwrap();
            let first = first_poll.is_none();
            first_poll.get_or_insert_with(Instant::now);
            first
        };
        if first && !shared.hold_first.is_zero() {
            tokio::time::sleep(shared.hold_first).await;
        }
        let event = shared.events.lock().unwrap().pop_front();
        let Some(event) = event else {
            // Every event served: later polls wait until the process is stopped.
            shared.never.notified().await;
            unreachable!("never notified");
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            + 30_000;
        let response = Response::builder()
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", REQUEST_ID)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:credentials-api-test",
            )
            .header(
                "lambda-runtime-trace-id",
                "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
            )
            .body(Full::new(Bytes::from(event)))
            .unwrap();
        shared.served.lock().unwrap().push(Instant::now());
        return Ok(response);
    }
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let outcome = if path.ends_with("/response") {
        Outcome::Response(parsed)
    } else {
        Outcome::Error(parsed)
    };
    let mut answers = shared.answers.lock().unwrap();
    answers.push((Instant::now(), outcome));
    if answers.len() == shared.served.lock().unwrap().len()
        && shared.events.lock().unwrap().is_empty()
    {
        if let Some(done) = shared.done.lock().unwrap().take() {
            let _ = done.send(());
        }
    }
    Ok(Response::builder()
        .status(202)
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap())
}

impl RuntimeApi {
    /// Serves `event` once on a free loopback port.
    pub async fn start(event: &Value) -> Self {
        Self::start_many(std::slice::from_ref(event)).await
    }

    /// Serves `events` one after the other (the next once the previous is answered, as
    /// Lambda does) on a free loopback port.
    pub async fn start_many(events: &[Value]) -> Self {
        Self::start_held(events, Duration::ZERO).await
    }

    /// As [`RuntimeApi::start_many`], but the first event is handed out only `hold` after
    /// the first poll, as provisioned concurrency starts a container long before its first
    /// event. An answer's `took` still counts from when its event was handed out.
    pub async fn start_held(events: &[Value], hold: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (sender, done) = oneshot::channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(events.iter().map(Value::to_string).collect()),
            served: Mutex::new(Vec::new()),
            answers: Mutex::new(Vec::new()),
            done: Mutex::new(Some(sender)),
            first_poll: Mutex::new(None),
            hold_first: hold,
            never: Notify::new(),
        });
        let server_shared = shared.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let shared = server_shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |r| answer(shared.clone(), r));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            shared,
            done,
            server,
        }
    }

    /// Waits for the function's answer.
    pub async fn outcome(self, timeout: Duration) -> Option<Outcome> {
        self.finish(timeout).await.0
    }

    /// Waits for the function's answer; also tells when the function first asked for an
    /// event, i.e. when its init phase ended.
    pub async fn finish(self, timeout: Duration) -> (Option<Outcome>, Option<Instant>) {
        let (answers, first_poll) = self.finish_all(timeout).await;
        (answers.into_iter().next().map(|a| a.outcome), first_poll)
    }

    /// Waits until every event is answered (or `timeout`); returns the answers so far, in
    /// order, and when the function first asked for an event.
    pub async fn finish_all(self, timeout: Duration) -> (Vec<Answer>, Option<Instant>) {
        let _ = tokio::time::timeout(timeout, self.done).await;
        self.server.abort();
        let first_poll = *self.shared.first_poll.lock().unwrap();
        let served = self.shared.served.lock().unwrap().clone();
        let answers = std::mem::take(&mut *self.shared.answers.lock().unwrap())
            .into_iter()
            .zip(served)
            .map(|((at, outcome), handed_out)| Answer {
                outcome,
                at,
                took: at.duration_since(handed_out),
            })
            .collect();
        (answers, first_poll)
    }
}

/// The `target/<profile>` folder this test binary was built into.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test binary>
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// Starts a function binary as the Lambda service would: configuration from the
/// environment only, the Runtime API at `runtime`.
pub fn spawn_function(binary: &Path, runtime: SocketAddr, env: &[(&str, String)]) -> Child {
    let name = binary.file_name().unwrap().to_string_lossy().into_owned();
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2025/03/27/[$LATEST]0123456789abcdef",
        )
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()))
}
