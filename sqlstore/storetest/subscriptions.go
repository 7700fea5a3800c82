package storetest

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/payment"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/subscription"
)

// SubscriptionService returns a subscription service on db with the default
// markets in place.
func SubscriptionService(t testing.TB, db *sqlstore.DB, clock shopd.Clock) *subscription.Service {
	t.Helper()
	markets := market.NewService(db.Markets(), clock)
	if err := markets.EnsureDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	return subscription.NewService(db.Subscriptions(), clock, markets, catalog.NewService(db.Catalog(), markets, clock))
}

// SampleBoxPlan is a monthly box of 5 sold in the US and Brazil.
func SampleBoxPlan(trialDays int) subscription.NewPlan {
	return subscription.NewPlan{Name: "Glow Box", Interval: subscription.Interval{Unit: subscription.UnitMonth, Count: 1},
		Prices:    map[string]shopd.Money{"us": {Amount: 2900, Currency: "USD"}, "br": {Amount: 12990, Currency: "BRL"}},
		TrialDays: trialDays, Kind: subscription.KindBox, BoxSize: 5}
}

// SampleSubscriber is a US customer's subscription request for a plan.
func SampleSubscriber(customerID, planID string) subscription.NewSubscription {
	return subscription.NewSubscription{CustomerID: customerID, PlanID: planID, Market: "us",
		PaymentMethod: payment.Method{Token: "tok_visa", Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030},
		ShipTo:        order.Address{Name: "Ana", Line1: "1 Main St", City: "New York", Region: "NY", PostalCode: "10001", Country: "US"}}
}

func testSubscriptions(t *testing.T, db *sqlstore.DB) {
	at := time.Date(2026, 1, 31, 15, 0, 0, 0, time.UTC)
	clock := shopd.NewTestClock(at)
	svc := SubscriptionService(t, db, clock)
	store := db.Subscriptions()

	// Plans round-trip, list by status, change and archive.
	box, err := svc.CreatePlan(ctx, SampleBoxPlan(0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := svc.Plan(ctx, box.ID)
	if err != nil || !reflect.DeepEqual(got, box) {
		t.Fatalf("plan round trip: %v\n got %+v\nwant %+v", err, got, box)
	}
	spare, err := svc.CreatePlan(ctx, SampleBoxPlan(14))
	if err != nil {
		t.Fatal(err)
	}
	archived := subscription.PlanArchived
	name := "Spare Box"
	if spare, err = svc.UpdatePlan(ctx, spare.ID, subscription.PlanUpdate{Name: &name, Status: &archived}); err != nil || spare.Name != name || spare.Status != archived {
		t.Fatalf("update: %+v %v", spare, err)
	}
	for status, want := range map[subscription.PlanStatus]int{"": 2, subscription.PlanActive: 1, subscription.PlanArchived: 1} {
		if ps, err := store.Plans(ctx, subscription.PlanFilter{Status: status}); err != nil || len(ps) != want {
			t.Fatalf("plans %q: %d, %v; want %d", status, len(ps), err, want)
		}
	}
	if _, err := store.Plan(ctx, "pln_nope"); shopd.ErrorCode(err) != shopd.ENOTFOUND {
		t.Fatalf("missing plan: %v", err)
	}

	// A subscription and its created event commit together.
	sub, err := svc.Subscribe(ctx, SampleSubscriber("cus_a", box.ID))
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != subscription.StatusActive || !sub.NextBillingAt.Equal(at) || !sub.CurrentPeriodEnd.Equal(time.Date(2026, 2, 28, 15, 0, 0, 0, time.UTC)) {
		t.Fatalf("new subscription %+v", sub)
	}
	back, err := svc.Subscription(ctx, sub.ID)
	if err != nil || !reflect.DeepEqual(back, sub) {
		t.Fatalf("subscription round trip: %v\n got %+v\nwant %+v", err, back, sub)
	}
	if n := countEvents(t, db, sub.ID, subscription.EventCreated); n != 1 {
		t.Fatalf("%d created events", n)
	}

	// A plan with subscriptions is never deleted; one without is.
	if err := svc.DeletePlan(ctx, box.ID); shopd.ErrorType(err) != "plan-in-use" {
		t.Fatalf("delete used plan: %v", err)
	}
	if err := svc.DeletePlan(ctx, spare.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeletePlan(ctx, spare.ID); shopd.ErrorCode(err) != shopd.ENOTFOUND {
		t.Fatalf("delete twice: %v", err)
	}

	// Every field an action writes survives the store.
	clock.Set(at.Add(24 * time.Hour))
	if sub, err = svc.Skip(ctx, "cus_a", sub.ID); err != nil {
		t.Fatal(err)
	}
	if sub, err = svc.Cancel(ctx, "cus_a", sub.ID, true); err != nil || !sub.CancelAtPeriodEnd {
		t.Fatalf("cancel at period end: %+v %v", sub, err)
	}
	if back, err = svc.Subscription(ctx, sub.ID); err != nil || !reflect.DeepEqual(back, sub) {
		t.Fatalf("after actions: %v\n got %+v\nwant %+v", err, back, sub)
	}
	// Another customer's subscription is not found, and nothing is written.
	if _, err := svc.Pause(ctx, "cus_b", sub.ID, at.Add(72*time.Hour)); shopd.ErrorType(err) != "subscription-not-found" {
		t.Fatalf("other customer: %v", err)
	}
	// Asking again to cancel at period end changes nothing and writes no event.
	if _, err := svc.Cancel(ctx, "cus_a", sub.ID, true); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, db, sub.ID, subscription.EventCanceled); n != 1 {
		t.Fatalf("%d canceled events after a repeated cancel", n)
	}

	// Lists: newest first, filters, cursor.
	for _, c := range []string{"cus_b", "cus_b"} {
		if _, err := svc.Subscribe(ctx, SampleSubscriber(c, box.ID)); err != nil {
			t.Fatal(err)
		}
	}
	page, err := svc.Subscriptions(ctx, subscription.Filter{CustomerID: "cus_b", Limit: 1})
	if err != nil || len(page) != 1 || page[0].CustomerID != "cus_b" {
		t.Fatalf("first page %v %v", page, err)
	}
	rest, err := svc.Subscriptions(ctx, subscription.Filter{CustomerID: "cus_b", Before: page[0].ID, Limit: 10})
	if err != nil || len(rest) != 1 || rest[0].ID >= page[0].ID {
		t.Fatalf("second page %v %v", rest, err)
	}
	if all, err := svc.Subscriptions(ctx, subscription.Filter{PlanID: box.ID, Status: subscription.StatusActive, Limit: 10}); err != nil || len(all) != 3 {
		t.Fatalf("by plan and status: %d %v", len(all), err)
	}

	t.Run("ConcurrentActions", func(t *testing.T) { testSubscriptionRace(t, db, svc, box.ID) })
}

// testSubscriptionRace runs 200 concurrent pause, resume and cancel calls on
// one subscription: it must end canceled (exactly one cancel wins), pauses
// and resumes must alternate, and the outbox must hold exactly one event per
// call that succeeded.
func testSubscriptionRace(t *testing.T, db *sqlstore.DB, svc *subscription.Service, planID string) {
	sub, err := svc.Subscribe(ctx, SampleSubscriber("cus_race", planID))
	if err != nil {
		t.Fatal(err)
	}
	until := sub.CurrentPeriodEnd.Add(24 * time.Hour)
	const calls = 200
	var mu sync.Mutex
	wins := map[string]int{}
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var typ string
			var err error
			switch {
			case i%20 == 19 && i >= 100:
				typ = subscription.EventCanceled
				_, err = svc.Cancel(ctx, "cus_race", sub.ID, false)
			case i%2 == 0:
				typ = subscription.EventPaused
				_, err = svc.Pause(ctx, "cus_race", sub.ID, until)
			default:
				typ = subscription.EventResumed
				_, err = svc.Resume(ctx, "cus_race", sub.ID)
			}
			if err != nil && shopd.ErrorType(err) != "invalid-transition" {
				t.Errorf("%s: %v", typ, err)
			}
			if err == nil {
				mu.Lock()
				wins[typ]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	final, err := svc.Subscription(ctx, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != subscription.StatusCanceled || wins[subscription.EventCanceled] != 1 {
		t.Fatalf("final %s after %v", final.Status, wins)
	}
	if d := wins[subscription.EventPaused] - wins[subscription.EventResumed]; d != 0 && d != 1 {
		t.Fatalf("pauses and resumes do not alternate: %v", wins)
	}
	for _, typ := range []string{subscription.EventPaused, subscription.EventResumed, subscription.EventCanceled} {
		if n := countEvents(t, db, sub.ID, typ); n != wins[typ] {
			t.Errorf("%d %s events, %d calls succeeded", n, typ, wins[typ])
		}
	}
	t.Logf("%d calls: %v", calls, wins)
}

// countEvents counts a subject's events of a type in the outbox.
func countEvents(t testing.TB, db *sqlstore.DB, subject, typ string) int {
	t.Helper()
	es, err := db.Events().Events(ctx, event.Filter{Subject: subject, Type: typ, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}
