#!/usr/bin/env bash
# The pinned AWS SAM CLI (tools/python/requirements-sam.txt, installed into .venv-sam on first
# use): `scripts/sam.sh build`, `scripts/sam.sh validate --lint`, `scripts/sam.sh deploy …`.
# It runs with telemetry off (SAM_CLI_TELEMETRY=0) and without SAM's weekly PyPI version check:
# SAM gets a settings folder of its own (__SAM_CLI_APP_DIR) whose last check is dated 2100.
# Your environment is passed on as it is (lib.sh's local AWS settings are not: deploy needs
# your own credentials and region).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(source "$root/scripts/lib.sh" && ensure_sam)

export SAM_CLI_TELEMETRY=0
export __SAM_CLI_APP_DIR="$root/.venv-sam/sam-settings"
mkdir -p "$__SAM_CLI_APP_DIR"
printf '{"telemetryEnabled": false, "lastVersionCheck": 4102444800.0}\n' >"$__SAM_CLI_APP_DIR/metadata.json"
exec "$root/.venv-sam/bin/sam" "$@"
