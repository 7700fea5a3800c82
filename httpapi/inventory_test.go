package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

// newInvEnv is newEnv with the inventory service wired, and a product whose
// variants have the SKUs GLOW-30 and GLOW-50.
func newInvEnv(t *testing.T, db *sqlstore.DB) (*env, *inventory.Service) {
	t.Helper()
	e := newEnv(t, db)
	inv := e.svc.inventory
	price := map[string]any{"us": map[string]any{"amount": map[string]any{"amount": 2400, "currency": "USD"}}}
	e.do("POST", "/v1/admin/products", map[string]any{"title": "Glow Serum", "status": "active",
		"variants": []map[string]any{{"sku": "GLOW-30", "options": map[string]string{"size": "30 ml"}, "prices": price},
			{"sku": "GLOW-50", "options": map[string]string{"size": "50 ml"}, "prices": price}}},
		as(e.keys[staff.RoleAdmin])).want(t, 201)
	return e, inv
}

type invStockJSON struct {
	SKU               string `json:"sku"`
	Warehouse         string `json:"warehouse"`
	WarehouseID       string `json:"warehouse_id"`
	OnHand            int64  `json:"on_hand"`
	Reserved          int64  `json:"reserved"`
	Available         int64  `json:"available"`
	ShortBy           int64  `json:"short_by"`
	LowStockThreshold *int64 `json:"low_stock_threshold"`
}

func (s invStockJSON) levels() string {
	return fmt.Sprintf("%s@%s %d/%d/%d/%d", s.SKU, s.Warehouse, s.OnHand, s.Reserved, s.Available, s.ShortBy)
}

type invWarehouseJSON struct {
	ID, Code, Name string
	Markets        []string
	Priority       int
	Region         string
	Active         bool
	SyncSequence   int64 `json:"sync_sequence"`
}

func TestWarehousesAPI(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e, _ := newInvEnv(t, db)
		admin, reader := as(e.keys[staff.RoleAdmin]), as(e.keys[staff.RoleReadOnly])
		var nj invWarehouseJSON
		r := e.do("POST", "/v1/admin/warehouses", map[string]any{"code": "nj-1", "name": "Newark", "markets": []string{"us", "ca"}, "priority": 2, "region": "NJ"}, admin).want(t, 201)
		r.JSON(t, &nj)
		if nj.Code != "nj-1" || strings.Join(nj.Markets, ",") != "ca,us" || !nj.Active || nj.Priority != 2 || r.Header.Get("Location") != "/v1/admin/warehouses/"+nj.ID {
			t.Fatalf("created %+v (Location %q)", nj, r.Header.Get("Location"))
		}
		e.do("POST", "/v1/admin/warehouses", map[string]any{"code": "on-1", "name": "Toronto", "markets": []string{"ca"}, "priority": 1}, admin).want(t, 201)
		var list struct{ Data []invWarehouseJSON }
		e.do("GET", "/v1/admin/warehouses", nil, reader).want(t, 200).JSON(t, &list)
		if len(list.Data) != 2 || list.Data[0].Code != "on-1" || list.Data[1].Code != "nj-1" {
			t.Fatalf("list: %+v", list.Data)
		}
		for _, ref := range []string{"nj-1", nj.ID} {
			var got invWarehouseJSON
			e.do("GET", "/v1/admin/warehouses/"+ref, nil, reader).want(t, 200).JSON(t, &got)
			if got.ID != nj.ID || got.Region != "NJ" {
				t.Fatalf("get %s: %+v", ref, got)
			}
		}
		e.do("GET", "/v1/admin/warehouses/nope", nil, reader).wantProblem(t, 404, "warehouse-not-found")
		var upd invWarehouseJSON
		e.do("PATCH", "/v1/admin/warehouses/nj-1", map[string]any{"name": "Newark 1", "priority": 0, "active": false}, admin).want(t, 200).JSON(t, &upd)
		if upd.Name != "Newark 1" || upd.Priority != 0 || upd.Active || strings.Join(upd.Markets, ",") != "ca,us" {
			t.Fatalf("patched: %+v", upd)
		}
		e.do("PATCH", "/v1/admin/warehouses/nj-1", map[string]any{"code": "nj-2"}, admin).wantProblem(t, 400, "validation")
		e.do("PATCH", "/v1/admin/warehouses/nope", map[string]any{"name": "x"}, admin).wantProblem(t, 404, "warehouse-not-found")
		e.do("PATCH", "/v1/admin/warehouses/nj-1", map[string]any{"markets": []string{"zz"}}, admin).wantProblem(t, 400, "unknown-market")

		for _, c := range []struct {
			body any
			typ  string
		}{
			{map[string]any{"code": "nj-1", "name": "Again"}, "warehouse-code-taken"},
			{map[string]any{"code": "Bad Code", "name": "x"}, "validation"},
			{map[string]any{"code": "x", "name": strings.Repeat("n", 201)}, "validation"},
			{map[string]any{"code": "x", "name": "x", "markets": []string{"zz"}}, "unknown-market"},
			{map[string]any{"code": "x", "name": "x", "priority": "1"}, "validation"},
			{map[string]any{"code": "x", "name": "x", "priority": -5}, "validation"},
			{map[string]any{"code": "x", "name": "x", "colour": "red"}, "validation"},
			{`{"code": "x",`, "malformed-json"},
		} {
			status := 400
			if c.typ == "warehouse-code-taken" {
				status = 409
			}
			e.do("POST", "/v1/admin/warehouses", c.body, admin).wantProblem(t, status, c.typ)
		}

		// Auth: no key, wrong role, a customer's session.
		e.do("GET", "/v1/admin/warehouses", nil).wantProblem(t, 401, "unauthorized")
		e.do("POST", "/v1/admin/warehouses", map[string]any{"code": "y", "name": "y"}, reader).wantProblem(t, 403, "insufficient-role")
		var reg struct{ Session struct{ Token string } }
		e.do("POST", "/v1/customers", map[string]string{"email": "inv@example.com", "password": "inventory pass"}).want(t, 201).JSON(t, &reg)
		e.do("GET", "/v1/admin/warehouses", nil, as(reg.Session.Token)).wantProblem(t, 403, "forbidden")
		e.do("GET", "/v1/admin/stock", nil, as(reg.Session.Token)).wantProblem(t, 403, "forbidden")
	})
}

func TestStockAPI(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e, inv := newInvEnv(t, db)
		admin, reader := as(e.keys[staff.RoleAdmin]), as(e.keys[staff.RoleReadOnly])
		e.do("POST", "/v1/admin/warehouses", map[string]any{"code": "a", "name": "A", "markets": []string{"us"}, "priority": 1}, admin).want(t, 201)
		e.do("POST", "/v1/admin/warehouses", map[string]any{"code": "b", "name": "B", "markets": []string{"us"}, "priority": 2}, admin).want(t, 201)

		var s invStockJSON
		key := header("Idempotency-Key", "receipt-1")
		body := map[string]any{"warehouse": "a", "sku": "GLOW-30", "quantity": 10, "reference": "po-77", "low_stock_threshold": 3}
		first := e.do("POST", "/v1/admin/stock/receive", body, admin, key).want(t, 200)
		first.JSON(t, &s)
		if s.levels() != "GLOW-30@a 10/0/10/0" || s.LowStockThreshold == nil || *s.LowStockThreshold != 3 {
			t.Fatalf("receive: %+v", s)
		}
		replay := e.do("POST", "/v1/admin/stock/receive", body, admin, key).want(t, 200)
		if string(replay.Body) != string(first.Body) || replay.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %s %v", replay.Body, replay.Header)
		}
		body["quantity"] = 11
		e.do("POST", "/v1/admin/stock/receive", body, admin, key).wantProblem(t, 422, "idempotency-key-reused")
		for _, c := range []struct {
			path string
			body any
			st   int
			typ  string
		}{
			{"receive", map[string]any{"warehouse": "a", "sku": "NOPE", "quantity": 1}, 400, "unknown-sku"},
			{"receive", map[string]any{"warehouse": "zz", "sku": "GLOW-30", "quantity": 1}, 400, "unknown-warehouse"},
			{"receive", map[string]any{"warehouse": "a", "sku": "GLOW-30", "quantity": 0}, 400, "validation"},
			{"receive", map[string]any{"warehouse": "a", "sku": "GLOW-30", "quantity": -4}, 400, "validation"},
			{"receive", map[string]any{"warehouse": "a", "sku": "GLOW-30", "quantity": 1_000_001}, 400, "validation"},
			{"receive", `{"warehouse": "a", "sku": "GLOW-30", "quantity": 1e400}`, 400, "validation"},
			{"receive", map[string]any{"warehouse": "a", "sku": "GLOW-30", "quantity": "5"}, 400, "validation"},
			{"receive", map[string]any{"warehouse": "a", "sku": "GLOW-30", "quantity": 1, "note": strings.Repeat("n", 501)}, 400, "validation"},
			{"adjust", map[string]any{"warehouse": "a", "sku": "GLOW-30", "delta": -1}, 400, "validation"},
			{"adjust", map[string]any{"warehouse": "a", "sku": "GLOW-30", "delta": 0, "reason": "x"}, 400, "validation"},
			{"adjust", map[string]any{"warehouse": "a", "sku": "GLOW-30", "delta": -11, "reason": "lost"}, 409, "would-oversell"},
			{"transfer", map[string]any{"from": "a", "to": "a", "sku": "GLOW-30", "quantity": 1}, 400, "validation"},
			{"transfer", map[string]any{"from": "a", "to": "b", "sku": "GLOW-30", "quantity": 11}, 409, "insufficient-stock"},
			{"transfer", map[string]any{"from": "a", "to": "b", "sku": "GLOW-50", "quantity": 1}, 409, "insufficient-stock"},
			{"transfer", map[string]any{"from": "a", "to": "b", "sku": "GLOW-30", "quantity": 1, "extra": 1}, 400, "validation"},
		} {
			e.do("POST", "/v1/admin/stock/"+c.path, c.body, admin).wantProblem(t, c.st, c.typ)
		}
		e.do("POST", "/v1/admin/stock/receive", map[string]any{"warehouse": "a", "sku": "GLOW-30", "quantity": 1}).wantProblem(t, 401, "unauthorized")
		e.do("POST", "/v1/admin/stock/adjust", map[string]any{"warehouse": "a", "sku": "GLOW-30", "delta": 1, "reason": "x"}, reader).wantProblem(t, 403, "insufficient-role")

		// A shopper holds 6; adjusting them away is refused.
		if _, err := inv.Reserve(context.Background(), "chk_1", "us", []inventory.Line{{SKU: "GLOW-30", Quantity: 6}}); err != nil {
			t.Fatal(err)
		}
		e.do("POST", "/v1/admin/stock/adjust", map[string]any{"warehouse": "a", "sku": "GLOW-30", "delta": -5, "reason": "damaged"}, admin).wantProblem(t, 409, "would-oversell")
		e.do("POST", "/v1/admin/stock/adjust", map[string]any{"warehouse": "a", "sku": "GLOW-30", "delta": -1, "reason": "damaged"}, admin).want(t, 200).JSON(t, &s)
		if s.levels() != "GLOW-30@a 9/6/3/0" {
			t.Fatalf("adjust: %s", s.levels())
		}
		var tr struct {
			Reference string
			From, To  invStockJSON
		}
		e.do("POST", "/v1/admin/stock/transfer", map[string]any{"from": "a", "to": "b", "sku": "GLOW-30", "quantity": 3, "reference": "move-1"}, admin).want(t, 200).JSON(t, &tr)
		if tr.Reference != "move-1" || tr.From.levels() != "GLOW-30@a 6/6/0/0" || tr.To.levels() != "GLOW-30@b 3/0/3/0" {
			t.Fatalf("transfer: %+v", tr)
		}
		// Available fell from 3 to 0, below the threshold 3: one low-stock event.
		var evs struct {
			Data []struct{ Type, Subject string }
		}
		e.do("GET", "/v1/admin/events?type=inventory.", nil, reader).want(t, 200).JSON(t, &evs)
		if len(evs.Data) != 1 || evs.Data[0].Type != "inventory.low" || evs.Data[0].Subject != "GLOW-30" {
			t.Fatalf("events: %+v", evs.Data)
		}

		// Sync: apply, replay, reuse, stale, unknown SKUs, shortfall.
		var res struct {
			Applied       bool
			Sequence      int64
			Rows, Changed int
			Shortfalls    []struct {
				SKU     string `json:"sku"`
				ShortBy int64  `json:"short_by"`
			}
		}
		snap := map[string]any{"sequence": 7, "counts": []map[string]any{{"sku": "GLOW-30", "on_hand": 2}, {"sku": "GLOW-50", "on_hand": 40}}}
		e.do("POST", "/v1/admin/warehouses/a/sync", snap, admin).want(t, 200).JSON(t, &res)
		if !res.Applied || res.Rows != 2 || res.Changed != 2 || len(res.Shortfalls) != 1 || res.Shortfalls[0].SKU != "GLOW-30" || res.Shortfalls[0].ShortBy != 4 {
			t.Fatalf("sync: %+v", res)
		}
		res.Applied = true
		e.do("POST", "/v1/admin/warehouses/a/sync", snap, admin).want(t, 200).JSON(t, &res)
		if res.Applied || res.Changed != 0 {
			t.Fatalf("replayed sync: %+v", res)
		}
		e.do("POST", "/v1/admin/warehouses/a/sync", map[string]any{"sequence": 7, "counts": []map[string]any{{"sku": "GLOW-30", "on_hand": 3}}}, admin).
			wantProblem(t, 409, "sync-sequence-reused")
		if p := e.do("POST", "/v1/admin/warehouses/a/sync", map[string]any{"sequence": 6, "counts": []map[string]any{{"sku": "GLOW-30", "on_hand": 3}}}, admin).
			wantProblem(t, 409, "stale-sync"); !strings.Contains(string(p.Body), "sequence 7") {
			t.Fatalf("stale-sync body: %s", p.Body)
		}
		if p := e.do("POST", "/v1/admin/warehouses/a/sync", map[string]any{"sequence": 8, "counts": []map[string]any{{"sku": "X-1", "on_hand": 3}, {"sku": "X-2", "on_hand": 1}}}, admin).
			wantProblem(t, 400, "unknown-sku"); !strings.Contains(string(p.Body), `\"X-1\", \"X-2\"`) || !strings.Contains(string(p.Body), "counts[1].sku") {
			t.Fatalf("unknown-sku body: %s", p.Body)
		}
		e.do("POST", "/v1/admin/warehouses/zz/sync", snap, admin).wantProblem(t, 404, "warehouse-not-found")
		e.do("POST", "/v1/admin/warehouses/a/sync", map[string]any{"sequence": 9, "counts": []map[string]any{}}, admin).wantProblem(t, 400, "validation")
		e.do("POST", "/v1/admin/warehouses/a/sync", map[string]any{"sequence": 9, "counts": []map[string]any{{"sku": "GLOW-30", "on_hand": -1}}}, admin).wantProblem(t, 400, "validation")
		e.do("POST", "/v1/admin/warehouses/a/sync", snap, reader).wantProblem(t, 403, "insufficient-role")

		// Lists.
		var page struct {
			Data       []invStockJSON
			NextCursor string `json:"next_cursor"`
		}
		e.do("GET", "/v1/admin/stock?limit=2", nil, reader).want(t, 200).JSON(t, &page)
		if len(page.Data) != 2 || page.NextCursor == "" || page.Data[0].SKU != "GLOW-30" {
			t.Fatalf("stock page 1: %+v", page)
		}
		cursor := page.NextCursor
		page.NextCursor = ""
		e.do("GET", "/v1/admin/stock?limit=2&cursor="+cursor, nil, reader).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.NextCursor != "" || page.Data[0].levels() != "GLOW-50@a 40/0/40/0" {
			t.Fatalf("stock page 2: %+v", page)
		}
		e.do("GET", "/v1/admin/stock?sku=GLOW-30&warehouse=a", nil, reader).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].levels() != "GLOW-30@a 2/6/0/4" {
			t.Fatalf("short row: %+v", page.Data)
		}
		for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=bogus", "sku=" + strings.Repeat("s", 65), "warehouse=Not%20A%20Code"} {
			e.do("GET", "/v1/admin/stock?"+q, nil, reader).wantProblem(t, 400, "validation")
		}
		var moves struct {
			Data []struct {
				Kind, Reference, Note string
				Delta                 int64
				OnHandAfter           int64  `json:"on_hand_after"`
				StaffKeyID            string `json:"staff_key_id"`
			}
			NextCursor string `json:"next_cursor"`
		}
		e.do("GET", "/v1/admin/stock/movements?sku=GLOW-30&warehouse=a", nil, reader).want(t, 200).JSON(t, &moves)
		var got []string
		for _, m := range moves.Data {
			got = append(got, fmt.Sprintf("%s%+d=%d", m.Kind, m.Delta, m.OnHandAfter))
			if m.StaffKeyID == "" {
				t.Errorf("movement %+v has no staff key", m)
			}
		}
		if strings.Join(got, " ") != "sync-4=2 transfer_out-3=6 adjustment-1=9 receipt+10=10" || moves.Data[3].Reference != "po-77" || moves.Data[2].Note != "damaged" {
			t.Fatalf("movements: %v %+v", got, moves.Data)
		}
		e.do("GET", "/v1/admin/stock/movements?kind=sync&limit=1", nil, reader).want(t, 200).JSON(t, &moves)
		if len(moves.Data) != 1 || moves.NextCursor == "" {
			t.Fatalf("sync movements page: %+v", moves)
		}
		cursor, moves.NextCursor = moves.NextCursor, ""
		e.do("GET", "/v1/admin/stock/movements?kind=sync&limit=1&cursor="+cursor, nil, reader).want(t, 200).JSON(t, &moves)
		if len(moves.Data) != 1 || moves.NextCursor != "" || moves.Data[0].Kind != "sync" {
			t.Fatalf("sync movements page 2: %+v", moves)
		}
		for _, q := range []string{"kind=theft", "cursor=nope", "limit=500"} {
			e.do("GET", "/v1/admin/stock/movements?"+q, nil, reader).wantProblem(t, 400, "validation")
		}
		e.do("GET", "/v1/admin/stock/movements", nil).wantProblem(t, 401, "unauthorized")
	})
}
