package subscription_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/subscription"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// BenchmarkBillingRun measures one billing run over n due subscriptions
// (SHOPD_BENCH_SUBSCRIPTIONS, default 10,000) with the test gateway in
// process: every renewal invoiced, its payment recorded and charged, the
// settle hook moving invoice and subscription, the outbox events written.
// latency=0 uses tok_visa; latency=50ms uses tok_slow with that
// SlowLatency (shopd bill has no flag for it). SHOPD_BENCH_CONCURRENCY
// overrides the biller's charge pool.
//
// On PostgreSQL it also reports commits per renewal (pg_stat_database),
// and with SHOPD_BENCH_COUNT_STATEMENTS=1 it traces the run to count the
// statements sent (round trips, BEGIN and COMMIT included) per renewal and
// logs them by kind; tracing slows the run, so its renewals/s is not the
// figure to quote. Seeding is not timed. Run with -benchtime=1x. The plan
// is a box (no period orders); BenchmarkBillingRunReplenishment bills
// replenishment periods, each with its order.
func BenchmarkBillingRun(b *testing.B) {
	benchBillingRun(b, func(b *testing.B, db *sqlstore.DB, n int, token string, at time.Time) func(*testing.B) {
		storetest.SeedDueSubscriptions(b, db, n, []string{token}, at)
		return nil
	})
}

// benchBillingRun runs BenchmarkBillingRun over the due subscriptions that
// seed makes; the function seed returns, if not nil, checks what the run
// left.
func benchBillingRun(b *testing.B, seed func(b *testing.B, db *sqlstore.DB, n int, token string, at time.Time) func(*testing.B)) {
	n := envInt(b, "SHOPD_BENCH_SUBSCRIPTIONS", 10000)
	concurrency := envInt(b, "SHOPD_BENCH_CONCURRENCY", 0)
	var counter *statementCounter
	if os.Getenv("SHOPD_BENCH_COUNT_STATEMENTS") == "1" {
		counter = countStatements()
	}
	for _, d := range storetest.Engines(b) {
		for _, latency := range []time.Duration{0, 50 * time.Millisecond} {
			b.Run(fmt.Sprintf("%s/latency=%s/n=%d", d, latency, n), func(b *testing.B) {
				var renewals, seconds, commits float64
				for range b.N {
					b.StopTimer()
					db := storetest.Open(b, d)
					at := time.Date(2027, 1, 31, 15, 0, 0, 0, time.UTC)
					token := "tok_visa"
					if latency > 0 {
						token = "tok_slow"
					}
					check := seed(b, db, n, token, at)
					clock := shopd.NewTestClock(at)
					gw := testgateway.New(db.TestGatewayLedger(), testgateway.Options{Clock: clock, SlowLatency: latency})
					payments := payment.NewService(db.Payments(), clock, payment.WithGateway(gw))
					biller := subscription.NewBiller(db.Billing(), payments, market.NewService(db.Markets(), clock), clock, subscription.DefaultBillingRules())
					if concurrency > 0 {
						biller.Concurrency = concurrency
					}
					ctx := context.Background()
					if counter != nil {
						counter.reset()
						var end func()
						ctx, end = counter.start(ctx)
						defer end()
					}
					before := pgCommits(b, db)
					b.StartTimer()
					start := time.Now()
					res, err := biller.Run(ctx)
					elapsed := time.Since(start)
					b.StopTimer()
					commits += pgCommits(b, db) - before
					if err != nil || res.Invoiced != n || res.Charged != n {
						b.Fatalf("run: %+v, %v; want %d invoiced and charged", res, err, n)
					}
					if check != nil {
						check(b)
					}
					renewals += float64(n)
					seconds += elapsed.Seconds()
				}
				b.ReportMetric(renewals/seconds, "renewals/s")
				if d == sqlstore.Postgres {
					b.ReportMetric(commits/renewals, "commits/renewal")
				}
				if counter != nil {
					total, kinds := counter.counts()
					b.ReportMetric(float64(total)/renewals, "statements/renewal")
					b.Logf("statements by kind over %.0f renewals: %s", renewals, kinds)
				}
			})
		}
	}
}

// pgCommits returns the transactions committed in db's PostgreSQL
// database so far (0 on SQLite). The statistics lag by up to
// stats_fetch_consistency's snapshot: it clears the snapshot first.
func pgCommits(b *testing.B, db *sqlstore.DB) float64 {
	pool := db.Pools()["main"]
	if db.Dialect() != sqlstore.Postgres || pool == nil {
		return 0
	}
	var n float64
	if _, err := pool.Exec(`SELECT pg_stat_clear_snapshot()`); err != nil {
		b.Fatal(err)
	}
	// The counters are flushed when a backend goes idle, at most every second.
	time.Sleep(1100 * time.Millisecond)
	if err := pool.QueryRow(`SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// statementCounter counts the database statements traced under a root
// span (sqlstore starts a client span per PostgreSQL statement).
type statementCounter struct {
	mu    sync.Mutex
	kinds map[string]int
	tp    *sdktrace.TracerProvider
}

// countStatements returns the process's statement counter. There is one:
// sqlstore's tracer, taken from the global provider when the package is
// initialized, delegates to the first provider set, and only to it.
func countStatements() *statementCounter {
	counterOnce.Do(func() {
		c := &statementCounter{kinds: map[string]int{}}
		c.tp = sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(c))
		otel.SetTracerProvider(c.tp)
		processCounter = c
	})
	return processCounter
}

var (
	counterOnce    sync.Once
	processCounter *statementCounter
)

func (c *statementCounter) start(ctx context.Context) (context.Context, func()) {
	ctx, span := c.tp.Tracer("bench").Start(ctx, "billing run")
	return ctx, func() { span.End() }
}

func (c *statementCounter) reset() {
	c.mu.Lock()
	c.kinds = map[string]int{}
	c.mu.Unlock()
}

func (c *statementCounter) counts() (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := 0
	var parts []string
	for k, n := range c.kinds {
		total += n
		parts = append(parts, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(parts)
	return total, strings.Join(parts, ", ")
}

// OnStart implements sdktrace.SpanProcessor.
func (c *statementCounter) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {}

// OnEnd implements sdktrace.SpanProcessor: it counts statement spans by name.
func (c *statementCounter) OnEnd(s sdktrace.ReadOnlySpan) {
	if s.Name() == "billing run" {
		return
	}
	c.mu.Lock()
	c.kinds[s.Name()]++
	c.mu.Unlock()
}

// Shutdown implements sdktrace.SpanProcessor.
func (c *statementCounter) Shutdown(context.Context) error { return nil }

// ForceFlush implements sdktrace.SpanProcessor.
func (c *statementCounter) ForceFlush(context.Context) error { return nil }

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
