package sqlstore

import "github.com/shopd/shopd/inventory"

// InventoryStore implements inventory.Store.
type InventoryStore struct{ db *DB }

var _ inventory.Store = (*InventoryStore)(nil)

// Inventory returns the inventory store.
func (db *DB) Inventory() *InventoryStore { return &InventoryStore{db: db} }
