package sqs

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics mirror SQS's CloudWatch metrics per queue (labels account,
// region, queue): counters updated by the operations and gauges read from
// storage at scrape time.
type metrics struct {
	s            *Service
	sentC        *prometheus.CounterVec
	sentBytes    *prometheus.CounterVec
	receivedC    *prometheus.CounterVec
	deletedC     *prometheus.CounterVec
	emptyC       *prometheus.CounterVec
	visibleD     *prometheus.Desc
	notVisibleD  *prometheus.Desc
	delayedD     *prometheus.Desc
	oldestAgeD   *prometheus.Desc
	scrapeBudget time.Duration
}

var queueLabels = []string{"account", "region", "queue"}

func newMetrics(s *Service, reg prometheus.Registerer) *metrics {
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "fogbank", Subsystem: "sqs", Name: name, Help: help}, queueLabels)
	}
	gauge := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("fogbank_sqs_"+name, help, queueLabels, nil)
	}
	m := &metrics{
		s:            s,
		sentC:        counter("number_of_messages_sent_total", "NumberOfMessagesSent: messages added to the queue."),
		sentBytes:    counter("sent_message_size_bytes_total", "Sum of SentMessageSize: bytes of messages added to the queue."),
		receivedC:    counter("number_of_messages_received_total", "NumberOfMessagesReceived: messages returned by ReceiveMessage."),
		deletedC:     counter("number_of_messages_deleted_total", "NumberOfMessagesDeleted: messages deleted from the queue."),
		emptyC:       counter("number_of_empty_receives_total", "NumberOfEmptyReceives: ReceiveMessage calls that returned no message."),
		visibleD:     gauge("approximate_number_of_messages_visible", "ApproximateNumberOfMessagesVisible: messages available for retrieval."),
		notVisibleD:  gauge("approximate_number_of_messages_not_visible", "ApproximateNumberOfMessagesNotVisible: messages in flight."),
		delayedD:     gauge("approximate_number_of_messages_delayed", "ApproximateNumberOfMessagesDelayed: messages delayed and not yet available."),
		oldestAgeD:   gauge("approximate_age_of_oldest_message_seconds", "ApproximateAgeOfOldestMessage: age of the oldest message in the queue."),
		scrapeBudget: 5 * time.Second,
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.sentC, m.sentBytes, m.receivedC, m.deletedC, m.emptyC, m} {
			if err := reg.Register(c); err != nil {
				if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok || are.ExistingCollector == nil {
					s.log.Warn("sqs: register metrics", "err", err)
				}
			}
		}
	}
	return m
}

func labels(q *queueRecord) []string { return []string{q.Account, q.Region, q.Name} }

func (m *metrics) sent(q *queueRecord, n, bytes int) {
	m.sentC.WithLabelValues(labels(q)...).Add(float64(n))
	m.sentBytes.WithLabelValues(labels(q)...).Add(float64(bytes))
}

func (m *metrics) received(q *queueRecord, n int) {
	m.receivedC.WithLabelValues(labels(q)...).Add(float64(n))
}

func (m *metrics) deleted(q *queueRecord, n int) {
	m.deletedC.WithLabelValues(labels(q)...).Add(float64(n))
}

func (m *metrics) emptyReceive(q *queueRecord) { m.emptyC.WithLabelValues(labels(q)...).Inc() }

// forget drops a deleted queue's series.
func (m *metrics) forget(q *queueRecord) {
	for _, c := range []*prometheus.CounterVec{m.sentC, m.sentBytes, m.receivedC, m.deletedC, m.emptyC} {
		c.DeleteLabelValues(labels(q)...)
	}
}

// Describe implements prometheus.Collector for the gauges.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.visibleD
	ch <- m.notVisibleD
	ch <- m.delayedD
	ch <- m.oldestAgeD
}

// Collect implements prometheus.Collector: it reads every queue's counters
// from storage.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), m.scrapeBudget)
	defer cancel()
	qs, err := m.s.allQueues(ctx)
	if err != nil {
		m.s.log.Warn("sqs: collect metrics", "err", err)
		return
	}
	now := m.s.now()
	for _, q := range qs {
		st, err := m.s.deps.Queues.Stats(ctx, q.storageName(), now)
		if err != nil {
			m.s.log.Warn("sqs: collect metrics", "queue", q.arn(), "err", err)
			return
		}
		l := labels(q)
		ch <- prometheus.MustNewConstMetric(m.visibleD, prometheus.GaugeValue, float64(st.Visible), l...)
		ch <- prometheus.MustNewConstMetric(m.notVisibleD, prometheus.GaugeValue, float64(st.InFlight), l...)
		ch <- prometheus.MustNewConstMetric(m.delayedD, prometheus.GaugeValue, float64(st.Delayed), l...)
		age := 0.0
		if !st.OldestSentAt.IsZero() {
			age = max(now.Sub(st.OldestSentAt).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(m.oldestAgeD, prometheus.GaugeValue, age, l...)
	}
}
