package sqlstore

import "github.com/shopd/shopd/payment"

// PaymentStore implements payment.Store.
type PaymentStore struct{ db *DB }

var _ payment.Store = (*PaymentStore)(nil)

// Payments returns the payment store.
func (db *DB) Payments() *PaymentStore { return &PaymentStore{db: db} }
