# The project's public commands. Variables: EMULATOR_PORT (4566), PORT (3000),
# WORKSPACE and SCOPES (for api-key).
EMULATOR_PORT ?= 4566
PORT ?= 3000
WORKSPACE ?= dev
SCOPES ?= read,write,purge

export EMULATOR_PORT PORT

.PHONY: dev api-key test build bench explore

## dev: emulator, table, KMS key, dev API key, and every route on http://127.0.0.1:$(PORT)
dev:
	@scripts/dev.sh

## api-key: mint a key in the `make dev` stack; the key is the last line of stdout
api-key:
	@scripts/api-key.sh "$(WORKSPACE)" "$(SCOPES)"

## test: fmt, clippy and every test against a private emulator
test:
	@scripts/test.sh

## build: every function as an arm64 `bootstrap` (target/lambda/<fn>/bootstrap), sizes printed
build:
	@scripts/build.sh

## bench: sizes, cold starts, warm latency, list at scale -> target/bench/summary.json
bench:
	@scripts/bench.sh

## explore: the property tests with random seeds and more cases (not part of `make test`;
## a failure prints the seed to replay it with PROPTEST_SEED=<seed>)
explore:
	@scripts/explore.sh
