//! Lambda function for `DELETE /api/credentials/{id}`. All logic lives in the `shared` crate.

use lambda_http::{Error, Request};

// A container serves one request at a time: a current-thread runtime starts no workers.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    shared::telemetry::init();
    // Config and clients are built once per container, not per request.
    let state = shared::AppState::from_env().await?;
    shared::api::function::run(|req: Request| shared::api::delete_credential(&state, req)).await
}
