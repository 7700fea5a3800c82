package sqlstore

import (
	"context"

	"github.com/shopd/shopd/checkout"
	"github.com/shopd/shopd/order"
)

// CheckoutStore implements checkout.Store: one transaction across orders,
// payments, stock, discounts, purchase limits and the outbox.
type CheckoutStore struct{ db *DB }

var (
	_ checkout.Store = (*CheckoutStore)(nil)
	_ checkout.Tx    = (*Tx)(nil)
)

// Checkout returns the checkout store.
func (db *DB) Checkout() *CheckoutStore { return &CheckoutStore{db: db} }

// InTx implements checkout.Store.
func (s *CheckoutStore) InTx(ctx context.Context, fn func(tx checkout.Tx) error) error {
	return s.db.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// Order implements checkout.Store.
func (s *CheckoutStore) Order(ctx context.Context, id string) (order.Order, error) {
	return s.db.Orders().Order(ctx, id)
}
