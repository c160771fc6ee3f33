#!/usr/bin/env bash
# Lambda + CloudWatch Logs smoke test against a live fogbank (run by
# .ci/smoke.sh with AWS_ENDPOINT_URL and credentials exported): builds an
# aws-lambda-go handler, zips it, creates a function with the AWS CLI,
# invokes it (success, error, log tail) and reads its logs with `aws logs`.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "LAMBDA SMOKE FAIL: $*" >&2; exit 1; }
clis="${FOGBANK_SMOKE_CLIS:-}"; aws=${clis%% *}
[ -n "$aws" ] || aws=$(command -v aws) || fail "no aws CLI"
awsx() { "$aws" --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
bfmt=()
case "$($aws --version 2>&1)" in aws-cli/1.*) ;; *) bfmt=(--cli-binary-format raw-in-base64-out) ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

CGO_ENABLED=0 go build -o "$work/bootstrap" ./internal/lambda/testdata/handler
python3 - "$work" <<'PY'
import sys, zipfile, os
d = sys.argv[1]
with zipfile.ZipFile(os.path.join(d, "fn.zip"), "w", zipfile.ZIP_DEFLATED) as z:
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = 0o755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, open(os.path.join(d, "bootstrap"), "rb").read())
PY
name="smoke-fn-$$"
awsx lambda create-function --function-name "$name" --runtime provided.al2023 --handler bootstrap \
  --role arn:aws:iam::000000000000:role/smoke --zip-file "fileb://$work/fn.zip" --timeout 5 >/dev/null
awsx lambda wait function-active-v2 --function-name "$name"
echo "ok: lambda create-function + wait function-active-v2"

awsx lambda invoke --function-name "$name" "${bfmt[@]}" \
  --payload '{"hello":"smoke"}' --log-type Tail "$work/out.json" >"$work/meta.json"
grep -q '"hello":"smoke"' "$work/out.json" || fail "invoke payload: $(cat "$work/out.json")"
python3 - "$work/meta.json" <<'PY' || fail "invoke log tail: $(cat "$work/meta.json")"
import json, sys, base64
m = json.load(open(sys.argv[1]))
tail = base64.b64decode(m["LogResult"]).decode()
assert m["StatusCode"] == 200 and m["ExecutedVersion"] == "$LATEST", m
assert "START RequestId:" in tail and "REPORT RequestId:" in tail, tail
PY
echo "ok: lambda invoke (payload, LogType Tail)"

awsx lambda invoke --function-name "$name" "${bfmt[@]}" \
  --payload '{"action":"error","message":"smoke-error"}' "$work/err.json" >"$work/errmeta.json"
grep -q '"FunctionError": "Unhandled"' "$work/errmeta.json" || fail "function error: $(cat "$work/errmeta.json")"
grep -q 'smoke-error' "$work/err.json" || fail "error payload: $(cat "$work/err.json")"
echo "ok: lambda invoke -> FunctionError Unhandled"

found=""
for _ in $(seq 1 50); do
  n=$(awsx logs filter-log-events --log-group-name "/aws/lambda/$name" --filter-pattern '"REPORT RequestId"' \
    --query 'length(events)' --output text 2>/dev/null || echo 0)
  if [ "$n" -ge 2 ] 2>/dev/null; then found=1; break; fi
  sleep 0.1
done
[ -n "$found" ] || fail "no REPORT lines in /aws/lambda/$name"
stream=$(awsx logs describe-log-streams --log-group-name "/aws/lambda/$name" --query 'logStreams[0].logStreamName' --output text)
msgs=$(awsx logs get-log-events --log-group-name "/aws/lambda/$name" --log-stream-name "$stream" --start-from-head \
  --query 'events[].message' --output text)
case "$msgs" in *'echo: {"hello":"smoke"}'*) ;; *) fail "get-log-events lacks function output: $msgs" ;; esac
echo "ok: aws logs filter-log-events / describe-log-streams / get-log-events"

# GetFunction's Code.Location downloads the zip without signing.
loc=$(awsx lambda get-function --function-name "$name" --query 'Code.Location' --output text)
curl -fsS -o "$work/dl.zip" "$loc" || fail "Code.Location download: $loc"
cmp -s "$work/dl.zip" "$work/fn.zip" || fail "Code.Location served a different zip"
echo "ok: lambda get-function Code.Location (presigned download)"

# Function URL (AuthType NONE): host form via the Host header, and the path form.
url=$(awsx lambda create-function-url-config --function-name "$name" --auth-type NONE --query FunctionUrl --output text)
awsx lambda add-permission --function-name "$name" --statement-id url --action lambda:InvokeFunctionUrl \
  --principal '*' --function-url-auth-type NONE >/dev/null
urlid=$(printf '%s' "$url" | sed -E 's#^https?://([^.]+)\..*#\1#')
host=$(printf '%s' "$url" | sed -E 's#^https?://([^/]+)/.*#\1#')
out=$(curl -fsS -H "Host: $host" "$AWS_ENDPOINT_URL/plain") || fail "function URL (host form)"
[ "$out" = '{"hello":"world"}' ] || fail "function URL answer: $out"
out=$(curl -fsS "$AWS_ENDPOINT_URL/2021-10-31/function-urls/$urlid/string") || fail "function URL (path form)"
[ "$out" = 'hello' ] || fail "function URL path-form answer: $out"
echo "ok: lambda function URL (host and path forms)"

awsx lambda delete-function --function-name "$name" >/dev/null
if awsx lambda get-function --function-name "$name" >/dev/null 2>&1; then fail "function still exists"; fi
echo "ok: lambda delete-function"
