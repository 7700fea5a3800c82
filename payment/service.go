package payment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
)

// Defaults of a Service.
const (
	// DefaultCallTimeout bounds one gateway call. A call cut off by it leaves
	// the payment in doubt.
	DefaultCallTimeout = 30 * time.Second
	// leaseMargin is added to the call timeout to make the lease a caller
	// holds on a payment while it calls the gateway: once the lease has
	// expired, the call has certainly ended.
	leaseMargin = 10 * time.Second
	// reconcileBatch bounds the payments one Reconcile call settles.
	reconcileBatch = 100
)

// SettleHook runs in the transaction that settles a payment (authorized,
// succeeded or failed), exactly once per payment, whichever path settled it
// (Execute, Reconcile or a webhook). If it returns an error the transaction
// rolls back, the payment stays unsettled, and a later Reconcile settles it
// again from the gateway's record, running the hook again.
//
// tx is the store's transaction: a hook may assert it to its own module's
// Tx interface to change its rows (an order becomes paid or canceled)
// atomically with the payment row. A hook must have no effect outside the
// transaction, because the transaction may be retried.
type SettleHook func(ctx context.Context, tx Tx, p Payment) error

// BatchSettleHook is a SettleHook for many payments settled in one
// transaction (ExecuteBatch records outcomes so); a single settlement calls
// it with one payment, so every path runs the same code. The same rules
// apply: it runs exactly once per payment, in the settling transaction, with
// no effect outside it. If it returns an error the transaction rolls back
// and the payments are settled again one by one.
type BatchSettleHook func(ctx context.Context, tx Tx, ps []Payment) error

// Option configures a Service.
type Option func(*Service)

// WithGateway adds a gateway; the first one added is the default for new
// payments.
func WithGateway(g Gateway) Option {
	return func(s *Service) {
		if s.defaultGateway == "" {
			s.defaultGateway = g.Name()
		}
		s.gateways[g.Name()] = g
	}
}

// WithCallTimeout bounds each gateway call (DefaultCallTimeout otherwise).
func WithCallTimeout(d time.Duration) Option {
	return func(s *Service) {
		if d > 0 {
			s.callTimeout = d
		}
	}
}

// Service records payments and talks to the gateway.
type Service struct {
	store          Store
	clock          shopd.Clock
	gateways       map[string]Gateway
	defaultGateway string
	callTimeout    time.Duration

	mu    sync.RWMutex
	hooks []BatchSettleHook
}

// NewService returns a Service on store. Without WithGateway it can record
// and list payments but not execute them.
func NewService(store Store, clock shopd.Clock, opts ...Option) *Service {
	s := &Service{store: store, clock: clock, gateways: map[string]Gateway{}, callTimeout: DefaultCallTimeout}
	for _, o := range opts {
		o(s)
	}
	return s
}

// OnSettle adds a hook run when a payment settles; see SettleHook. Modules
// register their hooks while the application is wired, before serving.
func (s *Service) OnSettle(h SettleHook) {
	s.OnSettleBatch(func(ctx context.Context, tx Tx, ps []Payment) error {
		for _, p := range ps {
			if err := h(ctx, tx, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// OnSettleBatch adds a hook run when payments settle; see BatchSettleHook.
func (s *Service) OnSettleBatch(h BatchSettleHook) {
	s.mu.Lock()
	s.hooks = append(s.hooks, h)
	s.mu.Unlock()
}

// runHooks runs the settle hooks over payments settled in tx.
func (s *Service) runHooks(ctx context.Context, tx Tx, ps []Payment) error {
	s.mu.RLock()
	hooks := s.hooks
	s.mu.RUnlock()
	for _, h := range hooks {
		if err := h(ctx, tx, ps); err != nil {
			return err
		}
	}
	return nil
}

// Gateway returns a configured gateway by name.
func (s *Service) Gateway(name string) (Gateway, bool) {
	g, ok := s.gateways[name]
	return g, ok
}

// CallTimeout is how long one gateway call may take.
func (s *Service) CallTimeout() time.Duration { return s.callTimeout }

func (s *Service) lease() time.Duration { return s.callTimeout + leaseMargin }

// Request describes a payment to take.
type Request struct {
	Reference   string // what is paid for (an order ID); required
	CustomerID  string
	Amount      shopd.Money
	Capture     bool // true: charge now; false: authorize only
	Method      Method
	Description string
	Gateway     string // "" for the default gateway
}

// ErrInProgress is returned by Execute while another caller holds the
// payment's lease (it is calling the gateway right now).
var ErrInProgress = shopd.TypedErrorf(shopd.ECONFLICT, "payment-in-progress", "The payment is being processed; look it up again shortly.")

// Prepare validates a request and returns a pending Payment with its ID and
// idempotency key, ready for Tx.InsertPayment. It returns EINVALID for bad
// input (including anything that looks like a card number) and for an
// unknown gateway.
func (s *Service) Prepare(req Request) (Payment, error) {
	var v shopd.Validation
	if req.Reference == "" || len(req.Reference) > maxReferenceLen || !printableASCII(req.Reference) {
		v.Addf("reference", "must be 1 to %d printable ASCII characters", maxReferenceLen)
	}
	if len(req.CustomerID) > maxReferenceLen {
		v.Addf("customer_id", "must be at most %d characters", maxReferenceLen)
	}
	if !shopd.ValidCurrency(req.Amount.Currency) {
		v.Addf("amount.currency", "must be an ISO 4217 currency code")
	}
	if req.Amount.Amount <= 0 || req.Amount.Amount > MaxAmount {
		v.Addf("amount.amount", "must be from 1 to %d", int64(MaxAmount))
	}
	req.Method.Validate(&v, "payment_method")
	if len(req.Description) > maxDescriptionLen {
		v.Addf("description", "must be at most %d characters", maxDescriptionLen)
	} else if ContainsCardNumber([]byte(req.Description)) {
		v.Addf("description", "must not contain a card number")
	}
	gw := req.Gateway
	if gw == "" {
		gw = s.defaultGateway
	}
	if _, ok := s.gateways[gw]; !ok {
		v.Addf("gateway", "no payment gateway %q is configured", gw)
	}
	if err := v.Err(); err != nil {
		return Payment{}, err
	}
	now := s.clock.Now()
	id := shopd.NewID("pay")
	return Payment{
		ID: id, Reference: req.Reference, CustomerID: req.CustomerID, Amount: req.Amount, Capture: req.Capture,
		Method: req.Method, Description: req.Description, Status: StatusPending, Gateway: gw,
		IdempotencyKey: IdempotencyKey(id), CreatedAt: now, UpdatedAt: now,
	}, nil
}

// Leased returns a prepared payment with its lease taken, as a claim
// would take it now, for a caller that commits the payment and executes it
// at once (checkout, Batch.SubmitLeased): the claim's transaction is saved,
// and until the lease lapses neither the reconciler nor another caller
// touches the payment — as after a claim, a crash leaves it to the
// reconciler once the lease lapses.
func (s *Service) Leased(p Payment) Payment {
	p.LockedUntil, p.Attempts = s.clock.Now().Add(s.lease()), 1
	return p
}

// Create records a pending payment in a transaction of its own (checkout
// instead calls Prepare and inserts the payment with its order). EINVALID.
func (s *Service) Create(ctx context.Context, req Request) (Payment, error) {
	p, err := s.Prepare(req)
	if err != nil {
		return Payment{}, err
	}
	err = s.store.InTx(ctx, func(tx Tx) error {
		if err := tx.InsertPayment(ctx, p); err != nil {
			return err
		}
		return appendEvent(ctx, tx, "payment.created", p)
	})
	return p, err
}

// Execute takes a committed payment to the gateway and records the outcome;
// it returns the payment as it then stands.
//
//   - A pending payment: Execute leases it, calls Authorize with its key
//     outside any transaction, and settles it (running the settle hooks in
//     the settling transaction). A decline returns the failed payment and a
//     *DeclineError (EPAYMENT); an unknown outcome returns the in_doubt
//     payment and an error wrapping ErrUnknownOutcome.
//   - An in_doubt payment: Execute settles it as Reconcile does (Lookup,
//     never Authorize).
//   - A settled payment: Execute returns it with no gateway call (and its
//     decline error if it failed on a decline).
//   - A payment leased by another caller: ErrInProgress (ECONFLICT).
//
// The gateway call and the recording are not cut short when ctx is
// canceled (a client hanging up must not leave a payment in doubt); the
// call is bounded by the service's call timeout instead. ENOTFOUND if there
// is no such payment.
func (s *Service) Execute(ctx context.Context, id string) (Payment, error) {
	ctx = context.WithoutCancel(ctx)
	p, ok, err := s.claim(ctx, id, true)
	if err != nil {
		return Payment{}, err
	}
	if !ok {
		if p.Status.Settled() {
			return p, outcomeErr(p)
		}
		return p, ErrInProgress
	}
	if p.Status == StatusInDoubt {
		return s.settleFromLookup(ctx, p)
	}
	gw, ok := s.gateways[p.Gateway]
	if !ok {
		return p, shopd.TypedErrorf(shopd.EUNAVAILABLE, "gateway-unavailable", "Payment gateway %q is not configured.", p.Gateway)
	}
	callCtx, cancel := context.WithTimeout(ctx, s.callTimeout)
	ch, gerr := gw.Authorize(callCtx, authorizeRequest(p))
	cancel()
	if gerr == nil {
		shopd.CrashPoint("payment.charged") // the gateway took the money; nothing is recorded yet
	}
	return s.recordCharge(ctx, p, ch, gerr)
}

// claim takes the lease on an unsettled payment.
func (s *Service) claim(ctx context.Context, id string, attempt bool) (Payment, bool, error) {
	now := s.clock.Now()
	var p Payment
	var ok bool
	err := s.store.InTx(ctx, func(tx Tx) (err error) {
		p, ok, err = tx.ClaimPayment(ctx, id, now, now.Add(s.lease()), attempt)
		return err
	})
	return p, ok, err
}

func authorizeRequest(p Payment) AuthorizeRequest {
	return AuthorizeRequest{
		Key: p.IdempotencyKey, PaymentID: p.ID, Reference: p.Reference, Amount: p.Amount, Token: p.Method.Token,
		Capture: p.Capture, Description: p.Description, Since: p.CreatedAt,
	}
}

// outcomeErr is the error Execute returns for a settled payment.
func outcomeErr(p Payment) error {
	if p.Status == StatusFailed && p.FailureType != "" {
		return (&Decline{Type: p.FailureType, Message: p.FailureMessage, Hard: p.HardDecline}).Err()
	}
	return nil
}

// recordCharge settles a leased payment from a gateway's answer: a charge,
// a decline, or anything else (in doubt).
func (s *Service) recordCharge(ctx context.Context, p Payment, ch Charge, gerr error) (Payment, error) {
	now := s.clock.Now()
	var st Settlement
	switch d, declined := DeclineOf(gerr); {
	case declined:
		st = Settlement{Status: StatusFailed, ChargeID: ch.ID, FailureType: d.Type, FailureMessage: d.Message, HardDecline: d.Hard, At: now}
	case gerr != nil:
		// Unknown outcome, or an error that does not say whether money moved:
		// in doubt, for Reconcile to settle by Lookup with the same key.
		if err := s.store.InTx(ctx, func(tx Tx) error { return tx.MarkPaymentInDoubt(ctx, p.ID, now) }); err != nil {
			return p, errors.Join(Unknown(gerr), err)
		}
		p, err := s.store.Payment(ctx, p.ID)
		if err != nil {
			return p, err
		}
		if IsUnknownOutcome(gerr) {
			return p, gerr
		}
		return p, Unknown(gerr)
	default:
		var err error
		if st, err = settlementOf(ch, now); err != nil {
			return s.recordCharge(ctx, p, Charge{}, Unknown(err))
		}
	}
	return s.settle(ctx, p.ID, st)
}

// settlementOf turns a charge the gateway reports into a settlement.
func settlementOf(ch Charge, now time.Time) (Settlement, error) {
	switch ch.Status {
	case ChargeCaptured:
		return Settlement{Status: StatusSucceeded, ChargeID: ch.ID, Captured: ch.Captured, At: now}, nil
	case ChargeAuthorized:
		return Settlement{Status: StatusAuthorized, ChargeID: ch.ID, At: now}, nil
	case ChargeVoided:
		return Settlement{Status: StatusVoided, ChargeID: ch.ID, At: now}, nil
	case ChargeDeclined:
		d := ch.Decline
		if d == nil {
			d = NewDecline("card-declined", "", "")
		}
		return Settlement{Status: StatusFailed, ChargeID: ch.ID, FailureType: d.Type, FailureMessage: d.Message, HardDecline: d.Hard, At: now}, nil
	}
	return Settlement{}, fmt.Errorf("payment: gateway reported charge %q in unknown status %q", ch.ID, ch.Status)
}

// settle records an outcome, appends its event and runs the settle hooks,
// in one transaction. If another caller settled the payment first, nothing
// is written and the payment is returned as that caller left it.
func (s *Service) settle(ctx context.Context, id string, st Settlement) (Payment, error) {
	var p Payment
	err := s.inSettleTx(ctx, func(tx Tx) error {
		ok, err := tx.SettlePayment(ctx, id, st)
		if err != nil {
			return err
		}
		if p, err = tx.PaymentForUpdate(ctx, id); err != nil || !ok {
			return err
		}
		if err := appendEvent(ctx, tx, settledEvents[st.Status], p); err != nil {
			return err
		}
		return s.runHooks(ctx, tx, []Payment{p})
	})
	if err != nil {
		return Payment{}, fmt.Errorf("payment %s: record outcome: %w", id, err)
	}
	return p, outcomeErr(p)
}

// inSettleTx runs fn in a transaction that records payment outcomes. Its
// writes — the payments', their events', the settle hooks' — go to the
// database together, with the next read or at the end (Tx.Pipeline): a
// round trip each saved, and a hook's hot rows (a drop's stock) locked
// only from the last round trip to the commit.
func (s *Service) inSettleTx(ctx context.Context, fn func(tx Tx) error) error {
	return s.store.InTx(ctx, func(tx Tx) error {
		return tx.Pipeline(ctx, func() error { return fn(tx) })
	})
}

// settledEvents are the event types of settlements by status.
var settledEvents = map[Status]string{StatusSucceeded: "payment.succeeded", StatusAuthorized: "payment.authorized",
	StatusFailed: "payment.failed", StatusVoided: "payment.voided"}

// FailureNotCharged is the failure type of a payment the gateway never
// charged because it never got the request (the process died before the
// call, or the request was lost on the way): it says nothing of the card.
const FailureNotCharged = "not-charged"

// settleFromLookup settles a leased payment from the gateway's record of its
// key: a charge settles it, no charge fails it, anything else leaves it in
// doubt.
func (s *Service) settleFromLookup(ctx context.Context, p Payment) (Payment, error) {
	gw, ok := s.gateways[p.Gateway]
	if !ok {
		return p, shopd.TypedErrorf(shopd.EUNAVAILABLE, "gateway-unavailable", "Payment gateway %q is not configured.", p.Gateway)
	}
	callCtx, cancel := context.WithTimeout(ctx, s.callTimeout)
	ch, err := gw.Lookup(callCtx, authorizeRequest(p))
	cancel()
	switch {
	case errors.Is(err, ErrNotFound):
		return s.settle(ctx, p.ID, Settlement{Status: StatusFailed, FailureType: FailureNotCharged,
			FailureMessage: "The gateway never charged this payment.", At: s.clock.Now()})
	case err != nil:
		return s.recordCharge(ctx, p, Charge{}, Unknown(err))
	}
	st, err := settlementOf(ch, s.clock.Now())
	if err != nil {
		return s.recordCharge(ctx, p, Charge{}, Unknown(err))
	}
	return s.settle(ctx, p.ID, st)
}

// Reconcile settles, in one batch, the unsettled payments and refunds last
// touched more than olderThan ago whose lease has expired: it asks the
// gateway what happened under each one's key (Lookup, never Authorize) and
// records the answer. It returns how many it settled. A payment the gateway
// still cannot account for stays in_doubt for the next run; its error is
// returned (joined) after the others are handled.
//
// Safety does not depend on olderThan: a caller that is calling the gateway
// holds the payment's lease, which outlives the call. olderThan only gives
// a checkout that has just recorded its payment time to execute it.
func (s *Service) Reconcile(ctx context.Context, olderThan time.Duration) (int, error) {
	if olderThan < 0 {
		return 0, shopd.Errorf(shopd.EINVALID, "olderThan must not be negative")
	}
	now := s.clock.Now()
	var due []Payment
	var dueRefunds []Refund
	err := s.store.InTx(ctx, func(tx Tx) (err error) {
		if due, err = tx.DuePayments(ctx, now.Add(-olderThan), now, reconcileBatch); err != nil {
			return err
		}
		dueRefunds, err = tx.DuePaymentRefunds(ctx, now.Add(-olderThan), now, reconcileBatch)
		return err
	})
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, d := range due {
		if ctx.Err() != nil {
			break
		}
		p, ok, err := s.claim(ctx, d.ID, false)
		if err != nil || !ok {
			errs = append(errs, err)
			continue
		}
		p, err = s.settleFromLookup(ctx, p)
		if _, declined := DeclineOf(err); err != nil && !declined {
			errs = append(errs, err)
			continue
		}
		if p.Status.Settled() {
			n++
		}
	}
	for _, r := range dueRefunds {
		if ctx.Err() != nil {
			break
		}
		ok, err := s.reconcileRefund(ctx, r.ID)
		if err != nil {
			errs = append(errs, err)
		}
		if ok {
			n++
		}
	}
	return n, errors.Join(append(errs, ctx.Err())...)
}

// Payment returns a payment. ENOTFOUND.
func (s *Service) Payment(ctx context.Context, id string) (Payment, error) {
	return s.store.Payment(ctx, id)
}

// Payments lists payments newest first; the limit is clamped to 1..500.
// EINVALID for an unknown status.
func (s *Service) Payments(ctx context.Context, f Filter) ([]Payment, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, &shopd.Error{Code: shopd.EINVALID, Type: "validation", Message: "The request has invalid query parameters.",
			Fields: []shopd.FieldError{{Field: "status", Message: "must be pending, in_doubt, authorized, succeeded, failed or voided"}}}
	}
	f.Limit = min(max(f.Limit, 1), 500)
	return s.store.Payments(ctx, f)
}

// Refunds lists a payment's refunds oldest first.
func (s *Service) Refunds(ctx context.Context, paymentID string) ([]Refund, error) {
	return s.store.PaymentRefunds(ctx, paymentID)
}

// Capture captures an authorized payment: amount minor units (0 for the
// whole authorization). Retrying after an error is safe: the gateway call
// carries the same key. It returns the payment unchanged if it is already
// captured, ECONFLICT (payment-not-capturable) in any other status,
// EINVALID for a bad amount, and the gateway's errors.
func (s *Service) Capture(ctx context.Context, id string, amount int64) (Payment, error) {
	ctx = context.WithoutCancel(ctx)
	p, err := s.store.Payment(ctx, id)
	if err != nil {
		return Payment{}, err
	}
	switch {
	case p.Status == StatusSucceeded:
		return p, nil
	case p.Status != StatusAuthorized:
		return p, shopd.TypedErrorf(shopd.ECONFLICT, "payment-not-capturable", "Only an authorized payment can be captured; this one is %s.", p.Status)
	case amount == 0:
		amount = p.Amount.Amount
	}
	if amount < 0 || amount > p.Amount.Amount {
		return p, fieldErr("amount", fmt.Sprintf("must be from 1 to the authorized %d", p.Amount.Amount))
	}
	gw, ok := s.gateways[p.Gateway]
	if !ok {
		return p, shopd.TypedErrorf(shopd.EUNAVAILABLE, "gateway-unavailable", "Payment gateway %q is not configured.", p.Gateway)
	}
	callCtx, cancel := context.WithTimeout(ctx, s.callTimeout)
	ch, err := gw.Capture(callCtx, CaptureRequest{Key: p.IdempotencyKey + "_capture", ChargeID: p.ChargeID, Amount: shopd.Money{Amount: amount, Currency: p.Amount.Currency}})
	cancel()
	if err != nil {
		return p, err
	}
	return s.transition(ctx, p.ID, StatusAuthorized, StatusSucceeded, ch.Captured, "payment.captured")
}

// Void releases an authorized payment. It returns the payment unchanged if
// it is already voided, ECONFLICT (payment-not-voidable) in any other
// status, and the gateway's errors; retrying is safe.
func (s *Service) Void(ctx context.Context, id string) (Payment, error) {
	ctx = context.WithoutCancel(ctx)
	p, err := s.store.Payment(ctx, id)
	if err != nil {
		return Payment{}, err
	}
	switch p.Status {
	case StatusVoided:
		return p, nil
	case StatusAuthorized:
	default:
		return p, shopd.TypedErrorf(shopd.ECONFLICT, "payment-not-voidable", "Only an authorized payment can be voided; this one is %s.", p.Status)
	}
	gw, ok := s.gateways[p.Gateway]
	if !ok {
		return p, shopd.TypedErrorf(shopd.EUNAVAILABLE, "gateway-unavailable", "Payment gateway %q is not configured.", p.Gateway)
	}
	callCtx, cancel := context.WithTimeout(ctx, s.callTimeout)
	_, err = gw.Void(callCtx, VoidRequest{Key: p.IdempotencyKey + "_void", ChargeID: p.ChargeID})
	cancel()
	if err != nil {
		return p, err
	}
	return s.transition(ctx, p.ID, StatusAuthorized, StatusVoided, 0, "payment.voided")
}

// transition records a capture or void the gateway confirmed.
func (s *Service) transition(ctx context.Context, id string, from, to Status, captured int64, typ string) (Payment, error) {
	var p Payment
	err := s.store.InTx(ctx, func(tx Tx) error {
		ok, err := tx.UpdatePaymentStatus(ctx, id, from, to, captured, s.clock.Now())
		if err != nil {
			return err
		}
		if p, err = tx.PaymentForUpdate(ctx, id); err != nil || !ok {
			return err
		}
		return appendEvent(ctx, tx, typ, p)
	})
	if err == nil && p.Status != to {
		err = shopd.TypedErrorf(shopd.ECONFLICT, "payment-changed", "The payment changed to %s meanwhile.", p.Status)
	}
	return p, err
}

// Refund gives back amount of a succeeded payment, with reason. The amount
// is reserved on the payment in the same transaction that records the
// refund, so concurrent refunds never exceed what was captured. The gateway
// is called after that commit with the refund's own key; an unknown
// outcome leaves the refund pending for Reconcile (LookupRefund). It
// returns EINVALID for a bad amount or reason, ENOTFOUND, ECONFLICT
// (payment-not-refundable) if the payment is not captured, EUNPROCESSABLE
// (refund-exceeds-captured), a *DeclineError if the gateway refuses (the
// refund fails and its amount is released), or an unknown-outcome error.
func (s *Service) Refund(ctx context.Context, paymentID string, amount shopd.Money, reason string) (Refund, error) {
	ctx = context.WithoutCancel(ctx)
	var v shopd.Validation
	v.Check(amount.Amount > 0 && amount.Amount <= MaxAmount, "amount.amount", fmt.Sprintf("must be from 1 to %d", int64(MaxAmount)))
	v.Check(len(reason) <= maxReasonLen, "reason", fmt.Sprintf("must be at most %d characters", maxReasonLen))
	if err := v.Err(); err != nil {
		return Refund{}, err
	}
	now := s.clock.Now()
	id := shopd.NewID("ref")
	r := Refund{ID: id, PaymentID: paymentID, Amount: amount, Reason: reason, Status: RefundPending,
		IdempotencyKey: IdempotencyKey(id), LockedUntil: now.Add(s.lease()), CreatedAt: now, UpdatedAt: now}
	var p Payment
	err := s.store.InTx(ctx, func(tx Tx) (err error) {
		if p, err = tx.PaymentForUpdate(ctx, paymentID); err != nil {
			return err
		}
		if p.Status != StatusSucceeded || p.ChargeID == "" {
			return shopd.TypedErrorf(shopd.ECONFLICT, "payment-not-refundable", "Only a captured payment can be refunded; this one is %s.", p.Status)
		}
		if amount.Currency != p.Amount.Currency {
			return fieldErr("amount.currency", "must be the payment's currency, "+p.Amount.Currency)
		}
		return tx.InsertPaymentRefund(ctx, r)
	})
	if err != nil {
		return Refund{}, err
	}
	gw, ok := s.gateways[p.Gateway]
	if !ok {
		return r, shopd.TypedErrorf(shopd.EUNAVAILABLE, "gateway-unavailable", "Payment gateway %q is not configured.", p.Gateway)
	}
	callCtx, cancel := context.WithTimeout(ctx, s.callTimeout)
	gr, gerr := gw.Refund(callCtx, refundRequest(r, p))
	cancel()
	return s.recordRefund(ctx, r, gr, gerr)
}

func refundRequest(r Refund, p Payment) RefundRequest {
	return RefundRequest{Key: r.IdempotencyKey, RefundID: r.ID, ChargeID: p.ChargeID, Amount: r.Amount, Since: r.CreatedAt}
}

// recordRefund settles a refund from the gateway's answer.
func (s *Service) recordRefund(ctx context.Context, r Refund, gr GatewayRefund, gerr error) (Refund, error) {
	status, failType, failMsg := RefundSucceeded, "", ""
	if d, declined := DeclineOf(gerr); declined {
		status, failType, failMsg = RefundFailed, d.Type, d.Message
	} else if gerr != nil {
		// Unknown: the refund stays pending; its lease expires and Reconcile
		// asks the gateway.
		if !IsUnknownOutcome(gerr) {
			gerr = Unknown(gerr)
		}
		return r, gerr
	}
	var out Refund
	err := s.store.InTx(ctx, func(tx Tx) error {
		ok, err := tx.SettlePaymentRefund(ctx, r.ID, status, gr.ID, failType, failMsg, s.clock.Now())
		if err != nil || !ok {
			return err
		}
		p, err := tx.PaymentForUpdate(ctx, r.PaymentID)
		if err != nil {
			return err
		}
		typ := "payment.refunded"
		if status == RefundFailed {
			typ = "payment.refund_failed"
		}
		e, err := event.New(typ, p.ID, refundEvent{Payment: eventOf(p), RefundID: r.ID, RefundAmount: r.Amount, FailureType: failType}, s.clock.Now())
		if err != nil {
			return err
		}
		return tx.AppendEvent(ctx, e)
	})
	if err != nil {
		return r, err
	}
	refunds, err := s.store.PaymentRefunds(ctx, r.PaymentID)
	if err != nil {
		return r, err
	}
	for _, x := range refunds {
		if x.ID == r.ID {
			out = x
		}
	}
	if out.Status == RefundFailed && gerr != nil {
		return out, gerr
	}
	return out, nil
}

// reconcileRefund settles one pending refund by LookupRefund.
func (s *Service) reconcileRefund(ctx context.Context, id string) (bool, error) {
	now := s.clock.Now()
	var r Refund
	var p Payment
	var ok bool
	err := s.store.InTx(ctx, func(tx Tx) (err error) {
		if r, ok, err = tx.ClaimPaymentRefund(ctx, id, now, now.Add(s.lease())); err != nil || !ok {
			return err
		}
		p, err = tx.PaymentForUpdate(ctx, r.PaymentID)
		return err
	})
	if err != nil || !ok {
		return false, err
	}
	gw, ok := s.gateways[p.Gateway]
	if !ok {
		return false, shopd.TypedErrorf(shopd.EUNAVAILABLE, "gateway-unavailable", "Payment gateway %q is not configured.", p.Gateway)
	}
	callCtx, cancel := context.WithTimeout(ctx, s.callTimeout)
	gr, err := gw.LookupRefund(callCtx, refundRequest(r, p))
	cancel()
	switch {
	case errors.Is(err, ErrNotFound):
		_, err = s.recordRefund(ctx, r, GatewayRefund{}, NewDecline("not-refunded", "The gateway never made this refund.", "").Err())
		if _, declined := DeclineOf(err); declined {
			err = nil
		}
		return err == nil, err
	case err != nil:
		return false, err
	}
	_, err = s.recordRefund(ctx, r, gr, nil)
	return err == nil, err
}

// HandleWebhook verifies and applies a webhook from the named gateway: a
// charge it reports settles its payment if that is still unsettled (through
// the same path as Execute, hooks included). Events about unknown or already
// settled payments are acknowledged and ignored. It returns ENOTFOUND
// (webhook-not-configured) if the gateway has no webhooks configured and
// EINVALID (bad-signature) for a bad signature.
func (s *Service) HandleWebhook(ctx context.Context, gateway string, payload []byte, header http.Header) error {
	gw, ok := s.gateways[gateway].(WebhookGateway)
	if !ok {
		return shopd.TypedErrorf(shopd.ENOTFOUND, "webhook-not-configured", "No %s webhook is configured.", gateway)
	}
	w, ok, err := gw.ParseWebhook(payload, header)
	if err != nil || !ok {
		return err
	}
	p, err := s.store.Payment(ctx, w.PaymentID)
	if shopd.ErrorCode(err) == shopd.ENOTFOUND || err == nil && (p.Status.Settled() || p.Gateway != gateway) {
		return nil
	}
	if err != nil {
		return err
	}
	st, err := settlementOf(w.Charge, s.clock.Now())
	if err != nil {
		return nil // a state that settles nothing (processing, …)
	}
	_, err = s.settle(context.WithoutCancel(ctx), p.ID, st)
	if _, declined := DeclineOf(err); declined {
		err = nil
	}
	return err
}

func fieldErr(field, msg string) error {
	return &shopd.Error{Code: shopd.EINVALID, Type: "validation", Message: "The request has invalid fields.",
		Fields: []shopd.FieldError{{Field: field, Message: msg}}}
}

// paymentEvent is the data of payment.* events: no token, no method details.
type paymentEvent struct {
	ID          string      `json:"id"`
	Reference   string      `json:"reference"`
	CustomerID  string      `json:"customer_id,omitempty"`
	Amount      shopd.Money `json:"amount"`
	Status      Status      `json:"status"`
	Gateway     string      `json:"gateway"`
	ChargeID    string      `json:"charge_id,omitempty"`
	Captured    int64       `json:"captured"`
	Refunded    int64       `json:"refunded"`
	FailureType string      `json:"failure_type,omitempty"`
	HardDecline bool        `json:"hard_decline,omitempty"`
}

type refundEvent struct {
	Payment      paymentEvent `json:"payment"`
	RefundID     string       `json:"refund_id"`
	RefundAmount shopd.Money  `json:"refund_amount"`
	FailureType  string       `json:"failure_type,omitempty"`
}

func eventOf(p Payment) paymentEvent {
	return paymentEvent{ID: p.ID, Reference: p.Reference, CustomerID: p.CustomerID, Amount: p.Amount, Status: p.Status,
		Gateway: p.Gateway, ChargeID: p.ChargeID, Captured: p.Captured, Refunded: p.Refunded, FailureType: p.FailureType, HardDecline: p.HardDecline}
}

func appendEvent(ctx context.Context, tx Tx, typ string, p Payment) error {
	e, err := event.New(typ, p.ID, eventOf(p), p.UpdatedAt)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, e)
}
