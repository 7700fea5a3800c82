package catalog

import (
	"context"
	"time"

	"github.com/shopd/shopd/readcache"
)

// CacheTTL is how long a Service serves storefront products and the
// variants carts and checkouts price from memory. A drop reads the same
// product and variant for every shopper, thousands of times a second
// (profiled: a sixth of shopd's CPU in a drop on PostgreSQL, and a read
// transaction each); products change a few times a day. Every write
// through the Service clears the cache at once; another process (another
// replica, the CLI) sees a write within CacheTTL, so a price changed there
// may be quoted at the old price for up to that long. Staff reads
// (Product, Products) always read the store.
const CacheTTL = time.Second

// storefrontProduct reads a product by ID or handle through the cache.
// The product is shared: callers copy what they change (listing does).
func (s *Service) storefrontProduct(ctx context.Context, idOrHandle string) (Product, error) {
	return readcache.Read(s.cache, "product:"+idOrHandle, func() (Product, error) { return s.Product(ctx, idOrHandle) })
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
