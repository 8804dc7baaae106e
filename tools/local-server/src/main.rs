//! `make dev`'s server: every route on http://127.0.0.1:$PORT until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use credentials_core::AppState;

#[tokio::main]
async fn main() -> Result<(), credentials_core::BoxError> {
    // `--routes`: the route table as served, one `METHOD PATH FUNCTION` per line (the
    // template consistency check compares it with template.yaml).
    if std::env::args().any(|a| a == "--routes") {
        for route in credentials_core::http::Route::routed() {
            for prefix in credentials_core::http::routes::PREFIXES {
                println!(
                    "{} {prefix}{} {}",
                    route.method(),
                    route.path(),
                    route.name()
                );
            }
        }
        return Ok(());
    }
    credentials_core::telemetry::init();
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let host: IpAddr = std::env::var("HOST")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let state = AppState::from_env().await?;
    let listener = local_server::bind(SocketAddr::new(host, port)).await?;
    tracing::info!(address = %listener.local_addr()?, "local server listening");

    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = local_server::serve(listener, state) => result?,
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("local server stopped");
    Ok(())
}
