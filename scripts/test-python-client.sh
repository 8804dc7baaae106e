#!/usr/bin/env bash
# The Python client (clients/python), against a local server that scripts/test.sh started:
# ruff, mypy --strict (Airflow's types from .venv-airflow), its wheel, its pytest suite through
# boto3 (every error kind, the cache, single-flight, secrets absent from logs), and its Airflow
# secrets backend in real Airflow. Needs the environment test.sh exports (AWS_ENDPOINT_URL,
# TABLE_NAME, KMS_KEY_ID, IDEMPOTENCY_KEY_ID).
#
# Usage: scripts/test-python-client.sh <server url>   (e.g. http://127.0.0.1:<server_port>)
# Writes target/pyclient/result.txt: the suite's counts as a `test result:` line.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

server="$1"
out="$ROOT/target/pyclient"
rm -rf "$out"
mkdir -p "$out"

ensure_pyclient
ensure_airflow
py="$ROOT/.venv-pyclient/bin"

log "python client: ruff check, ruff format --check, mypy --strict"
# Caches outside $out, which each run empties: mypy reads Airflow's modules once (~35 s).
cache="$ROOT/target/pyclient-cache"
export RUFF_CACHE_DIR="$cache/ruff"
(cd clients/python && "$py/ruff" check . && "$py/ruff" format --check .)
# Everything but the Airflow backend on the client's own pins; the backend and its check
# with Airflow's (mypy reads the packages of .venv-airflow's interpreter).
(cd clients/python && "$py/mypy" --strict --cache-dir "$cache/mypy" src tests \
  --exclude 'credentials_client/airflow\.py$' --exclude 'tests/airflow_check\.py$')
(cd clients/python && "$py/mypy" --strict --cache-dir "$cache/mypy-airflow" \
  --python-executable "$ROOT/.venv-airflow/bin/python" \
  src/credentials_client/airflow.py tests/airflow_check.py)

log "python client: the wheel (hatchling, pinned), installed into .venv-pyclient and .venv-airflow"
"$py/pip" wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation \
  -w "$out/dist" clients/python
wheel="$(ls "$out"/dist/credentials_client-*.whl)"
for venv in .venv-pyclient .venv-airflow; do
  "$ROOT/$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --force-reinstall "$wheel"
done

# Keys of one workspace: one that may resolve (and make fixtures), one that may not.
export PYCLIENT_ENDPOINT="$server"
PYCLIENT_KEY="$(target/debug/credentials-admin mint-key --workspace pyclient --scopes read,write,purge,resolve 2>/dev/null | tail -n 1)"
PYCLIENT_READ_KEY="$(target/debug/credentials-admin mint-key --workspace pyclient --scopes read 2>/dev/null | tail -n 1)"
export PYCLIENT_KEY PYCLIENT_READ_KEY

# A second server whose AWS endpoint is a port nothing listens on: its resolves answer 503.
dead_port="$(free_port)"
down_port="$(free_port)"
AWS_ENDPOINT_URL="http://127.0.0.1:$dead_port" PORT="$down_port" LOG_LEVEL=warn \
  target/debug/local-server >"$out/down-server.log" 2>&1 &
down_pid=$!
trap 'kill "$down_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$down_port") 2>/dev/null && break; sleep 0.1; done
export PYCLIENT_DOWN="http://127.0.0.1:$down_port"

log "python client: pytest against $server (the stub Invoke API for what the server cannot answer)"
started=$SECONDS
(cd clients/python && "$py/python" -m pytest -q -p no:cacheprovider -s) \
  | tee "$out/pytest.log"
log "python client: pytest took $((SECONDS - started)) s"
awk '/ passed/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p = $i; if ($(i+1) ~ /^failed/) f = $i } }
     END { printf "test result: python client (pytest): %d passed; %d failed\n", p, f }' \
  "$out/pytest.log" >"$out/result.txt"

log "python client: the Airflow secrets backend in Airflow $("$ROOT/.venv-airflow/bin/python" -c 'import airflow; print(airflow.__version__)')"
"$ROOT/.venv-airflow/bin/python" clients/python/tests/airflow_check.py "$server" "$PYCLIENT_KEY"
