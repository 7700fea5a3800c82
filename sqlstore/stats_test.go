package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// gather scrapes a registry holding only c and returns the gauge and
// counter values by name.
func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry() // also checks Describe against Collect
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				out[mf.GetName()] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// TestStatsCollector writes events, reservations and payments in every
// state at known times and checks the exact gauge values a scrape reports.
func TestStatsCollector(t *testing.T) {
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			clock := shopd.NewTestClock(now)
			db := storetest.OpenWith(t, d, sqlstore.Options{Clock: clock})

			empty := gather(t, sqlstore.NewStatsCollector(db, 0, 5*time.Second))
			for _, name := range []string{"shopd_outbox_lag_seconds", "shopd_outbox_pending_events", "shopd_reservations_active",
				"shopd_reservations_expired_backlog", "shopd_payments_in_doubt", "shopd_store_stats_errors_total"} {
				if v, ok := empty[name]; !ok || v != 0 {
					t.Errorf("empty store: %s = %v (present %v), want 0", name, v, ok)
				}
			}

			// Events: the oldest is 90.5 s old.
			inTx(t, db, func(tx *sqlstore.Tx) error {
				for _, age := range []time.Duration{90500 * time.Millisecond, 30 * time.Second, 0} {
					e, err := event.New("test.happened", "x_1", map[string]int{"n": 1}, now.Add(-age))
					if err != nil {
						return err
					}
					if err := tx.AppendEvent(ctx, e); err != nil {
						return err
					}
				}
				return nil
			})
			// Reservations: 4 active, of which 2 are expired (one exactly at
			// now, which the expiry worker also takes); committed, released
			// and expired rows do not count.
			us := func(d time.Duration) int64 { return now.Add(d).UnixMicro() }
			for i, r := range []struct {
				state   string
				expires int64
			}{
				{"active", us(time.Minute)}, {"active", us(time.Hour)}, {"active", us(0)}, {"active", us(-time.Minute)},
				{"committed", us(-time.Hour)}, {"released", us(-time.Hour)}, {"expired", us(-time.Hour)},
			} {
				execSQL(t, db, `INSERT INTO stock_reservations (id, reference, sku, warehouse_id, quantity, state, expires_at, created_at, updated_at)
					VALUES ($1, $2, 'SKU-1', 'wh_1', 1, $3, $4, $5, $5)`, shopd.NewID("rsv"), "ref_"+string(rune('a'+i)), r.state, r.expires, us(-2*time.Hour))
			}
			// Payments: in_doubt and a pending row whose lease lapsed are in
			// doubt; a pending row still leased (a caller is at the gateway)
			// and settled rows are not.
			for _, p := range []struct {
				status string
				lease  int64
			}{
				{"in_doubt", 0}, {"in_doubt", us(time.Minute)}, {"pending", us(-time.Second)},
				{"pending", us(time.Minute)}, {"succeeded", 0}, {"failed", 0}, {"authorized", 0},
			} {
				execSQL(t, db, `INSERT INTO payments (id, reference, customer_id, amount, currency, capture, method_token, method_brand, method_last4,
					method_exp_month, method_exp_year, description, status, gateway, idempotency_key, charge_id, captured, refunded,
					failure_type, failure_message, hard_decline, attempts, locked_until, created_at, updated_at)
					VALUES ($1, 'ord_1', 'cus_1', 1000, 'USD', $5, 'tok', 'visa', '4242', 12, 2030, '', $2, 'test', $1, '', 0, 0, '', '', $6, 1, $3, $4, $4)`,
					shopd.NewID("pay"), p.status, p.lease, us(-time.Hour), true, false)
			}

			want := map[string]float64{
				"shopd_outbox_lag_seconds":           90.5,
				"shopd_outbox_pending_events":        3,
				"shopd_reservations_active":          4,
				"shopd_reservations_expired_backlog": 2,
				"shopd_payments_in_doubt":            3,
				"shopd_store_stats_errors_total":     0,
			}
			cached := sqlstore.NewStatsCollector(db, time.Hour, 5*time.Second)
			check := func(what string, got map[string]float64) {
				t.Helper()
				for name, w := range want {
					if v, ok := got[name]; !ok || v != w {
						t.Errorf("%s: %s = %v (present %v), want %v", what, name, v, ok, w)
					}
				}
			}
			check("first scrape", gather(t, cached))

			// Within the ttl a scrape reuses the reading: the clock moved and
			// a reservation expired, and the cached collector still says what
			// it read; a collector without cache sees the change.
			clock.Advance(30 * time.Minute)
			check("cached scrape", gather(t, cached))
			want["shopd_outbox_lag_seconds"] = 90.5 + 1800
			want["shopd_reservations_expired_backlog"] = 3
			want["shopd_payments_in_doubt"] = 4 // the leased pending payment's lease lapsed too
			check("fresh scrape", gather(t, sqlstore.NewStatsCollector(db, 0, 5*time.Second)))

			// A read that times out (1 ns: the deadline has passed before
			// the query starts) leaves the gauges out and counts the failure;
			// the scrape itself succeeds.
			got := gather(t, sqlstore.NewStatsCollector(db, 0, time.Nanosecond))
			if _, ok := got["shopd_outbox_lag_seconds"]; ok {
				t.Errorf("timed-out read: gauges still exported: %v", got)
			}
			if got["shopd_store_stats_errors_total"] != 1 {
				t.Errorf("timed-out read: errors = %v, want 1", got["shopd_store_stats_errors_total"])
			}
		})
	}
}

func inTx(t *testing.T, db *sqlstore.DB, fn func(tx *sqlstore.Tx) error) {
	t.Helper()
	if err := db.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func execSQL(t *testing.T, db *sqlstore.DB, stmt string, args ...any) {
	t.Helper()
	inTx(t, db, func(tx *sqlstore.Tx) error {
		_, err := tx.ExecContext(context.Background(), stmt, args...)
		return err
	})
}
