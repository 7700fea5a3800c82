package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/sqlstore"
)

// payEnv is a payment service on the test gateway, with a settle hook that
// counts its runs and writes a marker event in the settling transaction.
type payEnv struct {
	t      *testing.T
	db     *sqlstore.DB
	clock  *shopd.TestClock
	gw     *testgateway.Gateway
	svc    *payment.Service
	hooked sync.Map // payment ID → *atomic.Int64
	fail   atomic.Bool
}

// newPayEnv's gateway calls time out after callTimeout (the test gateway
// shares the database, so on SQLite its writes queue behind the caller's).
func newPayEnv(t *testing.T, db *sqlstore.DB, opts testgateway.Options, callTimeout time.Duration) *payEnv {
	clock := shopd.NewTestClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	opts.Clock = clock
	e := &payEnv{t: t, db: db, clock: clock, gw: testgateway.New(db.TestGatewayLedger(), opts)}
	e.svc = payment.NewService(db.Payments(), clock, payment.WithGateway(e.gw), payment.WithCallTimeout(callTimeout))
	e.svc.OnSettle(func(ctx context.Context, tx payment.Tx, p payment.Payment) error {
		if e.fail.Load() {
			return errors.New("hook refuses")
		}
		if _, ok := tx.(*sqlstore.Tx); !ok {
			t.Errorf("hook got %T, want the store's *sqlstore.Tx", tx)
		}
		n, _ := e.hooked.LoadOrStore(p.ID, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		ev, err := event.New("test.settled", p.ID, map[string]string{"status": string(p.Status)}, p.UpdatedAt)
		if err != nil {
			return err
		}
		return tx.AppendEvent(ctx, ev)
	})
	return e
}

func (e *payEnv) create(token string, amount int64, capture bool) payment.Payment {
	e.t.Helper()
	p, err := e.svc.Create(ctx, payment.Request{Reference: shopd.NewID("ord"), Amount: shopd.Money{Amount: amount, Currency: "USD"},
		Capture: capture, Method: payment.Method{Token: token}})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

// hooks returns how often the settle hook ran (and committed) for a payment,
// counted from the marker events in the outbox.
func (e *payEnv) hooks(id string) int {
	e.t.Helper()
	evs, err := event.NewService(e.db.Events()).Events(ctx, event.Filter{Type: "test.settled", Subject: id, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(evs)
}

// events returns the types of payment events about a payment, in order.
func (e *payEnv) events(id string) []string {
	e.t.Helper()
	evs, err := event.NewService(e.db.Events()).Events(ctx, event.Filter{Type: "payment.", Subject: id, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

func (e *payEnv) counts() testgateway.Counts {
	e.t.Helper()
	_, c, err := e.gw.Charges(ctx, testgateway.Filter{Limit: 1})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *payEnv) get(id string) payment.Payment {
	e.t.Helper()
	p, err := e.svc.Payment(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func testPayments(t *testing.T, db *sqlstore.DB) {
	t.Run("outcomes", func(t *testing.T) { testPaymentOutcomes(t, Open(t, db.Dialect())) })
	t.Run("in doubt", func(t *testing.T) { testPaymentsInDoubt(t, Open(t, db.Dialect())) })
	t.Run("hook failure", func(t *testing.T) { testPaymentHookFailure(t, Open(t, db.Dialect())) })
	t.Run("authorize capture void", func(t *testing.T) { testPaymentCapture(t, Open(t, db.Dialect())) })
	t.Run("concurrent execute", func(t *testing.T) { testPaymentConcurrentExecute(t, Open(t, db.Dialect())) })
	t.Run("refunds", func(t *testing.T) { testPaymentRefunds(t, Open(t, db.Dialect())) })
	t.Run("fault injection", func(t *testing.T) { testPaymentFaults(t, Open(t, db.Dialect())) })
	t.Run("list", func(t *testing.T) { testPaymentList(t, db) })
}

func testPaymentOutcomes(t *testing.T, db *sqlstore.DB) {
	e := newPayEnv(t, db, testgateway.Options{}, 10*time.Second)
	for _, c := range []struct {
		token    string
		status   payment.Status
		failType string
		hard     bool
		captured int64
		event    string
	}{
		{"tok_visa", payment.StatusSucceeded, "", false, 2500, "payment.succeeded"},
		{"tok_mastercard", payment.StatusSucceeded, "", false, 2500, "payment.succeeded"},
		{"tok_declined", payment.StatusFailed, "card-declined", false, 0, "payment.failed"},
		{"tok_insufficient_funds", payment.StatusFailed, "insufficient-funds", false, 0, "payment.failed"},
		{"tok_expired", payment.StatusFailed, "expired-card", true, 0, "payment.failed"},
		{"tok_stolen", payment.StatusFailed, "stolen-card", true, 0, "payment.failed"},
		{"tok_lost", payment.StatusFailed, "lost-card", true, 0, "payment.failed"},
		{"tok_fraud", payment.StatusFailed, "fraudulent", true, 0, "payment.failed"},
		{"tok_closed", payment.StatusFailed, "account-closed", true, 0, "payment.failed"},
		{"tok_unknown_thing", payment.StatusFailed, "invalid-payment-method", true, 0, "payment.failed"},
	} {
		t.Run(c.token, func(t *testing.T) {
			p := e.create(c.token, 2500, true)
			eq(t, "new status", p.Status, payment.StatusPending)
			eq(t, "key", p.IdempotencyKey, payment.IdempotencyKey(p.ID))
			got, err := e.svc.Execute(ctx, p.ID)
			if c.failType == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				d, ok := payment.DeclineOf(err)
				if !ok {
					t.Fatalf("err = %v, want a decline", err)
				}
				eq(t, "code", shopd.ErrorCode(err), shopd.EPAYMENT)
				var se *shopd.Error
				if !errors.As(err, &se) || se.Type != c.failType {
					t.Fatalf("shopd error = %+v, want type %s", se, c.failType)
				}
				eq(t, "decline type", d.Type, c.failType)
				eq(t, "hard", d.Hard, c.hard)
				eq(t, "IsHardDecline", payment.IsHardDecline(err), c.hard)
			}
			stored := e.get(p.ID)
			eq(t, "returned status", got.Status, c.status)
			eq(t, "stored status", stored.Status, c.status)
			eq(t, "failure type", stored.FailureType, c.failType)
			eq(t, "hard", stored.HardDecline, c.hard)
			eq(t, "captured", stored.Captured, c.captured)
			eq(t, "attempts", stored.Attempts, 1)
			eq(t, "charge id set", stored.ChargeID != "", true)
			eq(t, "settled at", stored.SettledAt.Equal(e.clock.Now()), true)
			eq(t, "hook runs", e.hooks(p.ID), 1)
			evs := e.events(p.ID)
			eq(t, "events", len(evs), 2)
			eq(t, "event", evs[1], c.event)

			// Executing a settled payment again calls nothing and changes nothing.
			before := e.counts()
			again, err2 := e.svc.Execute(ctx, p.ID)
			eq(t, "again status", again.Status, c.status)
			eq(t, "again err code", shopd.ErrorCode(err2), shopd.ErrorCode(err))
			eq(t, "ledger unchanged", e.counts(), before)
			eq(t, "attempts after replay", e.get(p.ID).Attempts, 1)
			eq(t, "hook runs after replay", e.hooks(p.ID), 1)
		})
	}
	c := e.counts()
	eq(t, "ledger", c, testgateway.Counts{Attempts: 10, Captured: 2, Declined: 8})

	// A declined first attempt for a reference, then a new payment for it succeeds.
	ref := shopd.NewID("inv")
	for i, want := range []payment.Status{payment.StatusFailed, payment.StatusSucceeded} {
		p, err := e.svc.Create(ctx, payment.Request{Reference: ref, Amount: shopd.Money{Amount: 900, Currency: "BRL"}, Capture: true,
			Method: payment.Method{Token: "tok_decline_once"}})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := e.svc.Execute(ctx, p.ID)
		eq(t, "decline once attempt "+string(rune('1'+i)), got.Status, want)
	}

	// Bad input changes nothing.
	for _, req := range []payment.Request{
		{Reference: "", Amount: shopd.Money{Amount: 1, Currency: "USD"}, Method: payment.Method{Token: "tok_visa"}},
		{Reference: "o", Amount: shopd.Money{Amount: 0, Currency: "USD"}, Method: payment.Method{Token: "tok_visa"}},
		{Reference: "o", Amount: shopd.Money{Amount: payment.MaxAmount + 1, Currency: "USD"}, Method: payment.Method{Token: "tok_visa"}},
		{Reference: "o", Amount: shopd.Money{Amount: 1, Currency: "XXY"}, Method: payment.Method{Token: "tok_visa"}},
		{Reference: "o", Amount: shopd.Money{Amount: 1, Currency: "USD"}, Method: payment.Method{Token: "4242424242424242"}},
		{Reference: "o", Amount: shopd.Money{Amount: 1, Currency: "USD"}, Method: payment.Method{Token: "tok_visa", Last4: "42"}},
		{Reference: "o", Amount: shopd.Money{Amount: 1, Currency: "USD"}, Method: payment.Method{Token: "tok_visa"}, Gateway: "nope"},
		{Reference: "o", Amount: shopd.Money{Amount: 1, Currency: "USD"}, Method: payment.Method{Token: "tok_visa"}, Description: "card 4111 1111 1111 1111"},
	} {
		if _, err := e.svc.Create(ctx, req); shopd.ErrorCode(err) != shopd.EINVALID {
			t.Fatalf("%+v: err = %v, want EINVALID", req, err)
		}
	}
	if _, err := e.svc.Execute(ctx, "pay_missing"); shopd.ErrorCode(err) != shopd.ENOTFOUND {
		t.Fatalf("missing payment: %v", err)
	}
}

func testPaymentsInDoubt(t *testing.T, db *sqlstore.DB) {
	e := newPayEnv(t, db, testgateway.Options{}, 300*time.Millisecond)
	// tok_timeout charges and never answers: in doubt, then settled as
	// succeeded by Reconcile, with exactly one charge.
	timeout := e.create("tok_timeout", 4200, true)
	p, err := e.svc.Execute(ctx, timeout.ID)
	if !payment.IsUnknownOutcome(err) {
		t.Fatalf("timeout: err = %v, want unknown outcome", err)
	}
	eq(t, "timeout status", p.Status, payment.StatusInDoubt)
	eq(t, "hook before reconcile", e.hooks(p.ID), 0)

	// tok_error answers 5xx before charging: in doubt, then failed.
	errored := e.create("tok_error", 100, true)
	if p, err = e.svc.Execute(ctx, errored.ID); !payment.IsUnknownOutcome(err) || p.Status != payment.StatusInDoubt {
		t.Fatalf("error: %v %v", p.Status, err)
	}
	// tok_error_after_charge charges, then answers 5xx.
	after := e.create("tok_error_after_charge", 300, true)
	if p, err = e.svc.Execute(ctx, after.ID); !payment.IsUnknownOutcome(err) || p.Status != payment.StatusInDoubt {
		t.Fatalf("error after charge: %v %v", p.Status, err)
	}
	// A crash after the row committed and before the gateway call: pending.
	never := e.create("tok_visa", 700, true)
	// A crash after the gateway charged and before the outcome was recorded:
	// the lease is still held.
	crashed := e.create("tok_visa", 800, true)
	err = e.db.Payments().InTx(ctx, func(tx payment.Tx) error {
		_, ok, err := tx.ClaimPayment(ctx, crashed.ID, e.clock.Now(), e.clock.Now().Add(150*time.Second), true)
		if !ok && err == nil {
			err = errors.New("claim failed")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.gw.Authorize(ctx, payment.AuthorizeRequest{Key: crashed.IdempotencyKey, Reference: crashed.Reference, Amount: crashed.Amount, Token: "tok_visa", Capture: true}); err != nil {
		t.Fatal(err)
	}
	eq(t, "ledger before reconcile", e.counts().Captured, 3)

	// Too young: nothing is reconciled.
	n, err := e.svc.Reconcile(ctx, time.Minute)
	if err != nil || n != 0 {
		t.Fatalf("young reconcile = %d, %v", n, err)
	}
	// Old enough: everything but the leased payment.
	e.clock.Advance(2 * time.Minute)
	n, err = e.svc.Reconcile(ctx, time.Minute)
	if err != nil || n != 4 {
		t.Fatalf("reconcile = %d, %v; want 4", n, err)
	}
	for _, c := range []struct {
		p        payment.Payment
		status   payment.Status
		failType string
	}{
		{timeout, payment.StatusSucceeded, ""},
		{errored, payment.StatusFailed, "not-charged"},
		{after, payment.StatusSucceeded, ""},
		{never, payment.StatusFailed, "not-charged"},
		{crashed, payment.StatusPending, ""},
	} {
		got := e.get(c.p.ID)
		eq(t, c.p.Method.Token+" status", got.Status, c.status)
		eq(t, c.p.Method.Token+" failure", got.FailureType, c.failType)
		if c.status.Settled() {
			eq(t, c.p.Method.Token+" hooks", e.hooks(c.p.ID), 1)
		}
	}
	// The lease of the crashed caller expires; then its charge is found.
	e.clock.Advance(time.Minute)
	if n, err = e.svc.Reconcile(ctx, time.Minute); err != nil || n != 1 {
		t.Fatalf("reconcile after lease = %d, %v", n, err)
	}
	eq(t, "crashed status", e.get(crashed.ID).Status, payment.StatusSucceeded)
	eq(t, "crashed attempts", e.get(crashed.ID).Attempts, 1)
	// Nothing is left, and nothing was ever charged twice.
	if n, err = e.svc.Reconcile(ctx, 0); err != nil || n != 0 {
		t.Fatalf("final reconcile = %d, %v", n, err)
	}
	eq(t, "ledger", e.counts(), testgateway.Counts{Attempts: 3, Captured: 3})
	if _, err := e.svc.Reconcile(ctx, -time.Second); shopd.ErrorCode(err) != shopd.EINVALID {
		t.Fatalf("negative olderThan: %v", err)
	}

	// Execute on an in_doubt payment settles it by Lookup, never a new charge.
	again := e.create("tok_timeout", 500, true)
	if _, err := e.svc.Execute(ctx, again.ID); !payment.IsUnknownOutcome(err) {
		t.Fatal(err)
	}
	p, err = e.svc.Execute(ctx, again.ID)
	if err != nil || p.Status != payment.StatusSucceeded {
		t.Fatalf("execute in doubt = %v, %v", p.Status, err)
	}
	eq(t, "ledger after in-doubt execute", e.counts().Captured, 4)
}

func testPaymentHookFailure(t *testing.T, db *sqlstore.DB) {
	e := newPayEnv(t, db, testgateway.Options{}, 10*time.Second)
	p := e.create("tok_visa", 1000, true)
	e.fail.Store(true)
	if _, err := e.svc.Execute(ctx, p.ID); err == nil {
		t.Fatal("want the hook's error")
	}
	// The outcome was not recorded: no settled row, no event, no hook effect.
	got := e.get(p.ID)
	eq(t, "status", got.Status, payment.StatusPending)
	eq(t, "events", len(e.events(p.ID)), 1) // payment.created only
	eq(t, "hooks", e.hooks(p.ID), 0)
	// Reconcile settles it from the gateway's record once the hook works.
	e.fail.Store(false)
	e.clock.Advance(5 * time.Minute)
	n, err := e.svc.Reconcile(ctx, time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("reconcile = %d, %v", n, err)
	}
	eq(t, "status", e.get(p.ID).Status, payment.StatusSucceeded)
	eq(t, "hooks", e.hooks(p.ID), 1)
	eq(t, "charges", e.counts().Captured, 1)
}

func testPaymentCapture(t *testing.T, db *sqlstore.DB) {
	e := newPayEnv(t, db, testgateway.Options{}, 10*time.Second)
	p := e.create("tok_visa", 5000, false)
	got, err := e.svc.Execute(ctx, p.ID)
	if err != nil || got.Status != payment.StatusAuthorized || got.Captured != 0 {
		t.Fatalf("authorize = %+v, %v", got, err)
	}
	if _, err := e.svc.Refund(ctx, p.ID, shopd.Money{Amount: 1, Currency: "USD"}, ""); shopd.ErrorCode(err) != shopd.ECONFLICT {
		t.Fatalf("refund before capture: %v", err)
	}
	if _, err := e.svc.Capture(ctx, p.ID, 5001); shopd.ErrorCode(err) != shopd.EINVALID {
		t.Fatalf("capture too much: %v", err)
	}
	for range 2 { // the second capture is a no-op
		if got, err = e.svc.Capture(ctx, p.ID, 4000); err != nil || got.Status != payment.StatusSucceeded || got.Captured != 4000 {
			t.Fatalf("capture = %+v, %v", got, err)
		}
	}
	if _, err := e.svc.Void(ctx, p.ID); shopd.ErrorCode(err) != shopd.ECONFLICT {
		t.Fatalf("void after capture: %v", err)
	}
	v := e.create("tok_visa", 700, false)
	if _, err := e.svc.Execute(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	if got, err = e.svc.Void(ctx, v.ID); err != nil || got.Status != payment.StatusVoided {
		t.Fatalf("void = %+v, %v", got, err)
	}
	if _, err := e.svc.Capture(ctx, v.ID, 0); shopd.ErrorCode(err) != shopd.ECONFLICT {
		t.Fatalf("capture after void: %v", err)
	}
	eq(t, "ledger", e.counts(), testgateway.Counts{Attempts: 2, Captured: 1, Voided: 1})
	evs := e.events(p.ID)
	eq(t, "event", evs[len(evs)-1], "payment.captured")
	evs = e.events(v.ID)
	eq(t, "event", evs[len(evs)-1], "payment.voided")
}

func testPaymentConcurrentExecute(t *testing.T, db *sqlstore.DB) {
	e := newPayEnv(t, db, testgateway.Options{Latency: 20 * time.Millisecond}, 10*time.Second)
	p := e.create("tok_visa", 1999, true)
	var ok, busy atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := e.svc.Execute(ctx, p.ID)
			switch {
			case errors.Is(err, payment.ErrInProgress):
				busy.Add(1)
			case err != nil:
				t.Error(err)
			case got.Status == payment.StatusSucceeded:
				ok.Add(1)
			default:
				t.Errorf("status %s", got.Status)
			}
		}()
	}
	wg.Wait()
	if ok.Load()+busy.Load() != 100 || ok.Load() < 1 {
		t.Fatalf("succeeded=%d in-progress=%d", ok.Load(), busy.Load())
	}
	eq(t, "ledger", e.counts(), testgateway.Counts{Attempts: 1, Captured: 1})
	eq(t, "attempts", e.get(p.ID).Attempts, 1)
	eq(t, "hooks", e.hooks(p.ID), 1)
}

func testPaymentRefunds(t *testing.T, db *sqlstore.DB) {
	e := newPayEnv(t, db, testgateway.Options{}, 10*time.Second)
	p := e.create("tok_visa", 10_000, true)
	if _, err := e.svc.Execute(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	// 100 concurrent refunds of 150 against 10,000 captured: exactly 66 fit.
	var ok, over atomic.Int64
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.svc.Refund(ctx, p.ID, shopd.Money{Amount: 150, Currency: "USD"}, "damaged")
			var se *shopd.Error
			switch {
			case errors.As(err, &se) && se.Type == "refund-exceeds-captured":
				over.Add(1)
			case err != nil:
				t.Error(err)
			case r.Status == payment.RefundSucceeded:
				ok.Add(1)
			default:
				t.Errorf("refund status %s", r.Status)
			}
		}()
	}
	wg.Wait()
	eq(t, "refunds ok", ok.Load(), int64(66))
	eq(t, "refunds over", over.Load(), int64(34))
	got := e.get(p.ID)
	eq(t, "refunded", got.Refunded, int64(9900))
	entries, c, err := e.gw.Charges(ctx, testgateway.Filter{Reference: p.Reference, Limit: 10})
	if err != nil || len(entries) != 1 {
		t.Fatal(entries, err)
	}
	eq(t, "gateway refunded", entries[0].Refunded, int64(9900))
	eq(t, "gateway refunds", c.Refunds, 66)
	refunds, err := e.svc.Refunds(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "refund rows", len(refunds), 66)

	// Bad refunds change nothing.
	for _, c := range []struct {
		id     string
		amount shopd.Money
		reason string
		code   string
	}{
		{p.ID, shopd.Money{Amount: 0, Currency: "USD"}, "", shopd.EINVALID},
		{p.ID, shopd.Money{Amount: 10, Currency: "EUR"}, "", shopd.EINVALID},
		{p.ID, shopd.Money{Amount: 10, Currency: "USD"}, string(make([]byte, 501)), shopd.EINVALID},
		{p.ID, shopd.Money{Amount: 101, Currency: "USD"}, "", shopd.EUNPROCESSABLE},
		{"pay_missing", shopd.Money{Amount: 1, Currency: "USD"}, "", shopd.ENOTFOUND},
	} {
		if _, err := e.svc.Refund(ctx, c.id, c.amount, c.reason); shopd.ErrorCode(err) != c.code {
			t.Fatalf("%+v: err = %v, want %s", c, err, c.code)
		}
	}
	eq(t, "refunded after bad input", e.get(p.ID).Refunded, int64(9900))

	// A refund whose outcome is unknown stays pending with its amount
	// reserved; Reconcile asks the gateway, which never made it, so it fails
	// and the amount is released.
	flaky := payment.NewService(db.Payments(), e.clock, payment.WithGateway(testgateway.New(db.TestGatewayLedger(), testgateway.Options{ErrorRate: 1, Clock: e.clock})))
	r, err := flaky.Refund(ctx, p.ID, shopd.Money{Amount: 100, Currency: "USD"}, "")
	if !payment.IsUnknownOutcome(err) || r.Status != payment.RefundPending {
		t.Fatalf("flaky refund = %+v, %v", r, err)
	}
	eq(t, "reserved", e.get(p.ID).Refunded, int64(10_000))
	if _, err := e.svc.Refund(ctx, p.ID, shopd.Money{Amount: 1, Currency: "USD"}, ""); shopd.ErrorCode(err) != shopd.EUNPROCESSABLE {
		t.Fatalf("refund while reserved: %v", err)
	}
	e.clock.Advance(5 * time.Minute)
	if n, err := e.svc.Reconcile(ctx, time.Minute); err != nil || n != 1 {
		t.Fatalf("reconcile refunds = %d, %v", n, err)
	}
	eq(t, "released", e.get(p.ID).Refunded, int64(9900))
	// A refund that reached the gateway but whose answer was lost settles as succeeded.
	r2, err := e.svc.Refund(ctx, p.ID, shopd.Money{Amount: 100, Currency: "USD"}, "")
	if err != nil || r2.Status != payment.RefundSucceeded {
		t.Fatalf("last refund = %+v, %v", r2, err)
	}
	eq(t, "fully refunded", e.get(p.ID).Refunded, int64(10_000))
	entries, _, _ = e.gw.Charges(ctx, testgateway.Filter{Reference: p.Reference, Limit: 10})
	eq(t, "gateway fully refunded", entries[0].Refunded, int64(10_000))
}

func testPaymentFaults(t *testing.T, db *sqlstore.DB) {
	e := newPayEnv(t, db, testgateway.Options{ErrorRate: 0.3, ErrorAfterChargeRate: 0.3, Seed: 7}, 10*time.Second)
	const n = 60
	var ids []string
	for range n {
		ids = append(ids, e.create("tok_visa", 100, true).ID)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.svc.Execute(ctx, id); err != nil && !payment.IsUnknownOutcome(err) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	e.clock.Advance(5 * time.Minute)
	if _, err := e.svc.Reconcile(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	succeeded := 0
	for _, id := range ids {
		p := e.get(id)
		switch p.Status {
		case payment.StatusSucceeded:
			succeeded++
		case payment.StatusFailed:
			eq(t, "failure", p.FailureType, "not-charged")
		default:
			t.Fatalf("payment %s left %s", id, p.Status)
		}
		eq(t, "hooks", e.hooks(id), 1)
	}
	c := e.counts()
	eq(t, "charges = succeeded payments", c.Captured, succeeded)
	eq(t, "no other charges", c.Attempts, succeeded)
	if succeeded == n || succeeded == 0 {
		t.Fatalf("fault injection had no effect: %d of %d succeeded", succeeded, n)
	}
}

func testPaymentList(t *testing.T, db *sqlstore.DB) {
	e := newPayEnv(t, db, testgateway.Options{}, 10*time.Second)
	var made []payment.Payment
	for _, tok := range []string{"tok_visa", "tok_declined", "tok_visa", "tok_visa"} {
		p := e.create(tok, 100, true)
		if _, err := e.svc.Execute(ctx, p.ID); err != nil && !errors.As(err, new(*payment.DeclineError)) {
			t.Fatal(err)
		}
		made = append(made, p)
	}
	list := func(f payment.Filter) []string {
		t.Helper()
		ps, err := e.svc.Payments(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		return ids
	}
	all := list(payment.Filter{Limit: 10})
	eq(t, "all", len(all), 4)
	eq(t, "newest first", all[0], made[3].ID)
	eq(t, "failed", len(list(payment.Filter{Status: payment.StatusFailed, Limit: 10})), 1)
	eq(t, "by reference", list(payment.Filter{Reference: made[2].Reference, Limit: 10})[0], made[2].ID)
	page := list(payment.Filter{Limit: 2})
	next := list(payment.Filter{Before: page[1], Limit: 2})
	eq(t, "page 2", next[0], made[1].ID)
	if _, err := e.svc.Payments(ctx, payment.Filter{Status: "bogus"}); shopd.ErrorCode(err) != shopd.EINVALID {
		t.Fatalf("bad status: %v", err)
	}
	if _, err := e.svc.Payment(ctx, "pay_nope"); shopd.ErrorCode(err) != shopd.ENOTFOUND {
		t.Fatalf("missing: %v", err)
	}
}
