// Package subscription holds plans, subscriptions and billing rules; this part
// is the pure time arithmetic: billing intervals, the periods of a
// subscription on its market's wall clock with month-end clamping, the box
// cutoff, proration of a plan change and the dunning schedule. None of it
// reads a clock or a database: callers pass the times in.
package subscription

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopd/shopd"
)

// Unit is the calendar unit of a billing interval.
type Unit string

// Units.
const (
	UnitWeek    Unit = "week"
	UnitMonth   Unit = "month"
	UnitQuarter Unit = "quarter"
	UnitYear    Unit = "year"
)

// maxCount bounds Interval.Count per unit: one year of weeks, two years of
// months, eight quarters, five years.
var maxCount = map[Unit]int{UnitWeek: 52, UnitMonth: 24, UnitQuarter: 8, UnitYear: 5}

// Interval is the length of one billing period: Count units, such as
// {UnitMonth, 1} or {UnitWeek, 2}.
type Interval struct {
	Unit  Unit `json:"unit"`
	Count int  `json:"count"`
}

// Validate returns EINVALID unless the unit is known and Count is within its
// limits: 1–52 weeks, 1–24 months, 1–8 quarters or 1–5 years.
func (iv Interval) Validate() error {
	var v shopd.Validation
	if limit, ok := maxCount[iv.Unit]; !ok {
		v.Addf("interval.unit", "must be week, month, quarter or year")
	} else if iv.Count < 1 || iv.Count > limit {
		v.Addf("interval.count", "must be between 1 and %d for %ss", limit, iv.Unit)
	}
	return v.Err()
}

// String renders the interval as "1 month" or "2 weeks"; ParseInterval reads
// it back.
func (iv Interval) String() string {
	if iv.Count == 1 {
		return "1 " + string(iv.Unit)
	}
	return fmt.Sprintf("%d %ss", iv.Count, iv.Unit)
}

// ParseInterval reads "month", "2 weeks", "1 quarter" (a count, then a unit
// in the singular or plural; no count means 1). It returns EINVALID for
// anything else and for counts outside the limits of Validate.
func ParseInterval(s string) (Interval, error) {
	iv := Interval{Count: 1}
	f := strings.Fields(s)
	if len(f) == 2 {
		n, err := strconv.Atoi(f[0])
		if err != nil {
			f = nil // not a count: reported below
		} else {
			iv.Count, f = n, f[1:]
		}
	}
	if len(f) != 1 {
		var v shopd.Validation
		v.Addf("interval", "must be a unit with an optional count, such as \"month\", \"2 weeks\" or \"1 quarter\"; got %q", s)
		return Interval{}, v.Err()
	}
	iv.Unit = Unit(strings.TrimSuffix(f[0], "s"))
	if err := iv.Validate(); err != nil {
		return Interval{}, err
	}
	return iv, nil
}

// months returns how many months one period spans, or 0 for weeks. It
// panics on a unit or count that would make periods empty or undefined:
// intervals are validated when they are stored, so that is a bug.
func (iv Interval) months() int {
	if iv.Count < 1 {
		panic(fmt.Sprintf("subscription: invalid interval %+v", iv))
	}
	switch iv.Unit {
	case UnitWeek:
		return 0
	case UnitMonth:
		return iv.Count
	case UnitQuarter:
		return 3 * iv.Count
	case UnitYear:
		return 12 * iv.Count
	}
	panic(fmt.Sprintf("subscription: invalid interval %+v", iv))
}

// PeriodStart returns the start, in UTC, of period n (n ≥ 0; period 0 starts
// at the anchor) of a subscription whose first period starts at anchor, with
// periods laid out on the wall clock of loc, the market's time zone.
//
// Every start is computed from the anchor, never from the previous period,
// so nothing drifts. Month, quarter and year periods keep the anchor's day of
// month, clamped to the month's last day (Jan 31 → Feb 28 or 29 → Mar 31 →
// Apr 30), and week periods are 7×Count calendar days. Both keep the anchor's
// local time of day across DST changes, so a period is an hour shorter or
// longer when it spans one. A local time that does not exist (in a DST gap)
// moves forward by the length of the gap: 02:30 on the night New York
// springs forward becomes 03:30 EDT, and the next period is back at 02:30
// (time.Date alone moves it forward in some zones and back in others). A
// local time that exists twice (when clocks fall back) is one of the two, as
// time.Date picks it.
//
// PeriodStart panics if iv has an unknown unit or a count below 1 (see
// Interval.Validate) or if loc is nil.
func PeriodStart(anchor time.Time, loc *time.Location, iv Interval, n int) time.Time {
	months := iv.months()
	if n == 0 {
		return anchor.UTC() // exactly the anchor, even on an ambiguous local time
	}
	a := anchor.In(loc)
	y, m, d := a.Date()
	hh, mm, ss := a.Clock()
	ns := a.Nanosecond()
	var w time.Time // the wall clock reading of the start
	if months == 0 {
		w = time.Date(y, m, d+7*iv.Count*n, hh, mm, ss, ns, time.UTC)
	} else {
		// Clamp the day first: time.Date would turn Feb 31 into Mar 3.
		ty, tm, _ := time.Date(y, m+time.Month(months*n), 1, 0, 0, 0, 0, time.UTC).Date()
		w = time.Date(ty, tm, min(d, daysIn(ty, tm)), hh, mm, ss, ns, time.UTC)
	}
	return atWall(w, loc).UTC()
}

// Period returns [start, end) of period n (see PeriodStart). end is the start
// of period n+1, so consecutive periods never overlap or leave a gap.
func Period(anchor time.Time, loc *time.Location, iv Interval, n int) (start, end time.Time) {
	return PeriodStart(anchor, loc, iv, n), PeriodStart(anchor, loc, iv, n+1)
}

// PeriodIndex returns the n whose period [PeriodStart(n), PeriodStart(n+1))
// contains t, or -1 if t is before the anchor. It estimates n from the
// calendar and corrects the estimate by a step or two, so its cost does not
// grow with n.
func PeriodIndex(anchor time.Time, loc *time.Location, iv Interval, t time.Time) int {
	if t.Before(anchor) {
		return -1
	}
	a, l := anchor.In(loc), t.In(loc)
	var n int
	if months := iv.months(); months > 0 {
		n = ((l.Year()-a.Year())*12 + int(l.Month()-a.Month())) / months
	} else {
		n = int(civilDay(l)-civilDay(a)) / (7 * iv.Count)
	}
	// The estimate ignores the day of month and the time of day, so it can
	// be one too high (t before the period's start in the same month or on
	// the same day); the loops settle it whichever way it is off.
	for n > 0 && PeriodStart(anchor, loc, iv, n).After(t) {
		n--
	}
	for !PeriodStart(anchor, loc, iv, n+1).After(t) {
		n++
	}
	return n
}

// BoxCutoff returns the time by which profile changes and skips must arrive
// to count for the box period starting at periodStart: 00:00 in loc on the
// day after cutoffDay of the month before periodStart's local month. With
// cutoffDay 20, a box for March must be settled by the end of February 20th,
// and a box for January by the end of December 20th of the year before.
// cutoffDay must be 1–28 (checked where it is configured). If midnight does
// not exist that day (a DST change at 00:00), the cutoff is the first instant
// of the day. The result is in UTC.
func BoxCutoff(periodStart time.Time, loc *time.Location, cutoffDay int) time.Time {
	y, m, _ := periodStart.In(loc).Date()
	// Month 0 is December of the year before, and day 29 of a 28-day
	// February is March 1st: both are what time.Date makes of them.
	return atWall(time.Date(y, m-1, cutoffDay+1, 0, 0, 0, 0, time.UTC), loc).UTC()
}

// atWall returns the instant at which the wall clock in loc reads w's UTC
// reading. A reading in a DST gap does not exist; it moves forward by the
// length of the gap, as if the clock had not been changed yet. time.Date
// resolves a gap with either offset (its documentation guarantees neither),
// so the offset after the gap, which lands before it, is replaced.
func atWall(w time.Time, loc *time.Location) time.Time {
	y, m, d := w.Date()
	hh, mm, ss := w.Clock()
	t := time.Date(y, m, d, hh, mm, ss, w.Nanosecond(), loc)
	_, off := t.Zone()
	// Outside a gap u == t. In a gap, if t was read with the offset after
	// it, t is before the gap and u, read with t's (earlier) offset, is
	// after it; if t was read with the offset before it, u is earlier.
	if u := w.Add(-time.Duration(off) * time.Second); u.After(t) {
		return u
	}
	return t
}

// daysIn returns the number of days in month m of year y.
func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// civilDay numbers t's local calendar date: days since 1970-01-01.
func civilDay(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}
