package subscription_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/subscription"
)

// refills is a catalog of replenishment items stocked at one warehouse,
// "east", serving the us market.
type refills struct {
	db       *sqlstore.DB
	subs     *subscription.Service
	stock    *inventory.Service
	variants map[string]string // variant ID by SKU
}

// newRefills creates a product with a variant per SKU (none in stock) and
// the warehouse.
func newRefills(t testing.TB, db *sqlstore.DB, clock shopd.Clock, skus ...string) *refills {
	t.Helper()
	ctx := context.Background()
	r := &refills{db: db, subs: storetest.SubscriptionService(t, db, clock), stock: inventory.NewService(db.Inventory(), clock),
		variants: map[string]string{}}
	r.stock.Markets = market.NewService(db.Markets(), clock)
	now := clock.Now().UTC().Truncate(time.Microsecond)
	p := catalog.Product{ID: shopd.NewID("prd"), Handle: "refills", Title: "Refills", Status: catalog.StatusActive,
		TaxCategory: catalog.DefaultTaxCategory, Attributes: map[string][]string{}, Media: []catalog.Media{}, CreatedAt: now, UpdatedAt: now}
	for i, sku := range skus {
		v := catalog.Variant{ID: shopd.NewID("var"), ProductID: p.ID, SKU: sku, Title: sku, Options: map[string]string{"n": fmt.Sprint(i)},
			Position: i + 1, Prices: map[string]catalog.Price{"us": {Amount: shopd.Money{Amount: 1000, Currency: "USD"}}}, CreatedAt: now, UpdatedAt: now}
		p.Variants = append(p.Variants, v)
		r.variants[sku] = v.ID
	}
	if err := db.Catalog().CreateProduct(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := r.stock.CreateWarehouse(ctx, inventory.NewWarehouse{Code: "east", Name: "East", Markets: []string{"us"}, Priority: 1}); err != nil {
		t.Fatal(err)
	}
	return r
}

// receive puts q units of sku on hand at east, and sets its low-stock
// threshold if low is not nil.
func (r *refills) receive(t testing.TB, sku string, q int64, low *int64) {
	t.Helper()
	if _, err := r.stock.Receive(context.Background(), inventory.Receipt{Warehouse: "east", SKU: sku, Quantity: q, Reference: "po-1", LowStockThreshold: low}); err != nil {
		t.Fatal(err)
	}
}

// level returns on hand and reserved of sku at east.
func (r *refills) level(t testing.TB, sku string) (onHand, reserved int64) {
	t.Helper()
	page, err := r.stock.Stock(context.Background(), inventory.StockFilter{SKU: sku, Warehouse: "east", Limit: 10})
	if err != nil || len(page.Stock) != 1 {
		t.Fatalf("stock of %s: %+v, %v", sku, page, err)
	}
	return page.Stock[0].OnHand, page.Stock[0].Reserved
}

// plan creates a monthly replenishment plan at price (USD, market us) of
// the SKUs, quantities[i] units of skus[i].
func (r *refills) plan(t testing.TB, price int64, skus []string, quantities []int64) subscription.Plan {
	t.Helper()
	np := subscription.NewPlan{Name: "Refill", Interval: subscription.Interval{Unit: subscription.UnitMonth, Count: 1},
		Prices: map[string]shopd.Money{"us": {Amount: price, Currency: "USD"}}, Kind: subscription.KindReplenishment}
	for i, sku := range skus {
		np.Items = append(np.Items, subscription.PlanItem{VariantID: r.variants[sku], Quantity: quantities[i]})
	}
	p, err := r.subs.CreatePlan(context.Background(), np)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// BenchmarkBillingRunReplenishment is BenchmarkBillingRun with a
// replenishment plan of one item, a unit a period, in stock for every
// renewal: each paid period also gets its order, with its events, and
// sells its stock (the hot row of one SKU, as a drop's). The customers
// exist (their emails go on the orders). After the run all the stock is
// sold.
func BenchmarkBillingRunReplenishment(b *testing.B) {
	benchBillingRun(b, func(b *testing.B, db *sqlstore.DB, n int, token string, at time.Time) func(*testing.B) {
		ids := storetest.SeedDueSubscriptions(b, db, n, []string{token}, at)
		r := newRefills(b, db, shopd.NewTestClock(at), "REFILL-1")
		r.receive(b, "REFILL-1", int64(n), nil)
		plan := r.plan(b, 2900, []string{"REFILL-1"}, []int64{1}) // the seeded box plan's price
		// The seeded subscriptions move to the plan (seeding takes a box plan).
		pool := db.Pools()["main"]
		if pool == nil {
			pool = db.Pools()["write"]
		}
		if _, err := pool.Exec(`UPDATE subscriptions SET plan_id = $1, kind = $2`, plan.ID, string(plan.Kind)); err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		custs := make([]customer.Customer, 0, n)
		seen := map[string]bool{}
		for _, id := range ids {
			s, err := r.subs.Subscription(ctx, id)
			if err != nil || s.Kind != subscription.KindReplenishment {
				b.Fatalf("seeded subscription %+v, %v", s, err)
			}
			if !seen[s.CustomerID] {
				seen[s.CustomerID] = true
				custs = append(custs, customer.Customer{ID: s.CustomerID, Email: s.CustomerID + "@example.com", Name: "Load", CreatedAt: at, UpdatedAt: at})
			}
		}
		if err := db.Customers().InsertCustomers(ctx, custs, ""); err != nil {
			b.Fatal(err)
		}
		return func(b *testing.B) {
			if onHand, reserved := r.level(b, "REFILL-1"); onHand != 0 || reserved != 0 {
				b.Fatalf("REFILL-1 after the run: on hand %d, reserved %d; want all %d sold", onHand, reserved, n)
			}
		}
	})
}

// TestPeriodOrdersMixedStock: one billing run over replenishment periods
// that compete for short stock — two plans sharing nothing, a third whose
// SKU has no stock row — gives each paid period its order, paid, with
// order.created and order.paid; an order whose stock is short or unknown
// stands unsold with order.out_of_stock and holds nothing; the others are
// sold, whole, in full (stock, sale movements, one inventory.low). Free
// periods (a plan at price 0) are ordered in the renewal transaction,
// charged ones in the payments' settle transactions: the same outcome.
func TestPeriodOrdersMixedStock(t *testing.T) {
	for _, price := range []int64{2900, 0} {
		t.Run(fmt.Sprintf("price=%d", price), func(t *testing.T) {
			storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) { testPeriodOrdersMixedStock(t, db, price) })
		})
	}
}

func testPeriodOrdersMixedStock(t *testing.T, db *sqlstore.DB, price int64) {
	ctx := context.Background()
	at := time.Date(2027, 1, 31, 15, 0, 0, 0, time.UTC)
	clock := shopd.NewTestClock(at)
	r := newRefills(t, db, clock, "MIX-A", "MIX-B", "MIX-C", "MIX-D")
	three := int64(3)
	r.receive(t, "MIX-A", 5, &three)
	r.receive(t, "MIX-B", 10, nil)
	r.receive(t, "MIX-C", 3, nil)
	// MIX-D is never received: it has no stock row.
	ab := r.plan(t, price, []string{"MIX-A", "MIX-B"}, []int64{2, 1}) // 4 subscribers want 8 A: 2 are served
	c := r.plan(t, price, []string{"MIX-C"}, []int64{1})              // 3 subscribers, 3 C: all served
	d := r.plan(t, price, []string{"MIX-D"}, []int64{1})              // 1 subscriber: unknown stock
	cust, _, err := customer.NewService(db.Customers(), clock).Register(ctx, customer.Registration{Email: "mix@example.com", Password: "a long password"})
	if err != nil {
		t.Fatal(err)
	}
	const gone = "cus_gone" // no such account: its order ships without an email
	subs := map[string]subscription.Plan{}
	emails := map[string]string{}
	for i, p := range []subscription.Plan{ab, ab, ab, ab, c, c, c, d} {
		custID := cust.ID
		if i%3 == 2 {
			custID = gone
		}
		s, err := r.subs.Subscribe(ctx, storetest.SampleSubscriber(custID, p.ID))
		if err != nil {
			t.Fatal(err)
		}
		subs[s.ID] = p
		if custID == cust.ID {
			emails[s.ID] = cust.Email
		}
	}

	gw := testgateway.New(db.TestGatewayLedger(), testgateway.Options{Clock: clock})
	payments := payment.NewService(db.Payments(), clock, payment.WithGateway(gw))
	biller := subscription.NewBiller(db.Billing(), payments, market.NewService(db.Markets(), clock), clock, subscription.DefaultBillingRules())
	res, err := biller.Run(ctx)
	want := subscription.RunResult{Invoiced: 8, Charged: 8}
	if price == 0 {
		want = subscription.RunResult{Invoiced: 8, Free: 8}
	}
	if err != nil || res != want {
		t.Fatalf("run: %+v, %v; want %+v", res, err, want)
	}

	sold := map[string]int{} // by plan ID
	short := map[string]int{}
	for id, p := range subs {
		invs, err := db.Invoices(ctx, id, "", 10)
		if err != nil || len(invs) != 1 || invs[0].Status != subscription.InvoicePaid || invs[0].OrderID == "" {
			t.Fatalf("invoices of %s: %+v, %v", id, invs, err)
		}
		inv := invs[0]
		o, err := db.Orders().Order(ctx, inv.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != order.StatusPaid || o.PaymentID != inv.PaymentID || o.Total != inv.Total || o.Email != emails[id] || len(o.Lines) != len(p.Items) {
			t.Fatalf("order of %s: %+v; invoice %+v", id, o, inv)
		}
		for i, it := range p.Items {
			if l := o.Lines[i]; l.SKU != it.SKU || l.Quantity != it.Quantity || l.VariantID != it.VariantID {
				t.Fatalf("order of %s, line %d: %+v; plan item %+v", id, i, l, it)
			}
		}
		es, err := db.Events().Events(ctx, event.Filter{Subject: o.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, e := range es {
			kinds[e.Type]++
		}
		res, err := r.stock.Reservation(ctx, o.ID)
		switch {
		case kinds[subscription.EventOrderOutOfStock] == 1 && len(kinds) == 3:
			if shopd.ErrorCode(err) != shopd.ENOTFOUND {
				t.Fatalf("unsold order %s holds stock: %+v, %v", o.ID, res, err)
			}
			short[p.ID]++
		case len(kinds) == 2:
			if err != nil || len(res.Allocations) != len(p.Items) {
				t.Fatalf("sold order %s: reservation %+v, %v", o.ID, res, err)
			}
			for _, a := range res.Allocations {
				if a.State != inventory.ReservationCommitted || a.Warehouse != "east" {
					t.Fatalf("sold order %s: allocation %+v", o.ID, a)
				}
			}
			sold[p.ID]++
		default:
			t.Fatalf("order %s events %v", o.ID, kinds)
		}
		if kinds["order.created"] != 1 || kinds["order.paid"] != 1 {
			t.Fatalf("order %s events %v", o.ID, kinds)
		}
	}
	if sold[ab.ID] != 2 || short[ab.ID] != 2 || sold[c.ID] != 3 || short[c.ID] != 0 || sold[d.ID] != 0 || short[d.ID] != 1 {
		t.Fatalf("sold %v, short %v; plans ab %s, c %s, d %s", sold, short, ab.ID, c.ID, d.ID)
	}
	for sku, want := range map[string]int64{"MIX-A": 1, "MIX-B": 8, "MIX-C": 0} {
		if onHand, reserved := r.level(t, sku); onHand != want || reserved != 0 {
			t.Fatalf("%s: on hand %d, reserved %d; want %d and 0", sku, onHand, reserved, want)
		}
	}
	// One sale movement per sold line, on hand counted down sale by sale.
	for sku, want := range map[string]struct {
		delta int64
		after []int64 // oldest first
	}{"MIX-A": {-2, []int64{3, 1}}, "MIX-B": {-1, []int64{9, 8}}, "MIX-C": {-1, []int64{2, 1, 0}}} {
		page, err := r.stock.Movements(ctx, inventory.MovementFilter{SKU: sku, Kind: inventory.KindSale, Limit: 10})
		if err != nil || len(page.Movements) != len(want.after) {
			t.Fatalf("sales of %s: %+v, %v", sku, page, err)
		}
		for i, m := range page.Movements { // newest first
			if m.OnHandAfter != want.after[len(want.after)-1-i] || m.Delta != want.delta {
				t.Fatalf("sales of %s: %+v", sku, page.Movements)
			}
		}
	}
	lows, err := db.Events().Events(ctx, event.Filter{Type: inventory.EventLow, Limit: 10})
	if err != nil || len(lows) != 1 || lows[0].Subject != "MIX-A" {
		t.Fatalf("inventory.low events %+v, %v", lows, err)
	}
	if n := countOrders(t, db); n != 8 {
		t.Fatalf("%d orders, want 8", n)
	}
	if res, err := biller.Run(ctx); err != nil || res != (subscription.RunResult{}) {
		t.Fatalf("second run: %+v, %v", res, err)
	}
}

// countOrders counts every stored order.
func countOrders(t *testing.T, db *sqlstore.DB) int {
	t.Helper()
	os, err := db.Orders().Orders(context.Background(), order.Filter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(os)
}
