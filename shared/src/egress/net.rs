//! The guard's two seams, resolution and connection (tests inject both), and its TLS
//! configuration.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// A boxed `Send` future (the seams are object-safe traits).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Resolves a host name to addresses. The guard calls it once per request, checks every
/// answer, and connects only to the answers it checked: nothing resolves the name again.
pub trait Resolve: Send + Sync {
    /// Every address `host` (a DNS name, never an IP literal) resolves to.
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>>;
}

/// The system's resolver (`getaddrinfo` through `tokio::net::lookup_host`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(&'a self, host: &'a str) -> BoxFuture<'a, io::Result<Vec<IpAddr>>> {
        Box::pin(async move {
            let answers = tokio::net::lookup_host((host, 0)).await?;
            Ok(answers.map(|answer| answer.ip()).collect())
        })
    }
}

/// Opens TCP connections. The guard only ever passes an address its policy approved.
pub trait Connect: Send + Sync {
    /// A TCP connection to exactly `addr`.
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>>;
}

/// Plain TCP with `TCP_NODELAY` (the request goes out in one write).
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpConnector;

impl Connect for TcpConnector {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>> {
        Box::pin(async move {
            let stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    }
}

/// The TLS client configuration: rustls on aws-lc (the provider the SDK's client already
/// links), HTTP/1.1 by ALPN, and Mozilla's roots (`webpki-roots`, compiled in: nothing is
/// read or parsed at start-up). When `SSL_CERT_FILE` or `SSL_CERT_DIR` is set, the
/// certificates they name are trusted as well, so an operator can add the CA of an
/// allow-listed internal provider without a rebuild.
pub fn tls_config() -> Arc<ClientConfig> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let from_environment = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    if from_environment {
        let found = rustls_native_certs::load_native_certs();
        let (added, ignored) = roots.add_parsable_certificates(found.certs);
        tracing::info!(
            added,
            ignored,
            errors = found.errors.len(),
            "egress trust store extended from SSL_CERT_FILE/SSL_CERT_DIR"
        );
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("aws-lc supports rustls's default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}
