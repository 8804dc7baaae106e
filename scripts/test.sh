#!/usr/bin/env bash
# `make test`: formatting, lints, and every test against a private emulator on a free port.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_venv
# A gate build starts from nothing more often than not: incremental state would only add GBs.
export CARGO_INCREMENTAL=0

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "openapi.yaml: /v1 mirror, spectral, redocly, patterns"
scripts/lint-openapi.sh

log "template.yaml: cfn-lint, checkov (skips and their reasons: .checkov.yaml) and consistency with the code"
"$VENV/bin/cfn-lint" template.yaml
ensure_checkov
"$ROOT/.venv-checkov/bin/checkov" -f template.yaml --config-file .checkov.yaml
cargo build --quiet --locked -p local-server
target/debug/local-server --routes > target/routes.txt
"$VENV/bin/python" scripts/check_template.py template.yaml target/routes.txt
# The pinned SAM CLI's `sam build`: on a broken copy of the template (must fail), then on
# template.yaml (the release arm64 build of every function, via scripts/build.sh).
log "sam build: a broken copy of template.yaml must fail; template.yaml must build every function"
scripts/check-sam-build.sh

port="$(free_port)"
export EMULATOR_LOG="$ROOT/target/emulator-test.log"
mkdir -p "$ROOT/target"
log "starting the emulator on 127.0.0.1:$port"
start_emulator "$port"
trap stop_emulator EXIT
export EMULATOR_ENDPOINT="http://127.0.0.1:$port"

# The OAuth tests start their own token endpoints (tools/python/oauth_server.py, Authlib).
ensure_oauth_server
log "tools/python: unit tests of the moto wrapper and of the OAuth token endpoint"
"$VENV/bin/python" -m unittest tools/python/test_moto_serialized.py
"$ROOT/.venv-oauth/bin/python" -m unittest tools/python/test_oauth_server.py
export TEST_LOG_DIR="$ROOT/target/test-logs"
rm -rf "$TEST_LOG_DIR"
log "cargo build (every binary, for the smoke tests)"
cargo build --workspace --bins --locked
log "cargo test"
results="$ROOT/target/test-results.txt"
cargo test --workspace --locked --lib --bins --tests 2>&1 | tee "$results"

# Every secret the tests send carries this canary; no log line may contain it.
log "scanning the suite's logs for secret values"
if ! ls "$TEST_LOG_DIR"/*.jsonl >/dev/null 2>&1 || ! grep -q '"message":"request"' "$TEST_LOG_DIR"/*.jsonl; then
  log "no captured logs in $TEST_LOG_DIR: the scan would prove nothing"
  exit 1
fi
if grep -l "canary-5e3c7" "$TEST_LOG_DIR"/*.jsonl; then
  log "FAILED: a secret value appears in the logs above"
  exit 1
fi
log "no secret value in $(cat "$TEST_LOG_DIR"/*.jsonl | wc -l) captured log lines"

# Contract fuzzing: schemathesis drives the local server (real handlers, emulator behind it)
# from openapi.yaml with a valid key, with every check in every phase (examples, coverage,
# fuzzing, and the stateful phase along the spec's links), plus the hook that no submitted
# secret value comes back. Its only settings are in schemathesis.toml, each with its reason.
log "schemathesis --checks all (every phase, stateful included) against the local server"
export AWS_ENDPOINT_URL="$EMULATOR_ENDPOINT"
export TABLE_NAME="schemathesis-$port"
setup_output="$(target/debug/credentials-admin setup --alias "alias/schemathesis-$port")"
export KMS_KEY_ID IDEMPOTENCY_KEY_ID
KMS_KEY_ID="$(sed -n 's/^KMS_KEY_ID=//p' <<<"$setup_output")"
IDEMPOTENCY_KEY_ID="$(sed -n 's/^IDEMPOTENCY_KEY_ID=//p' <<<"$setup_output")"
fuzz_key="$(target/debug/credentials-admin mint-key --workspace fuzz --scopes read,write,purge,audit 2>/dev/null | tail -n 1)"
server_port="$(free_port)"
PORT="$server_port" LOG_LEVEL=warn EGRESS_LOCAL_MODE=true target/debug/local-server >"$ROOT/target/schemathesis-server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; stop_emulator' EXIT
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$server_port") 2>/dev/null && break; sleep 0.1; done
PYTHONPATH="$ROOT/tools/python" SCHEMATHESIS_HOOKS=schemathesis_hooks \
  "$VENV/bin/schemathesis" run openapi.yaml \
    --url "http://127.0.0.1:$server_port" \
    --header "Authorization: Bearer $fuzz_key" \
    --checks all \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-100}" --seed 1 --workers 1 \
    --report junit --report-dir "$ROOT/target/schemathesis" \
    --warnings off

# The local Lambda Invoke API, driven with boto3 as a Python pipeline would.
log "local Lambda Invoke API through boto3"
"$VENV/bin/python" tools/python/invoke_api_check.py "http://127.0.0.1:$server_port" "$fuzz_key"

# Rotation under load: 200 rotations while 8 resolvers read current and previous; any
# failed resolve, or a value other than the one written as its version, fails the suite.
log "rotation under load (200 rotations, 8 resolvers)"
load_key="$(target/debug/credentials-admin mint-key --workspace rotation-load --scopes read,write,resolve 2>/dev/null | tail -n 1)"
"$VENV/bin/python" tools/python/rotation_load.py "http://127.0.0.1:$server_port" "$load_key"

# The Python client (clients/python) and its Airflow secrets backend, against this server:
# lints, types, its wheel, its pytest suite through boto3, and real Airflow (pinned venvs).
log "Python client (clients/python): ruff, mypy --strict, wheel, pytest, Airflow backend"
scripts/test-python-client.sh "http://127.0.0.1:$server_port"
cat "$ROOT/target/pyclient/result.txt" >>"$results"

# The Python client openapi-python-client generates from openapi.yaml, through a whole
# lifecycle against the same server.
log "generated Python client (openapi-python-client): a lifecycle against the local server"
ensure_client_generator
rm -rf "$ROOT/target/python-client"
"$ROOT/.venv-client/bin/openapi-python-client" generate --path openapi.yaml \
  --config tools/python/openapi-client.yaml --output-path "$ROOT/target/python-client" --meta setup 2>&1 \
  | tee "$ROOT/target/python-client.log"
# It reports a schema it cannot process (and drops it) on stderr, as a warning or "Unable to".
if grep -qiE "warning|unable to" "$ROOT/target/python-client.log"; then
  log "FAILED: openapi-python-client warned about openapi.yaml"
  exit 1
fi
PYTHONPATH="$ROOT/target/python-client" "$ROOT/.venv-client/bin/python" tools/python/client_lifecycle.py \
  "http://127.0.0.1:$server_port" "$fuzz_key"
kill "$server_pid" 2>/dev/null || true

# One closing line for the whole suite.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "suite: %d passed, %d failed\n", p, f }' "$results"
