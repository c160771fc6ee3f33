package server

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the front door's Prometheus metrics, in a registry of the
// server's own (no global registry).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	// children caches the series of each service, operation and status,
	// so that a request costs no label hashing or vector look-up.
	mu       sync.RWMutex
	children map[metricKey]*metricSeries
}

// maxCachedSeries bounds the children cache (operation names come from
// requests); past it, series are looked up in the vectors each time.
const maxCachedSeries = 4096

type metricKey struct {
	svc, op string
	status  int
}

type metricSeries struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), children: map[metricKey]*metricSeries{}}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fogbank_requests_total",
		Help: "API requests by service, operation and HTTP status.",
	}, []string{"service", "operation", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "fogbank_request_duration_seconds",
		Help:    "API request latency by service and operation.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"service", "operation"})
	m.reg.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(svc, op string, status int, d time.Duration) {
	s := m.series(metricKey{svc, op, status})
	s.requests.Inc()
	s.latency.Observe(d.Seconds())
}

// series returns the cached series of k, creating them on first use.
func (m *metrics) series(k metricKey) *metricSeries {
	m.mu.RLock()
	s := m.children[k]
	m.mu.RUnlock()
	if s != nil {
		return s
	}
	s = &metricSeries{
		requests: m.requests.WithLabelValues(k.svc, k.op, strconv.Itoa(k.status)),
		latency:  m.latency.WithLabelValues(k.svc, k.op),
	}
	m.mu.Lock()
	if old := m.children[k]; old != nil {
		s = old
	} else if len(m.children) < maxCachedSeries {
		m.children[k] = s
	}
	m.mu.Unlock()
	return s
}
