package catalog_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestCache: a Service sees its own catalog writes at once in storefront
// products and variant lookups, and another process's (another Service on
// the same database) within CacheTTL.
func TestCache(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		clock := shopd.SystemClock{}
		markets := market.NewService(db.Markets(), clock)
		if err := markets.EnsureDefaults(ctx); err != nil {
			t.Fatal(err)
		}
		mine, other := catalog.NewService(db.Catalog(), markets, clock), catalog.NewService(db.Catalog(), markets, clock)
		usd := func(c int64) map[string]catalog.Price {
			return map[string]catalog.Price{"us": {Amount: shopd.Money{Amount: c, Currency: "USD"}}}
		}
		p, err := mine.CreateProduct(ctx, catalog.NewProduct{Title: "Cache Tee", Status: catalog.StatusActive,
			Variants: []catalog.NewVariant{{SKU: "CACHE-1", Prices: usd(1000)}}})
		if err != nil {
			t.Fatal(err)
		}
		vid := p.Variants[0].ID
		prices := func(s *catalog.Service) (listed, looked int64) {
			t.Helper()
			_, l, err := s.StorefrontProduct(ctx, "us", p.Handle)
			if err != nil {
				t.Fatal(err)
			}
			mvs, err := s.VariantsInMarket(ctx, "us", []string{vid})
			if err != nil || len(mvs) != 1 {
				t.Fatal(mvs, err)
			}
			return l.MinPrice.Amount, mvs[0].Variant.Prices["us"].Amount.Amount
		}
		for _, s := range []*catalog.Service{mine, other} {
			if a, b := prices(s); a != 1000 || b != 1000 {
				t.Fatalf("before: %d %d", a, b)
			}
		}
		written := time.Now()
		if _, err := other.SetPrice(ctx, vid, "us", usd(1200)["us"]); err != nil {
			t.Fatal(err)
		}
		if a, b := prices(other); a != 1200 || b != 1200 {
			t.Fatalf("the writer sees %d %d, want 1200", a, b)
		}
		for {
			a, b := prices(mine)
			if a == 1200 && b == 1200 {
				break
			}
			if time.Since(written) > catalog.CacheTTL+time.Second {
				t.Fatalf("another service still sees %d %d %v after the write", a, b, time.Since(written))
			}
			time.Sleep(50 * time.Millisecond)
		}
		// Archived through this service: off the storefront at once.
		if _, err := mine.ArchiveProduct(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := mine.StorefrontProduct(ctx, "us", p.Handle); shopd.ErrorCode(err) != shopd.ENOTFOUND {
			t.Fatalf("archived product: %v", err)
		}
	})
}
