package payment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/shopd/shopd"
)

// Gateway is a payment processor. Every call carries an idempotency key:
// the same key always means the same operation, so a call repeated with the
// same key never charges, captures or refunds twice.
//
// Errors: a decline is a *DeclineError (it wraps a *shopd.Error with code
// EPAYMENT); an outcome the gateway did not report (timeout, 5xx, a dropped
// connection) wraps ErrUnknownOutcome and means "in doubt: reconcile with the
// same key, never retry with a new one"; ErrNotFound means the gateway has no
// record of the key.
type Gateway interface {
	// Name names the gateway in payment rows ("test", "stripe").
	Name() string
	// Authorize holds (Capture false) or charges (Capture true) the amount.
	// A declined attempt returns the declined Charge and a *DeclineError.
	Authorize(ctx context.Context, req AuthorizeRequest) (Charge, error)
	// Capture captures an authorized charge (amount ≤ authorized).
	Capture(ctx context.Context, req CaptureRequest) (Charge, error)
	// Void releases an authorized, uncaptured charge.
	Void(ctx context.Context, req VoidRequest) (Charge, error)
	// Refund gives back part of a captured charge.
	Refund(ctx context.Context, req RefundRequest) (GatewayRefund, error)
	// Lookup reports what an Authorize with req.Key did, without charging:
	// the Charge (declined ones included), ErrNotFound if no charge was
	// attempted with the key, or ErrUnknownOutcome if the gateway cannot
	// tell yet.
	Lookup(ctx context.Context, req AuthorizeRequest) (Charge, error)
	// LookupRefund reports what a Refund with req.Key did, without
	// refunding: the refund, or ErrNotFound.
	LookupRefund(ctx context.Context, req RefundRequest) (GatewayRefund, error)
}

// WebhookGateway is a Gateway that reports outcomes by webhook.
type WebhookGateway interface {
	Gateway
	// ParseWebhook verifies a webhook's signature and returns the charge it
	// reports. It returns EINVALID (type "bad-signature") for a bad or stale
	// signature, and ok false for an event that concerns no shopd payment.
	ParseWebhook(payload []byte, header http.Header) (w Webhook, ok bool, err error)
}

// Webhook is what a gateway's webhook says about one payment.
type Webhook struct {
	EventID   string
	PaymentID string // the shopd payment the charge was made for
	Charge    Charge
}

// AuthorizeRequest asks a gateway to hold or charge an amount.
type AuthorizeRequest struct {
	Key         string // the payment's idempotency key
	PaymentID   string
	Reference   string
	Amount      shopd.Money
	Token       string // the payment method's gateway token
	Capture     bool
	Description string
	// Since is when the key was recorded; a gateway whose keys expire
	// refuses to Lookup keys older than it can remember.
	Since time.Time
}

// CaptureRequest captures an authorized charge.
type CaptureRequest struct {
	Key      string
	ChargeID string
	Amount   shopd.Money
}

// VoidRequest releases an authorized charge.
type VoidRequest struct {
	Key      string
	ChargeID string
}

// RefundRequest refunds part of a captured charge.
type RefundRequest struct {
	Key      string // the refund's idempotency key
	RefundID string
	ChargeID string
	Amount   shopd.Money
	Since    time.Time
}

// ChargeStatus is the gateway's view of a charge.
type ChargeStatus string

// Charge statuses.
const (
	ChargeAuthorized ChargeStatus = "authorized"
	ChargeCaptured   ChargeStatus = "captured"
	ChargeDeclined   ChargeStatus = "declined"
	ChargeVoided     ChargeStatus = "voided"
)

// Charge is a charge as the gateway sees it.
type Charge struct {
	ID       string
	Key      string
	Status   ChargeStatus
	Amount   shopd.Money
	Captured int64
	Refunded int64
	Decline  *Decline // set when Status is declined
	Method   Method   // brand, last4, expiry as the gateway reports them
}

// GatewayRefund is a refund as the gateway sees it.
type GatewayRefund struct {
	ID       string
	Key      string
	ChargeID string
	Amount   shopd.Money
}

// ErrUnknownOutcome means the gateway did not say what happened: the charge
// may or may not exist. The payment is in doubt; only Lookup with the same
// key may settle it. Never retry such a call with a new key.
var ErrUnknownOutcome = shopd.TypedErrorf(shopd.EUNAVAILABLE, "payment-outcome-unknown",
	"The payment gateway did not confirm the outcome; the payment will be settled by reconciliation.")

// ErrNotFound means the gateway has no record of the key.
var ErrNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "gateway-record-not-found", "The payment gateway has no record of this operation.")

// Unknown wraps a cause in ErrUnknownOutcome.
func Unknown(cause error) error {
	return &unknownError{cause: cause}
}

type unknownError struct{ cause error }

func (e *unknownError) Error() string { return fmt.Sprintf("%v: %v", ErrUnknownOutcome, e.cause) }

// Unwrap returns ErrUnknownOutcome and the cause, so errors.Is finds both.
func (e *unknownError) Unwrap() []error { return []error{ErrUnknownOutcome, e.cause} }

// IsUnknownOutcome reports whether err leaves a payment in doubt.
func IsUnknownOutcome(err error) bool { return errors.Is(err, ErrUnknownOutcome) }

// Decline is why a gateway refused a payment.
type Decline struct {
	Type    string // a stable slug: "card-declined", "insufficient-funds", "stolen-card", …
	Message string
	Hard    bool   // never retry this payment method (see DeclineTypes)
	Code    string // the gateway's own code, for support
}

// DeclineTypes lists the stable decline types and whether each is hard.
// Dunning must never retry a hard decline: the card is stolen, lost, closed
// or the payment is fraudulent, and a retry only harms the customer and the
// merchant's standing with the card networks.
var DeclineTypes = map[string]bool{
	"card-declined":           false, // a generic refusal; a later retry may pass
	"insufficient-funds":      false,
	"processing-error":        false,
	"incorrect-cvc":           false,
	"authentication-required": false,
	"try-again-later":         false,
	"expired-card":            true,
	"stolen-card":             true,
	"lost-card":               true,
	"fraudulent":              true,
	"account-closed":          true,
	"invalid-payment-method":  true,
	"card-not-supported":      true,
}

// NewDecline returns a decline of a stable type; its hardness comes from
// DeclineTypes (unknown types are soft).
func NewDecline(typ, message, code string) *Decline {
	return &Decline{Type: typ, Message: message, Hard: DeclineTypes[typ], Code: code}
}

// DeclineError is the error of a declined payment. It wraps a *shopd.Error
// with code EPAYMENT and the decline's type, so httpapi answers 402 with that
// problem type.
type DeclineError struct {
	Decline Decline
	err     *shopd.Error
}

// Err returns the decline as an error.
func (d *Decline) Err() *DeclineError {
	msg := d.Message
	if msg == "" {
		msg = "The payment was declined."
	}
	return &DeclineError{Decline: *d, err: shopd.TypedErrorf(shopd.EPAYMENT, d.Type, "%s", msg)}
}

func (e *DeclineError) Error() string { return e.err.Error() }

// Unwrap returns the *shopd.Error.
func (e *DeclineError) Unwrap() error { return e.err }

// DeclineOf returns the decline carried by err, if any.
func DeclineOf(err error) (Decline, bool) {
	var d *DeclineError
	if errors.As(err, &d) {
		return d.Decline, true
	}
	return Decline{}, false
}

// IsHardDecline reports whether err is a decline that must never be retried.
func IsHardDecline(err error) bool {
	d, ok := DeclineOf(err)
	return ok && d.Hard
}
