#!/usr/bin/env bash
# `make dev`: emulator + table + KMS key + dev API key + every route on localhost, in the
# foreground. Ctrl-C stops everything this started.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

EMULATOR_PORT="${EMULATOR_PORT:-4566}"
PORT="${PORT:-3000}"
WORKSPACE="${WORKSPACE:-dev}"

ensure_venv
ensure_oauth_server
log "building the local server and the admin tool"
cargo build --quiet --locked -p local-server -p credentials-admin

export EMULATOR_LOG="$ROOT/target/emulator-dev.log"
log "starting the emulator on 127.0.0.1:$EMULATOR_PORT"
start_emulator "$EMULATOR_PORT"
SERVER_PID=""
cleanup() {
  trap - EXIT INT TERM
  if [[ -n "$SERVER_PID" ]]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  stop_oauth_server
  stop_emulator
  log "stopped"
}
trap cleanup EXIT
trap 'exit 0' INT
trap 'exit 0' TERM

export AWS_ENDPOINT_URL="http://127.0.0.1:$EMULATOR_PORT"
export TABLE_NAME="${TABLE_NAME:-credentials-local}"
setup_output="$(target/debug/credentials-admin setup --alias alias/credentials-api-local)"
export KMS_KEY_ID IDEMPOTENCY_KEY_ID
KMS_KEY_ID="$(sed -n 's/^KMS_KEY_ID=//p' <<<"$setup_output")"
IDEMPOTENCY_KEY_ID="$(sed -n 's/^IDEMPOTENCY_KEY_ID=//p' <<<"$setup_output")"
API_KEY="$(target/debug/credentials-admin mint-key --workspace "$WORKSPACE" --scopes read,write,purge --description "make dev" | tail -n 1)"
# A second key for the pipeline side: resolve only (secrets come back through it alone).
RESOLVE_KEY="$(target/debug/credentials-admin mint-key --workspace "$WORKSPACE" --scopes resolve --description "make dev (resolve)" | tail -n 1)"

# A local OAuth 2.0 token endpoint (tools/python/oauth_server.py) with one demo client
# whose refresh tokens rotate: the store refreshes oauth credentials against it.
export OAUTH_SERVER_LOG="$ROOT/target/oauth-server-dev.log"
OAUTH_PORT="${OAUTH_PORT:-}"
start_oauth_server OAUTH_PORT
OAUTH_CLIENT_SECRET="dev-client-secret-$RANDOM$RANDOM"
OAUTH_REFRESH_TOKEN="$("$ROOT/.venv-oauth/bin/python" - "$OAUTH_SERVER_URL" "$OAUTH_CLIENT_SECRET" <<'PY'
import json, sys, urllib.request
url, secret = sys.argv[1], sys.argv[2]
body = json.dumps({"client_id": "dev-client", "client_secret": secret, "scopes": ["read", "write"],
                   "rotate_refresh_tokens": True, "access_token_ttl": 3600}).encode()
request = urllib.request.Request(url + "/_control/clients", data=body, headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request))["refresh_token"])
PY
)"

BASE="http://127.0.0.1:$PORT"
cat <<INFO

  Credentials API (local)   $BASE   (also under $BASE/v1)
  emulator                  $AWS_ENDPOINT_URL   table $TABLE_NAME
  dev API key (workspace $WORKSPACE, scopes read,write,purge):

    $API_KEY

  Try:
    curl -s $BASE/api/credentials -H "Authorization: Bearer $API_KEY"

    curl -s -X POST $BASE/api/credentials \\
      -H "Authorization: Bearer $API_KEY" -H "Content-Type: application/json" \\
      -d '{"name":"staging-postgres-etl","type":"database","config":{"engine":"postgresql","host":"db.internal.example.com","port":5432,"username":"etl","password":"use-a-strong-secret-here"}}'

  Resolve it as a pipeline does: a direct invocation of resolve-credential through the
  local Lambda Invoke API (no HTTP route exists for it), with the resolve-only key
  $RESOLVE_KEY
  (put the id from the create answer in ID):

    ID=cred_…
    curl -s -X POST $BASE/2015-03-31/functions/resolve-credential/invocations \\
      -d '{"version":"2.0","rawPath":"/api/credentials/'"\$ID"'/resolve","headers":{"authorization":"Bearer $RESOLVE_KEY","content-type":"application/json"},"requestContext":{"http":{"method":"POST","path":"/api/credentials/'"\$ID"'/resolve"}},"pathParameters":{"id":"'"\$ID"'"},"body":"{\\"purpose\\":\\"pipeline:demo/run-1\\"}","isBase64Encoded":false}'

    (or: aws lambda invoke --endpoint-url $BASE --function-name resolve-credential
         --cli-binary-format raw-in-base64-out --payload file://event.json out.json)

  Or from Python, with the client in clients/python (pip install ./clients/python):

    import boto3; from credentials_client import Resolver
    r = Resolver("resolve-credential", "$RESOLVE_KEY", lambda_client=boto3.client("lambda", endpoint_url="$BASE", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"))
    db = r.resolve_by_name("staging-postgres-etl", "dev:try-python"); print(db)   # db.secret("password").reveal(): the value

  OAuth: the store refreshes tokens itself (resolve answers an access token, never the
  refresh token or client secret). A local token endpoint runs at $OAUTH_SERVER_URL with a
  client whose refresh tokens rotate; create a credential for it, then resolve it as above:

    curl -s -X POST $BASE/api/credentials \\
      -H "Authorization: Bearer $API_KEY" -H "Content-Type: application/json" \\
      -d '{"name":"demo-oauth","type":"oauth","config":{"client_id":"dev-client","client_secret":"$OAUTH_CLIENT_SECRET","token_url":"$OAUTH_SERVER_URL/token","refresh_token":"$OAUTH_REFRESH_TOKEN","scopes":["read","write"]}}'

  (the token endpoint's counts: curl -s $OAUTH_SERVER_URL/_control/stats)

  The audit trail (a key with the audit scope):
    curl -s $BASE/api/audit-events -H "Authorization: Bearer \$(make -s api-key SCOPES=audit EMULATOR_PORT=$EMULATOR_PORT | tail -n 1)"

  More keys: make api-key WORKSPACE=<id> SCOPES=read,write,purge   (EMULATOR_PORT=$EMULATOR_PORT;
             add resolve to SCOPES for a key that may resolve, audit for the audit trail)
  Ctrl-C stops the server and the emulator.

INFO

# Local mode: the egress guard lets the refresh call token endpoints on loopback over http.
PORT="$PORT" EGRESS_LOCAL_MODE=true target/debug/local-server &
SERVER_PID=$!
wait "$SERVER_PID"
