# Shared helpers for the project's scripts. Source it; do not run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

# Local AWS settings: a fixed region, dummy static credentials, no metadata probing.
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
export AWS_EC2_METADATA_DISABLED=true
# moto serves one request at a time, in Python, and can be slow under load; a retried
# attempt is not idempotent there as it is on AWS, so give local attempts time to finish.
export SDK_ATTEMPT_TIMEOUT_MS="${SDK_ATTEMPT_TIMEOUT_MS:-15000}"
export SDK_OPERATION_TIMEOUT_MS="${SDK_OPERATION_TIMEOUT_MS:-30000}"

log() { printf '==> %s\n' "$*" >&2; }

# ensure_venv [REQUIREMENTS...]: installs pinned Python tools into the project's .venv,
# once per requirements file (default: the test tools, i.e. the moto server and cfn-lint).
ensure_venv() {
  # The pinned tools (moto 5, schemathesis 4, cfn-lint 1) need Python 3.11 or newer.
  if ! python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    log "python3 3.11 or newer is required (found: $(python3 --version 2>&1 || echo none))"
    exit 1
  fi
  local files=("$@")
  [[ ${#files[@]} -gt 0 ]] || files=(requirements.txt)
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  local file stamp
  for file in "${files[@]}"; do
    stamp="$VENV/.installed-${file%.txt}"
    if [[ -f "$stamp" && "$stamp" -nt "$ROOT/tools/python/$file" && "$stamp" -nt "$ROOT/tools/python/constraints.txt" ]]; then
      continue
    fi
    log "installing pinned Python tools from tools/python/$file into .venv"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
      -r "$ROOT/tools/python/$file" -c "$ROOT/tools/python/constraints.txt"
    touch "$stamp"
  done
}

# ensure_tool_venv DIR REQUIREMENTS: a pinned tool in a venv of its own (DIR under the
# project), installed again whenever its requirements file changes.
ensure_tool_venv() {
  local venv="$ROOT/$1" file="$ROOT/tools/python/$2"
  [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
  if [[ ! -f "$venv/.installed" || "$file" -nt "$venv/.installed" ]]; then
    log "installing pinned tools from tools/python/$2 into $1"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$file"
    touch "$venv/.installed"
  fi
}

# ensure_checkov: checkov (pinned) in .venv-checkov: its dependency pins clash with the
# test tools'.
ensure_checkov() { ensure_tool_venv .venv-checkov requirements-checkov.txt; }

# ensure_client_generator: openapi-python-client (pinned) in .venv-client: its pins
# (pydantic, typer, httpx) are not the test tools'.
ensure_client_generator() { ensure_tool_venv .venv-client requirements-client.txt; }

# ensure_sam: the AWS SAM CLI (pinned) in .venv-sam: its dependency pins clash with the test
# tools'. Run it through scripts/sam.sh, which also turns its network calls off.
ensure_sam() { ensure_tool_venv .venv-sam requirements-sam.txt; }

# ensure_oauth_server: Authlib (pinned) in .venv-oauth, for tools/python/oauth_server.py, the
# local OAuth 2.0 token endpoint of the tests and `make dev` (docs/oauth-test-server.md).
ensure_oauth_server() { ensure_tool_venv .venv-oauth requirements-oauth.txt; }

# ensure_pyclient: the Python client's tools (hatchling, ruff, mypy, boto3-stubs, pytest;
# pinned) in .venv-pyclient, for clients/python (scripts/test-python-client.sh).
ensure_pyclient() { ensure_tool_venv .venv-pyclient requirements-pyclient.txt; }

# ensure_airflow: Apache Airflow (pinned; its dependency pins are its own) in .venv-airflow,
# for the Python client's secrets backend check (scripts/test-python-client.sh).
ensure_airflow() { ensure_tool_venv .venv-airflow requirements-airflow.txt; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_emulator PORT: starts moto on loopback, waits until it answers, sets EMULATOR_PID.
start_emulator() {
  local port="$1"
  "$VENV/bin/python" "$ROOT/tools/python/moto_serialized.py" -H 127.0.0.1 -p "$port" >"${EMULATOR_LOG:-/dev/null}" 2>&1 &
  EMULATOR_PID=$!
  for _ in $(seq 1 100); do
    if "$VENV/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=1)" >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$EMULATOR_PID" 2>/dev/null; then
      log "the emulator exited at start (is port $port in use?)"
      return 1
    fi
    sleep 0.1
  done
  log "the emulator did not answer on port $port"
  return 1
}

stop_emulator() {
  if [[ -n "${EMULATOR_PID:-}" ]] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    # After a long run moto can take many seconds to exit (19 s after a quick `make bench`).
    # Its state is in memory only, so after a 2-second grace period it is killed.
    for _ in $(seq 1 20); do
      kill -0 "$EMULATOR_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
  fi
}

# start_oauth_server PORT_VAR: starts the local OAuth 2.0 token endpoint on 127.0.0.1 (run
# ensure_oauth_server first), on the port held in the variable named PORT_VAR or, when that is
# unset, empty or 0, on a free port that it then stores there; waits until it answers; sets
# OAUTH_SERVER_PID and OAUTH_SERVER_URL. Its log (request counts, never token values) goes to
# $OAUTH_SERVER_LOG when set.
start_oauth_server() {
  local var="$1" port="${!1:-}" out line
  [[ -n "$port" ]] || port=0
  OAUTH_SERVER_URL=""
  out="$(mktemp)"
  "$ROOT/.venv-oauth/bin/python" "$ROOT/tools/python/oauth_server.py" --port "$port" \
    >"$out" 2>"${OAUTH_SERVER_LOG:-/dev/null}" &
  OAUTH_SERVER_PID=$!
  for _ in $(seq 1 100); do
    # The first line, once whole, is `listening on http://127.0.0.1:<port>`.
    if [[ "$(wc -l <"$out")" -ge 1 ]]; then
      line="$(head -n 1 "$out")"
      rm -f "$out"
      if [[ ! "$line" =~ ^listening\ on\ (http://127\.0\.0\.1:([0-9]+))$ ]]; then
        log "the OAuth test server said '$line' at start"
        stop_oauth_server
        return 1
      fi
      OAUTH_SERVER_URL="${BASH_REMATCH[1]}"
      printf -v "$var" '%s' "${BASH_REMATCH[2]}"
      break
    fi
    if ! kill -0 "$OAUTH_SERVER_PID" 2>/dev/null; then
      rm -f "$out"
      log "the OAuth test server exited at start (is port $port in use?)"
      return 1
    fi
    sleep 0.1
  done
  if [[ -z "${OAUTH_SERVER_URL:-}" ]]; then
    rm -f "$out"
    log "the OAuth test server did not start"
    stop_oauth_server
    return 1
  fi
  for _ in $(seq 1 100); do
    if "$ROOT/.venv-oauth/bin/python" -c "import urllib.request; urllib.request.urlopen('$OAUTH_SERVER_URL/_control/stats', timeout=1)" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  log "the OAuth test server did not answer at $OAUTH_SERVER_URL"
  stop_oauth_server
  return 1
}

# stop_oauth_server: stops what start_oauth_server started; its state is in memory only, so
# after a 2-second grace period it is killed.
stop_oauth_server() {
  if [[ -n "${OAUTH_SERVER_PID:-}" ]] && kill -0 "$OAUTH_SERVER_PID" 2>/dev/null; then
    kill "$OAUTH_SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 20); do
      kill -0 "$OAUTH_SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$OAUTH_SERVER_PID" 2>/dev/null || true
    wait "$OAUTH_SERVER_PID" 2>/dev/null || true
  fi
}

# ensure_linters: spectral and redocly (pinned in tools/lint/package-lock.json) under
# tools/lint/node_modules, installed with `npm ci` whenever the lock file changes.
ensure_linters() {
  local dir="$ROOT/tools/lint"
  if ! command -v npm >/dev/null 2>&1; then
    log "npm (Node.js 20 or newer) is required for the OpenAPI linters"
    exit 1
  fi
  if [[ ! -f "$dir/node_modules/.installed" || "$dir/package-lock.json" -nt "$dir/node_modules/.installed" ]]; then
    log "installing pinned OpenAPI linters (spectral, redocly) from tools/lint/package-lock.json"
    (cd "$dir" && npm ci --no-audit --no-fund --silent)
    touch "$dir/node_modules/.installed"
  fi
}
