package market_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestCache: a Service sees its own writes at once, and another process's
// (another Service on the same database) within CacheTTL.
func TestCache(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		mine, other := market.NewService(db.Markets(), shopd.SystemClock{}), market.NewService(db.Markets(), shopd.SystemClock{})
		if err := mine.EnsureDefaults(ctx); err != nil {
			t.Fatal(err)
		}
		count := func(s *market.Service) int {
			t.Helper()
			rs, err := s.TaxRates(ctx, "us")
			if err != nil {
				t.Fatal(err)
			}
			return len(rs)
		}
		before := count(mine)
		if count(other) != before {
			t.Fatal("two services disagree")
		}
		rate, err := shopd.ParseRate("0.01")
		if err != nil {
			t.Fatal(err)
		}
		written := time.Now()
		if _, err := other.CreateTaxRate(ctx, "us", market.NewTaxRate{Region: "TX", Name: "Cache test", Rate: rate}); err != nil {
			t.Fatal(err)
		}
		if n := count(other); n != before+1 {
			t.Fatalf("the writer sees %d rates, want %d", n, before+1)
		}
		for count(mine) != before+1 {
			if time.Since(written) > market.CacheTTL+time.Second {
				t.Fatalf("another service still sees %d rates %v after the write", before, time.Since(written))
			}
			time.Sleep(50 * time.Millisecond)
		}
		// A caller changing what it got does not change the cache.
		rs, _ := mine.TaxRates(ctx, "us")
		rs[0].Name = "changed"
		if again, _ := mine.TaxRates(ctx, "us"); again[0].Name == "changed" {
			t.Fatal("the cache shares its slice with callers")
		}
	})
}
