//! The local server (the API Gateway stand-in, release build) and a keep-alive client to it:
//! the warm and list figures are taken through it, and it makes the credentials the cold
//! starts act on.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::process::Child;

use crate::Error;

pub struct LocalServer {
    pub addr: SocketAddr,
    /// Killed when the server is dropped.
    _process: Child,
}

impl LocalServer {
    /// Starts `bin_dir/local-server` with the environment the functions get.
    pub fn start(bin_dir: &Path, env: &[(&str, String)]) -> Result<Self, Error> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let process = tokio::process::Command::new(bin_dir.join("local-server"))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("PORT", port.to_string())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        Ok(Self {
            addr: format!("127.0.0.1:{port}").parse()?,
            _process: process,
        })
    }

    /// A client, once the server accepts connections.
    pub async fn client(&self, key: &str) -> Client {
        loop {
            match Client::connect(self.addr, key).await {
                Ok(c) => return c,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }
}

/// One keep-alive HTTP/1.1 connection to the local server.
pub struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    key: String,
}

impl Client {
    pub async fn connect(addr: SocketAddr, key: &str) -> Result<Self, Error> {
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
    pub async fn timed(
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

    /// Creates a database credential named `name`: how long it took, and its id.
    pub async fn create(&mut self, name: &str) -> Result<(Duration, String), Error> {
        let body = database_body(name);
        let (elapsed, created) = self
            .timed("POST", "/api/credentials", Some(&body), 201)
            .await?;
        Ok((elapsed, created["data"]["id"].as_str().unwrap().to_owned()))
    }
}

/// The body of a create request for a database credential named `name`.
impl Client {
    /// A new password: one more secret version, current. Returns the time it took.
    pub async fn rotate(&mut self, id: &str, n: usize) -> Result<Duration, Error> {
        let body = json!({"config": {"password": format!("bench-password-{n}")}});
        let path = format!("/api/credentials/{id}");
        Ok(self.timed("PUT", &path, Some(&body), 200).await?.0)
    }
}

pub fn database_body(name: &str) -> Value {
    json!({"name": name, "type": "database", "config": {
        "engine": "postgresql", "host": "db.internal.example.com", "port": 5432,
        "database": "bench", "username": "etl", "password": "bench-password-value"}})
}
