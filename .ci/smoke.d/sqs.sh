#!/usr/bin/env bash
# SQS smoke test with the AWS CLI against a running fogbank (AWS_ENDPOINT_URL
# etc. set by .ci/smoke.sh): the standard and FIFO life cycle — create,
# send, receive, change visibility, delete, dead-letter after
# maxReceiveCount, redrive back with start-message-move-task (CLIs that have
# it), purge, delete queue. Runs with every CLI in FOGBANK_SMOKE_CLIS (the
# Debian CLI speaks the query protocol, newer ones JSON).
set -euo pipefail
fail() { echo "SQS SMOKE FAIL: $*" >&2; exit 1; }
clis=${FOGBANK_SMOKE_CLIS:-$(command -v aws)}
n=0
for aws in $clis; do
  n=$((n + 1))
  a() { "$aws" --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
  echo "--- sqs with $("$aws" --version 2>&1)"
  q=$(a sqs create-queue --queue-name "smoke-$n" --attributes VisibilityTimeout=30 --query QueueUrl --output text)
  [[ "$q" == */000000000000/smoke-$n ]] || fail "create-queue url=$q"
  echo "ok: create-queue -> $q"
  [ "$(a sqs get-queue-url --queue-name "smoke-$n" --query QueueUrl --output text)" = "$q" ] || fail "get-queue-url"
  echo "ok: get-queue-url"
  id=$(a sqs send-message --queue-url "$q" --message-body "hello $n" --message-attributes '{"k":{"DataType":"String","StringValue":"v"}}' --query MessageId --output text)
  [ -n "$id" ] || fail "send-message"
  echo "ok: send-message -> $id"
  out=$(a sqs receive-message --queue-url "$q" --message-attribute-names All --attribute-names All --output json)
  body=$(echo "$out" | python3 -c 'import json,sys; m=json.load(sys.stdin)["Messages"][0]; print(m["Body"]+"|"+m["MessageAttributes"]["k"]["StringValue"]+"|"+m["Attributes"]["ApproximateReceiveCount"])')
  [ "$body" = "hello $n|v|1" ] || fail "receive-message got $body"
  rh=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Messages"][0]["ReceiptHandle"])')
  echo "ok: receive-message (body, attributes, receive count)"
  a sqs change-message-visibility --queue-url "$q" --receipt-handle "$rh" --visibility-timeout 0
  rh=$(a sqs receive-message --queue-url "$q" --query 'Messages[0].ReceiptHandle' --output text)
  [ -n "$rh" ] && [ "$rh" != None ] || fail "message not visible after change-message-visibility 0"
  echo "ok: change-message-visibility"
  a sqs delete-message --queue-url "$q" --receipt-handle "$rh"
  cnt=$(a sqs get-queue-attributes --queue-url "$q" --attribute-names All --query 'Attributes.[ApproximateNumberOfMessages,ApproximateNumberOfMessagesNotVisible]' --output text)
  [ "$(echo $cnt)" = "0 0" ] || fail "queue not empty after delete: $cnt"
  echo "ok: delete-message"
  if err=$(a sqs get-queue-url --queue-name "nope-$n" 2>&1); then fail "missing queue found"; fi
  echo "$err" | grep -q "AWS.SimpleQueueService.NonExistentQueue\|QueueDoesNotExist" || fail "missing queue error: $err"
  echo "ok: non-existent queue error"

  # Dead-letter queue and redrive.
  dlq=$(a sqs create-queue --queue-name "smoke-dlq-$n" --query QueueUrl --output text)
  dlq_arn=$(a sqs get-queue-attributes --queue-url "$dlq" --attribute-names QueueArn --query Attributes.QueueArn --output text)
  src=$(a sqs create-queue --queue-name "smoke-src-$n" --attributes "{\"VisibilityTimeout\":\"0\",\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":\\\"1\\\"}\"}" --query QueueUrl --output text)
  a sqs send-message --queue-url "$src" --message-body "to-dlq" >/dev/null
  a sqs receive-message --queue-url "$src" >/dev/null
  a sqs receive-message --queue-url "$src" >/dev/null
  got=$(a sqs receive-message --queue-url "$dlq" --visibility-timeout 0 --query 'Messages[0].Body' --output text)
  [ "$got" = "to-dlq" ] || fail "dead-letter queue got '$got'"
  echo "ok: dead-letter after maxReceiveCount"
  srcs=$(a sqs list-dead-letter-source-queues --queue-url "$dlq" --query 'queueUrls[0]' --output text)
  [ "$srcs" = "$src" ] || fail "list-dead-letter-source-queues: $srcs"
  echo "ok: list-dead-letter-source-queues"
  sqs_help=$("$aws" sqs help 2>/dev/null | col -b || true)
  if grep -q start-message-move-task <<<"$sqs_help"; then
    a sqs start-message-move-task --source-arn "$dlq_arn" >/dev/null
    for _ in $(seq 1 50); do
      st=$(a sqs list-message-move-tasks --source-arn "$dlq_arn" --query 'Results[0].Status' --output text)
      [ "$st" = COMPLETED ] && break; sleep 0.1
    done
    [ "$st" = COMPLETED ] || fail "move task status $st"
    got=$(a sqs receive-message --queue-url "$src" --query 'Messages[0].Body' --output text)
    [ "$got" = "to-dlq" ] || fail "redrive back got '$got'"
    echo "ok: start-message-move-task back to the source"
  else
    echo "skip: this CLI has no start-message-move-task"
  fi

  # FIFO life cycle.
  f=$(a sqs create-queue --queue-name "smoke-$n.fifo" --attributes FifoQueue=true,ContentBasedDeduplication=true --query QueueUrl --output text)
  for i in 1 2 3; do a sqs send-message --queue-url "$f" --message-body "f$i" --message-group-id g >/dev/null; done
  a sqs send-message --queue-url "$f" --message-body "f1" --message-group-id g >/dev/null  # duplicate
  got=$(a sqs receive-message --queue-url "$f" --max-number-of-messages 10 --query 'Messages[].Body' --output text)
  [ "$(echo $got)" = "f1 f2 f3" ] || fail "fifo order/dedup: $got"
  echo "ok: fifo order and deduplication"
  if err=$(a sqs send-message --queue-url "$f" --message-body x 2>&1); then fail "fifo send without group accepted"; fi
  echo "$err" | grep -q MissingParameter || fail "fifo missing group error: $err"
  echo "ok: fifo MissingParameter"

  a sqs purge-queue --queue-url "$src"
  if err=$(a sqs purge-queue --queue-url "$src" 2>&1); then fail "second purge accepted"; fi
  echo "$err" | grep -q PurgeQueueInProgress || fail "purge error: $err"
  echo "ok: purge-queue (and PurgeQueueInProgress)"
  a sqs tag-queue --queue-url "$q" --tags team=core
  [ "$(a sqs list-queue-tags --queue-url "$q" --query Tags.team --output text)" = core ] || fail "tags"
  echo "ok: tag-queue / list-queue-tags"
  for u in "$q" "$f" "$src" "$dlq"; do a sqs delete-queue --queue-url "$u"; done
  left=$(a sqs list-queues --queue-name-prefix smoke- --query 'length(QueueUrls || `[]`)' --output text)
  [ "$left" = 0 ] || fail "queues left after delete-queue: $left"
  echo "ok: delete-queue"
done
echo "sqs smoke: all passed"
