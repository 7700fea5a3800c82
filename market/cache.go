package market

import (
	"context"
	"slices"
	"time"

	"github.com/shopd/shopd/readcache"
)

// CacheTTL is how long a Service serves a market and its rates from
// memory. Every cart quote needs the market, its tax rates and its
// shipping rates, and a drop quotes thousands of carts a second (they were
// a quarter of a drop's CPU, profiled); markets change a few times a year.
// A write through the Service clears its cache at once; another process
// (another replica, the CLI) sees the write within CacheTTL.
const CacheTTL = time.Second

// market reads a market through the cache.
func (s *Service) market(ctx context.Context, code string) (Market, error) {
	m, err := readcache.Read(ctx, s.cache, "market:"+code, func() (Market, error) { return s.store.Market(ctx, code) })
	m.Languages = slices.Clone(m.Languages)
	return m, err
}

// Generation changes with every write through the Service: a value made
// from its reads while it stays the same is as current as they are.
func (s *Service) Generation() uint64 { return s.cache.Generation() }

// taxRates reads a market's tax rates through the cache.
func (s *Service) taxRates(ctx context.Context, code string) ([]TaxRate, error) {
	rs, err := readcache.Read(ctx, s.cache, "tax:"+code, func() ([]TaxRate, error) { return s.store.TaxRates(ctx, code) })
	return slices.Clone(rs), err
}

// shippingRates reads a market's shipping rates through the cache.
func (s *Service) shippingRates(ctx context.Context, code string) ([]ShippingRate, error) {
	rs, err := readcache.Read(ctx, s.cache, "shipping:"+code, func() ([]ShippingRate, error) { return s.store.ShippingRates(ctx, code) })
	return slices.Clone(rs), err
}
