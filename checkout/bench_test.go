package checkout_test

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/checkout"
	"github.com/shopd/shopd/idempotency"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/seed"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// BenchmarkCheckoutTx compares checkout's transaction with a bare
// conditional UPDATE of the same stock row, from the same number of clients
// in the same run: for one hot SKU and for 1,000 SKUs, on every engine.
// Compare the ratios, not the absolute numbers (shared, noisy machines).
//
//   - bare-update: the reference, one UPDATE per transaction (on SQLite
//     through InTx, which commits the transactions waiting at that moment
//     together: a reference that shares commits);
//   - bare-update-own-tx (SQLite): one UPDATE per transaction with a commit
//     of its own, the "bare single-row update transactions/s";
//   - core: the order with its line, the payment row and the reservation;
//   - checkout: checkout.PlaceOrder, which adds the order.created outbox row;
//   - checkout+key: also claims an Idempotency-Key in the transaction, as
//     the HTTP API does, so 1 - checkout+key / core is the idempotency and
//     outbox overhead;
//   - batched: checkout+key through a checkout.Placer, as POST /v1/checkouts
//     places orders: concurrent checkouts share one transaction.
func BenchmarkCheckoutTx(b *testing.B) {
	for _, d := range storetest.Engines(b) {
		b.Run(d.String(), func(b *testing.B) {
			f := newFixture(b, storetest.Open(b, d))
			for _, c := range []struct {
				name string
				skus []string
			}{{"hot", f.skus[:1]}, {"spread", f.skus}} {
				b.Run("bare-update/"+c.name, func(b *testing.B) { f.run(b, c.skus, f.bareUpdate) })
				if d == sqlstore.SQLite {
					b.Run("bare-update-own-tx/"+c.name, func(b *testing.B) { f.run(b, c.skus, f.bareUpdateOwnTx) })
				}
				b.Run("core/"+c.name, func(b *testing.B) { f.run(b, c.skus, f.core) })
				b.Run("checkout/"+c.name, func(b *testing.B) { f.run(b, c.skus, f.placeOrder) })
				b.Run("checkout+key/"+c.name, func(b *testing.B) { f.run(b, c.skus, f.placeOrderWithKey) })
				b.Run("batched/"+c.name, func(b *testing.B) { f.run(b, c.skus, f.placeBatched(b)) })
			}
		})
	}
}

type fixture struct {
	db         *sqlstore.DB
	warehouse  string // the ID of "main"
	skus       []string
	payments   *payment.Service
	inventory  *inventory.Service
	keys       *idempotency.Service
	perCPU     int            // clients per CPU; 8 if zero
	unpromised map[string]int // units of each SKU no benchmark run has counted on yet
}

// newFixture is newShop with a million units of each of its 1,000 SKUs in
// the warehouse "main" (run receives more when a run may need them).
func newFixture(b testing.TB, db *sqlstore.DB) *fixture {
	f := newShop(b, db)
	wh, err := f.inventory.CreateWarehouse(context.Background(), inventory.NewWarehouse{Code: "main", Name: "Main", Markets: []string{"us"}, Priority: 1})
	if err != nil {
		b.Fatal(err)
	}
	f.warehouse = wh.ID
	f.unpromised = map[string]int{}
	for _, sku := range f.skus {
		f.receive(b, sku)
	}
	return f
}

// receive puts the most one receipt may hold of sku in "main".
func (f *fixture) receive(b testing.TB, sku string) {
	if _, err := f.inventory.Receive(context.Background(), inventory.Receipt{Warehouse: "main", SKU: sku, Quantity: inventory.MaxQuantity}); err != nil {
		b.Fatal(err)
	}
	f.unpromised[sku] += inventory.MaxQuantity
}

// stockFor makes sure a run of n operations over skus, each taking at most
// one unit, cannot run out: on a fast machine the bare UPDATE took a hot
// SKU's first million units within one 3-second benchmark.
func (f *fixture) stockFor(b *testing.B, skus []string, n int) {
	for i, sku := range skus {
		need := n / len(skus)
		if i < n%len(skus) {
			need++
		}
		for f.unpromised[sku] < need {
			f.receive(b, sku)
		}
		f.unpromised[sku] -= need
	}
}

// newShop makes the default markets, 400 products with 1,000 SKUs and the
// services placements need; no warehouses, no stock.
func newShop(b testing.TB, db *sqlstore.DB) *fixture {
	ctx := context.Background()
	clock := shopd.SystemClock{}
	markets := market.NewService(db.Markets(), clock)
	if err := markets.EnsureDefaults(ctx); err != nil {
		b.Fatal(err)
	}
	us, err := markets.Market(ctx, "us")
	if err != nil {
		b.Fatal(err)
	}
	ps := seed.Products(1, 400, []market.Market{us}, time.Now())
	if err := db.Catalog().InsertProducts(ctx, ps); err != nil {
		b.Fatal(err)
	}
	inv := inventory.NewService(db.Inventory(), clock)
	inv.Markets = markets
	f := &fixture{db: db, inventory: inv, keys: &idempotency.Service{Store: db.Idempotency(), Clock: clock},
		payments: payment.NewService(db.Payments(), clock, payment.WithGateway(testgateway.New(db.TestGatewayLedger(), testgateway.Options{})))}
	for _, p := range ps {
		for _, v := range p.Variants {
			if len(f.skus) < 1000 {
				f.skus = append(f.skus, v.SKU)
			}
		}
	}
	return f
}

// BenchmarkHotSKU is the launch-day comparison: 64 buyers of one SKU (32
// per CPU), each checkout in its own transaction (checkout+key, as above;
// on SQLite also checkout+key-own-commit, without the commits shared by
// InTx) or placed in batches (batched), against the bare conditional
// UPDATE of the SKU's stock row from the same 64 clients.
func BenchmarkHotSKU(b *testing.B) {
	for _, d := range storetest.Engines(b) {
		b.Run(d.String(), func(b *testing.B) {
			f := newFixture(b, storetest.Open(b, d))
			f.perCPU = 32
			hot := f.skus[:1]
			b.Run("bare-update", func(b *testing.B) { f.run(b, hot, f.bareUpdate) })
			if d == sqlstore.SQLite {
				b.Run("bare-update-own-tx", func(b *testing.B) { f.run(b, hot, f.bareUpdateOwnTx) })
			}
			b.Run("checkout+key", func(b *testing.B) { f.run(b, hot, f.placeOrderWithKey) })
			if d == sqlstore.SQLite {
				b.Run("checkout+key-own-commit", func(b *testing.B) { f.run(b, hot, f.placeOrderOwnCommit(b)) })
			}
			b.Run("batched", func(b *testing.B) { f.run(b, hot, f.placeBatched(b)) })
		})
	}
}

// run calls op from perCPU clients per CPU (8 if unset), each on the SKUs
// in turn, and reports operations per second and the 99th percentile
// latency.
func (f *fixture) run(b *testing.B, skus []string, op func(ctx context.Context, sku string) error) {
	var mu sync.Mutex
	var all []time.Duration
	f.stockFor(b, skus, b.N)
	b.SetParallelism(cmp.Or(f.perCPU, 8))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		i := 0
		for pb.Next() {
			t := time.Now()
			if err := op(context.Background(), skus[i%len(skus)]); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t))
			i += 7
		}
		mu.Lock()
		all = append(all, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(all)
	if len(all) > 0 {
		b.ReportMetric(float64(len(all))/elapsed.Seconds(), "ops/s")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds())/1000, "p99_ms")
	}
}

// bareUpdate is the reference: one conditional UPDATE of the stock row in
// its own transaction.
func (f *fixture) bareUpdate(ctx context.Context, sku string) error {
	return f.db.InTx(ctx, func(tx *sqlstore.Tx) error { return f.bareUpdateIn(ctx, tx, sku) })
}

// bareUpdateOwnTx is bareUpdate in a transaction with a commit of its own,
// on the write pool directly: SQLite's InTx would share the commit.
func (f *fixture) bareUpdateOwnTx(ctx context.Context, sku string) error {
	tx, err := f.db.Pools()["write"].BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f.bareUpdateIn(ctx, tx, sku); err != nil {
		return err
	}
	return tx.Commit()
}

// bareUpdateIn is the references' statement: one unit of sku reserved if
// available.
func (f *fixture) bareUpdateIn(ctx context.Context, tx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}, sku string) error {
	res, err := tx.ExecContext(ctx, `UPDATE stock SET reserved = reserved + 1 WHERE sku = $1 AND warehouse_id = $2 AND on_hand - reserved >= 1`, sku, f.warehouse)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return shopd.Errorf(shopd.ECONFLICT, "no stock")
	}
	return nil
}

// placement is checkout's transaction for one unit of sku.
func (f *fixture) placement(sku string) (checkout.Placement, error) {
	return f.placementOf(inventory.Line{SKU: sku, Quantity: 1})
}

// placementOf is checkout's transaction for lines, each unit at $24.
func (f *fixture) placementOf(lines ...inventory.Line) (checkout.Placement, error) {
	now := time.Now().UTC()
	zero := shopd.Zero("USD")
	o := order.Order{ID: shopd.NewID("ord"), Email: "bench@example.com", Market: "us", Status: order.StatusPendingPayment,
		RefundStatus: order.RefundNone, Subtotal: zero, Discount: zero, Shipping: zero, Tax: zero, Refunded: zero,
		ShipTo: order.Address{Name: "B", Line1: "1 Main St", City: "Austin", Region: "TX", Country: "US"}, CreatedAt: now, UpdatedAt: now}
	for _, l := range lines {
		unit := shopd.Money{Amount: 2400, Currency: "USD"}
		price := shopd.Money{Amount: 2400 * l.Quantity, Currency: "USD"}
		o.Lines = append(o.Lines, order.Line{ID: shopd.NewID("oln"), VariantID: "var_bench", ProductID: "prd_bench", SKU: l.SKU,
			Title: "Bench", Quantity: l.Quantity, UnitPrice: unit, Subtotal: price, Discount: zero, Tax: zero, Total: price})
		o.Subtotal.Amount += price.Amount
	}
	o.Total = o.Subtotal
	p, err := f.payments.Prepare(payment.Request{Reference: o.ID, Amount: o.Total, Capture: true, Method: payment.Method{Token: "tok_visa"}})
	if err != nil {
		return checkout.Placement{}, err
	}
	o.PaymentID = p.ID
	rr, err := f.inventory.NewReserveRequest(o.ID, "us", lines)
	return checkout.Placement{Order: o, Payment: p, Reserve: rr}, err
}

// placeOrder runs checkout's transaction for one unit of sku.
func (f *fixture) placeOrder(ctx context.Context, sku string) error {
	pl, err := f.placement(sku)
	if err != nil {
		return err
	}
	return f.db.Checkout().InTx(ctx, func(tx checkout.Tx) error { return checkout.PlaceOrder(ctx, tx, pl) })
}

// core writes what an order cannot do without: the order, its payment row
// and its reservation; no outbox row.
func (f *fixture) core(ctx context.Context, sku string) error {
	pl, err := f.placement(sku)
	if err != nil {
		return err
	}
	return f.db.Checkout().InTx(ctx, func(tx checkout.Tx) error {
		if err := tx.InsertOrder(ctx, pl.Order); err != nil {
			return err
		}
		if err := tx.InsertPayment(ctx, pl.Payment); err != nil {
			return err
		}
		_, err := tx.ReserveStock(ctx, pl.Reserve)
		return err
	})
}

// placeOrderWithKey places the order under an Idempotency-Key as the HTTP
// API does: a lookup of the key, then the claim inside the checkout
// transaction.
func (f *fixture) placeOrderWithKey(ctx context.Context, sku string) error {
	pl, err := f.keyedPlacement(ctx, sku)
	if err != nil {
		return err
	}
	return f.db.Checkout().InTx(ctx, func(tx checkout.Tx) error { return checkout.PlaceOrder(ctx, tx, pl) })
}

// placeOrderOwnCommit returns checkout+key with a commit of its own per
// checkout (SQLite's InTx shares commits: itself a batching of
// transactions), through a second handle on the same database.
func (f *fixture) placeOrderOwnCommit(b *testing.B) func(ctx context.Context, sku string) error {
	alone, err := sqlstore.Open(context.Background(), f.db.Source(), sqlstore.Options{CommitEach: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { alone.Close() })
	return func(ctx context.Context, sku string) error {
		pl, err := f.keyedPlacement(ctx, sku)
		if err != nil {
			return err
		}
		return alone.Checkout().InTx(ctx, func(tx checkout.Tx) error { return checkout.PlaceOrder(ctx, tx, pl) })
	}
}

// keyedPlacement is the placement of one unit of sku under a new
// Idempotency-Key, looked up first as the HTTP API does.
func (f *fixture) keyedPlacement(ctx context.Context, sku string) (checkout.Placement, error) {
	key, stored, err := f.keys.Pending(ctx, "bench", shopd.NewID("key"), "hash")
	if err != nil || stored != nil {
		return checkout.Placement{}, errors.Join(err, errors.New("a new key has a stored response"))
	}
	pl, err := f.placement(sku)
	pl.Key = key
	return pl, err
}

// placeBatched returns checkout+key through a Placer, as the checkout
// service places orders.
func (f *fixture) placeBatched(b *testing.B) func(ctx context.Context, sku string) error {
	p := checkout.NewPlacer(f.db.Checkout(), 1, nil)
	b.Cleanup(p.Close)
	return func(ctx context.Context, sku string) error {
		pl, err := f.keyedPlacement(ctx, sku)
		if err != nil {
			return err
		}
		return p.Place(ctx, pl)
	}
}
