package storetest

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shopd/shopd/sqlstore"
)

// testPurchaseLimits: a drop with a limit of 2 per customer; 200 concurrent
// checkouts of 1 unit each by one buyer pass exactly twice, and another
// buyer is not affected. Released units can be bought again.
func testPurchaseLimits(t *testing.T, db *sqlstore.DB) {
	count := func(buyer string, q, limit int64) error {
		return db.InTx(ctx, func(tx *sqlstore.Tx) error { return tx.CountPurchase(ctx, buyer, "prd_drop", q, limit) })
	}
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch err := count("cus_a", 1, 2); err {
			case nil:
				ok.Add(1)
			case sqlstore.ErrPurchaseLimit:
				refused.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 2 || refused.Load() != 198 {
		t.Fatalf("passed %d, refused %d; want 2 and 198", ok.Load(), refused.Load())
	}
	if err := count("cus_b", 2, 2); err != nil {
		t.Fatalf("another buyer: %v", err)
	}
	if err := count("cus_c", 3, 2); err != sqlstore.ErrPurchaseLimit {
		t.Fatalf("3 units at once over a limit of 2: %v", err)
	}
	if err := db.InTx(ctx, func(tx *sqlstore.Tx) error { return tx.UncountPurchase(ctx, "cus_a", "prd_drop", 1) }); err != nil {
		t.Fatal(err)
	}
	if err := count("cus_a", 1, 2); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if err := count("cus_a", 1, 2); err != sqlstore.ErrPurchaseLimit {
		t.Fatalf("over again: %v", err)
	}
}
