package checkout_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/checkout"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/idempotency"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestPlaceOrders: one batch with every kind of outcome, each as
// PlaceOrder would have given it in turn, and nothing left of the
// placements that failed.
func TestPlaceOrders(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newShop(t, db)
		a, b, c := f.skus[0], f.skus[1], f.skus[2]
		for i, code := range []string{"east", "west"} {
			if _, err := f.inventory.CreateWarehouse(ctx, inventory.NewWarehouse{Code: code, Name: code, Markets: []string{"us"}, Priority: i + 1}); err != nil {
				t.Fatal(err)
			}
		}
		// Ahead of both by priority, but never on a us order's route: one
		// serving only Canada, one closed.
		for _, code := range []string{"north", "closed"} {
			if _, err := f.inventory.CreateWarehouse(ctx, inventory.NewWarehouse{Code: code, Name: code, Markets: []string{map[string]string{"north": "ca", "closed": "us"}[code]}}); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range []inventory.Receipt{{Warehouse: "east", SKU: a, Quantity: 3}, {Warehouse: "west", SKU: a, Quantity: 2},
			{Warehouse: "east", SKU: b, Quantity: 5}, {Warehouse: "east", SKU: c, Quantity: 1}, {Warehouse: "west", SKU: c, Quantity: 1},
			{Warehouse: "north", SKU: a, Quantity: 50}, {Warehouse: "closed", SKU: a, Quantity: 50}, {Warehouse: "closed", SKU: c, Quantity: 50}} {
			if _, err := f.inventory.Receive(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		off := false
		if _, err := f.inventory.UpdateWarehouse(ctx, "closed", inventory.WarehouseUpdate{Active: &off}); err != nil {
			t.Fatal(err)
		}
		// A key answered before: its request is replayed.
		done, replayed := f.pendingKey(t, "done"), f.pendingKey(t, "done") // the second arrives before the first is answered
		if err := db.InTx(ctx, func(tx *sqlstore.Tx) error { return done.Claim(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
		if err := f.keys.Complete(ctx, "test", "done", 201, "application/json", "", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		limited := []checkout.ProductUnits{{Product: "prd_limited", Quantity: 1, Limit: 1}}
		cases := []struct {
			lines  []inventory.Line
			key    string
			limits []checkout.ProductUnits
			want   string                    // the error type; "" for an order
			alloc  map[string]int64          // warehouse → units of the order's SKU
			also   func(*checkout.Placement) // changes before placing
		}{
			{lines: []inventory.Line{{SKU: a, Quantity: 2}}, key: "k1", alloc: map[string]int64{"east": 2}},
			{lines: []inventory.Line{{SKU: a, Quantity: 1}}, key: "k1", want: "idempotency-key-in-use"},
			{lines: []inventory.Line{{SKU: a, Quantity: 2}}, alloc: map[string]int64{"west": 2}}, // east has 1 left
			{lines: []inventory.Line{{SKU: a, Quantity: 1}}, alloc: map[string]int64{"east": 1}},
			{lines: []inventory.Line{{SKU: a, Quantity: 1}, {SKU: b, Quantity: 1}}, key: "k4", want: "out-of-stock"}, // a is gone: b untouched
			{lines: []inventory.Line{{SKU: b, Quantity: 1}}, limits: limited, alloc: map[string]int64{"east": 1}},
			{lines: []inventory.Line{{SKU: b, Quantity: 1}}, limits: limited, want: "purchase-limit-reached"},
			{lines: []inventory.Line{{SKU: b, Quantity: 1}}, key: "done", want: "replay"},
			{lines: []inventory.Line{{SKU: c, Quantity: 2}}, limits: []checkout.ProductUnits{{Product: "prd_other", Quantity: 1, Limit: 5}},
				alloc: map[string]int64{"east": 1, "west": 1}}, // split
			{lines: []inventory.Line{{SKU: c, Quantity: 1}}, key: "k9", limits: []checkout.ProductUnits{{Product: "prd_third", Quantity: 1, Limit: 5}},
				want: "out-of-stock"}, // its count and key are given back
		}
		pls := make([]checkout.Placement, len(cases))
		for i, c := range cases {
			pl, err := f.placementOf(c.lines...)
			if err != nil {
				t.Fatal(err)
			}
			switch c.key {
			case "":
			case "done":
				pl.Key = replayed
			default:
				pl.Key = f.pendingKey(t, c.key)
			}
			pl.Limits = c.limits
			pls[i] = pl
		}
		var errs []error
		if err := db.Checkout().InTx(ctx, func(tx checkout.Tx) (err error) {
			errs, err = checkout.PlaceOrders(ctx, tx, pls)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		orders := 0
		for i, c := range cases {
			got := shopd.ErrorType(errs[i])
			if _, ok := errs[i].(*idempotency.Replay); ok {
				got = "replay"
			}
			if got != c.want {
				t.Errorf("placement %d: error %v (%q), want %q", i, errs[i], got, c.want)
			}
			res, err := f.inventory.Reservation(ctx, pls[i].Order.ID)
			if c.want != "" {
				if err == nil && len(res.Allocations) > 0 {
					t.Errorf("placement %d failed but holds %v", i, res.Allocations)
				}
				if _, err := db.Orders().Order(ctx, pls[i].Order.ID); shopd.ErrorCode(err) != shopd.ENOTFOUND {
					t.Errorf("placement %d failed but its order exists: %v", i, err)
				}
				continue
			}
			orders++
			if err != nil {
				t.Fatalf("placement %d: reservation: %v", i, err)
			}
			got2 := map[string]int64{}
			for _, al := range res.Allocations {
				got2[al.Warehouse] += al.Quantity
			}
			if len(got2) != len(c.alloc) {
				t.Errorf("placement %d: allocated %v, want %v", i, got2, c.alloc)
			}
			for w, q := range c.alloc {
				if got2[w] != q {
					t.Errorf("placement %d: allocated %v, want %v", i, got2, c.alloc)
				}
			}
			if _, err := db.Orders().Order(ctx, pls[i].Order.ID); err != nil {
				t.Errorf("placement %d: order: %v", i, err)
			}
			if _, err := f.payments.Payment(ctx, pls[i].Payment.ID); err != nil {
				t.Errorf("placement %d: payment: %v", i, err)
			}
		}
		// Keys: k1 held by its first placement; k4 and k9 released.
		for k, held := range map[string]bool{"k1": true, "k4": false, "k9": false} {
			_, found, err := db.Idempotency().Lookup(ctx, "test", k)
			if err != nil || found != held {
				t.Errorf("key %s: found %v (%v), want %v", k, found, err, held)
			}
		}
		var counts [3]int64
		for i, p := range []string{"prd_limited", "prd_other", "prd_third"} {
			counts[i] = sum(t, db, `SELECT COALESCE(SUM(quantity), 0) FROM purchase_counts WHERE product_id = $1`, p)
		}
		if counts != [3]int64{1, 1, 0} {
			t.Errorf("purchase counts %v, want [1 1 0]", counts)
		}
		events, err := db.Events().Events(ctx, event.Filter{Type: "order.created", Limit: 100})
		if err != nil || len(events) != orders {
			t.Errorf("%d order.created events (%v), want %d", len(events), err, orders)
		}
		for _, w := range []struct {
			sku, wh  string
			reserved int64
		}{{a, "east", 3}, {a, "west", 2}, {b, "east", 1}, {c, "east", 1}, {c, "west", 1}} {
			page, err := f.inventory.Stock(ctx, inventory.StockFilter{SKU: w.sku, Warehouse: w.wh, Limit: 10})
			if err != nil || len(page.Stock) != 1 || page.Stock[0].Reserved != w.reserved {
				t.Errorf("stock %s@%s: %+v %v, want %d reserved", w.sku, w.wh, page.Stock, err, w.reserved)
			}
		}
	})
}

// TestPlacerNoOversell: 500 concurrent checkouts through one Placer for a
// SKU with 100 units in two warehouses: exactly 100 placed, the other 400
// out of stock, and the stock rows add up.
func TestPlacerNoOversell(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f := newShop(t, db)
		sku := f.skus[0]
		for i, r := range []inventory.Receipt{{Warehouse: "east", SKU: sku, Quantity: 60}, {Warehouse: "west", SKU: sku, Quantity: 40}} {
			if _, err := f.inventory.CreateWarehouse(ctx, inventory.NewWarehouse{Code: r.Warehouse, Name: r.Warehouse, Markets: []string{"us"}, Priority: i + 1}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.inventory.Receive(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		var failed atomic.Int64
		p := checkout.NewPlacer(db.Checkout(), 1, func(int, error) { failed.Add(1) })
		defer p.Close()
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[string]int{}
		for range 500 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pl, err := f.placement(sku)
				if err == nil {
					err = p.Place(ctx, pl)
				}
				mu.Lock()
				outcomes[shopd.ErrorType(err)]++
				mu.Unlock()
				if err != nil && shopd.ErrorType(err) != "out-of-stock" {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if n := failed.Load(); n != 0 {
			t.Errorf("%d batches failed and were placed one by one", n)
		}
		if outcomes[""] != 100 || outcomes["out-of-stock"] != 400 {
			t.Fatalf("outcomes %v, want 100 placed and 400 out of stock", outcomes)
		}
		page, err := f.inventory.Stock(ctx, inventory.StockFilter{SKU: sku, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var reserved int64
		for _, s := range page.Stock {
			if s.Reserved != s.OnHand {
				t.Errorf("%s: %d reserved of %d", s.Warehouse, s.Reserved, s.OnHand)
			}
			reserved += s.Reserved
		}
		held := sum(t, db, `SELECT COALESCE(SUM(quantity), 0) FROM stock_reservations WHERE sku = $1 AND state = 'active'`, sku)
		if reserved != 100 || held != 100 {
			t.Fatalf("reserved %d, reservation rows %d; want 100 and 100", reserved, held)
		}
	})
}

// sum runs a query for one number in a transaction (which reads its own
// writes on both engines).
func sum(t *testing.T, db *sqlstore.DB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.InTx(context.Background(), func(tx *sqlstore.Tx) error { return tx.QueryRowContext(context.Background(), query, args...).Scan(&n) }); err != nil {
		t.Fatal(err)
	}
	return n
}

// staleTx changes the stock after a batch read it and before its writes
// reach the database.
type staleTx struct {
	checkout.Tx
	change func(ctx context.Context) error
}

func (s staleTx) ReserveStocks(ctx context.Context, reqs []inventory.ReserveRequest) ([]error, error) {
	errs, err := s.Tx.ReserveStocks(ctx, reqs)
	if err == nil {
		err = s.change(ctx)
	}
	return errs, err
}

// TestPlaceOrdersStaleLevels: a batch reads stock without a lock, so the
// levels may change before its writes arrive (here staff count 3 of the
// 5 units lost). The batch routed 4 units on the old levels; its stock
// UPDATE finds 3 available and fails the whole transaction instead of
// overselling, and the Placer then places each checkout alone: 3 placed,
// 1 out of stock. The change comes from another connection, which the
// read did not lock out. PostgreSQL only: on SQLite the one writer runs a
// batch's read and writes back to back, and nothing can come between.
func TestPlaceOrdersStaleLevels(t *testing.T) {
	db, f, sku := fiveUnitsOnPostgres(t)
	ctx := context.Background()
	const lose = `UPDATE stock SET on_hand = on_hand - 2 WHERE sku = $1`
	pls := make([]checkout.Placement, 4)
	for i := range pls {
		pl, err := f.placement(sku)
		if err != nil {
			t.Fatal(err)
		}
		pls[i] = pl
	}
	err := db.Checkout().InTx(ctx, func(tx checkout.Tx) error {
		_, err := checkout.PlaceOrders(ctx, staleTx{Tx: tx, change: func(ctx context.Context) error {
			return db.InTx(ctx, func(other *sqlstore.Tx) error {
				_, err := other.ExecContext(ctx, lose, sku)
				return err
			})
		}}, pls)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "stock rows") {
		t.Fatalf("a batch routed on stale levels: %v, want its stock UPDATE to fail the transaction", err)
	}
	if n := sum(t, db, `SELECT COUNT(*) FROM orders`); n != 0 {
		t.Fatalf("%d orders left by the failed batch", n)
	}
	p := checkout.NewPlacer(db.Checkout(), 1, nil)
	defer p.Close()
	outcomes := map[string]int{}
	for _, pl := range pls {
		outcomes[shopd.ErrorType(p.Place(ctx, pl))]++
	}
	if outcomes[""] != 3 || outcomes["out-of-stock"] != 1 {
		t.Fatalf("outcomes %v, want 3 placed and 1 out of stock", outcomes)
	}
	if onHand, reserved := sum(t, db, `SELECT on_hand FROM stock WHERE sku = $1`, sku), sum(t, db, `SELECT reserved FROM stock WHERE sku = $1`, sku); onHand != 3 || reserved != 3 {
		t.Fatalf("on hand %d, reserved %d; want 3 and 3", onHand, reserved)
	}
}

// staleStore runs its first transaction with staleTx: the stock changes
// under the first batch.
type staleStore struct {
	checkout.Store
	first  sync.Once
	change func(ctx context.Context) error
}

func (s *staleStore) InTx(ctx context.Context, fn func(tx checkout.Tx) error) error {
	stale := false
	s.first.Do(func() { stale = true })
	return s.Store.InTx(ctx, func(tx checkout.Tx) error {
		if stale {
			tx = staleTx{Tx: tx, change: s.change}
		}
		return fn(tx)
	})
}

// TestPlacerReportsFailedBatch: a batch whose transaction fails (staff
// count the whole stock lost under it) is reported to the Placer's failed
// function, with its size and the error, and its checkouts are then
// placed alone: out of stock, nothing reserved. PostgreSQL only, as above.
func TestPlacerReportsFailedBatch(t *testing.T) {
	db, f, sku := fiveUnitsOnPostgres(t)
	ctx := context.Background()
	store := &staleStore{Store: db.Checkout(), change: func(ctx context.Context) error {
		return db.InTx(ctx, func(other *sqlstore.Tx) error {
			_, err := other.ExecContext(ctx, `UPDATE stock SET on_hand = 0 WHERE sku = $1`, sku)
			return err
		})
	}}
	var mu sync.Mutex
	var failures []string
	p := checkout.NewPlacer(store, 1, func(n int, err error) {
		mu.Lock()
		defer mu.Unlock()
		failures = append(failures, strconv.Itoa(n)+": "+err.Error())
	})
	defer p.Close()
	var wg sync.WaitGroup
	outcomes := make([]string, 4)
	for i := range outcomes {
		pl, err := f.placement(sku)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i] = shopd.ErrorType(p.Place(ctx, pl))
		}()
	}
	wg.Wait()
	if len(failures) != 1 || !strings.Contains(failures[0], "stock rows") {
		t.Fatalf("failed batches reported: %q, want one, failed on its stock rows", failures)
	}
	for i, o := range outcomes {
		if o != "out-of-stock" {
			t.Errorf("checkout %d: %q, want out-of-stock", i, o)
		}
	}
	if reserved := sum(t, db, `SELECT reserved FROM stock WHERE sku = $1`, sku); reserved != 0 {
		t.Fatalf("%d reserved, want 0", reserved)
	}
}

// fiveUnitsOnPostgres is a shop on PostgreSQL with 5 units of sku in one
// warehouse; the test is skipped without PostgreSQL.
func fiveUnitsOnPostgres(t *testing.T) (db *sqlstore.DB, f *fixture, sku string) {
	if !slices.Contains(storetest.Engines(t), sqlstore.Postgres) {
		t.Skip("PostgreSQL only (SHOPD_TEST_DATABASE_URL); CI sets it")
	}
	db = storetest.Open(t, sqlstore.Postgres)
	f, sku = stockedSKU(t, db, 5)
	return db, f, sku
}

// stockedSKU is a shop with units of its first SKU in the warehouse
// "east" (serving "us") and no stock of the others.
func stockedSKU(t *testing.T, db *sqlstore.DB, units int64) (*fixture, string) {
	ctx := context.Background()
	f := newShop(t, db)
	sku := f.skus[0]
	if _, err := f.inventory.CreateWarehouse(ctx, inventory.NewWarehouse{Code: "east", Name: "east", Markets: []string{"us"}, Priority: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.inventory.Receive(ctx, inventory.Receipt{Warehouse: "east", SKU: sku, Quantity: units}); err != nil {
		t.Fatal(err)
	}
	return f, sku
}

// pendingKey is a new Idempotency-Key k of scope "test", looked up as the
// API does.
func (f *fixture) pendingKey(t *testing.T, k string) *idempotency.Pending {
	p, stored, err := f.keys.Pending(context.Background(), "test", k, "hash")
	if err != nil || stored != nil {
		t.Fatalf("key %s: %v %v", k, stored, err)
	}
	return p
}

// TestPlacerKeysClaimedLast: a Placer claims a drop's keys with the
// batch's other writes; a batch with a key that exists is placed again
// claiming its keys first, so a replay is still a replay, a key in use
// still in use — also for a SKU out of stock — and the others are placed:
// not a failed batch.
func TestPlacerKeysClaimedLast(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		f, sku := stockedSKU(t, db, 100)
		placement := func(key *idempotency.Pending, sku string) checkout.Placement {
			pl, err := f.placement(sku)
			if err != nil {
				t.Fatal(err)
			}
			pl.Key = key
			return pl
		}
		// "done" was answered; "busy" is held by a request still running.
		replay, inUse := f.pendingKey(t, "done"), f.pendingKey(t, "busy")
		for _, k := range []string{"done", "busy"} {
			p := f.pendingKey(t, k)
			if err := db.InTx(ctx, func(tx *sqlstore.Tx) error { return p.Claim(ctx, tx) }); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.keys.Complete(ctx, "test", "done", 201, "application/json", "", []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		var failed atomic.Int64
		p := checkout.NewPlacer(db.Checkout(), 1, func(int, error) { failed.Add(1) })
		defer p.Close()
		const fresh = 50
		// Alone, so that no other key fails its batch: f.skus[1] has no stock.
		if err := p.Place(ctx, placement(inUse, f.skus[1])); shopd.ErrorType(err) != "idempotency-key-in-use" {
			t.Errorf("the key in use, out of stock: %v, want idempotency-key-in-use", err)
		}
		pls := []checkout.Placement{placement(replay, sku), placement(inUse, sku)}
		for i := range fresh {
			pls = append(pls, placement(f.pendingKey(t, "fresh-"+strconv.Itoa(i)), sku))
		}
		errs := make([]error, len(pls))
		var wg sync.WaitGroup
		for i, pl := range pls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = p.Place(ctx, pl)
			}()
		}
		wg.Wait()
		if _, ok := errs[0].(*idempotency.Replay); !ok {
			t.Errorf("the answered key: %v, want a replay", errs[0])
		}
		if got := shopd.ErrorType(errs[1]); got != "idempotency-key-in-use" {
			t.Errorf("the key in use: %v, want idempotency-key-in-use", errs[1])
		}
		for i, err := range errs[2:] {
			if err != nil {
				t.Errorf("fresh key %d: %v", i, err)
			}
			if _, found, err := db.Idempotency().Lookup(ctx, "test", "fresh-"+strconv.Itoa(i)); err != nil || !found {
				t.Errorf("fresh key %d not held: %v", i, err)
			}
		}
		if reserved := sum(t, db, `SELECT reserved FROM stock WHERE sku = $1`, sku); reserved != fresh {
			t.Errorf("%d reserved, want %d", reserved, fresh)
		}
		if n := failed.Load(); n != 0 {
			t.Errorf("%d failed batches, want 0", n)
		}
	})
}
