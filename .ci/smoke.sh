#!/usr/bin/env bash
# Builds fogbank, starts it on a free loopback port with a temporary data
# dir, and drives it with the AWS CLI: the foundation checks here, then each
# service's .ci/smoke.d/*.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/fogbank" ./cmd/fogbank
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/fogbank" serve --listen "127.0.0.1:$port" --data-dir "$work/data" --log-level warn &
pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/_fogbank/health" >/dev/null 2>&1 && break; sleep 0.05; done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=""
fail() { echo "SMOKE FAIL: $*" >&2; exit 1; }

# Every aws CLI on this machine: the Debian package (2.x) and whatever is first on PATH (often 1.x).
clis=()
[ -x /usr/bin/aws ] && clis+=(/usr/bin/aws)
first=$(command -v aws || true)
[ -n "$first" ] && [ "$first" != /usr/bin/aws ] && clis+=("$first")
[ ${#clis[@]} -gt 0 ] || fail "no aws CLI installed"

for aws in "${clis[@]}"; do
  echo "--- $($aws --version 2>&1)"
  acct=$($aws --endpoint-url "$AWS_ENDPOINT_URL" sts get-caller-identity --query Account --output text)
  [ "$acct" = "000000000000" ] || fail "get-caller-identity account=$acct"
  echo "ok: sts get-caller-identity -> $acct"
  if out=$(AWS_SECRET_ACCESS_KEY=wrong $aws --endpoint-url "$AWS_ENDPOINT_URL" sts get-caller-identity 2>&1); then
    fail "wrong secret accepted"
  fi
  echo "$out" | grep -q SignatureDoesNotMatch || fail "wrong secret: $out"
  echo "ok: wrong secret -> SignatureDoesNotMatch"
  n=$($aws --endpoint-url "$AWS_ENDPOINT_URL" cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=GetCallerIdentity --query 'length(Events)' --output text)
  [ "$n" -ge 1 ] || fail "cloudtrail lookup-events found $n GetCallerIdentity events"
  echo "ok: cloudtrail lookup-events -> $n GetCallerIdentity events"
done
metrics=$(curl -fsS "http://127.0.0.1:$port/metrics") || fail "/metrics unreachable"
grep -q fogbank_requests_total <<<"$metrics" || fail "/metrics lacks fogbank_requests_total"
echo "ok: /metrics"

export FOGBANK_SMOKE_CLIS="${clis[*]}"
for s in .ci/smoke.d/*.sh; do
  [ -e "$s" ] || continue
  echo "--- $s"
  bash "$s" || fail "$s"
done
echo "smoke: all passed"
