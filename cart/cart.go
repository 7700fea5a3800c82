// Package cart holds shopping carts in one market, their pricing (subtotal,
// discounts, tax, shipping, total) and discount codes.
package cart

import "github.com/shopd/shopd"

// Store is what Service needs from storage.
type Store interface{}

// Service manages carts and discount codes.
type Service struct {
	store Store
	clock shopd.Clock
}

// NewService returns a Service on store.
func NewService(store Store, clock shopd.Clock) *Service { return &Service{store: store, clock: clock} }
