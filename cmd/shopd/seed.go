package main

import (
	"context"
	"fmt"
	"time"

	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/platform"
	"github.com/shopd/shopd/seed"
	"github.com/shopd/shopd/staff"
)

func seedCmd(ctx context.Context, c *cli, args []string) error {
	f := c.flags("seed", "[--products N] [--customers N] [--seed S]",
		"Fills the store with a realistic beauty and apparel catalog priced in every market, and\ncustomers (password "+seed.DemoPassword+"). Reruns need a different --seed.")
	d := platform.BindDatabase(f)
	products := f.Int("products", "", 1000, "products to create (about 3 variants each)")
	customers := f.Int("customers", "", 100, "customers to create")
	seedN := f.Int("seed", "", 1, "random seed; handles and SKUs carry it")
	if err := parse(f, args); err != nil {
		return err
	}
	if *products < 0 || *products > 10_000_000 || *customers < 0 || *customers > 10_000_000 || *seedN < 0 {
		return usagef("--products and --customers must be from 0 to 10000000, --seed ≥ 0")
	}
	a, err := openApp(ctx, d)
	if err != nil {
		return err
	}
	defer a.Close()
	markets, err := a.markets.Markets(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	last := time.Time{}
	markets = enabled(markets)
	err = seed.Run(ctx, markets, a.db.Catalog(), a.db.Customers(), seed.Options{
		Products: *products, Customers: *customers, Seed: uint64(*seedN), Now: a.clock.Now(),
		Progress: func(kind string, done, total int) {
			if time.Since(last) > 250*time.Millisecond || done == total {
				last = time.Now()
				fmt.Fprintf(c.stderr, "\r%-9s %9d / %-9d %6.1fs", kind, done, total, time.Since(start).Seconds())
				if done == total {
					fmt.Fprintln(c.stderr)
				}
			}
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "seeded %d products and %d customers in %d markets into %s %s in %.1fs\n",
		*products, *customers, len(markets), a.db.Dialect(), a.db.Source(), time.Since(start).Seconds())
	return nil
}

// seedDemo seeds a small demo shop if the catalog is empty and returns a new
// owner API key ("" if the shop had products already).
func seedDemo(ctx context.Context, a *app) (string, error) {
	page, err := a.catalog.Products(ctx, catalog.ListFilter{Limit: 1})
	if err != nil || len(page.Products) > 0 {
		return "", err
	}
	markets, err := a.markets.Markets(ctx)
	if err != nil {
		return "", err
	}
	if err := seed.Run(ctx, enabled(markets), a.db.Catalog(), a.db.Customers(), seed.Options{Products: 60, Customers: 20, Seed: 0, Now: a.clock.Now()}); err != nil {
		return "", err
	}
	_, secret, err := a.staff.CreateKey(ctx, "demo owner", staff.RoleOwner)
	return secret, err
}

func enabled(ms []market.Market) []market.Market {
	var out []market.Market
	for _, m := range ms {
		if m.Enabled {
			out = append(out, m)
		}
	}
	return out
}
