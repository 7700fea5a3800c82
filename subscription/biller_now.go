package subscription

import (
	"context"
	"time"
)

// runNowKey carries RunAt's time through the payment service to the settle
// hook, so the charges of a run at a chosen time are settled at that time.
type runNowKey struct{}

// now is the time billing decisions use: RunAt's time within such a run
// (including the settle hook of its charges), the clock's otherwise.
func (b *Biller) now(ctx context.Context) time.Time {
	if t, ok := ctx.Value(runNowKey{}).(time.Time); ok {
		return t
	}
	return b.clock.Now().UTC()
}

// RunAt is Run as of now instead of the clock's time: the test clock of the
// staff billing-runs endpoint. The dunning times of the charges settled
// during the run (first failure, next retry) count from now too, so a run
// months ahead chases a decline on the simulated calendar. Settlements
// outside the run (a webhook, the reconciler) use the clock, so one settle
// hook, registered once, serves both.
func (b *Biller) RunAt(ctx context.Context, now time.Time) (RunResult, error) {
	return b.Run(context.WithValue(ctx, runNowKey{}, now.UTC()))
}

// runStopKey carries RunAtFor's stop time.
type runStopKey struct{}

// RunAtFor is RunAt within a time budget: it starts no new batch once
// budget has passed since it began (it always runs one, so every call
// makes progress) and waits for the charges it started; the result says
// More if it stopped early. The staff endpoint uses it to answer well
// within its HTTP timeouts, however much is due.
func (b *Biller) RunAtFor(ctx context.Context, now time.Time, budget time.Duration) (RunResult, error) {
	return b.RunAt(context.WithValue(ctx, runStopKey{}, time.Now().Add(budget)), now)
}

// RetryInvoice retries an open invoice at once, after its subscription's
// payment method changed: in one transaction it locks the invoice, plans
// the retry (Invoice.RetryNow, which also ends a hard decline's wait for a
// new method) and records the attempt as the billing run does; then it
// executes the charge, and the settle hook moves the invoice and the
// subscription (active again on success). An invoice that is paid, void or
// has a charge in flight is left alone: the result is then zero. ENOTFOUND
// if there is no such invoice.
func (b *Biller) RetryInvoice(ctx context.Context, id string) (RunResult, error) {
	now := b.now(ctx)
	var charge string
	err := b.store.InTx(ctx, func(tx BillingTx) error {
		charge = ""
		inv, err := tx.LockInvoice(ctx, id)
		if err != nil || !inv.RetryNow(now) {
			return err
		}
		s, err := tx.LockSubscription(ctx, inv.SubscriptionID)
		if err != nil {
			return err
		}
		var w billingWrites
		if err := b.attempt(&w, s, &inv, false, now); err != nil {
			return err
		}
		if err := w.write(ctx, tx); err != nil {
			return err
		}
		charge = w.paymentIDs()[0]
		return nil
	})
	if err != nil || charge == "" {
		return RunResult{}, err
	}
	res := b.charge(ctx, []string{charge})
	res.Retried++
	return res, nil
}
