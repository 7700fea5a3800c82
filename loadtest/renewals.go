package loadtest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// The renewals scenario bills --subscriptions subscriptions in one billing
// run while the browse load runs, and compares the storefront's latency
// during the run with its latency before it.
//
// Set-up, over HTTP like a merchant and its subscribers: a replenishment
// plan (a unit of the run's SKU a month, $10, a one-day trial; or a box
// plan, Config.PlanKind) through the admin API; customers registered through the storefront, each holding up
// to subscriptionsPerCustomer subscriptions that pay with tok_visa
// (shopd has no staff route that subscribes a customer). Each
// subscription's first period starts when its trial ends, a day after it
// was made, so the server's billing worker, which bills on the server
// clock, leaves them alone; the run bills them through POST
// /v1/admin/billing/runs with now = the latest trial end: the test clock,
// which shopd allows only when every payment goes to the test gateway.
// Each renewal invoices the period, charges it, and (replenishment) makes
// the period's order, which sells a unit of the SKU.

// Plan kinds the renewals can bill. A replenishment period's order is
// made and its unit sold in the transaction that settles its payment; a
// box period is invoiced and charged only (its order comes from box
// allocation, later), as in the billing benchmarks.
const (
	PlanReplenishment = "replenishment"
	PlanBox           = "box"
)

// subscriptionsPerCustomer is how many of the run's subscriptions one
// customer holds: registering hashes a password (argon2id, tens of
// milliseconds of a core), so a customer per subscription would make the
// set-up the longest part of the run.
const subscriptionsPerCustomer = 100

// billingStep is the step name of the billing run's request.
const billingStep = "billing_run"

// renewalFixture is what a renewals run set up.
type renewalFixture struct {
	fx        *fixture // the plan's product, with its stock
	stock     int64
	plan      string
	kind      string
	since     time.Time // the server clock when the plan was made: the run's charges are later
	customers []string
	subs      int
	billAt    time.Time // the latest trial end: every subscription is due then
	setup     time.Duration
}

// setUpRenewals makes the plan of fx's SKU, registers the customers and
// subscribes them, n subscriptions in all; stock is the units of the SKU
// received in fx.
func setUpRenewals(ctx context.Context, cl *client, cfg Config, fx *fixture, n int, stock int64) (*renewalFixture, error) {
	began := time.Now()
	rf := &renewalFixture{fx: fx, stock: stock, subs: n, kind: cmp.Or(cfg.PlanKind, PlanReplenishment)}
	var plan struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"created_at"`
	}
	body := map[string]any{
		"name": "Load test renewals " + fx.run, "kind": PlanReplenishment, "trial_days": 1,
		"interval": map[string]any{"unit": "month", "count": 1},
		"prices":   map[string]any{Market: map[string]any{"amount": 1000, "currency": Currency}},
		"items":    []map[string]any{{"variant_id": fx.variantID, "quantity": 1}},
	}
	if cfg.PlanKind == PlanBox {
		body["kind"], body["box_size"] = PlanBox, 1
		delete(body, "items")
	}
	if _, err := cl.admin(ctx, "POST", "/v1/admin/plans", body, &plan, "Idempotency-Key", "loadtest-plan-"+fx.run); err != nil {
		return nil, err
	}
	rf.plan, rf.since = plan.ID, plan.CreatedAt

	k := (n + subscriptionsPerCustomer - 1) / subscriptionsPerCustomer
	rf.customers = make([]string, k)
	tokens := make([]string, k)
	err := parallel(ctx, k, cfg.Connections, func(ctx context.Context, i int) error {
		var reg struct {
			Customer struct {
				ID string `json:"id"`
			} `json:"customer"`
			Session struct {
				Token string `json:"token"`
			} `json:"session"`
		}
		_, err := cl.call(ctx, "POST", "/v1/customers", map[string]any{
			"email": "loadtest-" + fx.run + "-" + strconv.Itoa(i) + "@example.com", "password": "loadtest-" + fx.run,
			"name": "Load Test " + strconv.Itoa(i), "market": Market,
		}, &reg, false)
		rf.customers[i], tokens[i] = reg.Customer.ID, reg.Session.Token
		return err
	})
	if err != nil {
		return nil, err
	}

	var mu sync.Mutex
	err = parallel(ctx, n, cfg.Connections, func(ctx context.Context, i int) error {
		var sub struct {
			NextBillingAt time.Time `json:"next_billing_at"`
		}
		_, err := cl.call(ctx, "POST", "/v1/subscriptions", map[string]any{
			"plan": rf.plan, "market": Market,
			"payment_method": map[string]any{"token": "tok_visa", "brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
			"ship_to":        map[string]string{"name": "Load Test", "line1": "1 Main St", "city": "New York", "region": "NY", "postal_code": "10001", "country": "US"},
		}, &sub, false, "Authorization", "Bearer "+tokens[i%k])
		mu.Lock()
		if sub.NextBillingAt.After(rf.billAt) {
			rf.billAt = sub.NextBillingAt
		}
		mu.Unlock()
		return err
	})
	if err != nil {
		return nil, err
	}
	rf.setup = time.Since(began)
	return rf, nil
}

// parallel calls f for 0..n-1 from at most workers goroutines and returns
// the first error; after one, the calls not yet begun are skipped.
func parallel(ctx context.Context, n, workers int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, workers) {
		wg.Go(func() {
			for i := range next {
				if err := f(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// bill runs the billing as of rf.billAt, calling again while shopd says
// more is due (each call answers within a time budget), recording each
// request as the step billingStep, and returns shopd's account of the run,
// summed over the calls, and how long they took.
func (rf *renewalFixture) bill(ctx context.Context, cl *client, rec *recorder) (BillingRun, time.Duration, error) {
	start := time.Now()
	sums := map[string]int64{} // the counts of every call, by name
	calls := 0
	for {
		var call map[string]any
		sent := time.Now()
		a := cl.do(ctx, "POST", "/v1/admin/billing/runs", map[string]any{"now": rf.billAt}, true)
		ok := a.err == nil && a.status == http.StatusOK && json.Unmarshal(a.body, &call) == nil
		if ctx.Err() != nil {
			return BillingRun{}, time.Since(start), ctx.Err()
		}
		rec.record(billingStep, a, time.Since(sent), ok)
		switch {
		case a.err != nil:
			return BillingRun{}, time.Since(start), fmt.Errorf("billing run: %w", a.err)
		case !ok:
			return BillingRun{}, time.Since(start), fmt.Errorf("billing run: POST /v1/admin/billing/runs: %d %s", a.status, a.body)
		}
		calls++
		for k, v := range call {
			if n, isNum := v.(float64); isNum {
				sums[k] += int64(n)
			}
		}
		if more, _ := call["more"].(bool); !more {
			break
		}
	}
	var run BillingRun
	b, err := json.Marshal(sums)
	if err == nil {
		err = json.Unmarshal(b, &run)
	}
	run.Calls = calls
	return run, time.Since(start), err
}

// renewals returns the Renewals of a billing run that returned run in took.
func (rf *renewalFixture) renewals(run BillingRun, took time.Duration) *Renewals {
	rn := &Renewals{Plan: rf.plan, Kind: rf.kind, SKU: rf.fx.sku, Customers: len(rf.customers), Subscriptions: rf.subs, SetupS: round2(rf.setup.Seconds()),
		BilledAt: rf.billAt, RunS: round2(took.Seconds()), Run: run, Stock: rf.stock}
	if took > 0 {
		rn.PerS = round2(float64(run.Invoiced) / took.Seconds())
	}
	return rn
}

// invoice is what the read-back needs of an invoice.
type invoice struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscription_id"`
	Period         int    `json:"period"`
	Status         string `json:"status"`
	OrderID        string `json:"order_id"`
}

// readBack fills rn from what shopd says after the run: the invoices of the
// run's customers, the stock row of the plan's SKU, and the charges for
// those invoices among charges, the test gateway's ledger since the run
// began.
func (rf *renewalFixture) readBack(ctx context.Context, cl *client, rn *Renewals, charges []charge) error {
	var invs []invoice
	for _, id := range rf.customers {
		for cursor := ""; ; {
			var page struct {
				Data       []invoice `json:"data"`
				NextCursor string    `json:"next_cursor"`
			}
			path := "/v1/admin/invoices?limit=100&customer=" + url.QueryEscape(id)
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			if _, err := cl.admin(ctx, "GET", path, nil, &page); err != nil {
				return err
			}
			invs = append(invs, page.Data...)
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
	}
	rn.tally(invs, charges)
	st, err := readStock(ctx, cl, rf.fx)
	if err != nil {
		return err
	}
	rn.OnHandAfter, rn.ReservedAfter = st.onHand, st.reserved
	rn.UnitsSold = rf.fx.onHand - st.onHand
	// A paid period whose unit was not in stock still gets its order (shopd
	// announces it out of stock): only units sold beyond the stock, or a
	// row below zero, are oversold.
	rn.Oversell = max(0, rn.UnitsSold-rn.Stock, st.below)
	return nil
}

// tally counts the run's invoices by status and their charges: every
// captured charge beyond an invoice's first, and every paid invoice beyond
// the first of a subscription's period, is a double charge.
func (rn *Renewals) tally(invs []invoice, charges []charge) {
	rn.Invoices, rn.InvoicesPaid, rn.InvoicesOpen, rn.InvoicesVoid, rn.Orders = int64(len(invs)), 0, 0, 0, 0
	rn.ChargesCaptured, rn.DoubleCharges, rn.UnchargedInvoices = 0, 0, 0
	perInvoice := make(map[string]int64, len(invs))
	for _, inv := range invs {
		perInvoice[inv.ID] = 0
	}
	for _, c := range charges {
		if n, ok := perInvoice[c.Reference]; ok {
			perInvoice[c.Reference] = n + 1
			rn.ChargesCaptured++
		}
	}
	type period struct {
		sub string
		n   int
	}
	paid := map[period]int64{}
	for _, inv := range invs {
		n := perInvoice[inv.ID]
		rn.DoubleCharges += max(0, n-1)
		switch inv.Status {
		case "paid":
			rn.InvoicesPaid++
			paid[period{inv.SubscriptionID, inv.Period}]++
			if n == 0 {
				rn.UnchargedInvoices++
			}
			if inv.OrderID != "" {
				rn.Orders++
			}
		case "open":
			rn.InvoicesOpen++
		case "void":
			rn.InvoicesVoid++
		}
	}
	for _, n := range paid {
		rn.DoubleCharges += n - 1
	}
}

// runRenewals runs the browse load alone for cfg.Duration, then the
// billing run beside it, and reads the renewals back.
func runRenewals(ctx context.Context, cl *client, cfg Config, fx *fixture) (*Report, error) {
	rf, err := setUpRenewals(ctx, cl, cfg, fx, cfg.Subscriptions, int64(cfg.Stock))
	if err != nil {
		return nil, fmt.Errorf("setting up: %w", err)
	}
	// The browse load has connections of its own (as in mixed).
	bcl := newClient(cfg.forReads())
	defer bcl.hc.CloseIdleConnections()
	b := &browse{cl: bcl, fx: fx, rate: cfg.Rate, conns: cfg.Connections, start: time.Now().Add(50 * time.Millisecond)}
	b.rec = newRecorder(b.start, append(b.steps(), billingStep)...)
	stop := b.rec.progress(cfg.Progress)
	var run BillingRun
	var took time.Duration
	var billErr error
	sf := underLoad(ctx, b, cfg.Duration, func(ctx context.Context) { run, took, billErr = rf.bill(ctx, cl, b.rec) })
	elapsed := time.Since(b.start)
	stop()
	rep := b.rec.report(cfg, fx, elapsed)
	rep.Storefront = sf
	rep.Stock = 0 // the plan's stock: added with the renewals
	rn := rf.renewals(run, took)
	if ctx.Err() != nil {
		rep.addRenewals(rn)
		return rep, ctx.Err()
	}
	// Read back even after a failed billing run: what it did before it
	// failed is in the store.
	rctx := context.WithoutCancel(ctx)
	charges, err := chargesSince(rctx, cl, rf.since)
	if err == nil {
		err = rf.readBack(rctx, cl, rn, charges)
	}
	rep.addRenewals(rn)
	if took > 0 {
		rep.OrdersPerS = round2(float64(rep.Orders) / took.Seconds())
	}
	if err != nil {
		err = fmt.Errorf("reading the results back: %w", err)
	}
	return rep, errors.Join(billErr, err)
}
