//! The integration tests: one binary (one link of the AWS SDK), one module per topic. Every
//! test gets its own table and KMS key in the emulator `make test` starts, and goes through
//! the real handlers and SDK clients (`test_harness`).

mod audit;
mod audit_shards;
mod auth;
mod boundary;
mod boundary_migration;
mod boundary_names;
mod boundary_visible;
mod call_budget;
mod concurrency;
#[cfg(feature = "contract")]
mod contract;
mod destinations;
mod events;
mod http_server;
mod oauth;
mod oauth_keep_alive;
mod pagination;
mod preconditions;
mod resolve;
mod retries;
mod routes;
mod secrets;
mod sizes;
mod smoke;
#[cfg(feature = "contract")]
mod template;
mod tls;
mod usage;
#[cfg(feature = "contract")]
mod validation;
mod versions;
mod versions_edges;
