//! Structured JSON logs. One line per request (see `api::respond`); SDK internals only at
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

fn filter(level: LevelFilter) -> Targets {
    Targets::new()
        .with_default(level)
        .with_target("aws_smithy_runtime", LevelFilter::WARN)
        .with_target("aws_smithy_runtime_api", LevelFilter::WARN)
        .with_target("aws_config", LevelFilter::WARN)
        .with_target("aws_sdk_dynamodb", LevelFilter::WARN)
        .with_target("aws_sdk_kms", LevelFilter::WARN)
        .with_target("hyper", LevelFilter::WARN)
        .with_target("lambda_runtime", LevelFilter::WARN)
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
        .with_current_span(false)
        .with_span_list(false)
        .with_target(true)
        .with_writer(writer);
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter(level))
        .try_init();
}
