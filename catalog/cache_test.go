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
// products, list pages and variant lookups, and another process's (another Service on
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
		// listed is the product's price on the storefront's first page, 0
		// if it is not there.
		listed := func(s *catalog.Service) int64 {
			t.Helper()
			page, err := s.StorefrontProducts(ctx, catalog.ListFilter{Market: "us", Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range page.Listings {
				if l.Product.ID == p.ID {
					return l.MinPrice.Amount
				}
			}
			return 0
		}
		// prices are the product page's, the list's and the variant
		// lookup's.
		prices := func(s *catalog.Service) [3]int64 {
			t.Helper()
			_, l, err := s.StorefrontProduct(ctx, "us", p.Handle)
			if err != nil {
				t.Fatal(err)
			}
			mvs, err := s.VariantsInMarket(ctx, "us", []string{vid})
			if err != nil || len(mvs) != 1 {
				t.Fatal(mvs, err)
			}
			return [3]int64{l.MinPrice.Amount, listed(s), mvs[0].Variant.Prices["us"].Amount.Amount}
		}
		for _, s := range []*catalog.Service{mine, other} {
			if got := prices(s); got != [3]int64{1000, 1000, 1000} {
				t.Fatalf("before: %v", got)
			}
		}
		written := time.Now()
		if _, err := other.SetPrice(ctx, vid, "us", usd(1200)["us"]); err != nil {
			t.Fatal(err)
		}
		if got := prices(other); got != [3]int64{1200, 1200, 1200} {
			t.Fatalf("the writer sees %v, want 1200", got)
		}
		for {
			got := prices(mine)
			if got == [3]int64{1200, 1200, 1200} {
				break
			}
			if time.Since(written) > catalog.CacheTTL+time.Second {
				t.Fatalf("another service still sees %v %v after the write", got, time.Since(written))
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
		if price := listed(mine); price != 0 {
			t.Fatalf("archived product still listed at %d", price)
		}
	})
}
