package subscription_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/subscription"
)

const day = 24 * time.Hour

func TestDefaultDunningSchedule(t *testing.T) {
	s := subscription.DefaultDunningSchedule()
	if s.Attempts() != 8 {
		t.Errorf("Attempts() = %d, want 8", s.Attempts())
	}
	if last := s[len(s)-1]; last != 14*day {
		t.Errorf("last retry after %v, want 14 days", last)
	}
	if got := s.String(); got != "1d,2d,4d,6d,8d,11d,14d" {
		t.Errorf("String() = %q", got)
	}
	if back, err := subscription.ParseDunningSchedule(s.String()); err != nil || !slices.Equal(back, s) {
		t.Errorf("ParseDunningSchedule(%q) = %v, %v", s.String(), back, err)
	}
	// Each call returns a fresh schedule: changing one leaves the default.
	s[0] = time.Hour
	if subscription.DefaultDunningSchedule()[0] != day {
		t.Error("DefaultDunningSchedule shares its slice")
	}
}

func TestParseDunningSchedule(t *testing.T) {
	thirty := make([]string, 30)
	for i := range thirty {
		thirty[i] = fmt.Sprintf("%dd", i+1)
	}
	for _, c := range []struct {
		in   string
		want subscription.DunningSchedule
		str  string
	}{
		{"1d,2d,4d,6d,8d,11d,14d", subscription.DefaultDunningSchedule(), "1d,2d,4d,6d,8d,11d,14d"},
		{" 30m, 6h ,1d", subscription.DunningSchedule{30 * time.Minute, 6 * time.Hour, day}, "30m,6h,1d"},
		{"1440m,36h,90d", subscription.DunningSchedule{day, 36 * time.Hour, 90 * day}, "1d,36h,90d"},
		{"2160h", subscription.DunningSchedule{90 * day}, "90d"},
		{"1m", subscription.DunningSchedule{time.Minute}, "1m"},
		{"007d", subscription.DunningSchedule{7 * day}, "7d"},
		{strings.Join(thirty, ","), nil, strings.Join(thirty, ",")},
	} {
		got, err := subscription.ParseDunningSchedule(c.in)
		if err != nil || (c.want != nil && !slices.Equal(got, c.want)) || got.String() != c.str {
			t.Errorf("ParseDunningSchedule(%q) = %v (%q), %v; want %v (%q)", c.in, got, got.String(), err, c.want, c.str)
		}
	}

	for _, in := range []string{
		"", " ", "0d", "0m,1d", "1d,1d", "2d,1d", "1d,2d,4d,3d", "36h,1440m",
		strings.Join(thirty, ",") + ",31d", "91d", "2161h", "129601m", "99999999999999999999d", "9223372036854775807m",
		"1w", "1s", "1.5d", "-1d", "+1d", "d", "1", "1 d", "1D", "1d2h", "1d,,2d", "1d,", ",1d", "day", "１d",
	} {
		got, err := subscription.ParseDunningSchedule(in)
		var e *shopd.Error
		if !errors.As(err, &e) || e.Code != shopd.EINVALID || len(e.Fields) != 1 || e.Fields[0].Field != "dunning_schedule" {
			t.Errorf("ParseDunningSchedule(%q) = %v, %v; want EINVALID on dunning_schedule", in, got, err)
		}
	}
	// The message says which retry is wrong and why.
	_, err := subscription.ParseDunningSchedule("1d,4d,2d")
	if want := `retry 3: "2d" must be later than retry 2 (4d)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v does not say %q", err, want)
	}
}

// TestDunningScheduleRoundTrip formats random valid schedules and parses
// them back.
func TestDunningScheduleRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 14))
	units := []time.Duration{time.Minute, time.Hour, day}
	for i := 0; i < 2000; i++ {
		var s subscription.DunningSchedule
		var d time.Duration
		for range 1 + rng.IntN(subscription.MaxDunningRetries) {
			d += time.Duration(1+rng.IntN(3*24)) * units[rng.IntN(len(units))]
			if d > subscription.MaxDunningDelay {
				break
			}
			s = append(s, d)
		}
		if len(s) == 0 {
			continue
		}
		back, err := subscription.ParseDunningSchedule(s.String())
		if err != nil || !slices.Equal(back, s) {
			t.Fatalf("%v → %q → %v, %v", []time.Duration(s), s.String(), back, err)
		}
	}
}

func TestNextRetry(t *testing.T) {
	first := time.Date(2026, 3, 7, 9, 30, 0, 0, time.UTC)
	s := subscription.DefaultDunningSchedule()
	for _, c := range []struct {
		failed int
		after  time.Duration
		ok     bool
	}{
		{0, 0, true}, // the first attempt is the failure itself
		{1, 1 * day, true},
		{2, 2 * day, true},
		{3, 4 * day, true},
		{4, 6 * day, true},
		{5, 8 * day, true},
		{6, 11 * day, true},
		{7, 14 * day, true},
		{8, 0, false}, // all 8 attempts failed
		{100, 0, false},
	} {
		at, ok := s.NextRetry(first, c.failed)
		want := first.Add(c.after)
		if !c.ok {
			want = time.Time{}
		}
		if ok != c.ok || !at.Equal(want) {
			t.Errorf("NextRetry(first, %d) = %v, %v; want %v, %v", c.failed, at, ok, want, c.ok)
		}
	}
	// Delays count from the first failure, not from the attempt before.
	one := subscription.DunningSchedule{time.Hour}
	if at, ok := one.NextRetry(first, 1); !ok || !at.Equal(first.Add(time.Hour)) {
		t.Errorf("one retry: %v, %v", at, ok)
	}
	if _, ok := one.NextRetry(first, 2); ok || one.Attempts() != 2 {
		t.Errorf("one retry: attempt 3 is due or Attempts() = %d", one.Attempts())
	}
	if _, ok := subscription.DunningSchedule(nil).NextRetry(first, 1); ok {
		t.Error("an empty schedule retries")
	}
}

func TestParseDunningPolicy(t *testing.T) {
	for in, want := range map[string]subscription.DunningPolicy{"pause": subscription.DunningPause, "cancel": subscription.DunningCancel} {
		if got, err := subscription.ParseDunningPolicy(in); err != nil || got != want {
			t.Errorf("ParseDunningPolicy(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "Pause", "canceled", "delete", " pause"} {
		if got, err := subscription.ParseDunningPolicy(in); shopd.ErrorCode(err) != shopd.EINVALID || got != "" {
			t.Errorf("ParseDunningPolicy(%q) = %q, %v; want EINVALID", in, got, err)
		}
	}
}
