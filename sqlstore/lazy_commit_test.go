package sqlstore

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestCommitLazily: a cart's transaction commits without waiting for the
// disk, and only that transaction — the next one on the same pooled
// connections is durable again.
func TestCommitLazily(t *testing.T) {
	url := os.Getenv("SHOPD_TEST_DATABASE_URL")
	if url == "" {
		if os.Getenv("SHOPD_REQUIRE_POSTGRES") == "1" {
			t.Fatal("SHOPD_REQUIRE_POSTGRES=1 but SHOPD_TEST_DATABASE_URL is empty")
		}
		t.Skip("PostgreSQL only (SQLite has nothing to change); set SHOPD_TEST_DATABASE_URL")
	}
	ctx := context.Background()
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	db, err := Open(ctx, url+sep+"pool_max_conns=1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	setting := func(lazy bool) string {
		var got string
		err := db.InTx(ctx, func(tx *Tx) error {
			return tx.Pipeline(ctx, func() error {
				if lazy {
					if err := tx.commitLazily(ctx); err != nil {
						return err
					}
				}
				return tx.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&got)
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := setting(true); got != "off" {
		t.Errorf("in a lazily committed transaction synchronous_commit = %q, want off", got)
	}
	if got := setting(false); got != "on" {
		t.Errorf("in the next transaction on the one connection synchronous_commit = %q, want on", got)
	}
}
