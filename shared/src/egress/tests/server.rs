//! A tiny HTTP/1 server on 127.0.0.1:0 that answers every connection with one scripted
//! reply and records what it was sent. It lives as long as the test's runtime.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with a connection.
#[derive(Clone)]
pub(in crate::egress) enum Reply {
    /// Reads the request, then writes these bytes and closes.
    Bytes(Vec<u8>),
    /// Reads the request, writes these bytes (a head promising more, or nothing), and then
    /// nothing for a minute.
    Stall(Vec<u8>),
    /// Writes these bytes as soon as it accepts, without reading (a plain HTTP server
    /// meeting a TLS client), then closes.
    Immediately(Vec<u8>),
}

/// A complete response: status line, extra header lines, body (with its length).
pub(in crate::egress) fn response(status: &str, headers: &[&str], body: &str) -> Vec<u8> {
    let mut text = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for line in headers {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}

/// What one request carried.
#[derive(Clone, Debug)]
pub(in crate::egress) struct Recorded {
    /// Request line and headers, as sent.
    pub head: String,
    pub body: Vec<u8>,
}

impl Recorded {
    /// The value of header `name` (case-insensitive), if sent.
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    }
}

pub(in crate::egress) struct Server {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub async fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("its address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (recorded, counted) = (requests.clone(), connections.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, reply.clone(), recorded.clone()));
            }
        });
        Self {
            addr,
            requests,
            connections,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn serve(mut stream: TcpStream, reply: Reply, requests: Arc<Mutex<Vec<Recorded>>>) {
    match reply {
        Reply::Immediately(bytes) => {
            let _ = stream.write_all(&bytes).await;
        }
        Reply::Bytes(bytes) => {
            if read_request(&mut stream, &requests).await {
                let _ = stream.write_all(&bytes).await;
            }
        }
        Reply::Stall(head) => {
            if read_request(&mut stream, &requests).await {
                let _ = stream.write_all(&head).await;
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
        }
    }
}

/// Reads one request (head, then `content-length` bytes of body) and records it.
async fn read_request(stream: &mut TcpStream, requests: &Arc<Mutex<Vec<Recorded>>>) -> bool {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut recorded = Recorded {
        head,
        body: Vec::new(),
    };
    let length: usize = recorded
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    recorded.body = body;
    requests.lock().unwrap().push(recorded);
    true
}
