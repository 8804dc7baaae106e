//! Lambda function run by EventBridge Scheduler: keeps OAuth tokens alive (no HTTP route, no
//! API key: its role is the authority). All logic lives in the `credentials-core` crate
//! (folder `shared/`): `service::refresh::keep_alive` (in `service/keep_alive.rs`).

use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};
use lambda_http::Error;
use serde_json::Value;

// A container serves one invocation at a time: a current-thread runtime starts no workers.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    credentials_core::telemetry::init();
    // Config and clients are built once per container, not per invocation.
    let state = credentials_core::AppState::from_env().await?;
    let state = &state;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let report = credentials_core::service::refresh::keep_alive(state)
            .await
            .map_err(|e| Error::from(e.code.as_str()))?;
        Ok::<_, Error>(serde_json::to_value(report)?)
    }))
    .await
}
