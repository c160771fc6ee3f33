package events

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics mirror EventBridge's CloudWatch metrics (namespace AWS/Events).
type metrics struct {
	matchedEvents    *prometheus.CounterVec
	triggeredRules   *prometheus.CounterVec
	invocations      *prometheus.CounterVec
	successful       *prometheus.CounterVec
	failed           *prometheus.CounterVec
	attempts         *prometheus.CounterVec
	retryAttempts    *prometheus.CounterVec
	sentToDLQ        *prometheus.CounterVec
	failedToDLQ      *prometheus.CounterVec
	throttledRules   *prometheus.CounterVec
	ingestionLatency *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	counter := func(name, help, label string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "fogbank", Subsystem: "events", Name: name, Help: help}, []string{label})
	}
	m := &metrics{
		matchedEvents:  counter("matched_events_total", "Events that matched at least one rule (MatchedEvents).", "event_bus"),
		triggeredRules: counter("triggered_rules_total", "Rules that matched an event (TriggeredRules).", "rule"),
		invocations:    counter("invocations_total", "Target invocations that succeeded or failed permanently; retries count once, when they end (Invocations).", "rule"),
		successful:     counter("successful_invocation_attempts_total", "Attempts that invoked the target successfully (SuccessfulInvocationAttempts).", "rule"),
		failed:         counter("failed_invocations_total", "Invocations that failed permanently (FailedInvocations).", "rule"),
		attempts:       counter("invocation_attempts_total", "Every attempt to invoke a target (InvocationAttempts).", "rule"),
		retryAttempts:  counter("retry_invocation_attempts_total", "Attempts that were retries (RetryInvocationAttempts).", "rule"),
		sentToDLQ:      counter("invocations_sent_to_dlq_total", "Failed invocations moved to a dead-letter queue (InvocationsSentToDlq).", "rule"),
		failedToDLQ:    counter("invocations_failed_to_be_sent_to_dlq_total", "Failed invocations that could not be put on the dead-letter queue (InvocationsFailedToBeSentToDlq).", "rule"),
		throttledRules: counter("throttled_rules_total", "Invocations delayed by a rate limit (ThrottledRules).", "rule"),
		ingestionLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "fogbank", Subsystem: "events", Name: "ingestion_to_invocation_start_latency_seconds",
			Help:    "Time from ingestion to the first invocation attempt (IngestionToInvocationStartLatency).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 20),
		}, []string{"event_bus"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.matchedEvents, m.triggeredRules, m.invocations, m.successful, m.failed, m.attempts, m.retryAttempts, m.sentToDLQ, m.failedToDLQ, m.throttledRules, m.ingestionLatency} {
			// A second instance on the same registry (not done by the
			// server) would fail to register; its metrics stay unexported.
			reg.Register(c)
		}
	}
	return m
}
