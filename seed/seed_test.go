package seed_test

import (
	"context"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/seed"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestSeedPassesMerchantRules creates generated products through the
// catalog service, so seed data obeys every rule merchant input does, and
// checks that the local prices are in each market's currency.
func TestSeedPassesMerchantRules(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, sqlstore.SQLite)
	clock := shopd.SystemClock{}
	markets := market.NewService(db.Markets(), clock)
	if err := markets.EnsureDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	all, err := markets.Markets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svc := catalog.NewService(db.Catalog(), markets, clock)
	ps := seed.Products(7, 300, all, time.Now())
	variants, statuses := 0, map[catalog.Status]int{}
	for _, p := range ps {
		np := catalog.NewProduct{Handle: p.Handle, Title: p.Title, Description: p.Description, Status: p.Status,
			PurchaseLimit: p.PurchaseLimit, TaxCategory: p.TaxCategory, Attributes: p.Attributes, Media: p.Media}
		if !p.LaunchAt.IsZero() {
			np.LaunchAt = &p.LaunchAt
		}
		for _, v := range p.Variants {
			pos := v.Position
			np.Variants = append(np.Variants, catalog.NewVariant{SKU: v.SKU, Title: v.Title, Options: v.Options, Position: &pos, Prices: v.Prices})
			for _, m := range all {
				if pr := v.Prices[m.Code]; pr.Amount.Currency != m.Currency || pr.Amount.Amount <= 0 {
					t.Fatalf("%s in %s: price %v", v.SKU, m.Code, pr.Amount)
				}
			}
		}
		if _, err := svc.CreateProduct(ctx, np); err != nil {
			t.Fatalf("%s: %v", p.Handle, err)
		}
		variants += len(p.Variants)
		statuses[p.Status]++
	}
	if avg := float64(variants) / float64(len(ps)); avg < 2 || avg > 4.5 {
		t.Errorf("%.2f variants per product, want about 3", avg)
	}
	if statuses[catalog.StatusActive] < 250 || statuses[catalog.StatusDraft] == 0 {
		t.Errorf("statuses %v: want mostly active, some drafts", statuses)
	}
	again := seed.Products(7, 300, all, time.Now())
	if again[42].Title != ps[42].Title || again[42].Variants[0].SKU != ps[42].Variants[0].SKU {
		t.Error("the same seed gave another catalog")
	}
}

func TestLocalPrice(t *testing.T) {
	for _, c := range []struct {
		usd  int64
		cur  string
		want int64
	}{
		{1800, "USD", 1899}, {1800, "CAD", 2499}, {1800, "BRL", 10890}, {1800, "INR", 171900},
	} {
		if got := seed.LocalPrice(c.usd, c.cur); got != c.want {
			t.Errorf("LocalPrice(%d, %s) = %d, want %d", c.usd, c.cur, got, c.want)
		}
	}
}
