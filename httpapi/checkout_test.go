package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

// dropShop sets up a drop: warehouses east (priority 1, us) and west
// (priority 2, us and ca) and sp (br), a tee priced in us and br with an
// optional purchase limit, and stock. It returns the variant ID.
func (e *env) dropShop(t *testing.T, limit int, stock map[string]int) string {
	t.Helper()
	admin := as(e.keys[staff.RoleAdmin])
	for _, w := range []map[string]any{
		{"code": "east", "name": "East", "markets": []string{"us"}, "priority": 1},
		{"code": "west", "name": "West", "markets": []string{"us", "ca"}, "priority": 2},
		{"code": "sp", "name": "São Paulo", "markets": []string{"br"}, "priority": 1},
	} {
		e.do("POST", "/v1/admin/warehouses", w, admin).want(t, 201)
	}
	var p struct{ Variants []struct{ ID string } }
	e.do("POST", "/v1/admin/products", map[string]any{"title": "Drop Tee", "status": "active", "purchase_limit": limit,
		"variants": []map[string]any{{"sku": "DROP-1", "prices": map[string]any{
			"us": map[string]any{"amount": map[string]any{"amount": 2400, "currency": "USD"}},
			"br": map[string]any{"amount": map[string]any{"amount": 12990, "currency": "BRL"}},
		}}}}, admin).want(t, 201).JSON(t, &p)
	for wh, q := range stock {
		e.do("POST", "/v1/admin/stock/receive", map[string]any{"warehouse": wh, "sku": "DROP-1", "quantity": q}, admin).want(t, 200)
	}
	return p.Variants[0].ID
}

// cart makes a cart in a market with quantity units of a variant.
func (e *env) cart(t *testing.T, market, variant string, quantity int, opts ...opt) string {
	t.Helper()
	var c struct{ ID string }
	e.do("POST", "/v1/carts", map[string]string{"market": market}, opts...).want(t, 201).JSON(t, &c)
	e.do("POST", "/v1/carts/"+c.ID+"/lines", map[string]any{"variant_id": variant, "quantity": quantity}, opts...).want(t, 200)
	return c.ID
}

var (
	nyAddress = map[string]string{"name": "Ana", "line1": "1 Main St", "city": "New York", "region": "NY", "postal_code": "10001", "country": "US"}
	spAddress = map[string]string{"name": "Bia", "line1": "Av. Paulista 1000", "city": "São Paulo", "region": "SP", "postal_code": "01310-100", "country": "BR"}
)

func checkoutBody(cartID, email, token string, shipTo map[string]string) map[string]any {
	return map[string]any{"cart_id": cartID, "email": email, "ship_to": shipTo, "payment": map[string]string{"token": token}}
}

type orderBody struct {
	ID, Status string
	Total      struct {
		Amount    int64
		Formatted string
	}
	Tax struct{ Amount int64 }
}

// stockOf returns on hand and reserved of DROP-1 over all warehouses.
func (e *env) stockOf(t *testing.T) (onHand, reserved int64) {
	t.Helper()
	var page struct {
		Data []struct {
			OnHand   int64 `json:"on_hand"`
			Reserved int64 `json:"reserved"`
		}
	}
	e.do("GET", "/v1/admin/stock?sku=DROP-1", nil, as(e.keys[staff.RoleAdmin])).want(t, 200).JSON(t, &page)
	for _, r := range page.Data {
		onHand, reserved = onHand+r.OnHand, reserved+r.Reserved
	}
	return onHand, reserved
}

// charges counts the test gateway's captured charges: real money taken.
func (e *env) charges(t *testing.T) int {
	t.Helper()
	var body struct{ Counts testgateway.Counts }
	e.do("GET", "/v1/admin/test-gateway/charges?limit=1", nil, as(e.keys[staff.RoleAdmin])).want(t, 200).JSON(t, &body)
	return body.Counts.Captured
}

func TestCheckout(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		variant := e.dropShop(t, 0, map[string]int{"east": 1, "west": 5, "sp": 3})

		// A guest in New York buys 2: $48.00 + NY 4% ($1.92) + $5.99 shipping.
		var o orderBody
		r := e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, 2), "guest@example.com", "tok_visa", nyAddress)).want(t, 201)
		r.JSON(t, &o)
		if o.Status != "paid" || o.Total.Amount != 5591 || o.Total.Formatted != "$55.91" || o.Tax.Amount != 192 || r.Header.Get("Location") != "/v1/orders/"+o.ID {
			t.Fatalf("US order %+v", o)
		}
		// The line was split: 1 from east, 1 from west; both now sold.
		if onHand, reserved := e.stockOf(t); onHand != 7 || reserved != 0 {
			t.Fatalf("after the US order: on hand %d, reserved %d; want 7 and 0", onHand, reserved)
		}

		// A customer in Brazil: R$ 129,90 tax included, R$ 19,90 shipping.
		id, tok := e.register("bia@example.com")
		r = e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "br", variant, 1, as(tok)), "", "tok_visa", spAddress), as(tok)).want(t, 201)
		r.JSON(t, &o)
		if o.Status != "paid" || o.Total.Amount != 14980 || o.Tax.Amount == 0 {
			t.Fatalf("BR order %+v", o)
		}
		var mine struct {
			Data []struct{ ID, CustomerID string }
		}
		e.do("GET", "/v1/orders", nil, as(tok)).want(t, 200).JSON(t, &mine)
		if len(mine.Data) != 1 || mine.Data[0].ID != o.ID {
			t.Fatalf("customer %s orders %+v", id, mine)
		}

		// A decline cancels the order and gives the stock back.
		r = e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, 3), "declined@example.com", "tok_declined", nyAddress))
		if r.Status != 402 {
			t.Fatalf("declined checkout: %d %s", r.Status, r.Body)
		}
		if onHand, reserved := e.stockOf(t); onHand != 6 || reserved != 0 {
			t.Fatalf("after a decline: on hand %d, reserved %d; want 6 and 0", onHand, reserved)
		}
		var canceled struct{ Data []struct{ Status string } }
		e.do("GET", "/v1/admin/orders?email=declined@example.com", nil, as(e.keys[staff.RoleSupport])).want(t, 200).JSON(t, &canceled)
		if len(canceled.Data) != 1 || canceled.Data[0].Status != "canceled" {
			t.Fatalf("declined order %+v", canceled)
		}

		// A retry with the same Idempotency-Key returns the first order and charges once.
		body := checkoutBody(e.cart(t, "us", variant, 1), "retry@example.com", "tok_visa", nyAddress)
		before := e.charges(t)
		first := e.do("POST", "/v1/checkouts", body, header("Idempotency-Key", "co-1")).want(t, 201)
		again := e.do("POST", "/v1/checkouts", body, header("Idempotency-Key", "co-1")).want(t, 201)
		if string(first.Body) != string(again.Body) || e.charges(t) != before+1 {
			t.Fatalf("replay: charges %d → %d", before, e.charges(t))
		}

		// Out of stock, card numbers, bad input.
		e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, 6), "many@example.com", "tok_visa", nyAddress)).wantProblem(t, 409, "out-of-stock")
		card := checkoutBody(e.cart(t, "us", variant, 1), "card@example.com", "tok_visa", nyAddress)
		card["payment"] = map[string]string{"token": "4242 4242 4242 4242"}
		e.do("POST", "/v1/checkouts", card).wantProblem(t, 400, "card-number-rejected")
		e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, 1), "", "tok_visa", nyAddress)).wantProblem(t, 400, "validation")
		e.do("POST", "/v1/checkouts", checkoutBody(e.cart(t, "us", variant, 1), "x@example.com", "tok_visa", spAddress)).wantProblem(t, 400, "validation")
		e.do("POST", "/v1/checkouts", checkoutBody("crt_nope", "x@example.com", "tok_visa", nyAddress)).wantProblem(t, 404, "cart-not-found")
		if onHand, reserved := e.stockOf(t); onHand != 5 || reserved != 0 {
			t.Fatalf("at the end: on hand %d, reserved %d; want 5 and 0", onHand, reserved)
		}
	})
}

// TestCheckoutIdempotencyRace: 50 concurrent checkouts of one cart with the
// same Idempotency-Key place one order and charge once; every other request
// is told the key is in use (409) or replays the first response. A key
// whose checkout failed before writing anything (out of stock) keeps
// nothing, so its retry runs afresh once stock arrives; a key whose order
// was written and declined replays the decline.
func TestCheckoutIdempotencyRace(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		variant := e.dropShop(t, 0, map[string]int{"east": 5})
		body := checkoutBody(e.cart(t, "us", variant, 1), "twin@example.com", "tok_visa", nyAddress)
		const n = 50
		var wg sync.WaitGroup
		statuses := make([]int, n)
		bodies := make([]string, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.do("POST", "/v1/checkouts", body, header("Idempotency-Key", "twin"))
				statuses[i], bodies[i] = r.Status, string(r.Body)
			}()
		}
		wg.Wait()
		var created, inUse int
		var first string
		for i, st := range statuses {
			switch {
			case st == 201 && (first == "" || first == bodies[i]):
				created, first = created+1, bodies[i]
			case st == 409 && strings.Contains(bodies[i], "idempotency-key-in-use"):
				inUse++
			default:
				t.Errorf("request %d: %d %s", i, st, bodies[i])
			}
		}
		if created+inUse != n || created == 0 || e.charges(t) != 1 {
			t.Fatalf("%d created (one body), %d in use, %d charges; want %d in all and 1 charge", created, inUse, e.charges(t), n)
		}
		if onHand, _ := e.stockOf(t); onHand != 4 {
			t.Fatalf("on hand %d, want 4", onHand)
		}

		big := checkoutBody(e.cart(t, "us", variant, 6), "big@example.com", "tok_visa", nyAddress)
		e.do("POST", "/v1/checkouts", big, header("Idempotency-Key", "big")).wantProblem(t, 409, "out-of-stock")
		e.do("POST", "/v1/admin/stock/receive", map[string]any{"warehouse": "east", "sku": "DROP-1", "quantity": 3}, as(e.keys[staff.RoleAdmin])).want(t, 200)
		e.do("POST", "/v1/checkouts", big, header("Idempotency-Key", "big")).want(t, 201)

		declined := checkoutBody(e.cart(t, "us", variant, 1), "no@example.com", "tok_declined", nyAddress)
		e.do("POST", "/v1/checkouts", declined, header("Idempotency-Key", "no")).wantProblem(t, 402, "card-declined")
		r := e.do("POST", "/v1/checkouts", declined, header("Idempotency-Key", "no"))
		if r.Status != 402 || r.Header.Get("Idempotent-Replayed") != "true" || e.charges(t) != 2 {
			t.Fatalf("declined replay: %d %s, replayed %q, %d charges", r.Status, r.Body, r.Header.Get("Idempotent-Replayed"), e.charges(t))
		}
	})
}

// TestCheckoutNoOversell: 500 concurrent checkouts of one unit for a SKU
// with 100 units split over two warehouses sell exactly 100, charge exactly
// 100 times, and every loser gets out-of-stock.
func TestCheckoutNoOversell(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		variant := e.dropShop(t, 0, map[string]int{"east": 60, "west": 40})
		results := e.stampede(t, 500, func(i int) (string, []opt) {
			return e.cart(t, "us", variant, 1), nil
		}, func(i int) string { return fmt.Sprintf("buyer%d@example.com", i) })
		if results[201] != 100 || results[409] != 400 || len(results) != 2 {
			t.Fatalf("statuses %v; want 100 × 201 and 400 × 409", results)
		}
		if onHand, reserved := e.stockOf(t); onHand != 0 || reserved != 0 {
			t.Fatalf("on hand %d, reserved %d; want 0 and 0", onHand, reserved)
		}
		if n := e.charges(t); n != 100 {
			t.Fatalf("%d charges, want 100", n)
		}
	})
}

// TestCheckoutLimits: a discount code limited to 50 uses, then a purchase
// limit of 1 per customer, both exact under 500 and 200 concurrent checkouts.
func TestCheckoutLimits(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		variant := e.dropShop(t, 1, map[string]int{"east": 1000})
		e.do("POST", "/v1/admin/discounts", map[string]any{"code": "LAUNCH50", "kind": "percent", "percent": "10", "usage_limit": 50},
			as(e.keys[staff.RoleAdmin])).want(t, 201)
		results := e.stampede(t, 500, func(i int) (string, []opt) {
			c := e.cart(t, "us", variant, 1)
			e.do("POST", "/v1/carts/"+c+"/discounts", map[string]string{"code": "LAUNCH50"}).want(t, 200)
			return c, nil
		}, func(i int) string { return fmt.Sprintf("guest%d@example.com", i) })
		if results[201] != 50 || results[409] != 450 || len(results) != 2 {
			t.Fatalf("discount stampede statuses %v; want 50 × 201 and 450 × 409", results)
		}

		// 20 customers with 10 carts each, limit 1 per customer: 20 orders.
		tokens := make([]string, 20)
		for i := range tokens {
			_, tokens[i] = e.register(fmt.Sprintf("fan%d@example.com", i))
		}
		results = e.stampede(t, 200, func(i int) (string, []opt) {
			o := []opt{as(tokens[i%20])}
			return e.cart(t, "us", variant, 1, o...), o
		}, func(int) string { return "" })
		if results[201] != 20 || results[409] != 180 || len(results) != 2 {
			t.Fatalf("purchase-limit stampede statuses %v; want 20 × 201 and 180 × 409", results)
		}
		if onHand, _ := e.stockOf(t); onHand != 1000-50-20 {
			t.Fatalf("on hand %d, want %d", onHand, 1000-50-20)
		}
		if n := e.charges(t); n != 70 {
			t.Fatalf("%d charges, want 70", n)
		}
	})
}

// stampede prepares n carts, then checks them all out at once, and counts
// the statuses. Every 409 must be a known sell-out or limit problem.
func (e *env) stampede(t *testing.T, n int, prepare func(i int) (string, []opt), email func(i int) string) map[int]int {
	t.Helper()
	carts := make([]string, n)
	opts := make([][]opt, n)
	for i := range carts {
		carts[i], opts[i] = prepare(i)
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range carts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r := e.do("POST", "/v1/checkouts", checkoutBody(carts[i], email(i), "tok_visa", nyAddress), opts[i]...)
			statuses[i] = r.Status
			if r.Status == 409 {
				switch p := r.Problem(); p {
				case "out-of-stock", "discount-exhausted", "purchase-limit-reached":
				default:
					t.Errorf("409 %s: %s", p, r.Body)
				}
			} else if r.Status != 201 {
				var b json.RawMessage = r.Body
				t.Errorf("status %d: %s", r.Status, b)
			}
		}()
	}
	close(start)
	wg.Wait()
	// A batch that fails falls back to one transaction per checkout, with
	// the same outcomes: only this count tells that batching broke.
	if n := e.svc.checkout.FailedBatches(); n != 0 {
		t.Errorf("%d batches of checkouts failed and were redone one by one", n)
	}
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	return counts
}
