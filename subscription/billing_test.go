package subscription

import (
	"fmt"
	"testing"
	"time"

	"github.com/shopd/shopd/payment"
)

func newBilled(t *testing.T, start time.Time, trialDays int) (*Subscription, *time.Location) {
	t.Helper()
	loc := ny
	s := &Subscription{ID: "sub_1", CustomerID: "cus_1", PlanID: "pln_a", Market: "us", TimeZone: loc.String(),
		Interval: monthly, Kind: KindBox, Price: usd(2900), Adjustment: usd(0), PendingPlanPrice: usd(0)}
	s.Start(trialDays, start, loc)
	return s, loc
}

func ids() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("inv_%d", n) }
}

// renew runs one renewal that must bill, and pays it.
func renewAndPay(t *testing.T, s *Subscription, loc *time.Location, newID func() string) *Invoice {
	t.Helper()
	now := s.NextBillingAt
	if !s.Due(now) || s.Due(now.Add(-time.Microsecond)) {
		t.Fatalf("not due exactly at %v: %+v", now, s)
	}
	r, err := s.Renew(now, loc, newID)
	if err != nil || r.Invoice == nil || !s.NextBillingAt.IsZero() || s.Due(now.Add(1000*time.Hour)) {
		t.Fatalf("renew at %v: %+v %v; subscription %+v", now, r, err, s)
	}
	if ev, err := s.Paid(r.Invoice, now, loc); err != nil || ev != EventRenewed {
		t.Fatalf("paid: %q %v", ev, err)
	}
	return r.Invoice
}

// TestRenewalCalendar: 24 renewals of a Jan 31 subscription bill each
// period once, at its start, clamped to month ends, with no drift.
func TestRenewalCalendar(t *testing.T) {
	start := time.Date(2027, 1, 31, 15, 0, 0, 0, time.UTC) // 10:00 in New York
	s, loc := newBilled(t, start, 0)
	newID := ids()
	for n := range 24 {
		inv := renewAndPay(t, s, loc, newID)
		wantStart, wantEnd := Period(s.Anchor, loc, s.Interval, n)
		if inv.Period != n || !inv.PeriodStart.Equal(wantStart) || !inv.PeriodEnd.Equal(wantEnd) || inv.Total != usd(2900) || inv.Status != InvoicePaid {
			t.Fatalf("renewal %d: %+v", n, inv)
		}
		local := inv.PeriodStart.In(loc)
		if h, d := local.Hour(), local.Day(); h != 10 || d != min(31, daysIn(local.Year(), local.Month())) {
			t.Fatalf("period %d starts %v", n, local)
		}
		if s.Status != StatusActive || s.PeriodIndex != n || s.NextPeriod != n+1 || !s.NextBillingAt.Equal(wantEnd) || !s.CurrentPeriodEnd.Equal(wantEnd) {
			t.Fatalf("after renewal %d: %+v", n, s)
		}
	}
}

func TestRenewalTrialSkipCancelPlanChange(t *testing.T) {
	start := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	s, loc := newBilled(t, start, 14)
	newID := ids()
	if s.Status != StatusTrialing || s.Due(start) {
		t.Fatalf("trial: %+v", s)
	}
	inv := renewAndPay(t, s, loc, newID) // at the trial's end
	if inv.Period != 0 || !inv.PeriodStart.Equal(s.TrialEnd) || s.Status != StatusActive {
		t.Fatalf("first paid period %+v, subscription %+v", inv, s)
	}

	// A skipped period is passed over, without an invoice.
	s.SkipPeriod = 1
	r, err := s.Renew(s.NextBillingAt, loc, newID)
	if err != nil || r.Invoice != nil || r.Event != EventPeriodSkipped || s.NextPeriod != 2 || s.SkipPeriod != NoPeriod ||
		!s.NextBillingAt.Equal(PeriodStart(s.Anchor, loc, s.Interval, 2)) {
		t.Fatalf("skip: %+v %v %+v", r, err, s)
	}

	// A plan change for the next period and a proration charge.
	s.PendingPlanID, s.PendingPlanPrice, s.Adjustment = "pln_b", usd(3900), usd(450)
	inv = renewAndPay(t, s, loc, newID)
	if inv.PlanID != "pln_b" || inv.Price != usd(3900) || inv.Adjustment != usd(450) || inv.Total != usd(4350) ||
		s.PlanID != "pln_b" || s.PendingPlanID != "" || s.Adjustment != usd(0) {
		t.Fatalf("plan change: %+v; %+v", inv, s)
	}

	// A credit larger than a period's price carries over.
	s.Adjustment = usd(-5000)
	inv = renewAndPay(t, s, loc, newID)
	if inv.Total != usd(0) || inv.Adjustment != usd(-3900) || s.Adjustment != usd(-1100) {
		t.Fatalf("credit: %+v; left %v", inv, s.Adjustment)
	}
	inv = renewAndPay(t, s, loc, newID)
	if inv.Total != usd(2800) || s.Adjustment != usd(0) {
		t.Fatalf("rest of the credit: %+v; left %v", inv, s.Adjustment)
	}

	// Cancel at period end: the next renewal cancels instead of billing.
	s.CancelAtPeriodEnd = true
	at := s.NextBillingAt
	r, err = s.Renew(at, loc, newID)
	if err != nil || r.Invoice != nil || r.Event != EventCanceled || s.Status != StatusCanceled || !s.CanceledAt.Equal(at) || s.Due(at.Add(1000*time.Hour)) {
		t.Fatalf("cancel at period end: %+v %v %+v", r, err, s)
	}
}

// TestRenewalEndsPause: a paused subscription whose pause ran out is billed
// again at its next billing time.
func TestRenewalEndsPause(t *testing.T) {
	start := time.Date(2027, 5, 10, 14, 0, 0, 0, time.UTC)
	s, loc := newBilled(t, start, 0)
	newID := ids()
	renewAndPay(t, s, loc, newID)
	if err := s.Pause(start.AddDate(0, 1, 15), start.AddDate(0, 0, 3), loc); err != nil {
		t.Fatal(err)
	}
	if s.Due(PeriodStart(s.Anchor, loc, s.Interval, 1)) {
		t.Fatal("a paused period is due")
	}
	inv := renewAndPay(t, s, loc, newID)
	if inv.Period != 2 || s.Status != StatusActive {
		t.Fatalf("after the pause: %+v; %+v", inv, s)
	}
}

// TestDunning follows the default schedule: eight attempts over 14 days,
// past_due in between, then the policy.
func TestDunning(t *testing.T) {
	for _, policy := range []DunningPolicy{DunningPause, DunningCancel} {
		t.Run(string(policy), func(t *testing.T) {
			start := time.Date(2027, 2, 1, 14, 0, 0, 0, time.UTC)
			s, loc := newBilled(t, start, 0)
			rules := BillingRules{Schedule: DefaultDunningSchedule(), Policy: policy}
			r, err := s.Renew(start, loc, ids())
			if err != nil || r.Invoice == nil {
				t.Fatal(r, err)
			}
			inv := r.Invoice
			soft := payment.Decline{Type: "card-declined"}
			now := start
			wantDays := []int{1, 2, 4, 6, 8, 11, 14}
			for i, days := range wantDays {
				inv.Attempt(now)
				ev := s.Failed(inv, soft, now, rules)
				if want := map[bool]string{true: EventPastDue, false: ""}[i == 0]; ev != want {
					t.Fatalf("attempt %d: event %q, want %q", i+1, ev, want)
				}
				if want := start.AddDate(0, 0, days); !inv.NextAttemptAt.Equal(want) || inv.Status != InvoiceOpen || s.Status != StatusPastDue {
					t.Fatalf("attempt %d: next %v, want %v; %+v; %s", i+1, inv.NextAttemptAt, want, inv, s.Status)
				}
				now = inv.NextAttemptAt
			}
			inv.Attempt(now)
			ev := s.Failed(inv, soft, now, rules)
			if inv.Attempts != 8 || inv.Status != InvoiceVoid || !inv.NextAttemptAt.IsZero() {
				t.Fatalf("after 8 attempts: %+v", inv)
			}
			switch policy {
			case DunningPause:
				if ev != EventPaused || s.Status != StatusPaused || !s.NextBillingAt.IsZero() || s.Due(now.AddDate(1, 0, 0)) {
					t.Fatalf("pause policy: %q %+v", ev, s)
				}
			case DunningCancel:
				if ev != EventCanceled || s.Status != StatusCanceled || !s.CanceledAt.Equal(now) {
					t.Fatalf("cancel policy: %q %+v", ev, s)
				}
			}
		})
	}
}

// TestCancelEndsDunning: canceling now voids the invoice dunning chases,
// but not one whose charge is in flight: that charge settles as it comes
// (a decline voids the invoice, a success pays it), and neither a decline
// nor giving up moves a canceled subscription again.
func TestCancelEndsDunning(t *testing.T) {
	start := time.Date(2027, 2, 1, 14, 0, 0, 0, time.UTC)
	rules := DefaultBillingRules()
	soft := payment.Decline{Type: "card-declined"}
	later := start.Add(50 * time.Hour)
	renew := func() (*Subscription, *Invoice, *time.Location) {
		s, loc := newBilled(t, start, 0)
		r, err := s.Renew(start, loc, ids())
		if err != nil || r.Invoice == nil {
			t.Fatal(r, err)
		}
		r.Invoice.Attempt(start)
		return s, r.Invoice, loc
	}

	// Chased: void at once.
	s, inv, _ := renew()
	if ev := s.Failed(inv, soft, start, rules); ev != EventPastDue || !inv.Chased() {
		t.Fatalf("first decline: %q %+v", ev, inv)
	}
	if changed, voided, err := s.Cancel(false, inv, later); !changed || !voided || err != nil ||
		s.Status != StatusCanceled || inv.Status != InvoiceVoid || !inv.NextAttemptAt.IsZero() || inv.Chased() {
		t.Fatalf("cancel while chased: %v %v %v %+v %+v", changed, voided, err, s, inv)
	}

	// In flight, then declined: void, still canceled.
	s, inv, _ = renew()
	if changed, voided, err := s.Cancel(false, inv, start); !changed || voided || err != nil || inv.Status != InvoiceOpen {
		t.Fatalf("cancel in flight: %v %v %v %+v", changed, voided, err, inv)
	}
	if ev := s.Failed(inv, soft, later, rules); ev != "" || s.Status != StatusCanceled || inv.Status != InvoiceVoid || inv.LastDecline != soft.Type {
		t.Fatalf("decline after cancel: %q %s %+v", ev, s.Status, inv)
	}

	// In flight, then paid: the period is paid, the subscription stays canceled.
	s, inv, loc := renew()
	if _, _, err := s.Cancel(false, inv, start); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Paid(inv, later, loc); err != nil || s.Status != StatusCanceled || inv.Status != InvoicePaid || !s.NextBillingAt.IsZero() {
		t.Fatalf("paid after cancel: %v %s %+v", err, s.Status, inv)
	}

	// Given up after a cancel (the billing run's belt and braces): void, still canceled.
	for _, policy := range []DunningPolicy{DunningPause, DunningCancel} {
		s, inv, _ = renew()
		s.Failed(inv, soft, start, rules)
		s.Status = StatusCanceled // as a cancel before this change left it
		if ev := s.GiveUp(inv, later, BillingRules{Schedule: rules.Schedule, Policy: policy}); ev != "" || s.Status != StatusCanceled || inv.Status != InvoiceVoid {
			t.Fatalf("%s: give up after cancel: %q %s %+v", policy, ev, s.Status, inv)
		}
	}
}

// TestHardDecline: a stolen card is never retried; a new payment method
// retries at once; without one the invoice is given up at the schedule's
// end.
func TestHardDecline(t *testing.T) {
	start := time.Date(2027, 2, 1, 14, 0, 0, 0, time.UTC)
	rules := DefaultBillingRules()
	stolen := payment.Decline{Type: "stolen-card", Hard: true}
	for _, newMethod := range []bool{true, false} {
		s, loc := newBilled(t, start, 0)
		r, _ := s.Renew(start, loc, ids())
		inv := r.Invoice
		inv.Attempt(start)
		if ev := s.Failed(inv, stolen, start, rules); ev != EventPastDue || !inv.AwaitingMethod || !inv.NextAttemptAt.Equal(start.AddDate(0, 0, 14)) {
			t.Fatalf("hard decline: %q %+v", ev, inv)
		}
		if newMethod {
			later := start.Add(36 * time.Hour)
			if !inv.RetryNow(later) || inv.AwaitingMethod || !inv.NextAttemptAt.Equal(later) {
				t.Fatalf("retry now: %+v", inv)
			}
			inv.Attempt(later)
			if inv.RetryNow(later) {
				t.Fatal("RetryNow while a charge is in flight")
			}
			if ev, err := s.Paid(inv, later, loc); err != nil || ev != EventRenewed || s.Status != StatusActive || inv.Status != InvoicePaid {
				t.Fatalf("paid after a new method: %q %v %+v", ev, err, s)
			}
			continue
		}
		end := inv.NextAttemptAt
		if ev := s.GiveUp(inv, end, rules); ev != EventPaused || inv.Status != InvoiceVoid || s.Status != StatusPaused {
			t.Fatalf("given up: %q %+v %+v", ev, inv, s)
		}
		if inv.RetryNow(end) {
			t.Fatal("RetryNow on a void invoice")
		}
	}
}

// TestNotCharged: a charge that never reached the gateway is retried at
// once, due since its attempt, without past_due; past maxLostAttempts it is
// chased by the dunning schedule like a decline, so it cannot loop.
func TestNotCharged(t *testing.T) {
	start := time.Date(2027, 2, 1, 14, 0, 0, 0, time.UTC)
	rules := DefaultBillingRules()
	s, loc := newBilled(t, start, 0)
	r, _ := s.Renew(start, loc, ids())
	inv := r.Invoice
	lost := payment.Decline{Type: payment.FailureNotCharged}
	settled := start.Add(10 * time.Minute) // the reconciler found out later
	for attempt := 1; attempt <= maxLostAttempts; attempt++ {
		inv.Attempt(start)
		if ev := s.Failed(inv, lost, settled, rules); ev != "" || s.Status != StatusActive || !inv.NextAttemptAt.Equal(start) ||
			inv.Status != InvoiceOpen || !inv.FirstFailedAt.IsZero() {
			t.Fatalf("attempt %d never sent: %q, %s, %+v", attempt, ev, s.Status, inv)
		}
	}
	inv.Attempt(start)
	next, _ := rules.Schedule.NextRetry(settled, maxLostAttempts+1)
	if ev := s.Failed(inv, lost, settled, rules); ev != EventPastDue || inv.Status != InvoiceOpen || !inv.NextAttemptAt.Equal(next) || !next.After(settled) {
		t.Fatalf("attempt %d never sent: %q %+v", inv.Attempts, ev, inv)
	}
}
