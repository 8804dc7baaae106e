#!/usr/bin/env bash
# `make api-key WORKSPACE=<id> SCOPES=read,write,purge`: mints a key in the stack `make dev`
# runs (same EMULATOR_PORT). The key is the last line of stdout.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

EMULATOR_PORT="${EMULATOR_PORT:-4566}"
WORKSPACE="${1:-${WORKSPACE:-dev}}"
SCOPES="${2:-${SCOPES:-read,write,purge}}"

export AWS_ENDPOINT_URL="http://127.0.0.1:$EMULATOR_PORT"
export TABLE_NAME="${TABLE_NAME:-credentials-local}"
if ! (exec 3<>"/dev/tcp/127.0.0.1/$EMULATOR_PORT") 2>/dev/null; then
  log "nothing listens on 127.0.0.1:$EMULATOR_PORT: start the stack with 'make dev' first"
  exit 1
fi
cargo build --quiet --locked -p credentials-admin
target/debug/credentials-admin mint-key --workspace "$WORKSPACE" --scopes "$SCOPES" --description "make api-key"
