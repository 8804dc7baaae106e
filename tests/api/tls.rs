//! The functions' HTTPS client: it trusts the roots AWS endpoints chain to, or, when the
//! standard certificate environment names a trust store (`SSL_CERT_FILE`), that one. Checked
//! with a real TLS endpoint: `tools/python/tls_proxy.py` (a throwaway CA and a `localhost`
//! certificate) in front of the emulator, and the get-credential binary started as Lambda
//! starts it. Each `PREWARM` mode warms what it says during init, and the first request
//! uses the connection a warm-up opened (the proxy counts one connection per process).

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use credentials_core::http::Route;
use test_harness::events::{aimed, all};
use test_harness::runtime_api::{spawn_function, target_dir, Outcome, RuntimeApi};
use test_harness::{database_body, emulator_endpoint, TestApp};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The proxy on a free port; the CA it made; the connections it has accepted so far; the
/// process (killed on drop).
async fn tls_proxy(
    dir: &std::path::Path,
) -> (String, PathBuf, Arc<AtomicUsize>, tokio::process::Child) {
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
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if line == "connection" {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    (format!("https://localhost:{port}"), ca, accepted, child)
}

#[tokio::test(flavor = "multi_thread")]
async fn https_to_dynamodb_trusts_aws_roots_or_the_certificate_environment() {
    let app = TestApp::new().await;
    let key = app.admin_key().await;
    let created = app.create(&key, database_body("over-tls").0).await;
    let id = created["id"].as_str().unwrap();
    let dir = std::env::temp_dir().join(format!("tls-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let (endpoint, ca, accepted, _proxy) = tls_proxy(&dir).await;
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

    // Trusting the bench CA through SSL_CERT_FILE: the credential, over TLS, in each
    // PREWARM mode. A warm-up says so in the log, and the first request went over the
    // connection it opened: one connection for the whole process in every mode (a connect
    // warm-up whose connection were not pooled with the SDK's own would make it two).
    let trusted_ca = ("SSL_CERT_FILE", ca.display().to_string());
    for (mode, initialization, warmed) in [
        ("read", "on-demand", Some("read")),
        ("connect", "on-demand", Some("connect")),
        ("none", "provisioned-concurrency", None),
        ("auto", "on-demand", None),
        ("auto", "provisioned-concurrency", Some("read")),
    ] {
        let before = accepted.load(Ordering::SeqCst);
        let (trusted, log) = answer(vec![
            trusted_ca.clone(),
            ("PREWARM", mode.to_owned()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", initialization.to_owned()),
        ])
        .await;
        assert_eq!(trusted["statusCode"], 200, "{mode}: {trusted}\n{log}");
        assert!(!log.contains("prewarm failed"), "{mode}: {log}");
        match warmed {
            Some(name) => assert!(
                log.contains(&format!("\"prewarm\":\"{name}\",\"prewarm_ms\":"))
                    && log.contains("\"message\":\"connection prewarmed\""),
                "{mode}/{initialization}: {log}"
            ),
            None => assert!(!log.contains("prewarm"), "{mode}/{initialization}: {log}"),
        }
        assert_eq!(
            accepted.load(Ordering::SeqCst) - before,
            1,
            "{mode}/{initialization}: connections opened"
        );
    }

    // A PREWARM that names no mode stops init: the process exits and says why.
    let runtime = RuntimeApi::start(&aimed(&raw, &key, id)).await;
    let env = [
        ("TABLE_NAME", app.table.clone()),
        ("KMS_KEY_ID", app.kms_key_arn.clone()),
        ("AWS_ENDPOINT_URL", endpoint.clone()),
        trusted_ca.clone(),
        ("PREWARM", "always".to_owned()),
    ];
    let child = spawn_function(&binary, runtime.addr, &env);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("init stops")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success() && stderr.contains("PREWARM"),
        "{stderr}"
    );

    // Without it, only AWS's roots are trusted: the local CA is refused (503, and the
    // prewarm failed too), so the built-in trust store is the one in use.
    let (refused, log) = answer(vec![("PREWARM", "read".to_owned())]).await;
    assert_eq!(refused["statusCode"], 503, "{refused}\n{log}");
    assert!(
        log.contains("\"message\":\"connection prewarm failed\""),
        "{log}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
