package sqlstore

import "github.com/shopd/shopd/cart"

// CartStore implements cart.Store.
type CartStore struct{ db *DB }

var _ cart.Store = (*CartStore)(nil)

// Carts returns the cart store.
func (db *DB) Carts() *CartStore { return &CartStore{db: db} }
