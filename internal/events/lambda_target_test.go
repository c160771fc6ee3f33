package events

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fogbank/fogbank/internal/clock"
	"github.com/fogbank/fogbank/internal/protocol"
)

// lambdaCall is one InvokeForRule call a fakeLambda saw.
type lambdaCall struct {
	Function, Rule, Role, Payload string
}

// fakeLambda records function target invocations and answers each with
// err.
type fakeLambda struct {
	mu    sync.Mutex
	err   error
	calls []lambdaCall
}

func (f *fakeLambda) InvokeForRule(_ context.Context, functionARN, ruleARN, roleARN string, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, lambdaCall{functionARN, ruleARN, roleARN, string(payload)})
	return f.err
}

func (f *fakeLambda) seen() []lambdaCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]lambdaCall(nil), f.calls...)
}

// TestLambdaTargetOutcomes checks how a function target's answer settles a
// delivery: the invocation names the rule (Lambda decides on its policy
// with the rule as aws:SourceArn) and the target's role; a refusal by the
// function's resource-based policy (AccessDeniedException) is not retried
// and goes to the dead-letter queue as NO_PERMISSIONS with Lambda's
// message, counted as FailedInvocations and InvocationsSentToDlq, as AWS
// documents for missing permissions; throttling is retried.
func TestLambdaTargetOutcomes(t *testing.T) {
	const (
		fn      = "arn:aws:lambda:us-east-1:111111111111:function:f:live"
		role    = "arn:aws:iam::111111111111:role/eb"
		ruleARN = "arn:aws:events:us-east-1:111111111111:rule/r1"
		denyMsg = "User: events.amazonaws.com is not authorized to perform: lambda:InvokeFunction on resource: " + fn +
			" because no resource-based policy allows the lambda:InvokeFunction action"
	)
	for _, tc := range []struct {
		name     string
		err      error
		attempts int
		// dlq is the dead-letter message's attributes; nil: none is sent.
		dlq     map[string]string
		metrics map[string]float64
	}{
		{name: "allowed", attempts: 1,
			metrics: map[string]float64{"invocations_total": 1, "successful_invocation_attempts_total": 1}},
		{name: "denied by the function policy", attempts: 1,
			err:     &protocol.Error{Code: "AccessDeniedException", Status: http.StatusForbidden, Message: denyMsg},
			dlq:     map[string]string{"RULE_ARN": ruleARN, "TARGET_ARN": fn, "ERROR_CODE": "NO_PERMISSIONS", "ERROR_MESSAGE": denyMsg},
			metrics: map[string]float64{"invocations_total": 1, "failed_invocations_total": 1, "invocations_sent_to_dlq_total": 1}},
		{name: "function gone", attempts: 1,
			err:     &protocol.Error{Code: "ResourceNotFoundException", Status: http.StatusNotFound, Message: "Function not found: " + fn},
			dlq:     map[string]string{"RULE_ARN": ruleARN, "TARGET_ARN": fn, "ERROR_CODE": "NO_RESOURCE", "ERROR_MESSAGE": "Function not found: " + fn},
			metrics: map[string]float64{"invocations_total": 1, "failed_invocations_total": 1, "invocations_sent_to_dlq_total": 1}},
		{name: "throttled", attempts: 3,
			err: &protocol.Error{Code: "TooManyRequestsException", Status: http.StatusTooManyRequests, Message: "Rate Exceeded."},
			dlq: map[string]string{"RULE_ARN": ruleARN, "TARGET_ARN": fn, "ERROR_CODE": "THROTTLING", "ERROR_MESSAGE": "Rate Exceeded.",
				"EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts", "RETRY_ATTEMPTS": "2"},
			metrics: map[string]float64{"invocations_total": 1, "failed_invocations_total": 1, "invocations_sent_to_dlq_total": 1,
				"retry_invocation_attempts_total": 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLambda{err: tc.err}
			h := &harness{t: t, sqs: newFakeSQS(), clock: clock.NewManual(t0), dir: t.TempDir(), lambda: f}
			h.open()
			h.call("PutRule", map[string]any{"Name": "r1", "EventPattern": `{"source":["my.app"]}`})
			h.call("PutTargets", map[string]any{"Rule": "r1", "Targets": []map[string]any{{"Id": "fn", "Arn": fn, "RoleArn": role,
				"Input":            `{"hello":"fn"}`,
				"RetryPolicy":      map[string]int{"MaximumRetryAttempts": 2},
				"DeadLetterConfig": map[string]string{"Arn": dlqA}}}})
			putEvent(h, "", "my.app", `{}`)
			waitFor(t, "the delivery to settle", func() bool {
				h.clock.Advance(10 * time.Second) // past any retry back-off
				return len(f.seen()) == tc.attempts && (tc.dlq == nil || len(h.sqs.get(dlqA)) == 1) && h.idle()
			})
			want := lambdaCall{Function: fn, Rule: ruleARN, Role: role, Payload: `{"hello":"fn"}`}
			for i, c := range f.seen() {
				if diff := cmp.Diff(want, c); diff != "" {
					t.Fatalf("invocation %d (-want +got):\n%s", i, diff)
				}
			}
			var gotDLQ map[string]string
			if msgs := h.sqs.get(dlqA); len(msgs) == 1 {
				gotDLQ = msgs[0].Attributes
			} else if len(msgs) > 1 {
				t.Fatalf("%d dead letters, want at most 1", len(msgs))
			}
			if diff := cmp.Diff(tc.dlq, gotDLQ); diff != "" {
				t.Fatalf("dead letter attributes (-want +got):\n%s", diff)
			}
			// The rule's delivery metrics; Prometheus shows no series for
			// a label never counted, so absent ones read as 0.
			values := metricValues(t, h.reg)
			got := map[string]float64{}
			for _, name := range []string{"invocations_total", "successful_invocation_attempts_total", "failed_invocations_total",
				"invocations_sent_to_dlq_total", "invocations_failed_to_be_sent_to_dlq_total", "retry_invocation_attempts_total"} {
				if v := values["fogbank_events_"+name+"{"+ruleARN+"}"]; v != 0 {
					got[name] = v
				}
			}
			if diff := cmp.Diff(tc.metrics, got); diff != "" {
				t.Fatalf("metrics (-want +got):\n%s", diff)
			}
		})
	}
}
