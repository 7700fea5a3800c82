package sqlstore

import "github.com/shopd/shopd/catalog"

// CatalogStore implements catalog.Store.
type CatalogStore struct{ db *DB }

var _ catalog.Store = (*CatalogStore)(nil)

// Catalog returns the catalog store.
func (db *DB) Catalog() *CatalogStore { return &CatalogStore{db: db} }
