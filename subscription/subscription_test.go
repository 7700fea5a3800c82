package subscription

import (
	"slices"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/payment"
)

var allStatuses = []Status{StatusTrialing, StatusActive, StatusPastDue, StatusPaused, StatusCanceled}

// TestTransitions checks every pair of statuses against the lifecycle.
func TestTransitions(t *testing.T) {
	legal := map[[2]Status]bool{
		{StatusTrialing, StatusActive}: true, {StatusTrialing, StatusPastDue}: true, {StatusTrialing, StatusPaused}: true, {StatusTrialing, StatusCanceled}: true,
		{StatusActive, StatusPastDue}: true, {StatusActive, StatusPaused}: true, {StatusActive, StatusCanceled}: true,
		{StatusPastDue, StatusActive}: true, {StatusPastDue, StatusPaused}: true, {StatusPastDue, StatusCanceled}: true,
		{StatusPaused, StatusTrialing}: true, {StatusPaused, StatusActive}: true, {StatusPaused, StatusCanceled}: true,
	}
	for _, from := range allStatuses {
		if !from.Valid() {
			t.Fatalf("%s not valid", from)
		}
		for _, to := range allStatuses {
			want := legal[[2]Status{from, to}]
			if got := from.CanBecome(to); got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
			err := from.Transition(to)
			if want != (err == nil) || (err != nil && shopd.ErrorType(err) != "invalid-transition") {
				t.Errorf("%s → %s: err %v", from, to, err)
			}
		}
	}
	if Status("lost").Valid() || Status("lost").CanBecome(StatusActive) {
		t.Error("an unknown status is valid")
	}
}

var (
	ny      = mustLoad("America/New_York")
	monthly = Interval{UnitMonth, 1}
	usd     = func(n int64) shopd.Money { return shopd.Money{Amount: n, Currency: "USD"} }
)

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// newSub starts a monthly US subscription at `at`.
func newSub(kind Kind, trialDays int, at time.Time) Subscription {
	s := Subscription{ID: "sub_test", Price: usd(2900), TimeZone: "America/New_York", Interval: monthly, Kind: kind,
		Adjustment: usd(0), PendingPlanPrice: usd(0)}
	s.Start(trialDays, at, ny)
	return s
}

func TestStart(t *testing.T) {
	at := time.Date(2027, 1, 31, 15, 0, 0, 0, time.UTC) // 10:00 in New York
	s := newSub(KindBox, 0, at)
	if s.Status != StatusActive || !s.NextBillingAt.Equal(at) || s.PeriodIndex != 0 || s.NextPeriod != 0 || s.SkipPeriod != NoPeriod {
		t.Fatalf("no trial: %+v", s)
	}
	// Jan 31 → Feb 28, on the market's wall clock.
	if want := time.Date(2027, 2, 28, 15, 0, 0, 0, time.UTC); !s.CurrentPeriodEnd.Equal(want) {
		t.Fatalf("period end %v, want %v", s.CurrentPeriodEnd, want)
	}
	// A 14-day trial across the DST change keeps 10:00 New York time.
	at = time.Date(2027, 3, 1, 15, 0, 0, 0, time.UTC)
	s = newSub(KindBox, 14, at)
	want := time.Date(2027, 3, 15, 14, 0, 0, 0, time.UTC) // 10:00 EDT
	if s.Status != StatusTrialing || !s.TrialEnd.Equal(want) || !s.Anchor.Equal(want) || !s.NextBillingAt.Equal(want) || s.PeriodIndex != -1 ||
		!s.CurrentPeriodStart.Equal(at) || !s.CurrentPeriodEnd.Equal(want) {
		t.Fatalf("trial: %+v", s)
	}
}

// TestActionsByStatus checks which statuses every action accepts: the rest
// are ECONFLICT invalid-transition and change nothing.
func TestActionsByStatus(t *testing.T) {
	at := time.Date(2027, 1, 10, 15, 0, 0, 0, time.UTC)
	now := at.Add(48 * time.Hour)
	actions := map[string]struct {
		ok  []Status
		run func(s *Subscription) error
	}{
		"pause":  {[]Status{StatusTrialing, StatusActive}, func(s *Subscription) error { return s.Pause(now.Add(24*time.Hour), now, ny) }},
		"resume": {[]Status{StatusPaused}, func(s *Subscription) error { return s.Resume(now, ny) }},
		"cancel now": {[]Status{StatusTrialing, StatusActive, StatusPastDue, StatusPaused}, func(s *Subscription) error {
			_, _, err := s.Cancel(false, nil, now)
			return err
		}},
		"cancel at period end": {[]Status{StatusTrialing, StatusActive}, func(s *Subscription) error {
			_, _, err := s.Cancel(true, nil, now)
			return err
		}},
		"skip": {[]Status{StatusTrialing, StatusActive}, func(s *Subscription) error {
			_, _, err := s.Skip(now, ny, BoxCutoffDay)
			return err
		}},
		"change plan": {[]Status{StatusTrialing, StatusActive}, func(s *Subscription) error {
			_, err := s.ChangePlan("pln_b", usd(3900), true, now, ny)
			return err
		}},
		"payment method": {[]Status{StatusTrialing, StatusActive, StatusPastDue, StatusPaused}, func(s *Subscription) error {
			return s.UpdatePaymentMethod(payment.Method{Token: "tok_mastercard"}, now)
		}},
	}
	for name, a := range actions {
		for _, st := range allStatuses {
			s := newSub(KindReplenishment, 0, at)
			s.Status = st
			before := s
			err := a.run(&s)
			if want := slices.Contains(a.ok, st); want != (err == nil) {
				t.Errorf("%s on %s: %v", name, st, err)
			} else if err != nil {
				if shopd.ErrorType(err) != "invalid-transition" {
					t.Errorf("%s on %s: %v, want invalid-transition", name, st, err)
				}
				if !sameSub(s, before) {
					t.Errorf("%s on %s changed the subscription", name, st)
				}
			}
		}
	}
}

func sameSub(a, b Subscription) bool {
	return a.Status == b.Status && a.UpdatedAt.Equal(b.UpdatedAt) && a.PlanID == b.PlanID && a.SkipPeriod == b.SkipPeriod &&
		a.CancelAtPeriodEnd == b.CancelAtPeriodEnd && a.NextBillingAt.Equal(b.NextBillingAt) && a.PaymentMethod == b.PaymentMethod
}

func TestPauseAndResume(t *testing.T) {
	at := time.Date(2027, 1, 10, 15, 0, 0, 0, time.UTC)
	s := newSub(KindReplenishment, 0, at)
	s.NextPeriod, s.NextBillingAt = 1, PeriodStart(s.Anchor, ny, monthly, 1) // period 0 was billed
	now := at.Add(5 * 24 * time.Hour)
	for _, c := range []struct {
		until time.Time
		ok    bool
	}{
		{now, false},                                  // not in the future
		{now.Add(-time.Hour), false},                  // past
		{PeriodStart(s.Anchor, ny, monthly, 3), true}, // exactly three periods ahead
		{PeriodStart(s.Anchor, ny, monthly, 3).Add(time.Microsecond), false},
	} {
		c2 := s
		err := c2.Pause(c.until, now, ny)
		if (err == nil) != c.ok || (err != nil && shopd.ErrorCode(err) != shopd.EINVALID) {
			t.Errorf("until %v: %v", c.until, err)
		}
	}
	// Paused from Jan 15 until Mar 20: February's and March's periods
	// (starting Feb 10 and Mar 10) are not billed; billing resumes Apr 10.
	until := time.Date(2027, 3, 20, 12, 0, 0, 0, time.UTC)
	if err := s.Pause(until, now, ny); err != nil {
		t.Fatal(err)
	}
	if s.Status != StatusPaused || !s.PausedUntil.Equal(until) || !s.NextBillingAt.Equal(PeriodStart(s.Anchor, ny, monthly, 3)) {
		t.Fatalf("paused %+v", s)
	}
	// Resumed early on Feb 20: February's period was never billed, March's is.
	feb20 := time.Date(2027, 2, 20, 12, 0, 0, 0, time.UTC)
	if err := s.Resume(feb20, ny); err != nil {
		t.Fatal(err)
	}
	if s.Status != StatusActive || !s.PausedUntil.IsZero() || s.NextPeriod != 2 || !s.NextBillingAt.Equal(PeriodStart(s.Anchor, ny, monthly, 2)) || s.PeriodIndex != 1 {
		t.Fatalf("resumed %+v", s)
	}
	// A pause during the trial resumes into the trial if it has not ended.
	tr := newSub(KindBox, 30, at)
	if err := tr.Pause(at.Add(2*24*time.Hour), at.Add(24*time.Hour), ny); err != nil {
		t.Fatal(err)
	}
	if err := tr.Resume(at.Add(3*24*time.Hour), ny); err != nil || tr.Status != StatusTrialing || tr.NextPeriod != 0 || !tr.NextBillingAt.Equal(tr.TrialEnd) {
		t.Fatalf("trial resume %+v %v", tr, err)
	}
	// Resume also takes back a cancellation at period end.
	if changed, _, err := tr.Cancel(true, nil, at); !changed || err != nil {
		t.Fatal(err)
	}
	if err := tr.Resume(at, ny); err != nil || tr.CancelAtPeriodEnd {
		t.Fatalf("undo cancel: %+v %v", tr, err)
	}
	if err := tr.Resume(at, ny); shopd.ErrorType(err) != "invalid-transition" {
		t.Fatalf("resume twice: %v", err)
	}
}

func TestCancel(t *testing.T) {
	at := time.Date(2027, 1, 10, 15, 0, 0, 0, time.UTC)
	s := newSub(KindBox, 0, at)
	if changed, _, err := s.Cancel(true, nil, at); !changed || err != nil || s.Status != StatusActive || !s.CancelAtPeriodEnd {
		t.Fatalf("at period end: %+v %v", s, err)
	}
	if changed, _, err := s.Cancel(true, nil, at); changed || err != nil {
		t.Fatalf("again: %v %v", changed, err)
	}
	if changed, _, err := s.Cancel(false, nil, at); !changed || err != nil || s.Status != StatusCanceled || !s.NextBillingAt.IsZero() || !s.CanceledAt.Equal(at) {
		t.Fatalf("now: %+v %v", s, err)
	}
}

// TestSkipCutoff: a box skip after the cutoff day (the 20th by default) of
// the month before the next period applies to the period after; a
// replenishment skip always applies to the next period.
func TestSkipCutoff(t *testing.T) {
	at := time.Date(2027, 1, 10, 15, 0, 0, 0, time.UTC) // periods start on the 10th, 10:00 New York
	for _, c := range []struct {
		kind Kind
		now  time.Time
		want int
	}{
		{KindBox, time.Date(2027, 1, 12, 12, 0, 0, 0, time.UTC), 1},           // Feb 10 box: cutoff Jan 21 00:00 New York
		{KindBox, time.Date(2027, 1, 21, 4, 59, 0, 0, time.UTC), 1},           // Jan 20 23:59 New York: just in time
		{KindBox, time.Date(2027, 1, 21, 5, 0, 0, 0, time.UTC), 2},            // Jan 21 00:00 New York: the March box
		{KindBox, time.Date(2027, 2, 21, 5, 0, 0, 0, time.UTC), 3},            // Feb 21: March's cutoff passed too
		{KindReplenishment, time.Date(2027, 2, 25, 12, 0, 0, 0, time.UTC), 1}, // no cutoff
	} {
		testSkipAt(t, at, c.kind, c.now, BoxCutoffDay, c.want)
	}
	// Another cutoff day moves the line: on the 5th, January 12 is too late
	// for February's box; on the 25th, January 21 is in time.
	testSkipAt(t, at, KindBox, time.Date(2027, 1, 12, 12, 0, 0, 0, time.UTC), 5, 2)
	testSkipAt(t, at, KindBox, time.Date(2027, 1, 21, 5, 0, 0, 0, time.UTC), 25, 1)

	s := newSub(KindReplenishment, 0, at)
	s.SkipPeriod = 3 // a later period is skipped already
	if _, _, err := s.Skip(at, ny, BoxCutoffDay); shopd.ErrorType(err) != "already-skipped" {
		t.Errorf("second skip: %v", err)
	}
}

// testSkipAt skips at now with the cutoff day and wants period want skipped.
func testSkipAt(t *testing.T, at time.Time, kind Kind, now time.Time, cutoff, want int) {
	t.Helper()
	s := newSub(kind, 0, at)
	s.NextPeriod = 1 // period 0 was billed
	n, changed, err := s.Skip(now, ny, cutoff)
	if err != nil || !changed || n != want || s.SkipPeriod != want {
		t.Errorf("%s at %v, cutoff day %d: skips %d (%v, %v), want %d", kind, now, cutoff, n, changed, err, want)
	}
	// The same skip again changes nothing; another is a conflict until
	// the skipped period is billed.
	if _, changed, err := s.Skip(now, ny, cutoff); changed || err != nil {
		t.Errorf("repeat: %v %v", changed, err)
	}
	s.NextPeriod = want + 5
	if _, _, err := s.Skip(now.AddDate(0, 0, 1), ny, cutoff); err != nil {
		t.Errorf("after the skipped period: %v", err)
	}
}

func TestChangePlan(t *testing.T) {
	at := time.Date(2027, 1, 10, 15, 0, 0, 0, time.UTC)
	mid := time.Date(2027, 1, 25, 15, 0, 0, 0, time.UTC)

	// Next period: pending, nothing prorated.
	s := newSub(KindBox, 0, at)
	p, err := s.ChangePlan("pln_b", usd(3900), false, mid, ny)
	if err != nil || s.PlanID == "pln_b" || s.PendingPlanID != "pln_b" || s.PendingPlanPrice != usd(3900) || p.Net != usd(0) {
		t.Fatalf("next period: %+v %+v %v", s, p, err)
	}

	// Now, with period 0 billed: the exact proration is added to the
	// adjustment, and the pending change is dropped.
	s.NextPeriod = 1
	start, end := Period(s.Anchor, ny, monthly, 0)
	want, err := Prorate(usd(2900), usd(3900), start, end, mid)
	if err != nil {
		t.Fatal(err)
	}
	if p, err = s.ChangePlan("pln_c", usd(3900), true, mid, ny); err != nil || p != want || s.Adjustment != want.Net || s.PlanID != "pln_c" ||
		s.Price != usd(3900) || s.PendingPlanID != "" {
		t.Fatalf("now: %+v %+v %v, want %+v", s, p, err, want)
	}
	if want.Net.Amount != want.Charge.Amount-want.Credit.Amount || want.Net.Amount <= 0 {
		t.Fatalf("proration %+v", want)
	}
	// A downgrade later in the period credits: the adjustments add up.
	later := mid.Add(3 * 24 * time.Hour)
	want2, _ := Prorate(usd(3900), usd(1900), start, end, later)
	if p, err = s.ChangePlan("pln_d", usd(1900), true, later, ny); err != nil || p != want2 || s.Adjustment.Amount != want.Net.Amount+want2.Net.Amount {
		t.Fatalf("downgrade: %+v %+v %v", s, p, err)
	}

	// Now, before the period is billed (or in a trial): nothing to prorate.
	s = newSub(KindBox, 0, at)
	if p, err = s.ChangePlan("pln_b", usd(3900), true, mid, ny); err != nil || p.Net != usd(0) || s.Adjustment != usd(0) || s.Price != usd(3900) {
		t.Fatalf("unbilled: %+v %+v %v", s, p, err)
	}
	s = newSub(KindBox, 0, at)
	if _, err := s.ChangePlan("pln_b", shopd.Money{Amount: 100, Currency: "BRL"}, true, mid, ny); err == nil {
		t.Fatal("a price in another currency was accepted")
	}
}

func TestPlanValidate(t *testing.T) {
	valid := func() Plan {
		return Plan{Name: " Glow Box ", Interval: monthly, Prices: map[string]shopd.Money{"us": usd(2900)}, Kind: KindBox, BoxSize: 5, Status: PlanActive}
	}
	repl := func() Plan {
		p := valid()
		p.Kind, p.BoxSize, p.Items = KindReplenishment, 0, []PlanItem{{VariantID: "var_a", Quantity: 2}}
		return p
	}
	for name, c := range map[string]struct {
		p      Plan
		fields []string
	}{
		"box":            {valid(), nil},
		"replenishment":  {repl(), nil},
		"no name":        {func() Plan { p := valid(); p.Name = " "; return p }(), []string{"name"}},
		"bad interval":   {func() Plan { p := valid(); p.Interval = Interval{UnitMonth, 25}; return p }(), []string{"interval.count"}},
		"trial too long": {func() Plan { p := valid(); p.TrialDays = 731; return p }(), []string{"trial_days"}},
		"negative trial": {func() Plan { p := valid(); p.TrialDays = -1; return p }(), []string{"trial_days"}},
		"no prices":      {func() Plan { p := valid(); p.Prices = nil; return p }(), []string{"prices"}},
		"negative price": {func() Plan { p := valid(); p.Prices["us"] = usd(-1); return p }(), []string{"prices.us.amount"}},
		"box size 0":     {func() Plan { p := valid(); p.BoxSize = 0; return p }(), []string{"box_size"}},
		"box size 51":    {func() Plan { p := valid(); p.BoxSize = 51; return p }(), []string{"box_size"}},
		"box with items": {func() Plan { p := valid(); p.Items = repl().Items; return p }(), []string{"items"}},
		"no items":       {func() Plan { p := repl(); p.Items = nil; return p }(), []string{"items"}},
		"51 items":       {func() Plan { p := repl(); p.Items = make([]PlanItem, 51); return p }(), []string{"items"}},
		"zero quantity":  {func() Plan { p := repl(); p.Items[0].Quantity = 0; return p }(), []string{"items[0].quantity"}},
		"duplicate item": {func() Plan { p := repl(); p.Items = append(p.Items, p.Items[0]); return p }(), []string{"items[1].variant_id"}},
		"unknown kind":   {func() Plan { p := valid(); p.Kind = "crate"; return p }(), []string{"kind"}},
		"unknown status": {func() Plan { p := valid(); p.Status = "draft"; return p }(), []string{"status"}},
	} {
		err := c.p.Validate()
		var got []string
		if e, ok := err.(*shopd.Error); ok {
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
		} else if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !slices.Equal(got, c.fields) {
			t.Errorf("%s: fields %v, want %v", name, got, c.fields)
		}
	}
	p := valid()
	if p.Validate(); p.Name != "Glow Box" {
		t.Errorf("name not trimmed: %q", p.Name)
	}
}
