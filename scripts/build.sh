#!/usr/bin/env bash
# `make build`: every function as a stripped arm64 `bootstrap` for provided.al2023, built on
# its own so that no function links what only another needs (a workspace-wide build would
# unify features and give every function the KMS client). Output: target/lambda/<fn>/bootstrap.
# Arguments: function names to build only those (tools/sam/Makefile, for `sam build`, passes one).
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_venv requirements-build.txt
export PATH="$VENV/bin:$PATH"
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  log "adding the aarch64-unknown-linux-gnu target"
  rustup target add aarch64-unknown-linux-gnu
fi
# aws-lc's jitter entropy source costs ~50 ms of init on Lambda; the OS source suffices.
export AWS_LC_SYS_NO_JITTER_ENTROPY=1

functions=("$@")
if [[ ${#functions[@]} -eq 0 ]]; then
  for dir in functions/*/; do functions+=("$(basename "$dir")"); done
fi
for fn in "${functions[@]}"; do
  [[ -f "functions/$fn/Cargo.toml" ]] || { log "no function named $fn in functions/"; exit 1; }
done
for fn in "${functions[@]}"; do
  log "building $fn (release, arm64)"
  cargo lambda build --release --arm64 --locked --package "$fn" --lambda-dir target/lambda
done

printf '\n%-28s %12s\n' "function" "bootstrap"
for fn in "${functions[@]}"; do
  size=$(stat -c %s "target/lambda/$fn/bootstrap")
  awk -v fn="$fn" -v size="$size" 'BEGIN { printf "%-28s %8.2f MiB  (%d bytes)\n", fn, size / 1048576, size }'
done
