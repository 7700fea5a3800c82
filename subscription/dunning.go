package subscription

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shopd/shopd"
)

// Limits of a dunning schedule.
const (
	MaxDunningRetries = 30                  // retries after the first failure
	MaxDunningDelay   = 90 * 24 * time.Hour // from the first failure to the last retry
)

// DunningSchedule is the retry plan after a renewal's first failed charge:
// entry i is when attempt i+2 is due, measured from the first failure (not
// from the attempt before), so a late or slow retry does not push the rest
// back. Entries are strictly increasing.
//
// The schedule knows nothing of why a charge failed: hard declines
// (payment.Decline.Hard) are never retried, whatever it says.
type DunningSchedule []time.Duration

// DefaultDunningSchedule is 8 attempts spread over 14 days: the failure
// itself, then retries 1, 2, 4, 6, 8, 11 and 14 days after it.
func DefaultDunningSchedule() DunningSchedule {
	const day = 24 * time.Hour
	return DunningSchedule{1 * day, 2 * day, 4 * day, 6 * day, 8 * day, 11 * day, 14 * day}
}

// ParseDunningSchedule reads comma-separated delays from the first failure
// in whole days, hours or minutes: "1d,2d,4d,6d,8d,11d,14d" or "30m,6h,1d".
// It returns EINVALID unless there are 1 to MaxDunningRetries delays, each
// after the one before, the first after 0 and the last at most
// MaxDunningDelay.
func ParseDunningSchedule(s string) (DunningSchedule, error) {
	const field = "dunning_schedule"
	var v shopd.Validation
	parts := strings.Split(s, ",")
	switch {
	case strings.TrimSpace(s) == "":
		v.Addf(field, "must list at least one retry delay, such as \"1d,3d,7d\"")
	case len(parts) > MaxDunningRetries:
		v.Addf(field, "must list at most %d retry delays, not %d", MaxDunningRetries, len(parts))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sched := make(DunningSchedule, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		d, ok := parseDelay(p)
		switch {
		case !ok:
			v.Addf(field, "retry %d: %q is not a whole number of days, hours or minutes such as 2d, 12h or 30m", i+1, p)
		case d <= 0:
			v.Addf(field, "retry %d: %q must be after the first failure", i+1, p)
		case d > MaxDunningDelay:
			v.Addf(field, "retry %d: %q is later than the limit of %s", i+1, p, formatDelay(MaxDunningDelay))
		case i > 0 && d <= sched[i-1]:
			v.Addf(field, "retry %d: %q must be later than retry %d (%s)", i+1, p, i, formatDelay(sched[i-1]))
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		sched = append(sched, d)
	}
	return sched, nil
}

// parseDelay reads "14d", "12h" or "30m". A delay over MaxDunningDelay,
// however large, reads as just over it.
func parseDelay(s string) (time.Duration, bool) {
	if len(s) < 2 {
		return 0, false
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 'd':
		unit = 24 * time.Hour
	case 'h':
		unit = time.Hour
	case 'm':
		unit = time.Minute
	default:
		return 0, false
	}
	digits := s[:len(s)-1]
	if strings.Trim(digits, "0123456789") != "" {
		return 0, false // no sign, space or fraction
	}
	// digits is a non-empty run of digits, so the only possible error is
	// ErrRange: a delay far too long.
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > int64(MaxDunningDelay/unit) {
		return MaxDunningDelay + unit, true
	}
	return time.Duration(n) * unit, true
}

// formatDelay renders d in the largest of days, hours and minutes that
// holds it exactly, and as a Duration string when none does.
func formatDelay(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// String renders the schedule as ParseDunningSchedule reads it:
// "1d,2d,4d,6d,8d,11d,14d". Delays that are not whole minutes (never the
// result of parsing) are shown as Duration strings, which do not parse.
func (s DunningSchedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = formatDelay(d)
	}
	return strings.Join(parts, ",")
}

// Attempts returns how many charge attempts the schedule allows, counting
// the first, failed one.
func (s DunningSchedule) Attempts() int { return len(s) + 1 }

// NextRetry returns when attempt failed+1 is due after `failed` failed
// attempts, the first of which failed at firstFailure; ok is false when all
// Attempts have failed and the DunningPolicy applies. failed below 1 means
// the first attempt itself, which is due at firstFailure.
func (s DunningSchedule) NextRetry(firstFailure time.Time, failed int) (at time.Time, ok bool) {
	switch {
	case failed < 1:
		return firstFailure, true
	case failed > len(s):
		return time.Time{}, false
	}
	return firstFailure.Add(s[failed-1]), true
}

// DunningPolicy is what happens to a subscription after its last retry
// fails.
type DunningPolicy string

// Dunning policies.
const (
	DunningPause  DunningPolicy = "pause"  // pause until the subscriber updates the payment method
	DunningCancel DunningPolicy = "cancel" // cancel the subscription
)

// ParseDunningPolicy reads "pause" or "cancel", and returns EINVALID for
// anything else.
func ParseDunningPolicy(s string) (DunningPolicy, error) {
	switch p := DunningPolicy(s); p {
	case DunningPause, DunningCancel:
		return p, nil
	}
	var v shopd.Validation
	v.Addf("dunning_policy", "must be %q or %q, not %q", DunningPause, DunningCancel, s)
	return "", v.Err()
}
