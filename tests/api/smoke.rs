//! Each function's real binary, started as the Lambda service starts it (environment only,
//! a Runtime API on loopback), answers one event from `events/`.

use std::time::Duration;

use credentials_core::http::Route;
use test_harness::events::{aimed, all, forced, route_of, LIFECYCLE};
use test_harness::runtime_api::{spawn_function, target_dir, Outcome, RuntimeApi};
use test_harness::{database_body, emulator_endpoint, TestApp};

#[tokio::test(flavor = "multi_thread")]
async fn every_function_binary_starts_from_its_environment_and_answers() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let target = app.create(&key, database_body("smoke-target").0).await;
    let id = target["id"].as_str().unwrap();
    let events = all();
    for route in LIFECYCLE {
        let (stem, raw) = events
            .iter()
            .find(|(stem, _)| stem.as_str() == route.name())
            .unwrap_or_else(|| panic!("no events/{}.json", route.name()));
        assert_eq!(route_of(stem), route);
        let binary = target_dir().join(route.name());
        assert!(
            binary.exists(),
            "{} is not built: `make test` builds every binary first",
            binary.display()
        );

        let mut event = aimed(raw, &key, id);
        if route == Route::Purge {
            // Resolved just before: the purge is refused unless forced, with If-Match.
            event = forced(event, &app.etag(&key, id).await);
        }
        let runtime = RuntimeApi::start(&event).await;
        let mut child = spawn_function(
            &binary,
            runtime.addr,
            &[
                ("TABLE_NAME", app.table.clone()),
                ("KMS_KEY_ID", app.kms_key_arn.clone()),
                ("AWS_ENDPOINT_URL", emulator_endpoint()),
                ("LOG_LEVEL", "info".to_owned()),
            ],
        );
        let outcome = runtime.outcome(Duration::from_secs(60)).await;
        child.kill().await.unwrap();
        let output = child.wait_with_output().await.unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Some(Outcome::Response(response)) = outcome else {
            panic!(
                "{} did not answer: {outcome:?}\n{stdout}\n{}",
                route.name(),
                String::from_utf8_lossy(&output.stderr)
            );
        };
        let expected = match route {
            Route::Create | Route::StageVersion => 201,
            _ => 200,
        };
        assert_eq!(
            response["statusCode"],
            expected,
            "{}: {response}",
            route.name()
        );
        let body: serde_json::Value =
            serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
        assert!(body.get("data").is_some(), "{}: {body}", route.name());
        // Its log line is JSON with the route's name.
        assert!(
            stdout
                .lines()
                .any(|l| l.contains("\"message\":\"request\"") && l.contains(route.name())),
            "{stdout}"
        );
    }
}
