package storetest

import (
	"reflect"
	"testing"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/orderops"
	"github.com/shopd/shopd/sqlstore"
)

// testOrderOps checks the store side of order operations: which warehouse
// sold each unit, fulfillments and returns round trips, warehouse lookup.
func testOrderOps(t *testing.T, db *sqlstore.DB) {
	f := newInvFix(t, db, "GLOW-30")
	east := f.warehouse(t, "east", 1, "us")
	f.warehouse(t, "west", 2, "us")
	f.receive(t, "east", "GLOW-30", 1)
	f.receive(t, "west", "GLOW-30", 1)
	store := db.OrderOps()

	o := SampleOrder("cus_a", invStart)
	inTx := func(fn func(tx orderops.Tx) error) {
		t.Helper()
		if err := store.InTx(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	sold := func() []inventory.Allocation {
		t.Helper()
		var out []inventory.Allocation
		inTx(func(tx orderops.Tx) (err error) { out, err = tx.SoldAllocations(ctx, o.ID); return err })
		return out
	}
	if got := sold(); len(got) != 0 {
		t.Fatalf("allocations of an order that never reserved: %+v", got)
	}
	req, err := f.svc.NewReserveRequest(o.ID, "us", []inventory.Line{{SKU: "GLOW-30", Quantity: 2}})
	if err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *sqlstore.Tx) error {
		if err := tx.InsertOrder(ctx, o); err != nil {
			return err
		}
		_, err := tx.ReserveStock(ctx, req)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := sold(); len(got) != 0 {
		t.Fatalf("allocations of an unpaid order: %+v", got)
	}
	err = db.InTx(ctx, func(tx *sqlstore.Tx) error { _, err := tx.CommitReservation(ctx, o.ID); return err })
	if err != nil {
		t.Fatal(err)
	}
	got := sold()
	if len(got) != 2 || got[0].Warehouse != "east" || got[0].Quantity != 1 || got[1].Warehouse != "west" || got[1].Quantity != 1 {
		t.Fatalf("sold allocations %+v, want 1 from east and 1 from west", got)
	}

	// Warehouses resolve by code or ID.
	inTx(func(tx orderops.Tx) error {
		for _, ref := range []string{"east", east.ID} {
			id, code, err := tx.ResolveWarehouse(ctx, ref, "warehouse")
			if err != nil || id != east.ID || code != "east" {
				t.Errorf("ResolveWarehouse(%q) = %q, %q, %v", ref, id, code, err)
			}
		}
		_, _, err := tx.ResolveWarehouse(ctx, "nowhere", "warehouse")
		if e, ok := err.(*shopd.Error); !ok || e.Code != shopd.EINVALID || e.Type != "unknown-warehouse" {
			t.Errorf("unknown warehouse: %v", err)
		}
		return nil
	})

	// Fulfillments and returns round trip, oldest first.
	line := o.Lines[0].ID
	fs := []orderops.Fulfillment{
		{ID: shopd.NewID("ful"), OrderID: o.ID, WarehouseID: east.ID, Warehouse: "east", Lines: []orderops.LineQuantity{{LineID: line, Quantity: 1}},
			TrackingNumber: "1Z999", Carrier: "UPS", CreatedAt: invStart},
		{ID: shopd.NewID("ful"), OrderID: o.ID, WarehouseID: east.ID, Warehouse: "east", Lines: []orderops.LineQuantity{{LineID: line, Quantity: 1}},
			CreatedAt: invStart.Add(1e6)},
	}
	rs := []orderops.Return{{ID: shopd.NewID("ret"), OrderID: o.ID, WarehouseID: east.ID, Warehouse: "east",
		Lines: []orderops.LineQuantity{{LineID: line, Quantity: 2}}, Refund: shopd.Money{Amount: 4493, Currency: "USD"}, CreatedAt: invStart}}
	inTx(func(tx orderops.Tx) error {
		for _, x := range fs {
			if err := tx.InsertFulfillment(ctx, x); err != nil {
				return err
			}
		}
		return tx.InsertOrderReturn(ctx, rs[0])
	})
	err = store.InTx(ctx, func(tx orderops.Tx) error { return tx.InsertFulfillment(ctx, fs[0]) })
	if e, ok := err.(*shopd.Error); !ok || e.Code != shopd.ECONFLICT || e.Type != "fulfillment-exists" {
		t.Fatalf("duplicate fulfillment: %v", err)
	}
	read, err := store.Fulfillments(ctx, o.ID)
	if err != nil || !reflect.DeepEqual(read, fs) {
		t.Fatalf("fulfillments %+v, %v\nwant %+v", read, err, fs)
	}
	inTx(func(tx orderops.Tx) error {
		inTxFs, err := tx.OrderFulfillments(ctx, o.ID)
		if err != nil || !reflect.DeepEqual(inTxFs, fs) {
			t.Errorf("fulfillments in a transaction %+v, %v", inTxFs, err)
		}
		got, err := tx.OrderReturns(ctx, o.ID)
		if err != nil || !reflect.DeepEqual(got, rs) {
			t.Errorf("returns %+v, %v\nwant %+v", got, err, rs)
		}
		none, err := tx.OrderReturns(ctx, "ord_none")
		if err != nil || len(none) != 0 {
			t.Errorf("returns of an unknown order %+v, %v", none, err)
		}
		return nil
	})
	if none, err := store.Fulfillments(ctx, "ord_none"); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("fulfillments of an unknown order %#v, %v", none, err)
	}
}
