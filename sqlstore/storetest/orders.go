package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/sqlstore"
)

// SampleOrder returns a pending US order that adds up: 2 × $24.00 − $4.80 + 4% tax + $5.99 shipping.
func SampleOrder(customerID string, at time.Time) order.Order {
	m := func(n int64) shopd.Money { return shopd.Money{Amount: n, Currency: "USD"} }
	return order.Order{
		ID: shopd.NewID("ord"), CustomerID: customerID, Email: "ana@example.com", Market: "us",
		Status: order.StatusPendingPayment, RefundStatus: order.RefundNone,
		Lines: []order.Line{{ID: shopd.NewID("oln"), VariantID: "var_1", ProductID: "prd_1", SKU: "GLOW-30", Title: "Glow Serum / 30 ml",
			Options: map[string]string{"size": "30 ml"}, Quantity: 2, UnitPrice: m(2400), Subtotal: m(4800), Discount: m(480), Tax: m(173), Total: m(4493)}},
		Subtotal: m(4800), Discount: m(480), DiscountCode: "WELCOME10", Tax: m(173), Shipping: m(599), Total: m(5092), Refunded: m(0),
		ShipTo:    order.Address{Name: "Ana", Line1: "1 Main St", City: "New York", Region: "NY", PostalCode: "10001", Country: "US"},
		CreatedAt: at, UpdatedAt: at,
	}
}

func testOrders(t *testing.T, db *sqlstore.DB) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clock := shopd.NewTestClock(at)
	svc := order.NewService(db.Orders(), clock)

	// An order and its event commit together.
	o := SampleOrder("cus_a", at)
	err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.InsertOrder(ctx, o); err != nil {
			return err
		}
		e, err := event.New("order.created", o.ID, o, at)
		if err != nil {
			return err
		}
		return tx.AppendEvent(ctx, e)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.Order(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, o) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, o)
	}
	// An order that does not add up is never stored.
	bad := SampleOrder("cus_a", at)
	bad.Total.Amount++
	if err := db.InTx(ctx, func(tx *sqlstore.Tx) error { return tx.InsertOrder(ctx, bad) }); shopd.ErrorCode(err) != shopd.EINTERNAL {
		t.Fatalf("inserting a bad order: %v", err)
	}
	if _, err := svc.Order(ctx, bad.ID); shopd.ErrorCode(err) != shopd.ENOTFOUND {
		t.Fatalf("bad order stored: %v", err)
	}

	// A customer sees only their own orders.
	if _, err := svc.CustomerOrder(ctx, "cus_a", o.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CustomerOrder(ctx, "cus_b", o.ID); shopd.ErrorCode(err) != shopd.ENOTFOUND {
		t.Fatalf("another customer's order: %v", err)
	}
	var ids []string
	for i := range 5 {
		x := SampleOrder(fmt.Sprintf("cus_%d", i%2), at)
		if err := db.InTx(ctx, func(tx *sqlstore.Tx) error { return tx.InsertOrder(ctx, x) }); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, x.ID)
	}
	mine, err := svc.Orders(ctx, order.Filter{CustomerID: "cus_0", Limit: 10})
	if err != nil || len(mine) != 3 || mine[0].ID != ids[4] || mine[2].ID != ids[0] {
		t.Fatalf("cus_0 orders: %d, %v", len(mine), err)
	}
	page, err := svc.Orders(ctx, order.Filter{Status: order.StatusPendingPayment, Email: " ANA@example.com", Before: ids[2], Limit: 10})
	if err != nil || len(page) != 3 { // ids[1], ids[0] and o
		t.Fatalf("filtered page: %d, %v", len(page), err)
	}
	if _, err := svc.Orders(ctx, order.Filter{Status: "lost"}); shopd.ErrorCode(err) != shopd.EINVALID {
		t.Fatalf("bad status filter: %v", err)
	}

	// 100 concurrent attempts to pay one order: exactly one wins, every
	// other gets invalid-transition (paid → paid is no transition).
	var won, lost atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Transition(ctx, o.ID, order.StatusPaid)
			switch shopd.ErrorCode(err) {
			case "":
				won.Add(1)
			case shopd.ECONFLICT:
				lost.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 || lost.Load() != 99 {
		t.Fatalf("won %d, lost %d; want 1 and 99", won.Load(), lost.Load())
	}
	clock.Advance(time.Hour)
	got, err = svc.Transition(ctx, o.ID, order.StatusCanceled)
	if err != nil || got.Status != order.StatusCanceled || !got.PaidAt.Equal(at) || !got.CanceledAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("cancel a paid order: %+v, %v", got, err)
	}
	if _, err := svc.Transition(ctx, o.ID, order.StatusCanceled); shopd.ErrorCode(err) != shopd.ECONFLICT {
		t.Fatalf("cancel twice: %v", err)
	}
	if _, err := svc.Transition(ctx, "ord_nope", order.StatusPaid); shopd.ErrorCode(err) != shopd.ENOTFOUND {
		t.Fatalf("unknown order: %v", err)
	}
}
