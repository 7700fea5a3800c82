// Package testgateway is shopd's built-in payment gateway for tests, demos
// and load runs. It behaves like an external processor: its ledger lives in
// its own tables, written in transactions of its own (never in the caller's),
// so it survives a crash of the caller and can be counted after a restart;
// it honours idempotency keys (the same key is the same charge, never a
// second one); and test tokens choose the outcome:
//
//	tok_visa, tok_mastercard, tok_amex   succeed
//	tok_declined                         soft decline (card-declined)
//	tok_insufficient_funds               soft decline (insufficient-funds)
//	tok_expired                          hard decline (expired-card)
//	tok_stolen, tok_lost, tok_fraud,     hard declines (stolen-card, lost-card,
//	tok_closed                             fraudulent, account-closed)
//	tok_decline_once                     declines the first attempt for a reference, then succeeds
//	tok_error                            answers 5xx before charging (outcome unknown to the caller)
//	tok_error_after_charge               charges, then answers 5xx
//	tok_timeout                          charges, then never answers (blocks until the context ends)
//	tok_slow                             succeeds after Options.SlowLatency
//
// Any other token is declined as invalid-payment-method (hard).
package testgateway

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/coalesce"
	"github.com/shopd/shopd/payment"
)

// Name is the gateway's name in payment rows.
const Name = "test"

// Entry is one charge in the ledger, declined attempts included.
type Entry struct {
	ID          string               `json:"id"` // "ch_…"
	Key         string               `json:"idempotency_key"`
	Reference   string               `json:"reference"`
	Token       string               `json:"token"`
	Amount      shopd.Money          `json:"amount"`
	Status      payment.ChargeStatus `json:"status"`
	Captured    int64                `json:"captured"`
	Refunded    int64                `json:"refunded"`
	DeclineType string               `json:"decline_type,omitempty"`
	CreatedAt   time.Time            `json:"created_at"`
	UpdatedAt   time.Time            `json:"updated_at"`
}

// RefundEntry is one refund in the ledger.
type RefundEntry struct {
	ID        string      `json:"id"` // "re_…"
	Key       string      `json:"idempotency_key"`
	ChargeID  string      `json:"charge_id"`
	Amount    shopd.Money `json:"amount"`
	CreatedAt time.Time   `json:"created_at"`
}

// Filter selects ledger entries, newest first.
type Filter struct {
	Reference string
	Status    payment.ChargeStatus
	Before    string // an entry ID (cursor)
	Limit     int
}

// Counts summarise the whole ledger, so a test or load run can compare
// real charges with paid orders.
type Counts struct {
	Attempts   int `json:"attempts"`   // every entry, declines included
	Authorized int `json:"authorized"` // held, not captured
	Captured   int `json:"captured"`   // money taken
	Declined   int `json:"declined"`
	Voided     int `json:"voided"`
	Refunds    int `json:"refunds"`
}

// Ledger stores the gateway's records. Every method commits on its own.
type Ledger interface {
	// RecordTestCharge inserts e unless an entry with its key exists, and
	// returns the stored entry (the existing one if the key was taken).
	RecordTestCharge(ctx context.Context, e Entry) (Entry, error)
	// TestCharge returns the entry with an idempotency key. ENOTFOUND.
	TestCharge(ctx context.Context, key string) (Entry, error)
	// CaptureTestCharge captures an authorized entry (a captured one is
	// returned as is). ENOTFOUND; ECONFLICT in any other status.
	CaptureTestCharge(ctx context.Context, id string, amount int64, now time.Time) (Entry, error)
	// VoidTestCharge voids an authorized entry (a voided one is returned as
	// is). ENOTFOUND; ECONFLICT in any other status.
	VoidTestCharge(ctx context.Context, id string, now time.Time) (Entry, error)
	// RefundTestCharge records a refund unless one exists with its key (then
	// it returns that one). EUNPROCESSABLE refund-exceeds-captured; ENOTFOUND.
	RefundTestCharge(ctx context.Context, r RefundEntry) (RefundEntry, error)
	// TestRefund returns the refund with an idempotency key. ENOTFOUND.
	TestRefund(ctx context.Context, key string) (RefundEntry, error)
	// TestCharges lists entries and counts the whole ledger.
	TestCharges(ctx context.Context, f Filter) ([]Entry, Counts, error)
}

// BatchLedger is a Ledger that records many charges in one transaction.
// The gateway then records the charges of concurrent Authorize calls
// together (each call still returns only once its charge is committed), as
// a real processor's ledger absorbs many calls at once.
type BatchLedger interface {
	Ledger
	// RecordTestCharges is RecordTestCharge for many entries, in one
	// transaction: it returns the stored entry of each, in order.
	RecordTestCharges(ctx context.Context, es []Entry) ([]Entry, error)
}

// DeclineLedger is a Ledger that tells at the cost of an index lookup
// whether a reference has a declined charge, which tok_decline_once asks
// on every charge (TestCharges also counts the whole ledger).
type DeclineLedger interface {
	Ledger
	// TestDeclined reports whether the reference has a declined entry.
	TestDeclined(ctx context.Context, reference string) (bool, error)
}

// Options inject faults and latency.
type Options struct {
	// RateLimit is the calls per second the gateway publishes as its limit
	// (payment.RateLimited), which bulk callers stay under; it does not
	// refuse calls over it. 0 publishes none.
	RateLimit   float64
	Latency     time.Duration // added to every call
	SlowLatency time.Duration // added by tok_slow; 2s if zero
	// ErrorRate is the fraction (0–1) of Authorize, Capture, Void and Refund
	// calls that answer 5xx before doing anything: the caller cannot tell,
	// so its payment is in doubt until reconciled. Lookups are not affected.
	ErrorRate float64
	// ErrorAfterChargeRate is the fraction of successful Authorize calls
	// that charge and then answer 5xx.
	ErrorAfterChargeRate float64
	Seed                 uint64      // seeds fault injection; 0 seeds randomly
	Clock                shopd.Clock // SystemClock if nil
}

// Gateway is the test gateway. It is safe for concurrent use.
type Gateway struct {
	ledger Ledger
	opts   Options
	mu     sync.Mutex
	rnd    *rand.Rand

	// Charges of concurrent calls, recorded together (BatchLedger).
	records *coalesce.Batcher[Entry, Entry]
}

var _ payment.Gateway = (*Gateway)(nil)
var _ payment.RateLimited = (*Gateway)(nil)

// RateLimit implements payment.RateLimited: Options.RateLimit.
func (g *Gateway) RateLimit() float64 { return g.opts.RateLimit }

// New returns a test gateway keeping its ledger in ledger.
func New(ledger Ledger, opts Options) *Gateway {
	if opts.SlowLatency <= 0 {
		opts.SlowLatency = 2 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = shopd.SystemClock{}
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	g := &Gateway{ledger: ledger, opts: opts, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	if bl, ok := ledger.(BatchLedger); ok {
		g.records = coalesce.New(maxRecordGroup, func(ctx context.Context, calls []*coalesce.Call[Entry, Entry]) {
			stored, err := bl.RecordTestCharges(ctx, coalesce.Reqs(calls))
			for i, c := range calls {
				if c.Err = err; err == nil {
					c.Res = stored[i]
				}
			}
		})
	}
	return g
}

// maxRecordGroup bounds the charges recorded in one transaction.
const maxRecordGroup = 256

// Name implements payment.Gateway.
func (g *Gateway) Name() string { return Name }

// declines maps decline tokens to their stable types.
var declines = map[string]string{
	"tok_declined":           "card-declined",
	"tok_insufficient_funds": "insufficient-funds",
	"tok_expired":            "expired-card",
	"tok_stolen":             "stolen-card",
	"tok_lost":               "lost-card",
	"tok_fraud":              "fraudulent",
	"tok_closed":             "account-closed",
}

// brands are the succeeding tokens and the method each stands for.
var brands = map[string]payment.Method{
	"tok_visa":               {Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2034},
	"tok_mastercard":         {Brand: "mastercard", Last4: "4444", ExpMonth: 12, ExpYear: 2034},
	"tok_amex":               {Brand: "amex", Last4: "8431", ExpMonth: 12, ExpYear: 2034},
	"tok_slow":               {Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2034},
	"tok_timeout":            {Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2034},
	"tok_error_after_charge": {Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2034},
	"tok_decline_once":       {Brand: "visa", Last4: "0341", ExpMonth: 12, ExpYear: 2034},
}

// Method describes a test token as a payment method (brand, last4, expiry),
// and reports whether the token is known.
func Method(token string) (payment.Method, bool) {
	m, ok := brands[token]
	if !ok {
		if _, ok = declines[token]; ok {
			m = payment.Method{Brand: "visa", Last4: "0002", ExpMonth: 12, ExpYear: 2034}
		} else if ok = token == "tok_error"; ok {
			m = payment.Method{Brand: "visa", Last4: "0119", ExpMonth: 12, ExpYear: 2034}
		}
	}
	m.Token = token
	return m, ok
}

func (g *Gateway) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return payment.Unknown(ctx.Err())
	case <-t.C:
		return nil
	}
}

func (g *Gateway) chance(rate float64) bool {
	if rate <= 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rnd.Float64() < rate
}

var errServer = errors.New("test gateway: 500 internal server error")

// before runs the latency and the injected 5xx of a mutating call.
func (g *Gateway) before(ctx context.Context) error {
	if err := g.sleep(ctx, g.opts.Latency); err != nil {
		return err
	}
	if g.chance(g.opts.ErrorRate) {
		return payment.Unknown(errServer)
	}
	return nil
}

// Authorize implements payment.Gateway.
func (g *Gateway) Authorize(ctx context.Context, req payment.AuthorizeRequest) (payment.Charge, error) {
	if err := g.before(ctx); err != nil {
		return payment.Charge{}, err
	}
	if req.Key == "" {
		return payment.Charge{}, shopd.Errorf(shopd.EINVALID, "test gateway: an idempotency key is required")
	}
	// A replayed key answers what the first call did, whatever the token:
	// recording a charge under a key that has one returns the first (and
	// tok_error never records one).
	switch req.Token {
	case "tok_error":
		return payment.Charge{}, payment.Unknown(errServer)
	case "tok_slow":
		if err := g.sleep(ctx, g.opts.SlowLatency); err != nil {
			return payment.Charge{}, err
		}
	}
	now := g.opts.Clock.Now()
	e := Entry{ID: shopd.NewID("ch"), Key: req.Key, Reference: req.Reference, Token: req.Token, Amount: req.Amount,
		Status: payment.ChargeAuthorized, CreatedAt: now, UpdatedAt: now}
	if req.Capture {
		e.Status, e.Captured = payment.ChargeCaptured, req.Amount.Amount
	}
	if typ, ok := g.declineType(ctx, req); ok {
		e.Status, e.Captured, e.DeclineType = payment.ChargeDeclined, 0, typ
	} else if typ != "" {
		return payment.Charge{}, payment.Unknown(errors.New(typ))
	}
	stored, err := g.record(ctx, e)
	if err != nil {
		return payment.Charge{}, payment.Unknown(err)
	}
	if stored.ID != e.ID {
		return g.replay(stored, req) // a concurrent call with the key won
	}
	switch {
	case stored.Status == payment.ChargeDeclined:
	case req.Token == "tok_timeout":
		<-ctx.Done()
		return payment.Charge{}, payment.Unknown(fmt.Errorf("test gateway: no answer: %w", ctx.Err()))
	case req.Token == "tok_error_after_charge" || g.chance(g.opts.ErrorAfterChargeRate):
		return payment.Charge{}, payment.Unknown(errServer)
	}
	return charge(stored)
}

// record records a charge. With a BatchLedger, the charges of concurrent
// calls are recorded together (package coalesce); each caller waits for
// its own.
func (g *Gateway) record(ctx context.Context, e Entry) (Entry, error) {
	if g.records == nil {
		return g.ledger.RecordTestCharge(ctx, e)
	}
	// One caller's cancellation must not fail its charge once sent.
	return g.records.Do(context.WithoutCancel(ctx), e)
}

// declineType says whether the request is declined, and how. A non-empty
// type with ok false is a ledger error text.
func (g *Gateway) declineType(ctx context.Context, req payment.AuthorizeRequest) (string, bool) {
	if typ, ok := declines[req.Token]; ok {
		return typ, true
	}
	if req.Token == "tok_decline_once" {
		declined, err := g.declined(ctx, req.Reference)
		if err != nil {
			return err.Error(), false
		}
		if !declined {
			return "card-declined", true
		}
		return "", false
	}
	if _, ok := brands[req.Token]; !ok {
		return "invalid-payment-method", true
	}
	return "", false
}

// declined reports whether the reference has a declined charge.
func (g *Gateway) declined(ctx context.Context, reference string) (bool, error) {
	if dl, ok := g.ledger.(DeclineLedger); ok {
		return dl.TestDeclined(ctx, reference)
	}
	prior, _, err := g.ledger.TestCharges(ctx, Filter{Reference: reference, Status: payment.ChargeDeclined, Limit: 1})
	return len(prior) > 0, err
}

// replay answers a repeated key as the first call was answered. A key
// reused with another amount is refused, as real gateways do.
func (g *Gateway) replay(e Entry, req payment.AuthorizeRequest) (payment.Charge, error) {
	if e.Amount != req.Amount {
		return payment.Charge{}, shopd.TypedErrorf(shopd.EUNPROCESSABLE, "idempotency-key-reused",
			"test gateway: key %s was used for %v, not %v", req.Key, e.Amount, req.Amount)
	}
	return charge(e)
}

// charge converts an entry; a declined one comes with its *DeclineError.
func charge(e Entry) (payment.Charge, error) {
	m, _ := Method(e.Token)
	c := payment.Charge{ID: e.ID, Key: e.Key, Status: e.Status, Amount: e.Amount, Captured: e.Captured, Refunded: e.Refunded, Method: m}
	if e.Status == payment.ChargeDeclined {
		c.Decline = payment.NewDecline(e.DeclineType, declineMessage(e.DeclineType), e.DeclineType)
		return c, c.Decline.Err()
	}
	return c, nil
}

func declineMessage(typ string) string {
	switch typ {
	case "insufficient-funds":
		return "The card has insufficient funds."
	case "expired-card":
		return "The card has expired."
	case "stolen-card", "lost-card", "fraudulent", "account-closed":
		return "The card was declined; do not retry it."
	case "invalid-payment-method":
		return "The payment method is not valid."
	}
	return "The card was declined."
}

// Capture implements payment.Gateway.
func (g *Gateway) Capture(ctx context.Context, req payment.CaptureRequest) (payment.Charge, error) {
	if err := g.before(ctx); err != nil {
		return payment.Charge{}, err
	}
	e, err := g.ledger.CaptureTestCharge(ctx, req.ChargeID, req.Amount.Amount, g.opts.Clock.Now())
	if err != nil {
		return payment.Charge{}, err
	}
	return charge(e)
}

// Void implements payment.Gateway.
func (g *Gateway) Void(ctx context.Context, req payment.VoidRequest) (payment.Charge, error) {
	if err := g.before(ctx); err != nil {
		return payment.Charge{}, err
	}
	e, err := g.ledger.VoidTestCharge(ctx, req.ChargeID, g.opts.Clock.Now())
	if err != nil {
		return payment.Charge{}, err
	}
	return charge(e)
}

// Refund implements payment.Gateway. A refund over what is left of the
// charge is declined (refund-exceeds-captured).
func (g *Gateway) Refund(ctx context.Context, req payment.RefundRequest) (payment.GatewayRefund, error) {
	if err := g.before(ctx); err != nil {
		return payment.GatewayRefund{}, err
	}
	r, err := g.ledger.RefundTestCharge(ctx, RefundEntry{ID: shopd.NewID("re"), Key: req.Key, ChargeID: req.ChargeID,
		Amount: req.Amount, CreatedAt: g.opts.Clock.Now()})
	var se *shopd.Error
	switch {
	case errors.As(err, &se) && se.Code == shopd.EUNPROCESSABLE:
		return payment.GatewayRefund{}, payment.NewDecline("refund-exceeds-captured", se.Message, "").Err()
	case err != nil:
		return payment.GatewayRefund{}, payment.Unknown(err)
	}
	return payment.GatewayRefund{ID: r.ID, Key: r.Key, ChargeID: r.ChargeID, Amount: r.Amount}, nil
}

// Lookup implements payment.Gateway.
func (g *Gateway) Lookup(ctx context.Context, req payment.AuthorizeRequest) (payment.Charge, error) {
	if err := g.sleep(ctx, g.opts.Latency); err != nil {
		return payment.Charge{}, err
	}
	e, err := g.ledger.TestCharge(ctx, req.Key)
	switch {
	case shopd.ErrorCode(err) == shopd.ENOTFOUND:
		return payment.Charge{}, payment.ErrNotFound
	case err != nil:
		return payment.Charge{}, payment.Unknown(err)
	}
	c, _ := charge(e) // a declined charge is a found charge: Lookup reports it without an error
	return c, nil
}

// LookupRefund implements payment.Gateway.
func (g *Gateway) LookupRefund(ctx context.Context, req payment.RefundRequest) (payment.GatewayRefund, error) {
	if err := g.sleep(ctx, g.opts.Latency); err != nil {
		return payment.GatewayRefund{}, err
	}
	r, err := g.ledger.TestRefund(ctx, req.Key)
	switch {
	case shopd.ErrorCode(err) == shopd.ENOTFOUND:
		return payment.GatewayRefund{}, payment.ErrNotFound
	case err != nil:
		return payment.GatewayRefund{}, payment.Unknown(err)
	}
	return payment.GatewayRefund{ID: r.ID, Key: r.Key, ChargeID: r.ChargeID, Amount: r.Amount}, nil
}

// Charges lists the ledger (newest first, limit clamped to 1..500) with
// counts over all of it.
func (g *Gateway) Charges(ctx context.Context, f Filter) ([]Entry, Counts, error) {
	f.Limit = min(max(f.Limit, 1), 501) // a page of 500, plus one to tell whether another follows
	return g.ledger.TestCharges(ctx, f)
}
