#!/usr/bin/env bash
# `make bench`: sizes, cold starts, warm latency and list-at-scale figures, printed and
# written to target/bench/summary.json. Not a pass/fail gate.
#   BENCH_SKIP_ARM64=1  skip the arm64 builds: sizes are then of the bootstraps already in
#                       target/lambda, or of the host binaries when one is missing.
#   BENCH_BEFORE=1      also each function's cold start as it was before keys named their
#                       workspace: PREWARM=read and an older-format key (a second round of per-function starts)
#   BENCH_QUICK=1       smaller counts (3 cold runs, 20 warm requests, 1,000 loaded), for
#                       iterating; figures are noisier.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_venv
export AWS_LC_SYS_NO_JITTER_ENTROPY=1
started=$SECONDS

if [[ "${BENCH_SKIP_ARM64:-}" != 1 ]]; then
  scripts/build.sh
  log "building hello-world (release, arm64)"
  PATH="$VENV/bin:$PATH" cargo lambda build --release --arm64 --locked --package hello-world --lambda-dir target/lambda
fi

# Host builds for running, in the `host-bench` profile (release without fat LTO; see
# Cargo.toml). One function at a time, so that no function links another's features; the
# local server and the bench in one go (both link `credentials-core` with the same features).
for package in functions/* tools/hello-world tools/hello-dynamodb; do
  name="$(sed -n 's/^name = "\(.*\)"/\1/p' "$package/Cargo.toml" | head -n 1)"
  log "building $name (host-bench, host)"
  cargo build --profile host-bench --locked --quiet -p "$name"
done
log "building local-server and bench (host-bench, host)"
cargo build --profile host-bench --locked --quiet -p local-server -p bench
export BENCH_BIN_DIR="$ROOT/target/host-bench"
log "builds took $((SECONDS - started)) s"

port="$(free_port)"
export EMULATOR_LOG="$ROOT/target/emulator-bench.log"
log "starting the emulator on 127.0.0.1:$port"
start_emulator "$port"
trap stop_emulator EXIT

# The cold starts reach the emulator over TLS, as functions reach DynamoDB: a throwaway CA
# made by the proxy, trusted by the functions through SSL_CERT_FILE.
tls_port="$(free_port)"
mkdir -p "$ROOT/target/bench"
"$VENV/bin/python" tools/python/tls_proxy.py --port "$tls_port" --upstream "127.0.0.1:$port" \
  --ca-out "$ROOT/target/bench/ca.pem" >"$ROOT/target/bench/tls-proxy.log" 2>&1 &
proxy_pid=$!
trap 'kill "$proxy_pid" 2>/dev/null || true; stop_emulator; log "make bench took $((SECONDS - started)) s"' EXIT
for _ in $(seq 1 100); do grep -q ready "$ROOT/target/bench/tls-proxy.log" 2>/dev/null && break; sleep 0.1; done

EMULATOR_ENDPOINT="http://127.0.0.1:$port" EMULATOR_TLS_ENDPOINT="https://localhost:$tls_port" \
  BENCH_CA_FILE="$ROOT/target/bench/ca.pem" BENCH_ROOT="$ROOT" "$BENCH_BIN_DIR/credentials-bench"
