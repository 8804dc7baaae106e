#!/usr/bin/env bash
# `make bench`: sizes, cold starts, warm latency and list-at-scale figures, printed and
# written to target/bench/summary.json. Not a pass/fail gate.
#   BENCH_SKIP_ARM64=1  measure sizes on host binaries instead of arm64 bootstraps.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_venv
export AWS_LC_SYS_NO_JITTER_ENTROPY=1

if [[ "${BENCH_SKIP_ARM64:-}" != 1 ]]; then
  scripts/build.sh
  log "building hello-world (release, arm64)"
  PATH="$VENV/bin:$PATH" cargo lambda build --release --arm64 --locked --package hello-world --lambda-dir target/lambda
fi

# Host builds for running: one package at a time, so no binary links another's features.
for package in functions/* tools/hello-world tools/local-server tools/bench; do
  name="$(sed -n 's/^name = "\(.*\)"/\1/p' "$package/Cargo.toml" | head -n 1)"
  log "building $name (release, host)"
  cargo build --release --locked --quiet -p "$name"
done

port="$(free_port)"
export EMULATOR_LOG="$ROOT/target/emulator-bench.log"
log "starting the emulator on 127.0.0.1:$port"
start_emulator "$port"
trap stop_emulator EXIT

EMULATOR_ENDPOINT="http://127.0.0.1:$port" BENCH_ROOT="$ROOT" target/release/credentials-bench
