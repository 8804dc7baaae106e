//! The one place property tests get their configuration, so that `make test` gives the same
//! verdict on every run: a fixed seed and case count unless the environment asks otherwise.
//!
//! - `PROPTEST_SEED`: unset → the fixed seed [`FIXED_SEED`]; a number → that seed;
//!   `random` → a fresh seed from the OS (exploration: `make explore`).
//! - `PROPTEST_CASES`: cases per property (default: what each property asks for).
//!
//! The seed in use is printed before each property runs; the test harness shows it when
//! the property fails, so any failure can be replayed with `PROPTEST_SEED=<seed>`. Failures
//! are not persisted to files: a counterexample found is committed as a named example test
//! beside the rule it broke.

use proptest::test_runner::{Config, RngSeed};

/// The seed `make test` runs every property with.
pub const FIXED_SEED: u64 = 0x5eed_c0de_2026_1206;

/// The configuration of one property: `cases` by default, seed and cases as the
/// environment says (see the module docs).
pub fn config(cases: u32) -> Config {
    let seed = match std::env::var("PROPTEST_SEED").ok().as_deref() {
        None | Some("") => FIXED_SEED,
        Some("random") => {
            let mut bytes = [0u8; 8];
            getrandom::getrandom(&mut bytes).expect("the OS random source is available");
            u64::from_le_bytes(bytes)
        }
        Some(number) => number
            .parse()
            .unwrap_or_else(|_| panic!("PROPTEST_SEED must be a number or `random`")),
    };
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    eprintln!("proptest: PROPTEST_SEED={seed} PROPTEST_CASES={cases}");
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}
