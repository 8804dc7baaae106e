//! The figures put side by side: ratios to the hello world and to the raw calls, printed as
//! a table and written to `target/bench/summary.json`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use credentials_core::http::Route;
use serde_json::{json, Value};

use crate::cold_start::{ColdStart, ColdStarts, PrewarmCell, PREWARM_MODES};
use crate::inprocess::InProcess;
use crate::list_scale::{ListScale, SCALE_SMALL};
use crate::sizes::Sizes;
use crate::stats::{round, Stats};
use crate::{raw, Config, Error, PAGE};

const MIB: f64 = 1048576.0;

/// One function's size and cold start, next to the hello world's.
struct Function {
    name: &'static str,
    size_bytes: u64,
    links_kms: bool,
    cold: ColdStart,
    ratio: f64,
    /// Init less its connection prewarm, to the hello world's init.
    init_ratio: f64,
    /// Init less its connection prewarm, to `tools/hello-dynamodb`'s init.
    init_floor_ratio: f64,
    /// Cold penalty to the hello world's process start to first answer.
    cold_penalty_ratio: f64,
    /// First answer to the floor (hello world's first answer + one TLS connection and one
    /// GetItem).
    cold_floor_ratio: f64,
    /// Cold penalty to its floor (the hello world's first answer + what a first call over a
    /// new TLS connection takes beyond the same call over an open one).
    penalty_floor_ratio: f64,
    /// The same function's cold start as before (`BENCH_BEFORE=1`): figures and floor ratio.
    before: Option<(ColdStart, f64)>,
}

/// One route's warm latency, next to the raw calls it makes.
struct Latency {
    name: &'static str,
    warm: Stats,
    raw_calls: &'static [&'static str],
    raw_p50: f64,
    ratio: f64,
}

pub struct Report {
    target: &'static str,
    quick: bool,
    cold_runs: usize,
    warm_requests: usize,
    scale_large: usize,
    hello: ColdStart,
    hello_size_bytes: u64,
    /// `tools/hello-dynamodb`.
    init_floor: ColdStart,
    /// A fresh process's one TLS connection and one GetItem, and the floor it makes.
    connect_and_read_ms: f64,
    /// The same process's second GetItem, and the cold-penalty floor it makes.
    warm_read_ms: f64,
    penalty_floor_ms: f64,
    cold_floor_ms: f64,
    prewarm: Vec<PrewarmCell>,
    functions: Vec<Function>,
    routes: Vec<Latency>,
    raw: BTreeMap<&'static str, Stats>,
    inprocess: Vec<Latency>,
    list: ListScale,
}

/// A route's timing next to the sum of the raw calls it makes, each timed on its own.
fn latency(route: Route, timed: Stats, raw: &BTreeMap<&'static str, Stats>) -> Latency {
    let raw_p50 = raw::baseline(route).iter().map(|op| raw[op].p50).sum();
    latency_to(route, timed, raw_p50)
}

/// A route's timing next to `raw_p50`, the median of its raw calls.
fn latency_to(route: Route, timed: Stats, raw_p50: f64) -> Latency {
    let raw_p50 = round(raw_p50);
    Latency {
        name: route.name(),
        warm: timed,
        raw_calls: raw::baseline(route),
        raw_p50,
        ratio: round(timed.p50 / raw_p50),
    }
}

/// Latencies by route, as the summary writes them.
fn latency_map(latencies: &[Latency]) -> serde_json::Map<String, Value> {
    latencies
        .iter()
        .map(|r| {
            let figures = json!({
                "p50_ms": r.warm.p50, "p99_ms": r.warm.p99, "raw_p50_ms": r.raw_p50,
                "raw_calls": r.raw_calls, "ratio_p50": r.ratio,
            });
            (r.name.to_owned(), figures)
        })
        .collect()
}

/// A table of latencies next to their raw calls.
fn print_latencies(latencies: &[Latency]) {
    println!(
        "{:<20} {:>11} {:>11} {:>11} {:>7}",
        "route", "p50", "p99", "raw p50", "ratio"
    );
    for r in latencies {
        println!(
            "{:<20} {:>8.3} ms {:>8.3} ms {:>8.3} ms {:>6.2}x  ({})",
            r.name,
            r.warm.p50,
            r.warm.p99,
            r.raw_p50,
            r.ratio,
            r.raw_calls.join(" + ")
        );
    }
}

impl Report {
    pub fn new(
        config: &Config,
        sizes: &Sizes,
        cold: ColdStarts,
        warm: &HashMap<Route, Stats>,
        raw: BTreeMap<&'static str, Stats>,
        inprocess: Vec<InProcess>,
        list: ListScale,
    ) -> Self {
        let cold_floor_ms = cold.floor_ms();
        let connect_and_read_ms = cold.connect_and_read_ms;
        let (warm_read_ms, penalty_floor_ms) = (cold.warm_read_ms, cold.penalty_floor_ms());
        let prewarm = cold.prewarm;
        let hello = cold.hello;
        let init_floor = cold.init_floor;
        let mut before: HashMap<Route, ColdStart> = cold.before.into_iter().collect();
        let functions = cold
            .functions
            .into_iter()
            .map(|(route, cold)| Function {
                before: before.remove(&route).map(|b| {
                    let ratio = round(b.median / cold_floor_ms);
                    (b, ratio)
                }),
                name: route.name(),
                size_bytes: sizes.bytes(route.name()),
                links_kms: sizes.links_kms(route.name()),
                ratio: round(cold.median / hello.median),
                init_ratio: round(cold.init_less_prewarm_median / hello.init_median),
                init_floor_ratio: round(cold.init_less_prewarm_median / init_floor.init_median),
                cold_penalty_ratio: round(cold.cold_penalty / hello.median),
                cold_floor_ratio: round(cold.median / cold_floor_ms),
                penalty_floor_ratio: round(cold.cold_penalty / penalty_floor_ms),
                cold,
            })
            .collect();
        let routes = Route::routed()
            .map(|route| latency(route, warm[&route], &raw))
            .collect();
        let inprocess = inprocess
            .into_iter()
            .map(|m| latency_to(m.route, m.handler, m.raw.p50))
            .collect();
        Self {
            target: sizes.target(),
            quick: config.quick,
            cold_runs: config.cold_runs,
            warm_requests: config.warm_requests,
            scale_large: config.scale_large,
            hello,
            hello_size_bytes: sizes.bytes("hello-world"),
            init_floor,
            connect_and_read_ms,
            warm_read_ms,
            penalty_floor_ms,
            cold_floor_ms,
            prewarm,
            functions,
            routes,
            raw,
            inprocess,
            list,
        }
    }

    /// Writes `root/target/bench/summary.json`; returns its path.
    pub fn write(&self, root: &Path) -> Result<PathBuf, Error> {
        let out = root.join("target/bench");
        std::fs::create_dir_all(&out)?;
        let path = out.join("summary.json");
        std::fs::write(&path, serde_json::to_string_pretty(&self.summary())?)?;
        Ok(path)
    }

    fn summary(&self) -> Value {
        let functions: serde_json::Map<String, Value> = self
            .functions
            .iter()
            .map(|f| {
                let figures = json!({
                    "size_bytes": f.size_bytes,
                    "links_kms": f.links_kms,
                    "cold_start_ms_median": f.cold.median,
                    "cold_start_ms_max": f.cold.max,
                    "cold_start_ratio": f.ratio,
                    "init_ms_median": f.cold.init_median,
                    "init_less_prewarm_ms_median": f.cold.init_less_prewarm_median,
                    "init_ratio": f.init_ratio,
                    "init_floor_ratio": f.init_floor_ratio,
                    "prewarm_ms": f.cold.prewarm_median,
                    "first_answer_ms_median": f.cold.median,
                    "warm_p50_ms": f.cold.warm_p50,
                    "cold_penalty_ms": f.cold.cold_penalty,
                    "cold_penalty_ratio": f.cold_penalty_ratio,
                    "first_request_extra_ms": f.cold.first_request_extra,
                    "peak_rss_kb": f.cold.peak_rss_kb,
                    "cold_floor_ms": self.cold_floor_ms,
                    "cold_floor_ratio": f.cold_floor_ratio,
                    "cold_penalty_floor_ratio": f.penalty_floor_ratio,
                    "before": f.before.as_ref().map(|(b, ratio)| json!({
                        "prewarm": "read",
                        "key": "older format (key's record, then the credential)",
                        "first_answer_ms_median": b.median,
                        "init_ms_median": b.init_median,
                        "prewarm_ms": b.prewarm_median,
                        "warm_p50_ms": b.warm_p50,
                        "cold_penalty_ms": b.cold_penalty,
                        "cold_floor_ratio": ratio,
                        "cold_penalty_floor_ratio": round(b.cold_penalty / self.penalty_floor_ms),
                    })),
                });
                (f.name.to_owned(), figures)
            })
            .collect();
        let routes = latency_map(&self.routes);
        let raw: serde_json::Map<String, Value> = self
            .raw
            .iter()
            .map(|(op, s)| (op.to_string(), json!({"p50_ms": s.p50, "p99_ms": s.p99})))
            .collect();
        let inprocess = latency_map(&self.inprocess);
        let hello = &self.hello;
        let prewarm: Vec<Value> = self
            .prewarm
            .iter()
            .map(|c| {
                json!({
                    "function": c.route.name(), "path": c.path, "prewarm": c.mode,
                    "first_answer_ms_median": c.first_answer_ms, "init_ms_median": c.init_ms,
                })
            })
            .collect();
        json!({
            "target": self.target,
            "quick": self.quick,
            "cold_start_runs": self.cold_runs,
            "cold_start_transport": "TLS (tools/python/tls_proxy.py in front of the emulator)",
            "warm_events_per_cold_run": crate::cold_start::WARM_EVENTS,
            "warm_requests_per_route": self.warm_requests,
            "cold_floor": {
                "hello_first_answer_ms": hello.median,
                "connect_and_read_ms": self.connect_and_read_ms,
                "floor_ms": self.cold_floor_ms,
                "goal_ratio": 1.2,
                "warm_read_ms": self.warm_read_ms,
                "penalty_floor_ms": self.penalty_floor_ms,
            },
            "init_floor": {
                "binary": "hello-dynamodb",
                "init_ms_median": self.init_floor.init_median,
                "first_answer_ms_median": self.init_floor.median,
                "peak_rss_kb": self.init_floor.peak_rss_kb,
            },
            "prewarm_modes": prewarm,
            "functions": functions,
            "hello_world": {"size_bytes": self.hello_size_bytes, "cold_start_ms_median": hello.median, "cold_start_ms_max": hello.max, "init_ms_median": hello.init_median, "warm_p50_ms": hello.warm_p50, "cold_penalty_ms": hello.cold_penalty, "peak_rss_kb": hello.peak_rss_kb},
            "routes": routes,
            "inprocess": inprocess,
            "raw": raw,
            "list_scale": {
                "page_size": PAGE,
                "page_ms_100": self.list.small.page_ms,
                "page_ms_10000": self.list.large.page_ms,
                "calls_per_page": self.list.large.calls_per_page,
                "calls_per_page_100": self.list.small.calls_per_page,
                "scans": self.list.small.scans + self.list.large.scans,
            },
        })
    }

    pub fn print(&self) {
        let (target, cold_runs) = (self.target, self.cold_runs);
        println!("\nsizes ({target}) and cold starts ({cold_runs} runs; host binaries, loopback Runtime API, emulator over TLS)");
        println!("(cold = process start to first answer, incl. the route's DynamoDB calls; init = process start to first poll)");
        println!(
            "{:<20} {:>13} {:>12} {:>12} {:>8} {:>12} {:>8} {:>11} {:>5}",
            "function",
            "bootstrap",
            "cold p50",
            "cold max",
            "ratio",
            "init p50",
            "ratio",
            "peak RSS",
            "KMS"
        );
        println!(
            "{:<20} {:>9.2} MiB {:>9.2} ms {:>9.2} ms {:>7}  {:>9.2} ms {:>7}  {:>8} kB {:>5}",
            "hello-world",
            self.hello_size_bytes as f64 / MIB,
            self.hello.median,
            self.hello.max,
            "1.00x",
            self.hello.init_median,
            "1.00x",
            self.hello.peak_rss_kb,
            "no"
        );
        for f in &self.functions {
            println!(
                "{:<20} {:>9.2} MiB {:>9.2} ms {:>9.2} ms {:>7.2}x {:>9.2} ms {:>7.2}x {:>8} kB {:>5}",
                f.name,
                f.size_bytes as f64 / MIB,
                f.cold.median,
                f.cold.max,
                f.ratio,
                f.cold.init_median,
                f.init_ratio,
                f.cold.peak_rss_kb,
                if f.links_kms { "yes" } else { "no" }
            );
        }
        println!(
            "\ninit floor: tools/hello-dynamodb (hello world + the functions' SDK configuration and DynamoDB client) {:.2} ms to its first poll ({:.2}x hello's)",
            self.init_floor.init_median,
            self.init_floor.init_median / self.hello.init_median
        );
        println!(
            "{:<28} {:>16} {:>8}",
            "function", "init - prewarm", "/ floor"
        );
        for f in &self.functions {
            println!(
                "{:<28} {:>13.2} ms {:>7.2}x",
                f.name, f.cold.init_less_prewarm_median, f.init_floor_ratio
            );
        }
        println!("\ncold penalty over TLS (first answer less the warm p50 of the same route in the same process)");
        println!(
            "{:<20} {:>11} {:>11} {:>11} {:>11} {:>11} {:>8} {:>11}",
            "function", "init", "prewarm", "first", "warm p50", "penalty", "ratio", "1st extra"
        );
        for f in &self.functions {
            println!(
                "{:<20} {:>8.2} ms {:>8.2} ms {:>8.2} ms {:>8.2} ms {:>8.2} ms {:>7.2}x {:>8.2} ms",
                f.name,
                f.cold.init_median,
                f.cold.prewarm_median.unwrap_or(0.0),
                f.cold.median,
                f.cold.warm_p50,
                f.cold.cold_penalty,
                f.cold_penalty_ratio,
                f.cold.first_request_extra.unwrap_or(0.0)
            );
        }
        println!(
            "(ratio: penalty / hello world's first answer, {:.2} ms; init ratio above: init less prewarm / hello's init;",
            self.hello.median
        );
        println!("1st extra: the first request's handler time less the warm ones', as the function logged them: mostly the API-key lookup that warm requests skip)");
        println!(
            "\ncold floor: hello world's first answer {:.2} ms + one TLS connection and one GetItem from a fresh process {:.2} ms = {:.2} ms (goal: first answer <= 1.2x)",
            self.hello.median, self.connect_and_read_ms, self.cold_floor_ms
        );
        println!(
            "cold-penalty floor (first answer less warm answers, whatever the calls): {:.2} ms + ({:.2} ms - the same GetItem again over the open connection, {:.2} ms) = {:.2} ms",
            self.hello.median, self.connect_and_read_ms, self.warm_read_ms, self.penalty_floor_ms
        );
        println!(
            "{:<28} {:>11} {:>8} {:>11} {:>8}",
            "function", "first", "/ floor", "penalty", "/ floor"
        );
        for f in &self.functions {
            println!(
                "{:<28} {:>8.2} ms {:>7.2}x {:>8.2} ms {:>7.2}x",
                f.name,
                f.cold.median,
                f.cold_floor_ratio,
                f.cold.cold_penalty,
                f.penalty_floor_ratio
            );
        }
        if self.functions.iter().any(|f| f.before.is_some()) {
            println!("\nbefore (PREWARM=read, older-format key: the key's record, then the credential) and now (default PREWARM, key naming its workspace)");
            println!(
                "{:<28} {:>11} {:>8} {:>11} {:>11} {:>8} {:>11}",
                "function", "before", "/ floor", "penalty", "now", "/ floor", "penalty"
            );
            for f in &self.functions {
                if let Some((b, ratio)) = &f.before {
                    println!(
                        "{:<28} {:>8.2} ms {:>7.2}x {:>8.2} ms {:>8.2} ms {:>7.2}x {:>8.2} ms",
                        f.name,
                        b.median,
                        ratio,
                        b.cold_penalty,
                        f.cold.median,
                        f.cold_floor_ratio,
                        f.cold.cold_penalty
                    );
                }
            }
        }
        println!("\nPREWARM modes: first answer (on demand: from process start; provisioned: from the event's arrival), init in brackets");
        print!("{:<20} {:<24}", "function", "path");
        for mode in PREWARM_MODES {
            print!(" {mode:>21}");
        }
        println!();
        for row in self.prewarm.chunks(PREWARM_MODES.len()) {
            print!("{:<20} {:<24}", row[0].route.name(), row[0].path);
            for c in row {
                print!(" {:>8.2} ms ({:>5.2} ms)", c.first_answer_ms, c.init_ms);
            }
            println!();
        }
        let warm_requests = self.warm_requests;
        println!("\nwarm latency ({warm_requests} sequential requests, key cached) vs the raw calls the route makes");
        print_latencies(&self.routes);
        println!("\nin process: each handler called with its event (key cached) vs the raw calls it makes");
        print_latencies(&self.inprocess);
        let (page_small, page_large) = (self.list.small.page_ms, self.list.large.page_ms);
        let (scale_large, calls_large) = (self.scale_large, self.list.large.calls_per_page);
        let scans = self.list.small.scans + self.list.large.scans;
        println!("\nlist, {PAGE} per page: {page_small:.3} ms with {SCALE_SMALL} credentials, {page_large:.3} ms with {scale_large}; {calls_large} Query per page, {scans} Scan");
    }
}
