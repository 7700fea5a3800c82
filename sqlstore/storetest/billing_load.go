package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/subscription"
)

// SeedDueSubscriptions stores n active US subscriptions to a new monthly box
// plan, started at `at` so that period 0 of each is due then, paying with
// tokens in turn (subscription i with tokens[i%len(tokens)]). It writes
// through the store in bulk — no outbox events — so that tests and
// benchmarks can have 100,000 due subscriptions in seconds. It returns the
// subscriptions' IDs in order.
func SeedDueSubscriptions(t testing.TB, db *sqlstore.DB, n int, tokens []string, at time.Time) []string {
	t.Helper()
	if len(tokens) == 0 {
		t.Fatal("SeedDueSubscriptions: no tokens")
	}
	at = at.UTC().Truncate(time.Microsecond)
	svc := SubscriptionService(t, db, shopd.NewTestClock(at))
	plan, err := svc.CreatePlan(context.Background(), SampleBoxPlan(0))
	if err != nil {
		t.Fatal(err)
	}
	price, _ := plan.Price("us")
	loc, err := time.LoadLocation("America/New_York") // the default us market's zone
	if err != nil {
		t.Fatal(err)
	}
	subs := make([]subscription.Subscription, n)
	ids := make([]string, n)
	for i := range subs {
		ns := SampleSubscriber(fmt.Sprintf("cus_load%07d", i), plan.ID)
		ns.PaymentMethod = payment.Method{Token: tokens[i%len(tokens)]}
		s := subscription.Subscription{ID: shopd.NewID("sub"), CustomerID: ns.CustomerID, PlanID: plan.ID, Market: "us", Price: price,
			TimeZone: loc.String(), Interval: plan.Interval, Kind: plan.Kind, PendingPlanPrice: shopd.Zero(price.Currency),
			Adjustment: shopd.Zero(price.Currency), PaymentMethod: ns.PaymentMethod, ShipTo: ns.ShipTo}
		s.Start(0, at, loc)
		subs[i], ids[i] = s, s.ID
	}
	if err := db.Subscriptions().InsertSubscriptions(context.Background(), subs); err != nil {
		t.Fatal(err)
	}
	return ids
}
