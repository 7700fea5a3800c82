package subscription_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/subscription"
)

// BenchmarkBillingRun measures one billing run over n due subscriptions
// (SHOPD_BENCH_SUBSCRIPTIONS, default 10,000) with the test gateway in
// process: every renewal invoiced, its payment recorded and charged, the
// settle hook moving invoice and subscription, the outbox events written.
// latency=0 uses tok_visa; latency=50ms uses tok_slow with that
// SlowLatency (shopd bill has no flag for it). SHOPD_BENCH_CONCURRENCY
// overrides the biller's charge pool (default 64, as shopd bill).
// Seeding is not timed. Run with -benchtime=1x.
func BenchmarkBillingRun(b *testing.B) {
	n := envInt(b, "SHOPD_BENCH_SUBSCRIPTIONS", 10000)
	concurrency := envInt(b, "SHOPD_BENCH_CONCURRENCY", 64)
	for _, d := range storetest.Engines(b) {
		for _, latency := range []time.Duration{0, 50 * time.Millisecond} {
			b.Run(fmt.Sprintf("%s/latency=%s/n=%d", d, latency, n), func(b *testing.B) {
				var renewals, seconds float64
				for range b.N {
					b.StopTimer()
					db := storetest.Open(b, d)
					at := time.Date(2027, 1, 31, 15, 0, 0, 0, time.UTC)
					token := "tok_visa"
					if latency > 0 {
						token = "tok_slow"
					}
					storetest.SeedDueSubscriptions(b, db, n, []string{token}, at)
					clock := shopd.NewTestClock(at)
					gw := testgateway.New(db.TestGatewayLedger(), testgateway.Options{Clock: clock, SlowLatency: latency})
					payments := payment.NewService(db.Payments(), clock, payment.WithGateway(gw))
					biller := subscription.NewBiller(db.Billing(), payments, market.NewService(db.Markets(), clock), clock, subscription.DefaultBillingRules())
					biller.Concurrency = concurrency
					b.StartTimer()
					start := time.Now()
					res, err := biller.Run(context.Background())
					elapsed := time.Since(start)
					b.StopTimer()
					if err != nil || res.Invoiced != n || res.Charged != n {
						b.Fatalf("run: %+v, %v; want %d invoiced and charged", res, err, n)
					}
					renewals += float64(n)
					seconds += elapsed.Seconds()
				}
				b.ReportMetric(renewals/seconds, "renewals/s")
			})
		}
	}
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}
