package subscription_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
	_ "time/tzdata" // the same zone rules on every machine that lacks them

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/subscription"
)

var (
	month   = subscription.Interval{Unit: subscription.UnitMonth, Count: 1}
	quarter = subscription.Interval{Unit: subscription.UnitQuarter, Count: 1}
	year    = subscription.Interval{Unit: subscription.UnitYear, Count: 1}
	week    = subscription.Interval{Unit: subscription.UnitWeek, Count: 1}
)

// zones are the markets' zones and the awkward ones: half- and
// quarter-hour offsets, a 30-minute DST (Lord Howe), DST at midnight
// (Santiago), southern-hemisphere summers and a zone that dropped DST (São
// Paulo).
var zones = []string{
	"UTC", "America/New_York", "America/Los_Angeles", "America/Sao_Paulo", "America/St_Johns",
	"Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe", "Pacific/Chatham", "Europe/London",
	"America/Toronto", "America/Santiago", "Australia/Sydney", "Europe/Berlin",
}

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// local parses "2006-01-02 15:04" in loc.
func local(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// leap and monthDays are the Gregorian rules written out, so the tests do
// not check time.Date against itself.
func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func monthDays(y int, m time.Month) int {
	switch m {
	case time.February:
		if leap(y) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func TestPeriodStartMonthEnd(t *testing.T) {
	for _, c := range []struct {
		name   string
		zone   string
		anchor string // local, at 10:00
		iv     subscription.Interval
		want   map[int]string // n → local date of PeriodStart
	}{
		{"Jan 31 monthly through 14 months, 2024 leap", "UTC", "2024-01-31", month, map[int]string{
			0: "2024-01-31", 1: "2024-02-29", 2: "2024-03-31", 3: "2024-04-30", 4: "2024-05-31", 5: "2024-06-30",
			6: "2024-07-31", 7: "2024-08-31", 8: "2024-09-30", 9: "2024-10-31", 10: "2024-11-30", 11: "2024-12-31",
			12: "2025-01-31", 13: "2025-02-28", 14: "2025-03-31"}},
		{"Jan 31 monthly into leap 2028", "America/New_York", "2027-01-31", month, map[int]string{
			0: "2027-01-31", 1: "2027-02-28", 2: "2027-03-31", 3: "2027-04-30", 12: "2028-01-31", 13: "2028-02-29", 14: "2028-03-31"}},
		{"2100 is not a leap year", "Europe/London", "2100-01-31", month, map[int]string{
			1: "2100-02-28", 2: "2100-03-31", 49: "2104-02-29"}},
		{"2000 is a leap year", "UTC", "2000-01-31", month, map[int]string{1: "2000-02-29"}},
		{"day 30", "America/Sao_Paulo", "2024-01-30", month, map[int]string{
			1: "2024-02-29", 2: "2024-03-30", 3: "2024-04-30", 13: "2025-02-28", 14: "2025-03-30"}},
		{"day 29", "Asia/Kolkata", "2023-01-29", month, map[int]string{
			1: "2023-02-28", 2: "2023-03-29", 13: "2024-02-29", 25: "2025-02-28"}},
		{"day 28 never clamps", "Pacific/Chatham", "2023-01-28", month, map[int]string{
			1: "2023-02-28", 2: "2023-03-28", 13: "2024-02-28"}},
		{"every 2 months from Dec 31", "UTC", "2023-12-31", subscription.Interval{Unit: subscription.UnitMonth, Count: 2}, map[int]string{
			1: "2024-02-29", 2: "2024-04-30", 3: "2024-06-30", 4: "2024-08-31"}},
		{"quarterly from Nov 30", "America/Toronto", "2023-11-30", quarter, map[int]string{
			1: "2024-02-29", 2: "2024-05-30", 3: "2024-08-30", 4: "2024-11-30", 5: "2025-02-28"}},
		{"quarterly from Aug 31", "America/Los_Angeles", "2023-08-31", quarter, map[int]string{
			1: "2023-11-30", 2: "2024-02-29", 3: "2024-05-31", 4: "2024-08-31", 5: "2024-11-30"}},
		{"yearly from Feb 29", "Asia/Kathmandu", "2024-02-29", year, map[int]string{
			1: "2025-02-28", 2: "2026-02-28", 3: "2027-02-28", 4: "2028-02-29", 76: "2100-02-28", 80: "2104-02-29"}},
		{"every 2 years from Feb 29", "UTC", "2024-02-29", subscription.Interval{Unit: subscription.UnitYear, Count: 2}, map[int]string{
			1: "2026-02-28", 2: "2028-02-29"}},
		{"fortnightly over Feb 29", "Australia/Sydney", "2024-02-15", subscription.Interval{Unit: subscription.UnitWeek, Count: 2}, map[int]string{
			1: "2024-02-29", 2: "2024-03-14", 26: "2025-02-13"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			loc := zone(t, c.zone)
			anchor := local(t, loc, c.anchor+" 10:00")
			for n, want := range c.want {
				got := subscription.PeriodStart(anchor, loc, c.iv, n)
				if s := got.In(loc).Format("2006-01-02 15:04"); s != want+" 10:00" {
					t.Errorf("period %d starts %s local, want %s 10:00", n, s, want)
				}
				if got.Location() != time.UTC {
					t.Errorf("period %d start is in %v, want UTC", n, got.Location())
				}
			}
		})
	}
}

// TestPeriodsNoDrift lays out 120 consecutive periods for every anchor day
// of January, several times of day and intervals in every zone, and checks
// each start against the calendar computed independently: day of month
// min(anchor day, days in month) (or the anchor's weekday rhythm), the
// anchor's time of day, contiguous and strictly increasing. A time of day
// that falls in a DST gap must have moved forward by exactly the gap.
func TestPeriodsNoDrift(t *testing.T) {
	intervals := []subscription.Interval{month, {Unit: subscription.UnitMonth, Count: 2}, quarter, year, week, {Unit: subscription.UnitWeek, Count: 2}}
	clocks := [][4]int{{0, 0, 0, 0}, {2, 30, 0, 0}, {9, 15, 30, 500_000_000}, {23, 45, 0, 0}}
	const periods = 120
	gaps := 0
	for _, name := range zones {
		loc := zone(t, name)
		for _, iv := range intervals {
			for day := 1; day <= 31; day++ {
				for _, hm := range clocks {
					anchor := time.Date(2023, time.January, day, hm[0], hm[1], hm[2], hm[3], loc)
					if anchor.Day() != day || anchor.Hour() != hm[0] || anchor.Minute() != hm[1] {
						t.Fatalf("%s: anchor %v is in a DST gap; pick another", name, anchor)
					}
					prev := subscription.PeriodStart(anchor, loc, iv, 0)
					if !prev.Equal(anchor) {
						t.Fatalf("%s %v: period 0 starts %v, want the anchor", name, iv, prev)
					}
					for n := 0; n < periods; n++ {
						start, end := subscription.Period(anchor, loc, iv, n)
						if !start.Equal(prev) {
							t.Fatalf("%s %v anchor %v: period %d starts %v, period %d ended %v", name, iv, anchor, n, start, n-1, prev)
						}
						if start.Location() != time.UTC || !end.After(start) {
							t.Fatalf("%s %v anchor %v: period %d is [%v, %v)", name, iv, anchor, n, start, end)
						}
						prev = end

						// The wanted local wall time, as if it were UTC.
						var want time.Time
						if k := monthsPer(iv) * n; k > 0 {
							y, m := 2023+k/12, time.January+time.Month(k%12)
							want = time.Date(y, m, min(day, monthDays(y, m)), hm[0], hm[1], hm[2], hm[3], time.UTC)
						} else {
							want = time.Date(2023, time.January, day, hm[0], hm[1], hm[2], hm[3], time.UTC).Add(time.Duration(n*7*iv.Count) * 24 * time.Hour)
						}
						got := wall(start.In(loc))
						if got.Equal(want) {
							continue
						}
						// Only a wall time that does not exist may move, and
						// only forward by the gap.
						_, after := start.In(loc).Zone()
						_, before := start.Add(-12 * time.Hour).In(loc).Zone()
						gap := time.Duration(after-before) * time.Second
						for _, off := range []int{before, after} {
							if wall(want.Add(-time.Duration(off) * time.Second).In(loc)).Equal(want) {
								t.Fatalf("%s %v anchor %v: period %d starts %v local, want %v", name, iv, anchor, n, got, want)
							}
						}
						if gap <= 0 || !got.Equal(want.Add(gap)) {
							t.Fatalf("%s %v anchor %v: period %d starts %v local; %v is in a gap of %v", name, iv, anchor, n, got, want, gap)
						}
						gaps++
					}
				}
			}
		}
	}
	if gaps == 0 {
		t.Error("no period started in a DST gap; the gap check did not run")
	}
	t.Logf("%d period starts fell in a DST gap", gaps)
}

func monthsPer(iv subscription.Interval) int {
	switch iv.Unit {
	case subscription.UnitMonth:
		return iv.Count
	case subscription.UnitQuarter:
		return 3 * iv.Count
	case subscription.UnitYear:
		return 12 * iv.Count
	}
	return 0
}

// wall returns t's wall clock reading as a UTC time.
func wall(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

func TestPeriodsAcrossDST(t *testing.T) {
	ny := zone(t, "America/New_York")
	lordHowe := zone(t, "Australia/Lord_Howe")
	santiago := zone(t, "America/Santiago")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name   string
		anchor time.Time
		loc    *time.Location
		iv     subscription.Interval
		starts []string  // UTC starts of periods 0, 1, …
		hours  []float64 // lengths of periods 0, 1, … in hours
	}{
		{
			// 02:30 does not exist on Mar 8 2026: the start moves to 03:30
			// EDT, then comes back to 02:30 a week later.
			name: "weekly 02:30 New York across spring forward", anchor: local(t, ny, "2026-03-01 02:30"), loc: ny, iv: week,
			starts: []string{"2026-03-01T07:30:00Z", "2026-03-08T07:30:00Z", "2026-03-15T06:30:00Z"},
			hours:  []float64{168, 167, 168},
		},
		{
			name: "weekly 10:00 New York spring forward", anchor: local(t, ny, "2026-03-01 10:00"), loc: ny, iv: week,
			starts: []string{"2026-03-01T15:00:00Z", "2026-03-08T14:00:00Z"},
			hours:  []float64{167, 168},
		},
		{
			name: "weekly 10:00 New York fall back", anchor: local(t, ny, "2026-10-25 10:00"), loc: ny, iv: week,
			starts: []string{"2026-10-25T14:00:00Z", "2026-11-01T15:00:00Z"},
			hours:  []float64{169, 168},
		},
		{
			// The anchor is 02:30 on the day clocks fall back (it exists
			// once, in EST); the month with spring forward is an hour short.
			name: "monthly from 02:30 on fall-back day", anchor: local(t, ny, "2026-11-01 02:30"), loc: ny, iv: month,
			starts: []string{"2026-11-01T07:30:00Z", "2026-12-01T07:30:00Z", "2027-01-01T07:30:00Z", "2027-02-01T07:30:00Z", "2027-03-01T07:30:00Z", "2027-04-01T06:30:00Z"},
			hours:  []float64{720, 744, 744, 672, 743, 720},
		},
		{
			name: "monthly 02:30 on the 8th lands in the gap once", anchor: local(t, ny, "2026-02-08 02:30"), loc: ny, iv: month,
			starts: []string{"2026-02-08T07:30:00Z", "2026-03-08T07:30:00Z", "2026-04-08T06:30:00Z"},
			hours:  []float64{672, 743},
		},
		{
			// Lord Howe moves its clocks by 30 minutes: 02:15 becomes 02:45.
			name: "Lord Howe half-hour DST", anchor: local(t, lordHowe, "2026-09-27 02:15"), loc: lordHowe, iv: week,
			starts: []string{"2026-09-26T15:45:00Z", "2026-10-03T15:45:00Z", "2026-10-10T15:15:00Z"},
			hours:  []float64{168, 167.5},
		},
		{
			// Santiago springs forward at midnight: 00:00 becomes 01:00.
			name: "Santiago midnight gap", anchor: local(t, santiago, "2026-08-06 00:00"), loc: santiago, iv: month,
			starts: []string{"2026-08-06T04:00:00Z", "2026-09-06T04:00:00Z", "2026-10-06T03:00:00Z"},
			hours:  []float64{744, 719},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			for n, s := range c.starts {
				if got := subscription.PeriodStart(c.anchor, c.loc, c.iv, n); !got.Equal(utc(s)) {
					t.Errorf("period %d starts %v (%v local), want %s", n, got, got.In(c.loc), s)
				}
			}
			for n, h := range c.hours {
				start, end := subscription.Period(c.anchor, c.loc, c.iv, n)
				if got, want := end.Sub(start), time.Duration(h*float64(time.Hour)); got != want {
					t.Errorf("period %d [%v, %v) lasts %v, want %v", n, start.In(c.loc), end.In(c.loc), got, want)
				}
			}
		})
	}

	// 01:30 on Nov 1 2026 happens twice in New York; whichever one the
	// period starts at, the wall clock reads 01:30 and two weeks still
	// span 337 hours (EDT to EST).
	anchor := local(t, ny, "2026-10-25 01:30")
	mid := subscription.PeriodStart(anchor, ny, week, 1)
	if got := mid.In(ny).Format("2006-01-02 15:04"); got != "2026-11-01 01:30" {
		t.Errorf("ambiguous start reads %s", got)
	}
	if got := subscription.PeriodStart(anchor, ny, week, 2).Sub(anchor); got != 337*time.Hour {
		t.Errorf("two weeks over fall back last %v, want 337h", got)
	}
	// An anchor on the second 01:30 (EST) is period 0 itself.
	second := time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC)
	if got := subscription.PeriodStart(second, ny, month, 0); !got.Equal(second) {
		t.Errorf("period 0 of an ambiguous anchor starts %v, want %v", got, second)
	}
	if got := subscription.PeriodIndex(second, ny, month, second); got != 0 {
		t.Errorf("PeriodIndex of the ambiguous anchor = %d, want 0", got)
	}
}

// TestPeriodIndex checks, for random zones, anchors, intervals and times,
// that PeriodIndex finds the period holding t: start(n) ≤ t < start(n+1).
func TestPeriodIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2026)) // fixed seed: the same cases every run
	locs := make([]*time.Location, len(zones))
	for i, name := range zones {
		locs[i] = zone(t, name)
	}
	units := []subscription.Unit{subscription.UnitWeek, subscription.UnitMonth, subscription.UnitQuarter, subscription.UnitYear}
	maxCount := map[subscription.Unit]int{subscription.UnitWeek: 52, subscription.UnitMonth: 24, subscription.UnitQuarter: 8, subscription.UnitYear: 5}
	from, to := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	const cases = 20000
	for i := 0; i < cases; i++ {
		loc := locs[rng.IntN(len(locs))]
		unit := units[rng.IntN(len(units))]
		iv := subscription.Interval{Unit: unit, Count: 1 + rng.IntN(maxCount[unit])}
		anchor := time.Unix(from+rng.Int64N(to-from), rng.Int64N(1e9))
		// Up to 200 periods ahead, sometimes exactly on a boundary or just
		// before one.
		k := rng.IntN(200)
		var at time.Time
		switch rng.IntN(3) {
		case 0:
			at = subscription.PeriodStart(anchor, loc, iv, k)
		case 1:
			at = subscription.PeriodStart(anchor, loc, iv, k+1).Add(-time.Nanosecond)
		default:
			start, end := subscription.Period(anchor, loc, iv, k)
			at = start.Add(time.Duration(rng.Int64N(int64(end.Sub(start)))))
		}
		n := subscription.PeriodIndex(anchor, loc, iv, at)
		if n != k {
			t.Fatalf("case %d: PeriodIndex(%v in %v, %v, %v) = %d, want %d", i, anchor, loc, iv, at, n, k)
		}
		if s, e := subscription.Period(anchor, loc, iv, n); at.Before(s) || !at.Before(e) {
			t.Fatalf("case %d: %v is not in period %d [%v, %v)", i, at, n, s, e)
		}
		if got := subscription.PeriodIndex(anchor, loc, iv, anchor.Add(-time.Nanosecond)); got != -1 {
			t.Fatalf("case %d: PeriodIndex just before the anchor = %d, want -1", i, got)
		}
	}
}

func TestIntervalValidateParseString(t *testing.T) {
	for _, c := range []struct {
		in   string
		want subscription.Interval
		str  string
	}{
		{"month", month, "1 month"},
		{"1 month", month, "1 month"},
		{"2 weeks", subscription.Interval{Unit: subscription.UnitWeek, Count: 2}, "2 weeks"},
		{"  3   months ", subscription.Interval{Unit: subscription.UnitMonth, Count: 3}, "3 months"},
		{"quarter", quarter, "1 quarter"},
		{"8 quarters", subscription.Interval{Unit: subscription.UnitQuarter, Count: 8}, "8 quarters"},
		{"years", year, "1 year"},
		{"5 year", subscription.Interval{Unit: subscription.UnitYear, Count: 5}, "5 years"},
		{"52 weeks", subscription.Interval{Unit: subscription.UnitWeek, Count: 52}, "52 weeks"},
		{"24 months", subscription.Interval{Unit: subscription.UnitMonth, Count: 24}, "24 months"},
	} {
		got, err := subscription.ParseInterval(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseInterval(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			continue
		}
		if got.String() != c.str {
			t.Errorf("%+v.String() = %q, want %q", got, got.String(), c.str)
		}
		if back, err := subscription.ParseInterval(got.String()); err != nil || back != got {
			t.Errorf("ParseInterval(%q) = %+v, %v; want it back", got.String(), back, err)
		}
	}
	for _, in := range []string{"", "day", "0 months", "-1 month", "53 weeks", "25 months", "9 quarters", "6 years",
		"2", "two weeks", "2 weeks please", "Month", "1.5 months", "2weeks", "s"} {
		if iv, err := subscription.ParseInterval(in); shopd.ErrorCode(err) != shopd.EINVALID {
			t.Errorf("ParseInterval(%q) = %+v, %v; want EINVALID", in, iv, err)
		}
	}
	for _, c := range []struct {
		iv    subscription.Interval
		field string
	}{
		{subscription.Interval{}, "interval.unit"},
		{subscription.Interval{Unit: "day", Count: 1}, "interval.unit"},
		{subscription.Interval{Unit: subscription.UnitWeek, Count: 0}, "interval.count"},
		{subscription.Interval{Unit: subscription.UnitWeek, Count: 53}, "interval.count"},
		{subscription.Interval{Unit: subscription.UnitMonth, Count: 25}, "interval.count"},
		{subscription.Interval{Unit: subscription.UnitQuarter, Count: 9}, "interval.count"},
		{subscription.Interval{Unit: subscription.UnitYear, Count: 6}, "interval.count"},
	} {
		err := c.iv.Validate()
		if e, ok := err.(*shopd.Error); !ok || e.Code != shopd.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != c.field {
			t.Errorf("%+v.Validate() = %v, want EINVALID on %s", c.iv, err, c.field)
		}
	}
	for _, iv := range []subscription.Interval{month, quarter, year, week, {Unit: subscription.UnitYear, Count: 5}} {
		if err := iv.Validate(); err != nil {
			t.Errorf("%+v.Validate() = %v", iv, err)
		}
	}
}

// An invalid interval is a bug (intervals are validated when stored): the
// arithmetic refuses it rather than loop or divide by zero.
func TestPeriodStartPanicsOnInvalidInterval(t *testing.T) {
	for _, iv := range []subscription.Interval{{}, {Unit: subscription.UnitMonth}, {Unit: "day", Count: 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("PeriodIndex with %+v did not panic", iv)
				}
			}()
			now := time.Now()
			subscription.PeriodIndex(now, time.UTC, iv, now.Add(time.Hour))
		}()
	}
}

func TestBoxCutoff(t *testing.T) {
	for _, c := range []struct {
		zone        string
		periodStart string // RFC 3339
		cutoffDay   int
		want        string // RFC 3339, in UTC
	}{
		{"UTC", "2026-03-01T00:00:00Z", 20, "2026-02-21T00:00:00Z"},
		{"UTC", "2026-03-31T23:59:59Z", 20, "2026-02-21T00:00:00Z"},
		// January's box: the cutoff is in December of the year before.
		{"UTC", "2027-01-15T10:00:00Z", 20, "2026-12-21T00:00:00Z"},
		{"America/New_York", "2027-01-01T05:00:00Z", 20, "2026-12-21T05:00:00Z"},
		// Midnight EST the day after the 20th, in New York (UTC-5).
		{"America/New_York", "2026-03-15T14:00:00Z", 20, "2026-02-21T05:00:00Z"},
		// In summer time the same cutoff is an hour earlier in UTC.
		{"America/New_York", "2026-07-01T04:00:00Z", 20, "2026-06-21T04:00:00Z"},
		// 2026-02-28T20:00Z is already March 1st in India: March's cutoff.
		{"Asia/Kolkata", "2026-02-28T20:00:00Z", 20, "2026-02-20T18:30:00Z"},
		{"UTC", "2026-02-28T20:00:00Z", 20, "2026-01-21T00:00:00Z"},
		// ... and 2026-03-01T03:00Z is still February in Los Angeles.
		{"America/Los_Angeles", "2026-03-01T03:00:00Z", 20, "2026-01-21T08:00:00Z"},
		{"Asia/Kathmandu", "2026-05-10T00:00:00Z", 1, "2026-04-01T18:15:00Z"},
		// Day 28: the day after is March 1st in a common year, Feb 29 in a leap year.
		{"UTC", "2027-03-05T00:00:00Z", 28, "2027-03-01T00:00:00Z"},
		{"UTC", "2028-03-05T00:00:00Z", 28, "2028-02-29T00:00:00Z"},
		{"Pacific/Chatham", "2026-10-10T00:00:00Z", 20, "2026-09-20T11:15:00Z"},
		// Santiago has no midnight on Sep 6 2026: the cutoff is 01:00 -03.
		{"America/Santiago", "2026-10-10T12:00:00Z", 5, "2026-09-06T04:00:00Z"},
	} {
		loc := zone(t, c.zone)
		start, err := time.Parse(time.RFC3339, c.periodStart)
		if err != nil {
			t.Fatal(err)
		}
		got := subscription.BoxCutoff(start, loc, c.cutoffDay)
		if got.Format(time.RFC3339) != c.want || got.Location() != time.UTC {
			t.Errorf("BoxCutoff(%s in %s, day %d) = %v (%v local), want %s", c.periodStart, c.zone, c.cutoffDay,
				got, got.In(loc), c.want)
		}
	}
}

func ExamplePeriod() {
	ny, _ := time.LoadLocation("America/New_York")
	anchor := time.Date(2024, time.January, 31, 9, 0, 0, 0, ny)
	for n := range 4 {
		start, end := subscription.Period(anchor, ny, month, n)
		fmt.Println(start.In(ny).Format("Jan 2 15:04 MST"), "→", end.In(ny).Format("Jan 2 15:04 MST"))
	}
	// Output:
	// Jan 31 09:00 EST → Feb 29 09:00 EST
	// Feb 29 09:00 EST → Mar 31 09:00 EDT
	// Mar 31 09:00 EDT → Apr 30 09:00 EDT
	// Apr 30 09:00 EDT → May 31 09:00 EDT
}
