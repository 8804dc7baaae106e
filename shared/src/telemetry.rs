//! Structured JSON logs. One line per request (see `http::respond`); SDK internals only at
//! warn, because their debug output carries request payloads.

use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn level_from_env() -> LevelFilter {
    std::env::var("LOG_LEVEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(LevelFilter::INFO)
}

/// `LOG_LEVEL` applies to this service's own code; every other crate (the SDK, hyper,
/// rustls, the Lambda runtime…) logs at WARN or above whatever `LOG_LEVEL` is, because
/// their debug output carries request payloads and headers.
fn filter(level: LevelFilter) -> Targets {
    // LevelFilter orders by verbosity: the smaller of WARN and `level` is the quieter.
    Targets::new()
        .with_default(LevelFilter::WARN.min(level))
        .with_target("credentials_core", level)
        .with_target("local_server", level)
        .with_target("credentials_client", level)
}

/// Installs the JSON subscriber writing to stdout (CloudWatch on Lambda), at `LOG_LEVEL`
/// (default `info`).
pub fn init() {
    install(std::io::stdout, level_from_env());
}

/// Installs the JSON subscriber with another sink and level (tests capture logs through
/// this). Does nothing when a subscriber is already installed.
pub fn install<W>(writer: W, level: LevelFilter)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        // The `request` span's fields (key id, workspace, credential id) on every line.
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_writer(writer);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter(level))
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_crates_stay_at_warn_whatever_log_level_says() {
        let filter = filter(LevelFilter::TRACE);
        assert!(filter.would_enable("credentials_core::api", &tracing::Level::TRACE));
        for noisy in [
            "aws_smithy_runtime",
            "hyper_util::client",
            "rustls",
            "lambda_runtime",
            "h2",
        ] {
            assert!(
                !filter.would_enable(noisy, &tracing::Level::INFO),
                "{noisy}"
            );
            assert!(filter.would_enable(noisy, &tracing::Level::WARN), "{noisy}");
        }
        let quiet = super::filter(LevelFilter::ERROR);
        assert!(!quiet.would_enable("rustls", &tracing::Level::WARN));
        assert!(!quiet.would_enable("credentials_core", &tracing::Level::WARN));
    }
}
