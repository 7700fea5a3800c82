package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/subscription"
)

// simKind is a kind of subscriber in the year-long billing simulation.
type simKind int

const (
	simPays       simKind = iota // tok_visa, nothing else
	simDeclOnce                  // every period's first charge declines, the retry a day later succeeds
	simAlwaysDecl                // declines: dunned for 14 days, then paused
	simSkips                     // skips one period (day 10)
	simLeaves                    // cancels at period end on day 100
	simPauses                    // pauses on day 45 until day 115
	simKinds
)

// testBillingYear simulates a year of daily billing runs for 1,000
// subscribers of six kinds and checks, subscriber by subscriber, the exact
// invoices, attempts and final status, and that the gateway captured
// exactly one charge per paid invoice.
func testBillingYear(t *testing.T, db *sqlstore.DB) {
	f := newBillFix(t, db, subscription.DefaultBillingRules())
	t0 := f.clock.Now()
	loc := mustLocation(t, "America/New_York")
	interval := subscription.Interval{Unit: subscription.UnitMonth, Count: 1}
	const n, days = 1000, 365
	tokens := map[simKind]string{simDeclOnce: "tok_decline_once", simAlwaysDecl: "tok_declined"}
	subs := make([]subscription.Subscription, n)
	for i := range subs {
		tok := tokens[simKind(i%int(simKinds))]
		if tok == "" {
			tok = "tok_visa"
		}
		subs[i] = f.subscribe(t, fmt.Sprintf("cus_%04d", i), tok)
	}
	skipped := map[string]int{}
	pauseFrom, pauseUntil := t0.AddDate(0, 0, 45), t0.AddDate(0, 0, 115) // at most 3 periods ahead
	for day := range days {
		f.clock.Set(t0.AddDate(0, 0, day))
		for i, s := range subs {
			var err error
			switch k := simKind(i % int(simKinds)); {
			case k == simSkips && day == 10:
				var after subscription.Subscription
				after, err = f.subs.Skip(ctx, "", s.ID)
				skipped[s.ID] = after.SkipPeriod
			case k == simLeaves && day == 100:
				_, err = f.subs.Cancel(ctx, "", s.ID, true)
			case k == simPauses && day == 45:
				_, err = f.subs.Pause(ctx, "", s.ID, pauseUntil)
			}
			if err != nil {
				t.Fatalf("day %d, subscriber %d: %v", day, i, err)
			}
		}
		if _, err := f.biller.Run(ctx); err != nil {
			t.Fatalf("day %d: %v", day, err)
		}
	}

	// The expectation, from the rules as a merchant reads them: every
	// period that starts within the year is billed unless skipped, paused
	// over or after a cancellation.
	end := t0.AddDate(0, 0, days-1)
	var periods []time.Time
	for p := 0; !subscription.PeriodStart(t0, loc, interval, p).After(end); p++ {
		periods = append(periods, subscription.PeriodStart(t0, loc, interval, p))
	}
	paidTotal := 0
	for i, s := range subs {
		k := simKind(i % int(simKinds))
		var want []string
		status := subscription.StatusActive
		for p, start := range periods {
			switch {
			case k == simSkips && p == skipped[s.ID]:
				continue
			case k == simLeaves && start.After(t0.AddDate(0, 0, 100)):
				status = subscription.StatusCanceled
				continue
			case k == simPauses && !start.Before(pauseFrom) && start.Before(pauseUntil):
				continue
			case k == simAlwaysDecl:
				want, status = []string{"0:void:8"}, subscription.StatusPaused
			case k == simDeclOnce:
				want = append(want, fmt.Sprintf("%d:paid:2", p))
			default:
				want = append(want, fmt.Sprintf("%d:paid:1", p))
			}
			if k == simAlwaysDecl {
				break
			}
		}
		for _, w := range want {
			if strings.Contains(w, ":paid:") {
				paidTotal++
			}
		}
		got := f.invoices(t, s.ID)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("subscriber %d (kind %d): invoices %v, want %v", i, k, got, want)
		}
		if st := f.sub(t, s.ID).Status; st != status {
			t.Errorf("subscriber %d (kind %d): %s, want %s", i, k, st, status)
		}
	}
	if c := f.captured(t); c != paidTotal {
		t.Errorf("gateway captured %d charges, want %d (one per paid invoice)", c, paidTotal)
	}
	if paidTotal < 8000 {
		t.Errorf("only %d paid invoices: the simulation did not run", paidTotal)
	}
}

func mustLocation(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
