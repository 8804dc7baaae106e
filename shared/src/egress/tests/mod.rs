//! The guard's tests. Every packet goes to 127.0.0.1: refusals are proved with an injected
//! resolver and a connector that records attempts (and panics on a non-loopback address).

mod address;
mod answers;
mod loopback;
mod refusals;
mod server;
mod urls;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpStream;

use super::{BoxFuture, Connect, EgressGuard, EgressPolicy, Resolve};

/// The canary every test secret carries (as in `test-harness`).
pub(super) const CANARY: &str = "canary-5e3c7";

/// A resolver that answers from a table, and counts its calls.
#[derive(Default)]
pub(super) struct FakeResolver {
    answers: HashMap<String, Vec<IpAddr>>,
    calls: AtomicUsize,
}

impl FakeResolver {
    pub fn with(mut self, host: &str, answers: &[&str]) -> Self {
        let addrs = answers
            .iter()
            .map(|a| a.parse().expect("an address"))
            .collect();
        self.answers.insert(host.to_owned(), addrs);
        self
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Resolve for FakeResolver {
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = self
            .answers
            .get(host)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host"));
        Box::pin(async move { answer })
    }
}

/// What a [`RecordingConnector`] does after recording an attempt.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Fails at once, without opening a socket.
    Refuse,
    /// Connects, to a loopback address only (anything else panics: a test must never send
    /// a packet elsewhere).
    Loopback,
    /// Never finishes (a connect that hangs), without opening a socket.
    Hang,
}

/// A connector that records every attempt.
pub(super) struct RecordingConnector {
    attempts: Mutex<Vec<SocketAddr>>,
    mode: Mode,
}

impl RecordingConnector {
    fn new(mode: Mode) -> Arc<Self> {
        Arc::new(Self {
            attempts: Mutex::new(Vec::new()),
            mode,
        })
    }

    pub fn refuse() -> Arc<Self> {
        Self::new(Mode::Refuse)
    }

    pub fn loopback() -> Arc<Self> {
        Self::new(Mode::Loopback)
    }

    pub fn hang() -> Arc<Self> {
        Self::new(Mode::Hang)
    }

    pub fn attempts(&self) -> Vec<SocketAddr> {
        self.attempts.lock().unwrap().clone()
    }
}

impl Connect for RecordingConnector {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>> {
        self.attempts.lock().unwrap().push(addr);
        let mode = self.mode;
        Box::pin(async move {
            match mode {
                Mode::Refuse => Err(io::Error::new(io::ErrorKind::ConnectionRefused, "test")),
                Mode::Hang => std::future::pending().await,
                Mode::Loopback => {
                    assert!(addr.ip().is_loopback(), "a test tried to connect to {addr}");
                    TcpStream::connect(addr).await
                }
            }
        })
    }
}

/// A guard on `policy` with `resolver` and `connector`.
pub(super) fn guard(
    policy: EgressPolicy,
    resolver: &Arc<FakeResolver>,
    connector: &Arc<RecordingConnector>,
) -> EgressGuard {
    EgressGuard::new(policy)
        .with_resolver(resolver.clone())
        .with_connector(connector.clone())
}

/// The form a token refresh sends, with canary-marked secrets.
pub(super) fn refresh_form() -> [(&'static str, &'static str); 2] {
    [
        ("grant_type", "refresh_token"),
        ("refresh_token", "canary-5e3c7-refresh/token+1"),
    ]
}
