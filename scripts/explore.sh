#!/usr/bin/env bash
# `make explore`: every property test under random seeds, many cases each. Not part of
# `make test` (whose seeds are fixed); a failure prints the seed that found it.
# ROUNDS (default 5) seeds, PROPTEST_CASES (default 10000) cases per property and seed;
# PROPTEST_SEED=<n> replays one seed instead.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
rounds="${ROUNDS:-5}"
export PROPTEST_CASES="${PROPTEST_CASES:-10000}"
cargo test --locked -p credentials-core --features encryption --lib --no-run
status=0
[[ -z "${PROPTEST_SEED:-}" ]] || rounds=1
for round in $(seq 1 "$rounds"); do
  seed="${PROPTEST_SEED:-$(python3 -c 'import secrets; print(secrets.randbits(63))')}"
  log "round $round/$rounds: PROPTEST_SEED=$seed PROPTEST_CASES=$PROPTEST_CASES"
  if ! PROPTEST_SEED="$seed" cargo test --locked -q -p credentials-core --features encryption --lib -- --include-ignored; then
    log "FAILED with PROPTEST_SEED=$seed: replay with PROPTEST_SEED=$seed make explore"
    status=1
  fi
done
exit "$status"
