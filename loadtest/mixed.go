package loadtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// runMixed is launch day with subscribers: the browse load runs alone for
// cfg.Duration, then the drop's shoppers start arriving and, when
// cfg.Subscriptions > 0, the billing run of that many renewals starts with
// them; the browse load stops when both are done. It is one report: the
// browse steps (named "browse_…" apart from a shopper's "product"), the
// drop's and the billing run's; the storefront before and during; the
// drop's shoppers; the renewals. The renewals' plan sells a SKU of its
// own, received with a unit per subscription (none for a box plan), so the drop's units sold
// and oversell stay its own (Report.Drop); the top-level figures add both.
func runMixed(ctx context.Context, cl *client, cfg Config, fx *fixture) (*Report, error) {
	var rf *renewalFixture
	if cfg.Subscriptions > 0 {
		rcfg := cfg
		rcfg.Stock = cfg.Subscriptions // a unit for each period's order
		if cfg.PlanKind == PlanBox {
			rcfg.Stock = 0 // box periods sell nothing when billed
		}
		rfx, err := setUp(ctx, cl, rcfg)
		if err == nil {
			rf, err = setUpRenewals(ctx, cl, cfg, rfx, cfg.Subscriptions, int64(rcfg.Stock))
		}
		if err == nil {
			err = fx.validators(ctx, cl) // the list has the renewals' product now
		}
		if err != nil {
			return nil, fmt.Errorf("setting up: %w", err)
		}
	}
	// The browse load has connections of its own, so its latency is the
	// server's and not a wait for a connection a shopper holds.
	bcl := newClient(cfg.forReads())
	defer bcl.hc.CloseIdleConnections()
	b := &browse{cl: bcl, fx: fx, rate: cfg.Rate, conns: cfg.Connections, start: time.Now().Add(50 * time.Millisecond), prefix: "browse_"}
	steps := append(b.steps(), dropSteps...)
	if rf != nil {
		steps = append(steps, billingStep)
	}
	b.rec = newRecorder(b.start, steps...)
	d := &dropLoad{cl: cl, cfg: cfg, fx: fx, rec: b.rec}
	stop := b.rec.progress(cfg.Progress)
	var run BillingRun
	var took time.Duration
	var billErr error
	sf := underLoad(ctx, b, cfg.Duration, func(ctx context.Context) {
		d.start = time.Now()
		var wg sync.WaitGroup
		if rf != nil {
			wg.Go(func() { run, took, billErr = rf.bill(ctx, cl, b.rec) })
		}
		d.run(ctx)
		wg.Wait()
	})
	elapsed := time.Since(b.start)
	stop()
	rep := b.rec.report(cfg, fx, elapsed)
	rep.Storefront = sf
	orders, paid := d.results(rep)
	var rn *Renewals
	if rf != nil {
		rn = rf.renewals(run, took)
	}
	// Read back even after a failed billing run: what it did before it
	// failed is in the store.
	err := ctx.Err()
	if err == nil {
		rctx := context.WithoutCancel(ctx)
		var charges []charge
		charges, err = chargesSince(rctx, cl, fx.since) // the drop's receipt came before the renewals' set-up
		if err == nil {
			err = readBack(rctx, cl, fx, rep, orders, paid, charges)
		}
		if err == nil && rf != nil {
			err = rf.readBack(rctx, cl, rn, charges)
		}
		if err != nil {
			err = fmt.Errorf("reading the results back: %w", err)
		}
	}
	ds := rep.dropSales()
	rep.Drop = &ds
	if rn != nil {
		rep.addRenewals(rn)
	}
	if sf.During.Seconds > 0 {
		rep.OrdersPerS = round2(float64(rep.Orders) / sf.During.Seconds)
	}
	return rep, errors.Join(billErr, err)
}
