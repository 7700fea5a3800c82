// Package inventory holds warehouses and stock: on hand and reserved per SKU
// and warehouse, reservations with expiry, the movement ledger that explains
// every change of on-hand, and sync from external warehouse systems.
package inventory

import "github.com/shopd/shopd"

// Store is what Service needs from storage.
type Store interface{}

// Service manages warehouses and stock.
type Service struct {
	store Store
	clock shopd.Clock
}

// NewService returns a Service on store.
func NewService(store Store, clock shopd.Clock) *Service { return &Service{store: store, clock: clock} }
