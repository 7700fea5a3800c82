package subscription

import (
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/payment"
)

// This file holds the pure rules of billing: what a renewal does to a due
// subscription, and what a charge's outcome does to its invoice and its
// subscription. The billing run (store, payments, workers) applies them.

// InvoiceStatus is where collecting an invoice stands.
type InvoiceStatus string

// Invoice statuses.
const (
	InvoiceOpen InvoiceStatus = "open" // being collected: a charge in flight or a retry planned
	InvoicePaid InvoiceStatus = "paid" // collected; the period is the subscriber's
	InvoiceVoid InvoiceStatus = "void" // given up by the dunning policy; never charged again
)

// InvoicePrefix starts every invoice ID; a payment whose reference has it
// pays an invoice.
const InvoicePrefix = "inv"

// Billing events written to the outbox with each change.
const (
	EventInvoicePaid          = "invoice.paid"
	EventInvoicePaymentFailed = "invoice.payment_failed"
	EventInvoiceVoided        = "invoice.voided"
	EventRenewed              = "subscription.renewed"
	EventPastDue              = "subscription.past_due"
	EventPeriodSkipped        = "subscription.period_skipped"
)

// Invoice is one period of one subscription: what it costs and how
// collecting it goes. There is at most one per subscription and period
// (the store makes a second impossible), so a renewal can never bill a
// period twice; each charge attempt is a payment of its own, with its own
// idempotency key, referring to the invoice.
type Invoice struct {
	ID             string        `json:"id"` // "inv_…"
	SubscriptionID string        `json:"subscription_id"`
	CustomerID     string        `json:"customer_id"`
	PlanID         string        `json:"plan_id"`
	Period         int           `json:"period"`
	PeriodStart    time.Time     `json:"period_start"`
	PeriodEnd      time.Time     `json:"period_end"`
	Price          shopd.Money   `json:"price"`        // the plan's price for the period
	Adjustment     shopd.Money   `json:"adjustment"`   // proration charged (> 0) or credited (< 0)
	Tax            shopd.Money   `json:"tax"`          // of Price + Adjustment in the subscriber's region
	TaxIncluded    bool          `json:"tax_included"` // Tax is part of Price (inclusive markets), not added
	Total          shopd.Money   `json:"total"`        // Price + Adjustment (never below zero), + Tax unless included
	Status         InvoiceStatus `json:"status"`
	Attempts       int           `json:"attempts"` // charges tried
	FirstFailedAt  time.Time     `json:"first_failed_at,omitzero"`
	NextAttemptAt  time.Time     `json:"next_attempt_at,omitzero"` // zero while a charge is in flight
	AwaitingMethod bool          `json:"awaiting_payment_method"`  // hard-declined: only a new payment method retries it
	LastDecline    string        `json:"last_decline,omitempty"`   // the decline type of the last failed attempt
	PaymentID      string        `json:"payment_id,omitempty"`     // the latest attempt
	OrderID        string        `json:"order_id,omitempty"`       // the period's order, once paid
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"`
}

// DunningPolicy and DunningSchedule (dunning.go) say how billing chases a
// failed renewal; BillingRules holds both.
type BillingRules struct {
	Schedule DunningSchedule
	Policy   DunningPolicy
}

// DefaultBillingRules retries over 14 days, then pauses.
func DefaultBillingRules() BillingRules {
	return BillingRules{Schedule: DefaultDunningSchedule(), Policy: DunningPause}
}

// Renewal is what the billing run does to one due subscription.
type Renewal struct {
	Event   string   // the subscription's outbox event: EventCanceled, EventPeriodSkipped or EventRenewed… ("" for none)
	Invoice *Invoice // the invoice to collect, if the period is billed
}

// Due reports whether the subscription's next billing is due at now.
func (s *Subscription) Due(now time.Time) bool {
	switch s.Status {
	case StatusTrialing, StatusActive, StatusPaused:
		return !s.NextBillingAt.IsZero() && !now.Before(s.NextBillingAt)
	}
	return false
}

// Renew applies the billing of the subscription's next period at now,
// which must be due (Due): a pause that has run out ends; a cancellation
// at period end takes effect; a skipped period is passed over; otherwise
// a pending plan change takes effect and the period gets its invoice
// (newID names it). The subscription then waits for the invoice:
// NextBillingAt is zero until a charge settles it (Paid or Failed).
func (s *Subscription) Renew(now time.Time, loc *time.Location, newID func() string) (Renewal, error) {
	now = now.UTC()
	if s.Status == StatusPaused {
		// The pause ran out: bill the period it ends in, never those it covered.
		s.Status, s.PausedUntil = StatusActive, time.Time{}
		s.NextPeriod = max(s.NextPeriod, s.firstPeriodFrom(s.NextBillingAt, loc))
	}
	s.UpdatedAt = now
	if s.CancelAtPeriodEnd {
		s.Status, s.CanceledAt, s.CancelAtPeriodEnd, s.NextBillingAt = StatusCanceled, now, false, time.Time{}
		return Renewal{Event: EventCanceled}, nil
	}
	if s.NextPeriod == s.SkipPeriod {
		s.SkipPeriod = NoPeriod
		s.NextPeriod++
		s.NextBillingAt = PeriodStart(s.Anchor, loc, s.Interval, s.NextPeriod)
		s.refresh(now, loc)
		return Renewal{Event: EventPeriodSkipped}, nil
	}
	if s.PendingPlanID != "" {
		s.PlanID, s.Price = s.PendingPlanID, s.PendingPlanPrice
		s.PendingPlanID, s.PendingPlanPrice = "", shopd.Zero(s.Price.Currency)
	}
	start, end := Period(s.Anchor, loc, s.Interval, s.NextPeriod)
	total, err := s.Price.Add(s.Adjustment)
	if err != nil {
		return Renewal{}, err
	}
	inv := &Invoice{
		ID: newID(), SubscriptionID: s.ID, CustomerID: s.CustomerID, PlanID: s.PlanID, Period: s.NextPeriod,
		PeriodStart: start, PeriodEnd: end, Price: s.Price, Adjustment: s.Adjustment, Tax: shopd.Zero(total.Currency), Total: total,
		Status: InvoiceOpen, CreatedAt: now, UpdatedAt: now,
	}
	if total.Amount < 0 { // a credit larger than the price: the rest waits for the next period
		inv.Adjustment, inv.Total = shopd.Money{Amount: -s.Price.Amount, Currency: s.Price.Currency}, shopd.Zero(s.Price.Currency)
	}
	s.NextBillingAt = time.Time{}
	return Renewal{Invoice: inv}, nil
}

// Paid applies a collected invoice: the period becomes the subscription's
// current one, the adjustment it carried is used up, and the next period
// is due at its start. The status becomes active (from trialing or
// past_due). It returns the subscription's event.
func (s *Subscription) Paid(inv *Invoice, now time.Time, loc *time.Location) (string, error) {
	now = now.UTC()
	inv.Status, inv.NextAttemptAt, inv.UpdatedAt = InvoicePaid, time.Time{}, now
	left, err := s.Adjustment.Sub(inv.Adjustment)
	if err != nil {
		return "", err
	}
	if s.Status != StatusCanceled {
		s.Status = StatusActive
	}
	s.Adjustment, s.UpdatedAt = left, now
	s.PeriodIndex, s.CurrentPeriodStart, s.CurrentPeriodEnd = inv.Period, inv.PeriodStart, inv.PeriodEnd
	s.NextPeriod = inv.Period + 1
	if s.Status != StatusCanceled {
		s.NextBillingAt = PeriodStart(s.Anchor, loc, s.Interval, s.NextPeriod)
	}
	return EventRenewed, nil
}

// Failed applies a declined charge of inv at now under rules: the invoice
// stays open with its next retry planned by the dunning schedule, counted
// from its first failure, and the subscription is past_due. A hard decline
// (stolen card, closed account…) is never retried with the same method: the
// invoice waits for a new one (RetryNow) until the schedule's last retry
// time, then is given up. After the last attempt the invoice is void and
// the policy pauses or cancels the subscription (GiveUp). It returns the
// subscription's event ("" if its status did not change).
func (s *Subscription) Failed(inv *Invoice, d payment.Decline, now time.Time, rules BillingRules) string {
	now = now.UTC()
	if s.Status == StatusCanceled {
		// Canceled while the charge was in flight: there is nothing to chase.
		inv.LastDecline = d.Type
		inv.void(now)
		return ""
	}
	if d.Type == payment.FailureNotCharged && inv.Attempts <= maxLostAttempts {
		// The charge never reached the gateway, so the card was not
		// declined: retry at once, due since the attempt, with no past_due
		// and no dunning delay. Past maxLostAttempts (a gateway that keeps
		// failing) the invoice is chased by the dunning schedule instead,
		// which spaces the retries out over days.
		inv.NextAttemptAt, inv.LastDecline = inv.UpdatedAt, d.Type
		if inv.NextAttemptAt.After(now) {
			inv.NextAttemptAt = now
		}
		inv.UpdatedAt = now
		return ""
	}
	inv.UpdatedAt, inv.LastDecline = now, d.Type
	if inv.FirstFailedAt.IsZero() {
		inv.FirstFailedAt = now
	}
	next, ok := rules.Schedule.NextRetry(inv.FirstFailedAt, inv.Attempts)
	if d.Hard {
		next, ok = inv.FirstFailedAt.Add(lastDelay(rules.Schedule)), true
		inv.AwaitingMethod = true
	}
	if !ok || (d.Hard && !next.After(now)) {
		return s.GiveUp(inv, now, rules)
	}
	inv.NextAttemptAt = next
	s.UpdatedAt = now
	if s.Status == StatusPastDue {
		return ""
	}
	s.Status = StatusPastDue
	return EventPastDue
}

// maxLostAttempts bounds the immediate retries of charges that never
// reached the gateway.
const maxLostAttempts = 3

// GiveUp ends the dunning of inv: the invoice is void and the policy
// pauses (until the subscriber resumes, with no end date) or cancels the
// subscription; a canceled subscription stays as it is. It returns the
// subscription's event.
func (s *Subscription) GiveUp(inv *Invoice, now time.Time, rules BillingRules) string {
	now = now.UTC()
	inv.void(now)
	if s.Status == StatusCanceled {
		return ""
	}
	s.UpdatedAt = now
	if rules.Policy == DunningCancel {
		s.Status, s.CanceledAt, s.CancelAtPeriodEnd, s.NextBillingAt = StatusCanceled, now, false, time.Time{}
		return EventCanceled
	}
	// Resuming bills the period current then (Resume), never the void one.
	s.Status, s.PausedUntil, s.NextBillingAt = StatusPaused, time.Time{}, time.Time{}
	return EventPaused
}

// void ends the invoice unpaid: it is never charged again.
func (inv *Invoice) void(now time.Time) {
	inv.Status, inv.NextAttemptAt, inv.AwaitingMethod, inv.UpdatedAt = InvoiceVoid, time.Time{}, false, now.UTC()
}

// Chased reports whether the invoice is open and waits for a retry: not
// paid or void, and no charge of it in flight.
func (inv *Invoice) Chased() bool {
	return inv.Status == InvoiceOpen && !inv.NextAttemptAt.IsZero()
}

// RetryNow plans an immediate retry of an invoice still being chased,
// after the payment method changed; it reports whether there was one. An
// invoice whose charge is in flight is left alone.
func (inv *Invoice) RetryNow(now time.Time) bool {
	if !inv.Chased() {
		return false
	}
	inv.NextAttemptAt, inv.AwaitingMethod, inv.UpdatedAt = now.UTC(), false, now.UTC()
	return true
}

// Attempt starts a charge of the invoice: one more attempt, none planned
// while it is in flight.
func (inv *Invoice) Attempt(now time.Time) {
	inv.Attempts++
	inv.NextAttemptAt, inv.UpdatedAt = time.Time{}, now.UTC()
}

// lastDelay is when, after the first failure, the schedule's last retry is.
func lastDelay(s DunningSchedule) time.Duration {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}
