//! Real requests to a server on 127.0.0.1, in local mode: the resolver answers
//! `idp.test` with 127.0.0.1, and the connector records where it connected.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use secrecy::ExposeSecret as _;

use super::server::{response, Reply, Server};
use super::{guard, refresh_form, FakeResolver, RecordingConnector, CANARY};
use crate::egress::{AddressClass, EgressError, EgressGuard, EgressPolicy, Stage};

struct Setup {
    server: Server,
    resolver: Arc<FakeResolver>,
    connector: Arc<RecordingConnector>,
    guard: EgressGuard,
}

impl Setup {
    async fn new(reply: Reply, policy: EgressPolicy) -> Self {
        let server = Server::start(reply).await;
        let resolver = Arc::new(FakeResolver::default().with("idp.test", &["127.0.0.1"]));
        let connector = RecordingConnector::loopback();
        let guard = guard(policy, &resolver, &connector);
        Self {
            server,
            resolver,
            connector,
            guard,
        }
    }

    fn url(&self, scheme: &str) -> String {
        let port = self.server.port();
        format!("{scheme}://idp.test:{port}/oauth/token?tenant={CANARY}-tenant")
    }

    async fn post(&self, scheme: &str) -> Result<crate::egress::EgressResponse, EgressError> {
        self.guard
            .post_form(
                &self.url(scheme),
                &refresh_form(),
                Some(("client-id", "canary-5e3c7-cs")),
            )
            .await
    }
}

const TOKEN: &str =
    r#"{"access_token":"canary-5e3c7-access","token_type":"Bearer","expires_in":3600}"#;

fn local_with_cap(cap: usize) -> EgressPolicy {
    EgressPolicy {
        max_response_bytes: cap,
        ..EgressPolicy::local()
    }
}

#[tokio::test]
async fn a_token_request_reaches_the_loopback_server_and_its_answer_comes_back() {
    let reply = response("200 OK", &["content-type: application/json"], TOKEN);
    let setup = Setup::new(Reply::Bytes(reply), EgressPolicy::local()).await;
    let answer = setup.post("http").await.expect("an answer");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.retry_after, None);
    assert_eq!(answer.body.expose_secret(), TOKEN.as_bytes());
    assert!(!format!("{answer:?}").contains(CANARY));

    let port = setup.server.port();
    assert_eq!(setup.resolver.calls(), 1);
    assert_eq!(setup.connector.attempts(), vec![setup.server.addr]);
    let requests = setup.server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    let expected_line = format!("POST /oauth/token?tenant={CANARY}-tenant HTTP/1.1\r\n");
    assert!(request.head.starts_with(&expected_line), "{}", request.head);
    assert_eq!(request.header("host"), Some(format!("idp.test:{port}")));
    assert_eq!(
        request.header("content-type").as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        request.header("accept").as_deref(),
        Some("application/json")
    );
    let credentials = base64::engine::general_purpose::STANDARD.encode("client-id:canary-5e3c7-cs");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Basic {credentials}"))
    );
    assert_eq!(
        request.body,
        b"grant_type=refresh_token&refresh_token=canary-5e3c7-refresh%2Ftoken%2B1"
    );
}

#[tokio::test]
async fn error_statuses_are_answers_and_carry_retry_after() {
    let reply = response("429 Too Many Requests", &["retry-after: 7"], "{}");
    let setup = Setup::new(Reply::Bytes(reply), EgressPolicy::local()).await;
    let answer = setup.post("http").await.expect("an answer");
    assert_eq!(answer.status, 429);
    assert_eq!(answer.retry_after, Some(Duration::from_secs(7)));

    let body = r#"{"error":"invalid_grant"}"#;
    let setup = Setup::new(
        Reply::Bytes(response("400 Bad Request", &[], body)),
        EgressPolicy::local(),
    )
    .await;
    let answer = setup.post("http").await.expect("an answer");
    assert_eq!(answer.status, 400);
    assert_eq!(answer.body.expose_secret(), body.as_bytes());
}

#[tokio::test]
async fn a_body_over_the_cap_is_too_large() {
    let cap = 1024;
    let exactly = "x".repeat(cap);
    let setup = Setup::new(
        Reply::Bytes(response("200 OK", &[], &exactly)),
        local_with_cap(cap),
    )
    .await;
    assert_eq!(
        setup
            .post("http")
            .await
            .expect("at the cap")
            .body
            .expose_secret()
            .len(),
        cap
    );

    let over = "x".repeat(cap + 1);
    let setup = Setup::new(
        Reply::Bytes(response("200 OK", &[], &over)),
        local_with_cap(cap),
    )
    .await;
    assert_eq!(setup.post("http").await.unwrap_err(), EgressError::TooLarge);

    // No declared length: chunks that add up past the cap.
    let mut chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        chunked.extend_from_slice(format!("258\r\n{}\r\n", "y".repeat(600)).as_bytes());
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let setup = Setup::new(Reply::Bytes(chunked), local_with_cap(cap)).await;
    assert_eq!(setup.post("http").await.unwrap_err(), EgressError::TooLarge);
}

#[tokio::test]
async fn a_redirect_is_refused_and_not_followed() {
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "303 See Other",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let location = format!("location: http://127.0.0.1:9/{CANARY}-elsewhere");
        let reply = response(status, &[&location], "");
        let setup = Setup::new(Reply::Bytes(reply), EgressPolicy::local()).await;
        let error = setup.post("http").await.unwrap_err();
        assert_eq!(error, EgressError::Redirect, "{status}");
        assert!(!error.to_string().contains(CANARY));
        assert_eq!(setup.server.connections(), 1, "{status}");
        assert_eq!(setup.connector.attempts().len(), 1, "{status}");
    }
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let policy = EgressPolicy {
        total_timeout: Duration::from_millis(300),
        ..EgressPolicy::local()
    };
    // Nothing at all after the request; then a head that promises a body never sent.
    let partial = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"access".to_vec();
    for reply in [Vec::new(), partial] {
        let setup = Setup::new(Reply::Stall(reply), policy.clone()).await;
        assert_eq!(setup.post("http").await.unwrap_err(), EgressError::Timeout);
    }
}

#[tokio::test]
async fn a_hanging_connect_times_out_without_a_socket() {
    let policy = EgressPolicy {
        connect_timeout: Duration::from_millis(100),
        ..EgressPolicy::strict()
    };
    let resolver = Arc::new(FakeResolver::default().with("idp.test", &["93.184.215.14"]));
    let connector = RecordingConnector::hang();
    let error = guard(policy, &resolver, &connector)
        .post_form("https://idp.test/t", &refresh_form(), None)
        .await
        .unwrap_err();
    assert_eq!(error, EgressError::Timeout);
    assert_eq!(connector.attempts().len(), 1);
}

#[tokio::test]
async fn https_to_the_loopback_server_is_attempted_in_local_mode() {
    // A plain HTTP server: the TLS handshake fails; what matters is that the address was not
    // refused and the connection was made.
    let reply = response("400 Bad Request", &[], "");
    let setup = Setup::new(Reply::Immediately(reply.clone()), EgressPolicy::local()).await;
    assert_eq!(
        setup.post("https").await.unwrap_err(),
        EgressError::Transport(Stage::Tls)
    );
    assert_eq!(setup.connector.attempts(), vec![setup.server.addr]);

    // An IP literal is verified as an IP (no SNI), with the same outcome.
    let port = setup.server.port();
    let error = setup
        .guard
        .post_form(
            &format!("https://127.0.0.1:{port}/t"),
            &refresh_form(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(error, EgressError::Transport(Stage::Tls));
}

#[tokio::test]
async fn outside_local_mode_the_loopback_server_is_never_reached() {
    let reply = response("200 OK", &[], TOKEN);
    let setup = Setup::new(Reply::Bytes(reply), EgressPolicy::strict()).await;
    assert_eq!(setup.post("http").await.unwrap_err(), EgressError::NotHttps);
    assert_eq!(
        setup.post("https").await.unwrap_err(),
        EgressError::ForbiddenAddress(AddressClass::Loopback)
    );
    assert!(setup.connector.attempts().is_empty());
    assert_eq!(setup.server.connections(), 0);
}

#[tokio::test]
async fn malformed_or_oversized_heads_are_transport_errors() {
    let garbage = b"not http at all\r\n\r\n".to_vec();
    let big_header = format!("x-filler: {}", "z".repeat(20 * 1024));
    let oversized = response("200 OK", &[&big_header], "{}");
    for reply in [garbage, oversized] {
        let setup = Setup::new(Reply::Bytes(reply), EgressPolicy::local()).await;
        assert_eq!(
            setup.post("http").await.unwrap_err(),
            EgressError::Transport(Stage::Http)
        );
    }
}

#[tokio::test]
async fn the_system_resolver_reaches_localhost() {
    let reply = response("200 OK", &[], TOKEN);
    let server = Server::start(Reply::Bytes(reply)).await;
    let connector = RecordingConnector::loopback();
    let guard = EgressGuard::new(EgressPolicy::local()).with_connector(connector.clone());
    let url = format!("http://localhost:{}/token", server.port());
    let answer = guard
        .post_form(&url, &refresh_form(), None)
        .await
        .expect("an answer");
    assert_eq!(answer.status, 200);
    // Whatever localhost resolves to, the connection that answered is the server's.
    assert_eq!(connector.attempts().last(), Some(&server.addr));
}
