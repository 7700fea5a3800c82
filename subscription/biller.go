package subscription

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/payment"
)

// BillingTx is what the billing run changes in one transaction.
type BillingTx interface {
	event.Appender
	// DueSubscriptions returns up to limit subscriptions due at now,
	// locked; rows another run holds are skipped.
	DueSubscriptions(ctx context.Context, now time.Time, limit int) ([]Subscription, error)
	LockSubscription(ctx context.Context, id string) (Subscription, error)
	// SaveSubscription stores the subscription and appends event unless "".
	SaveSubscription(ctx context.Context, s Subscription, event string, data map[string]any) error
	// InsertInvoice stores a new invoice; ECONFLICT if its period has one.
	InsertInvoice(ctx context.Context, inv Invoice) error
	// SaveInvoice stores the invoice and appends event unless "".
	SaveInvoice(ctx context.Context, inv Invoice, event string) error
	AppendInvoiceEvent(ctx context.Context, event string, inv Invoice) error
	LockInvoice(ctx context.Context, id string) (Invoice, error)
	// DueInvoices returns up to limit open invoices whose retry is due at
	// now, locked; rows another run holds are skipped.
	DueInvoices(ctx context.Context, now time.Time, limit int) ([]Invoice, error)
	InsertPayment(ctx context.Context, p payment.Payment) error

	// What a paid period's order needs (period_order.go).

	// PlanLines returns a plan's fixed items as order lines (IDs, SKUs,
	// titles and quantities; no prices) with their tax categories, in the
	// plan's order.
	PlanLines(ctx context.Context, planID string) ([]PlanLine, error)
	CustomerEmail(ctx context.Context, customerID string) (string, error)
	InsertOrder(ctx context.Context, o order.Order) error
	ReserveStock(ctx context.Context, req inventory.ReserveRequest) (inventory.Reservation, error)
	CommitReservation(ctx context.Context, reference string) (inventory.Reservation, error)
	// Savepoint runs fn so that, if it fails, its changes are undone and
	// the transaction goes on; it returns fn's error.
	Savepoint(ctx context.Context, fn func() error) error
}

// BillingStore runs the billing run's transactions.
type BillingStore interface {
	InTx(ctx context.Context, fn func(tx BillingTx) error) error
}

// Payments prepares and takes payments.
type Payments interface {
	Prepare(req payment.Request) (payment.Payment, error)
	Execute(ctx context.Context, id string) (payment.Payment, error)
	OnSettle(h payment.SettleHook)
}

// Biller runs renewals: it invoices due periods, charges them, and chases
// failed charges by the dunning rules.
type Biller struct {
	store    BillingStore
	payments Payments
	markets  TaxMarkets
	clock    shopd.Clock
	rules    BillingRules
	// Concurrency bounds the charges in flight at once (gateway calls).
	Concurrency int
	// BatchSize is how many subscriptions one transaction renews.
	BatchSize int
}

// NewBiller returns a Biller and registers its settle hook with the
// payments service, so that every settlement of an invoice's payment — by
// the run, the reconciler after a crash, or a webhook — moves the invoice
// and its subscription in the same transaction.
func NewBiller(store BillingStore, payments Payments, markets TaxMarkets, clock shopd.Clock, rules BillingRules) *Biller {
	b := &Biller{store: store, payments: payments, markets: markets, clock: clock, rules: rules, Concurrency: 64, BatchSize: 200}
	payments.OnSettle(b.settled)
	return b
}

// RunResult counts what a billing run did.
type RunResult struct {
	Invoiced int `json:"invoiced"` // periods invoiced
	Retried  int `json:"retried"`  // dunning retries started
	Charged  int `json:"charged"`  // charges that succeeded
	Declined int `json:"declined"` // charges declined
	Unknown  int `json:"unknown"`  // charges whose outcome the reconciler settles
	Free     int `json:"free"`     // periods paid by credit alone
	Skipped  int `json:"skipped"`  // periods skipped
	Canceled int `json:"canceled"` // subscriptions canceled (at period end, or by the dunning policy)
	GaveUp   int `json:"gave_up"`  // invoices voided by the dunning policy
}

// Run bills everything due at the clock's now — renewals and dunning
// retries — batch after batch, until nothing is due. A period whose payment
// succeeds makes the next one due, so a run with a clock far ahead catches
// up period by period. Every step is one transaction, and a period can be
// invoiced only once, so a run that dies is simply run again.
func (b *Biller) Run(ctx context.Context) (RunResult, error) {
	var res RunResult
	now := b.now(ctx) // the clock's, or RunAt's
	for ctx.Err() == nil {
		var batch RunResult
		var charges []string
		err := b.store.InTx(ctx, func(tx BillingTx) error {
			r, c, err := b.renewDue(ctx, tx, now)
			if err != nil {
				return err
			}
			r2, c2, err := b.retryDue(ctx, tx, now)
			if err != nil {
				return err
			}
			r.add(r2)
			batch, charges = r, append(c, c2...) // set, not added: InTx may run fn again
			shopd.CrashPoint("billing.renewing") // the batch's invoices and payments written, not committed
			return nil
		})
		if err != nil {
			return res, err
		}
		res.add(batch)
		if len(charges) == 0 {
			return res, nil
		}
		shopd.CrashPoint("billing.invoiced") // invoices and payments committed, no charge made
		res.add(b.charge(ctx, charges))
	}
	return res, ctx.Err()
}

// Counts returns the result by outcome name, for metrics.
func (r RunResult) Counts() map[string]int {
	return map[string]int{"invoiced": r.Invoiced, "retried": r.Retried, "charged": r.Charged, "declined": r.Declined,
		"unknown": r.Unknown, "free": r.Free, "skipped": r.Skipped, "canceled": r.Canceled, "gave_up": r.GaveUp}
}

func (r *RunResult) add(o RunResult) {
	r.Invoiced += o.Invoiced
	r.Retried += o.Retried
	r.Charged += o.Charged
	r.Declined += o.Declined
	r.Unknown += o.Unknown
	r.Free += o.Free
	r.Skipped += o.Skipped
	r.Canceled += o.Canceled
	r.GaveUp += o.GaveUp
}

// renewDue renews one batch of due subscriptions and returns the payments
// to execute. Skips and cancellations make progress without a charge, so
// it keeps taking batches until it has charges or nothing is due.
func (b *Biller) renewDue(ctx context.Context, tx BillingTx, now time.Time) (RunResult, []string, error) {
	var res RunResult
	var charges []string
	taxes := newTaxes(b.markets, tx)
	for len(charges) == 0 {
		subs, err := tx.DueSubscriptions(ctx, now, b.BatchSize)
		if err != nil || len(subs) == 0 {
			return res, charges, err
		}
		for _, s := range subs {
			loc, err := s.Location()
			if err != nil {
				return res, nil, err
			}
			r, err := s.Renew(now, loc, func() string { return shopd.NewID(InvoicePrefix) })
			if err != nil {
				return res, nil, err
			}
			switch r.Event {
			case EventCanceled:
				res.Canceled++
			case EventPeriodSkipped:
				res.Skipped++
			}
			if r.Invoice == nil {
				if err := tx.SaveSubscription(ctx, s, r.Event, nil); err != nil {
					return res, nil, err
				}
				continue
			}
			inv := r.Invoice
			res.Invoiced++
			if err := taxes.apply(ctx, s, inv); err != nil {
				return res, nil, err
			}
			if err := tx.InsertInvoice(ctx, *inv); err != nil {
				return res, nil, err
			}
			if inv.Total.Amount == 0 { // paid by credit alone
				res.Free++
				if err := b.paid(ctx, tx, &s, inv, now, loc); err != nil {
					return res, nil, err
				}
				continue
			}
			id, err := b.attempt(ctx, tx, s, inv, now)
			if err != nil {
				return res, nil, err
			}
			if err := tx.SaveSubscription(ctx, s, "", nil); err != nil {
				return res, nil, err
			}
			charges = append(charges, id)
		}
	}
	return res, charges, nil
}

// retryDue starts the dunning retries that are due; an invoice that waited
// for a new payment method in vain is given up.
func (b *Biller) retryDue(ctx context.Context, tx BillingTx, now time.Time) (RunResult, []string, error) {
	var res RunResult
	invs, err := tx.DueInvoices(ctx, now, b.BatchSize)
	if err != nil {
		return res, nil, err
	}
	var charges []string
	for _, inv := range invs {
		s, err := tx.LockSubscription(ctx, inv.SubscriptionID)
		if err != nil {
			return res, nil, err
		}
		if inv.AwaitingMethod {
			ev := s.GiveUp(&inv, now, b.rules)
			res.GaveUp++
			if ev == EventCanceled {
				res.Canceled++
			}
			if err := b.save(ctx, tx, s, ev, inv, EventInvoiceVoided); err != nil {
				return res, nil, err
			}
			continue
		}
		id, err := b.attempt(ctx, tx, s, &inv, now)
		if err != nil {
			return res, nil, err
		}
		res.Retried++
		charges = append(charges, id)
	}
	return res, charges, nil
}

// attempt records a charge attempt of inv with the subscription's payment
// method — the payment row, with its own idempotency key, is committed
// before any gateway call — and returns the payment's ID.
func (b *Biller) attempt(ctx context.Context, tx BillingTx, s Subscription, inv *Invoice, now time.Time) (string, error) {
	p, err := b.payments.Prepare(payment.Request{Reference: inv.ID, CustomerID: s.CustomerID, Amount: inv.Total, Capture: true,
		Method: s.PaymentMethod, Description: "subscription " + s.ID + " period " + strconv.Itoa(inv.Period)})
	if err != nil {
		return "", err
	}
	inv.Attempt(now)
	inv.PaymentID = p.ID
	if err := tx.InsertPayment(ctx, p); err != nil {
		return "", err
	}
	return p.ID, tx.SaveInvoice(ctx, *inv, "")
}

// charge executes payments, at most Concurrency at a time. Outcomes are
// recorded by the settle hook; a charge whose outcome is unknown is left
// to the reconciler, never charged again here.
func (b *Biller) charge(ctx context.Context, ids []string) RunResult {
	var mu sync.Mutex
	var res RunResult
	sem := make(chan struct{}, max(1, b.Concurrency))
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			p, err := b.payments.Execute(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			_, declined := payment.DeclineOf(err)
			switch {
			case err == nil && p.Status.Settled():
				res.Charged++
			case declined:
				res.Declined++
			default:
				res.Unknown++
			}
		}()
	}
	wg.Wait()
	return res
}

// settled is the payment settle hook: it runs in the transaction that
// records an invoice payment's outcome and moves the invoice and its
// subscription with it.
func (b *Biller) settled(ctx context.Context, ptx payment.Tx, p payment.Payment) error {
	if !shopd.HasIDPrefix(p.Reference, InvoicePrefix) {
		return nil
	}
	tx, ok := ptx.(BillingTx)
	if !ok {
		return errors.New("subscription: the payment transaction cannot change invoices")
	}
	inv, err := tx.LockInvoice(ctx, p.Reference)
	if err != nil || inv.Status != InvoiceOpen || inv.PaymentID != p.ID {
		return err // settled already, or an older attempt's late answer
	}
	s, err := tx.LockSubscription(ctx, inv.SubscriptionID)
	if err != nil {
		return err
	}
	loc, err := s.Location()
	if err != nil {
		return err
	}
	now := b.now(ctx) // RunAt's time for its own charges
	// Crash tests stop here: the payment settled in this transaction, not committed.
	shopd.CrashPoint("billing.settling")
	switch p.Status {
	case payment.StatusSucceeded, payment.StatusAuthorized:
		return b.paid(ctx, tx, &s, &inv, now, loc)
	case payment.StatusFailed:
		if p.FailureType == payment.FailureNotCharged && p.Attempts == 0 {
			inv.Attempts-- // the run died before the gateway call: no attempt was made
		}
		ev := s.Failed(&inv, payment.Decline{Type: p.FailureType, Message: p.FailureMessage, Hard: p.HardDecline}, now, b.rules)
		invEvent := EventInvoicePaymentFailed
		if p.FailureType == payment.FailureNotCharged && inv.FirstFailedAt.IsZero() {
			invEvent = "" // retried at once: nothing to tell the subscriber about
		}
		if inv.Status == InvoiceVoid {
			if err := tx.AppendInvoiceEvent(ctx, invEvent, inv); err != nil {
				return err
			}
			invEvent = EventInvoiceVoided
		}
		return b.save(ctx, tx, s, ev, inv, invEvent)
	}
	return nil
}

// paid records a collected invoice and renews the subscription.
func (b *Biller) paid(ctx context.Context, tx BillingTx, s *Subscription, inv *Invoice, now time.Time, loc *time.Location) error {
	ev, err := s.Paid(inv, now, loc)
	if err != nil {
		return err
	}
	if s.Kind == KindReplenishment {
		if inv.OrderID, err = b.periodOrder(ctx, tx, *s, *inv, now); err != nil {
			return err
		}
	}
	return b.save(ctx, tx, *s, ev, *inv, EventInvoicePaid)
}

// save stores a subscription and its invoice with their events.
func (b *Biller) save(ctx context.Context, tx BillingTx, s Subscription, subEvent string, inv Invoice, invEvent string) error {
	if err := tx.SaveInvoice(ctx, inv, invEvent); err != nil {
		return err
	}
	return tx.SaveSubscription(ctx, s, subEvent, map[string]any{"invoice_id": inv.ID, "period": inv.Period})
}
