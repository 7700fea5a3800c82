// Package payment takes money exactly once: every call to a payment gateway
// carries an idempotency key recorded in the database before the call, and a
// reconciler settles payments left in doubt by asking the gateway, never by
// charging again.
package payment

import "github.com/shopd/shopd"

// Store is what Service needs from storage.
type Store interface{}

// Service records payments and talks to the gateway.
type Service struct {
	store Store
	clock shopd.Clock
}

// NewService returns a Service on store.
func NewService(store Store, clock shopd.Clock) *Service { return &Service{store: store, clock: clock} }
