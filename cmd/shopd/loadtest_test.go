package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/shopd/shopd/sqlstore/storetest"
)

// loadReport is the part of `shopd loadtest --json` the tests read.
type loadReport struct {
	Scenario      string  `json:"scenario"`
	DurationS     float64 `json:"duration_s"`
	Requests      int64   `json:"requests"`
	Orders        int64   `json:"orders"`
	UnitsSold     int64   `json:"units_sold"`
	Stock         int64   `json:"stock"`
	Oversell      int64   `json:"oversell"`
	DoubleCharges int64   `json:"double_charges"`
	Errors5xx     int64   `json:"errors_5xx"`
	RPS           float64 `json:"rps"`
	OrdersPerS    float64 `json:"orders_per_s"`
	LatencyMS     map[string]struct {
		P50, P95, P99, Max *float64
	} `json:"latency_ms"`
	Errors          map[string]int64 `json:"errors"`
	NotModified     int64            `json:"not_modified"`
	ChargesCaptured int64            `json:"charges_captured"`
	UnchargedOrders int64            `json:"uncharged_orders"`
	ReservedAfter   int64            `json:"reserved_after"`
	Shoppers        struct {
		Shoppers, Ordered, Pending, Abandoned, Failed, Answered, Unanswered int64
		SoldOut                                                             int64 `json:"sold_out"`
		GaveUp                                                              int64 `json:"gave_up"`
	} `json:"shoppers"`
	Queue *struct {
		Queued, Ordered, Polls int64
		SoldOut                int64                      `json:"sold_out"`
		GaveUp                 int64                      `json:"gave_up"`
		Rejected429            int64                      `json:"rejected_429"`
		WaitMS                 struct{ P99, Max float64 } `json:"wait_ms"`
		Fairness               *struct {
			Shoppers   int64    `json:"shoppers"`
			KendallTau *float64 `json:"kendall_tau"`
		} `json:"fairness"`
	} `json:"queue"`
	Fairness struct {
		Shoppers   int64    `json:"shoppers"`
		KendallTau *float64 `json:"kendall_tau"`
	} `json:"fairness"`
}

// TestLoadtest runs `shopd loadtest drop` as its own process against a real
// shopd serve on each engine: 2,000 shoppers for 200 units must buy exactly
// 200, each charged once, with no 5xx and an answer for every shopper. The
// server runs 2 checkouts at once, so most checkouts go through its waiting
// room: the report must show them queued and admitted, and /metrics must
// show an empty line afterwards. Then
// a short browse run in-process (so the race detector watches the runner)
// must see its conditional GETs answered 304.
func TestLoadtest(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			db := dbArgs(t, d)
			out, err := exec.Command(bin, append([]string{"admin", "create-key", "--role", "admin"}, db...)...).Output()
			if err != nil {
				t.Fatalf("create-key: %v", err)
			}
			key := strings.TrimSpace(string(out))
			p := startServe(t, bin, append([]string{"--log-level", "warn", "--checkout-capacity", "2"}, db...)...)

			cmd := exec.Command(bin, "loadtest", "drop", "--target", p.url, "--shoppers", "2000", "--stock", "200", "--json")
			cmd.Env = append(os.Environ(), "SHOPD_ADMIN_KEY="+key) // the key from the environment
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err = cmd.Output()
			if err != nil {
				t.Errorf("loadtest drop: %v\n%s", err, stderr.String())
			}
			var r loadReport
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("report: %v\n%s\n%s", err, out, stderr.String())
			}
			s := r.Shoppers
			switch {
			case r.Scenario != "drop" || r.Stock != 200:
				t.Errorf("scenario %q stock %d", r.Scenario, r.Stock)
			case r.UnitsSold != 200 || r.Orders != 200 || s.Ordered != 200 || s.Pending != 0:
				t.Errorf("units sold %d, orders %d (%d paid, %d pending); want 200", r.UnitsSold, r.Orders, s.Ordered, s.Pending)
			case r.Oversell != 0 || r.DoubleCharges != 0 || r.Errors5xx != 0:
				t.Errorf("oversell %d, double charges %d, 5xx %d; want 0", r.Oversell, r.DoubleCharges, r.Errors5xx)
			case r.ChargesCaptured != 200 || r.UnchargedOrders != 0 || r.ReservedAfter != 0:
				t.Errorf("%d charges captured, %d orders without a charge, %d units left reserved", r.ChargesCaptured, r.UnchargedOrders, r.ReservedAfter)
			case s.Shoppers != 2000 || s.Answered != 2000 || s.Failed != 0 || s.Unanswered != 0 || len(r.Errors) != 0:
				t.Errorf("shoppers %+v, errors %v: every shopper must be answered", s, r.Errors)
			case s.Ordered+s.SoldOut+s.Abandoned != 2000 || s.SoldOut == 0 || s.Abandoned == 0:
				t.Errorf("shoppers %+v: want orders, sold-outs and abandons adding up to 2000", s)
			case r.Fairness.Shoppers != 200 || r.Fairness.KendallTau == nil:
				t.Errorf("fairness %+v", r.Fairness)
			case r.Queue == nil || r.Queue.Queued == 0 || r.Queue.Ordered == 0 || r.Queue.GaveUp != 0 || s.GaveUp != 0 ||
				r.Queue.Polls < r.Queue.Queued || r.Queue.Fairness == nil || r.Queue.Fairness.Shoppers != r.Queue.Ordered ||
				r.Queue.Fairness.KendallTau == nil || r.Queue.WaitMS.Max <= 0:
				t.Errorf("queue %+v: want shoppers queued and admitted, none giving up", r.Queue)
			case r.Requests != 2*2000+s.Ordered+s.SoldOut+r.Queue.Polls+r.Queue.Rejected429 || r.OrdersPerS <= 0 || r.DurationS <= 0:
				t.Errorf("requests %d, orders/s %v, duration %v s", r.Requests, r.OrdersPerS, r.DurationS)
			}
			if r.Queue != nil {
				t.Logf("queue: %d queued (%d ordered, %d sold out), %d polls, %d 429; wait p99 %.0f ms; fairness %+v",
					r.Queue.Queued, r.Queue.Ordered, r.Queue.SoldOut, r.Queue.Polls, r.Queue.Rejected429, r.Queue.WaitMS.P99, *r.Queue.Fairness.KendallTau)
			}
			metrics := get(t, p.url+"/metrics")
			for _, want := range []string{"shopd_checkout_queue_length 0", "shopd_checkout_in_flight 0", "shopd_checkout_capacity 2"} {
				if !strings.Contains(metrics, want+"\n") {
					t.Errorf("/metrics lacks %q", want)
				}
			}
			if strings.Contains(metrics, "shopd_checkout_queue_tickets_total 0\n") {
				t.Error("/metrics: no queue tickets")
			}
			for _, step := range []string{"product", "cart", "checkout", "queue"} {
				if l, ok := r.LatencyMS[step]; !ok || l.P50 == nil || l.P95 == nil || l.P99 == nil || l.Max == nil || *l.P99 > *l.Max {
					t.Errorf("latency_ms.%s = %+v", step, l)
				}
			}

			// The browse reads from a storefront process of its own on the
			// same store: it alone answers them.
			sf := startServe(t, bin, append([]string{"--role", "storefront", "--log-level", "warn"}, db...)...)
			var stdout bytes.Buffer
			stderr.Reset()
			code := run(t.Context(), []string{"loadtest", "browse", "--target", p.url, "--storefront", sf.url, "--admin-key", key, "--rate", "300", "--duration", "2s", "--json"},
				func(string) string { return "" }, nil, &stdout, &stderr)
			if code != 0 {
				t.Errorf("loadtest browse: exit %d\n%s", code, stderr.String())
			}
			var b loadReport
			if err := json.Unmarshal(stdout.Bytes(), &b); err != nil {
				t.Fatalf("browse report: %v\n%s", err, stdout.String())
			}
			if b.Scenario != "browse" || b.Requests != 600 || b.NotModified == 0 || len(b.Errors) != 0 || b.Errors5xx != 0 || len(b.LatencyMS) != 4 {
				t.Errorf("browse: %d requests, %d answered 304, errors %v, 5xx %d, latency %v", b.Requests, b.NotModified, b.Errors, b.Errors5xx, b.LatencyMS)
			}
			// 600 requests, in tenths: 7 product pages and 3 lists.
			if pages, lists := routeRequests(t, sf.url, "GET /v1/products/{product}"), routeRequests(t, sf.url, "GET /v1/products"); pages != 420 || lists != 180 {
				t.Errorf("the storefront process answered %d product pages and %d lists; want 420 and 180", pages, lists)
			}
			sf.stop(t)

			testLoadtestCatalog(t, bin, p.url, key)
			p.stop(t)
		})
	}
}

// testLoadtestCatalog runs `shopd loadtest catalog` as its own process, so
// that it starts `shopd reference-server` as a child of its own: every
// phase must have run, every answer must be a 200, the ratios must be those
// of the rates and p99s reported, and the reference server must be gone
// afterwards.
func testLoadtestCatalog(t *testing.T, bin, target, key string) {
	cmd := exec.Command(bin, "loadtest", "catalog", "--target", target, "--admin-key", key, "--duration", "1500ms", "--connections", "8", "--json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("loadtest catalog: %v\n%s", err, stderr.String())
	}
	var r struct {
		loadReport
		Steps   map[string]struct{ Requests int64 }
		Catalog struct {
			Reference       string
			Rounds          int
			PhaseS          float64 `json:"phase_s"`
			RPS             map[string]float64
			ProductRatio    float64            `json:"product_ratio"`
			ListRatio       float64            `json:"list_ratio"`
			ProductP99Ratio float64            `json:"product_p99_ratio"`
			ListP99Ratio    float64            `json:"list_p99_ratio"`
			CPU             map[string]float64 `json:"cpu_us_per_request"`
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("catalog report: %v\n%s", err, out)
	}
	c := r.Catalog
	ratio := func(a, b float64) float64 { return float64(int64(a/b*100+0.5)) / 100 }
	p99 := func(step string) float64 { return *r.LatencyMS[step].P99 }
	switch {
	case r.Scenario != "catalog" || c.Rounds != 2 || c.PhaseS != 0.25 || !strings.HasPrefix(c.Reference, "http://127.0.0.1:"):
		t.Errorf("catalog %+v", c)
	case len(r.Errors) != 0 || r.Errors5xx != 0 || r.Requests != r.Steps["reference"].Requests+r.Steps["product"].Requests+r.Steps["list"].Requests:
		t.Errorf("errors %v, 5xx %d, requests %d, steps %v", r.Errors, r.Errors5xx, r.Requests, r.Steps)
	case c.RPS["reference"] <= 0 || c.RPS["product"] <= 0 || c.RPS["list"] <= 0:
		t.Errorf("rates %v: every kind must have run", c.RPS)
	case runtime.GOOS == "linux" && (c.CPU["reference"] <= 0 || c.CPU["product"] <= 0 || c.CPU["list"] <= 0):
		t.Errorf("CPU per request %v: every kind's must be read on Linux", c.CPU)
	case c.ProductRatio != ratio(c.RPS["product"], c.RPS["reference"]) || c.ListRatio != ratio(c.RPS["list"], c.RPS["reference"]) ||
		c.ProductP99Ratio != ratio(p99("product"), p99("reference")) || c.ListP99Ratio != ratio(p99("list"), p99("reference")):
		t.Errorf("ratios %+v of rates %v and p99s %v, %v, %v", c, c.RPS, p99("reference"), p99("product"), p99("list"))
	}
	t.Logf("catalog: %v req/s; product ÷ reference %.2f (p99 %.2f), list %.2f (p99 %.2f)", c.RPS, c.ProductRatio, c.ProductP99Ratio, c.ListRatio, c.ListP99Ratio)
	if resp, err := http.Get(c.Reference); err == nil {
		resp.Body.Close()
		t.Errorf("the reference server at %s still answers after the run", c.Reference)
	}
}

// TestLoadtestUsage checks that bad flags fail fast with exit status 2.
func TestLoadtestUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"loadtest", "drop"}, "--admin-key (or SHOPD_ADMIN_KEY) is required"},
		{[]string{"loadtest", "--admin-key", "k"}, "name one scenario"},
		{[]string{"loadtest", "stampede", "--admin-key", "k"}, `not "stampede"`},
		{[]string{"loadtest", "drop", "--admin-key", "k", "--target", "localhost"}, "--target"},
		{[]string{"loadtest", "browse", "--admin-key", "k", "--storefront", "localhost:8081"}, "--storefront"},
		{[]string{"loadtest", "drop", "--admin-key", "k", "--abandon", "120"}, "--abandon"},
		{[]string{"loadtest", "browse", "--admin-key", "k", "--rate", "0"}, "--rate"},
		{[]string{"loadtest", "renewals", "--admin-key", "k", "--subscriptions", "0"}, "--subscriptions must be from 1"},
		{[]string{"loadtest", "mixed", "--admin-key", "k", "--subscriptions", "-1"}, "--subscriptions must be from 0"},
		{[]string{"loadtest", "mixed", "--admin-key", "k", "--shoppers", "0"}, "--shoppers"},
		{[]string{"loadtest", "catalog", "--admin-key", "k", "--reference", "localhost:1"}, "--reference"},
		{[]string{"loadtest", "catalog", "--admin-key", "k", "--duration", "0s"}, "--duration"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), c.args, func(string) string { return "" }, nil, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.want)
		}
	}
	// The key is never printed as a flag default.
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"loadtest", "-h"}, func(k string) string { return map[string]string{"SHOPD_ADMIN_KEY": "sk_secret"}[k] }, nil, &stdout, &stderr)
	if code != 0 || strings.Contains(stderr.String(), "sk_secret") || !strings.Contains(stderr.String(), "SHOPD_ADMIN_KEY") {
		t.Errorf("loadtest -h: exit %d\n%s", code, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	// Nothing listens on port 1: the setup fails with exit status 1.
	code = run(t.Context(), []string{"loadtest", "drop", "--target", "http://127.0.0.1:1", "--json"},
		func(k string) string { return map[string]string{"SHOPD_ADMIN_KEY": "sk_x"}[k] }, nil, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "setting up") || stdout.Len() != 0 {
		t.Errorf("unreachable target: exit %d, stderr %q, stdout %q", code, stderr.String(), stdout.String())
	}
}

// TestLoadtestFailsOnBrokenInvariants drives a fake shopd that sells 10
// orders for 5 units, charges one order twice and answers one checkout 500:
// the report must say so and the exit status must be 1.
func TestLoadtestFailsOnBrokenInvariants(t *testing.T) {
	var mu sync.Mutex
	var orders []string
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
	mux.HandleFunc("GET /v1/admin/warehouses", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"data":[{"code":"loadtest","markets":["us"]}]}`)
	})
	mux.HandleFunc("POST /v1/admin/products", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 201, `{"id":"prod_1","variants":[{"id":"var_1"}]}`)
	})
	mux.HandleFunc("POST /v1/admin/stock/receive", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"on_hand":5,"updated_at":"2026-01-01T00:00:00Z"}`)
	})
	mux.HandleFunc("GET /v1/products/{product}", func(w http.ResponseWriter, r *http.Request) { reply(w, 200, `{}`) })
	mux.HandleFunc("GET /v1/products", func(w http.ResponseWriter, r *http.Request) { reply(w, 200, `{"data":[]}`) })
	mux.HandleFunc("POST /v1/carts", func(w http.ResponseWriter, r *http.Request) { reply(w, 201, `{"id":"cart_1"}`) })
	mux.HandleFunc("POST /v1/checkouts", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if len(orders) == 10 {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(500)
			io.WriteString(w, `{"type":"https://shopd.dev/problems/internal"}`)
			return
		}
		orders = append(orders, fmt.Sprintf("ord_%d", len(orders)))
		reply(w, 201, `{"id":"`+orders[len(orders)-1]+`"}`)
	})
	mux.HandleFunc("GET /v1/admin/stock", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, `{"data":[{"on_hand":-5,"reserved":0,"available":0}]}`)
	})
	mux.HandleFunc("GET /v1/admin/test-gateway/charges", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var data []string
		for i, id := range append([]string{orders[0]}, orders...) {
			data = append(data, fmt.Sprintf(`{"reference":%q,"created_at":"2026-01-01T00:00:%02dZ"}`, id, 59-i))
		}
		reply(w, 200, `{"data":[`+strings.Join(data, ",")+`]}`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"loadtest", "drop", "--target", srv.URL, "--admin-key", "sk_x", "--shoppers", "11", "--stock", "5", "--abandon", "0", "--json"},
		func(string) string { return "" }, nil, &stdout, &stderr)
	var r loadReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("report: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	if code != 1 || !strings.Contains(stderr.String(), "oversell 5, double charges 1, 1 answers were 5xx") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if r.Orders != 10 || r.UnitsSold != 10 || r.Oversell != 5 || r.DoubleCharges != 1 || r.Errors5xx != 1 || r.Errors["internal"] != 1 || r.Shoppers.Failed != 1 {
		t.Errorf("report %+v", r)
	}
}

// get returns the body of a GET that must answer 200.
// routeRequests sums the requests /metrics counts for the route, whatever
// their status.
func routeRequests(t *testing.T, base, route string) int {
	t.Helper()
	n := 0
	for line := range strings.Lines(get(t, base+"/metrics")) {
		if rest, ok := strings.CutPrefix(line, `shopd_http_requests_total{method="GET",route="`+route+`",`); ok {
			v, err := strconv.Atoi(strings.TrimSpace(rest[strings.LastIndex(rest, " ")+1:]))
			if err != nil {
				t.Fatalf("/metrics: %q", line)
			}
			n += v
		}
	}
	return n
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}
