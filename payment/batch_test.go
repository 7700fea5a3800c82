package payment_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/payment/testgateway"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// TestBatch executes payments of every kind in one Batch, on each engine:
// each is reported once with what Execute would have answered; each
// settled one ran the batch hook exactly once, in its settling
// transaction, with its payment event; the gateway charged each pending
// payment once and the others not at all; and the calls kept to the rate.
func TestBatch(t *testing.T) {
	ctx := context.Background()
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			db, clock, gw, svc := batchEnv(t, d, testgateway.Options{RateLimit: 40})
			var mu sync.Mutex
			hooked := map[string]int{}
			svc.OnSettleBatch(func(ctx context.Context, tx payment.Tx, ps []payment.Payment) error {
				mu.Lock()
				defer mu.Unlock()
				for _, p := range ps {
					hooked[p.ID]++
					e, err := event.New("test.settled", p.ID, nil, p.UpdatedAt)
					if err != nil {
						return err
					}
					if err := tx.AppendEvent(ctx, e); err != nil {
						return err
					}
				}
				return nil
			})
			create := func(token string) payment.Payment {
				t.Helper()
				p, err := svc.Create(ctx, payment.Request{Reference: shopd.NewID("ord"), Amount: shopd.Money{Amount: 1000, Currency: "USD"},
					Capture: true, Method: payment.Method{Token: token}})
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			// Already settled, in doubt, and leased by another caller.
			settled := create("tok_visa")
			if _, err := svc.Execute(ctx, settled.ID); err != nil {
				t.Fatal(err)
			}
			doubt := create("tok_error")
			if _, err := svc.Execute(ctx, doubt.ID); !payment.IsUnknownOutcome(err) {
				t.Fatalf("tok_error: %v, want an unknown outcome", err)
			}
			leased := create("tok_visa")
			if err := db.Payments().InTx(ctx, func(tx payment.Tx) error {
				_, ok, err := tx.ClaimPayment(ctx, leased.ID, clock.Now(), clock.Now().Add(time.Hour), true)
				if !ok {
					return errors.New("not claimed")
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			hookedBefore := map[string]int{settled.ID: 1, doubt.ID: 0, leased.ID: 0}

			want := map[string]struct {
				status payment.Status
				err    string // "", "decline", "unknown", "in-progress"
			}{
				settled.ID: {payment.StatusSucceeded, ""},
				doubt.ID:   {payment.StatusFailed, "decline"}, // looked up: never charged
				leased.ID:  {payment.StatusPending, "in-progress"},
			}
			ids := []string{settled.ID, doubt.ID, leased.ID}
			for _, c := range []struct {
				token  string
				status payment.Status
				err    string
			}{
				{"tok_visa", payment.StatusSucceeded, ""},
				{"tok_visa", payment.StatusSucceeded, ""},
				{"tok_mastercard", payment.StatusSucceeded, ""},
				{"tok_declined", payment.StatusFailed, "decline"},
				{"tok_stolen", payment.StatusFailed, "decline"},
				{"tok_error", payment.StatusInDoubt, "unknown"},
				{"tok_error_after_charge", payment.StatusInDoubt, "unknown"},
				{"tok_visa", payment.StatusSucceeded, ""},
				{"tok_visa", payment.StatusSucceeded, ""},
				{"tok_visa", payment.StatusSucceeded, ""},
			} {
				p := create(c.token)
				ids = append(ids, p.ID)
				want[p.ID] = struct {
					status payment.Status
					err    string
				}{c.status, c.err}
			}

			reported := map[string]int{}
			start := time.Now()
			b := svc.NewBatch(ctx, payment.BatchOptions{Concurrency: 3}, func(p payment.Payment, err error) {
				reported[p.ID]++ // report is called from one goroutine at a time
				kind := ""
				_, declined := payment.DeclineOf(err)
				switch {
				case declined:
					kind = "decline"
				case payment.IsUnknownOutcome(err):
					kind = "unknown"
				case errors.Is(err, payment.ErrInProgress):
					kind = "in-progress"
				case err != nil:
					kind = err.Error()
				}
				if w := want[p.ID]; p.Status != w.status || kind != w.err {
					t.Errorf("payment %s: %s, %q; want %s, %q", p.ID, p.Status, kind, w.status, w.err)
				}
			})
			b.Submit(ids[:5])
			b.Submit(ids[5:])
			b.Close()
			elapsed := time.Since(start)

			for _, id := range ids {
				if reported[id] != 1 {
					t.Errorf("payment %s reported %d times, want once", id, reported[id])
				}
				p, err := svc.Payment(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if p.Status != want[id].status {
					t.Errorf("payment %s stored as %s, want %s", id, p.Status, want[id].status)
				}
				wantHooks := hookedBefore[id]
				if _, ok := hookedBefore[id]; !ok && p.Status.Settled() {
					wantHooks = 1
				}
				if id == doubt.ID {
					wantHooks = 1
				}
				evs, err := event.NewService(db.Events()).Events(ctx, event.Filter{Type: "test.settled", Subject: id, Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				if hooked[id] != wantHooks || len(evs) != wantHooks {
					t.Errorf("payment %s (%s): hook ran %d times, %d committed; want %d", id, p.Status, hooked[id], len(evs), wantHooks)
				}
			}
			_, counts, err := gw.Charges(ctx, testgateway.Filter{Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			// Captured: the settled payment, 6 good cards, tok_error_after_charge.
			if counts.Captured != 8 || counts.Declined != 2 {
				t.Errorf("gateway: %+v; want 8 captured and 2 declined", counts)
			}
			// 10 Authorize calls at 40/s, after a burst of 100 ms (5 calls):
			// at least 5 intervals of 25 ms.
			if elapsed < 125*time.Millisecond {
				t.Errorf("10 calls at 40/s took %v", elapsed)
			}
		})
	}
}

// TestBatchSubmitLeased: payments committed with their lease (checkout's)
// are called with no claim of their own (their attempt count stays 1) and
// charged once; one whose lease no longer covers a call (committed too
// long ago) is not called but answered in progress, and once its lease
// lapses the reconciler finds it never charged.
func TestBatchSubmitLeased(t *testing.T) {
	ctx := context.Background()
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			db, clock, gw, svc := batchEnv(t, d, testgateway.Options{})
			leased := func() payment.Payment {
				t.Helper()
				p, err := svc.Prepare(payment.Request{Reference: shopd.NewID("ord"), Amount: shopd.Money{Amount: 1000, Currency: "USD"},
					Capture: true, Method: payment.Method{Token: "tok_visa"}})
				if err != nil {
					t.Fatal(err)
				}
				p = svc.Leased(p)
				if err := db.Payments().InTx(ctx, func(tx payment.Tx) error { return tx.InsertPayment(ctx, p) }); err != nil {
					t.Fatal(err)
				}
				return p
			}
			stale := leased()
			clock.Advance(6 * time.Second) // of a 12 s lease (2 s call + 10 s margin): 6 s left, under a call and half the margin
			fresh := []payment.Payment{leased(), leased(), leased()}
			outcomes := map[string]error{}
			b := svc.NewBatch(ctx, payment.BatchOptions{Unlimited: true}, func(p payment.Payment, err error) { outcomes[p.ID] = err })
			b.SubmitLeased(append([]payment.Payment{stale}, fresh...))
			b.Close()
			for _, p := range fresh {
				got, err := svc.Payment(ctx, p.ID)
				if err != nil || outcomes[p.ID] != nil || got.Status != payment.StatusSucceeded || got.Attempts != 1 {
					t.Errorf("fresh lease: %s after %d attempts (%v, reported %v); want succeeded after 1, with no claim", got.Status, got.Attempts, err, outcomes[p.ID])
				}
			}
			if err := outcomes[stale.ID]; !errors.Is(err, payment.ErrInProgress) {
				t.Errorf("stale lease reported %v, want ErrInProgress: no call", err)
			}
			_, counts, err := gw.Charges(ctx, testgateway.Filter{Limit: 1})
			if err != nil || counts.Captured != 3 {
				t.Fatalf("gateway: %+v (%v); want 3 captured", counts, err)
			}
			clock.Advance(6 * time.Second) // the stale lease lapses
			if n, err := svc.Reconcile(ctx, 0); err != nil || n != 1 {
				t.Fatalf("reconcile settled %d (%v), want 1", n, err)
			}
			if got, err := svc.Payment(ctx, stale.ID); err != nil || got.Status != payment.StatusFailed || got.FailureType != payment.FailureNotCharged {
				t.Fatalf("stale lease after reconcile: %s %s (%v), want failed, not charged", got.Status, got.FailureType, err)
			}
		})
	}
}

// batchEnv is a fresh database on engine d with a test clock, the test
// gateway (opts, on that clock) and a payment service with a 2 s call
// timeout (a 12 s lease).
func batchEnv(t *testing.T, d sqlstore.Dialect, opts testgateway.Options) (*sqlstore.DB, *shopd.TestClock, *testgateway.Gateway, *payment.Service) {
	db := storetest.Open(t, d)
	clock := shopd.NewTestClock(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	opts.Clock = clock
	gw := testgateway.New(db.TestGatewayLedger(), opts)
	return db, clock, gw, payment.NewService(db.Payments(), clock, payment.WithGateway(gw), payment.WithCallTimeout(2*time.Second))
}
