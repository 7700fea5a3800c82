package sqlstore

import "github.com/shopd/shopd/market"

// MarketStore implements market.Store.
type MarketStore struct{ db *DB }

var _ market.Store = (*MarketStore)(nil)

// Markets returns the market store.
func (db *DB) Markets() *MarketStore { return &MarketStore{db: db} }
