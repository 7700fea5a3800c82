package sqlstore

import "github.com/shopd/shopd/customer"

// CustomerStore implements customer.Store.
type CustomerStore struct{ db *DB }

var _ customer.Store = (*CustomerStore)(nil)

// Customers returns the customer store.
func (db *DB) Customers() *CustomerStore { return &CustomerStore{db: db} }
