//! Every example event in `events/` is one `lambda_http` accepts, and, aimed at a real
//! stack, gets the answer its route promises from the route's handler.

use credentials_core::http::Route;
use test_harness::events::{aimed, all, forced, route_of, LIFECYCLE, UPDATED_PASSWORD};
use test_harness::{database_body, TestApp, TestResponse};

#[tokio::test(flavor = "multi_thread")]
async fn every_event_deserializes_and_is_answered_by_its_handler() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let (body, _) = database_body("event-target");
    let target = app.create(&key, body).await;
    let id = target["id"].as_str().unwrap();

    let events = all();
    assert!(
        events.len() >= 14,
        "one event per function plus a REST API one"
    );
    for (stem, raw) in &events {
        lambda_http::request::from_str(raw).unwrap_or_else(|e| panic!("events/{stem}.json: {e}"));
    }
    // Run them in lifecycle order so each has something to act on.
    for route in LIFECYCLE {
        for (stem, raw) in events.iter().filter(|(stem, _)| route_of(stem) == route) {
            let mut event = aimed(raw, &key, id);
            if route == Route::Purge {
                // Resolved just before: the purge is refused unless forced, with If-Match.
                event = forced(event, &app.etag(&key, id).await);
            }
            let request = lambda_http::request::from_str(&event.to_string()).unwrap();
            let response = local_server::dispatch(&app.state, route, request).await;
            let response = TestResponse::from_lambda(response);
            let expected = match route {
                Route::Create | Route::StageVersion => 201,
                _ => 200,
            };
            assert_eq!(
                response.status, expected,
                "events/{stem}.json: {}",
                response.text
            );
            match route {
                Route::Get | Route::Update => assert_eq!(response.body["data"]["id"], id),
                Route::Purge => assert_eq!(response.body["data"]["purged"], true),
                Route::GetUsage => {
                    assert_eq!(response.body["data"]["resolves_24h"], 1);
                    assert_eq!(
                        response.body["data"]["consumers"][0]["consumer"],
                        "pipeline:orders-nightly"
                    );
                }
                Route::Resolve => {
                    assert_eq!(
                        response.body["data"]["config"]["password"],
                        UPDATED_PASSWORD
                    );
                    assert_eq!(response.body["data"]["secret_version"], 4);
                }
                Route::ListVersions => {
                    let numbers: Vec<_> = response.body["data"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v["version"].as_u64().unwrap())
                        .collect();
                    assert_eq!(numbers, [2, 1]);
                }
                _ => {}
            }
            // API Gateway's request id is the one answered with.
            let gateway_id = event["requestContext"]["requestId"].as_str().unwrap();
            assert_eq!(
                response.header("x-request-id"),
                Some(gateway_id),
                "events/{stem}.json"
            );
        }
    }
    app.request("GET", &format!("/api/credentials/{id}"))
        .key(&key)
        .send()
        .await
        .assert_error(404, "not_found");
}
