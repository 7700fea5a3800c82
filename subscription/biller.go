package subscription

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
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

	// Batches: the run's changes to many rows in a few statements.

	// LockSubscriptions returns the subscriptions with these IDs, locked,
	// in ID order; ENOTFOUND if one does not exist.
	LockSubscriptions(ctx context.Context, ids []string) ([]Subscription, error)
	// LockInvoices returns the invoices with these IDs, locked, in ID
	// order; ENOTFOUND if one does not exist.
	LockInvoices(ctx context.Context, ids []string) ([]Invoice, error)
	// SaveBilling inserts the new invoices among changes (ECONFLICT if a
	// period has one) and payments, stores the other invoices and
	// subscriptions read in the transaction, each as its last change
	// leaves it, and appends the changes' events in order.
	SaveBilling(ctx context.Context, changes []BillingChange, payments []payment.Payment) error

	// What a paid period's order needs (period_order.go).

	// PlanLines returns a plan's fixed items as order lines (IDs, SKUs,
	// titles and quantities; no prices) with their tax categories, in the
	// plan's order.
	PlanLines(ctx context.Context, planID string) ([]PlanLine, error)
	// CustomerEmails returns the emails of the customers with these IDs,
	// by ID; a customer that does not exist is not in the map.
	CustomerEmails(ctx context.Context, ids []string) (map[string]string, error)
	OrdersTx
}

// BillingChange is an invoice or a subscription the billing run changes,
// and the event the change appends.
type BillingChange struct {
	Invoice      *Invoice       // an invoice as changed, or nil
	New          bool           // Invoice is new: inserted, not updated
	Subscription *Subscription  // a subscription as changed, or nil
	Event        string         // the event to append ("" for none)
	Data         map[string]any // what a subscription's event adds
}

// BillingStore runs the billing run's transactions.
type BillingStore interface {
	InTx(ctx context.Context, fn func(tx BillingTx) error) error
}

// Payments prepares and takes payments.
type Payments interface {
	Prepare(req payment.Request) (payment.Payment, error)
	Execute(ctx context.Context, id string) (payment.Payment, error)
	NewBatch(ctx context.Context, opts payment.BatchOptions, report func(payment.Payment, error)) *payment.Batch
	OnSettleBatch(h payment.BatchSettleHook)
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
	// Rate bounds the charges per second; zero takes the gateway's
	// published limit (payment.RateLimited), if any.
	Rate float64
	// BatchSize is how many subscriptions one transaction renews.
	BatchSize int
}

// Defaults of a Biller.
const (
	DefaultBillingConcurrency = 128
	DefaultBillingBatch       = 500
)

// NewBiller returns a Biller and registers its settle hook with the
// payments service, so that every settlement of an invoice's payment — by
// the run, the reconciler after a crash, or a webhook — moves the invoice
// and its subscription in the same transaction.
func NewBiller(store BillingStore, payments Payments, markets TaxMarkets, clock shopd.Clock, rules BillingRules) *Biller {
	b := &Biller{store: store, payments: payments, markets: markets, clock: clock, rules: rules,
		Concurrency: DefaultBillingConcurrency, BatchSize: DefaultBillingBatch}
	payments.OnSettleBatch(b.settled)
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
	// More is set when a run with a time budget (RunAtFor) stopped before
	// it found nothing due: run again to go on.
	More bool `json:"more"`
}

// Run bills everything due at the clock's now — renewals and dunning
// retries — batch after batch, until nothing is due. A period whose payment
// succeeds makes the next one due, so a run with a clock far ahead catches
// up period by period. Every step is one transaction, and a period can be
// invoiced only once, so a run that dies is simply run again.
//
// Renewing and charging overlap: while one batch's charges are at the
// gateway (a payment.Batch: at most Concurrency at once, under the rate
// limit, their outcomes recorded together), the next batch is invoiced.
func (b *Biller) Run(ctx context.Context) (RunResult, error) {
	now := b.now(ctx) // the clock's, or RunAt's
	var mu sync.Mutex
	outcomes := sync.NewCond(&mu)
	var res RunResult
	inFlight, reported := 0, 0
	charges := b.payments.NewBatch(ctx, payment.BatchOptions{Concurrency: b.Concurrency, Rate: b.Rate}, func(p payment.Payment, err error) {
		mu.Lock()
		res.add(outcome(p, err))
		inFlight--
		reported++
		outcomes.Broadcast()
		mu.Unlock()
	})
	stopAt, _ := ctx.Value(runStopKey{}).(time.Time)
	err := func() error {
		for first := true; ctx.Err() == nil; first = false {
			if !first && !stopAt.IsZero() && !time.Now().Before(stopAt) {
				mu.Lock()
				res.More = true
				mu.Unlock()
				return nil // the charges in flight are still waited for
			}
			var batch RunResult
			var ids []string
			mu.Lock()
			seen := reported // outcomes recorded before this look for due periods
			mu.Unlock()
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
				batch, ids = r, append(c, c2...)     // set, not added: InTx may run fn again
				shopd.CrashPoint("billing.renewing") // the batch's invoices and payments written, not committed
				return nil
			})
			if err != nil {
				return err
			}
			mu.Lock()
			res.add(batch)
			if len(ids) == 0 {
				// Nothing due now; the outcomes still to come may make
				// periods due (a paid one makes the next one due), and so
				// may those recorded while this look ran: look again then.
				if inFlight == 0 && reported == seen {
					mu.Unlock()
					return nil
				}
				for inFlight > 0 {
					outcomes.Wait()
				}
				mu.Unlock()
				continue
			}
			inFlight += len(ids)
			mu.Unlock()
			shopd.CrashPoint("billing.invoiced") // invoices and payments committed, no charge made
			charges.Submit(ids)
		}
		return ctx.Err()
	}()
	charges.Close()
	mu.Lock()
	defer mu.Unlock()
	return res, err
}

// outcome counts what executing a payment did.
func outcome(p payment.Payment, err error) RunResult {
	_, declined := payment.DeclineOf(err)
	switch {
	case err == nil && p.Status.Settled():
		return RunResult{Charged: 1}
	case declined:
		return RunResult{Declined: 1}
	}
	return RunResult{Unknown: 1}
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
	var w billingWrites
	taxes := newTaxes(b.markets, tx)
	for len(w.ids) == 0 {
		subs, err := tx.DueSubscriptions(ctx, now, b.BatchSize)
		if err != nil || len(subs) == 0 {
			return res, w.paymentIDs(), err
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
				w.subscription(s, r.Event, nil)
				continue
			}
			inv := r.Invoice
			res.Invoiced++
			if err := taxes.apply(ctx, s, inv); err != nil {
				return res, nil, err
			}
			if inv.Total.Amount == 0 { // paid by credit alone
				res.Free++
				if err := b.paid(ctx, tx, &w, &s, inv, true, now, loc); err != nil {
					return res, nil, err
				}
				continue
			}
			if err := b.attempt(&w, s, inv, true, now); err != nil {
				return res, nil, err
			}
			w.subscription(s, "", nil)
		}
		// Written now: the next batch's query must not find these again.
		if err := w.write(ctx, tx); err != nil {
			return res, nil, err
		}
	}
	return res, w.paymentIDs(), nil
}

// retryDue starts the dunning retries that are due; an invoice that waited
// for a new payment method in vain, or whose subscription was canceled, is
// given up.
func (b *Biller) retryDue(ctx context.Context, tx BillingTx, now time.Time) (RunResult, []string, error) {
	var res RunResult
	invs, err := tx.DueInvoices(ctx, now, b.BatchSize)
	if err != nil || len(invs) == 0 {
		return res, nil, err
	}
	subs, err := b.lockSubscriptions(ctx, tx, invs)
	if err != nil {
		return res, nil, err
	}
	var w billingWrites
	for i := range invs {
		inv := &invs[i]
		s := subs[inv.SubscriptionID]
		if inv.AwaitingMethod || s.Status == StatusCanceled {
			ev := s.GiveUp(inv, now, b.rules)
			res.GaveUp++
			if ev == EventCanceled {
				res.Canceled++
			}
			w.save(*s, ev, *inv, EventInvoiceVoided)
			continue
		}
		if err := b.attempt(&w, *s, inv, false, now); err != nil {
			return res, nil, err
		}
		res.Retried++
	}
	if err := w.write(ctx, tx); err != nil {
		return res, nil, err
	}
	return res, w.paymentIDs(), nil
}

// lockSubscriptions locks the subscriptions of invoices, by ID.
func (b *Biller) lockSubscriptions(ctx context.Context, tx BillingTx, invs []Invoice) (map[string]*Subscription, error) {
	ids := make([]string, 0, len(invs))
	for _, inv := range invs {
		ids = append(ids, inv.SubscriptionID)
	}
	subs, err := tx.LockSubscriptions(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*Subscription, len(subs))
	for i := range subs {
		byID[subs[i].ID] = &subs[i]
	}
	return byID, nil
}

// attempt records a charge attempt of inv with the subscription's payment
// method — the payment row, with its own idempotency key, is committed
// before any gateway call — in w.
func (b *Biller) attempt(w *billingWrites, s Subscription, inv *Invoice, isNew bool, now time.Time) error {
	p, err := b.payments.Prepare(payment.Request{Reference: inv.ID, CustomerID: s.CustomerID, Amount: inv.Total, Capture: true,
		Method: s.PaymentMethod, Description: "subscription " + s.ID + " period " + strconv.Itoa(inv.Period)})
	if err != nil {
		return err
	}
	inv.Attempt(now)
	inv.PaymentID = p.ID
	w.payments = append(w.payments, p)
	w.invoice(*inv, isNew, "")
	return nil
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
			res.add(outcome(p, err))
		}()
	}
	wg.Wait()
	return res
}

// settled is the payment settle hook: it runs in the transaction that
// records invoice payments' outcomes — one (Execute, the reconciler, a
// webhook) or many (a billing run's batch) — and moves the invoices and
// their subscriptions with them, with a few statements for all of them.
func (b *Biller) settled(ctx context.Context, ptx payment.Tx, ps []payment.Payment) error {
	var ids []string
	for _, p := range ps {
		if shopd.HasIDPrefix(p.Reference, InvoicePrefix) {
			ids = append(ids, p.Reference)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	tx, ok := ptx.(BillingTx)
	if !ok {
		return errors.New("subscription: the payment transaction cannot change invoices")
	}
	invs, err := tx.LockInvoices(ctx, ids)
	if err != nil {
		return err
	}
	byID := make(map[string]*Invoice, len(invs))
	var open []Invoice
	for i := range invs {
		byID[invs[i].ID] = &invs[i]
		if invs[i].Status == InvoiceOpen {
			open = append(open, invs[i])
		}
	}
	subs, err := b.lockSubscriptions(ctx, tx, open)
	if err != nil {
		return err
	}
	now := b.now(ctx) // RunAt's time for its own charges
	// Crash tests stop here: the payments settled in this transaction, not committed.
	shopd.CrashPoint("billing.settling")
	var w billingWrites
	for _, p := range ps {
		inv, ok := byID[p.Reference]
		if !ok || inv.Status != InvoiceOpen || inv.PaymentID != p.ID {
			continue // not an invoice's, settled already, or an older attempt's late answer
		}
		if err := b.settle(ctx, tx, &w, subs[inv.SubscriptionID], inv, p, now); err != nil {
			return err
		}
	}
	return w.write(ctx, tx)
}

// settle moves an open invoice and its subscription by its payment's outcome.
func (b *Biller) settle(ctx context.Context, tx BillingTx, w *billingWrites, s *Subscription, inv *Invoice, p payment.Payment, now time.Time) error {
	switch p.Status {
	case payment.StatusSucceeded, payment.StatusAuthorized:
		loc, err := s.Location()
		if err != nil {
			return err
		}
		return b.paid(ctx, tx, w, s, inv, false, now, loc)
	case payment.StatusFailed:
		if p.FailureType == payment.FailureNotCharged && p.Attempts == 0 {
			inv.Attempts-- // the run died before the gateway call: no attempt was made
		}
		ev := s.Failed(inv, payment.Decline{Type: p.FailureType, Message: p.FailureMessage, Hard: p.HardDecline}, now, b.rules)
		invEvent := EventInvoicePaymentFailed
		if p.FailureType == payment.FailureNotCharged && inv.FirstFailedAt.IsZero() {
			invEvent = "" // retried at once: nothing to tell the subscriber about
		}
		if inv.Status == InvoiceVoid {
			w.invoice(*inv, false, invEvent)
			invEvent = EventInvoiceVoided
		}
		w.save(*s, ev, *inv, invEvent)
	}
	return nil
}

// paid records a collected invoice (new: inserted by w) and renews the
// subscription.
func (b *Biller) paid(ctx context.Context, tx BillingTx, w *billingWrites, s *Subscription, inv *Invoice, isNew bool, now time.Time, loc *time.Location) error {
	ev, err := s.Paid(inv, now, loc)
	if err != nil {
		return err
	}
	if s.Kind == KindReplenishment {
		if err := w.periodOrder(ctx, tx, *s, inv, now); err != nil {
			return err
		}
	}
	w.invoice(*inv, isNew, EventInvoicePaid)
	w.subscription(*s, ev, map[string]any{"invoice_id": inv.ID, "period": inv.Period})
	return nil
}

// billingWrites collects a transaction's billing changes, to write them
// with a few statements (BillingTx.SaveBilling), and its paid periods'
// orders, to sell them together (sellOrders).
type billingWrites struct {
	changes  []BillingChange
	payments []payment.Payment
	orders   []order.Order         // period orders not yet written
	plans    map[string][]PlanLine // replenishment plans' lines, read once per transaction
	ids      []string              // of every payment saved
}

// invoice adds an invoice as it stands now, with its event ("" for none).
func (w *billingWrites) invoice(inv Invoice, isNew bool, event string) {
	w.changes = append(w.changes, BillingChange{Invoice: &inv, New: isNew, Event: event})
}

// subscription adds a subscription as it stands now, with its event.
func (w *billingWrites) subscription(s Subscription, event string, data map[string]any) {
	w.changes = append(w.changes, BillingChange{Subscription: &s, Event: event, Data: data})
}

// save adds an invoice and its subscription with their events.
func (w *billingWrites) save(s Subscription, subEvent string, inv Invoice, invEvent string) {
	w.invoice(inv, false, invEvent)
	w.subscription(s, subEvent, map[string]any{"invoice_id": inv.ID, "period": inv.Period})
}

// paymentIDs returns the IDs of the payments saved so far.
func (w *billingWrites) paymentIDs() []string { return w.ids }

// write writes the changes collected since the last write.
func (w *billingWrites) write(ctx context.Context, tx BillingTx) error {
	if len(w.changes) == 0 && len(w.payments) == 0 {
		return nil
	}
	if err := w.sellOrders(ctx, tx); err != nil {
		return err
	}
	if err := tx.SaveBilling(ctx, w.changes, w.payments); err != nil {
		return err
	}
	for _, p := range w.payments {
		w.ids = append(w.ids, p.ID)
	}
	w.changes, w.payments, w.orders = w.changes[:0], w.payments[:0], w.orders[:0]
	return nil
}
