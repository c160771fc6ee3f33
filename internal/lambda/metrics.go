package lambda

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fogbank/fogbank/internal/funcrt"
)

// metrics are the Lambda metrics CloudWatch publishes, as Prometheus series.
type metrics struct {
	invocations    *prometheus.CounterVec
	errors         *prometheus.CounterVec
	throttles      *prometheus.CounterVec
	duration       *prometheus.HistogramVec
	coldStarts     *prometheus.CounterVec
	concurrent     prometheus.Gauge
	asyncReceived  *prometheus.CounterVec
	asyncAge       *prometheus.HistogramVec
	asyncDropped   *prometheus.CounterVec
	destFailures   *prometheus.CounterVec
	dlqErrors      *prometheus.CounterVec
	provisionedUse *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	fn := []string{"function"}
	m := &metrics{
		invocations:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fogbank_lambda_invocations_total", Help: "Function invocations (Invocations)."}, fn),
		errors:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fogbank_lambda_errors_total", Help: "Invocations that ended in a function error (Errors)."}, fn),
		throttles:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fogbank_lambda_throttles_total", Help: "Throttled invocation requests (Throttles)."}, fn),
		duration:       prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fogbank_lambda_duration_seconds", Help: "Invocation duration (Duration).", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18)}, fn),
		coldStarts:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fogbank_lambda_cold_starts_total", Help: "Invocations that started a new execution environment."}, fn),
		concurrent:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "fogbank_lambda_concurrent_executions", Help: "In-flight invocations (ConcurrentExecutions)."}),
		asyncReceived:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fogbank_lambda_async_events_received_total", Help: "Events queued for asynchronous invocation (AsyncEventsReceived)."}, fn),
		asyncAge:       prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "fogbank_lambda_async_event_age_seconds", Help: "Time from queueing to invocation (AsyncEventAge).", Buckets: prometheus.ExponentialBuckets(0.001, 4, 12)}, fn),
		asyncDropped:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fogbank_lambda_async_events_dropped_total", Help: "Events dropped without a successful invocation (AsyncEventsDropped)."}, []string{"function", "reason"}),
		destFailures:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fogbank_lambda_destination_delivery_failures_total", Help: "Failed deliveries to destinations (DestinationDeliveryFailures)."}, fn),
		dlqErrors:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "fogbank_lambda_dead_letter_errors_total", Help: "Failed deliveries to dead-letter queues (DeadLetterErrors)."}, fn),
		provisionedUse: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "fogbank_lambda_provisioned_concurrency_utilization", Help: "Busy share of provisioned environments (ProvisionedConcurrencyUtilization)."}, []string{"function", "qualifier"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.invocations, m.errors, m.throttles, m.duration, m.coldStarts, m.concurrent,
			m.asyncReceived, m.asyncAge, m.asyncDropped, m.destFailures, m.dlqErrors, m.provisionedUse} {
			_ = reg.Register(c)
		}
	}
	return m
}

func (m *metrics) observe(fn string, r funcrt.Result, d time.Duration) {
	m.invocations.WithLabelValues(fn).Inc()
	if r.FunctionError != "" {
		m.errors.WithLabelValues(fn).Inc()
	}
	if r.ColdStart {
		m.coldStarts.WithLabelValues(fn).Inc()
	}
	m.duration.WithLabelValues(fn).Observe(r.Duration.Seconds())
}

func itoa(n int) string { return strconv.Itoa(n) }
