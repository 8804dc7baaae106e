//! Captures every log line a test binary emits, through the production JSON subscriber.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, Once};

use tracing::level_filters::LevelFilter;

static CAPTURED: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static FILE: Mutex<Option<File>> = Mutex::new(None);
static INIT: Once = Once::new();

/// Where whole-suite logs go: `make test` scans this folder for canaries.
pub fn log_dir() -> PathBuf {
    std::env::var_os("TEST_LOG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/test-logs"
            ))
        })
}

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        if let Some(file) = FILE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            file.write_all(buf)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the production subscriber (debug level, so more is scanned) writing to the
/// capture. Idempotent.
pub fn capture() {
    INIT.call_once(|| {
        let dir = log_dir();
        std::fs::create_dir_all(&dir).expect("create log dir");
        let exe = std::env::current_exe().expect("current exe");
        let stem = exe.file_stem().and_then(|s| s.to_str()).unwrap_or("tests");
        let path = dir.join(format!("{stem}-{}.jsonl", std::process::id()));
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("open log file");
        *FILE.lock().unwrap() = Some(file);
        // The production filter, one level more verbose, so that more is scanned.
        credentials_core::telemetry::install(|| Capture, LevelFilter::DEBUG);
    });
}

/// Everything logged so far by this test binary.
pub fn captured() -> String {
    String::from_utf8_lossy(&CAPTURED.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// Asserts no logged line contains `needle` (and that logging works at all).
#[track_caller]
pub fn assert_not_logged(needle: &str) {
    let logs = captured();
    assert!(
        logs.contains("\"message\":\"request\""),
        "no request was logged: the capture is not working"
    );
    assert!(!logs.contains(needle), "a secret value was logged");
}
