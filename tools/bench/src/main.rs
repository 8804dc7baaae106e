//! `make bench`: measures, in one run against the emulator,
//! - the bootstrap size and cold start (process start to first answer through a loopback
//!   Lambda Runtime API) and peak RSS of each function behind the API (resolve-credential:
//!   in process only), next to a bare `lambda_http` hello world;
//! - warm latency per route through the local server, next to raw SDK calls of its call
//!   budget (`raw.rs`), against the same emulator;
//! - the get, list, resolve, soft delete and restore handlers called in process, each call
//!   taken in turn with the raw SDK calls it makes (no HTTP hop);
//! - list page latency and Query calls per page in workspaces of 100 and 10,000 credentials.
//!
//! Prints a table and writes `target/bench/summary.json`. Figures, not pass/fail: the
//! budgets are compared and reported, never asserted.

mod cold_start;
mod inprocess;
mod items;
mod list_scale;
mod raw;
mod report;
mod server;
mod sizes;
mod stack;
mod stats;
mod trim;
mod warm;

use std::path::PathBuf;

use report::Report;
use server::LocalServer;
use sizes::Sizes;
use stack::Stack;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Credentials per page in every list request.
const PAGE: usize = 50;

/// What a run measures against, from the environment `scripts/bench.sh` sets.
struct Config {
    endpoint: String,
    /// The project root: `target/lambda` bootstraps are read, `target/bench` is written.
    root: PathBuf,
    /// Where the host binaries that run are (`target/host-bench` by default).
    bin_dir: PathBuf,
    /// The emulator behind TLS, for the cold starts.
    tls: cold_start::Tls,
    cold_runs: usize,
    warm_requests: usize,
    scale_large: usize,
    /// `BENCH_QUICK=1`: smaller counts, for iterating (figures are noisier).
    quick: bool,
    /// `BENCH_BEFORE=1`: also each function's cold start as it was before (see
    /// `cold_start::ColdStarts::before`); doubles the cold phase.
    before: bool,
}

impl Config {
    fn from_env() -> Result<Self, Error> {
        let endpoint = std::env::var("EMULATOR_ENDPOINT")
            .map_err(|_| "EMULATOR_ENDPOINT is not set: run `make bench`")?;
        let root = PathBuf::from(std::env::var("BENCH_ROOT").unwrap_or_else(|_| ".".into()));
        let bin_dir = std::env::var_os("BENCH_BIN_DIR")
            .map_or_else(|| root.join("target/host-bench"), PathBuf::from);
        let tls = cold_start::Tls {
            endpoint: std::env::var("EMULATOR_TLS_ENDPOINT")
                .map_err(|_| "EMULATOR_TLS_ENDPOINT is not set: run `make bench`")?,
            ca_file: std::env::var("BENCH_CA_FILE")
                .map_err(|_| "BENCH_CA_FILE is not set: run `make bench`")?,
        };
        let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| v == "1");
        let pick = |full: usize, small: usize| if quick { small } else { full };
        Ok(Self {
            endpoint,
            root,
            bin_dir,
            tls,
            cold_runs: count("BENCH_COLD_RUNS", pick(8, 3)),
            warm_requests: count("BENCH_WARM_REQUESTS", pick(40, 20)),
            scale_large: count("BENCH_SCALE_LARGE", pick(10_000, 1_000)),
            quick,
            before: std::env::var("BENCH_BEFORE").is_ok_and(|v| v == "1"),
        })
    }
}

/// How long each phase of the run took, printed as it ends (to see where a run's minutes
/// go).
struct Phases(std::time::Instant);

impl Phases {
    fn start() -> Self {
        Self(std::time::Instant::now())
    }

    fn done(&mut self, phase: &str) {
        eprintln!("  {phase}: {:.0} s", self.0.elapsed().as_secs_f64());
        self.0 = std::time::Instant::now();
    }
}

/// A count from the environment (for quick trial runs), else the documented default.
fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, command, id] = args.as_slice() {
        if command == "floor-probe" {
            // The functions' runtime: tokio's current-thread one.
            return tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(cold_start::run_floor_probe(id));
        }
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bench())
}

async fn bench() -> Result<(), Error> {
    let config = Config::from_env()?;
    let stack = Stack::start(&config.endpoint).await?;
    let server = LocalServer::start(&config.bin_dir, &stack.function_env())?;
    let mut client = server.client(&stack.key).await;
    // Warm the emulator up (its first call per service is slow) before anything is timed;
    // reads and updates act on the credential this makes.
    let (_, fixed_id) = client.create("warm-up").await?;
    let sizes = Sizes::find(&config.root, &config.bin_dir);
    let mut phases = Phases::start();
    // The cold starts on tables of their own (see `cold_start::ColdTable`).
    let cold = {
        let mut table = cold_start::ColdTable::start(&config.endpoint, &config.bin_dir).await?;
        let mut before = if config.before {
            Some(cold_start::ColdTable::start(&config.endpoint, &config.bin_dir).await?)
        } else {
            None
        };
        let cold = cold_start::measure(
            &mut table,
            before.as_mut(),
            &config.bin_dir,
            config.cold_runs,
            &config.tls,
        )
        .await?;
        table.delete().await?;
        if let Some(before) = before {
            before.delete().await?;
        }
        cold
    };
    phases.done("cold starts");
    let warm = warm::measure(&stack, &mut client, &fixed_id, config.warm_requests).await?;
    phases.done("warm latency");
    let raw = raw::measure(&stack, &fixed_id, config.warm_requests).await?;
    phases.done("raw calls");
    let inprocess =
        inprocess::measure(&stack, &mut client, &fixed_id, config.warm_requests).await?;
    phases.done("in process");
    let list = list_scale::measure(&stack, server.addr, config.scale_large).await?;
    phases.done("list at scale");

    let report = Report::new(&config, &sizes, cold, &warm, raw, inprocess, list);
    let path = report.write(&config.root)?;
    report.print();
    println!("\nwrote {}", path.display());
    Ok(())
}
