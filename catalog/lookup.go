package catalog

import (
	"context"

	"github.com/shopd/shopd"
)

// MaxVariantLookup bounds how many variants one VariantsInMarket call reads.
const MaxVariantLookup = 500

// MarketVariant is a variant with its product, as one market sells it: what
// a cart or a checkout needs to know about a line, read in one query.
type MarketVariant struct {
	// Product holds the product's own fields (status, launch time, purchase
	// limit, tax category, …); its Variants are empty.
	Product Product
	// Variant holds at most one price: the market's, if the variant has one.
	Variant Variant
}

// Price returns the variant's price in the market, and false if it has none
// there or the price is in another currency than cur (a price left over
// from a market whose currency changed cannot be sold).
func (mv MarketVariant) Price(market, cur string) (Price, bool) {
	p, ok := mv.Variant.Prices[market]
	if !ok || p.Amount.Currency != cur {
		return Price{}, false
	}
	return p, true
}

// VariantLookup is the store method behind VariantsInMarket. It returns the
// variants with the IDs (unknown IDs are left out, the order is
// unspecified), each with its product and only the market's price.
type VariantLookup interface {
	VariantsInMarket(ctx context.Context, market string, ids []string) ([]MarketVariant, error)
}

// VariantsInMarket returns the variants with the IDs, each with its product
// and its price in the market, in any status (the caller decides what can be
// bought: see Product.Available), read through the cache (CacheTTL); the
// caller must not change their maps and slices. IDs that are malformed or unknown are left
// out; duplicates are read once. It returns EINVALID "too-many-variants" for
// more than MaxVariantLookup distinct IDs.
func (s *Service) VariantsInMarket(ctx context.Context, market string, ids []string) ([]MarketVariant, error) {
	seen := make(map[string]bool, len(ids))
	valid := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] && validID(id, "var") {
			seen[id] = true
			valid = append(valid, id)
		}
	}
	if len(valid) > MaxVariantLookup {
		return nil, shopd.TypedErrorf(shopd.EINVALID, "too-many-variants", "At most %d variants can be read at once.", MaxVariantLookup)
	}
	if len(valid) == 0 {
		return []MarketVariant{}, nil
	}
	// The method lives beside Store rather than in it so that it could be
	// added without touching every Store; sqlstore implements it.
	lookup, ok := s.store.(VariantLookup)
	if !ok {
		return nil, shopd.Errorf(shopd.EINTERNAL, "The catalog store cannot look variants up by ID.")
	}
	return s.variantsInMarket(ctx, lookup, market, valid)
}
