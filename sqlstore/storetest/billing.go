package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/subscription"
)

// billFix is a store with subscriptions, the test gateway and a biller, all
// on one test clock.
type billFix struct {
	db     *sqlstore.DB
	clock  *shopd.TestClock
	subs   *subscription.Service
	biller *subscription.Biller
	ledger *testgateway.Gateway
	plan   subscription.Plan
}

func newBillFix(t *testing.T, db *sqlstore.DB, rules subscription.BillingRules) *billFix {
	t.Helper()
	clock := shopd.NewTestClock(time.Date(2027, 1, 31, 15, 0, 0, 0, time.UTC)) // 10:00 in New York
	f := &billFix{db: db, clock: clock, subs: SubscriptionService(t, db, clock)}
	f.ledger = testgateway.New(db.TestGatewayLedger(), testgateway.Options{Clock: clock})
	payments := payment.NewService(db.Payments(), clock, payment.WithGateway(f.ledger))
	f.biller = subscription.NewBiller(db.Billing(), payments, market.NewService(db.Markets(), clock), clock, rules)
	var err error
	if f.plan, err = f.subs.CreatePlan(ctx, SampleBoxPlan(0)); err != nil {
		t.Fatal(err)
	}
	return f
}

// subscribe starts a subscription paying with token.
func (f *billFix) subscribe(t *testing.T, customer, token string) subscription.Subscription {
	t.Helper()
	ns := SampleSubscriber(customer, f.plan.ID)
	ns.PaymentMethod.Token = token
	s, err := f.subs.Subscribe(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// run bills at the clock's time and checks what the run did.
func (f *billFix) run(t *testing.T, want subscription.RunResult) {
	t.Helper()
	got, err := f.biller.Run(ctx)
	if err != nil || got != want {
		t.Fatalf("billing run at %s: %+v, %v; want %+v", f.clock.Now().Format(time.RFC3339), got, err, want)
	}
}

func (f *billFix) sub(t *testing.T, id string) subscription.Subscription {
	t.Helper()
	s, err := f.subs.Subscription(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// invoices returns a subscription's invoices as "period:status:attempts".
func (f *billFix) invoices(t *testing.T, subID string) []string {
	t.Helper()
	invs, err := f.db.Invoices(ctx, subID, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(invs) - 1; i >= 0; i-- {
		out = append(out, fmt.Sprintf("%d:%s:%d", invs[i].Period, invs[i].Status, invs[i].Attempts))
	}
	return out
}

// captured counts the test gateway's captured charges: money really taken.
func (f *billFix) captured(t *testing.T) int {
	t.Helper()
	_, counts, err := f.ledger.Charges(ctx, testgateway.Filter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return counts.Captured
}

func testBilling(t *testing.T, db *sqlstore.DB) {
	f := newBillFix(t, db, subscription.DefaultBillingRules())
	good := f.subscribe(t, "cus_good", "tok_visa")
	soft := f.subscribe(t, "cus_soft", "tok_declined")
	stolen := f.subscribe(t, "cus_stolen", "tok_stolen")
	leaving := f.subscribe(t, "cus_leaving", "tok_visa")

	// Period 0 of all four is due at once: two are paid, two declined.
	f.run(t, subscription.RunResult{Invoiced: 4, Charged: 2, Declined: 2})
	f.run(t, subscription.RunResult{}) // nothing is billed twice
	for id, want := range map[string]subscription.Status{good.ID: subscription.StatusActive, soft.ID: subscription.StatusPastDue,
		stolen.ID: subscription.StatusPastDue, leaving.ID: subscription.StatusActive} {
		if s := f.sub(t, id); s.Status != want {
			t.Fatalf("%s after the first run: %s, want %s", s.CustomerID, s.Status, want)
		}
	}
	if _, err := f.subs.Cancel(ctx, "", leaving.ID, true); err != nil {
		t.Fatal(err)
	}

	// Day 1: the soft decline is retried and declined again; the stolen
	// card is never retried.
	f.clock.Advance(24 * time.Hour)
	f.run(t, subscription.RunResult{Retried: 1, Declined: 1})
	// A new card; the retry on day 2 takes it.
	if _, err := f.subs.UpdatePaymentMethod(ctx, "", soft.ID, payment.Method{Token: "tok_visa"}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(24 * time.Hour)
	f.run(t, subscription.RunResult{Retried: 1, Charged: 1})
	if s := f.sub(t, soft.ID); s.Status != subscription.StatusActive || s.NextPeriod != 1 {
		t.Fatalf("recovered subscription: %+v", s)
	}

	// Day 14: the stolen card's invoice is given up and the subscription
	// paused (the default policy).
	f.clock.Advance(12 * 24 * time.Hour)
	f.run(t, subscription.RunResult{GaveUp: 1})
	if s := f.sub(t, stolen.ID); s.Status != subscription.StatusPaused {
		t.Fatalf("given up: %+v", s)
	}

	// Feb 28, 10:00 New York (the Jan 31 anchor, clamped): period 1. The
	// subscription set to cancel at period end is canceled, not billed.
	f.clock.Set(time.Date(2027, 2, 28, 15, 0, 0, 0, time.UTC))
	f.run(t, subscription.RunResult{Invoiced: 2, Charged: 2, Canceled: 1})
	if s := f.sub(t, leaving.ID); s.Status != subscription.StatusCanceled {
		t.Fatalf("cancel at period end: %+v", s)
	}
	for id, want := range map[string][]string{
		good.ID:    {"0:paid:1", "1:paid:1"},
		soft.ID:    {"0:paid:3", "1:paid:1"},
		stolen.ID:  {"0:void:1"},
		leaving.ID: {"0:paid:1"},
	} {
		if got := f.invoices(t, id); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("invoices of %s: %v, want %v", f.sub(t, id).CustomerID, got, want)
		}
	}
	// Money taken: exactly one capture per paid invoice.
	if n := f.captured(t); n != 5 {
		t.Errorf("%d charges captured, want 5 (one per paid invoice)", n)
	}

	// A year later in one run: eleven more periods each, paid in order.
	f.clock.Set(time.Date(2028, 1, 31, 15, 0, 0, 0, time.UTC))
	f.run(t, subscription.RunResult{Invoiced: 22, Charged: 22})
	if s := f.sub(t, good.ID); s.PeriodIndex != 12 || s.NextPeriod != 13 ||
		!s.NextBillingAt.Equal(time.Date(2028, 2, 29, 15, 0, 0, 0, time.UTC)) {
		t.Fatalf("after a year: period %d, next %d at %v", s.PeriodIndex, s.NextPeriod, s.NextBillingAt)
	}
	if n := f.captured(t); n != 27 {
		t.Errorf("%d charges captured, want 27", n)
	}
}

// testBillingRunBudget: a run with a time budget that has passed runs one
// batch, waits for its charges and says there is more; calls until it
// says there is not bill every due subscription exactly once.
func testBillingRunBudget(t *testing.T, db *sqlstore.DB) {
	f := newBillFix(t, db, subscription.DefaultBillingRules())
	f.biller.BatchSize = 2
	for i := range 7 {
		f.subscribe(t, fmt.Sprintf("cus_budget_%d", i), "tok_visa")
	}
	want := []subscription.RunResult{
		{Invoiced: 2, Charged: 2, More: true}, {Invoiced: 2, Charged: 2, More: true}, {Invoiced: 2, Charged: 2, More: true},
		{Invoiced: 1, Charged: 1, More: true}, {},
	}
	for i, w := range want {
		got, err := f.biller.RunAtFor(ctx, f.clock.Now(), time.Nanosecond)
		if err != nil || got != w {
			t.Fatalf("call %d: %+v, %v; want %+v", i+1, got, err, w)
		}
	}
	if n := f.captured(t); n != 7 {
		t.Errorf("%d charges captured, want 7", n)
	}
}

// testBillingConcurrentRuns: eight billing runs at once over 60 due
// subscriptions invoice and charge each period exactly once.
func testBillingConcurrentRuns(t *testing.T, db *sqlstore.DB) {
	f := newBillFix(t, db, subscription.DefaultBillingRules())
	const n = 60
	for i := range n {
		f.subscribe(t, fmt.Sprintf("cus_%02d", i), "tok_visa")
	}
	var wg sync.WaitGroup
	results := make([]subscription.RunResult, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = f.biller.Run(ctx)
		}()
	}
	wg.Wait()
	var total subscription.RunResult
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		total.Invoiced += r.Invoiced
		total.Charged += r.Charged
	}
	if total.Invoiced != n || total.Charged != n || f.captured(t) != n {
		t.Fatalf("%d invoiced, %d charged, %d captured; want %d each", total.Invoiced, total.Charged, f.captured(t), n)
	}
}
