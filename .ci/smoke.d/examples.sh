#!/usr/bin/env bash
# Runs the seed-architecture examples against the running smoke server
# (AWS_ENDPOINT_URL etc. set by .ci/smoke.sh); each exits non-zero when
# the flow it demonstrates did not complete.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "EXAMPLES SMOKE FAIL: $*" >&2; exit 1; }
go run ./examples/activity-monitoring -timeout 3m || fail "examples/activity-monitoring"
echo "ok: examples/activity-monitoring"
echo "examples smoke: all passed"
