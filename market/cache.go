package market

import (
	"context"
	"slices"
	"sync"
	"time"
)

// CacheTTL is how long a Service serves a market and its rates from
// memory. Every cart quote needs the market, its tax rates and its
// shipping rates, and a drop quotes thousands of carts a second (they were
// a quarter of a drop's CPU, profiled); markets change a few times a year.
// A write through the Service clears its cache at once; another process
// (another replica, the CLI) sees the write within CacheTTL.
const CacheTTL = time.Second

// cache holds what a Service read lately, by kind and market code.
type cache struct {
	mu      sync.Mutex
	entries map[string]cached
	gen     uint64 // advanced by every write: a read begun before it is not kept
}

type cached struct {
	v  any
	at time.Time
}

// read returns the value under key, loading it if missing or older than
// CacheTTL. Slices are the cache's own: callers get clones (see below).
func read[T any](c *cache, key string, load func() (T, error)) (T, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	gen := c.gen
	c.mu.Unlock()
	if ok && time.Since(e.at) < CacheTTL {
		return e.v.(T), nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if c.entries == nil {
			c.entries = map[string]cached{}
		}
		c.entries[key] = cached{v: v, at: time.Now()}
	}
	c.mu.Unlock()
	return v, nil
}

// forget empties the cache; every write calls it once done.
func (c *cache) forget() {
	c.mu.Lock()
	clear(c.entries)
	c.gen++
	c.mu.Unlock()
}

// market reads a market through the cache.
func (s *Service) market(ctx context.Context, code string) (Market, error) {
	m, err := read(&s.cache, "market:"+code, func() (Market, error) { return s.store.Market(ctx, code) })
	m.Languages = slices.Clone(m.Languages)
	return m, err
}

// taxRates reads a market's tax rates through the cache.
func (s *Service) taxRates(ctx context.Context, code string) ([]TaxRate, error) {
	rs, err := read(&s.cache, "tax:"+code, func() ([]TaxRate, error) { return s.store.TaxRates(ctx, code) })
	return slices.Clone(rs), err
}

// shippingRates reads a market's shipping rates through the cache.
func (s *Service) shippingRates(ctx context.Context, code string) ([]ShippingRate, error) {
	rs, err := read(&s.cache, "shipping:"+code, func() ([]ShippingRate, error) { return s.store.ShippingRates(ctx, code) })
	return slices.Clone(rs), err
}
