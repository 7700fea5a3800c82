package httpapi_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

// opsOrder is an order as the order operation tests read it.
type opsOrder struct {
	ID, Status   string
	RefundStatus string `json:"refund_status"`
	Total        struct{ Amount int64 }
	Refunded     struct {
		Amount   int64
		Currency string
	}
	Lines []struct {
		ID       string
		SKU      string
		Quantity int64
		Total    struct{ Amount int64 }
	}
}

// buy checks a cart of quantity DROP-1 tees out in New York as a guest and
// returns the paid order.
func (e *env) buy(t *testing.T, variant string, quantity int, email string) opsOrder {
	t.Helper()
	var o opsOrder
	e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, quantity), email, "tok_visa", nyAddress)).want(t, 201).JSON(t, &o)
	if o.Status != "paid" || len(o.Lines) != 1 {
		t.Fatalf("bought %+v", o)
	}
	return o
}

// gatewayCounts returns the test gateway's counts.
func (e *env) gatewayCounts(t *testing.T) testgateway.Counts {
	t.Helper()
	var body struct{ Counts testgateway.Counts }
	e.do("GET", "/v1/admin/test-gateway/charges?limit=1", nil, as(e.keys[staff.RoleAdmin])).want(t, 200).JSON(t, &body)
	return body.Counts
}

// stockIn returns on hand of DROP-1 per warehouse code.
func (e *env) stockIn(t *testing.T) map[string]int64 {
	t.Helper()
	var page struct {
		Data []struct {
			Warehouse string `json:"warehouse"`
			OnHand    int64  `json:"on_hand"`
		}
	}
	e.do("GET", "/v1/admin/stock?sku=DROP-1", nil, as(e.keys[staff.RoleAdmin])).want(t, 200).JSON(t, &page)
	out := map[string]int64{}
	for _, r := range page.Data {
		out[r.Warehouse] = r.OnHand
	}
	return out
}

// TestOrderCancel: buy → cancel → the stock comes back to the warehouses it
// came from, the money comes back on the gateway, and the buyer's purchase
// limit is free again.
func TestOrderCancel(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		variant := e.dropShop(t, 2, map[string]int{"east": 1, "west": 1})
		o := e.buy(t, variant, 2, "ana@example.com")
		if got := e.stockIn(t); got["east"] != 0 || got["west"] != 0 {
			t.Fatalf("after the sale: %v", got)
		}
		// The limit of 2 is used up.
		e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, 1), "ana@example.com", "tok_visa", nyAddress)).want(t, 409)

		path := "/v1/admin/orders/" + o.ID + "/cancel"
		body := map[string]string{"reason": "customer asked"}
		e.do("POST", path, body).want(t, 401)
		e.do("POST", path, body, as(e.keys[staff.RoleReadOnly])).wantProblem(t, 403, "insufficient-role")
		e.do("POST", path, map[string]any{"reason": 5}, as(e.keys[staff.RoleSupport])).want(t, 400)
		e.do("POST", path, map[string]any{"why": "x"}, as(e.keys[staff.RoleSupport])).want(t, 400)
		e.do("POST", path, map[string]any{"reason": string(make([]byte, 501))}, as(e.keys[staff.RoleSupport])).wantProblem(t, 400, "validation")
		e.do("POST", "/v1/admin/orders/ord_nope/cancel", body, as(e.keys[staff.RoleSupport])).wantProblem(t, 404, "order-not-found")

		before := e.gatewayCounts(t)
		support := as(e.keys[staff.RoleSupport])
		first := e.do("POST", path, body, support, header("Idempotency-Key", "cancel-1")).want(t, 200)
		var c opsOrder
		first.JSON(t, &c)
		if c.Status != "canceled" || c.RefundStatus != "refunded" || c.Refunded.Amount != o.Total.Amount || c.Refunded.Currency != "USD" {
			t.Fatalf("canceled %+v, total %d", c, o.Total.Amount)
		}
		again := e.do("POST", path, body, support, header("Idempotency-Key", "cancel-1")).want(t, 200)
		if string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay %s / %s", again.Body, again.Header)
		}
		e.do("POST", path, map[string]string{"reason": "other"}, support, header("Idempotency-Key", "cancel-1")).wantProblem(t, 422, "idempotency-key-reused")
		if after := e.gatewayCounts(t); after.Refunds != before.Refunds+1 {
			t.Fatalf("gateway refunds %d → %d, want one more", before.Refunds, after.Refunds)
		}
		// The units went back where they came from, and nothing is reserved.
		if got := e.stockIn(t); got["east"] != 1 || got["west"] != 1 {
			t.Fatalf("after the cancel: %v", got)
		}
		if onHand, reserved := e.stockOf(t); onHand != 2 || reserved != 0 {
			t.Fatalf("on hand %d, reserved %d", onHand, reserved)
		}
		var moves struct {
			Data []struct{ Kind, Reference string }
		}
		e.do("GET", "/v1/admin/stock/movements?sku=DROP-1", nil, as(e.keys[staff.RoleAdmin])).want(t, 200).JSON(t, &moves)
		returns := 0
		for _, m := range moves.Data {
			if m.Kind == "return" && m.Reference == o.ID {
				returns++
			}
		}
		if returns != 2 {
			t.Fatalf("%d return movements for the order, want 2 (east and west): %+v", returns, moves.Data)
		}
		// Canceling twice is an illegal transition; refunding more is too much.
		e.do("POST", path, body, support).wantProblem(t, 409, "invalid-transition")
		e.do("POST", "/v1/admin/orders/"+o.ID+"/refunds", map[string]any{"amount": map[string]any{"amount": 1, "currency": "USD"}}, support).
			wantProblem(t, 422, "refund-exceeds-captured")
		// The purchase limit was given back.
		e.buy(t, variant, 2, "ana@example.com")

		// A payment in doubt (charged, then the gateway answered 5xx): the
		// order stays pending and cancel is refused, so a payment that turns
		// out taken never meets a canceled order; once reconciled it is paid
		// and cancel refunds it.
		e.do("POST", "/v1/admin/stock/receive", map[string]any{"warehouse": "west", "sku": "DROP-1", "quantity": 2}, as(e.keys[staff.RoleAdmin])).want(t, 200)
		var doubt opsOrder
		e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, 1), "cy@example.com", "tok_error_after_charge", nyAddress)).want(t, 202).JSON(t, &doubt)
		if doubt.Status != "pending_payment" {
			t.Fatalf("order in doubt %+v", doubt)
		}
		e.do("POST", "/v1/admin/orders/"+doubt.ID+"/cancel", nil, support).wantProblem(t, 409, "payment-in-doubt")
		e.do("POST", "/v1/admin/orders/"+doubt.ID+"/refunds", map[string]any{"amount": map[string]any{"amount": 1, "currency": "USD"}}, support).
			wantProblem(t, 409, "order-not-paid")
		e.clock.Advance(time.Hour)
		if n, err := e.svc.payments.Reconcile(context.Background(), 0); err != nil || n != 1 {
			t.Fatalf("reconcile: %d, %v", n, err)
		}
		e.do("POST", "/v1/admin/orders/"+doubt.ID+"/cancel", nil, support).want(t, 200).JSON(t, &c)
		if c.Status != "canceled" || c.RefundStatus != "refunded" || c.Refunded.Amount != doubt.Total.Amount {
			t.Fatalf("cancel after reconcile %+v", c)
		}

		// A declined order is already canceled and took no money.
		e.do("POST", "/v1/admin/stock/receive", map[string]any{"warehouse": "west", "sku": "DROP-1", "quantity": 1}, as(e.keys[staff.RoleAdmin])).want(t, 200)
		var declined struct{ Data []opsOrder }
		e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, 1), "bo@example.com", "tok_declined", nyAddress)).want(t, 402)
		e.do("GET", "/v1/admin/orders?email=bo@example.com", nil, support).want(t, 200).JSON(t, &declined)
		e.do("POST", "/v1/admin/orders/"+declined.Data[0].ID+"/cancel", nil, support).wantProblem(t, 409, "invalid-transition")
		e.do("POST", "/v1/admin/orders/"+declined.Data[0].ID+"/refunds", map[string]any{"amount": map[string]any{"amount": 1, "currency": "USD"}}, support).
			wantProblem(t, 409, "order-not-paid")
	})
}

// TestOrderFulfillment: fulfill per warehouse → shipped → delivered →
// returns that restock and refund their share.
func TestOrderFulfillment(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		variant := e.dropShop(t, 0, map[string]int{"east": 1, "west": 2, "sp": 2})
		o := e.buy(t, variant, 3, "ana@example.com") // 1 from east, 2 from west
		line := o.Lines[0].ID
		support := as(e.keys[staff.RoleSupport])
		base := "/v1/admin/orders/" + o.ID

		e.do("POST", base+"/fulfillments", map[string]any{"warehouse": "east"}, as(e.keys[staff.RoleReadOnly])).want(t, 403)
		e.do("POST", base+"/fulfillments", map[string]any{"warehouse": "sp"}, support).wantProblem(t, 409, "nothing-to-fulfill")
		e.do("POST", base+"/fulfillments", map[string]any{"warehouse": "nowhere"}, support).wantProblem(t, 400, "unknown-warehouse")
		e.do("POST", base+"/fulfillments", map[string]any{}, support).wantProblem(t, 400, "validation")
		e.do("POST", base+"/fulfillments", map[string]any{"warehouse": "east", "lines": []map[string]any{{"line_id": "oln_nope", "quantity": 1}}}, support).
			wantProblem(t, 400, "validation")
		e.do("POST", base+"/fulfillments", map[string]any{"warehouse": "east", "lines": []map[string]any{{"line_id": line, "quantity": 0}}}, support).
			wantProblem(t, 400, "validation")
		e.do("POST", base+"/fulfillments", map[string]any{"warehouse": "east", "carrier": string(make([]byte, 101))}, support).wantProblem(t, 400, "validation")
		e.do("POST", base+"/fulfillments", map[string]any{"warehouse": "west", "lines": []map[string]any{{"line_id": line, "quantity": 3}}}, support).
			wantProblem(t, 409, "over-fulfillment")
		e.do("POST", base+"/deliver", nil, support).wantProblem(t, 409, "invalid-transition")

		type fulfilled struct {
			Fulfillment struct {
				ID, Warehouse  string
				TrackingNumber string `json:"tracking_number"`
				Lines          []struct {
					LineID   string `json:"line_id"`
					Quantity int64
				}
			}
			Order opsOrder
		}
		var f fulfilled
		body := map[string]any{"warehouse": "east", "tracking_number": "1Z999", "carrier": "UPS"}
		first := e.do("POST", base+"/fulfillments", body, support, header("Idempotency-Key", "ful-1")).want(t, 201)
		first.JSON(t, &f)
		if f.Order.Status != "fulfilling" || len(f.Fulfillment.Lines) != 1 || f.Fulfillment.Lines[0].LineID != line || f.Fulfillment.Lines[0].Quantity != 1 {
			t.Fatalf("first fulfillment %+v", f)
		}
		if again := e.do("POST", base+"/fulfillments", body, support, header("Idempotency-Key", "ful-1")).want(t, 201); string(again.Body) != string(first.Body) {
			t.Fatalf("replay %s", again.Body)
		}
		// East has nothing left; something went out, so cancel is refused.
		e.do("POST", base+"/fulfillments", map[string]any{"warehouse": "east"}, support).wantProblem(t, 409, "nothing-to-fulfill")
		e.do("POST", base+"/cancel", nil, support).wantProblem(t, 409, "order-fulfilled")

		e.do("POST", base+"/fulfillments", map[string]any{"warehouse": "west", "lines": []map[string]any{{"line_id": line, "quantity": 1}}}, support).want(t, 201).JSON(t, &f)
		if f.Order.Status != "fulfilling" {
			t.Fatalf("second fulfillment %+v", f.Order)
		}
		e.do("POST", base+"/fulfillments", map[string]any{"warehouse": "west", "tracking_number": "1Z998"}, support).want(t, 201).JSON(t, &f)
		if f.Order.Status != "shipped" || f.Fulfillment.Lines[0].Quantity != 1 {
			t.Fatalf("last fulfillment %+v", f)
		}
		e.do("POST", base+"/fulfillments", map[string]any{"warehouse": "west"}, support).wantProblem(t, 409, "invalid-transition")
		var shown struct {
			Fulfillments []struct {
				Warehouse      string
				TrackingNumber string `json:"tracking_number"`
			}
		}
		e.do("GET", base, nil, support).want(t, 200).JSON(t, &shown)
		if fs := shown.Fulfillments; len(fs) != 3 || fs[0].Warehouse != "east" || fs[0].TrackingNumber != "1Z999" || fs[2].TrackingNumber != "1Z998" {
			t.Fatalf("fulfillments on the order %+v", fs)
		}

		var d opsOrder
		e.do("POST", base+"/deliver", nil, support).want(t, 200).JSON(t, &d)
		if d.Status != "delivered" {
			t.Fatalf("delivered %+v", d)
		}
		e.do("POST", base+"/deliver", nil, support).wantProblem(t, 409, "invalid-transition")

		// Returns: 2 units into west with a refund of 2/3 of the line total.
		type returned struct {
			Return struct {
				ID     string
				Refund struct {
					Amount    int64
					Formatted string
				}
			}
			Order opsOrder
		}
		stock := e.stockIn(t)
		before := e.gatewayCounts(t)
		lineTotal := o.Lines[0].Total.Amount
		var r returned
		e.do("POST", base+"/returns", map[string]any{"warehouse": "west", "lines": []map[string]any{{"line_id": line, "quantity": 2}}, "refund": true, "reason": "too small"},
			support).want(t, 201).JSON(t, &r)
		if want := lineTotal * 2 / 3; r.Return.Refund.Amount != want || r.Order.Refunded.Amount != want || r.Order.RefundStatus != "partially_refunded" {
			t.Fatalf("return %+v, want refund %d", r, want)
		}
		if got := e.stockIn(t); got["west"] != stock["west"]+2 || got["east"] != stock["east"] {
			t.Fatalf("stock after the return %v, before %v", got, stock)
		}
		if after := e.gatewayCounts(t); after.Refunds != before.Refunds+1 {
			t.Fatalf("gateway refunds %d → %d", before.Refunds, after.Refunds)
		}
		e.do("POST", base+"/returns", map[string]any{"warehouse": "west", "lines": []map[string]any{{"line_id": line, "quantity": 2}}}, support).
			wantProblem(t, 409, "return-exceeds-shipped")
		e.do("POST", base+"/returns", map[string]any{"warehouse": "west", "lines": []map[string]any{}}, support).wantProblem(t, 400, "validation")
		e.do("POST", base+"/returns", map[string]any{"warehouse": "west", "lines": []map[string]any{{"line_id": line, "quantity": -1}}}, support).wantProblem(t, 400, "validation")
		// The last unit, refunded: the line total comes back exactly.
		e.do("POST", base+"/returns", map[string]any{"warehouse": "east", "lines": []map[string]any{{"line_id": line, "quantity": 1}}, "refund": true},
			support).want(t, 201).JSON(t, &r)
		if r.Return.Refund.Amount != lineTotal-lineTotal*2/3 || r.Order.Refunded.Amount != lineTotal {
			t.Fatalf("last return %+v, line total %d", r, lineTotal)
		}
		if got := e.stockIn(t); got["east"] != stock["east"]+1 {
			t.Fatalf("stock after the last return %v", got)
		}

		// Every step is in the outbox, in order.
		var evs struct{ Data []struct{ Type string } }
		e.do("GET", "/v1/admin/events?subject="+o.ID, nil, support).want(t, 200).JSON(t, &evs)
		var types []string
		for _, ev := range evs.Data {
			types = append(types, ev.Type)
		}
		if got, want := strings.Join(types, " "), "order.created order.paid order.fulfilled order.fulfilled order.fulfilled order.shipped order.delivered "+
			"order.returned order.refunded order.returned order.refunded"; got != want {
			t.Fatalf("events\n got %s\nwant %s", got, want)
		}

		// A return is refused on an order that did not ship.
		e.do("POST", "/v1/admin/stock/receive", map[string]any{"warehouse": "west", "sku": "DROP-1", "quantity": 1}, as(e.keys[staff.RoleAdmin])).want(t, 200)
		p := e.buy(t, variant, 1, "bo@example.com")
		e.do("POST", "/v1/admin/orders/"+p.ID+"/returns", map[string]any{"warehouse": "west", "lines": []map[string]any{{"line_id": p.Lines[0].ID, "quantity": 1}}}, support).
			wantProblem(t, 409, "order-not-shipped")
	})
}

// TestOrderRefunds: partial and full refunds with their checks, and 100
// concurrent refunds of 150 on a 10,000 order: exactly 66 succeed.
func TestOrderRefunds(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		e.dropShop(t, 0, map[string]int{"sp": 1})
		admin := as(e.keys[staff.RoleAdmin])
		var p struct{ Variants []struct{ ID string } }
		e.do("POST", "/v1/admin/products", map[string]any{"title": "Big Tee", "status": "active",
			"variants": []map[string]any{{"sku": "BIG-1", "prices": map[string]any{
				"br": map[string]any{"amount": map[string]any{"amount": 8010, "currency": "BRL"}},
			}}}}, admin).want(t, 201).JSON(t, &p)
		e.do("POST", "/v1/admin/stock/receive", map[string]any{"warehouse": "sp", "sku": "BIG-1", "quantity": 10}, admin).want(t, 200)
		buy := func(email string) opsOrder {
			var o opsOrder
			e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "br", p.Variants[0].ID, 1), email, "tok_visa", spAddress)).want(t, 201).JSON(t, &o)
			if o.Status != "paid" || o.Total.Amount != 10000 {
				t.Fatalf("order %+v, want a paid R$ 100,00", o)
			}
			return o
		}
		support := as(e.keys[staff.RoleSupport])
		money := func(amount int64, currency string) map[string]any {
			return map[string]any{"amount": map[string]any{"amount": amount, "currency": currency}, "reason": "goodwill"}
		}

		o := buy("ana@example.com")
		path := "/v1/admin/orders/" + o.ID + "/refunds"
		e.do("POST", path, money(100, "USD"), support).wantProblem(t, 400, "validation")
		e.do("POST", path, money(-1, "BRL"), support).wantProblem(t, 400, "validation")
		e.do("POST", path, money(0, "BRL"), support).wantProblem(t, 400, "validation")
		e.do("POST", path, map[string]any{"amount": "10"}, support).want(t, 400)
		e.do("POST", path, map[string]any{}, support).wantProblem(t, 400, "validation")
		e.do("POST", path, money(10001, "BRL"), support).wantProblem(t, 422, "refund-exceeds-captured")
		e.do("POST", path, money(100, "BRL"), as(e.keys[staff.RoleReadOnly])).wantProblem(t, 403, "insufficient-role")
		e.do("POST", "/v1/admin/orders/ord_nope/refunds", money(100, "BRL"), support).wantProblem(t, 404, "order-not-found")

		var r opsOrder
		first := e.do("POST", path, money(2500, "BRL"), support, header("Idempotency-Key", "ref-1")).want(t, 201)
		first.JSON(t, &r)
		if r.Refunded.Amount != 2500 || r.RefundStatus != "partially_refunded" || r.Status != "paid" {
			t.Fatalf("partial refund %+v", r)
		}
		if again := e.do("POST", path, money(2500, "BRL"), support, header("Idempotency-Key", "ref-1")).want(t, 201); string(again.Body) != string(first.Body) ||
			again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay %s", again.Body)
		}
		e.do("POST", path, money(7501, "BRL"), support).wantProblem(t, 422, "refund-exceeds-captured")
		e.do("POST", path, money(7500, "BRL"), support).want(t, 201).JSON(t, &r)
		if r.Refunded.Amount != 10000 || r.RefundStatus != "refunded" {
			t.Fatalf("full refund %+v", r)
		}
		// A refunded order can still be canceled: the stock comes back, no more money moves.
		refunds := e.gatewayCounts(t).Refunds
		e.do("POST", "/v1/admin/orders/"+o.ID+"/cancel", nil, support).want(t, 200).JSON(t, &r)
		if r.Status != "canceled" || r.Refunded.Amount != 10000 || e.gatewayCounts(t).Refunds != refunds {
			t.Fatalf("cancel of a refunded order %+v", r)
		}

		// 100 concurrent refunds of 150 on 10,000: 66 fit.
		o = buy("bo@example.com")
		path = "/v1/admin/orders/" + o.ID + "/refunds"
		statuses := map[int]int{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				res := e.do("POST", path, money(150, "BRL"), support)
				mu.Lock()
				defer mu.Unlock()
				statuses[res.Status]++
				if res.Status == 422 && res.Problem() != "refund-exceeds-captured" {
					statuses[-1]++
				}
			}()
		}
		close(start)
		wg.Wait()
		if statuses[201] != 66 || statuses[422] != 34 || len(statuses) != 2 {
			t.Fatalf("statuses %v; want 66 × 201 and 34 × 422", statuses)
		}
		e.do("GET", "/v1/admin/orders/"+o.ID, nil, support).want(t, 200).JSON(t, &r)
		if r.Refunded.Amount != 66*150 || r.RefundStatus != "partially_refunded" {
			t.Fatalf("after the stampede %+v", r)
		}
		if n := e.gatewayCounts(t).Refunds; n != refunds+66 {
			t.Fatalf("gateway refunds %d, want %d", n, refunds+66)
		}
	})
}

// TestOrderOpsConcurrent: concurrent fulfillments and returns of one order
// serialize on the order: 30 fulfillments of everything → exactly one; 50
// returns of one unit with refunds on a 3-unit order → exactly 3, the stock
// up by exactly 3 and exactly the line total refunded.
func TestOrderOpsConcurrent(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		variant := e.dropShop(t, 0, map[string]int{"west": 3})
		o := e.buy(t, variant, 3, "ana@example.com")
		support := as(e.keys[staff.RoleSupport])
		base := "/v1/admin/orders/" + o.ID
		stampede := func(n int, path string, body any) map[string]int {
			out := map[string]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r := e.do("POST", path, body, support)
					mu.Lock()
					defer mu.Unlock()
					key := fmt.Sprint(r.Status)
					if r.Status >= 400 {
						key += " " + r.Problem()
					}
					out[key]++
				}()
			}
			close(start)
			wg.Wait()
			return out
		}
		got := stampede(30, base+"/fulfillments", map[string]any{"warehouse": "west"})
		if got["201"] != 1 || got["409 invalid-transition"] != 29 || len(got) != 2 {
			t.Fatalf("fulfillment stampede %v", got)
		}
		got = stampede(50, base+"/returns", map[string]any{"warehouse": "west", "lines": []map[string]any{{"line_id": o.Lines[0].ID, "quantity": 1}}, "refund": true})
		if got["201"] != 3 || got["409 return-exceeds-shipped"] != 47 || len(got) != 2 {
			t.Fatalf("return stampede %v", got)
		}
		if onHand, reserved := e.stockOf(t); onHand != 3 || reserved != 0 {
			t.Fatalf("on hand %d, reserved %d; want 3 and 0", onHand, reserved)
		}
		var r opsOrder
		e.do("GET", "/v1/admin/orders/"+o.ID, nil, support).want(t, 200).JSON(t, &r)
		if r.Refunded.Amount != o.Lines[0].Total.Amount || r.Status != "shipped" {
			t.Fatalf("after the returns %+v; line total %d", r, o.Lines[0].Total.Amount)
		}
	})
}
