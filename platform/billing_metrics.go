package platform

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BillingMetrics count billing runs and what they did, for dashboards and
// the ShopdBillingRunFailures alert.
type BillingMetrics struct {
	runs     prometheus.Counter
	failures prometheus.Counter
	duration prometheus.Histogram
	outcomes *prometheus.CounterVec
}

// NewBillingMetrics registers the billing metrics with m.
func NewBillingMetrics(m *Metrics) (*BillingMetrics, error) {
	b := &BillingMetrics{
		runs: prometheus.NewCounter(prometheus.CounterOpts{Name: "shopd_billing_runs_total",
			Help: "Billing runs finished, failed or not."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "shopd_billing_run_failures_total",
			Help: "Billing runs that failed (the run itself, not a declined card); what they left due is billed by the next run."}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shopd_billing_run_duration_seconds",
			Help: "Time a billing run took.", Buckets: prometheus.ExponentialBuckets(0.01, 4, 9)}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shopd_billing_renewals_total",
			Help: "What billing runs did: invoiced, charged, declined, unknown, retried, free, skipped, canceled, gave_up."}, []string{"outcome"}),
	}
	return b, m.Register(b.runs, b.failures, b.duration, b.outcomes)
}

// Observe records one run: how long it took, whether it failed, and its
// counts by outcome.
func (b *BillingMetrics) Observe(d time.Duration, err error, outcomes map[string]int) {
	b.runs.Inc()
	if err != nil {
		b.failures.Inc()
	}
	b.duration.Observe(d.Seconds())
	for k, n := range outcomes {
		b.outcomes.WithLabelValues(k).Add(float64(n))
	}
}
