package sqlstore_test

import (
	"context"
	"sync"
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

// TestConcurrentMigrations: replicas starting together on a new database
// (every `shopd serve` migrates at start) apply each migration once, and
// none fails for another's.
func TestConcurrentMigrations(t *testing.T) {
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			url := storetest.EmptyURL(t, d)
			const replicas = 8
			applied := make([]int, replicas)
			errs := make([]error, replicas)
			var wg sync.WaitGroup
			for i := range replicas {
				db, err := sqlstore.Open(t.Context(), url, sqlstore.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				wg.Go(func() { applied[i], errs[i] = db.Migrate(t.Context()) })
			}
			wg.Wait()
			total := 0
			for i := range replicas {
				if errs[i] != nil {
					t.Errorf("replica %d: %v", i, errs[i])
				}
				total += applied[i]
			}
			db, err := sqlstore.Open(t.Context(), url, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.MigrationsCurrent(t.Context()); err != nil {
				t.Fatal(err)
			}
			alone, err := sqlstore.Open(t.Context(), storetest.EmptyURL(t, d), sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer alone.Close()
			want, err := alone.Migrate(t.Context())
			if err != nil || total != want {
				t.Errorf("%d migrations applied in all; one replica alone applies %d (%v)", total, want, err)
			}
		})
	}
}
