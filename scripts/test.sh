#!/usr/bin/env bash
# The test task: start what the suite needs on loopback, then run every test file in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/test_services.sh)"
export NO_COLOR=1
# Remote catalogs in tests are servers on loopback, which the SSRF guard refuses by default.
# Tests of the guard itself set this back to false.
export CKAN__HARVEST__ALLOW_PRIVATE_URLS=true
# Fill node_modules and the module cache once, before test files start CLI subprocesses in parallel.
deno install --frozen >/dev/null
deno cache --frozen main.ts cli.ts src/demo/mod.ts tests/fixtures/*.ts >/dev/null
exec deno test --allow-all --parallel "$@" # allow-all: the test runner only; the product processes it starts use the tasks' flags
