package sqlstore

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// OpsStats are the operational numbers an on-call engineer watches, read
// from the store in one query.
type OpsStats struct {
	// OutboxLag is the age of the oldest event not yet delivered; 0 when
	// none waits. The outbox has no delivered marker yet (consumers pull
	// GET /v1/events with their own cursor), so every stored event counts
	// as undelivered until a delivery worker records what it published.
	OutboxLag time.Duration
	// OutboxPending counts the events not yet delivered (see OutboxLag).
	OutboxPending int64
	// ReservationsActive counts stock reservations holding stock.
	ReservationsActive int64
	// ReservationsExpiredBacklog counts active reservations already past
	// expires_at: stock the expiry worker has not released yet.
	ReservationsExpiredBacklog int64
	// PaymentsInDoubt counts payments whose outcome is unknown and waits
	// for the reconciler: in_doubt rows, and pending rows whose caller's
	// lease lapsed (the process died before or while calling the gateway).
	PaymentsInDoubt int64
}

// OpsStats reads the operational numbers as of now.
func (db *DB) OpsStats(ctx context.Context, now time.Time) (OpsStats, error) {
	var s OpsStats
	var oldest sql.NullInt64
	// Each subquery is an index scan: events by primary key (IDs are
	// time-ordered), reservations by the partial index on active rows,
	// payments by status.
	err := db.reader().QueryRowContext(ctx, `SELECT
		(SELECT created_at FROM events ORDER BY id LIMIT 1),
		(SELECT COUNT(*) FROM events),
		(SELECT COUNT(*) FROM stock_reservations WHERE state = 'active'),
		(SELECT COUNT(*) FROM stock_reservations WHERE state = 'active' AND expires_at <= $1),
		(SELECT COUNT(*) FROM payments WHERE status = 'in_doubt' OR (status = 'pending' AND locked_until < $1))`,
		micros(now)).Scan(&oldest, &s.OutboxPending, &s.ReservationsActive, &s.ReservationsExpiredBacklog, &s.PaymentsInDoubt)
	if err != nil {
		return OpsStats{}, err
	}
	if oldest.Valid {
		s.OutboxLag = max(now.Sub(fromMicros(oldest.Int64)), 0)
	}
	return s, nil
}

// Metric names and help texts of the operational gauges.
var (
	descOutboxLag = prometheus.NewDesc("shopd_outbox_lag_seconds",
		"Age of the oldest outbox event not yet delivered, 0 when none waits. The outbox has no delivered marker yet, so this is the age of the oldest stored event.", nil, nil)
	descOutboxPending = prometheus.NewDesc("shopd_outbox_pending_events",
		"Outbox events not yet delivered. The outbox has no delivered marker yet, so this counts every stored event.", nil, nil)
	descReservationsActive = prometheus.NewDesc("shopd_reservations_active",
		"Active stock reservations (stock held for checkouts and orders).", nil, nil)
	descReservationsBacklog = prometheus.NewDesc("shopd_reservations_expired_backlog",
		"Active stock reservations past their expiry that the expiry worker has not released yet.", nil, nil)
	descPaymentsInDoubt = prometheus.NewDesc("shopd_payments_in_doubt",
		"Payments with an unknown outcome waiting for the reconciler: in_doubt, or pending with a lapsed lease.", nil, nil)
)

// StatsCollector exports OpsStats as Prometheus gauges, read at scrape time
// from the store. A reading is reused for ttl so that a storm of scrapes (many
// pods, many Prometheus replicas) costs one query per ttl; a query is cut
// off after timeout. When the query fails the gauges are left out of that
// scrape (the rest of /metrics still answers) and
// shopd_store_stats_errors_total counts the failure.
type StatsCollector struct {
	db      *DB
	ttl     time.Duration
	timeout time.Duration
	errors  prometheus.Counter

	mu   sync.Mutex // held during a query, so concurrent scrapes share it
	at   time.Time  // when last was read (monotonic wall time, not the store clock)
	last OpsStats
	ok   bool
}

// NewStatsCollector returns a collector of db's OpsStats; ttl 0 reads on
// every scrape.
func NewStatsCollector(db *DB, ttl, timeout time.Duration) *StatsCollector {
	return &StatsCollector{db: db, ttl: ttl, timeout: timeout, errors: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "shopd_store_stats_errors_total",
		Help: "Scrapes whose read of the outbox, reservation and payment gauges failed or timed out.",
	})}
}

// Describe implements prometheus.Collector.
func (c *StatsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOutboxLag, descOutboxPending, descReservationsActive, descReservationsBacklog, descPaymentsInDoubt} {
		ch <- d
	}
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *StatsCollector) Collect(ch chan<- prometheus.Metric) {
	if s, ok := c.read(); ok {
		ch <- prometheus.MustNewConstMetric(descOutboxLag, prometheus.GaugeValue, s.OutboxLag.Seconds())
		ch <- prometheus.MustNewConstMetric(descOutboxPending, prometheus.GaugeValue, float64(s.OutboxPending))
		ch <- prometheus.MustNewConstMetric(descReservationsActive, prometheus.GaugeValue, float64(s.ReservationsActive))
		ch <- prometheus.MustNewConstMetric(descReservationsBacklog, prometheus.GaugeValue, float64(s.ReservationsExpiredBacklog))
		ch <- prometheus.MustNewConstMetric(descPaymentsInDoubt, prometheus.GaugeValue, float64(s.PaymentsInDoubt))
	}
	c.errors.Collect(ch)
}

func (c *StatsCollector) read() (OpsStats, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && time.Since(c.at) < c.ttl {
		return c.last, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	s, err := c.db.OpsStats(ctx, c.db.Now())
	if err != nil {
		c.errors.Inc()
		c.ok = false
		return OpsStats{}, false
	}
	c.last, c.at, c.ok = s, time.Now(), true
	return s, true
}
