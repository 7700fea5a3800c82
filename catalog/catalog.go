// Package catalog holds products, their variants (SKUs) and prices per
// market, with attributes for filtering and a launch time for drops.
package catalog

import (
	"context"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
)

// Markets is what the catalog needs to know about markets.
type Markets interface {
	Market(ctx context.Context, code string) (market.Market, error)
}

// Store is what Service needs from storage.
type Store interface {
	// TODO(catalog)
}

// Service manages the catalog.
type Service struct {
	store   Store
	markets Markets
	clock   shopd.Clock
}

// NewService returns a Service on store.
func NewService(store Store, markets Markets, clock shopd.Clock) *Service {
	return &Service{store: store, markets: markets, clock: clock}
}
