package loadtest

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoadtestUnderLoad drives a storefront that answers in 50 ms while
// the work runs: the browse requests due before the work are the
// baseline, those due while it ran are "during", and sending stops when
// it returns.
func TestLoadtestUnderLoad(t *testing.T) {
	var slow atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slow.Load() {
			time.Sleep(50 * time.Millisecond)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	cl := newClient(Config{Target: srv.URL, Connections: 100, Timeout: 5 * time.Second})
	defer cl.hc.CloseIdleConnections()
	b := &browse{cl: cl, fx: &fixture{handle: "p", listQuery: "/v1/products?limit=20"}, rate: 200, conns: 100,
		start: time.Now().Add(20 * time.Millisecond), prefix: "browse_"}
	b.rec = newRecorder(b.start, b.steps()...)
	var workStart, workEnd time.Time
	sf := underLoad(t.Context(), b, 500*time.Millisecond, func(ctx context.Context) {
		workStart = time.Now()
		slow.Store(true)
		time.Sleep(400 * time.Millisecond)
		slow.Store(false)
		workEnd = time.Now()
	})
	// 100 senders at 200/s claim requests up to 0.5 s ahead.
	if stopped := time.Since(workEnd); stopped > 250*time.Millisecond {
		t.Errorf("the load stopped %v after the work", stopped)
	}
	if workStart.Before(b.start.Add(500 * time.Millisecond)) {
		t.Errorf("the work started %v after the load, before the baseline ended", workStart.Sub(b.start))
	}
	rep := b.rec.report(Config{Scenario: "mixed", Target: srv.URL, Connections: 100}, b.fx, time.Since(b.start))
	// 200/s over 0.5 s: requests 0..99 are due before the work.
	if sf.Rate != 200 || sf.Before.Requests != 100 || sf.Before.Seconds != 0.5 || sf.Before.Errors != 0 || sf.During.Errors != 0 {
		t.Errorf("storefront %+v", sf)
	}
	// During the 0.4 s of work about 80 more, and none due after it.
	ran := workEnd.Sub(b.start.Add(500 * time.Millisecond))
	if most := int64(ran.Seconds()*200) + 1; sf.During.Requests < 70 || sf.During.Requests > most {
		t.Errorf("%d requests during %v of work; want 70 to %d", sf.During.Requests, ran, most)
	}
	if rep.Requests != sf.Before.Requests+sf.During.Requests || rep.Steps["browse_product"].Requests == 0 || rep.Steps["browse_list_304"].Requests == 0 {
		t.Errorf("recorded %d requests, steps %v; the phases have %d", rep.Requests, rep.Steps, sf.Before.Requests+sf.During.Requests)
	}
	if sf.During.LatencyMS.P50 < 50 || sf.Before.LatencyMS.P50 >= 50 || sf.P99Ratio != round2(sf.During.LatencyMS.P99/sf.Before.LatencyMS.P99) {
		t.Errorf("p50 before %v ms, during %v ms, p99 ratio %v: want the work's 50 ms to show during only",
			sf.Before.LatencyMS.P50, sf.During.LatencyMS.P50, sf.P99Ratio)
	}
}

// TestLoadtestRenewalsText: the text report shows the renewals, the
// storefront before and during, and the drop's own figures in mixed.
func TestLoadtestRenewalsText(t *testing.T) {
	r := &Report{Scenario: "mixed", Orders: 150, Stock: 150, UnitsSold: 150, Shoppers: &Outcomes{Shoppers: 200, Ordered: 50},
		Drop: &DropSales{Orders: 50, Stock: 50, UnitsSold: 50, OrdersPerS: 25},
		Renewals: &Renewals{Subscriptions: 100, Customers: 1, Kind: "replenishment", RunS: 0.5, PerS: 200, Run: BillingRun{Invoiced: 100, Charged: 100},
			Invoices: 100, InvoicesPaid: 100, Orders: 100, Stock: 100, UnitsSold: 100, ChargesCaptured: 100},
		Storefront: &Storefront{Rate: 300, Before: Phase{Seconds: 2, Requests: 600}, During: Phase{Seconds: 0.5, Requests: 150}, P99Ratio: 1.25}}
	var buf bytes.Buffer
	r.WriteText(&buf)
	for _, want := range []string{
		"orders 50 in 0.00 s (25/s", "stock 50, units sold 50",
		"renewals: 100 subscriptions of 1 customers to a replenishment plan", "billing run 0.50 s: 100 invoiced (200 renewals/s), 100 charged",
		"invoices 100: 100 paid, 0 open, 0 void; 100 orders", "stock 100, units sold 100",
		"storefront at 300 requests/s", "before   2.00 s     600 requests", "during   0.50 s     150 requests", "p99 during / before: 1.25",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, buf.String())
		}
	}
}
