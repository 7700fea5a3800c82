package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/httpapi"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
	"github.com/shopd/shopd/subscription"
)

type planOut struct {
	ID     string
	Name   string
	Status string
	Prices map[string]struct {
		Amount    int64
		Currency  string
		Formatted string
	}
	Items []struct {
		VariantID string `json:"variant_id"`
		SKU       string
		Quantity  int64
	}
}

type subOut struct {
	ID                string
	CustomerID        string `json:"customer_id"`
	PlanID            string `json:"plan_id"`
	Status            string
	Price             struct{ Amount int64 }
	PeriodIndex       int       `json:"period_index"`
	NextPeriod        int       `json:"next_period"`
	NextBillingAt     time.Time `json:"next_billing_at"`
	CurrentPeriodEnd  time.Time `json:"current_period_end"`
	TrialEnd          time.Time `json:"trial_end"`
	PausedUntil       time.Time `json:"paused_until"`
	CancelAtPeriodEnd bool      `json:"cancel_at_period_end"`
	SkipPeriod        *int      `json:"skip_period"`
	PendingPlan       *struct {
		PlanID string `json:"plan_id"`
	} `json:"pending_plan"`
	PaymentMethod map[string]any `json:"payment_method"`
	PlanChange    *struct {
		Effective string
		Net       struct{ Amount int64 }
		Note      string
	} `json:"plan_change"`
}

// reset zeroes v before a response is decoded into it, so that fields the
// response omits do not keep the previous response's values.
func reset[T any](v *T) *T {
	var zero T
	*v = zero
	return v
}

func boxPlan(name string, usd int64, trialDays int) map[string]any {
	return map[string]any{"name": name, "interval": map[string]any{"unit": "month", "count": 1}, "trial_days": trialDays,
		"kind": "box", "box_size": 5, "prices": map[string]any{
			"us": map[string]any{"amount": usd, "currency": "USD"},
			"br": map[string]any{"amount": usd * 4, "currency": "BRL"},
		}}
}

func subscribeBody(plan string) map[string]any {
	return map[string]any{"plan": plan, "market": "us",
		"payment_method": map[string]any{"token": "tok_visa", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
		"ship_to":        map[string]any{"name": "Ana", "line1": "1 Main St", "city": "New York", "region": "ny", "postal_code": "10001", "country": "us"}}
}

func (e *env) createPlan(t *testing.T, body any) planOut {
	t.Helper()
	var p planOut
	e.do("POST", "/v1/admin/plans", body, as(e.keys[staff.RoleAdmin])).want(t, 201).JSON(t, &p)
	return p
}

// fieldsOf returns the field paths of a validation problem.
func fieldsOf(t *testing.T, r *resp) []string {
	t.Helper()
	var p struct{ Errors []struct{ Field string } }
	r.JSON(t, &p)
	var out []string
	for _, f := range p.Errors {
		out = append(out, f.Field)
	}
	return out
}

// eventTypes lists the outbox event types about a subject, oldest first.
func (e *env) eventTypes(t *testing.T, subject string) []string {
	t.Helper()
	es, err := e.db.Events().Events(context.Background(), event.Filter{Subject: subject, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range es {
		out = append(out, ev.Type)
	}
	return out
}

func TestPlansAPI(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin, reader := as(e.keys[staff.RoleAdmin]), as(e.keys[staff.RoleReadOnly])

		// Create: 201 with Location, prices formatted per market.
		r := e.do("POST", "/v1/admin/plans", boxPlan("Glow Box", 2900, 0), admin).want(t, 201)
		var box planOut
		r.JSON(t, &box)
		if r.Header.Get("Location") != "/v1/admin/plans/"+box.ID || !strings.HasPrefix(box.ID, "pln_") || box.Status != "active" ||
			box.Prices["us"].Formatted != "$29.00" || box.Prices["br"].Currency != "BRL" {
			t.Fatalf("created %+v (%s)", box, r.Header.Get("Location"))
		}
		e.do("POST", "/v1/admin/plans", boxPlan("X", 1, 0), reader).wantProblem(t, 403, "insufficient-role")
		e.do("POST", "/v1/admin/plans", boxPlan("X", 1, 0)).wantProblem(t, 401, "unauthorized")

		// A replenishment plan of an existing variant; its SKU is filled in.
		var prod struct{ Variants []struct{ ID string } }
		e.do("POST", "/v1/admin/products", map[string]any{"title": "Serum", "status": "active", "variants": []map[string]any{{"sku": "SER-30",
			"prices": map[string]any{"us": map[string]any{"amount": map[string]any{"amount": 2400, "currency": "USD"}}}}}}, admin).want(t, 201).JSON(t, &prod)
		refill := map[string]any{"name": "Serum refill", "interval": map[string]any{"unit": "week", "count": 6}, "kind": "replenishment",
			"prices": map[string]any{"us": map[string]any{"amount": 4500, "currency": "USD"}},
			"items":  []map[string]any{{"variant_id": prod.Variants[0].ID, "quantity": 2}}}
		rp := e.createPlan(t, refill)
		if len(rp.Items) != 1 || rp.Items[0].SKU != "SER-30" || rp.Items[0].Quantity != 2 {
			t.Fatalf("replenishment plan %+v", rp)
		}

		// Validation: every bad field at once, unknown markets, wrong
		// currencies and unknown variants, each with its problem type.
		bad := boxPlan(" ", -1, 731)
		bad["interval"] = map[string]any{"unit": "month", "count": 25}
		bad["box_size"] = 51
		got := fieldsOf(t, e.do("POST", "/v1/admin/plans", bad, admin).wantProblem(t, 400, "validation"))
		for _, f := range []string{"name", "interval.count", "trial_days", "prices.br.amount", "prices.us.amount", "box_size"} {
			if !slices.Contains(got, f) {
				t.Errorf("no error for %s in %v", f, got)
			}
		}
		p := boxPlan("X", 100, 0)
		p["prices"] = map[string]any{"zz": map[string]any{"amount": 100, "currency": "USD"}}
		e.do("POST", "/v1/admin/plans", p, admin).wantProblem(t, 400, "unknown-market")
		p["prices"] = map[string]any{"br": map[string]any{"amount": 100, "currency": "USD"}}
		if f := fieldsOf(t, e.do("POST", "/v1/admin/plans", p, admin).wantProblem(t, 400, "currency-mismatch")); !slices.Equal(f, []string{"prices.br.currency"}) {
			t.Errorf("currency mismatch fields %v", f)
		}
		refill["items"] = []map[string]any{{"variant_id": "var_00000000000000000000000000", "quantity": 1}}
		e.do("POST", "/v1/admin/plans", refill, admin).wantProblem(t, 400, "unknown-variant")
		p = boxPlan("X", 100, 0)
		p["bogus"] = true
		e.do("POST", "/v1/admin/plans", p, admin).wantProblem(t, 400, "validation")

		// Idempotent create: a replay returns the first plan; the same key
		// with another body is refused.
		first := e.do("POST", "/v1/admin/plans", boxPlan("Mini Box", 1900, 7), admin, header("Idempotency-Key", "plan-1")).want(t, 201)
		again := e.do("POST", "/v1/admin/plans", boxPlan("Mini Box", 1900, 7), admin, header("Idempotency-Key", "plan-1")).want(t, 201)
		if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay differs:\n%s\n%s", first.Body, again.Body)
		}
		e.do("POST", "/v1/admin/plans", boxPlan("Maxi Box", 1900, 7), admin, header("Idempotency-Key", "plan-1")).wantProblem(t, 422, "idempotency-key-reused")
		var mini planOut
		first.JSON(t, &mini)

		// The storefront sees active plans with the market's price only.
		var list struct {
			Data []struct {
				ID     string
				Market string
				Price  struct {
					Amount    int64
					Formatted string
				}
			}
		}
		e.do("GET", "/v1/plans?market=br", nil).want(t, 200).JSON(t, &list)
		if len(list.Data) != 2 || list.Data[0].ID != box.ID || list.Data[0].Market != "br" || list.Data[0].Price.Amount != 11600 {
			t.Fatalf("br plans %+v", list)
		}
		e.do("GET", "/v1/plans", nil).want(t, 200).JSON(t, &list) // the default market, us
		if len(list.Data) != 3 {
			t.Fatalf("us plans %+v", list)
		}
		e.do("GET", "/v1/plans?market=zz", nil).wantProblem(t, 400, "unknown-market")

		// Change and archive: archived plans leave the storefront.
		var upd planOut
		e.do("PATCH", "/v1/admin/plans/"+mini.ID, map[string]any{"name": "Mini Box 2", "status": "archived"}, admin).want(t, 200).JSON(t, &upd)
		if upd.Name != "Mini Box 2" || upd.Status != "archived" {
			t.Fatalf("updated %+v", upd)
		}
		e.do("PATCH", "/v1/admin/plans/"+mini.ID, map[string]any{"interval": map[string]any{"unit": "week", "count": 1}}, admin).wantProblem(t, 400, "validation")
		e.do("PATCH", "/v1/admin/plans/"+mini.ID, map[string]any{"trial_days": 1000}, admin).wantProblem(t, 400, "validation")
		e.do("PATCH", "/v1/admin/plans/"+mini.ID, map[string]any{"prices": map[string]any{"ca": map[string]any{"amount": 1, "currency": "USD"}}}, admin).
			wantProblem(t, 400, "currency-mismatch")
		e.do("GET", "/v1/plans?market=us", nil).want(t, 200).JSON(t, &list)
		if len(list.Data) != 2 {
			t.Fatalf("archived plan still listed: %+v", list)
		}
		var all struct{ Data []planOut }
		e.do("GET", "/v1/admin/plans?status=archived", nil, reader).want(t, 200).JSON(t, &all)
		if len(all.Data) != 1 || all.Data[0].ID != mini.ID {
			t.Fatalf("archived %+v", all)
		}
		e.do("GET", "/v1/admin/plans/"+box.ID, nil, reader).want(t, 200)
		e.do("GET", "/v1/admin/plans/pln_nope", nil, reader).wantProblem(t, 404, "plan-not-found")

		// Delete: a plan without subscriptions goes; one with stays (409).
		_, tok := e.register("ana@example.com")
		e.do("POST", "/v1/subscriptions", subscribeBody(box.ID), as(tok)).want(t, 201)
		e.do("DELETE", "/v1/admin/plans/"+box.ID, nil, admin).wantProblem(t, 409, "plan-in-use")
		e.do("DELETE", "/v1/admin/plans/"+mini.ID, nil, admin).want(t, 204)
		e.do("DELETE", "/v1/admin/plans/"+mini.ID, nil, admin).wantProblem(t, 404, "plan-not-found")
	})
}

func TestSubscriptionsAPI(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		box := e.createPlan(t, boxPlan("Glow Box", 2900, 0))
		deluxe := e.createPlan(t, boxPlan("Deluxe Box", 4900, 0))
		trial := e.createPlan(t, boxPlan("Trial Box", 2900, 14))
		weekly := boxPlan("Weekly Box", 900, 0)
		weekly["interval"] = map[string]any{"unit": "week", "count": 1}
		wk := e.createPlan(t, weekly)
		a, tokA := e.register("a@example.com")
		_, tokB := e.register("b@example.com")
		support := as(e.keys[staff.RoleSupport])

		// Subscribe without a trial: active, first period due now.
		r := e.do("POST", "/v1/subscriptions", subscribeBody(box.ID), as(tokA), header("Idempotency-Key", "sub-1")).want(t, 201)
		var sub subOut
		r.JSON(t, reset(&sub))
		if sub.Status != "active" || sub.CustomerID != a || !sub.NextBillingAt.Equal(testStart) || sub.PeriodIndex != 0 || sub.Price.Amount != 2900 ||
			!sub.CurrentPeriodEnd.Equal(testStart.AddDate(0, 1, 0)) || r.Header.Get("Location") != "/v1/subscriptions/"+sub.ID {
			t.Fatalf("subscribed %+v", sub)
		}
		if _, ok := sub.PaymentMethod["token"]; ok || sub.PaymentMethod["last4"] != "4242" {
			t.Fatalf("payment method shown as %v", sub.PaymentMethod)
		}
		// A replay is the same subscription, not a second one.
		var replay subOut
		e.do("POST", "/v1/subscriptions", subscribeBody(box.ID), as(tokA), header("Idempotency-Key", "sub-1")).want(t, 201).JSON(t, &replay)
		if replay.ID != sub.ID {
			t.Fatalf("replay made %s, first %s", replay.ID, sub.ID)
		}
		e.do("POST", "/v1/subscriptions", subscribeBody(deluxe.ID), as(tokA), header("Idempotency-Key", "sub-1")).wantProblem(t, 422, "idempotency-key-reused")

		// With a trial: trialing, billed first at the trial's end.
		var tr subOut
		e.do("POST", "/v1/subscriptions", subscribeBody(trial.ID), as(tokA)).want(t, 201).JSON(t, reset(&tr))
		if end := testStart.AddDate(0, 0, 14); tr.Status != "trialing" || !tr.TrialEnd.Equal(end) || !tr.NextBillingAt.Equal(end) || tr.PeriodIndex != -1 {
			t.Fatalf("trial %+v", tr)
		}

		// Bad input is a clear problem and stores nothing.
		card := subscribeBody(box.ID)
		card["payment_method"] = map[string]any{"token": "4242 4242 4242 4242"}
		e.do("POST", "/v1/subscriptions", card, as(tokA)).wantProblem(t, 400, "card-number-rejected")
		noAddr := subscribeBody(box.ID)
		noAddr["ship_to"] = map[string]any{"country": "US"}
		noAddr["payment_method"] = map[string]any{"token": ""}
		f := fieldsOf(t, e.do("POST", "/v1/subscriptions", noAddr, as(tokA)).wantProblem(t, 400, "validation"))
		for _, want := range []string{"payment_method.token", "ship_to.name", "ship_to.line1", "ship_to.city"} {
			if !slices.Contains(f, want) {
				t.Errorf("no error for %s in %v", want, f)
			}
		}
		abroad := subscribeBody(box.ID)
		abroad["market"] = "br"
		if f := fieldsOf(t, e.do("POST", "/v1/subscriptions", abroad, as(tokA)).wantProblem(t, 400, "validation")); !slices.Equal(f, []string{"ship_to.country"}) {
			t.Errorf("abroad fields %v", f)
		}
		ca := subscribeBody(box.ID)
		ca["market"], ca["ship_to"].(map[string]any)["country"] = "ca", "CA"
		e.do("POST", "/v1/subscriptions", ca, as(tokA)).wantProblem(t, 400, "plan-not-in-market")
		e.do("PATCH", "/v1/admin/markets/ca", map[string]any{"enabled": false}, as(e.keys[staff.RoleAdmin])).want(t, 200)
		e.do("POST", "/v1/subscriptions", ca, as(tokA)).wantProblem(t, 400, "unknown-market") // a disabled market sells nothing
		e.do("GET", "/v1/plans?market=ca", nil).wantProblem(t, 400, "unknown-market")
		e.do("POST", "/v1/subscriptions", subscribeBody("pln_nope"), as(tokA)).wantProblem(t, 404, "plan-not-found")
		e.do("POST", "/v1/subscriptions", subscribeBody(box.ID)).wantProblem(t, 401, "unauthorized")
		e.do("POST", "/v1/subscriptions", subscribeBody(box.ID), as(e.keys[staff.RoleOwner])).wantProblem(t, 403, "forbidden")

		// Lists and reads: a customer sees only their own; another's is 404
		// for reads and for every action.
		var page struct {
			Data       []subOut
			NextCursor string `json:"next_cursor"`
		}
		e.do("GET", "/v1/subscriptions?limit=1", nil, as(tokA)).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != tr.ID || page.NextCursor != tr.ID {
			t.Fatalf("page 1 %+v", page)
		}
		cursor := page.NextCursor
		page.NextCursor = ""
		e.do("GET", "/v1/subscriptions?limit=1&cursor="+cursor, nil, as(tokA)).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != sub.ID || page.NextCursor != "" {
			t.Fatalf("page 2 %+v", page)
		}
		e.do("GET", "/v1/subscriptions", nil, as(tokB)).want(t, 200).JSON(t, &page)
		if len(page.Data) != 0 {
			t.Fatalf("B sees %d subscriptions", len(page.Data))
		}
		path := "/v1/subscriptions/" + sub.ID
		e.do("GET", path, nil, as(tokA)).want(t, 200)
		e.do("GET", path, nil, as(tokB)).wantProblem(t, 404, "subscription-not-found")
		e.do("GET", "/v1/subscriptions/sub_nope", nil, as(tokA)).wantProblem(t, 404, "subscription-not-found")
		until := testStart.AddDate(0, 1, 10).Format(time.RFC3339)
		for action, body := range map[string]any{
			"pause": map[string]any{"until": until}, "skip": nil, "resume": nil, "cancel": map[string]any{"at_period_end": true},
			"change-plan": map[string]any{"plan": deluxe.ID}, "payment-method": map[string]any{"payment_method": map[string]any{"token": "tok_mastercard"}},
		} {
			e.do("POST", path+"/"+action, body, as(tokB)).wantProblem(t, 404, "subscription-not-found")
		}
		if got := e.eventTypes(t, sub.ID); !slices.Equal(got, []string{"subscription.created"}) {
			t.Fatalf("events after refused actions: %v", got)
		}

		// Pause: until must be within 3 periods; then paused, billing moved.
		e.do("POST", path+"/pause", map[string]any{"until": testStart.AddDate(0, 3, 1).Format(time.RFC3339)}, as(tokA)).wantProblem(t, 400, "validation")
		e.do("POST", path+"/pause", map[string]any{"until": testStart.Add(-time.Hour).Format(time.RFC3339)}, as(tokA)).wantProblem(t, 400, "validation")
		e.do("POST", path+"/pause", map[string]any{}, as(tokA)).wantProblem(t, 400, "validation")
		e.do("POST", path+"/pause", map[string]any{"until": until}, as(tokA)).want(t, 200).JSON(t, reset(&sub))
		if sub.Status != "paused" || sub.PausedUntil.Format(time.RFC3339) != until || !sub.NextBillingAt.Equal(testStart.AddDate(0, 2, 0)) {
			t.Fatalf("paused %+v", sub)
		}
		e.do("POST", path+"/pause", map[string]any{"until": until}, as(tokA)).wantProblem(t, 409, "invalid-transition")
		e.do("POST", path+"/skip", nil, as(tokA)).wantProblem(t, 409, "invalid-transition")
		e.do("POST", path+"/resume", nil, as(tokA)).want(t, 200).JSON(t, reset(&sub))
		if sub.Status != "active" || !sub.PausedUntil.IsZero() || !sub.NextBillingAt.Equal(testStart) {
			t.Fatalf("resumed %+v", sub)
		}

		// Skip: a box plan on Nov 23 is past December's cutoff (Nov 20), and
		// period 0 (due now) is not yet billed: the skip takes period 1's
		// cutoff into account, which passed too, so it lands on period 2.
		e.do("POST", path+"/skip", nil, as(tokA)).want(t, 200).JSON(t, reset(&sub))
		if sub.SkipPeriod == nil || *sub.SkipPeriod != 2 {
			t.Fatalf("skipped %+v", sub)
		}

		// Cancel at period end, and take it back with resume.
		e.do("POST", path+"/cancel", map[string]any{"at_period_end": true}, as(tokA)).want(t, 200).JSON(t, reset(&sub))
		if sub.Status != "active" || !sub.CancelAtPeriodEnd {
			t.Fatalf("cancel at period end %+v", sub)
		}
		e.do("POST", path+"/resume", nil, as(tokA)).want(t, 200).JSON(t, reset(&sub))
		if sub.CancelAtPeriodEnd {
			t.Fatalf("cancellation not taken back %+v", sub)
		}

		// Change plan: next period is pending; now switches at once (the
		// period is not billed yet, so nothing is prorated).
		e.do("POST", path+"/change-plan", map[string]any{"plan": deluxe.ID, "effective": "later"}, as(tokA)).wantProblem(t, 400, "validation")
		e.do("POST", path+"/change-plan", map[string]any{"plan": box.ID}, as(tokA)).wantProblem(t, 400, "same-plan")
		e.do("POST", path+"/change-plan", map[string]any{"plan": wk.ID}, as(tokA)).wantProblem(t, 400, "interval-mismatch")
		e.do("POST", path+"/change-plan", map[string]any{}, as(tokA)).wantProblem(t, 400, "validation")
		e.do("POST", path+"/change-plan", map[string]any{"plan": deluxe.ID}, as(tokA)).want(t, 200).JSON(t, reset(&sub))
		if sub.PlanID != box.ID || sub.PendingPlan == nil || sub.PendingPlan.PlanID != deluxe.ID || sub.PlanChange == nil || sub.PlanChange.Effective != "next_period" {
			t.Fatalf("change next period %+v", sub)
		}
		e.do("POST", path+"/change-plan", map[string]any{"plan": deluxe.ID, "effective": "now"}, as(tokA)).want(t, 200).JSON(t, reset(&sub))
		if sub.PlanID != deluxe.ID || sub.Price.Amount != 4900 || sub.PendingPlan != nil || sub.PlanChange.Net.Amount != 0 || !strings.Contains(sub.PlanChange.Note, "not billed") {
			t.Fatalf("change now %+v %+v", sub, sub.PlanChange)
		}

		// Payment method: tokens only.
		e.do("POST", path+"/payment-method", map[string]any{"payment_method": map[string]any{"token": "4000056655665556"}}, as(tokA)).wantProblem(t, 400, "card-number-rejected")
		e.do("POST", path+"/payment-method", map[string]any{"payment_method": map[string]any{"token": "tok_mastercard", "brand": "mastercard", "last4": "4444"}}, as(tokA)).
			want(t, 200).JSON(t, reset(&sub))
		if sub.PaymentMethod["brand"] != "mastercard" {
			t.Fatalf("payment method %+v", sub.PaymentMethod)
		}

		// Cancel now: final; every other action is a conflict.
		e.do("POST", path+"/cancel", nil, as(tokA), header("Idempotency-Key", "cancel-1")).want(t, 200).JSON(t, reset(&sub))
		if sub.Status != "canceled" || !sub.NextBillingAt.IsZero() {
			t.Fatalf("canceled %+v", sub)
		}
		e.do("POST", path+"/cancel", nil, as(tokA), header("Idempotency-Key", "cancel-1")).want(t, 200) // a replay, not a second cancel
		e.do("POST", path+"/cancel", nil, as(tokA)).wantProblem(t, 409, "invalid-transition")
		e.do("POST", path+"/resume", nil, as(tokA)).wantProblem(t, 409, "invalid-transition")

		// Every change is one event, in order.
		want := []string{"subscription.created", "subscription.paused", "subscription.resumed", "subscription.skipped", "subscription.canceled",
			"subscription.resumed", "subscription.plan_changed", "subscription.plan_changed", "subscription.payment_method_updated", "subscription.canceled"}
		if got := e.eventTypes(t, sub.ID); !slices.Equal(got, want) {
			t.Fatalf("events\n got %v\nwant %v", got, want)
		}
		es, _ := e.db.Events().Events(context.Background(), event.Filter{Subject: sub.ID, Limit: 1})
		if strings.Contains(string(es[0].Data), "tok_visa") {
			t.Fatalf("an event carries the payment token: %s", es[0].Data)
		}
		var data struct {
			Subscription struct{ ID string }
		}
		if err := json.Unmarshal(es[0].Data, &data); err != nil || data.Subscription.ID != sub.ID {
			t.Fatalf("event data %s", es[0].Data)
		}

		// Staff: search, read and act on anyone's subscription, audited.
		e.do("GET", "/v1/admin/subscriptions?status=canceled&customer="+a, nil, support).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != sub.ID {
			t.Fatalf("staff search %+v", page)
		}
		e.do("GET", "/v1/admin/subscriptions?plan="+trial.ID, nil, support).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != tr.ID {
			t.Fatalf("by plan %+v", page)
		}
		e.do("GET", "/v1/admin/subscriptions?status=lost", nil, support).wantProblem(t, 400, "validation")
		e.do("GET", "/v1/admin/subscriptions", nil, as(e.keys[staff.RoleReadOnly])).wantProblem(t, 403, "insufficient-role")
		e.do("GET", "/v1/admin/subscriptions/"+tr.ID, nil, support).want(t, 200)
		e.do("GET", "/v1/admin/subscriptions/sub_nope", nil, support).wantProblem(t, 404, "subscription-not-found")
		admPath := "/v1/admin/subscriptions/" + tr.ID
		e.do("POST", admPath+"/pause", map[string]any{"until": testStart.AddDate(0, 0, 20).Format(time.RFC3339)}, support).want(t, 200).JSON(t, reset(&tr))
		if tr.Status != "paused" {
			t.Fatalf("staff pause %+v", tr)
		}
		e.do("POST", admPath+"/resume", nil, support).want(t, 200).JSON(t, reset(&tr))
		if tr.Status != "trialing" {
			t.Fatalf("staff resume in trial %+v", tr)
		}
		e.do("POST", admPath+"/skip", nil, support).want(t, 200)
		e.do("POST", admPath+"/change-plan", map[string]any{"plan": deluxe.ID, "effective": "now"}, support).want(t, 200)
		e.do("POST", admPath+"/payment-method", map[string]any{"payment_method": map[string]any{"token": "tok_amex"}}, support).want(t, 200)
		e.do("POST", admPath+"/cancel", map[string]any{"at_period_end": false}, support).want(t, 200).JSON(t, reset(&tr))
		if tr.Status != "canceled" {
			t.Fatalf("staff cancel %+v", tr)
		}
		audit := e.do("GET", "/v1/admin/audit-log", nil, as(e.keys[staff.RoleAdmin])).want(t, 200)
		for _, action := range []string{"pause", "resume", "skip", "change-plan", "payment-method", "cancel"} {
			if !strings.Contains(string(audit.Body), admPath+"/"+action) {
				t.Errorf("audit log lacks %s", action)
			}
		}
	})
}

// TestSubscriptionProrationAPI changes plan in the middle of a billed
// period: the exact proration becomes the subscription's adjustment, which
// the response says the next billing run charges.
func TestSubscriptionProrationAPI(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		box := e.createPlan(t, boxPlan("Glow Box", 2900, 0))
		deluxe := e.createPlan(t, boxPlan("Deluxe Box", 4900, 0))
		_, tok := e.register("a@example.com")
		var sub subOut
		e.do("POST", "/v1/subscriptions", subscribeBody(box.ID), as(tok)).want(t, 201).JSON(t, &sub)
		// Period 0 billed, as the billing run (a later step) will record it.
		ctx := context.Background()
		if err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE subscriptions SET next_period = 1 WHERE id = $1`, sub.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		at := e.clock.Advance(10*24*time.Hour + 7*time.Hour + 13*time.Second)
		want, err := subscription.Prorate(shopd.Money{Amount: 2900, Currency: "USD"}, shopd.Money{Amount: 4900, Currency: "USD"},
			testStart, testStart.AddDate(0, 1, 0), at)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			PlanID     string `json:"plan_id"`
			Adjustment struct{ Amount int64 }
			PlanChange struct {
				Credit, Charge, Net struct{ Amount int64 }
				Note                string
			} `json:"plan_change"`
		}
		e.do("POST", "/v1/subscriptions/"+sub.ID+"/change-plan", map[string]any{"plan": deluxe.ID, "effective": "now"}, as(tok)).want(t, 200).JSON(t, &out)
		pc := out.PlanChange
		if out.PlanID != deluxe.ID || pc.Credit.Amount != want.Credit.Amount || pc.Charge.Amount != want.Charge.Amount || pc.Net.Amount != want.Net.Amount ||
			out.Adjustment.Amount != want.Net.Amount || !strings.Contains(pc.Note, "charged with the next billing run") {
			t.Fatalf("change now: %+v, want %+v", out, want)
		}
		// 2900 → 4900 with 20 of 30 days left: about 2/3 of 2000.
		if want.Net.Amount < 1300 || want.Net.Amount > 1340 {
			t.Fatalf("implausible proration %+v", want)
		}
		// Back down later in the period: a credit, added to the adjustment.
		e.clock.Advance(5 * 24 * time.Hour)
		e.do("POST", "/v1/subscriptions/"+sub.ID+"/change-plan", map[string]any{"plan": box.ID, "effective": "now"}, as(tok)).want(t, 200).JSON(t, &out)
		if out.PlanChange.Net.Amount >= 0 || out.Adjustment.Amount != want.Net.Amount+out.PlanChange.Net.Amount || !strings.Contains(out.PlanChange.Note, "credited") {
			t.Fatalf("downgrade: %+v", out)
		}
		var got subOut
		e.do("GET", "/v1/subscriptions/"+sub.ID, nil, as(tok)).want(t, 200).JSON(t, &got)
		if got.PlanID != box.ID || got.Price.Amount != 2900 {
			t.Fatalf("stored %+v", got)
		}
	})
}

type invoiceOut struct {
	ID             string
	SubscriptionID string `json:"subscription_id"`
	CustomerID     string `json:"customer_id"`
	Market         string
	Period         int
	Tax, Total     struct {
		Amount    int64
		Currency  string
		Formatted string
	}
	TaxIncluded    bool `json:"tax_included"`
	Status         string
	Attempts       int
	NextAttemptAt  time.Time `json:"next_attempt_at"`
	AwaitingMethod bool      `json:"awaiting_payment_method"`
	LastDecline    string    `json:"last_decline"`
}

type invoicePage struct {
	Data       []invoiceOut
	NextCursor string `json:"next_cursor"`
}

type runOut struct {
	Now time.Time
	subscription.RunResult
}

// runBilling runs the billing as of now through the API.
func (e *env) runBilling(t *testing.T, now time.Time) runOut {
	t.Helper()
	var out runOut
	e.do("POST", "/v1/admin/billing/runs", map[string]any{"now": now}, as(e.keys[staff.RoleAdmin])).want(t, 200).JSON(t, &out)
	if !out.Now.Equal(now) {
		t.Fatalf("run as of %v, want %v", out.Now, now)
	}
	return out
}

// captures counts the money the test gateway took for an invoice.
func (e *env) captures(t *testing.T, invoiceID string) int {
	t.Helper()
	var page struct{ Data []struct{ Status string } }
	e.do("GET", "/v1/admin/test-gateway/charges?reference="+invoiceID, nil, as(e.keys[staff.RoleReadOnly])).want(t, 200).JSON(t, &page)
	n := 0
	for _, c := range page.Data {
		if c.Status == "captured" {
			n++
		}
	}
	return n
}

func TestInvoicesAPI(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		box := e.createPlan(t, boxPlan("Glow Box", 2900, 0))
		a, tokA := e.register("a@example.com")
		b, tokB := e.register("b@example.com")
		var subA, subB subOut
		e.do("POST", "/v1/subscriptions", subscribeBody(box.ID), as(tokA)).want(t, 201).JSON(t, &subA)
		e.do("POST", "/v1/subscriptions", subscribeBody(box.ID), as(tokB)).want(t, 201).JSON(t, &subB)

		// The runs endpoint is the admin's; support may only look.
		e.do("POST", "/v1/admin/billing/runs", nil, as(e.keys[staff.RoleSupport])).wantProblem(t, 403, "insufficient-role")
		e.do("POST", "/v1/admin/billing/runs", map[string]any{"now": "tomorrow"}, as(e.keys[staff.RoleAdmin])).want(t, 400)
		for _, secs := range []int{0, 51} {
			e.do("POST", "/v1/admin/billing/runs", map[string]any{"max_seconds": secs}, as(e.keys[staff.RoleAdmin])).wantProblem(t, 400, "validation")
		}

		// A run on the server clock bills both first periods.
		var run runOut
		e.do("POST", "/v1/admin/billing/runs", nil, as(e.keys[staff.RoleAdmin])).want(t, 200).JSON(t, &run)
		if !run.Now.Equal(testStart) || run.Invoiced != 2 || run.Charged != 2 || run.Declined != 0 || run.More {
			t.Fatalf("first run %+v", run)
		}
		var page invoicePage
		e.do("GET", "/v1/subscriptions/"+subA.ID+"/invoices", nil, as(tokA)).want(t, 200).JSON(t, reset(&page))
		if len(page.Data) != 1 || page.Data[0].Status != "paid" || page.Data[0].Period != 0 || page.Data[0].CustomerID != a ||
			page.Data[0].Market != "us" || page.Data[0].Total.Amount != 3016 || page.Data[0].Total.Formatted != "$30.16" || page.Data[0].Attempts != 1 ||
			page.Data[0].Tax.Amount != 116 || page.Data[0].TaxIncluded { // New York's 4% on $29.00
			t.Fatalf("invoices after the first run %+v", page)
		}

		// Three months later: three more periods each, once, whatever runs again.
		later := testStart.AddDate(0, 3, 0)
		if run := e.runBilling(t, later); run.Invoiced != 6 || run.Charged != 6 {
			t.Fatalf("run 3 months ahead %+v", run)
		}
		if run := e.runBilling(t, later); run.Invoiced != 0 || run.Charged != 0 {
			t.Fatalf("second run at the same time %+v", run)
		}
		e.do("GET", "/v1/subscriptions/"+subA.ID+"/invoices", nil, as(tokA)).want(t, 200).JSON(t, reset(&page))
		if len(page.Data) != 4 || page.NextCursor != "" {
			t.Fatalf("%d invoices, cursor %q", len(page.Data), page.NextCursor)
		}
		for i, inv := range page.Data {
			if inv.Status != "paid" || inv.Period != 3-i || inv.SubscriptionID != subA.ID || e.captures(t, inv.ID) != 1 {
				t.Fatalf("invoice %d: %+v", i, inv)
			}
		}
		var sub subOut
		e.do("GET", "/v1/subscriptions/"+subA.ID, nil, as(tokA)).want(t, 200).JSON(t, &sub)
		if sub.Status != "active" || sub.PeriodIndex != 3 || !sub.NextBillingAt.After(later) || !sub.NextBillingAt.Equal(sub.CurrentPeriodEnd) {
			t.Fatalf("subscription after 3 months %+v", sub)
		}

		// Pages follow the cursor; another customer's subscription is 404.
		var p1, p2 invoicePage
		e.do("GET", "/v1/subscriptions/"+subA.ID+"/invoices?limit=3", nil, as(tokA)).want(t, 200).JSON(t, &p1)
		e.do("GET", "/v1/subscriptions/"+subA.ID+"/invoices?limit=3&cursor="+p1.NextCursor, nil, as(tokA)).want(t, 200).JSON(t, &p2)
		if len(p1.Data) != 3 || p1.NextCursor == "" || len(p2.Data) != 1 || p2.NextCursor != "" || p2.Data[0].Period != 0 {
			t.Fatalf("pages %+v then %+v", p1, p2)
		}
		e.do("GET", "/v1/subscriptions/"+subB.ID+"/invoices", nil, as(tokA)).wantProblem(t, 404, "subscription-not-found")
		e.do("GET", "/v1/subscriptions/sub_nope/invoices", nil, as(tokA)).wantProblem(t, 404, "subscription-not-found")
		e.do("GET", "/v1/subscriptions/"+subA.ID+"/invoices", nil).wantProblem(t, 401, "unauthorized")

		// Staff search every invoice by subscription, customer and status.
		support := as(e.keys[staff.RoleSupport])
		for _, c := range []struct {
			query string
			want  int
		}{
			{"", 8}, {"?subscription=" + subA.ID, 4}, {"?customer=" + b, 4}, {"?status=paid&customer=" + a, 4}, {"?status=open", 0},
			{"?subscription=" + subA.ID + "&customer=" + b, 0},
		} {
			e.do("GET", "/v1/admin/invoices"+c.query, nil, support).want(t, 200).JSON(t, reset(&page))
			if len(page.Data) != c.want {
				t.Errorf("GET /v1/admin/invoices%s: %d invoices, want %d", c.query, len(page.Data), c.want)
			}
		}
		e.do("GET", "/v1/admin/invoices?status=due", nil, support).wantProblem(t, 400, "validation")
		e.do("GET", "/v1/admin/invoices", nil, as(e.keys[staff.RoleReadOnly])).wantProblem(t, 403, "insufficient-role")
		var one invoiceOut
		e.do("GET", "/v1/admin/invoices/"+p2.Data[0].ID, nil, support).want(t, 200).JSON(t, &one)
		if one.ID != p2.Data[0].ID || one.Period != 0 || one.Status != "paid" {
			t.Fatalf("invoice %+v", one)
		}
		e.do("GET", "/v1/admin/invoices/inv_nope", nil, support).wantProblem(t, 404, "invoice-not-found")

		// Without the test gateway (payments to Stripe, say) a run ahead of
		// the server clock would charge subscribers early: refused.
		live, err := httpapi.NewServer(httpapi.Deps{Clock: e.clock, Staff: e.svc.staff, Subscriptions: e.svc.subs, Biller: e.svc.biller})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			body string
			want int
		}{{`{"now": "2027-06-01T00:00:00Z"}`, 409}, {`{}`, 200}, {`{"now": "2026-11-01T00:00:00Z"}`, 200}} {
			req := httptest.NewRequest("POST", "/v1/admin/billing/runs", strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer "+e.keys[staff.RoleAdmin])
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			live.ServeHTTP(rec, req)
			if rec.Code != c.want || (c.want == 409 && !strings.Contains(rec.Body.String(), "test-clock-needs-test-gateway")) {
				t.Errorf("run %s without the test gateway: %d %s", c.body, rec.Code, rec.Body)
			}
		}
		e.do("GET", "/v1/admin/invoices/"+subA.ID, nil, support).wantProblem(t, 404, "invoice-not-found")
	})
}

func TestPaymentMethodRetryAPI(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		box := e.createPlan(t, boxPlan("Glow Box", 2900, 0))
		_, tok := e.register("a@example.com")
		withToken := func(token string) map[string]any {
			body := subscribeBody(box.ID)
			body["payment_method"] = map[string]any{"token": token}
			return body
		}
		var stolen, soft, fine subOut
		e.do("POST", "/v1/subscriptions", withToken("tok_stolen"), as(tok)).want(t, 201).JSON(t, &stolen)
		e.do("POST", "/v1/subscriptions", withToken("tok_declined"), as(tok)).want(t, 201).JSON(t, &soft)
		e.do("POST", "/v1/subscriptions", withToken("tok_visa"), as(tok)).want(t, 201).JSON(t, &fine)
		openInvoice := func(subID string) invoiceOut {
			t.Helper()
			var page invoicePage
			e.do("GET", "/v1/subscriptions/"+subID+"/invoices", nil, as(tok)).want(t, 200).JSON(t, &page)
			if len(page.Data) != 1 {
				t.Fatalf("invoices of %s: %+v", subID, page.Data)
			}
			return page.Data[0]
		}
		// The run is an hour ahead of the server clock: the declines it
		// settles plan their retries from its time, not the server's.
		at := testStart.Add(time.Hour)
		if run := e.runBilling(t, at); run.Invoiced != 3 || run.Charged != 1 || run.Declined != 2 {
			t.Fatalf("run %+v", run)
		}
		if inv := openInvoice(soft.ID); inv.Status != "open" || !inv.NextAttemptAt.Equal(at.Add(24*time.Hour)) {
			t.Fatalf("soft-declined invoice %+v, want a retry a day after %v", inv, at)
		}

		// A hard decline waits for a new payment method: no retry is planned
		// that would charge the stolen card again.
		inv := openInvoice(stolen.ID)
		if inv.Status != "open" || !inv.AwaitingMethod || inv.LastDecline != "stolen-card" || inv.Attempts != 1 || e.captures(t, inv.ID) != 0 {
			t.Fatalf("hard-declined invoice %+v", inv)
		}
		var sub subOut
		e.do("GET", "/v1/subscriptions/"+stolen.ID, nil, as(tok)).want(t, 200).JSON(t, &sub)
		if sub.Status != "past_due" {
			t.Fatalf("after a hard decline %+v", sub)
		}

		// A new card retries at once: active in the same response, one capture.
		visa := map[string]any{"payment_method": map[string]any{"token": "tok_visa", "brand": "visa", "last4": "4242"}}
		e.do("POST", "/v1/subscriptions/"+stolen.ID+"/payment-method", visa, as(tok), header("Idempotency-Key", "pm-1")).want(t, 200).JSON(t, reset(&sub))
		if sub.Status != "active" || sub.PeriodIndex != 0 || !sub.NextBillingAt.Equal(testStart.AddDate(0, 1, 0)) {
			t.Fatalf("after the new card %+v", sub)
		}
		inv = openInvoice(stolen.ID)
		if inv.Status != "paid" || inv.AwaitingMethod || inv.Attempts != 2 || e.captures(t, inv.ID) != 1 {
			t.Fatalf("invoice after the new card %+v, %d captures", inv, e.captures(t, inv.ID))
		}
		// A replay answers the same and charges nothing more.
		e.do("POST", "/v1/subscriptions/"+stolen.ID+"/payment-method", visa, as(tok), header("Idempotency-Key", "pm-1")).want(t, 200).JSON(t, reset(&sub))
		if sub.Status != "active" || e.captures(t, inv.ID) != 1 {
			t.Fatalf("replay %+v, %d captures", sub, e.captures(t, inv.ID))
		}

		// Staff update a soft-declined subscription's card the same way; a
		// card that declines too leaves it past_due on the schedule.
		support := as(e.keys[staff.RoleSupport])
		inv = openInvoice(soft.ID)
		declined := map[string]any{"payment_method": map[string]any{"token": "tok_declined"}}
		e.do("POST", "/v1/admin/subscriptions/"+soft.ID+"/payment-method", declined, support).want(t, 200).JSON(t, reset(&sub))
		if sub.Status != "past_due" {
			t.Fatalf("after another declining card %+v", sub)
		}
		if again := openInvoice(soft.ID); again.Status != "open" || again.Attempts != 2 || again.NextAttemptAt.IsZero() || e.captures(t, inv.ID) != 0 {
			t.Fatalf("invoice after another declining card %+v", again)
		}
		e.do("POST", "/v1/admin/subscriptions/"+soft.ID+"/payment-method", visa, support).want(t, 200).JSON(t, reset(&sub))
		if inv := openInvoice(soft.ID); sub.Status != "active" || inv.Status != "paid" || inv.Attempts != 3 || e.captures(t, inv.ID) != 1 {
			t.Fatalf("after staff set a good card: %+v, invoice %+v", sub, inv)
		}

		// An active subscription's new card charges nothing.
		inv = openInvoice(fine.ID)
		e.do("POST", "/v1/subscriptions/"+fine.ID+"/payment-method", visa, as(tok)).want(t, 200).JSON(t, reset(&sub))
		if again := openInvoice(fine.ID); sub.Status != "active" || again.Attempts != 1 || e.captures(t, inv.ID) != 1 {
			t.Fatalf("active subscription's new card: %+v, invoice %+v", sub, again)
		}
		if types := e.eventTypes(t, stolen.ID); !slices.Contains(types, subscription.EventPastDue) || !slices.Contains(types, subscription.EventRenewed) {
			t.Errorf("events of the recovered subscription: %v", types)
		}
	})
}
