//! What init does to the DynamoDB connection before the first event (`PREWARM`): nothing,
//! open it, or open it with a read. Which one answers first depends on how the container
//! is started; `docs/benchmarks.md` ("Prewarm") has the measurements behind the default.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{ConfigBag, HttpClient, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::byte_stream::ByteStream;

use super::{Store, StoreError};

/// What init does before the first event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prewarm {
    /// Nothing: the first request opens the connection itself.
    None,
    /// TCP and TLS, carried by an unsigned `GET /` (see [`Store::prewarm_connect`]).
    Connect,
    /// TCP and TLS, carried by one signed `GetItem` of an API key nobody has (one read unit):
    /// the response parsing has run once as well (connect's stopped `GetItem` already
    /// serializes and signs).
    Read,
}

impl Prewarm {
    /// `PREWARM` (`none`, `connect`, `read`, or `auto`/unset) and, for `auto`, how Lambda
    /// started this container (`AWS_LAMBDA_INITIALIZATION_TYPE`). `Err` names a value that
    /// is none of these.
    pub fn from_env() -> Result<Self, String> {
        let chosen = std::env::var("PREWARM").unwrap_or_default();
        let initialization = std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE").unwrap_or_default();
        Self::choose(&chosen, &initialization)
    }

    /// `auto`: an on-demand container gets its first event as soon as init ends, so a
    /// warm-up only adds its round trip before the first answer (the first request opens the
    /// connection it needs anyway): none. A provisioned-concurrency container is initialized
    /// before any event arrives, off the clock: read — in `make bench`, after the emulator
    /// fixes of 2026-12-07, faster than none in every run and, summed over get and resolve,
    /// faster than connect (docs/benchmarks.md, Prewarm). Its connection helps only while it
    /// stays open: hyper's pool drops it after 90 s idle, or sooner if DynamoDB closes it.
    pub fn choose(chosen: &str, initialization: &str) -> Result<Self, String> {
        match chosen {
            "none" => Ok(Self::None),
            "connect" => Ok(Self::Connect),
            "read" => Ok(Self::Read),
            "" | "auto" => Ok(match initialization {
                "provisioned-concurrency" => Self::Read,
                _ => Self::None,
            }),
            other => Err(format!(
                "PREWARM is {other:?}; expected none, connect, read or auto"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Connect => "connect",
            Self::Read => "read",
        }
    }
}

impl Store {
    /// Runs `mode`'s warm-up. Best effort: the caller logs a failure and the first request
    /// connects as usual.
    pub async fn prewarm(&self, mode: Prewarm) -> Result<(), StoreError> {
        match mode {
            Prewarm::None => Ok(()),
            Prewarm::Connect => self.prewarm_connect().await,
            Prewarm::Read => self.get_api_key("~prewarm").await.map(drop),
        }
    }

    /// Opens the connection later requests use, without a DynamoDB operation. The SDK's
    /// HTTP client (hyper-util's pooled client) has no call that opens a connection without
    /// a request: a connection enters its pool only by carrying one. So this takes the
    /// connector the client's own requests go through (the same settings, hence the same
    /// pool) and the endpoint a `GetItem` resolves to — a `GetItem` stopped before it is
    /// sent — and sends an unsigned `GET /` there. DynamoDB answers it with a short health
    /// line (`healthy: dynamodb.<region>.amazonaws.com`; observed, not documented by AWS);
    /// its body is read to the end, which is what reliably returns an HTTP/1.1 connection to
    /// the pool.
    async fn prewarm_connect(&self) -> Result<(), StoreError> {
        let taken = TakeConnector::default();
        let slot = taken.0.clone();
        let stopped = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S("~".into()))
            .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("~".into()))
            .customize()
            .interceptor(taken)
            .send()
            .await;
        let taken = slot.lock().map(|mut s| s.take()).unwrap_or(None);
        let (Err(_), Some((connector, endpoint))) = (stopped, taken) else {
            return Err(StoreError::Unavailable);
        };
        let request = HttpRequest::get(&endpoint).map_err(|_| StoreError::Unavailable)?;
        // The connector bounds only the connect; the SDK's attempt timeout does not cover a
        // call made outside an operation, so the answer and its body get the same bound here.
        let answered = async {
            let response = connector.call(request).await.ok()?;
            ByteStream::new(response.into_body()).collect().await.ok()
        };
        match tokio::time::timeout(crate::settings::attempt_timeout(), answered).await {
            Ok(Some(_)) => Ok(()),
            _ => Err(StoreError::Unavailable),
        }
    }
}

/// Takes, just before a request would be sent, the connector it would be sent through
/// (built from the same settings as the orchestrator's, so it is the same cached one) and
/// the endpoint's root, then stops the operation.
#[derive(Debug, Default)]
struct TakeConnector(Arc<Mutex<Option<(SharedHttpConnector, String)>>>);

impl Intercept for TakeConnector {
    fn name(&self) -> &'static str {
        "TakeConnector"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let client = components.http_client().ok_or("no HTTP client")?;
        let timeouts = cfg.load::<TimeoutConfig>().ok_or("no timeout config")?;
        let mut settings = HttpConnectorSettings::builder();
        settings.set_connect_timeout(timeouts.connect_timeout());
        settings.set_read_timeout(timeouts.read_timeout());
        let connector = client.http_connector(&settings.build(), components);
        let root = endpoint_root(context.request().uri()).ok_or("no endpoint")?;
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((connector, root));
        }
        Err("stopped: only its connector was wanted".into())
    }
}

/// `scheme://authority/` of an absolute URI.
fn endpoint_root(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let authority = rest.split(['/', '?']).next().filter(|a| !a.is_empty())?;
    Some(format!("{scheme}://{authority}/"))
}

#[cfg(test)]
mod tests {
    use super::{endpoint_root, Prewarm};

    #[test]
    fn the_root_of_the_endpoint_a_request_resolved_to() {
        assert_eq!(
            endpoint_root("https://dynamodb.eu-west-1.amazonaws.com/").as_deref(),
            Some("https://dynamodb.eu-west-1.amazonaws.com/")
        );
        assert_eq!(
            endpoint_root("https://127.0.0.1:4567?x=1").as_deref(),
            Some("https://127.0.0.1:4567/")
        );
        assert_eq!(endpoint_root("/relative"), None);
    }

    #[test]
    fn auto_warms_up_only_where_init_is_off_the_clock() {
        assert_eq!(Prewarm::choose("", "on-demand"), Ok(Prewarm::None));
        assert_eq!(Prewarm::choose("auto", ""), Ok(Prewarm::None));
        assert_eq!(
            Prewarm::choose("", "provisioned-concurrency"),
            Ok(Prewarm::Read)
        );
        assert_eq!(Prewarm::choose("auto", "snap-start"), Ok(Prewarm::None));
        assert_eq!(
            Prewarm::choose("connect", "on-demand"),
            Ok(Prewarm::Connect)
        );
        assert_eq!(
            Prewarm::choose("none", "provisioned-concurrency"),
            Ok(Prewarm::None)
        );
        assert_eq!(Prewarm::choose("read", ""), Ok(Prewarm::Read));
        assert!(Prewarm::choose("Read", "").is_err());
    }
}
