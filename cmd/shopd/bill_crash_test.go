package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/subscription"
)

// billCrashPoints are the steps of a billing run where TestBillCrashes
// kills `shopd bill`, plus "random": a kill after a random delay.
var billCrashPoints = []string{"billing.renewing", "billing.invoiced", "payment.charged", "billing.settling", "random"}

// billTokens are the subscribers' cards, in turn: most succeed; the others
// decline, fail before or after charging, or never answer.
var billTokens = []string{"tok_visa", "tok_visa", "tok_visa", "tok_declined", "tok_error", "tok_error_after_charge", "tok_timeout"}

// billStore is a fresh store for shopd processes, open in the test too.
type billStore struct {
	db    *sqlstore.DB
	flags []string // --data-dir or --database-url
}

func openBillStore(t testing.TB, d sqlstore.Dialect) billStore {
	t.Helper()
	src := storetest.URL(t, d)
	db, err := sqlstore.Open(context.Background(), src, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d == sqlstore.SQLite {
		return billStore{db: db, flags: []string{"--data-dir", filepath.Dir(src)}}
	}
	return billStore{db: db, flags: []string{"--database-url", src}}
}

// billJSON runs `shopd bill --json` to its end and returns what it did.
func billJSON(t *testing.T, bin string, env []string, args ...string) map[string]float64 {
	t.Helper()
	res, err := runBill(bin, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// runBill is billJSON for any goroutine.
func runBill(bin string, env []string, args ...string) (map[string]float64, error) {
	cmd := exec.Command(bin, append([]string{"bill", "--json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("bill: %v\n%s", err, stderr.Bytes())
	}
	var res map[string]any
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, fmt.Errorf("bill printed %q: %v", out, err)
	}
	nums := map[string]float64{}
	for k, v := range res {
		if f, ok := v.(float64); ok {
			nums[k] = f
		}
	}
	return nums, nil
}

// TestBillCrashes kills `shopd bill` with SIGKILL at every step of a
// billing run and at random moments, 32 times per engine, each time with
// 200 more subscriptions due (cards that succeed, decline, fail before or
// after charging, or time out); after each kill `shopd payments reconcile`
// settles what was left in doubt, and the next run picks up what is due.
// A third of each round's subscriptions are to the round's replenishment
// plan, whose paid periods become orders sold from stock in the settling
// transaction; some rounds have too little stock for all of them.
// Afterwards bill and reconcile run until nothing is due, and: every
// subscription has one invoice per due period, none missed; no payment is
// left unsettled; the test gateway captured exactly one charge per paid
// invoice and none for anything else; every paid replenishment period, and
// nothing else, has one order, sold whole while the stock lasted and out of
// stock after (refills.check).
func TestBillCrashes(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	const runs, perRun = 32, 200
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			s := openBillStore(t, d)
			// Started 60 days ago and billed as of 20 days ago: periods 0 and 1
			// are due, 2 is not. Payment leases (on the --now clock) have long
			// run out for the reconciler, which runs on the real clock.
			at := time.Now().UTC().Add(-60 * 24 * time.Hour).Truncate(time.Second)
			now := at.Add(40 * 24 * time.Hour)
			billArgs := append([]string{"--now", now.Format(time.RFC3339), "--payment-call-timeout", "300ms"}, s.flags...)
			reconcile := func() {
				t.Helper()
				out, err := exec.Command(bin, append([]string{"payments", "reconcile", "--older-than", "0s", "--payment-call-timeout", "300ms"}, s.flags...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("reconcile: %v\n%s", err, out)
				}
			}
			tokens := map[string]string{} // subscription → card
			refills := newRefills(t, s.db, at)
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
			killed := 0
			for run := range runs {
				ids := storetest.SeedDueSubscriptions(t, s.db, perRun, billTokens, at)
				for i, id := range ids {
					tokens[id] = billTokens[i%len(billTokens)]
				}
				refills.seed(t, run, ids)
				point := billCrashPoints[run%len(billCrashPoints)]
				cmd := exec.Command(bin, append([]string{"bill"}, billArgs...)...)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				if point != "random" {
					cmd.Env = append(os.Environ(), "SHOPD_CRASH_AT="+point)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				if point == "random" {
					delay := time.Duration(rng.IntN(3000)) * time.Millisecond
					timer := time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
					defer timer.Stop()
				}
				err := cmd.Wait()
				var exit *exec.ExitError
				switch {
				case err == nil && point == "random":
					// The run finished before the kill: a clean run is fine too.
				case errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
					killed++
				default:
					t.Fatalf("run %d (%s): bill ended with %v instead of SIGKILL\n%s", run, point, err, out.Bytes())
				}
				reconcile()
			}
			// Bill and reconcile until nothing is due.
			for i := 0; ; i++ {
				if i == 10 {
					t.Fatal("still billing after 10 clean runs")
				}
				res := billJSON(t, bin, nil, billArgs...)
				reconcile()
				if res["invoiced"] == 0 && res["retried"] == 0 {
					break
				}
			}
			sum := checkBilled(t, s.db, tokens, now, 2)
			t.Logf("%d runs (%d killed), %d subscriptions: %s; %s", runs, killed, len(tokens), sum, refills.check(t))
		})
	}
}

// checkBilled checks a store after billing runs as of now, when periods
// periods of each subscription were due: every subscription in tokens (ID →
// card) has one invoice for each period up to its last, all of them paid if
// it is active, none is still due, every payment is settled, and the test
// gateway's captured charges are exactly the paid invoices' payments. It
// returns a summary.
func checkBilled(t *testing.T, db *sqlstore.DB, tokens map[string]string, now time.Time, periods int) string {
	t.Helper()
	pool := mainPool(db)

	type inv struct {
		id, sub, status, payment string
		period                   int
		total                    int64
	}
	bySub := map[string][]inv{} // subscription → invoices by period
	invoices := map[string]inv{}
	queryRows(t, pool, `SELECT id, subscription_id, period, status, total, payment_id FROM invoices ORDER BY subscription_id, period`, func(r *sql.Rows) error {
		var i inv
		err := r.Scan(&i.id, &i.sub, &i.period, &i.status, &i.total, &i.payment)
		bySub[i.sub] = append(bySub[i.sub], i)
		invoices[i.id] = i
		return err
	})
	type pay struct{ id, ref, status, key string }
	payments := map[string]pay{}
	queryRows(t, pool, `SELECT id, reference, status, idempotency_key FROM payments`, func(r *sql.Rows) error {
		var p pay
		err := r.Scan(&p.id, &p.ref, &p.status, &p.key)
		payments[p.id] = p
		return err
	})
	captured := map[string]int64{}  // idempotency key → amount captured
	capturedRef := map[string]int{} // invoice → captured charges
	queryRows(t, pool, `SELECT idempotency_key, reference, captured FROM test_gateway_charges WHERE status = 'captured'`, func(r *sql.Rows) error {
		var key, ref string
		var amount int64
		err := r.Scan(&key, &ref, &amount)
		captured[key] = amount
		capturedRef[ref]++
		return err
	})
	failedEvents := map[string]bool{} // invoices with an invoice.payment_failed event
	queryRows(t, pool, `SELECT subject FROM events WHERE type = 'invoice.payment_failed'`, func(r *sql.Rows) error {
		var id string
		err := r.Scan(&id)
		failedEvents[id] = true
		return err
	})
	statuses := map[string]int{}
	due := 0
	nowMicros := now.UnixMicro()
	queryRows(t, pool, `SELECT id, status, COALESCE(next_billing_at, 0) FROM subscriptions`, func(r *sql.Rows) error {
		var id, status string
		var next int64
		err := r.Scan(&id, &status, &next)
		statuses[status]++
		if (status == "active" || status == "trialing" || status == "paused") && next != 0 && next <= nowMicros {
			due++
			t.Errorf("subscription %s (%s, %s) is still due: billed as of now, it was missed", id, status, tokens[id])
		}
		invs := bySub[id]
		if len(invs) == 0 {
			t.Errorf("subscription %s (%s) was never invoiced", id, tokens[id])
			return err
		}
		for n, i := range invs {
			if i.period != n {
				t.Errorf("subscription %s: invoices for periods %v; want one each for 0 to %d", id, invs, len(invs)-1)
				break
			}
		}
		last := invs[len(invs)-1]
		switch {
		case status == "active" && (len(invs) != periods || last.status != "paid"):
			t.Errorf("active subscription %s (%s): invoices %v; want %d periods, all paid", id, tokens[id], invs, periods)
		case status == "past_due" && last.status != "open", status == "paused" && last.status != "void":
			t.Errorf("%s subscription %s (%s): last invoice %v", status, id, tokens[id], last)
		case tokens[id] == "tok_declined" && last.status == "paid":
			t.Errorf("subscription %s paid with a declining card: %v", id, invs)
		case tokens[id] == "tok_visa" && status != "active":
			// A crash before the gateway call must not count as a decline.
			t.Errorf("subscription %s with a good card is %s: %v", id, status, invs)
		}
		for _, i := range invs {
			if tokens[id] == "tok_visa" && failedEvents[i.id] {
				t.Errorf("invoice %s of a good card has an invoice.payment_failed event", i.id)
			}
		}
		return err
	})
	if len(tokens) != statuses["active"]+statuses["past_due"]+statuses["paused"]+statuses["canceled"]+statuses["trialing"] {
		t.Errorf("%d subscriptions seeded, statuses %v", len(tokens), statuses)
	}

	paid, paidTotal, capturedTotal := 0, int64(0), int64(0)
	for _, i := range invoices {
		p := payments[i.payment]
		if i.status == "paid" {
			paid++
			paidTotal += i.total
			if p.status != "succeeded" || captured[p.key] != i.total {
				t.Errorf("paid invoice %s: payment %+v, gateway captured %d of %d", i.id, p, captured[p.key], i.total)
			}
		}
		if capturedRef[i.id] > 1 {
			t.Errorf("invoice %s: the gateway captured %d charges", i.id, capturedRef[i.id])
		}
	}
	succeeded := map[string]int{} // invoice → succeeded payments
	for _, p := range payments {
		switch p.status {
		case "pending", "in_doubt":
			t.Errorf("payment %s still %s after reconcile", p.id, p.status)
		case "succeeded":
			succeeded[p.ref]++
			if succeeded[p.ref] > 1 {
				t.Errorf("invoice %s has %d succeeded payments", p.ref, succeeded[p.ref])
			}
			if invoices[p.ref].payment != p.id || invoices[p.ref].status != "paid" {
				t.Errorf("payment %s succeeded but its invoice is %+v", p.id, invoices[p.ref])
			}
		}
		if _, ok := captured[p.key]; ok && p.status != "succeeded" {
			t.Errorf("the gateway captured payment %s, recorded as %s", p.id, p.status)
		}
	}
	for _, amount := range captured {
		capturedTotal += amount
	}
	if len(captured) != paid || capturedTotal != paidTotal {
		t.Errorf("the gateway captured %d charges (%d) for %d paid invoices (%d)", len(captured), capturedTotal, paid, paidTotal)
	}
	return fmt.Sprintf("%d invoices, %d paid, %d payments, %d captured, statuses %v", len(invoices), paid, len(payments), len(captured), statuses)
}

// refillQuantities are the units of its two SKUs, A and B, that each
// round's replenishment plan ships each period.
var refillQuantities = [2]int64{2, 1}

// refillStock is the stock of a round's SKUs (A, B) received in each
// warehouse before its first run: east and west serve us, rio only br, so
// rio's units are never sold. Every other round covers every period (at
// most 134 orders); the others are short of A (25 orders, the last split
// over east and west) or of B (10 orders).
func refillStock(run int) map[string][2]int64 {
	rio := [2]int64{500, 500}
	switch run % 4 {
	case 0:
		return map[string][2]int64{"east": {31, 200}, "west": {19, 0}, "rio": rio}
	case 2:
		return map[string][2]int64{"east": {300, 0}, "west": {0, 10}, "rio": rio}
	}
	return map[string][2]int64{"east": {150, 70}, "west": {150, 70}, "rio": rio}
}

// stockRow names a stock row: a SKU in a warehouse (ID).
type stockRow struct{ sku, warehouse string }

// refillRound is a round's replenishment plan and its stock.
type refillRound struct {
	plan     string
	skus     [2]string
	received map[stockRow]int64
	covers   int // the period orders that the us warehouses' stock covers
}

// refills seeds a replenishment plan per round, with SKUs and stock of its
// own — so that each round's stock only goes down, and how many of its
// orders it covers is exact — and checks their orders after billing.
type refills struct {
	db         *sqlstore.DB
	catalog    *catalog.Service
	inventory  *inventory.Service
	subs       *subscription.Service
	warehouses map[string]string // code → ID
	rounds     []refillRound
}

func newRefills(t *testing.T, db *sqlstore.DB, at time.Time) *refills {
	t.Helper()
	clock := shopd.NewTestClock(at)
	markets := market.NewService(db.Markets(), clock)
	if err := markets.EnsureDefaults(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := &refills{db: db, catalog: catalog.NewService(db.Catalog(), markets, clock), inventory: inventory.NewService(db.Inventory(), clock),
		subs: storetest.SubscriptionService(t, db, clock), warehouses: map[string]string{}}
	r.inventory.Markets = markets
	for _, w := range []inventory.NewWarehouse{{Code: "east", Markets: []string{"us"}, Priority: 1},
		{Code: "west", Markets: []string{"us"}, Priority: 2}, {Code: "rio", Markets: []string{"br"}, Priority: 0}} {
		w.Name = w.Code
		created, err := r.inventory.CreateWarehouse(context.Background(), w)
		if err != nil {
			t.Fatal(err)
		}
		r.warehouses[w.Code] = created.ID
	}
	return r
}

// seed makes the run's plan — A and B, a product's variants, with their
// refillStock — and moves every third subscription of ids (seeded to a box
// plan, cards in turn) to it.
func (r *refills) seed(t *testing.T, run int, ids []string) {
	t.Helper()
	ctx := context.Background()
	rd := refillRound{skus: [2]string{fmt.Sprintf("RFL-%02d-A", run), fmt.Sprintf("RFL-%02d-B", run)}, received: map[stockRow]int64{}}
	np := catalog.NewProduct{Title: fmt.Sprintf("Refill %02d", run), Status: catalog.StatusActive}
	for i, sku := range rd.skus {
		np.Variants = append(np.Variants, catalog.NewVariant{SKU: sku, Options: map[string]string{"pack": sku},
			Prices: map[string]catalog.Price{"us": {Amount: shopd.Money{Amount: int64(1000 + i), Currency: "USD"}}}})
	}
	p, err := r.catalog.CreateProduct(ctx, np)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := r.subs.CreatePlan(ctx, subscription.NewPlan{Name: np.Title, Interval: subscription.Interval{Unit: subscription.UnitMonth, Count: 1},
		Prices: map[string]shopd.Money{"us": {Amount: 2900, Currency: "USD"}}, Kind: subscription.KindReplenishment,
		Items: []subscription.PlanItem{{VariantID: p.Variants[0].ID, Quantity: refillQuantities[0]}, {VariantID: p.Variants[1].ID, Quantity: refillQuantities[1]}}})
	if err != nil {
		t.Fatal(err)
	}
	rd.plan = plan.ID
	var us [2]int64
	for code, qs := range refillStock(run) {
		for i, q := range qs {
			if q == 0 {
				continue
			}
			if _, err := r.inventory.Receive(ctx, inventory.Receipt{Warehouse: code, SKU: rd.skus[i], Quantity: q, Reference: "po-" + rd.skus[i]}); err != nil {
				t.Fatal(err)
			}
			rd.received[stockRow{rd.skus[i], r.warehouses[code]}] = q
			if code != "rio" {
				us[i] += q
			}
		}
	}
	rd.covers = int(min(us[0]/refillQuantities[0], us[1]/refillQuantities[1]))
	r.rounds = append(r.rounds, rd)

	// The bulk seed makes box subscriptions only; a replenishment plan at
	// the same price and interval differs from it in plan and kind alone.
	args := []any{plan.ID, string(subscription.KindReplenishment)}
	var in []string
	for i := 0; i < len(ids); i += 3 {
		args = append(args, ids[i])
		in = append(in, "$"+strconv.Itoa(len(args)))
	}
	res, err := mainPool(r.db).Exec(`UPDATE subscriptions SET plan_id = $1, kind = $2 WHERE id IN (`+strings.Join(in, ", ")+`)`, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(in)) {
		t.Fatalf("moved %d of %d subscriptions to plan %s: %v", n, len(in), plan.ID, err)
	}
}

// refillOrder is a stored order as refills.check sees it.
type refillOrder struct {
	status, payment, market string
	total                   int64
	lines                   []string         // "SKU×quantity", in order
	events                  map[string]int   // type → count
	invoices                []refillInvoice  // the paid replenishment invoices that name it
	sold, held              map[string]int64 // SKU → units of its sale movements, of its committed reservations
}

// refillInvoice is a paid invoice of a replenishment plan.
type refillInvoice struct {
	id, payment string
	total       int64
	round       int
	captured    []int64 // the test gateway's captured charges for it
}

// check checks the replenishment periods after billing: every paid
// invoice of a replenishment plan, and no other invoice, names an order;
// each order is named by one invoice, is paid by its payment (which the
// test gateway captured once, for the order's total) and holds the plan's
// items; in each round the orders got their stock, whole, until the us
// warehouses could not cover another — exactly min(paid periods, covered)
// of them sold, each with sale movements and committed reservations of
// exactly its lines — and the rest stand with an order.out_of_stock event,
// having moved and held nothing. Every stock row is explained by its
// ledger (receipts as seeded, plus sales), none is left reserved, and none
// in a warehouse that does not serve us lost a unit (refills.ledger). It
// returns a summary.
func (r *refills) check(t *testing.T) string {
	t.Helper()
	pool := mainPool(r.db)
	orders, paid := r.orders(t, pool)
	gone := r.ledger(t, pool, orders)
	sold, short := make([]int, len(r.rounds)), make([]int, len(r.rounds))
	for id, o := range orders {
		if len(o.invoices) != 1 {
			t.Errorf("order %s is named by paid replenishment invoices %v", id, o.invoices)
			continue
		}
		i := o.invoices[0]
		rd := r.rounds[i.round]
		lines := []string{fmt.Sprintf("%s×%d", rd.skus[0], refillQuantities[0]), fmt.Sprintf("%s×%d", rd.skus[1], refillQuantities[1])}
		if o.status != "paid" || o.payment != i.payment || o.total != i.total || o.market != "us" || !slices.Equal(o.lines, lines) ||
			!slices.Equal(i.captured, []int64{o.total}) {
			t.Errorf("order %s %+v of invoice %+v; want it paid by the invoice's payment, for its total, lines %v", id, *o, i, lines)
		}
		for _, typ := range subscription.PaidOrderEvents {
			if o.events[typ] != 1 {
				t.Errorf("order %s has %d %s events", id, o.events[typ], typ)
			}
		}
		want := map[string]int64{rd.skus[0]: refillQuantities[0], rd.skus[1]: refillQuantities[1]}
		switch o.events[subscription.EventOrderOutOfStock] {
		case 0:
			sold[i.round]++
			if !maps.Equal(o.sold, want) || !maps.Equal(o.held, want) {
				t.Errorf("order %s sold %v and committed reservations of %v; want %v", id, o.sold, o.held, want)
			}
		case 1:
			short[i.round]++
			if len(o.sold) != 0 || len(o.held) != 0 {
				t.Errorf("order %s is out of stock, yet sold %v and committed reservations of %v", id, o.sold, o.held)
			}
		default:
			t.Errorf("order %s has %d %s events", id, o.events[subscription.EventOrderOutOfStock], subscription.EventOrderOutOfStock)
		}
	}
	var periods, sales, outs int
	for n, rd := range r.rounds {
		want := min(paid[n], rd.covers)
		if sold[n] != want || short[n] != paid[n]-want {
			t.Errorf("round %d: %d paid periods, stock for %d: %d orders sold and %d out of stock; want %d and %d",
				n, paid[n], rd.covers, sold[n], short[n], want, paid[n]-want)
		}
		for i, sku := range rd.skus {
			if units := int64(sold[n]) * refillQuantities[i]; gone[sku] != units {
				t.Errorf("round %d: %d %s left the warehouses; its %d sold orders hold %d", n, gone[sku], sku, sold[n], units)
			}
		}
		periods, sales, outs = periods+paid[n], sales+sold[n], outs+short[n]
	}
	if sales == 0 || outs == 0 {
		t.Errorf("%d period orders sold, %d out of stock: the test wants both", sales, outs)
	}
	return fmt.Sprintf("%d replenishment periods paid: %d orders sold, %d out of stock", periods, sales, outs)
}

// orders reads the store's orders — with their lines, events and the
// paid replenishment invoices that name them — and counts the paid periods
// of each round. It fails for an invoice that names an order it should not
// (not paid, or not of a replenishment plan), names none though it should,
// or names one that does not exist, and for an order event of no order.
func (r *refills) orders(t *testing.T, pool *sql.DB) (map[string]*refillOrder, []int) {
	t.Helper()
	round := map[string]int{} // plan → round
	for n, rd := range r.rounds {
		round[rd.plan] = n
	}
	orders := map[string]*refillOrder{}
	queryRows(t, pool, `SELECT id, status, payment_id, market, total FROM orders`, func(rows *sql.Rows) error {
		var id string
		o := &refillOrder{events: map[string]int{}, sold: map[string]int64{}, held: map[string]int64{}}
		err := rows.Scan(&id, &o.status, &o.payment, &o.market, &o.total)
		orders[id] = o
		return err
	})
	captured := map[string][]int64{} // invoice → amounts captured
	queryRows(t, pool, `SELECT reference, captured FROM test_gateway_charges WHERE status = 'captured'`, func(rows *sql.Rows) error {
		var ref string
		var amount int64
		err := rows.Scan(&ref, &amount)
		captured[ref] = append(captured[ref], amount)
		return err
	})
	paid := make([]int, len(r.rounds))
	queryRows(t, pool, `SELECT id, plan_id, status, payment_id, order_id, total FROM invoices`, func(rows *sql.Rows) error {
		var i refillInvoice
		var plan, status, orderID string
		if err := rows.Scan(&i.id, &plan, &status, &i.payment, &orderID, &i.total); err != nil {
			return err
		}
		n, refill := round[plan]
		o := orders[orderID]
		switch {
		case !refill || status != "paid":
			if orderID != "" {
				t.Errorf("%s invoice %s of plan %s (replenishment: %v) names order %s", status, i.id, plan, refill, orderID)
			}
			return nil
		case orderID == "":
			t.Errorf("paid invoice %s of replenishment round %d has no order", i.id, n)
		case o == nil:
			t.Errorf("paid invoice %s of replenishment round %d names order %s, which does not exist", i.id, n, orderID)
		default:
			i.round, i.captured = n, captured[i.id]
			o.invoices = append(o.invoices, i)
		}
		paid[n]++
		return nil
	})
	queryRows(t, pool, `SELECT order_id, sku, quantity FROM order_lines ORDER BY order_id, position`, func(rows *sql.Rows) error {
		var id, sku string
		var q int64
		err := rows.Scan(&id, &sku, &q)
		if o := orders[id]; o != nil {
			o.lines = append(o.lines, fmt.Sprintf("%s×%d", sku, q))
		}
		return err
	})
	queryRows(t, pool, `SELECT subject, type FROM events WHERE type IN ('order.created', 'order.paid', '`+subscription.EventOrderOutOfStock+`')`,
		func(rows *sql.Rows) error {
			var id, typ string
			err := rows.Scan(&id, &typ)
			if o := orders[id]; o != nil {
				o.events[typ]++
			} else {
				t.Errorf("%s event of %s, which is no order", typ, id)
			}
			return err
		})
	return orders, paid
}

// ledger reads the stock ledger into the orders' sold and held units and
// returns the units of each SKU no longer on hand. It fails unless the
// movements are the seeded receipts and sales of orders at us warehouses,
// every reservation is an order's, committed, and every stock row, none
// reserved, holds what its movements add up to.
func (r *refills) ledger(t *testing.T, pool *sql.DB, orders map[string]*refillOrder) map[string]int64 {
	t.Helper()
	seeded := map[stockRow]int64{}
	for _, rd := range r.rounds {
		maps.Copy(seeded, rd.received)
	}
	received, moved := map[stockRow]int64{}, map[stockRow]int64{}
	queryRows(t, pool, `SELECT reference, sku, warehouse_id, kind, delta FROM stock_movements`, func(rows *sql.Rows) error {
		var ref, kind string
		var k stockRow
		var delta int64
		if err := rows.Scan(&ref, &k.sku, &k.warehouse, &kind, &delta); err != nil {
			return err
		}
		moved[k] += delta
		switch o := orders[ref]; {
		case kind == "receipt":
			received[k] += delta
		case kind == "sale" && o != nil && k.warehouse != r.warehouses["rio"]:
			o.sold[k.sku] -= delta
		default:
			t.Errorf("%s movement of %d %s at %s for %q", kind, delta, k.sku, k.warehouse, ref)
		}
		return nil
	})
	queryRows(t, pool, `SELECT reference, sku, state, quantity FROM stock_reservations`, func(rows *sql.Rows) error {
		var ref, sku, state string
		var q int64
		if err := rows.Scan(&ref, &sku, &state, &q); err != nil {
			return err
		}
		if o := orders[ref]; o != nil && state == "committed" {
			o.held[sku] += q
		} else {
			t.Errorf("%s reservation of %d %s for %q", state, q, sku, ref)
		}
		return nil
	})
	gone := map[string]int64{}
	stockRows := 0
	queryRows(t, pool, `SELECT sku, warehouse_id, on_hand, reserved FROM stock`, func(rows *sql.Rows) error {
		var k stockRow
		var onHand, reserved int64
		if err := rows.Scan(&k.sku, &k.warehouse, &onHand, &reserved); err != nil {
			return err
		}
		stockRows++
		if reserved != 0 || onHand-reserved < 0 || moved[k] != onHand || received[k] != seeded[k] {
			t.Errorf("stock of %s at %s: on hand %d, reserved %d; the ledger adds up to %d, receipts to %d of %d seeded",
				k.sku, k.warehouse, onHand, reserved, moved[k], received[k], seeded[k])
		}
		gone[k.sku] += seeded[k] - onHand
		return nil
	})
	if stockRows != len(seeded) {
		t.Errorf("%d stock rows, %d seeded", stockRows, len(seeded))
	}
	return gone
}

// queryRows runs q on pool and scan on each row it returns.
func queryRows(t *testing.T, pool *sql.DB, q string, scan func(*sql.Rows) error) {
	t.Helper()
	rows, err := pool.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestBillConcurrentProcesses runs two `shopd bill` processes at once on
// one PostgreSQL database over 10,000 due subscriptions (a quarter with a
// declining card): they share the work through SKIP LOCKED, and together
// they invoice every subscription's period exactly once and charge each
// paid invoice exactly once.
func TestBillConcurrentProcesses(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(storetest.Engines(t), sqlstore.Postgres) {
		t.Skip("PostgreSQL only (SHOPD_TEST_DATABASE_URL): SQLite has one writer")
	}
	const n = 10000
	s := openBillStore(t, sqlstore.Postgres)
	at := time.Now().UTC().Add(-60 * 24 * time.Hour).Truncate(time.Second)
	now := at.Add(time.Hour) // period 0 is due
	cards := []string{"tok_visa", "tok_visa", "tok_visa", "tok_declined"}
	tokens := map[string]string{}
	for i, id := range storetest.SeedDueSubscriptions(t, s.db, n, cards, at) {
		tokens[id] = cards[i%len(cards)]
	}
	args := append([]string{"--now", now.Format(time.RFC3339)}, s.flags...)
	results := make([]map[string]float64, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runBill(bin, nil, args...)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	var invoiced, charged, declined float64
	for _, r := range results {
		invoiced, charged, declined = invoiced+r["invoiced"], charged+r["charged"], declined+r["declined"]
	}
	if invoiced != n || charged != n*3/4 || declined != n/4 {
		t.Errorf("together: %v invoiced, %v charged, %v declined; want %d, %d, %d", invoiced, charged, declined, n, n*3/4, n/4)
	}
	if res := billJSON(t, bin, nil, args...); res["invoiced"] != 0 || res["retried"] != 0 {
		t.Errorf("a third run found work: %v", res)
	}
	sum := checkBilled(t, s.db, tokens, now, 1)
	t.Logf("processes invoiced %v and %v in %.1fs and %.1fs; %s", results[0]["invoiced"], results[1]["invoiced"],
		results[0]["seconds"], results[1]["seconds"], sum)
}

// BenchmarkBillCommand measures `shopd bill` end to end over n due
// subscriptions (SHOPD_BENCH_SUBSCRIPTIONS, default 10,000) paying with
// tok_visa, on each engine: renewals/s is n over the run's own seconds (as
// bill --json reports them: open, migrate check and process start left
// out), wall-renewals/s over the process's whole life. Seeding is not
// timed. Run with -benchtime=1x.
func BenchmarkBillCommand(b *testing.B) {
	bin, err := buildShopd()
	if err != nil {
		b.Fatal(err)
	}
	n := 10000
	if v := os.Getenv("SHOPD_BENCH_SUBSCRIPTIONS"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("SHOPD_BENCH_SUBSCRIPTIONS=%q: want a positive number", v)
		}
	}
	for _, d := range storetest.Engines(b) {
		b.Run(fmt.Sprintf("%s/n=%d", d, n), func(b *testing.B) {
			var seconds, wall float64
			for range b.N {
				b.StopTimer()
				src := storetest.URL(b, d)
				db, err := sqlstore.Open(context.Background(), src, sqlstore.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := db.Migrate(context.Background()); err != nil {
					b.Fatal(err)
				}
				// SHOPD_BENCH_PG_PARAMS (e.g. pool_max_conns=32) tunes shopd's pool.
				url := src
				if params := os.Getenv("SHOPD_BENCH_PG_PARAMS"); params != "" {
					url += map[bool]string{true: "&", false: "?"}[strings.Contains(url, "?")] + params
				}
				flags := []string{"--database-url", url}
				if d == sqlstore.SQLite {
					flags = []string{"--data-dir", filepath.Dir(src)}
				}
				at := time.Now().UTC().Add(-60 * 24 * time.Hour).Truncate(time.Second)
				storetest.SeedDueSubscriptions(b, db, n, []string{"tok_visa"}, at)
				db.Close()
				b.StartTimer()
				start := time.Now()
				res, err := runBill(bin, nil, append([]string{"--now", at.Add(time.Hour).Format(time.RFC3339)}, flags...)...)
				wall += time.Since(start).Seconds()
				b.StopTimer()
				if err != nil || res["invoiced"] != float64(n) || res["charged"] != float64(n) {
					b.Fatalf("bill: %v %v; want %d invoiced and charged", res, err, n)
				}
				seconds += res["seconds"]
			}
			b.ReportMetric(float64(n*b.N)/seconds, "renewals/s")
			b.ReportMetric(float64(n*b.N)/wall, "wall-renewals/s")
		})
	}
}
