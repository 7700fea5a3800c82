// Package loadtest drives a running shopd over HTTP, the way shoppers and
// subscribers do on launch day, and reports throughput, latency and the
// invariants afterwards (no oversell, no double charge, no 5xx). It sets up
// its own data through the admin API: a warehouse, a product with a SKU
// unique to the run, its stock; for renewals also a plan of that SKU, and
// customers subscribed to it through the storefront API (shopd has no
// staff route that subscribes a customer).
//
// Latency is measured the coordinated-omission-safe way: every request has an
// intended send time from an open-loop schedule (a fixed rate, or shoppers
// arriving over a ramp), and its latency runs from that time, so time spent
// waiting for a free connection because the server is slow counts too.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scenarios are the scenarios Run knows.
var Scenarios = []string{"browse", "catalog", "drop", "renewals", "mixed"}

// Market is the market every scenario shops in, priced in Currency.
const (
	Market   = "us"
	Currency = "USD"
	// WarehouseCode is the warehouse the runs receive their stock into; it is
	// created serving Market when missing.
	WarehouseCode = "loadtest"
)

// Config is one run.
type Config struct {
	Scenario string // one of Scenarios
	Target   string // shopd's base URL, like http://127.0.0.1:8080
	// Storefront, if set, is the base URL the storefront's catalog reads
	// (product pages, lists) go to instead of Target: a shopd serving
	// them in a process of its own (serve --role storefront).
	Storefront string
	AdminKey   string // a staff key with the admin role, for the setup and read-back

	Shoppers int           // drop: virtual shoppers
	Stock    int           // units received for the run's SKU
	Ramp     time.Duration // drop: shoppers arrive evenly over this time
	Abandon  float64       // drop: share of shoppers who leave after the cart
	Patience time.Duration // drop: how long a shopper keeps trying a queued or refused (429) checkout

	Duration time.Duration // browse: how long to send; catalog: all phases together; renewals, mixed: the browse load alone before the work starts
	Rate     int           // browse, renewals, mixed: storefront requests per second

	Reference string // catalog: the base URL of a server answering every GET with Reference's bytes

	Subscriptions int    // renewals: subscriptions billed in the run; mixed: the same, 0 for none
	PlanKind      string // renewals, mixed: the plan's kind, PlanReplenishment ("" too) or PlanBox

	Connections int           // HTTP connections to shopd, and requests in flight at most
	Timeout     time.Duration // bound on one request
	Progress    io.Writer     // a progress line each second; nil for none
	Seed        uint64        // picks the abandoning shoppers; 0 for the clock
}

// Validate checks the configuration.
func (c Config) Validate() error {
	var problems []string
	duration := func() {
		if c.Duration <= 0 || c.Duration > 24*time.Hour {
			problems = append(problems, "--duration must be from 1ns to 24h")
		}
	}
	browse := func() {
		if c.Rate < 1 || c.Rate > 1_000_000 {
			problems = append(problems, "--rate must be from 1 to 1000000")
		}
		duration()
	}
	stock := func(least int) {
		if c.Stock < least || c.Stock > 1_000_000 {
			problems = append(problems, fmt.Sprintf("--stock must be from %d to 1000000", least))
		}
	}
	drop := func() {
		if c.Shoppers < 1 || c.Shoppers > 10_000_000 {
			problems = append(problems, "--shoppers must be from 1 to 10000000")
		}
		stock(1)
		if c.Ramp < 0 {
			problems = append(problems, "--ramp must not be negative")
		}
		if c.Abandon < 0 || c.Abandon > 1 {
			problems = append(problems, "--abandon must be from 0 to 1")
		}
		if c.Patience <= 0 {
			problems = append(problems, "--patience must be positive")
		}
	}
	subscriptions := func(least int) {
		if c.Subscriptions < least || c.Subscriptions > 1_000_000 {
			problems = append(problems, fmt.Sprintf("--subscriptions must be from %d to 1000000", least))
		}
		if c.PlanKind != "" && c.PlanKind != PlanReplenishment && c.PlanKind != PlanBox {
			problems = append(problems, fmt.Sprintf("--plan-kind must be %s or %s, not %q", PlanReplenishment, PlanBox, c.PlanKind))
		}
	}
	switch c.Scenario {
	case "browse":
		browse()
		stock(0)
	case "catalog":
		duration()
		stock(0)
		if u, err := url.Parse(c.Reference); err != nil || u.Scheme != "http" || u.Host == "" {
			problems = append(problems, fmt.Sprintf("--reference %q must be an http:// URL", c.Reference))
		}
	case "drop":
		drop()
	case "renewals":
		browse()
		stock(0)
		subscriptions(1)
	case "mixed":
		browse()
		drop()
		subscriptions(0)
	default:
		problems = append(problems, fmt.Sprintf("scenario must be one of %s, not %q", strings.Join(Scenarios, ", "), c.Scenario))
	}
	if u, err := url.Parse(c.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("--target %q must be an http:// or https:// URL", c.Target))
	}
	if u, err := url.Parse(c.Storefront); c.Storefront != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		problems = append(problems, fmt.Sprintf("--storefront %q must be an http:// or https:// URL", c.Storefront))
	}
	if c.AdminKey == "" {
		problems = append(problems, "--admin-key (or SHOPD_ADMIN_KEY) is required: a key from `shopd admin create-key --role admin`")
	}
	if c.Connections < 1 || c.Connections > 100_000 {
		problems = append(problems, "--connections must be from 1 to 100000")
	}
	if c.Timeout <= 0 {
		problems = append(problems, "--timeout must be positive")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Run sets the scenario up, runs it and reads the results back. The report
// is returned even when it shows a broken invariant (see Report.Failed); an
// error means the run could not be made or read back.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	cl := newClient(cfg)
	defer cl.hc.CloseIdleConnections()
	if cfg.Storefront != "" {
		cl.reads = newClient(cfg.forReads())
		defer cl.reads.hc.CloseIdleConnections()
	}
	fx, err := setUp(ctx, cl, cfg)
	if err != nil {
		return nil, fmt.Errorf("setting up: %w", err)
	}
	switch cfg.Scenario {
	case "browse":
		return runBrowse(ctx, cl, cfg, fx)
	case "catalog":
		return runCatalog(ctx, cl, cfg, fx)
	case "renewals":
		return runRenewals(ctx, cl, cfg, fx)
	case "mixed":
		return runMixed(ctx, cl, cfg, fx)
	default:
		return runDrop(ctx, cl, cfg, fx)
	}
}

// client talks to shopd over one Transport, so connections are reused.
type client struct {
	base  string
	key   string
	hc    *http.Client
	reads *client // for the storefront's catalog reads: itself, or one to Config.Storefront (Run)
}

// forReads is the configuration of a client for the storefront's catalog
// reads: Target is Storefront, if set.
func (c Config) forReads() Config {
	if c.Storefront != "" {
		c.Target = c.Storefront
	}
	return c
}

func newClient(cfg Config) *client {
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.Connections,
		MaxIdleConnsPerHost: cfg.Connections,
		// Beyond this, requests wait for a connection; the wait counts in
		// their latency, as it would for a shopper.
		MaxConnsPerHost: cfg.Connections,
		IdleConnTimeout: 90 * time.Second,
	}
	c := &client{base: strings.TrimRight(cfg.Target, "/"), key: cfg.AdminKey, hc: &http.Client{Transport: tr, Timeout: cfg.Timeout}}
	c.reads = c
	return c
}

// answer is shopd's answer to one request.
type answer struct {
	status  int
	body    []byte
	header  http.Header
	problem string // the problem type's last path segment, for problem+json
	err     error  // no answer
}

// kind names an answer for the error tally: the problem type, else
// "http-STATUS", or "transport" when there was no answer.
func (a answer) kind() string {
	switch {
	case a.err != nil:
		return "transport"
	case a.problem != "":
		return a.problem
	default:
		return "http-" + strconv.Itoa(a.status)
	}
}

// do sends a request; headers are name, value pairs. The body is read to
// the end so the connection goes back to the pool.
func (c *client) do(ctx context.Context, method, path string, body any, admin bool, headers ...string) answer {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return answer{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	if a.body, err = io.ReadAll(resp.Body); err != nil {
		return answer{err: err}
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		var p struct{ Type string }
		if json.Unmarshal(a.body, &p) == nil {
			a.problem = p.Type[strings.LastIndexByte(p.Type, '/')+1:]
		}
	}
	return a
}

// admin sends a staff request and decodes a 2xx answer into out (if not nil).
func (c *client) admin(ctx context.Context, method, path string, body, out any, headers ...string) (int, error) {
	return c.call(ctx, method, path, body, out, true, headers...)
}

// call sends a request, as staff if admin, and decodes a 2xx answer into
// out (if not nil); any other answer is an error.
func (c *client) call(ctx context.Context, method, path string, body, out any, admin bool, headers ...string) (int, error) {
	a := c.do(ctx, method, path, body, admin, headers...)
	if a.err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, a.err)
	}
	if a.status < 200 || a.status > 299 {
		return a.status, fmt.Errorf("%s %s: %d %s", method, path, a.status, bytes.TrimSpace(a.body))
	}
	if out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			return a.status, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return a.status, nil
}

// fixture is the data a run set up.
type fixture struct {
	run       string // unique to the run
	handle    string
	productID string
	variantID string
	sku       string
	onHand    int64     // the SKU's units on hand after the receipt
	since     time.Time // the server's clock at the receipt: the run's charges are later
	etag      string    // of the product page
	listQuery string    // a filtered product list
	listETag  string
}

// setUp makes sure the warehouse exists, creates the run's product and
// receives its stock.
func setUp(ctx context.Context, cl *client, cfg Config) (*fixture, error) {
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	fx := &fixture{run: run, handle: "loadtest-" + run, sku: "LT-" + strings.ToUpper(run)}
	var whs struct {
		Data []struct {
			Code    string   `json:"code"`
			Markets []string `json:"markets"`
		} `json:"data"`
	}
	if _, err := cl.admin(ctx, "GET", "/v1/admin/warehouses", nil, &whs); err != nil {
		return nil, err
	}
	found := false
	for _, w := range whs.Data {
		if w.Code != WarehouseCode {
			continue
		}
		found = true
		serves := false
		for _, m := range w.Markets {
			serves = serves || m == Market
		}
		if !serves {
			return nil, fmt.Errorf("warehouse %q exists but does not serve market %q", WarehouseCode, Market)
		}
	}
	if !found {
		status, err := cl.admin(ctx, "POST", "/v1/admin/warehouses", map[string]any{
			"code": WarehouseCode, "name": "Load test", "markets": []string{Market}, "priority": 1}, nil)
		// 409: another run created it meanwhile.
		if err != nil && status != http.StatusConflict {
			return nil, err
		}
	}
	var product struct {
		ID       string `json:"id"`
		Variants []struct {
			ID string `json:"id"`
		} `json:"variants"`
	}
	if _, err := cl.admin(ctx, "POST", "/v1/admin/products", map[string]any{
		"title": "Load test " + run, "handle": fx.handle, "status": "active",
		"attributes": map[string][]string{"brand": {"shopd-loadtest"}, "category": {"drop"}},
		"variants": []map[string]any{{"sku": fx.sku, "prices": map[string]any{
			Market: map[string]any{"amount": map[string]any{"amount": 2500, "currency": Currency}}}}},
	}, &product, "Idempotency-Key", "loadtest-product-"+run); err != nil {
		return nil, err
	}
	if len(product.Variants) != 1 {
		return nil, fmt.Errorf("the new product has %d variants, want 1", len(product.Variants))
	}
	fx.productID, fx.variantID = product.ID, product.Variants[0].ID
	if cfg.Stock > 0 {
		var stock struct {
			OnHand    int64     `json:"on_hand"`
			UpdatedAt time.Time `json:"updated_at"`
		}
		if _, err := cl.admin(ctx, "POST", "/v1/admin/stock/receive", map[string]any{
			"warehouse": WarehouseCode, "sku": fx.sku, "quantity": cfg.Stock, "reference": "loadtest-" + run,
		}, &stock, "Idempotency-Key", "loadtest-stock-"+run); err != nil {
			return nil, err
		}
		fx.onHand, fx.since = stock.OnHand, stock.UpdatedAt
	}
	fx.listQuery = "/v1/products?market=" + Market + "&attr.brand=shopd-loadtest&attr.category=drop,serum&limit=20"
	if err := fx.validators(ctx, cl); err != nil {
		return nil, err
	}
	return fx, nil
}

// validators reads the product page and the list, keeping their ETags for
// the browse load's revalidations; a set-up that changes the list (another
// run product) reads them again.
func (fx *fixture) validators(ctx context.Context, cl *client) error {
	a := cl.do(ctx, "GET", "/v1/products/"+fx.handle+"?market="+Market, nil, false)
	if a.err != nil || a.status != http.StatusOK {
		return fmt.Errorf("the new product is not on the storefront: %d %s %v", a.status, a.body, a.err)
	}
	fx.etag = a.header.Get("ETag")
	a = cl.do(ctx, "GET", fx.listQuery, nil, false)
	if a.err != nil || a.status != http.StatusOK {
		return fmt.Errorf("product list: %d %s %v", a.status, a.body, a.err)
	}
	fx.listETag = a.header.Get("ETag")
	return nil
}

// recorder tallies requests as they finish; it is safe for concurrent use.
type recorder struct {
	start time.Time
	names []string
	steps map[string]*stepRecord

	requests, errs, errs5xx, orders, notModified atomic.Int64

	mu     sync.Mutex
	window Histogram // every step since the last progress line
	kinds  map[string]int64
}

type stepRecord struct {
	mu       sync.Mutex
	hist     Histogram
	statuses map[int]int64
	problems map[string]int64
}

func newRecorder(start time.Time, names ...string) *recorder {
	r := &recorder{start: start, names: names, steps: map[string]*stepRecord{}, kinds: map[string]int64{}}
	for _, n := range names {
		r.steps[n] = &stepRecord{statuses: map[int]int64{}, problems: map[string]int64{}}
	}
	return r
}

// record tallies one answer to a request of the step; expected says whether
// it is an answer the scenario plans for (else it counts as an error).
func (r *recorder) record(step string, a answer, latency time.Duration, expected bool) {
	r.add(step, []sample{a.sample(latency, expected)})
}

// sample is what the recorder keeps of one answer.
type sample struct {
	status   int
	problem  string
	kind     string // answer.kind of an unexpected answer, for the error tally
	latency  time.Duration
	expected bool
}

// sample returns what the recorder keeps of the answer.
func (a answer) sample(latency time.Duration, expected bool) sample {
	x := sample{status: a.status, problem: a.problem, latency: latency, expected: expected}
	if !expected {
		x.kind = a.kind()
	}
	return x
}

// add tallies answers to requests of the step, taking each lock once: a
// closed loop that keeps its answers and adds them in batches spares the
// load generator a lock per request.
func (r *recorder) add(step string, samples []sample) {
	var notModified, errs5xx, unexpected int64
	for _, x := range samples {
		notModified += b2i(x.status == http.StatusNotModified)
		errs5xx += b2i(x.status >= 500)
		unexpected += b2i(!x.expected)
	}
	r.requests.Add(int64(len(samples)))
	r.notModified.Add(notModified)
	r.errs5xx.Add(errs5xx)
	s := r.steps[step]
	s.mu.Lock()
	for _, x := range samples {
		s.hist.Record(x.latency)
		s.statuses[x.status]++
		if x.problem != "" {
			s.problems[x.problem]++
		}
	}
	s.mu.Unlock()
	r.mu.Lock()
	for _, x := range samples {
		r.window.Record(x.latency)
		if !x.expected {
			r.kinds[x.kind]++
		}
	}
	r.mu.Unlock()
	r.errs.Add(unexpected)
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// progress writes a line to w every second until stop is called.
func (r *recorder) progress(w io.Writer) (stop func()) {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		last, lastReq, lastOrders := r.start, int64(0), int64(0)
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				r.mu.Lock()
				p99 := r.window.Quantile(0.99)
				r.window = Histogram{}
				r.mu.Unlock()
				req, orders := r.requests.Load(), r.orders.Load()
				secs := now.Sub(last).Seconds()
				fmt.Fprintf(w, "%6.1fs %8.0f req/s %7.0f orders/s %6d errors  p99 %7.1f ms\n",
					now.Sub(r.start).Seconds(), float64(req-lastReq)/secs, float64(orders-lastOrders)/secs, r.errs.Load(), float64(p99)/1e6)
				last, lastReq, lastOrders = now, req, orders
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// report fills the request figures of a report for a run that took elapsed.
func (r *recorder) report(cfg Config, fx *fixture, elapsed time.Duration) *Report {
	rep := &Report{
		Scenario: cfg.Scenario, DurationS: round2(elapsed.Seconds()), Requests: r.requests.Load(), Stock: int64(cfg.Stock),
		Errors5xx: r.errs5xx.Load(), LatencyMS: map[string]Latency{}, Target: cfg.Target, SKU: fx.sku, Product: fx.handle,
		Connections: cfg.Connections, Steps: map[string]Step{}, Errors: map[string]int64{}, NotModified: r.notModified.Load(),
		steps: r.names,
	}
	if elapsed > 0 {
		rep.RPS = round2(float64(rep.Requests) / elapsed.Seconds())
	}
	for _, n := range r.names {
		s := r.steps[n]
		s.mu.Lock()
		st := Step{Requests: int64(s.hist.Count()), Statuses: map[int]int64{}, Problems: map[string]int64{}}
		for k, v := range s.statuses {
			st.Statuses[k] = v
		}
		for k, v := range s.problems {
			st.Problems[k] = v
		}
		if elapsed > 0 {
			st.RPS = round2(float64(st.Requests) / elapsed.Seconds())
		}
		rep.LatencyMS[n] = s.hist.Summary()
		s.mu.Unlock()
		rep.Steps[n] = st
	}
	r.mu.Lock()
	for k, v := range r.kinds {
		rep.Errors[k] = v
	}
	r.mu.Unlock()
	return rep
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

// sleepUntil waits until t or until ctx is done; it reports whether t came.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
