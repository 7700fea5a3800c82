package storetest

import (
	"testing"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/subscription"
)

// testBillingPeriodOrders: a renewal is taxed as checkout taxes, and a paid
// period of a replenishment plan becomes a paid order of the plan's items
// that adds up to the invoice, with its
// stock sold; a period whose stock is short still gets its order (the money
// is taken) and an order.out_of_stock event, and no stock moves.
func testBillingPeriodOrders(t *testing.T, db *sqlstore.DB) {
	f := newBillFix(t, db, subscription.DefaultBillingRules())
	p := catalogProduct("refill", nil, "REFILL-A", "REFILL-B")
	if err := db.Catalog().CreateProduct(ctx, p); err != nil {
		t.Fatal(err)
	}
	inv := newInvFix(t, db)
	inv.warehouse(t, "east", 1, "us")
	inv.receive(t, "east", "REFILL-A", 3)
	inv.receive(t, "east", "REFILL-B", 1)
	plan, err := f.subs.CreatePlan(ctx, subscription.NewPlan{Name: "Refill", Interval: subscription.Interval{Unit: subscription.UnitMonth, Count: 1},
		Prices: map[string]shopd.Money{"us": {Amount: 2900, Currency: "USD"}}, Kind: subscription.KindReplenishment,
		Items: []subscription.PlanItem{{VariantID: p.Variants[0].ID, Quantity: 2}, {VariantID: p.Variants[1].ID, Quantity: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	cust, _, err := customer.NewService(db.Customers(), f.clock).Register(ctx, customer.Registration{Email: "refill@example.com", Password: "a long password"})
	if err != nil {
		t.Fatal(err)
	}
	ns := SampleSubscriber(cust.ID, plan.ID)
	s, err := f.subs.Subscribe(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}

	f.run(t, subscription.RunResult{Invoiced: 1, Charged: 1})
	o := f.periodOrder(t, s.ID, 0)
	if o.Status != order.StatusPaid || o.Email != "refill@example.com" || o.CustomerID != cust.ID || o.Total.Amount != 3016 || o.Tax.Amount != 116 ||
		len(o.Lines) != 2 || o.Lines[0].SKU != "REFILL-A" || o.Lines[0].Quantity != 2 || o.Lines[1].SKU != "REFILL-B" || o.ShipTo != ns.ShipTo {
		t.Fatalf("period order %+v", o)
	}
	// New York's 4% on 2900: 116, charged with the price. The 2900 over 3
	// units: 967 each, the 1 of rounding given back on the first line; the
	// tax shared 77/39 by the lines' amounts (1933 and 967).
	if a, b := o.Lines[0], o.Lines[1]; a.UnitPrice.Amount != 967 || a.Discount.Amount != 1 || a.Tax.Amount != 77 || a.Total.Amount != 2010 ||
		b.Tax.Amount != 39 || b.Total.Amount != 1006 {
		t.Fatalf("lines priced %+v", o.Lines)
	}
	inv.wantLevel(t, "REFILL-A", "east", 1, 0)
	inv.wantLevel(t, "REFILL-B", "east", 0, 0)
	if n := countEvents(t, db, o.ID, "order.paid"); n != 1 {
		t.Fatalf("%d order.paid events", n)
	}

	// Next month two A are wanted and one is left: the order stands, unsold.
	f.clock.Set(f.sub(t, s.ID).NextBillingAt)
	f.run(t, subscription.RunResult{Invoiced: 1, Charged: 1})
	short := f.periodOrder(t, s.ID, 1)
	if short.Status != order.StatusPaid || short.ID == o.ID || countEvents(t, db, short.ID, subscription.EventOrderOutOfStock) != 1 {
		t.Fatalf("short period's order %+v", short)
	}
	inv.wantLevel(t, "REFILL-A", "east", 1, 0)
	if st := f.sub(t, s.ID); st.Status != subscription.StatusActive || st.PeriodIndex != 1 {
		t.Fatalf("subscription after the short period: %s, period %d", st.Status, st.PeriodIndex)
	}
	f.run(t, subscription.RunResult{})
}

// periodOrder returns the order of a subscription's paid period.
func (f *billFix) periodOrder(t *testing.T, subID string, period int) order.Order {
	t.Helper()
	invs, err := f.db.Invoices(ctx, subID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range invs {
		if inv.Period == period {
			if inv.Status != subscription.InvoicePaid || inv.OrderID == "" || inv.Tax.Amount != 116 || inv.Total.Amount != 3016 || inv.TaxIncluded {
				t.Fatalf("period %d invoice %+v", period, inv)
			}
			o, err := f.db.Orders().Order(ctx, inv.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			if o.PaymentID != inv.PaymentID {
				t.Fatalf("order paid by %s, invoice by %s", o.PaymentID, inv.PaymentID)
			}
			return o
		}
	}
	t.Fatalf("no invoice for period %d", period)
	return order.Order{}
}
