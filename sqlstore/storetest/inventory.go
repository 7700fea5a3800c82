package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/sqlstore"
)

func testInventory(t *testing.T, db *sqlstore.DB) {
	d := db.Dialect()
	t.Run("Warehouses", func(t *testing.T) { testInventoryWarehouses(t, newInvFix(t, db)) })
	t.Run("ReceiveAdjustTransfer", func(t *testing.T) { testInventoryReceiveAdjustTransfer(t, newInvFix(t, Open(t, d), "RAT-1", "RAT-2")) })
	t.Run("Routing", func(t *testing.T) { testInventoryRouting(t, newInvFix(t, Open(t, d), "RT-1", "RT-2")) })
	t.Run("Lifecycle", func(t *testing.T) { testInventoryLifecycle(t, newInvFix(t, Open(t, d), "LC-1", "LC-2")) })
	t.Run("Expiry", func(t *testing.T) { testInventoryExpiry(t, newInvFix(t, Open(t, d), "EX-1")) })
	t.Run("Sync", func(t *testing.T) { testInventorySync(t, newInvFix(t, Open(t, d), "SY-1", "SY-2", "SY-3")) })
	t.Run("Lists", func(t *testing.T) { testInventoryLists(t, newInvFix(t, Open(t, d), "LS-1", "LS-2", "LS-3")) })
	t.Run("NoOversell", func(t *testing.T) { testInventoryNoOversell(t, newInvFix(t, Open(t, d), "HOT-1")) })
	t.Run("ConcurrentLedger", func(t *testing.T) { testInventoryConcurrentLedger(t, newInvFix(t, Open(t, d), "CL-1", "CL-2", "CL-3")) })
	t.Run("ConcurrentExpiry", func(t *testing.T) { testInventoryConcurrentExpiry(t, newInvFix(t, Open(t, d), "CE-1", "CE-2")) })
}

// invFix is an inventory service on a database with the default markets
// and a product whose variants have the given SKUs.
type invFix struct {
	db    *sqlstore.DB
	svc   *inventory.Service
	clock *shopd.TestClock
}

var invStart = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func newInvFix(t *testing.T, db *sqlstore.DB, skus ...string) *invFix {
	t.Helper()
	clock := shopd.NewTestClock(invStart)
	markets := market.NewService(db.Markets(), clock)
	if err := markets.EnsureDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	if len(skus) > 0 {
		if err := db.Catalog().CreateProduct(ctx, catalogProduct("inv-"+strings.ToLower(skus[0]), nil, skus...)); err != nil {
			t.Fatal(err)
		}
	}
	svc := inventory.NewService(db.Inventory(), clock)
	svc.Markets = markets
	return &invFix{db: db, svc: svc, clock: clock}
}

func (f *invFix) warehouse(t *testing.T, code string, priority int, markets ...string) inventory.Warehouse {
	t.Helper()
	w, err := f.svc.CreateWarehouse(ctx, inventory.NewWarehouse{Code: code, Name: "Warehouse " + code, Markets: markets, Priority: priority})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (f *invFix) receive(t *testing.T, wh, sku string, q int64) inventory.Stock {
	t.Helper()
	s, err := f.svc.Receive(ctx, inventory.Receipt{Warehouse: wh, SKU: sku, Quantity: q, Reference: "po-1"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// level returns on hand and reserved of a row (0, 0 if there is none).
func (f *invFix) level(t *testing.T, sku, wh string) (onHand, reserved int64) {
	t.Helper()
	page, err := f.svc.Stock(ctx, inventory.StockFilter{SKU: sku, Warehouse: wh, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Stock) == 0 {
		return 0, 0
	}
	return page.Stock[0].OnHand, page.Stock[0].Reserved
}

func (f *invFix) wantLevel(t *testing.T, sku, wh string, onHand, reserved int64) {
	t.Helper()
	if o, r := f.level(t, sku, wh); o != onHand || r != reserved {
		t.Fatalf("%s in %s: on hand %d reserved %d, want %d and %d", sku, wh, o, r, onHand, reserved)
	}
}

// checkLedger fails unless, for every stock row, the movements add up to
// on hand and the active reservations add up to reserved.
func (f *invFix) checkLedger(t *testing.T) {
	t.Helper()
	err := f.db.InTx(ctx, func(tx *sqlstore.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT s.sku, s.warehouse_id, s.on_hand, s.reserved,
			CAST((SELECT COALESCE(SUM(m.delta), 0) FROM stock_movements m WHERE m.sku = s.sku AND m.warehouse_id = s.warehouse_id) AS BIGINT),
			CAST((SELECT COALESCE(SUM(r.quantity), 0) FROM stock_reservations r WHERE r.sku = s.sku AND r.warehouse_id = s.warehouse_id AND r.state = 'active') AS BIGINT)
			FROM stock s`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var sku, wh string
			var onHand, reserved, moved, held int64
			if err := rows.Scan(&sku, &wh, &onHand, &reserved, &moved, &held); err != nil {
				return err
			}
			if moved != onHand || held != reserved {
				t.Errorf("%s in %s: on hand %d, movements add up to %d; reserved %d, active reservations %d", sku, wh, onHand, moved, reserved, held)
			}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// events returns the outbox events of a type.
func (f *invFix) events(t *testing.T, typ string) []event.Event {
	t.Helper()
	es, err := event.NewService(f.db.Events()).Events(ctx, event.Filter{Type: typ, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// invWantErr fails unless err is a *shopd.Error with the code and type.
func invWantErr(t *testing.T, what string, err error, code, typ string) *shopd.Error {
	t.Helper()
	var e *shopd.Error
	if !errors.As(err, &e) || e.Code != code || e.Type != typ {
		t.Fatalf("%s: error %v, want %s %s", what, err, code, typ)
	}
	return e
}

func invField(e *shopd.Error, field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

func testInventoryWarehouses(t *testing.T, f *invFix) {
	b := f.warehouse(t, "east-2", 2, "us", "ca")
	a := f.warehouse(t, "east-1", 1, "us")
	if !a.Active || !shopd.HasIDPrefix(a.ID, "whs") || strings.Join(b.Markets, ",") != "ca,us" || !b.CreatedAt.Equal(invStart) {
		t.Fatalf("created %+v and %+v", a, b)
	}
	for _, ref := range []string{b.ID, b.Code} {
		got, err := f.svc.Warehouse(ctx, ref)
		if err != nil || got.ID != b.ID || strings.Join(got.Markets, ",") != "ca,us" || got.Priority != 2 || got.SyncSequence != 0 {
			t.Fatalf("Warehouse(%s) = %+v, %v", ref, got, err)
		}
	}
	for _, ref := range []string{"nope", "whs_01JC6Q00000000000000000000", "Bad Code", ""} {
		_, err := f.svc.Warehouse(ctx, ref)
		invWantErr(t, "get "+ref, err, shopd.ENOTFOUND, "warehouse-not-found")
	}
	_, err := f.svc.CreateWarehouse(ctx, inventory.NewWarehouse{Code: "east-1", Name: "Again", Markets: []string{"us"}})
	invWantErr(t, "duplicate code", err, shopd.ECONFLICT, "warehouse-code-taken")
	_, err = f.svc.CreateWarehouse(ctx, inventory.NewWarehouse{Code: "mars", Name: "Mars", Markets: []string{"zz"}})
	invWantErr(t, "unknown market", err, shopd.EINVALID, "unknown-market")
	for _, c := range []struct {
		nw    inventory.NewWarehouse
		field string
	}{
		{inventory.NewWarehouse{Code: "Upper", Name: "x"}, "code"},
		{inventory.NewWarehouse{Code: "-lead", Name: "x"}, "code"},
		{inventory.NewWarehouse{Code: strings.Repeat("a", 33), Name: "x"}, "code"},
		{inventory.NewWarehouse{Code: "ok", Name: " "}, "name"},
		{inventory.NewWarehouse{Code: "ok", Name: strings.Repeat("é", 201)}, "name"},
		{inventory.NewWarehouse{Code: "ok", Name: "x", Markets: []string{"us", "us"}}, "markets[1]"},
		{inventory.NewWarehouse{Code: "ok", Name: "x", Markets: []string{"US"}}, "markets[0]"},
		{inventory.NewWarehouse{Code: "ok", Name: "x", Priority: -1}, "priority"},
		{inventory.NewWarehouse{Code: "ok", Name: "x", Priority: 1_000_001}, "priority"},
		{inventory.NewWarehouse{Code: "ok", Name: "x", Region: strings.Repeat("r", 51)}, "region"},
		{inventory.NewWarehouse{Code: "ok", Name: "x", Region: "a\x00b"}, "region"},
	} {
		_, err := f.svc.CreateWarehouse(ctx, c.nw)
		if e := invWantErr(t, c.field, err, shopd.EINVALID, "validation"); !invField(e, c.field) {
			t.Errorf("%+v: fields %v, want %s", c.nw, e.Fields, c.field)
		}
	}
	list, err := f.svc.Warehouses(ctx)
	if err != nil || len(list) != 2 || list[0].Code != "east-1" || list[1].Code != "east-2" || len(list[1].Markets) != 2 {
		t.Fatalf("Warehouses = %+v, %v", list, err)
	}
	f.clock.Advance(time.Minute)
	name, prio, off, markets := "East One", 5, false, []string{"in", "br"}
	got, err := f.svc.UpdateWarehouse(ctx, "east-1", inventory.WarehouseUpdate{Name: &name, Priority: &prio, Active: &off, Markets: &markets})
	if err != nil || got.Name != name || got.Priority != 5 || got.Active || strings.Join(got.Markets, ",") != "br,in" || got.Code != "east-1" || !got.UpdatedAt.Equal(invStart.Add(time.Minute)) {
		t.Fatalf("UpdateWarehouse = %+v, %v", got, err)
	}
	if again, _ := f.svc.Warehouse(ctx, a.ID); again.Name != name || strings.Join(again.Markets, ",") != "br,in" || again.Active {
		t.Fatalf("after update: %+v", again)
	}
	_, err = f.svc.UpdateWarehouse(ctx, "nope", inventory.WarehouseUpdate{Name: &name})
	invWantErr(t, "update unknown", err, shopd.ENOTFOUND, "warehouse-not-found")
	bad := []string{"xx"}
	_, err = f.svc.UpdateWarehouse(ctx, "east-1", inventory.WarehouseUpdate{Markets: &bad})
	invWantErr(t, "update unknown market", err, shopd.EINVALID, "unknown-market")
}

func testInventoryReceiveAdjustTransfer(t *testing.T, f *invFix) {
	a := f.warehouse(t, "a", 1, "us")
	f.warehouse(t, "b", 2, "us")
	s := f.receive(t, "a", "RAT-1", 10)
	if s.OnHand != 10 || s.Reserved != 0 || s.Available() != 10 || s.WarehouseID != a.ID || s.Warehouse != "a" {
		t.Fatalf("receive: %+v", s)
	}
	s = f.receive(t, a.ID, "RAT-1", 5)
	if s.OnHand != 15 {
		t.Fatalf("second receive: %+v", s)
	}
	_, err := f.svc.Receive(ctx, inventory.Receipt{Warehouse: "a", SKU: "NOPE", Quantity: 1})
	if e := invWantErr(t, "unknown sku", err, shopd.EINVALID, "unknown-sku"); !strings.Contains(e.Message, `"NOPE"`) || !invField(e, "sku") {
		t.Fatalf("unknown sku: %+v", e)
	}
	_, err = f.svc.Receive(ctx, inventory.Receipt{Warehouse: "zz", SKU: "RAT-1", Quantity: 1})
	invWantErr(t, "unknown warehouse", err, shopd.EINVALID, "unknown-warehouse")
	for _, q := range []int64{0, -1, 1_000_001} {
		_, err = f.svc.Receive(ctx, inventory.Receipt{Warehouse: "a", SKU: "RAT-1", Quantity: q})
		invWantErr(t, fmt.Sprint("quantity ", q), err, shopd.EINVALID, "validation")
	}

	s, err = f.svc.Adjust(ctx, inventory.Adjustment{Warehouse: "a", SKU: "RAT-1", Delta: -3, Reason: "damaged", StaffKeyID: "key_1"})
	if err != nil || s.OnHand != 12 {
		t.Fatalf("adjust: %+v %v", s, err)
	}
	if _, err := f.svc.Reserve(ctx, "co-1", "us", []inventory.Line{{SKU: "RAT-1", Quantity: 8}}); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Adjust(ctx, inventory.Adjustment{Warehouse: "a", SKU: "RAT-1", Delta: -5, Reason: "count"})
	invWantErr(t, "adjust below reserved", err, shopd.ECONFLICT, "would-oversell")
	_, err = f.svc.Adjust(ctx, inventory.Adjustment{Warehouse: "b", SKU: "RAT-1", Delta: -1, Reason: "count"})
	invWantErr(t, "adjust a missing row down", err, shopd.ECONFLICT, "would-oversell")
	s, err = f.svc.Adjust(ctx, inventory.Adjustment{Warehouse: "a", SKU: "RAT-1", Delta: -4, Reason: "count"})
	if err != nil || s.OnHand != 8 || s.Reserved != 8 || s.Available() != 0 {
		t.Fatalf("adjust to reserved: %+v %v", s, err)
	}
	for _, adj := range []inventory.Adjustment{
		{Warehouse: "a", SKU: "RAT-1", Delta: 0, Reason: "x"},
		{Warehouse: "a", SKU: "RAT-1", Delta: 1},
		{Warehouse: "a", SKU: "RAT-1", Delta: -1_000_001, Reason: "x"},
	} {
		_, err := f.svc.Adjust(ctx, adj)
		invWantErr(t, fmt.Sprintf("%+v", adj), err, shopd.EINVALID, "validation")
	}
	if _, err := f.svc.Adjust(ctx, inventory.Adjustment{Warehouse: "a", SKU: "RAT-1", Delta: 6, Reason: "found"}); err != nil {
		t.Fatal(err)
	}
	// a: 14 on hand, 8 reserved, 6 available. Reserved units cannot move.
	_, err = f.svc.Transfer(ctx, inventory.Transfer{From: "a", To: "b", SKU: "RAT-1", Quantity: 7})
	invWantErr(t, "transfer reserved units", err, shopd.ECONFLICT, "insufficient-stock")
	f.wantLevel(t, "RAT-1", "a", 14, 8)
	f.wantLevel(t, "RAT-1", "b", 0, 0)
	res, err := f.svc.Transfer(ctx, inventory.Transfer{From: "a", To: "b", SKU: "RAT-1", Quantity: 6, Note: "rebalance"})
	if err != nil || res.From.OnHand != 8 || res.From.Reserved != 8 || res.To.OnHand != 6 || !shopd.HasIDPrefix(res.Reference, "trf") {
		t.Fatalf("transfer: %+v %v", res, err)
	}
	moves, err := f.svc.Movements(ctx, inventory.MovementFilter{Reference: res.Reference, Limit: 10})
	if err != nil || len(moves.Movements) != 2 {
		t.Fatalf("transfer movements: %+v %v", moves, err)
	}
	kinds := map[inventory.MovementKind]int64{}
	for _, m := range moves.Movements {
		kinds[m.Kind] = m.Delta
	}
	if kinds[inventory.KindTransferOut] != -6 || kinds[inventory.KindTransferIn] != 6 {
		t.Fatalf("transfer movements: %+v", moves.Movements)
	}
	_, err = f.svc.Transfer(ctx, inventory.Transfer{From: "b", To: "b", SKU: "RAT-1", Quantity: 1})
	invWantErr(t, "transfer to itself", err, shopd.EINVALID, "validation")
	_, err = f.svc.Transfer(ctx, inventory.Transfer{From: "b", To: "zz", SKU: "RAT-1", Quantity: 1})
	invWantErr(t, "transfer to unknown", err, shopd.EINVALID, "unknown-warehouse")

	if _, err := f.svc.Commit(ctx, "co-1"); err != nil {
		t.Fatal(err)
	}
	s, err = f.svc.Return(ctx, inventory.Return{Warehouse: "a", SKU: "RAT-1", Quantity: 2, Reference: "co-1"})
	if err != nil || s.OnHand != 2 || s.Reserved != 0 {
		t.Fatalf("return: %+v %v", s, err)
	}
	all, err := f.svc.Movements(ctx, inventory.MovementFilter{SKU: "RAT-1", Warehouse: "a", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range all.Movements {
		want = append(want, fmt.Sprintf("%s%+d=%d", m.Kind, m.Delta, m.OnHandAfter))
	}
	if got := strings.Join(want, " "); got != "return+2=2 sale-8=0 transfer_out-6=8 adjustment+6=14 adjustment-4=8 adjustment-3=12 receipt+5=15 receipt+10=10" {
		t.Fatalf("ledger: %s", got)
	}
	if m := all.Movements[5]; m.StaffKeyID != "key_1" || m.Note != "damaged" {
		t.Fatalf("adjustment movement: %+v", m)
	}
	f.checkLedger(t)
}

func testInventoryRouting(t *testing.T, f *invFix) {
	f.warehouse(t, "a", 1, "us")
	f.warehouse(t, "b", 2, "us", "ca")
	f.warehouse(t, "c", 0, "ca")
	off := false
	d, err := f.svc.CreateWarehouse(ctx, inventory.NewWarehouse{Code: "d", Name: "D", Markets: []string{"us"}, Active: &off})
	if err != nil || d.Active {
		t.Fatalf("inactive warehouse: %+v %v", d, err)
	}
	f.receive(t, "a", "RT-1", 5)
	f.receive(t, "b", "RT-1", 10)
	f.receive(t, "c", "RT-1", 100)
	f.receive(t, "d", "RT-1", 100)
	f.receive(t, "b", "RT-2", 3)
	alloc := func(r inventory.Reservation) string {
		var s []string
		for _, a := range r.Allocations {
			s = append(s, fmt.Sprintf("%s@%s:%d", a.SKU, a.Warehouse, a.Quantity))
		}
		return strings.Join(s, " ")
	}
	for _, c := range []struct {
		ref, market string
		lines       []inventory.Line
		want        string
	}{
		{"r1", "us", []inventory.Line{{SKU: "RT-1", Quantity: 3}}, "RT-1@a:3"},          // first by priority
		{"r2", "us", []inventory.Line{{SKU: "RT-1", Quantity: 4}}, "RT-1@b:4"},          // a has 2: b covers it whole
		{"r3", "ca", []inventory.Line{{SKU: "RT-1", Quantity: 4}}, "RT-1@c:4"},          // ca routes to c first
		{"r4", "us", []inventory.Line{{SKU: "RT-1", Quantity: 7}}, "RT-1@a:2 RT-1@b:5"}, // none covers 7: split by priority
		{"r5", "us", []inventory.Line{{SKU: "RT-2", Quantity: 1}, {SKU: "RT-1", Quantity: 1}, {SKU: "RT-2", Quantity: 1}}, "RT-1@b:1 RT-2@b:2"},
	} {
		r, err := f.svc.Reserve(ctx, c.ref, c.market, c.lines)
		if err != nil {
			t.Fatalf("%s: %v", c.ref, err)
		}
		if got := alloc(r); got != c.want || r.Reference != c.ref || !r.ExpiresAt.Equal(invStart.Add(inventory.DefaultReservationTTL)) {
			t.Fatalf("%s: %s expires %v, want %s", c.ref, got, r.ExpiresAt, c.want)
		}
		for _, a := range r.Allocations {
			if !shopd.HasIDPrefix(a.ID, "rsv") || a.State != inventory.ReservationActive {
				t.Fatalf("%s: allocation %+v", c.ref, a)
			}
		}
	}
	f.wantLevel(t, "RT-1", "a", 5, 5)
	f.wantLevel(t, "RT-1", "b", 10, 10)
	f.wantLevel(t, "RT-1", "d", 100, 0) // inactive: never routed
	// All or nothing: RT-2 has 1 left, RT-1 none in us.
	_, err = f.svc.Reserve(ctx, "r6", "us", []inventory.Line{{SKU: "RT-2", Quantity: 1}, {SKU: "RT-1", Quantity: 1}})
	e := invWantErr(t, "out of stock", err, shopd.ECONFLICT, "out-of-stock")
	if !strings.Contains(e.Message, `"RT-1"`) || !invField(e, "lines[1].quantity") || !strings.Contains(e.Message, "0 available") {
		t.Fatalf("out of stock error: %+v", e)
	}
	f.wantLevel(t, "RT-2", "b", 3, 2)
	_, err = f.svc.Reserve(ctx, "r7", "ca", []inventory.Line{{SKU: "RT-1", Quantity: 97}})
	if e := invWantErr(t, "split short", err, shopd.ECONFLICT, "out-of-stock"); !strings.Contains(e.Message, "96 available") {
		t.Fatalf("split short: %+v", e)
	}
	_, err = f.svc.Reserve(ctx, "r8", "in", []inventory.Line{{SKU: "RT-1", Quantity: 1}})
	invWantErr(t, "market without warehouses", err, shopd.ECONFLICT, "out-of-stock")
	_, err = f.svc.Reserve(ctx, "r1", "us", []inventory.Line{{SKU: "RT-2", Quantity: 1}})
	invWantErr(t, "reference reused", err, shopd.ECONFLICT, "reservation-exists")
	for _, lines := range [][]inventory.Line{nil, {{SKU: "RT-1", Quantity: 0}}, {{SKU: "bad sku", Quantity: 1}}, {{SKU: "RT-1", Quantity: 1_000_001}}} {
		_, err := f.svc.Reserve(ctx, "r9", "us", lines)
		invWantErr(t, fmt.Sprint(lines), err, shopd.EINVALID, "validation")
	}
	_, err = f.svc.Reserve(ctx, "has space", "us", []inventory.Line{{SKU: "RT-1", Quantity: 1}})
	invWantErr(t, "bad reference", err, shopd.EINVALID, "validation")
	f.checkLedger(t)
}

func testInventoryLifecycle(t *testing.T, f *invFix) {
	f.warehouse(t, "a", 1, "us")
	f.warehouse(t, "b", 2, "us")
	f.receive(t, "a", "LC-1", 3)
	f.receive(t, "b", "LC-1", 3)
	f.receive(t, "a", "LC-2", 10)
	r, err := f.svc.Reserve(ctx, "ord-1", "us", []inventory.Line{{SKU: "LC-1", Quantity: 5}, {SKU: "LC-2", Quantity: 2}})
	if err != nil || len(r.Allocations) != 3 {
		t.Fatalf("reserve: %+v %v", r, err)
	}
	c, err := f.svc.Commit(ctx, "ord-1")
	if err != nil || len(c.Allocations) != 3 || c.Allocations[0].State != inventory.ReservationCommitted {
		t.Fatalf("commit: %+v %v", c, err)
	}
	f.wantLevel(t, "LC-1", "a", 0, 0)
	f.wantLevel(t, "LC-1", "b", 1, 0)
	f.wantLevel(t, "LC-2", "a", 8, 0)
	again, err := f.svc.Commit(ctx, "ord-1") // a retried payment callback
	if err != nil || len(again.Allocations) != 3 {
		t.Fatalf("second commit: %+v %v", again, err)
	}
	f.wantLevel(t, "LC-2", "a", 8, 0)
	if n, err := f.svc.Release(ctx, "ord-1"); n != 0 || err != nil {
		t.Fatalf("release after commit: %d %v", n, err)
	}
	sales, _ := f.svc.Movements(ctx, inventory.MovementFilter{Kind: inventory.KindSale, Reference: "ord-1", Limit: 10})
	if len(sales.Movements) != 3 {
		t.Fatalf("sale movements: %+v", sales.Movements)
	}

	if _, err := f.svc.Reserve(ctx, "ord-2", "us", []inventory.Line{{SKU: "LC-2", Quantity: 4}}); err != nil {
		t.Fatal(err)
	}
	f.wantLevel(t, "LC-2", "a", 8, 4)
	if n, err := f.svc.Release(ctx, "ord-2"); n != 1 || err != nil {
		t.Fatalf("release: %d %v", n, err)
	}
	f.wantLevel(t, "LC-2", "a", 8, 0)
	if n, err := f.svc.Release(ctx, "ord-2"); n != 0 || err != nil {
		t.Fatalf("second release: %d %v", n, err)
	}
	_, err = f.svc.Commit(ctx, "ord-2")
	invWantErr(t, "commit released", err, shopd.ECONFLICT, "reservation-released")
	_, err = f.svc.Commit(ctx, "nope")
	invWantErr(t, "commit unknown", err, shopd.ENOTFOUND, "reservation-not-found")
	_, err = f.svc.Release(ctx, "nope")
	invWantErr(t, "release unknown", err, shopd.ENOTFOUND, "reservation-not-found")
	// A released reference may reserve again (a retried checkout).
	if _, err := f.svc.Reserve(ctx, "ord-2", "us", []inventory.Line{{SKU: "LC-2", Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Reservation(ctx, "ord-2")
	if err != nil || len(got.Allocations) != 2 {
		t.Fatalf("reservation: %+v %v", got, err)
	}

	// Reservation, commit and release compose with other work in one
	// transaction: a failure after them undoes them.
	err = f.db.Inventory().InTx(ctx, func(tx inventory.Tx) error {
		if _, err := tx.CommitReservation(ctx, "ord-2"); err != nil {
			return err
		}
		return errors.New("payment row failed")
	})
	if err == nil {
		t.Fatal("want the transaction to fail")
	}
	f.wantLevel(t, "LC-2", "a", 8, 1)
	f.checkLedger(t)
}

func testInventoryExpiry(t *testing.T, f *invFix) {
	f.warehouse(t, "a", 1, "us")
	f.receive(t, "a", "EX-1", 10)
	f.svc.ExpiryBatch = 2
	for i := range 3 {
		if _, err := f.svc.Reserve(ctx, fmt.Sprint("co-", i), "us", []inventory.Line{{SKU: "EX-1", Quantity: 2}}); err != nil {
			t.Fatal(err)
		}
	}
	f.svc.ReservationTTL = time.Minute
	if _, err := f.svc.Reserve(ctx, "co-short", "us", []inventory.Line{{SKU: "EX-1", Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	f.wantLevel(t, "EX-1", "a", 10, 7)
	f.clock.Advance(2 * time.Minute) // only co-short has expired
	if n, err := f.svc.ExpireReservations(ctx); n != 1 || err != nil {
		t.Fatalf("expire at +2m: %d %v", n, err)
	}
	f.wantLevel(t, "EX-1", "a", 10, 6)
	f.clock.Advance(7*time.Minute + 59*time.Second) // 1 s before the others expire
	if n, err := f.svc.ExpireReservations(ctx); n != 0 || err != nil {
		t.Fatalf("expire before the TTL: %d %v", n, err)
	}
	// An expired reservation that the worker has not released yet still
	// holds its stock, so its payment can still commit.
	f.clock.Advance(time.Second)
	if _, err := f.svc.Commit(ctx, "co-0"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{2, 0} {
		if n, err := f.svc.ExpireReservations(ctx); n != want || err != nil {
			t.Fatalf("expire: %d %v, want %d", n, err, want)
		}
	}
	f.wantLevel(t, "EX-1", "a", 8, 0)
	_, err := f.svc.Commit(ctx, "co-1")
	invWantErr(t, "commit expired", err, shopd.ECONFLICT, "reservation-expired")
	r, err := f.svc.Reservation(ctx, "co-2")
	if err != nil || r.Allocations[0].State != inventory.ReservationExpired {
		t.Fatalf("expired reservation: %+v %v", r, err)
	}
	f.checkLedger(t)
}

func testInventorySync(t *testing.T, f *invFix) {
	w := f.warehouse(t, "a", 1, "us")
	f.receive(t, "a", "SY-1", 20)
	if _, err := f.svc.Reserve(ctx, "co-1", "us", []inventory.Line{{SKU: "SY-1", Quantity: 10}}); err != nil {
		t.Fatal(err)
	}
	five := int64(5)
	snap := []inventory.Count{{SKU: "SY-2", OnHand: 7, LowStockThreshold: &five}, {SKU: "SY-1", OnHand: 25}, {SKU: "SY-3", OnHand: 0}}
	res, err := f.svc.Sync(ctx, inventory.Sync{Warehouse: "a", Sequence: 3, Counts: snap, StaffKeyID: "key_9"})
	if err != nil || !res.Applied || res.Rows != 3 || res.Changed != 2 || len(res.Shortfalls) != 0 || res.WarehouseID != w.ID {
		t.Fatalf("sync 3: %+v %v", res, err)
	}
	f.wantLevel(t, "SY-1", "a", 25, 10) // reservations preserved
	f.wantLevel(t, "SY-2", "a", 7, 0)
	if got, _ := f.svc.Warehouse(ctx, "a"); got.SyncSequence != 3 || !got.SyncedAt.Equal(got.SyncedAt.UTC()) || got.SyncedAt.IsZero() {
		t.Fatalf("warehouse after sync: %+v", got)
	}
	moves, _ := f.svc.Movements(ctx, inventory.MovementFilter{Kind: inventory.KindSync, Limit: 10})
	if len(moves.Movements) != 2 || moves.Movements[0].Reference != "sync:3" || moves.Movements[0].StaffKeyID != "key_9" {
		t.Fatalf("sync movements: %+v", moves.Movements)
	}
	// The same snapshot again, in another order: nothing changes.
	replay := []inventory.Count{snap[2], snap[0], snap[1]}
	res, err = f.svc.Sync(ctx, inventory.Sync{Warehouse: w.ID, Sequence: 3, Counts: replay})
	if err != nil || res.Applied || res.Changed != 0 {
		t.Fatalf("replay: %+v %v", res, err)
	}
	if again, _ := f.svc.Movements(ctx, inventory.MovementFilter{Kind: inventory.KindSync, Limit: 10}); len(again.Movements) != 2 {
		t.Fatalf("replay wrote movements: %+v", again.Movements)
	}
	_, err = f.svc.Sync(ctx, inventory.Sync{Warehouse: "a", Sequence: 3, Counts: []inventory.Count{{SKU: "SY-1", OnHand: 1}}})
	invWantErr(t, "reused sequence", err, shopd.ECONFLICT, "sync-sequence-reused")
	_, err = f.svc.Sync(ctx, inventory.Sync{Warehouse: "a", Sequence: 2, Counts: snap})
	if e := invWantErr(t, "stale", err, shopd.ECONFLICT, "stale-sync"); !strings.Contains(e.Message, "sequence 3") {
		t.Fatalf("stale message: %s", e.Message)
	}
	_, err = f.svc.Sync(ctx, inventory.Sync{Warehouse: "a", Sequence: 4, Counts: []inventory.Count{{SKU: "NOPE-1", OnHand: 1}, {SKU: "SY-1", OnHand: 1}, {SKU: "NOPE-2", OnHand: 1}}})
	e := invWantErr(t, "unknown skus", err, shopd.EINVALID, "unknown-sku")
	if !strings.Contains(e.Message, `"NOPE-1", "NOPE-2"`) || !invField(e, "counts[0].sku") || !invField(e, "counts[2].sku") || len(e.Fields) != 2 {
		t.Fatalf("unknown skus: %+v", e)
	}
	f.wantLevel(t, "SY-1", "a", 25, 10)
	_, err = f.svc.Sync(ctx, inventory.Sync{Warehouse: "zz", Sequence: 4, Counts: snap})
	invWantErr(t, "unknown warehouse", err, shopd.ENOTFOUND, "warehouse-not-found")
	for _, bad := range []inventory.Sync{
		{Warehouse: "a", Sequence: 0, Counts: snap},
		{Warehouse: "a", Sequence: 5},
		{Warehouse: "a", Sequence: 5, Counts: []inventory.Count{{SKU: "SY-1", OnHand: -1}}},
		{Warehouse: "a", Sequence: 5, Counts: []inventory.Count{{SKU: "SY-1", OnHand: 1}, {SKU: "SY-1", OnHand: 2}}},
	} {
		_, err := f.svc.Sync(ctx, bad)
		invWantErr(t, fmt.Sprintf("%+v", bad), err, shopd.EINVALID, "validation")
	}

	// The warehouse reports fewer units than are reserved: the order keeps
	// its reservation, available shows 0, a shortfall is raised.
	res, err = f.svc.Sync(ctx, inventory.Sync{Warehouse: "a", Sequence: 10, Counts: []inventory.Count{{SKU: "SY-1", OnHand: 4}, {SKU: "SY-2", OnHand: 7}}})
	if err != nil || !res.Applied || res.Changed != 1 || len(res.Shortfalls) != 1 {
		t.Fatalf("short sync: %+v %v", res, err)
	}
	if sf := res.Shortfalls[0]; sf != (inventory.Shortfall{SKU: "SY-1", WarehouseID: w.ID, Warehouse: "a", OnHand: 4, Reserved: 10, ShortBy: 6}) {
		t.Fatalf("shortfall: %+v", sf)
	}
	page, _ := f.svc.Stock(ctx, inventory.StockFilter{SKU: "SY-1", Limit: 1})
	if s := page.Stock[0]; s.Available() != 0 || s.ShortBy() != 6 {
		t.Fatalf("short row: %+v", s)
	}
	evs := f.events(t, inventory.EventShortfall)
	var sf inventory.Shortfall
	if len(evs) != 1 || evs[0].Subject != "SY-1" || json.Unmarshal(evs[0].Data, &sf) != nil || sf.ShortBy != 6 || sf.Reserved != 10 || sf.OnHand != 4 {
		t.Fatalf("shortfall events: %+v", evs)
	}
	_, err = f.svc.Reserve(ctx, "co-2", "us", []inventory.Line{{SKU: "SY-1", Quantity: 1}})
	invWantErr(t, "reserve a short row", err, shopd.ECONFLICT, "out-of-stock")
	// The order still completes; on hand records the units owed.
	if _, err := f.svc.Commit(ctx, "co-1"); err != nil {
		t.Fatal(err)
	}
	f.wantLevel(t, "SY-1", "a", -6, 0)

	// Low stock: SY-2 has threshold 5 and 7 available.
	if _, err := f.svc.Reserve(ctx, "co-3", "us", []inventory.Line{{SKU: "SY-2", Quantity: 2}}); err != nil {
		t.Fatal(err)
	}
	if n := len(f.events(t, inventory.EventLow)); n != 0 {
		t.Fatalf("%d low events at 5 available, want 0", n)
	}
	if _, err := f.svc.Reserve(ctx, "co-4", "us", []inventory.Line{{SKU: "SY-2", Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Reserve(ctx, "co-5", "us", []inventory.Line{{SKU: "SY-2", Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	low := f.events(t, inventory.EventLow)
	var ls inventory.LowStock
	if len(low) != 1 || json.Unmarshal(low[0].Data, &ls) != nil || ls != (inventory.LowStock{SKU: "SY-2", WarehouseID: w.ID, Warehouse: "a", Available: 4, Threshold: 5}) {
		t.Fatalf("low events: %+v", low)
	}
	f.checkLedger(t)
}

func testInventoryLists(t *testing.T, f *invFix) {
	a := f.warehouse(t, "a", 1, "us")
	b := f.warehouse(t, "b", 2, "us")
	for _, sku := range []string{"LS-3", "LS-1", "LS-2"} {
		f.receive(t, "a", sku, 1)
		f.receive(t, "b", sku, 2)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		page, err := f.svc.Stock(ctx, inventory.StockFilter{Cursor: cursor, Limit: 4})
		if err != nil || pages > 3 {
			t.Fatalf("stock page: %v (%d pages)", err, pages)
		}
		for _, s := range page.Stock {
			got = append(got, s.SKU+"@"+s.Warehouse)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	want := []string{"LS-1", "LS-2", "LS-3"}
	var wantRows []string
	first, second := "a", "b"
	if b.ID < a.ID {
		first, second = "b", "a"
	}
	for _, s := range want {
		wantRows = append(wantRows, s+"@"+first, s+"@"+second)
	}
	if strings.Join(got, " ") != strings.Join(wantRows, " ") {
		t.Fatalf("stock pages: %v, want %v", got, wantRows)
	}
	page, err := f.svc.Stock(ctx, inventory.StockFilter{Warehouse: "b", Limit: 10})
	if err != nil || len(page.Stock) != 3 || page.Stock[0].OnHand != 2 {
		t.Fatalf("stock in b: %+v %v", page, err)
	}
	if page, _ := f.svc.Stock(ctx, inventory.StockFilter{Warehouse: "zz", Limit: 10}); len(page.Stock) != 0 {
		t.Fatalf("stock in an unknown warehouse: %+v", page)
	}
	for _, bad := range []inventory.StockFilter{{Limit: 0}, {Limit: 101}, {Limit: 1, Cursor: "nope"}, {Limit: 1, SKU: "a b"}, {Limit: 1, Warehouse: "A B"}} {
		_, err := f.svc.Stock(ctx, bad)
		invWantErr(t, fmt.Sprintf("%+v", bad), err, shopd.EINVALID, "validation")
	}
	var ids []string
	cursor = ""
	for {
		page, err := f.svc.Movements(ctx, inventory.MovementFilter{Warehouse: a.ID, Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Movements {
			if m.Warehouse != "a" || m.Kind != inventory.KindReceipt || m.Reference != "po-1" {
				t.Fatalf("movement %+v", m)
			}
			ids = append(ids, m.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(ids) != 3 || !(ids[0] > ids[1] && ids[1] > ids[2]) {
		t.Fatalf("movement ids %v: want 3, newest first", ids)
	}
	for _, bad := range []inventory.MovementFilter{{Limit: 1, Kind: "theft"}, {Limit: 1, Cursor: "x"}, {Limit: 1, Reference: strings.Repeat("r", 101)}} {
		_, err := f.svc.Movements(ctx, bad)
		invWantErr(t, fmt.Sprintf("%+v", bad), err, shopd.EINVALID, "validation")
	}
}

// testInventoryNoOversell is DESIGN.md §2.1: 500 shoppers race for 100
// units split over two warehouses.
func testInventoryNoOversell(t *testing.T, f *invFix) {
	f.warehouse(t, "a", 1, "us")
	f.warehouse(t, "b", 2, "us")
	f.receive(t, "a", "HOT-1", 60)
	f.receive(t, "b", "HOT-1", 40)
	const shoppers = 500
	var sold, outOfStock atomic.Int64
	var wrong []error
	var mu sync.Mutex
	stop := make(chan struct{})
	watcher := make(chan error, 1)
	go func() { // nobody may ever see a negative available
		defer close(watcher)
		for {
			select {
			case <-stop:
				return
			default:
			}
			page, err := f.svc.Stock(ctx, inventory.StockFilter{SKU: "HOT-1", Limit: 10})
			if err != nil {
				watcher <- err
				return
			}
			for _, s := range page.Stock {
				if s.OnHand-s.Reserved < 0 || s.OnHand < 0 {
					watcher <- fmt.Errorf("negative stock seen: %+v", s)
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range shoppers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := fmt.Sprint("chk-", i)
			_, err := f.svc.Reserve(ctx, ref, "us", []inventory.Line{{SKU: "HOT-1", Quantity: 1}})
			var e *shopd.Error
			switch {
			case err == nil:
				if _, err := f.svc.Commit(ctx, ref); err != nil {
					mu.Lock()
					wrong = append(wrong, err)
					mu.Unlock()
					return
				}
				sold.Add(1)
			case errors.As(err, &e) && e.Code == shopd.ECONFLICT && e.Type == "out-of-stock":
				outOfStock.Add(1)
			default:
				mu.Lock()
				wrong = append(wrong, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-watcher; err != nil {
		t.Fatal(err)
	}
	if len(wrong) > 0 {
		t.Fatalf("%d unexpected errors, first: %v", len(wrong), wrong[0])
	}
	if sold.Load() != 100 || outOfStock.Load() != shoppers-100 {
		t.Fatalf("sold %d, out of stock %d; want 100 and %d", sold.Load(), outOfStock.Load(), shoppers-100)
	}
	f.wantLevel(t, "HOT-1", "a", 0, 0)
	f.wantLevel(t, "HOT-1", "b", 0, 0)
	sales, _ := f.svc.Movements(ctx, inventory.MovementFilter{SKU: "HOT-1", Kind: inventory.KindSale, Limit: 100})
	if len(sales.Movements) != 100 || sales.NextCursor != "" {
		t.Fatalf("%d sale movements, want 100", len(sales.Movements))
	}
	f.checkLedger(t)
}

// testInventoryConcurrentLedger runs every kind of change at once and checks
// that the ledger explains every row afterwards.
func testInventoryConcurrentLedger(t *testing.T, f *invFix) {
	f.warehouse(t, "a", 1, "us")
	f.warehouse(t, "b", 2, "us")
	skus := []string{"CL-1", "CL-2", "CL-3"}
	for _, sku := range skus {
		f.receive(t, "a", sku, 20)
		f.receive(t, "b", sku, 20)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 300)
	var seq atomic.Int64
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			sku := skus[rng.IntN(len(skus))]
			wh, other := "a", "b"
			if rng.IntN(2) == 1 {
				wh, other = other, wh
			}
			var err error
			switch i % 6 {
			case 0:
				_, err = f.svc.Receive(ctx, inventory.Receipt{Warehouse: wh, SKU: sku, Quantity: int64(1 + rng.IntN(3))})
			case 1:
				_, err = f.svc.Adjust(ctx, inventory.Adjustment{Warehouse: wh, SKU: sku, Delta: int64(rng.IntN(5) - 3), Reason: "count"})
			case 2:
				_, err = f.svc.Transfer(ctx, inventory.Transfer{From: wh, To: other, SKU: sku, Quantity: int64(1 + rng.IntN(4))})
			case 3, 4:
				ref := fmt.Sprint("cl-", i)
				_, err = f.svc.Reserve(ctx, ref, "us", []inventory.Line{{SKU: sku, Quantity: int64(1 + rng.IntN(3))}, {SKU: skus[rng.IntN(3)], Quantity: 1}})
				if err == nil && i%2 == 0 {
					_, err = f.svc.Commit(ctx, ref)
				} else if err == nil {
					_, err = f.svc.Release(ctx, ref)
				}
			case 5:
				_, err = f.svc.Sync(ctx, inventory.Sync{Warehouse: wh, Sequence: seq.Add(1), Counts: []inventory.Count{{SKU: sku, OnHand: int64(10 + rng.IntN(20))}}})
			}
			var e *shopd.Error
			if err != nil && !(errors.As(err, &e) && (e.Code == shopd.ECONFLICT || e.Type == "validation")) {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	f.checkLedger(t)
}

// testInventoryConcurrentExpiry runs four expiry workers at once: every
// expired reservation is released exactly once.
func testInventoryConcurrentExpiry(t *testing.T, f *invFix) {
	f.warehouse(t, "a", 1, "us")
	f.receive(t, "a", "CE-1", 1000)
	f.receive(t, "a", "CE-2", 1000)
	const n = 200
	for i := range n {
		if _, err := f.svc.Reserve(ctx, fmt.Sprint("ce-", i), "us", []inventory.Line{{SKU: "CE-1", Quantity: 2}, {SKU: "CE-2", Quantity: 1}}); err != nil {
			t.Fatal(err)
		}
	}
	f.wantLevel(t, "CE-1", "a", 1000, 2*n)
	f.clock.Advance(inventory.DefaultReservationTTL)
	f.svc.ExpiryBatch = 15
	var total atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, err := f.svc.ExpireReservations(ctx)
				if err != nil {
					errs <- err
					return
				}
				total.Add(int64(k))
				if k == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if k, _ := f.svc.ExpireReservations(ctx); total.Load() != 2*n || k != 0 {
		t.Fatalf("expired %d lines (then %d), want %d", total.Load(), k, 2*n)
	}
	f.wantLevel(t, "CE-1", "a", 1000, 0)
	f.wantLevel(t, "CE-2", "a", 1000, 0)
	f.checkLedger(t)
}
