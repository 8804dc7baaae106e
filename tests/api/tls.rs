//! The functions' HTTPS client: it trusts the roots AWS endpoints chain to, or, when the
//! standard certificate environment names a trust store (`SSL_CERT_FILE`), that one. Checked
//! with a real TLS endpoint: `tools/python/tls_proxy.py` (a throwaway CA and a `localhost`
//! certificate) in front of the emulator, and the get-credential binary started as Lambda
//! starts it. It also opens its DynamoDB connection during init and says so.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use credentials_core::http::Route;
use test_harness::events::{aimed, all};
use test_harness::runtime_api::{spawn_function, target_dir, Outcome, RuntimeApi};
use test_harness::{database_body, emulator_endpoint, TestApp};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The proxy on a free port; the CA it made; the process (killed on drop).
async fn tls_proxy(dir: &std::path::Path) -> (String, PathBuf, tokio::process::Child) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let upstream = emulator_endpoint().trim_start_matches("http://").to_owned();
    let ca = dir.join("ca.pem");
    let mut child = tokio::process::Command::new(root.join(".venv/bin/python"))
        .arg(root.join("tools/python/tls_proxy.py"))
        .args(["--port", &port.to_string(), "--upstream", &upstream])
        .arg("--ca-out")
        .arg(&ca)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the TLS proxy starts (make test installs .venv)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
    assert!(
        matches!(ready, Ok(Ok(Some(ref l))) if l == "ready"),
        "{ready:?}"
    );
    (format!("https://localhost:{port}"), ca, child)
}

#[tokio::test(flavor = "multi_thread")]
async fn https_to_dynamodb_trusts_aws_roots_or_the_certificate_environment() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app.create(&key, database_body("over-tls").0).await;
    let id = created["id"].as_str().unwrap();
    let dir = std::env::temp_dir().join(format!("tls-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let (endpoint, ca, _proxy) = tls_proxy(&dir).await;
    let raw = all()
        .into_iter()
        .find(|(stem, _)| stem == Route::Get.name())
        .unwrap()
        .1;
    let binary = target_dir().join(Route::Get.name());

    let answer = |extra: Vec<(&'static str, String)>| {
        let event = aimed(&raw, &key, id);
        let mut env = vec![
            ("TABLE_NAME", app.table.clone()),
            ("KMS_KEY_ID", app.kms_key_arn.clone()),
            ("AWS_ENDPOINT_URL", endpoint.clone()),
            ("LOG_LEVEL", "info".to_owned()),
        ];
        env.extend(extra);
        let binary = binary.clone();
        async move {
            let runtime = RuntimeApi::start(&event).await;
            let mut child = spawn_function(&binary, runtime.addr, &env);
            let outcome = runtime.outcome(Duration::from_secs(60)).await;
            child.kill().await.unwrap();
            let output = child.wait_with_output().await.unwrap();
            let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
            let Some(Outcome::Response(response)) = outcome else {
                panic!(
                    "no answer: {outcome:?}\n{stdout}\n{}",
                    String::from_utf8_lossy(&output.stderr)
                );
            };
            (response, stdout)
        }
    };

    // Trusting the bench CA through SSL_CERT_FILE: the credential, over TLS, and the
    // connection was opened during init.
    let (trusted, log) = answer(vec![("SSL_CERT_FILE", ca.display().to_string())]).await;
    assert_eq!(trusted["statusCode"], 200, "{trusted}\n{log}");
    assert!(
        log.contains("\"message\":\"connection prewarmed\""),
        "{log}"
    );
    assert!(log.contains("\"prewarm_ms\":"), "{log}");

    // Without it, only AWS's roots are trusted: the local CA is refused (503, and the
    // prewarm failed too), so the built-in trust store is the one in use.
    let (refused, log) = answer(vec![]).await;
    assert_eq!(refused["statusCode"], 503, "{refused}\n{log}");
    assert!(
        log.contains("\"message\":\"connection prewarm failed\""),
        "{log}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
