//! OAuth tokens kept alive by the scheduled keep-alive (and token state reset by writes),
//! and token URLs the egress guard refuses before any connect.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use credentials_core::egress::{BoxFuture, Connect, EgressGuard, EgressPolicy, Resolve};
use serde_json::json;
use test_harness::oauth_server::OauthServer;
use test_harness::{secret, unique, TestApp};

use crate::oauth::{access_token, count, oauth_credential, resolve};

#[tokio::test(flavor = "multi_thread")]
async fn the_keep_alive_refreshes_what_expires_soon_and_writes_reset_the_token_state() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let server = OauthServer::start().await;
    // Tokens that live 10 minutes: due for the keep-alive at once.
    let (id, _) = oauth_credential(&app, &key, &server, json!({"access_token_ttl": 600})).await;
    let first = access_token(&resolve(&app, &key, &id, json!({})).await);
    let report = credentials_core::service::refresh::keep_alive(&app.state)
        .await
        .unwrap();
    assert_eq!((report.due, report.refreshed), (1, 1), "{report:?}");
    assert_eq!(count(&server.stats().await, "successful_refreshes"), 2);
    let kept = access_token(&resolve(&app, &key, &id, json!({"min_ttl_seconds": 0})).await);
    assert_ne!(kept, first);
    let events = app
        .request(
            "GET",
            &format!("/api/audit-events?credential_id={id}&action=credential.token_refreshed"),
        )
        .key(&key)
        .send()
        .await;
    assert_eq!(events.body["data"][0]["actor"]["type"], "scheduler");

    // New refresh material (other scopes): the stored access token is no longer answered,
    // the stored (rotated) refresh token stays in use.
    let token_items = |app: &TestApp, id: String| {
        let app = app.clone();
        async move { app.items(&format!("TOK#{id}")).await.len() }
    };
    assert_eq!(token_items(&app, id.clone()).await, 1);
    let path = format!("/api/credentials/{id}");
    app.request("PUT", &path)
        .key(&key)
        .json(&json!({"config": {"scopes": ["read"]}}))
        .send()
        .await;
    let renewed = resolve(&app, &key, &id, json!({})).await;
    assert_ne!(access_token(&renewed), kept);
    assert_eq!(renewed.body["data"]["config"]["scopes"], json!(["read"]));
    // A new refresh token forgets the token state: the new one is used.
    let client_id = renewed.body["data"]["config"]["client_id"]
        .as_str()
        .unwrap();
    let stats = server.stats().await;
    let secret_of_client = stats["by_client"][client_id].clone();
    assert!(secret_of_client.is_object(), "{stats}");
    let grant = server
        .register(
            json!({"client_id": client_id, "client_secret": "second-secret",
            "scopes": ["read", "write"], "rotate_refresh_tokens": true, "access_token_ttl": 600}),
        )
        .await;
    let reset = app
        .request("PUT", &path)
        .key(&key)
        .json(&json!({"config": {"refresh_token": grant, "client_secret": "second-secret"}}))
        .send()
        .await;
    assert_eq!(reset.status, 200, "{}", reset.text);
    assert_eq!(token_items(&app, id.clone()).await, 0);
    access_token(&resolve(&app, &key, &id, json!({})).await);
    assert_eq!(token_items(&app, id.clone()).await, 1);
    assert_eq!(count(&server.stats().await, "reused_refresh_tokens"), 0);
    let purged = app.force_purge(&key, &id).await;
    assert_eq!(purged.status, 200, "{}", purged.text);
    assert_eq!(token_items(&app, id.clone()).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_keep_alive_moves_what_it_cannot_refresh_out_of_the_way() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let server = OauthServer::start().await;
    // Two tokens that live 10 minutes: both due for the keep-alive at once.
    let ttl = json!({"access_token_ttl": 600});
    let (deleted, _) = oauth_credential(&app, &key, &server, ttl.clone()).await;
    let (failing, _) = oauth_credential(&app, &key, &server, ttl).await;
    access_token(&resolve(&app, &key, &deleted, json!({})).await);
    access_token(&resolve(&app, &key, &failing, json!({})).await);
    let soft_deleted = app
        .request("DELETE", &format!("/api/credentials/{deleted}"))
        .key(&key)
        .send()
        .await;
    assert_eq!(soft_deleted.status, 200, "{}", soft_deleted.text);
    server
        .fail(json!({"mode": "status", "status": 503, "count": 1}))
        .await;
    let keep_alive = || credentials_core::service::refresh::keep_alive(&app.state);
    let report = keep_alive().await.unwrap();
    assert_eq!(
        (report.due, report.skipped, report.failed, report.refreshed),
        (2, 1, 1, 0),
        "{report:?}"
    );
    // The deleted one left the index; the failing one waits behind the others for the next
    // run (five minutes on): neither takes a place of the next run now.
    let report = keep_alive().await.unwrap();
    assert_eq!(report.due, 0, "{report:?}");
    let calls = count(&server.stats().await, "token_requests");
    assert_eq!(
        calls, 3,
        "two first refreshes and one failed keep-alive call"
    );
}

/// Resolves every name to one address, as a name pointing inward would.
#[derive(Debug)]
struct Points(IpAddr);

impl Resolve for Points {
    fn resolve<'a>(&'a self, _host: &'a str) -> BoxFuture<'a, std::io::Result<Vec<IpAddr>>> {
        let addr = self.0;
        Box::pin(async move { Ok(vec![addr]) })
    }
}

/// Counts connect attempts, and makes none.
#[derive(Debug, Default)]
struct NoConnect(AtomicUsize);

impl Connect for NoConnect {
    fn connect(&self, _addr: SocketAddr) -> BoxFuture<'_, std::io::Result<tokio::net::TcpStream>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(std::io::Error::other("no connect in this test")) })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_url_that_points_inward_is_refused_before_any_connect() {
    let connects = Arc::new(NoConnect::default());
    for inward in [
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)),
        IpAddr::V4(Ipv4Addr::new(169, 254, 169, 254)),
        IpAddr::V4(Ipv4Addr::new(100, 64, 0, 1)),
        "fd00:ec2::254".parse().unwrap(),
    ] {
        let mut app = TestApp::new().await;
        // Strict, as deployed: the name resolves inward, and nothing is connected to.
        let guard = EgressGuard::new(EgressPolicy::strict())
            .with_resolver(Arc::new(Points(inward)))
            .with_connector(connects.clone());
        app.state = Arc::new((*app.state).clone().with_egress(guard));
        let key = app.admin_key().await;
        let created = app
            .create(
                &key,
                json!({"name": unique("inward"), "type": "oauth", "config": {
                    "client_id": "c", "client_secret": secret("s"),
                    "token_url": "https://tokens.example.com/token",
                    "refresh_token": secret("r")}}),
            )
            .await;
        let id = created["id"].as_str().unwrap();
        resolve(&app, &key, id, json!({}))
            .await
            .assert_error(409, "token_endpoint_refused");
    }
    assert_eq!(connects.0.load(Ordering::SeqCst), 0);
}
