package sqlstore_test

import (
	"context"
	"testing"

	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestConformance runs the store conformance suite on every engine.
func TestConformance(t *testing.T) {
	storetest.Run(t)
}

func TestSchemasMatch(t *testing.T) {
	storetest.CheckSchemasMatch(t)
}

func TestMigrationsCurrent(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		if err := db.MigrationsCurrent(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}
