//! The local OAuth 2.0 token endpoint (`tools/python/oauth_server.py`, Authlib), one process
//! per test: its clients, counts and injected failures are the test's own. `make test`
//! installs its venv (`.venv-oauth`) before the suite runs.

use std::path::PathBuf;
use std::process::Stdio;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// A running token endpoint on 127.0.0.1; stopped when dropped.
pub struct OauthServer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    child: Child,
}

fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

impl OauthServer {
    pub async fn start() -> Self {
        let python = root().join(".venv-oauth/bin/python");
        assert!(
            python.exists(),
            "{} is missing: `make test` installs it (scripts/lib.sh ensure_oauth_server)",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(root().join("tools/python/oauth_server.py"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the OAuth test server starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .await
            .expect("its first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("the OAuth test server said {line:?}"))
            .to_owned();
        Self { url, child }
    }

    /// The token endpoint's URL.
    pub fn token_url(&self) -> String {
        format!("{}/token", self.url)
    }

    /// Registers a client; returns the refresh token an authorization would have ended with.
    pub async fn register(&self, client: Value) -> String {
        let answer = self.call("POST", "/_control/clients", Some(client)).await;
        answer["refresh_token"]
            .as_str()
            .expect("a refresh token")
            .to_owned()
    }

    /// Makes the next token requests fail (`{"mode": "invalid_grant" | "status" | "delay" |
    /// "omit_refresh_token", "count": n, …}`).
    pub async fn fail(&self, how: Value) {
        self.call("POST", "/_control/fail", Some(how)).await;
    }

    /// Refreshes with `refresh_token` as a third party would (client_secret_post), so that
    /// the token is spent: whoever presents it next gets `invalid_grant`.
    pub async fn spend(&self, client_id: &str, client_secret: &str, refresh_token: &str) {
        let address = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let body = format!(
            "grant_type=refresh_token&refresh_token={refresh_token}&client_id={client_id}&client_secret={client_secret}"
        );
        let request = format!(
            "POST /token HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("answer");
        let text = String::from_utf8(raw).expect("UTF-8");
        assert!(
            text.starts_with("HTTP/1.1 200") || text.starts_with("HTTP/1.0 200"),
            "the refresh token was not spent"
        );
    }

    /// Its counts (`token_requests`, `successful_refreshes`, `reused_refresh_tokens`, …).
    pub async fn stats(&self) -> Value {
        self.call("GET", "/_control/stats", None).await
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let address = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let body = body.unwrap_or(json!(null));
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("answer");
        let text = String::from_utf8(raw).expect("UTF-8");
        let (head, payload) = text.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(
            head.starts_with("HTTP/1.1 20") || head.starts_with("HTTP/1.0 20"),
            "{method} {path}: {head}"
        );
        serde_json::from_str(payload).unwrap_or(Value::Null)
    }
}

impl Drop for OauthServer {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
