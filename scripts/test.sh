#!/usr/bin/env bash
# The test task: start what the suite needs on loopback, then run every test file in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/test_services.sh)"
export NO_COLOR=1
exec deno test --allow-all --parallel "$@"
