// Package payment takes money exactly once: every call to a payment gateway
// carries an idempotency key recorded in the database before the call, and a
// reconciler settles payments left in doubt by asking the gateway, never by
// charging again.
//
// # The protocol
//
//  1. Prepare builds a pending Payment whose idempotency key is derived from
//     its ID; the caller commits it with Tx.InsertPayment, usually in the
//     same transaction as the thing being paid for (checkout inserts it with
//     the order). Create does the same in a transaction of its own.
//  2. Execute takes a short lease on the row (so that concurrent callers and
//     the reconciler do not call the gateway at the same time), then calls
//     the gateway OUTSIDE any transaction, with the row's key.
//  3. Execute records the outcome in a new transaction: succeeded,
//     authorized or failed, with an outbox event, and runs the settle hooks
//     (see OnSettle) in that same transaction. If the outcome is unknown
//     (timeout, 5xx, crash) the row stays pending or becomes in_doubt.
//  4. Reconcile settles every pending or in_doubt payment older than a
//     threshold by asking the gateway what happened under the row's key
//     (Gateway.Lookup): a charge found settles the payment as succeeded, no
//     charge as failed. It never calls Authorize.
//
// A crash at any point therefore leaves either no charge (the row settles as
// failed) or one charge under the row's key (the row settles as succeeded);
// the settle hooks run exactly once, when the row leaves pending/in_doubt.
package payment

import (
	"context"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
)

// Status is where a payment is in its life.
type Status string

// Payment statuses. Pending and in_doubt are the unsettled states; every
// other status is settled and never goes back.
const (
	StatusPending    Status = "pending"    // recorded; the gateway may not have been called yet
	StatusInDoubt    Status = "in_doubt"   // the gateway was called and did not say what happened
	StatusAuthorized Status = "authorized" // the money is held, not captured (Capture or Void next)
	StatusSucceeded  Status = "succeeded"  // the money is captured
	StatusFailed     Status = "failed"     // declined, or never charged
	StatusVoided     Status = "voided"     // an authorization released without capture
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusInDoubt, StatusAuthorized, StatusSucceeded, StatusFailed, StatusVoided:
		return true
	}
	return false
}

// Settled reports whether the payment's outcome is known.
func (s Status) Settled() bool { return s != StatusPending && s != StatusInDoubt && s != "" }

// Method is a payment method as shopd keeps it: only the gateway's token and
// what a person needs to recognise the card. shopd never sees or stores a
// card number (PCI scope stays minimal).
type Method struct {
	Token    string // the gateway's token: "tok_visa", "pm_…"
	Brand    string // "visa", "mastercard", … ("" if unknown)
	Last4    string // four digits, or ""
	ExpMonth int    // 1–12, or 0
	ExpYear  int    // e.g. 2030, or 0
}

// Payment is one attempt to take an amount for a reference (an order, an
// invoice). A retry after a decline is a new Payment with a new key; a retry
// after an unknown outcome is never a new Payment (see Reconcile).
type Payment struct {
	ID             string // "pay_…"
	Reference      string // what is paid for, e.g. an order ID
	CustomerID     string // optional
	Amount         shopd.Money
	Capture        bool // true: charge now; false: authorize only
	Method         Method
	Description    string
	Status         Status
	Gateway        string // the gateway's name, e.g. "test" or "stripe"
	IdempotencyKey string // derived from ID; every gateway call for this payment uses it
	ChargeID       string // the gateway's charge ID once known
	Captured       int64  // minor units captured
	Refunded       int64  // minor units refunded or being refunded (Σ refunds not failed)
	FailureType    string // stable slug of the decline or failure ("card-declined", …)
	FailureMessage string
	HardDecline    bool // a decline that must never be retried (stolen card, fraud, closed account)
	Attempts       int  // gateway calls made or started for this payment
	LockedUntil    time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
	SettledAt      time.Time
}

// RefundStatus is where a refund is in its life.
type RefundStatus string

// Refund statuses.
const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// Refund gives back part or all of a captured payment. Its amount is
// reserved on the payment when the refund is recorded, so the refunds of a
// payment never exceed what was captured, even under concurrency.
type Refund struct {
	ID             string // "ref_…"
	PaymentID      string
	Amount         shopd.Money
	Reason         string
	Status         RefundStatus
	IdempotencyKey string
	GatewayID      string // the gateway's refund ID once known
	FailureType    string
	FailureMessage string
	LockedUntil    time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Settlement is an outcome to record on an unsettled payment.
type Settlement struct {
	Status         Status // authorized, succeeded or failed
	ChargeID       string
	Captured       int64
	FailureType    string
	FailureMessage string
	HardDecline    bool
	At             time.Time
}

// PaymentSettlement is an outcome to record on a payment.
type PaymentSettlement struct {
	ID string
	Settlement
}

// Filter selects payments for staff, newest first.
type Filter struct {
	Status    Status
	Reference string
	Before    string // a payment ID: list older payments only (cursor)
	Limit     int
}

// Tx is a write transaction: what the payment protocol needs from storage,
// and what a settle hook receives. The store's transaction type implements
// more than this (every module's operations), so a hook may assert it to its
// own module's Tx interface.
type Tx interface {
	event.Appender
	// InsertPayment records a pending payment. ECONFLICT if the ID or key exists.
	InsertPayment(ctx context.Context, p Payment) error
	// PaymentForUpdate returns the payment, locked for the transaction. ENOTFOUND.
	PaymentForUpdate(ctx context.Context, id string) (Payment, error)
	// ClaimPayment takes the lease on an unsettled payment whose lease has
	// expired at now, counts an attempt if attempt is true, and returns the
	// row; ok is false (and the current row is returned) if the payment is
	// settled or leased. ENOTFOUND.
	ClaimPayment(ctx context.Context, id string, now, until time.Time, attempt bool) (p Payment, ok bool, err error)
	// SettlePayment records an outcome if the payment is still unsettled;
	// ok is false if another caller settled it first.
	SettlePayment(ctx context.Context, id string, s Settlement) (ok bool, err error)
	// MarkPaymentInDoubt makes an unsettled payment in_doubt and drops its lease.
	MarkPaymentInDoubt(ctx context.Context, id string, now time.Time) error

	// Batches (ExecuteBatch): the same changes to many payments, each in a
	// few statements whatever the number of payments.

	// ClaimPayments is ClaimPayment for many payments: it returns those whose
	// lease it took, in no particular order; the others are left as they are.
	ClaimPayments(ctx context.Context, ids []string, now, until time.Time, attempt bool) ([]Payment, error)
	// SettlePayments is SettlePayment for many payments: it records each
	// outcome on a payment still unsettled and returns the payments it
	// settled, as they now stand, in no particular order.
	SettlePayments(ctx context.Context, ss []PaymentSettlement) ([]Payment, error)
	// MarkPaymentsInDoubt is MarkPaymentInDoubt for many payments.
	MarkPaymentsInDoubt(ctx context.Context, ids []string, now time.Time) error
	// AppendEvents writes events in the transaction, as AppendEvent does.
	AppendEvents(ctx context.Context, es []event.Event) error
	// Pipeline runs fn with the transaction's writes that nothing reads
	// back sent to the database together; any failure among them is
	// Pipeline's and fails the transaction (see sqlstore.Tx.Pipeline).
	Pipeline(ctx context.Context, fn func() error) error
	// UpdatePaymentStatus moves a payment from one settled status to
	// another (capture, void); ok is false if it was not in status from.
	UpdatePaymentStatus(ctx context.Context, id string, from, to Status, captured int64, now time.Time) (ok bool, err error)
	// DuePayments lists unsettled payments updated at or before before whose
	// lease expired at now, oldest first.
	DuePayments(ctx context.Context, before, now time.Time, limit int) ([]Payment, error)
	// InsertPaymentRefund reserves the refund's amount on its payment and
	// records it pending. EUNPROCESSABLE refund-exceeds-captured if the
	// payment has less captured and unrefunded than the amount.
	InsertPaymentRefund(ctx context.Context, r Refund) error
	// ClaimPaymentRefund takes the lease on a pending refund; see ClaimPayment.
	ClaimPaymentRefund(ctx context.Context, id string, now, until time.Time) (r Refund, ok bool, err error)
	// SettlePaymentRefund records a refund's outcome if it is still pending;
	// a failed refund gives its amount back to the payment.
	SettlePaymentRefund(ctx context.Context, id string, status RefundStatus, gatewayID, failureType, failureMessage string, now time.Time) (ok bool, err error)
	// DuePaymentRefunds lists pending refunds as DuePayments does.
	DuePaymentRefunds(ctx context.Context, before, now time.Time, limit int) ([]Refund, error)
}

// Store is what Service needs from storage.
type Store interface {
	// InTx runs fn in one write transaction, retried on contention.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Payment returns a payment. ENOTFOUND.
	Payment(ctx context.Context, id string) (Payment, error)
	// Payments lists payments newest first.
	Payments(ctx context.Context, f Filter) ([]Payment, error)
	// PaymentRefunds lists a payment's refunds oldest first.
	PaymentRefunds(ctx context.Context, paymentID string) ([]Refund, error)
}

// IdempotencyKey returns the gateway idempotency key of a payment or refund
// ID. It is a pure function of the ID, so every retry, crash recovery and
// reconciliation of the same payment uses the same key.
func IdempotencyKey(id string) string { return "shopd_" + id }
