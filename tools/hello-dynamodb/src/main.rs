//! `tools/hello-world` plus what any function that reads DynamoDB builds before its first
//! poll: the settings from the environment, the SDK configuration the functions use
//! (`credentials_core::settings::sdk_config`: credentials, region, timeouts, HTTPS client
//! and its trust roots) and a DynamoDB client, on the functions' current-thread runtime.
//! It answers "hello" without a call. `make bench` compares the functions' init with its
//! init: what is left is the functions' own set-up and the loading of their larger binaries.

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let settings = credentials_core::Settings::from_env()?;
    let sdk = credentials_core::settings::sdk_config(&settings)?;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    lambda_http::run(service_fn(move |_req: Request| {
        // Held for the container's life, as the functions hold theirs.
        let _dynamodb = &dynamodb;
        async { Ok::<_, Error>(Response::new(Body::from("hello"))) }
    }))
    .await
}
