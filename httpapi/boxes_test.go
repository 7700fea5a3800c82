package httpapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

type boxRunOut struct {
	ID     string
	Status string
	Report struct {
		Subscribers int
		Boxes       int
		Objective   float64
		Bound       float64
		Gap         float64
		Greedy      float64 `json:"greedy_objective"`
		Unfilled    []struct{ Subscriber, Reason string }
		Usage       []struct {
			VariantID string `json:"variant_id"`
			Used      int
			Stock     int
		}
	}
}

type boxOutJSON struct {
	ID             string
	SubscriptionID string `json:"subscription_id"`
	InvoiceID      string `json:"invoice_id"`
	OrderID        string `json:"order_id"`
	Status         string
	Items          []struct {
		VariantID string `json:"variant_id"`
		ProductID string `json:"product_id"`
		SKU       string
		Score     float64
	}
}

// boxShop sets up a box business in the us market: warehouses east and
// west, six products in four categories (BX-1 suits dry skin and is
// scarce), and a box plan of two products. It returns the plan's ID and
// the variant IDs by SKU.
func (e *env) boxShop(t *testing.T) (string, map[string]string) {
	t.Helper()
	admin := as(e.keys[staff.RoleAdmin])
	for _, w := range []map[string]any{
		{"code": "east", "name": "East", "markets": []string{"us"}, "priority": 1},
		{"code": "west", "name": "West", "markets": []string{"us"}, "priority": 2},
	} {
		e.do("POST", "/v1/admin/warehouses", w, admin).want(t, 201)
	}
	products := []struct {
		sku, category, brand, skin string
		stock                      map[string]int
	}{
		{"BX-1", "skincare", "glow", "dry", map[string]int{"east": 2}},
		{"BX-2", "skincare", "dew", "oily", map[string]int{"east": 10, "west": 10}},
		{"BX-3", "makeup", "glow", "dry", map[string]int{"east": 10}},
		{"BX-4", "makeup", "matte", "oily", map[string]int{"west": 10}},
		{"BX-5", "hair", "curl", "", map[string]int{"east": 10}},
		{"BX-6", "body", "dew", "", map[string]int{"west": 10}},
	}
	variants := map[string]string{}
	for i, p := range products {
		attrs := map[string]any{"category": []string{p.category}, "brand": []string{p.brand}}
		if p.skin != "" {
			attrs["skin_types"] = []string{p.skin}
		}
		out := e.createProduct(t, map[string]any{"title": "Box item " + p.sku, "status": "active", "attributes": attrs,
			"variants": []map[string]any{{"sku": p.sku, "prices": map[string]any{
				"us": map[string]any{"amount": map[string]any{"amount": 1000 + 500*i, "currency": "USD"}}}}}})
		variants[p.sku] = out.Variants[0].ID
		for wh, q := range p.stock {
			e.do("POST", "/v1/admin/stock/receive", map[string]any{"warehouse": wh, "sku": p.sku, "quantity": q}, admin).want(t, 200)
		}
	}
	plan := boxPlan("Duo Box", 2900, 0)
	plan["box_size"] = 2
	return e.createPlan(t, plan).ID, variants
}

// boxStock returns on hand and reserved over every BX SKU and warehouse.
func (e *env) boxStock(t *testing.T) (onHand, reserved int64) {
	t.Helper()
	for i := 1; i <= 6; i++ {
		var page struct {
			Data []struct {
				OnHand   int64 `json:"on_hand"`
				Reserved int64 `json:"reserved"`
			}
		}
		e.do("GET", fmt.Sprintf("/v1/admin/stock?sku=BX-%d", i), nil, as(e.keys[staff.RoleAdmin])).want(t, 200).JSON(t, &page)
		for _, r := range page.Data {
			onHand, reserved = onHand+r.OnHand, reserved+r.Reserved
		}
	}
	return onHand, reserved
}

func TestBoxAllocation(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin, support, reader := as(e.keys[staff.RoleAdmin]), as(e.keys[staff.RoleSupport]), as(e.keys[staff.RoleReadOnly])
		plan, variants := e.boxShop(t)
		const onHand = 2 + 20 + 10 + 10 + 10 + 10

		// Five subscribers pay; a sixth's card declines. Three have dry
		// skin; one of them excludes the brand "glow".
		type member struct {
			token, sub string
		}
		var members []member
		for i := range 6 {
			_, tok := e.register(fmt.Sprintf("box%d@example.com", i))
			profile := map[string]any{"skin_type": "oily"}
			if i < 3 {
				profile = map[string]any{"skin_type": "dry"}
			}
			if i == 2 {
				profile["excluded_brands"] = []string{"glow"}
			}
			e.do("PUT", "/v1/me/profile", profile, as(tok)).want(t, 200)
			body := subscribeBody(plan)
			if i == 5 {
				body["payment_method"] = map[string]any{"token": "tok_declined"}
			}
			var s subOut
			e.do("POST", "/v1/subscriptions", body, as(tok)).want(t, 201).JSON(t, &s)
			members = append(members, member{tok, s.ID})
		}
		if run := e.runBilling(t, testStart.Add(time.Hour)); run.Charged != 5 || run.Declined != 1 {
			t.Fatalf("billing run %+v", run)
		}
		const period = "2026-11" // the first period starts on 2026-11-23 in New York

		// The pool: every product once; a product without a category and a
		// second variant of a product are refused.
		var items []map[string]any
		for i := 1; i <= 6; i++ {
			items = append(items, map[string]any{"variant_id": variants[fmt.Sprintf("BX-%d", i)], "cost": 300})
		}
		poolPath := "/v1/admin/plans/" + plan + "/pools/" + period
		e.do("GET", poolPath, nil, reader).wantProblem(t, 404, "box-pool-not-found")
		e.do("PUT", poolPath, map[string]any{"items": append(items, items[0])}, admin).wantProblem(t, 400, "validation")
		e.do("PUT", "/v1/admin/plans/"+plan+"/pools/2026-13", map[string]any{"items": items}, admin).wantProblem(t, 400, "validation")
		e.do("PUT", poolPath, map[string]any{"items": items}, reader).want(t, 403)
		e.do("PUT", poolPath, map[string]any{"items": items}, admin).want(t, 200)
		var pool struct{ Items []struct{ SKU string } }
		e.do("GET", poolPath, nil, reader).want(t, 200).JSON(t, &pool)
		if len(pool.Items) != 6 || pool.Items[0].SKU != "BX-1" {
			t.Fatalf("pool %+v", pool)
		}

		// A dry run reports and writes nothing.
		runBody := map[string]any{"plan_id": plan, "period": period, "market": "us", "seed": 7}
		dry := map[string]any{"plan_id": plan, "period": period, "market": "us", "seed": 7, "dry_run": true}
		var run boxRunOut
		e.do("POST", "/v1/admin/box-runs", dry, admin).want(t, 200).JSON(t, &run)
		if run.ID != "" || run.Status != "dry_run" || run.Report.Subscribers != 5 || run.Report.Boxes != 5 || len(run.Report.Unfilled) != 0 ||
			run.Report.Objective <= 0 || run.Report.Bound < run.Report.Objective {
			t.Fatalf("dry run %+v", run)
		}
		if oh, res := e.boxStock(t); oh != onHand || res != 0 {
			t.Fatalf("after a dry run: on hand %d reserved %d", oh, res)
		}

		// The run writes five boxes, each holding two units.
		e.do("POST", "/v1/admin/box-runs", runBody, reader).want(t, 403)
		e.do("POST", "/v1/admin/box-runs", runBody, admin).want(t, 201).JSON(t, reset(&run))
		if run.ID == "" || run.Status != "proposed" || run.Report.Boxes != 5 {
			t.Fatalf("run %+v", run)
		}
		if oh, res := e.boxStock(t); oh != onHand || res != 10 {
			t.Fatalf("after the run: on hand %d reserved %d", oh, res)
		}
		e.do("POST", "/v1/admin/box-runs", runBody, admin).wantProblem(t, 409, "box-run-pending")

		var page struct{ Data []boxOutJSON }
		e.do("GET", "/v1/admin/box-runs/"+run.ID+"/boxes", nil, support).want(t, 200).JSON(t, &page)
		if len(page.Data) != 5 {
			t.Fatalf("boxes %+v", page.Data)
		}
		bx1 := 0
		for _, b := range page.Data {
			if len(b.Items) != 2 || b.Items[0].ProductID == b.Items[1].ProductID || b.Status != "allocated" || b.OrderID != "" {
				t.Fatalf("box %+v", b)
			}
			cat := map[string]bool{}
			for _, it := range b.Items {
				// BX-1/BX-2 are skincare, BX-3/BX-4 makeup: one of each at most.
				c := map[string]string{"BX-1": "s", "BX-2": "s", "BX-3": "m", "BX-4": "m", "BX-5": "h", "BX-6": "b"}[it.SKU]
				if cat[c] {
					t.Fatalf("box %+v has two items of one category", b)
				}
				cat[c] = true
				if it.SKU == "BX-1" {
					bx1++
				}
				if b.SubscriptionID == members[2].sub && (it.SKU == "BX-1" || it.SKU == "BX-3") {
					t.Fatalf("box %+v holds the excluded brand", b)
				}
			}
		}
		if bx1 != 2 {
			t.Fatalf("BX-1 (2 in stock, wanted by three) is in %d boxes, want 2", bx1)
		}

		// Subscribers see their own upcoming box; another's is 404.
		var mine struct{ Data []boxOutJSON }
		e.do("GET", "/v1/subscriptions/"+members[0].sub+"/boxes", nil, as(members[0].token)).want(t, 200).JSON(t, &mine)
		if len(mine.Data) != 1 || mine.Data[0].Status != "allocated" || len(mine.Data[0].Items) != 2 {
			t.Fatalf("my boxes %+v", mine)
		}
		e.do("GET", "/v1/subscriptions/"+members[0].sub+"/boxes", nil, as(members[1].token)).wantProblem(t, 404, "subscription-not-found")

		// Approval turns each box into the period's paid order and sells its
		// stock; approving again changes nothing.
		e.do("POST", "/v1/admin/box-runs/"+run.ID+"/approve", nil, admin).want(t, 200).JSON(t, reset(&run))
		if run.Status != "approved" {
			t.Fatalf("approved run %+v", run)
		}
		e.do("POST", "/v1/admin/box-runs/"+run.ID+"/approve", nil, admin).want(t, 200)
		e.do("POST", "/v1/admin/box-runs/"+run.ID+"/discard", nil, admin).wantProblem(t, 409, "box-run-closed")
		if oh, res := e.boxStock(t); oh != onHand-10 || res != 0 {
			t.Fatalf("after approval: on hand %d reserved %d", oh, res)
		}
		e.do("GET", "/v1/subscriptions/"+members[0].sub+"/boxes", nil, as(members[0].token)).want(t, 200).JSON(t, reset(&mine))
		b := mine.Data[0]
		if b.Status != "ordered" || b.OrderID == "" {
			t.Fatalf("box after approval %+v", b)
		}
		var o struct {
			ID, Status string
			Total      struct{ Amount int64 }
			Lines      []struct {
				SKU   string
				Total struct{ Amount int64 }
			}
		}
		e.do("GET", "/v1/orders/"+b.OrderID, nil, as(members[0].token)).want(t, 200).JSON(t, &o)
		var inv invoiceOut
		e.do("GET", "/v1/admin/invoices/"+b.InvoiceID, nil, support).want(t, 200).JSON(t, &inv)
		var sum int64
		for _, l := range o.Lines {
			sum += l.Total.Amount
		}
		if o.Status != "paid" || len(o.Lines) != 2 || o.Total.Amount != inv.Total.Amount || sum != inv.Total.Amount ||
			o.Lines[0].SKU != b.Items[0].SKU {
			t.Fatalf("box order %+v, invoice total %d", o, inv.Total.Amount)
		}

		// Running the period again changes nothing.
		e.do("POST", "/v1/admin/box-runs", runBody, admin).want(t, 200).JSON(t, reset(&run))
		if run.Status != "nothing_to_allocate" || run.Report.Subscribers != 0 {
			t.Fatalf("rerun %+v", run)
		}

		// The declined subscriber pays with a new card: a top-up run
		// allocates their box from what is left. Staff discard it first
		// (stock released), then run and approve again.
		visa := map[string]any{"payment_method": map[string]any{"token": "tok_visa", "brand": "visa", "last4": "4242"}}
		e.do("POST", "/v1/subscriptions/"+members[5].sub+"/payment-method", visa, as(members[5].token)).want(t, 200)
		e.do("POST", "/v1/admin/box-runs", runBody, admin).want(t, 201).JSON(t, reset(&run))
		if run.Report.Subscribers != 1 || run.Report.Boxes != 1 {
			t.Fatalf("top-up run %+v", run)
		}
		if _, res := e.boxStock(t); res != 2 {
			t.Fatalf("top-up holds %d units, want 2", res)
		}
		e.do("POST", "/v1/admin/box-runs/"+run.ID+"/discard", nil, admin).want(t, 200).JSON(t, reset(&run))
		if run.Status != "discarded" {
			t.Fatalf("discarded %+v", run)
		}
		if _, res := e.boxStock(t); res != 0 {
			t.Fatalf("after discard %d reserved", res)
		}
		e.do("POST", "/v1/admin/box-runs", runBody, admin).want(t, 201).JSON(t, reset(&run))
		e.do("POST", "/v1/admin/box-runs/"+run.ID+"/approve", nil, admin).want(t, 200)
		if oh, res := e.boxStock(t); oh != onHand-12 || res != 0 {
			t.Fatalf("after the top-up: on hand %d reserved %d", oh, res)
		}
		var runs struct{ Data []boxRunOut }
		e.do("GET", "/v1/admin/box-runs?plan="+plan+"&period="+period, nil, reader).want(t, 200).JSON(t, &runs)
		if len(runs.Data) != 3 || runs.Data[0].Status != "approved" || runs.Data[1].Status != "discarded" || runs.Data[2].Status != "approved" {
			t.Fatalf("runs %+v", runs.Data)
		}
		if got := e.eventTypes(t, run.ID); len(got) != 2 || got[0] != "box_run.proposed" || got[1] != "box_run.approved" {
			t.Fatalf("events of the run: %v", got)
		}
	})
}
