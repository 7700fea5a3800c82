package catalog

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/shopd/shopd/readcache"
)

// CacheTTL is how long a Service serves storefront products, list pages
// and the variants carts and checkouts price from memory. A drop reads the same
// product and variant for every shopper, thousands of times a second
// (profiled: a sixth of shopd's CPU in a drop on PostgreSQL, and a read
// transaction each); products change a few times a day. Every write
// through the Service clears the cache at once; another process (another
// replica, the CLI) sees a write within CacheTTL, so a price changed there
// may be quoted at the old price for up to that long. Staff reads
// (Product, Products) always read the store.
const CacheTTL = time.Second

// maxCachedPages bounds the list pages kept: a page holds up to
// MaxPageSize products, and every filter, cursor and limit is a page of
// its own.
const maxCachedPages = 1000

// Generation changes with every write through the Service or its Markets
// that could change a storefront read (a write in another process does
// not: see Listing.FreshUntil). A value made from storefront reads while
// it stays the same is as current as they are.
func (s *Service) Generation() uint64 {
	return s.cache.Generation() + s.markets.Generation() // both only grow: the sum changes when either does
}

// Now is the Service's clock's time, the clock of FreshUntil.
func (s *Service) Now() time.Time { return s.clock.Now() }

// forget clears the caches; every write through the Service calls it once
// the write is done.
func (s *Service) forget() {
	s.cache.Forget()
	s.pages.Forget()
}

// storefrontPage reads a page of the storefront list (f as
// StorefrontProducts makes it) through the cache. The page is shared, as
// storefrontProduct's product is.
func (s *Service) storefrontPage(ctx context.Context, f ListFilter) (Page, time.Duration, error) {
	var key strings.Builder
	fmt.Fprintf(&key, "%q %q %q %d", f.Market, f.Status, f.Cursor, f.Limit)
	for _, name := range slices.Sorted(maps.Keys(f.Attributes)) {
		fmt.Fprintf(&key, " %q=%q", name, slices.Sorted(slices.Values(f.Attributes[name])))
	}
	return readcache.ReadAt(ctx, s.pages, key.String(), func() (Page, error) { return s.store.StorefrontProducts(ctx, f) })
}

// storefrontProduct reads a product by ID or handle through the cache, and
// says how long ago it was read from the store. The product is shared:
// callers copy what they change (listing does).
func (s *Service) storefrontProduct(ctx context.Context, idOrHandle string) (Product, time.Duration, error) {
	return readcache.ReadAt(ctx, s.cache, "product:"+idOrHandle, func() (Product, error) { return s.Product(ctx, idOrHandle) })
}

// variantsInMarket looks the variants up through the cache, reading those
// it lacks in one store call.
func (s *Service) variantsInMarket(ctx context.Context, lookup VariantLookup, market string, ids []string) ([]MarketVariant, error) {
	key := func(id string) string { return "variant:" + market + ":" + id }
	out := make([]MarketVariant, 0, len(ids))
	var missing []string
	for _, id := range ids {
		if mv, ok := readcache.Get[MarketVariant](s.cache, key(id)); ok {
			out = append(out, mv)
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	gen := s.cache.Generation()
	read, err := lookup.VariantsInMarket(ctx, market, missing)
	if err != nil {
		return nil, err
	}
	for _, mv := range read {
		s.cache.Put(key(mv.Variant.ID), mv, gen)
	}
	return append(out, read...), nil
}
