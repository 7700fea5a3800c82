package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/shopd/shopd/sqlstore/storetest"
)

// renewalsReport is loadReport with what the renewals and mixed scenarios
// add.
type renewalsReport struct {
	loadReport
	OnHandAfter int64                                       `json:"on_hand_after"`
	Steps       map[string]struct{ Statuses map[int]int64 } `json:"steps"`
	Renewals    *struct {
		Kind                                                        string
		Customers, Subscriptions, Invoices, Orders, Stock, Oversell int64
		Run                                                         struct{ Invoiced, Charged, Declined, Unknown int64 }
		RunS                                                        float64 `json:"run_s"`
		PerS                                                        float64 `json:"renewals_per_s"`
		InvoicesPaid                                                int64   `json:"invoices_paid"`
		UnitsSold                                                   int64   `json:"units_sold"`
		DoubleCharges                                               int64   `json:"double_charges"`
		ChargesCaptured                                             int64   `json:"charges_captured"`
		UnchargedInvoices                                           int64   `json:"uncharged_invoices"`
	} `json:"renewals"`
	Storefront *struct {
		Rate           int64
		Before, During struct {
			Seconds          float64
			Requests, Errors int64
		}
	} `json:"storefront"`
	Drop *struct {
		Orders, Stock, Oversell int64
		UnitsSold               int64 `json:"units_sold"`
		DoubleCharges           int64 `json:"double_charges"`
		ChargesCaptured         int64 `json:"charges_captured"`
		UnchargedOrders         int64 `json:"uncharged_orders"`
		ReservedAfter           int64 `json:"reserved_after"`
	} `json:"drop"`
}

// loadtestRun runs `shopd loadtest ARGS --json` in process (so the race
// detector watches the runner) and returns its report and exit status.
func loadtestRun(t *testing.T, args ...string) (renewalsReport, int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), append(append([]string{"loadtest"}, args...), "--json"), func(string) string { return "" }, nil, &stdout, &stderr)
	var r renewalsReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("loadtest %v: exit %d, report: %v\n%s\n%s", args, code, err, stdout.String(), stderr.String())
	}
	return r, code, stderr.String()
}

// eachServe runs f against a fresh shopd serve on each engine, with an
// admin key, and stops the server cleanly afterwards.
func eachServe(t *testing.T, f func(t *testing.T, url, key string)) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			db := dbArgs(t, d)
			key := adminKey(t, bin, db)
			p := startServe(t, bin, append([]string{"--log-level", "warn"}, db...)...)
			f(t, p.url, key)
			p.stop(t)
		})
	}
}

// adminKey makes an admin API key in the store db points at.
func adminKey(t *testing.T, bin string, db []string) string {
	t.Helper()
	out, err := exec.Command(bin, append([]string{"admin", "create-key", "--role", "admin"}, db...)...).Output()
	if err != nil {
		t.Fatalf("create-key: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestLoadtestRenewals bills 250 subscriptions in one billing run while the
// storefront is browsed, against a real shopd serve on each engine: every
// subscription invoiced, charged and paid once, one unit sold for each
// period's order, the browse requests split into the 1 s before the run and
// those during it, and no 5xx; then a box plan's renewals, which sell
// nothing.
func TestLoadtestRenewals(t *testing.T) {
	eachServe(t, func(t *testing.T, url, key string) {
		r, code, stderr := loadtestRun(t, "renewals", "--target", url, "--admin-key", key, "--subscriptions", "250", "--rate", "200", "--duration", "1s")
		if code != 0 {
			t.Errorf("exit %d\n%s", code, stderr)
		}
		rn, sf := r.Renewals, r.Storefront
		switch {
		case r.Scenario != "renewals" || rn == nil || sf == nil:
			t.Fatalf("scenario %q, renewals %v, storefront %v", r.Scenario, rn, sf)
		case rn.Subscriptions != 250 || rn.Customers != 3 || rn.Run.Invoiced != 250 || rn.Run.Charged != 250 || rn.Run.Declined != 0 || rn.Run.Unknown != 0:
			t.Errorf("renewals %+v: want 250 subscriptions of 3 customers, all invoiced and charged", *rn)
		case rn.Invoices != 250 || rn.InvoicesPaid != 250 || rn.Orders != 250 || rn.ChargesCaptured != 250 || rn.DoubleCharges != 0 || rn.UnchargedInvoices != 0:
			t.Errorf("renewals %+v: want 250 invoices paid, each charged once, each with its order", *rn)
		case rn.Stock != 250 || rn.UnitsSold != 250 || rn.Oversell != 0 || r.OnHandAfter != 0 || r.ReservedAfter != 0:
			t.Errorf("renewals %+v, on hand after %d, reserved %d: want the 250 units sold", *rn, r.OnHandAfter, r.ReservedAfter)
		case rn.RunS <= 0 || rn.PerS <= 0:
			t.Errorf("billing run %v s, %v renewals/s", rn.RunS, rn.PerS)
		// The top-level fields are the renewals' own.
		case r.Orders != 250 || r.UnitsSold != 250 || r.Stock != 250 || r.Oversell != 0 || r.DoubleCharges != 0 || r.ChargesCaptured != 250 ||
			r.UnchargedOrders != 0 || r.Errors5xx != 0 || len(r.Errors) != 0 || r.OrdersPerS <= 0:
			t.Errorf("report %+v", r.loadReport)
		// 200 requests/s: requests 0..199 are due in the second before the run.
		case sf.Rate != 200 || sf.Before.Requests != 200 || sf.Before.Seconds != 1 || sf.During.Requests < 1 || sf.Before.Errors+sf.During.Errors != 0:
			t.Errorf("storefront %+v", *sf)
		case r.Requests != sf.Before.Requests+sf.During.Requests+1 || r.NotModified == 0:
			t.Errorf("%d requests (%d answered 304); want the %d browse requests and the billing run", r.Requests, r.NotModified, sf.Before.Requests+sf.During.Requests)
		}
		for _, step := range []string{"product", "product_304", "list", "list_304", "billing_run"} {
			if l, ok := r.LatencyMS[step]; !ok || l.P99 == nil || l.Max == nil || *l.P99 > *l.Max {
				t.Errorf("latency_ms.%s = %+v", step, l)
			}
		}
		if len(r.LatencyMS) != 5 {
			t.Errorf("latency_ms has %d steps, want 5", len(r.LatencyMS))
		}
		t.Logf("billing run %.2f s (%.0f renewals/s); storefront %d requests before, %d during", rn.RunS, rn.PerS, sf.Before.Requests, sf.During.Requests)

		// A box plan's periods are invoiced and charged, and sell nothing.
		r, code, stderr = loadtestRun(t, "renewals", "--target", url, "--admin-key", key, "--plan-kind", "box", "--subscriptions", "100",
			"--rate", "100", "--duration", "300ms")
		if rn = r.Renewals; code != 0 || rn == nil || rn.Kind != "box" || rn.Run.Invoiced != 100 || rn.InvoicesPaid != 100 || rn.ChargesCaptured != 100 ||
			rn.DoubleCharges != 0 || rn.UnchargedInvoices != 0 || rn.Orders != 0 || rn.Stock != 0 || rn.UnitsSold != 0 || r.Orders != 0 || r.Errors5xx != 0 {
			t.Errorf("box plan: exit %d, report %+v, renewals %+v\n%s", code, r.loadReport, rn, stderr)
		}
	})
}

// TestLoadtestMixed runs browse, a drop and a billing run at once against a
// real shopd serve on each engine: the drop sells exactly its stock, the
// billing run bills every subscription once, the top-level figures add
// both, and every shopper gets an answer; then a mixed run without
// subscriptions has no billing run.
func TestLoadtestMixed(t *testing.T) {
	eachServe(t, func(t *testing.T, url, key string) {
		r, code, stderr := loadtestRun(t, "mixed", "--target", url, "--admin-key", key, "--shoppers", "400", "--stock", "40", "--ramp", "1s",
			"--subscriptions", "150", "--rate", "200", "--duration", "1s")
		if code != 0 {
			t.Errorf("exit %d\n%s", code, stderr)
		}
		rn, sf, dr, s := r.Renewals, r.Storefront, r.Drop, r.Shoppers
		if r.Scenario != "mixed" || rn == nil || sf == nil || dr == nil {
			t.Fatalf("scenario %q, renewals %v, storefront %v, drop %v", r.Scenario, rn, sf, dr)
		}
		var polls int64
		if r.Queue != nil {
			polls = r.Queue.Polls + r.Queue.Rejected429
		}
		switch {
		case dr.Orders != 40 || dr.Stock != 40 || dr.UnitsSold != 40 || dr.Oversell != 0 || dr.DoubleCharges != 0 || dr.ChargesCaptured != 40 ||
			dr.UnchargedOrders != 0 || dr.ReservedAfter != 0 || s.Ordered != 40 || s.Pending != 0:
			t.Errorf("drop %+v, shoppers %+v: want exactly 40 sold and charged once", *dr, s)
		case s.Shoppers != 400 || s.Answered != 400 || s.Failed != 0 || s.Unanswered != 0 || s.Ordered+s.SoldOut+s.Abandoned+s.GaveUp != 400:
			t.Errorf("shoppers %+v: every shopper must be answered", s)
		case rn.Subscriptions != 150 || rn.Customers != 2 || rn.Run.Invoiced != 150 || rn.InvoicesPaid != 150 || rn.Orders != 150 ||
			rn.ChargesCaptured != 150 || rn.DoubleCharges != 0 || rn.UnchargedInvoices != 0 || rn.Stock != 150 || rn.UnitsSold != 150 || rn.Oversell != 0:
			t.Errorf("renewals %+v: want 150 billed once, 150 units sold", *rn)
		case r.Orders != 190 || r.UnitsSold != 190 || r.Stock != 190 || r.Oversell != 0 || r.DoubleCharges != 0 || r.ChargesCaptured != 190 ||
			r.UnchargedOrders != 0 || r.Errors5xx != 0 || len(r.Errors) != 0 || r.OrdersPerS <= 0:
			t.Errorf("report %+v: want the drop's and the renewals' figures added", r.loadReport)
		case sf.Rate != 200 || sf.Before.Requests != 200 || sf.During.Requests < 1 || sf.Before.Errors+sf.During.Errors != 0:
			t.Errorf("storefront %+v", *sf)
		case r.Requests != sf.Before.Requests+sf.During.Requests+2*400+s.Ordered+s.SoldOut+polls+1:
			t.Errorf("%d requests; want the browse load's %d, the shoppers' and the billing run", r.Requests, sf.Before.Requests+sf.During.Requests)
		}
		for _, step := range []string{"browse_product", "browse_product_304", "browse_list", "browse_list_304", "product", "cart", "checkout", "queue", "billing_run"} {
			if _, ok := r.LatencyMS[step]; !ok {
				t.Errorf("latency_ms lacks %s", step)
			}
		}
		if len(r.LatencyMS) != 9 {
			t.Errorf("latency_ms has %d steps, want 9", len(r.LatencyMS))
		}
		// The list's ETag is taken after the renewals' product joined it.
		if r.Steps["browse_list_304"].Statuses[304] == 0 || r.Steps["browse_product_304"].Statuses[304] == 0 {
			t.Errorf("revalidations: %v", r.Steps)
		}

		r, code, stderr = loadtestRun(t, "mixed", "--target", url, "--admin-key", key, "--shoppers", "60", "--stock", "6", "--ramp", "200ms",
			"--subscriptions", "0", "--rate", "100", "--duration", "300ms")
		if code != 0 || r.Renewals != nil || r.Drop == nil || r.Orders != 6 || r.Drop.Orders != 6 || r.UnitsSold != 6 || r.Stock != 6 ||
			r.ChargesCaptured != 6 || r.DoubleCharges != 0 || len(r.LatencyMS) != 8 || r.Storefront == nil || r.Storefront.Before.Requests != 30 {
			t.Errorf("mixed without subscriptions: exit %d, report %+v, renewals %v, latency steps %d\n%s", code, r.loadReport, r.Renewals, len(r.LatencyMS), stderr)
		}
	})
}

// TestLoadtestRenewalsRefused: a shopd that refuses the test clock (it
// pays through Stripe) fails the run with exit status 1, naming the
// problem, after the report.
func TestLoadtestRenewalsRefused(t *testing.T) {
	mux := http.NewServeMux()
	reply := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if status >= 400 {
				w.Header().Set("Content-Type", "application/problem+json")
			}
			w.WriteHeader(status)
			io.WriteString(w, body)
		}
	}
	mux.Handle("GET /v1/admin/warehouses", reply(200, `{"data":[{"code":"loadtest","markets":["us"]}]}`))
	mux.Handle("POST /v1/admin/products", reply(201, `{"id":"prd_1","variants":[{"id":"var_1"}]}`))
	mux.Handle("POST /v1/admin/stock/receive", reply(200, `{"on_hand":5,"updated_at":"2026-01-01T00:00:00Z"}`))
	mux.Handle("GET /v1/products/{product}", reply(200, `{}`))
	mux.Handle("GET /v1/products", reply(200, `{"data":[]}`))
	mux.Handle("POST /v1/admin/plans", reply(201, `{"id":"pln_1","created_at":"2026-01-01T00:00:00Z"}`))
	mux.Handle("POST /v1/customers", reply(201, `{"customer":{"id":"cus_1"},"session":{"token":"cs_1"}}`))
	mux.Handle("POST /v1/subscriptions", reply(201, `{"id":"sub_1","next_billing_at":"2026-01-02T00:00:00Z"}`))
	mux.Handle("POST /v1/admin/billing/runs", reply(409, `{"type":"https://shopd.dev/problems/test-clock-needs-test-gateway","status":409}`))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	r, code, stderr := loadtestRun(t, "renewals", "--target", srv.URL, "--admin-key", "sk_x", "--subscriptions", "5", "--rate", "50", "--duration", "100ms")
	if code != 1 || !strings.Contains(stderr, "billing run: POST /v1/admin/billing/runs: 409") || !strings.Contains(stderr, "test-clock-needs-test-gateway") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if r.Errors["test-clock-needs-test-gateway"] != 1 || r.Renewals == nil || r.Renewals.Subscriptions != 5 || r.Renewals.Run.Invoiced != 0 {
		t.Errorf("report %+v, renewals %+v", r.loadReport, r.Renewals)
	}
}

// TestLoadtestRenewalsHelp: -h describes the new scenarios and their flag
// (TestLoadtestUsage checks their bad flags).
func TestLoadtestRenewalsHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"loadtest", "-h"}, func(string) string { return "" }, nil, &stdout, &stderr)
	for _, want := range []string{"  renewals  ", "  mixed     ", "-subscriptions int", "POST /v1/admin/billing/runs"} {
		if code != 0 || !strings.Contains(stderr.String(), want) {
			t.Errorf("loadtest -h: exit %d, lacks %q\n%s", code, want, stderr.String())
		}
	}
}
