package subscription

import (
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/payment"
)

// Status is where a subscription is in its life.
type Status string

// Subscription statuses.
const (
	StatusTrialing Status = "trialing" // in its free trial; billed first at the trial's end
	StatusActive   Status = "active"   // billed every period
	StatusPastDue  Status = "past_due" // a renewal failed; dunning retries it
	StatusPaused   Status = "paused"   // not billed until it resumes
	StatusCanceled Status = "canceled" // final
)

// transitions lists every legal change of Status. The billing run (a later
// step) moves trialing and active to past_due, past_due back to active, and
// past_due to paused or canceled after the last dunning retry.
var transitions = map[Status][]Status{
	StatusTrialing: {StatusActive, StatusPastDue, StatusPaused, StatusCanceled},
	StatusActive:   {StatusPastDue, StatusPaused, StatusCanceled},
	StatusPastDue:  {StatusActive, StatusPaused, StatusCanceled},
	StatusPaused:   {StatusTrialing, StatusActive, StatusCanceled},
	StatusCanceled: {},
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { _, ok := transitions[s]; return ok }

// CanBecome reports whether a subscription in status s may move to next.
func (s Status) CanBecome(next Status) bool { return slices.Contains(transitions[s], next) }

// Transition returns nil if a subscription may go from s to next, or
// ECONFLICT `invalid-transition` naming both.
func (s Status) Transition(next Status) error {
	if !s.CanBecome(next) {
		return shopd.TypedErrorf(shopd.ECONFLICT, "invalid-transition", "A subscription that is %s cannot become %s.", s, next)
	}
	return nil
}

// Event types written to the outbox with each change.
const (
	EventCreated              = "subscription.created"
	EventPaused               = "subscription.paused"
	EventResumed              = "subscription.resumed"
	EventCanceled             = "subscription.canceled"
	EventPlanChanged          = "subscription.plan_changed"
	EventSkipped              = "subscription.skipped"
	EventPaymentMethodUpdated = "subscription.payment_method_updated"
)

// BoxCutoffDay is the default day of the month before a box period after
// which skips apply to the period after (see BoxCutoff); Service.CutoffDay
// sets another.
const BoxCutoffDay = 20

// MaxPausePeriods bounds a pause: it must end within this many periods.
const MaxPausePeriods = 3

// NoPeriod marks "no period" in SkipPeriod.
const NoPeriod = -1

// Subscription is a customer's subscription to a plan in a market.
//
// Periods are laid out from Anchor on the wall clock of TimeZone (the
// market's zone when it started) with Interval: period n is
// Period(Anchor, TimeZone, Interval, n). A subscription with a trial is
// anchored at the trial's end, so its first paid period (0) starts then;
// during the trial PeriodIndex is -1 and the current period is the trial.
// NextPeriod is the period the next billing charges, at NextBillingAt, its
// start. All times are UTC.
type Subscription struct {
	ID                 string         `json:"id"` // "sub_…"
	CustomerID         string         `json:"customer_id"`
	PlanID             string         `json:"plan_id"`
	Market             string         `json:"market"`
	Price              shopd.Money    `json:"price"` // per period, taken from the plan when subscribed or changed
	TimeZone           string         `json:"time_zone"`
	Interval           Interval       `json:"interval"`
	Kind               Kind           `json:"kind"`
	Status             Status         `json:"status"`
	Anchor             time.Time      `json:"anchor"`
	TrialEnd           time.Time      `json:"trial_end,omitzero"`
	PeriodIndex        int            `json:"period_index"`
	CurrentPeriodStart time.Time      `json:"current_period_start"`
	CurrentPeriodEnd   time.Time      `json:"current_period_end"`
	NextPeriod         int            `json:"next_period"`
	NextBillingAt      time.Time      `json:"next_billing_at,omitzero"` // zero once canceled
	CancelAtPeriodEnd  bool           `json:"cancel_at_period_end"`
	CanceledAt         time.Time      `json:"canceled_at,omitzero"`
	PausedUntil        time.Time      `json:"paused_until,omitzero"`
	SkipPeriod         int            `json:"skip_period"` // NoPeriod if none
	PendingPlanID      string         `json:"pending_plan_id,omitempty"`
	PendingPlanPrice   shopd.Money    `json:"pending_plan_price"` // the price PendingPlanID takes at the next period
	Adjustment         shopd.Money    `json:"adjustment"`         // charged (> 0) or credited (< 0) by the next billing run
	PaymentMethod      payment.Method `json:"payment_method"`
	ShipTo             order.Address  `json:"ship_to"`
	CreatedAt          time.Time      `json:"created_at"`
	UpdatedAt          time.Time      `json:"updated_at"`
}

// Filter selects subscriptions for staff or for one customer.
type Filter struct {
	CustomerID string
	Status     Status
	PlanID     string
	Before     string // a subscription ID: older ones only (cursor)
	Limit      int
}

// Location loads the subscription's time zone. Zones are validated when a
// subscription starts, so an error means the zone database changed.
func (s *Subscription) Location() (*time.Location, error) {
	loc, err := LoadLocation(s.TimeZone)
	if err != nil {
		return nil, shopd.Errorf(shopd.EINTERNAL, "subscription %s: time zone %q: %v", s.ID, s.TimeZone, err)
	}
	return loc, nil
}

// LoadLocation is time.LoadLocation with a cache (locations).
func LoadLocation(name string) (*time.Location, error) {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, loc)
	return loc, nil
}

// locations caches loaded time zones by name: time.LoadLocation reads the
// zone file on every call (9 % of a billing run's CPU, measured), and a
// shop has a handful of zones.
var locations sync.Map

// Start fills in a new subscription's periods for a plan's trial, starting
// at now: with a trial, status trialing and the first billing at the trial's
// end (TrialDays calendar days later on the market's wall clock); without,
// status active with period 0 starting now and its billing due at once (the
// billing run charges it).
func (s *Subscription) Start(trialDays int, now time.Time, loc *time.Location) {
	now = now.UTC()
	s.CreatedAt, s.UpdatedAt, s.SkipPeriod, s.NextPeriod = now, now, NoPeriod, 0
	if trialDays > 0 {
		s.Status = StatusTrialing
		s.TrialEnd = atWall(wallAddDays(now.In(loc), trialDays), loc).UTC()
		s.Anchor = s.TrialEnd
		s.PeriodIndex, s.CurrentPeriodStart, s.CurrentPeriodEnd = -1, now, s.TrialEnd
	} else {
		s.Status = StatusActive
		s.Anchor = now
		s.PeriodIndex = 0
		s.CurrentPeriodStart, s.CurrentPeriodEnd = Period(s.Anchor, loc, s.Interval, 0)
	}
	s.NextBillingAt = PeriodStart(s.Anchor, loc, s.Interval, 0)
}

// wallAddDays returns the wall clock reading of t plus days calendar days,
// as a UTC reading for atWall.
func wallAddDays(t time.Time, days int) time.Time {
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	return time.Date(y, m, d+days, hh, mm, ss, t.Nanosecond(), time.UTC)
}

// refresh sets PeriodIndex and the current period for time now.
func (s *Subscription) refresh(now time.Time, loc *time.Location) {
	if n := PeriodIndex(s.Anchor, loc, s.Interval, now); n >= 0 {
		s.PeriodIndex = n
		s.CurrentPeriodStart, s.CurrentPeriodEnd = Period(s.Anchor, loc, s.Interval, n)
	}
}

// firstPeriodFrom returns the index of the first period that starts at or
// after t (0 if t is before the anchor).
func (s *Subscription) firstPeriodFrom(t time.Time, loc *time.Location) int {
	n := PeriodIndex(s.Anchor, loc, s.Interval, t)
	if n < 0 {
		return 0
	}
	if PeriodStart(s.Anchor, loc, s.Interval, n).Equal(t) {
		return n
	}
	return n + 1
}

func errState(action string, s Status) error {
	return shopd.TypedErrorf(shopd.ECONFLICT, "invalid-transition", "A subscription that is %s cannot be %s.", s, action)
}

// Pause pauses the subscription from now until `until`: nothing is billed
// for a period that starts while it is paused, and billing resumes with the
// first period that starts at or after until (NextBillingAt shows it). It
// must be trialing or active (ECONFLICT `invalid-transition`), and until
// must be after now and at most MaxPausePeriods periods ahead (EINVALID).
func (s *Subscription) Pause(until, now time.Time, loc *time.Location) error {
	if s.Status != StatusTrialing && s.Status != StatusActive {
		return errState("paused", s.Status)
	}
	until = until.UTC()
	base := max(PeriodIndex(s.Anchor, loc, s.Interval, now), 0)
	limit := PeriodStart(s.Anchor, loc, s.Interval, base+MaxPausePeriods)
	if !s.TrialEnd.IsZero() && now.Before(s.TrialEnd) {
		limit = PeriodStart(s.Anchor, loc, s.Interval, MaxPausePeriods-1) // the trial counts as one period
	}
	var v shopd.Validation
	v.Check(until.After(now), "until", "must be in the future")
	v.Check(!until.After(limit), "until", "must be at most "+strconv.Itoa(MaxPausePeriods)+" periods ahead, by "+limit.Format(time.RFC3339))
	if err := v.Err(); err != nil {
		return err
	}
	if err := s.Status.Transition(StatusPaused); err != nil {
		return err
	}
	s.Status, s.PausedUntil, s.UpdatedAt = StatusPaused, until, now
	s.NextBillingAt = PeriodStart(s.Anchor, loc, s.Interval, max(s.NextPeriod, s.firstPeriodFrom(until, loc)))
	return nil
}

// Resume ends a pause now: the subscription is trialing again if its trial
// has not ended, else active, and periods that started while it was paused
// are never billed. On a subscription that is set to cancel at period end,
// Resume takes the cancellation back. Anything else is ECONFLICT
// `invalid-transition`.
func (s *Subscription) Resume(now time.Time, loc *time.Location) error {
	switch {
	case s.Status == StatusPaused:
		to := StatusActive
		if now.Before(s.TrialEnd) {
			to = StatusTrialing
		}
		if err := s.Status.Transition(to); err != nil {
			return err
		}
		s.Status, s.PausedUntil = to, time.Time{}
		s.NextPeriod = max(s.NextPeriod, s.firstPeriodFrom(now, loc))
		s.NextBillingAt = PeriodStart(s.Anchor, loc, s.Interval, s.NextPeriod)
		s.refresh(now, loc)
	case s.CancelAtPeriodEnd && s.Status != StatusCanceled:
		s.CancelAtPeriodEnd = false
	default:
		return errState("resumed (it is neither paused nor set to cancel)", s.Status)
	}
	s.UpdatedAt = now
	return nil
}

// Cancel cancels the subscription now, or at the end of the current period
// if atPeriodEnd (it stays as it is until the billing run reaches the end).
// Canceling now ends the dunning: the open invoice, if any, is void unless
// a charge of it is in flight (that one settles as it comes: paid, or void
// by Failed). A canceled subscription is ECONFLICT `invalid-transition`. It
// reports whether the subscription changed (asking again to cancel at
// period end is not a change) and whether open did.
func (s *Subscription) Cancel(atPeriodEnd bool, open *Invoice, now time.Time) (changed, voided bool, err error) {
	if s.Status == StatusCanceled {
		return false, false, errState("canceled again", s.Status)
	}
	if atPeriodEnd {
		if s.Status == StatusPaused || s.Status == StatusPastDue {
			return false, false, errState("canceled at period end (cancel it now instead)", s.Status)
		}
		if s.CancelAtPeriodEnd {
			return false, false, nil
		}
		s.CancelAtPeriodEnd, s.UpdatedAt = true, now
		return true, false, nil
	}
	if err := s.Status.Transition(StatusCanceled); err != nil {
		return false, false, err
	}
	s.Status, s.CanceledAt, s.UpdatedAt = StatusCanceled, now, now
	s.NextBillingAt, s.PausedUntil, s.CancelAtPeriodEnd = time.Time{}, time.Time{}, false
	if open != nil && open.Chased() {
		open.void(now)
		voided = true
	}
	return true, voided, nil
}

// Skip marks the next period to be billed (NextPeriod) as skipped: it is
// neither charged nor shipped. For a box plan a skip after the period's box
// cutoff (cutoffDay of the month before) applies to the period after. It
// returns the skipped period. A subscription that is not trialing or active
// is ECONFLICT `invalid-transition`; one that already skips a period is
// ECONFLICT `already-skipped` (unless it is the same period: no change).
func (s *Subscription) Skip(now time.Time, loc *time.Location, cutoffDay int) (int, bool, error) {
	if s.Status != StatusTrialing && s.Status != StatusActive {
		return NoPeriod, false, errState("skipped", s.Status)
	}
	target := s.NextPeriod
	if s.Kind == KindBox {
		// Weekly boxes share a month's cutoff, so a few steps may pass.
		for i := 0; i < 64 && !now.Before(BoxCutoff(PeriodStart(s.Anchor, loc, s.Interval, target), loc, cutoffDay)); i++ {
			target++
		}
	}
	switch s.SkipPeriod {
	case target:
		return target, false, nil
	case NoPeriod:
	default:
		if s.SkipPeriod >= s.NextPeriod {
			return NoPeriod, false, shopd.TypedErrorf(shopd.ECONFLICT, "already-skipped", "The subscription already skips period %d; one skip at a time.", s.SkipPeriod)
		}
	}
	s.SkipPeriod, s.UpdatedAt = target, now
	return target, true, nil
}

// ChangePlan moves the subscription to another plan at price newPrice, at
// the next period or now. Now, if the current period was already billed,
// computes the exact proration with Prorate and adds its Net to Adjustment,
// for the next billing run to charge (> 0) or credit (< 0); during a trial
// or before the current period is billed nothing is prorated. It returns the
// proration (zero amounts when none applies). The subscription must be
// trialing or active (ECONFLICT `invalid-transition`).
func (s *Subscription) ChangePlan(planID string, newPrice shopd.Money, now bool, at time.Time, loc *time.Location) (Proration, error) {
	zero := Proration{Credit: shopd.Zero(s.Price.Currency), Charge: shopd.Zero(s.Price.Currency), Net: shopd.Zero(s.Price.Currency)}
	if s.Status != StatusTrialing && s.Status != StatusActive {
		return zero, errState("changed to another plan", s.Status)
	}
	if newPrice.Currency != s.Price.Currency {
		return zero, shopd.ErrCurrencyMismatch
	}
	if !now {
		s.PendingPlanID, s.PendingPlanPrice, s.UpdatedAt = planID, newPrice, at
		return zero, nil
	}
	p := zero
	cur := PeriodIndex(s.Anchor, loc, s.Interval, at)
	if cur >= 0 && s.NextPeriod > cur { // the current period is paid for
		start, end := Period(s.Anchor, loc, s.Interval, cur)
		var err error
		if p, err = Prorate(s.Price, newPrice, start, end, at); err != nil {
			return zero, err
		}
		if s.Adjustment, err = s.Adjustment.Add(p.Net); err != nil {
			return zero, err
		}
	}
	s.PlanID, s.Price = planID, newPrice
	s.PendingPlanID, s.PendingPlanPrice, s.UpdatedAt = "", shopd.Zero(s.Price.Currency), at
	return p, nil
}

// UpdatePaymentMethod replaces the payment method; a canceled subscription
// is ECONFLICT `invalid-transition`.
func (s *Subscription) UpdatePaymentMethod(m payment.Method, now time.Time) error {
	if s.Status == StatusCanceled {
		return errState("given a new payment method", s.Status)
	}
	s.PaymentMethod, s.UpdatedAt = m, now
	return nil
}
