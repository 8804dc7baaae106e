//! Lambda function for `GET /api/credentials/{id}/usage`. All logic lives in the `credentials-core` crate (folder `shared/`).

use lambda_http::{Error, Request};

// A container serves one request at a time: a current-thread runtime starts no workers.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    credentials_core::telemetry::init();
    // Config and clients are built once per container, not per request.
    let state = credentials_core::AppState::from_env().await?;
    credentials_core::http::function::run(|req: Request| {
        credentials_core::http::get_credential_usage(&state, req)
    })
    .await
}
