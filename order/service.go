package order

import (
	"context"
	"strings"
	"time"

	"github.com/shopd/shopd"
)

// Store is what Service needs from storage. Its methods return ENOTFOUND
// for an unknown order.
type Store interface {
	// Order returns the order with its lines.
	Order(ctx context.Context, id string) (Order, error)
	// Orders lists orders newest first, with their lines.
	Orders(ctx context.Context, f Filter) ([]Order, error)
	// UpdateOrder runs fn on the locked order and stores its status,
	// timestamps and refunded amount if fn returns nil.
	UpdateOrder(ctx context.Context, id string, fn func(o *Order) error) (Order, error)
}

// Service reads orders and moves them through their lifecycle.
type Service struct {
	store Store
	clock shopd.Clock
}

// NewService returns a Service on store.
func NewService(store Store, clock shopd.Clock) *Service { return &Service{store: store, clock: clock} }

var errNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "order-not-found", "No such order.")

// Order returns any order (staff). It returns ENOTFOUND for an unknown ID.
func (s *Service) Order(ctx context.Context, id string) (Order, error) {
	if !shopd.HasIDPrefix(id, "ord") {
		return Order{}, errNotFound
	}
	return s.store.Order(ctx, id)
}

// CustomerOrder returns a customer's own order. It returns ENOTFOUND for an
// unknown order and for another customer's, so IDs reveal nothing.
func (s *Service) CustomerOrder(ctx context.Context, customerID, id string) (Order, error) {
	o, err := s.Order(ctx, id)
	if err != nil {
		return Order{}, err
	}
	if customerID == "" || o.CustomerID != customerID {
		return Order{}, errNotFound
	}
	return o, nil
}

// MaxPageSize bounds a page of orders.
const MaxPageSize = 100

// Orders lists orders newest first. The limit is clamped to 1..MaxPageSize+1,
// so that a caller can ask for one more than a page to learn whether a next
// page exists.
func (s *Service) Orders(ctx context.Context, f Filter) ([]Order, error) {
	var v shopd.Validation
	v.Check(f.Status == "" || f.Status.Valid(), "status", "must be a known order status")
	v.Check(len(f.Email) <= 254 && len(f.Market) <= 8 && len(f.Before) <= 64, "filter", "is too long")
	if err := v.Err(); err != nil {
		return nil, err
	}
	f.Email = strings.ToLower(strings.TrimSpace(f.Email))
	f.Limit = min(max(f.Limit, 1), MaxPageSize+1) // one more than a page tells whether another follows
	return s.store.Orders(ctx, f)
}

// Transition moves an order to a new status, or returns ECONFLICT
// `invalid-transition` if its lifecycle does not allow it.
func (s *Service) Transition(ctx context.Context, id string, to Status) (Order, error) {
	if !shopd.HasIDPrefix(id, "ord") {
		return Order{}, errNotFound
	}
	return s.store.UpdateOrder(ctx, id, func(o *Order) error { return o.Become(to, s.clock.Now()) })
}

// Become moves the order to status to at time now, stamping PaidAt or
// CanceledAt, or returns ECONFLICT `invalid-transition`.
func (o *Order) Become(to Status, now time.Time) error {
	if err := o.Status.Transition(to); err != nil {
		return err
	}
	o.Status, o.UpdatedAt = to, now
	switch to {
	case StatusPaid:
		o.PaidAt = now
	case StatusCanceled:
		o.CanceledAt = now
	}
	return nil
}
