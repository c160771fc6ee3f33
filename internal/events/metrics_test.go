package events

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/fogbank/fogbank/internal/protocol"
)

// metricValues reads every fogbank_events_* series of reg as
// "name{label}" → value (counters) or sample count (histograms).
func metricValues(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, l := range m.GetLabel() {
				key += "{" + l.GetValue() + "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestMetrics checks each EventBridge metric against AWS's definitions:
// MatchedEvents per bus; TriggeredRules per matching rule; Invocations
// counts each delivery once when it ends (success or permanent failure);
// InvocationAttempts every try, RetryInvocationAttempts the retries,
// SuccessfulInvocationAttempts the successes; FailedInvocations the
// permanent failures, split into InvocationsSentToDlq and
// InvocationsFailedToBeSentToDlq; IngestionToInvocationStartLatency one
// sample per first attempt.
func TestMetrics(t *testing.T) {
	h := newHarness(t)
	const (
		flaky   = "arn:aws:sqs:us-east-1:111111111111:flaky"
		gone    = "arn:aws:sqs:us-east-1:111111111111:gone"
		goneDLQ = "arn:aws:sqs:us-east-1:111111111111:gone-dlq"
	)
	h.sqs.setFail(flaky, &protocol.Error{Code: "InternalError", Message: "boom", Status: 500})
	h.sqs.setFail(gone, &protocol.Error{Code: "AWS.SimpleQueueService.NonExistentQueue", Message: "The specified queue does not exist."})
	h.sqs.setFail(goneDLQ, &protocol.Error{Code: "AWS.SimpleQueueService.NonExistentQueue", Message: "The specified queue does not exist."})
	rule := func(name, pattern string, target map[string]any) {
		h.call("PutRule", map[string]any{"Name": name, "EventPattern": pattern})
		if target != nil {
			h.call("PutTargets", map[string]any{"Rule": name, "Targets": []map[string]any{target}})
		}
	}
	rule("ok", `{"source":["my.app"]}`, map[string]any{"Id": "t", "Arn": queueA})
	rule("retry", `{"source":["my.app"]}`, map[string]any{"Id": "t", "Arn": flaky,
		"RetryPolicy": map[string]int{"MaximumRetryAttempts": 1}, "DeadLetterConfig": map[string]string{"Arn": dlqA}})
	rule("nodlq", `{"source":["my.app"]}`, map[string]any{"Id": "t", "Arn": gone, "DeadLetterConfig": map[string]string{"Arn": goneDLQ}})
	rule("never", `{"source":["nobody"]}`, map[string]any{"Id": "t", "Arn": queueA})

	putEvent(h, "", "my.app", `{"n":1}`)
	putEvent(h, "", "my.app", `{"n":2}`)
	putEvent(h, "", "other.app", `{}`)
	waitFor(t, "deliveries and dead letters", func() bool {
		h.clock.Advance(10 * time.Second) // past the retry back-off
		return len(h.sqs.get(queueA)) == 2 && len(h.sqs.get(dlqA)) == 2 && h.sqs.attempts(goneDLQ) == 2 && h.idle()
	})

	arn := func(rule string) string { return "{arn:aws:events:us-east-1:111111111111:rule/" + rule + "}" }
	bus := "{arn:aws:events:us-east-1:111111111111:event-bus/default}"
	want := map[string]float64{
		"fogbank_events_matched_events_total" + bus:                          2,
		"fogbank_events_ingestion_to_invocation_start_latency_seconds" + bus: 6,
	}
	for _, r := range []struct {
		rule                                                                            string
		triggered, invocations, attempts, retries, successful, failed, toDLQ, dlqFailed float64
	}{
		{"ok", 2, 2, 2, 0, 2, 0, 0, 0},
		{"retry", 2, 2, 4, 2, 0, 2, 2, 0},
		{"nodlq", 2, 2, 2, 0, 0, 2, 0, 2},
	} {
		for name, v := range map[string]float64{
			"triggered_rules_total": r.triggered, "invocations_total": r.invocations, "invocation_attempts_total": r.attempts,
			"retry_invocation_attempts_total": r.retries, "successful_invocation_attempts_total": r.successful,
			"failed_invocations_total": r.failed, "invocations_sent_to_dlq_total": r.toDLQ,
			"invocations_failed_to_be_sent_to_dlq_total": r.dlqFailed,
		} {
			if v != 0 { // Prometheus shows no series for a label never counted
				want["fogbank_events_"+name+arn(r.rule)] = v
			}
		}
	}
	if diff := cmp.Diff(want, metricValues(t, h.reg)); diff != "" {
		t.Fatalf("metrics (-want +got):\n%s", diff)
	}
}
