package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/box"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
)

// boxStockEach is each pool product's stock: plenty, so that every box
// can be filled and the checks are exact.
const boxStockEach = 10_000

// boxBusiness is a store with a box catalog: twelve products in six
// categories, one of each category stocked at east and one at west (both
// serve us; a box is packed at one warehouse).
type boxBusiness struct {
	billStore
	variants []string
	clock    *shopd.TestClock
	boxes    *box.Service
}

func newBoxBusiness(t testing.TB, d sqlstore.Dialect, at time.Time) *boxBusiness {
	t.Helper()
	ctx := context.Background()
	st := openBillStore(t, d)
	clock := shopd.NewTestClock(at)
	markets := market.NewService(st.db.Markets(), clock)
	if err := markets.EnsureDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	cat := catalog.NewService(st.db.Catalog(), markets, clock)
	inv := inventory.NewService(st.db.Inventory(), clock)
	inv.Markets = markets
	for i, code := range []string{"east", "west"} {
		if _, err := inv.CreateWarehouse(ctx, inventory.NewWarehouse{Code: code, Name: code, Markets: []string{"us"}, Priority: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	b := &boxBusiness{billStore: st, clock: clock,
		boxes: box.NewService(st.db.Boxes(), storetest.SubscriptionService(t, st.db, clock), cat, markets, clock)}
	for i := range 12 {
		sku := fmt.Sprintf("BOX-%02d", i)
		p, err := cat.CreateProduct(ctx, catalog.NewProduct{Title: "Item " + sku, Status: catalog.StatusActive,
			Attributes: map[string][]string{"category": {fmt.Sprintf("cat%d", i%6)}, "brand": {fmt.Sprintf("brand%d", i%4)}},
			Variants: []catalog.NewVariant{{SKU: sku, Prices: map[string]catalog.Price{
				"us": {Amount: shopd.Money{Amount: int64(800 + 100*i), Currency: "USD"}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		b.variants = append(b.variants, p.Variants[0].ID)
		if _, err := inv.Receive(ctx, inventory.Receipt{Warehouse: []string{"east", "west"}[i/6], SKU: sku, Quantity: boxStockEach}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// paidPlan seeds n subscriptions of a new box plan, bills them with
// `shopd bill` (every card succeeds) and sets the period's pool. It
// returns the plan's ID.
func (b *boxBusiness) paidPlan(t testing.TB, bin string, n int, period string) string {
	t.Helper()
	ids := storetest.SeedDueSubscriptions(t, b.db, n, []string{"tok_visa"}, b.clock.Now())
	if _, err := runBill(bin, nil, append([]string{"--now", b.clock.Now().Format(time.RFC3339)}, b.flags...)...); err != nil {
		t.Fatal(err)
	}
	sub, err := b.db.Subscriptions().Subscription(context.Background(), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	items := make([]box.PoolItem, len(b.variants))
	for i, v := range b.variants {
		items[i] = box.PoolItem{VariantID: v, Cost: 250}
	}
	if _, err := b.boxes.SetPool(context.Background(), sub.PlanID, period, items); err != nil {
		t.Fatal(err)
	}
	return sub.PlanID
}

// allocate runs `shopd allocate` and returns its stdout, or the error with
// stderr.
func allocate(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, append([]string{"allocate"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("allocate: %v\n%s", err, stderr.String())
	}
	return string(out), nil
}

// checkBoxes verifies a plan's period after allocation: every paid
// subscription has exactly one box, ordered, five distinct products of five
// categories, and its order is paid, adds up to its invoice and holds the
// box's items; no run is pending. It returns the number of boxes.
func (b *boxBusiness) checkBoxes(t testing.TB, plan, period string, paid int) int {
	t.Helper()
	ctx := context.Background()
	if r, err := b.boxes.Pending(ctx, plan, period, "us"); err == nil {
		t.Fatalf("run %s left %s", r.ID, r.Status)
	}
	var boxes []box.Box
	for before := ""; ; {
		page, err := b.db.Boxes().Boxes(ctx, box.BoxFilter{Before: before, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, bx := range page {
			if bx.PlanID == plan {
				boxes = append(boxes, bx)
			}
		}
		if len(page) < 100 {
			break
		}
		before = page[len(page)-1].ID
	}
	if len(boxes) != paid {
		t.Fatalf("plan %s: %d boxes for %d paid subscriptions", plan, len(boxes), paid)
	}
	seen := map[string]bool{}
	for _, bx := range boxes {
		if seen[bx.SubscriptionID] || bx.Status != box.StatusOrdered || bx.Period != period || len(bx.Items) != 5 {
			t.Fatalf("box %+v (a second box of the subscription: %v)", bx, seen[bx.SubscriptionID])
		}
		seen[bx.SubscriptionID] = true
		o, err := b.db.Orders().Order(ctx, bx.OrderID)
		if err != nil {
			t.Fatalf("box %s: order %s: %v", bx.ID, bx.OrderID, err)
		}
		inv, err := b.db.Subscriptions().Invoice(ctx, bx.InvoiceID)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != order.StatusPaid || o.Total != inv.Total || inv.OrderID != o.ID || len(o.Lines) != 5 {
			t.Fatalf("box %s: order %+v, invoice %+v", bx.ID, o, inv)
		}
		for i, l := range o.Lines {
			if l.SKU != bx.Items[i].SKU {
				t.Fatalf("box %s: order line %d is %s, box item %s", bx.ID, i, l.SKU, bx.Items[i].SKU)
			}
		}
	}
	return len(boxes)
}

// mainPool returns the store's connection pool that writes.
func mainPool(db *sqlstore.DB) *sql.DB {
	if pool := db.Pools()["main"]; pool != nil {
		return pool
	}
	return db.Pools()["write"]
}

// checkBoxStock verifies that every unit the boxes hold was sold once and
// no stock is left reserved.
func (b *boxBusiness) checkBoxStock(t testing.TB, boxes int) {
	t.Helper()
	pool := mainPool(b.db)
	var onHand, reserved, sold int64
	if err := pool.QueryRow(`SELECT COALESCE(SUM(on_hand), 0), COALESCE(SUM(reserved), 0) FROM stock`).Scan(&onHand, &reserved); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(`SELECT COALESCE(SUM(-delta), 0) FROM stock_movements WHERE kind = 'sale'`).Scan(&sold); err != nil {
		t.Fatal(err)
	}
	if want := int64(12*boxStockEach - 5*boxes); onHand != want || reserved != 0 || sold != int64(5*boxes) {
		t.Fatalf("stock: on hand %d (want %d), reserved %d, sold %d (want %d)", onHand, want, reserved, sold, 5*boxes)
	}
	// The ledger explains every row: each movement's on-hand figure is the
	// previous one plus its delta, and the last is the row's on hand.
	rows, err := pool.Query(`SELECT m.sku, m.warehouse_id, m.delta, m.on_hand_after, s.on_hand FROM stock_movements m
		JOIN stock s ON s.sku = m.sku AND s.warehouse_id = m.warehouse_id ORDER BY m.sku, m.warehouse_id, m.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type key struct{ sku, warehouse string }
	last := map[key]int64{}
	current := map[key]int64{}
	for rows.Next() {
		var k key
		var delta, after, now int64
		if err := rows.Scan(&k.sku, &k.warehouse, &delta, &after, &now); err != nil {
			t.Fatal(err)
		}
		if after != last[k]+delta {
			t.Fatalf("%v: movement to %d after %d with delta %d", k, after, last[k], delta)
		}
		last[k], current[k] = after, now
	}
	for k, after := range last {
		if after != current[k] {
			t.Fatalf("%v: the ledger ends at %d, the row holds %d", k, after, current[k])
		}
	}
}

func TestAllocateCommand(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) { allocateCommand(t, bin, d) })
	}
}

func allocateCommand(t *testing.T, bin string, d sqlstore.Dialect) {
	at := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	b := newBoxBusiness(t, d, at)
	plan := b.paidPlan(t, bin, 300, "2026-12")
	args := append([]string{"--plan", plan, "--period", "2026-12", "--market", "us", "--batch", "64"}, b.flags...)

	out, err := allocate(bin, nil, append(args, "--dry-run", "--json")...)
	if err != nil {
		t.Fatal(err)
	}
	var runs []struct {
		ID, Status string
		Report     struct {
			Subscribers, Boxes int
			Objective, Bound   float64
			Unfilled           []any
		}
	}
	if err := json.Unmarshal([]byte(out), &runs); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(runs) != 1 || runs[0].ID != "" || runs[0].Report.Subscribers != 300 || runs[0].Report.Boxes != 300 ||
		len(runs[0].Report.Unfilled) != 0 || runs[0].Report.Bound < runs[0].Report.Objective {
		t.Fatalf("dry run %s", out)
	}
	b.checkBoxStock(t, 0)

	// --review leaves the run proposed, holding stock; another run stops
	// at it until --resume approves it.
	if out, err = allocate(bin, nil, append(args, "--review")...); err != nil || !strings.Contains(out, "proposed") {
		t.Fatalf("review: %v\n%s", err, out)
	}
	if _, err := allocate(bin, nil, args...); err == nil || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("a run over a proposed one: %v", err)
	}
	if out, err = allocate(bin, nil, append(args, "--resume")...); err != nil || !strings.Contains(out, "nothing to allocate") {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	b.checkBoxStock(t, b.checkBoxes(t, plan, "2026-12", 300))
	if out, err = allocate(bin, nil, args...); err != nil || !strings.Contains(out, "nothing to allocate") {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	// Without --plan: every active box plan with a pool for the period.
	if out, err = allocate(bin, nil, append([]string{"--period", "2026-12"}, b.flags...)...); err != nil ||
		!strings.Contains(out, plan+" us 2026-12: nothing to allocate") {
		t.Fatalf("every plan: %v\n%s", err, out)
	}
	if _, err := allocate(bin, nil, "--plan", plan, "--period", "2026-13"); err == nil || !strings.Contains(err.Error(), "YYYY-MM") {
		t.Fatalf("bad period: %v", err)
	}
}

// TestAllocateCrashes kills `shopd allocate` with SIGKILL while it writes
// boxes, inside and between approval batches, and at random moments, eight
// times per engine, each time for a new plan with 100 paid subscribers;
// `shopd allocate --resume` then finishes the period. Every paid
// subscription ends with exactly one box and one paid order, and every
// unit in a box was sold exactly once, with nothing left reserved.
func TestAllocateCrashes(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	points := []string{"box.allocated", "box.ordering", "box.closing", "random"}
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) { allocateCrashes(t, bin, d, points) })
	}
}

func allocateCrashes(t *testing.T, bin string, d sqlstore.Dialect, points []string) {
	at := time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC)
	b := newBoxBusiness(t, d, at)
	total, killed := 0, 0
	for round := range 2 * len(points) {
		point := points[round%len(points)]
		plan := b.paidPlan(t, bin, 100, "2026-12")
		args := append([]string{"--plan", plan, "--period", "2026-12", "--market", "us", "--batch", "16"}, b.flags...)
		cmd := exec.Command(bin, append([]string{"allocate"}, args...)...)
		cmd.Env = append(os.Environ(), "SHOPD_CRASH_AT="+point)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if point == "random" {
			time.AfterFunc(time.Duration(rand.IntN(400))*time.Millisecond, func() { cmd.Process.Kill() })
		}
		if err := cmd.Wait(); err != nil {
			killed++
		} else if point != "random" {
			t.Fatalf("round %d: allocate passed crash point %s", round, point)
		}
		if out, err := allocate(bin, nil, append(args, "--resume")...); err != nil {
			t.Fatalf("round %d (%s): %v\n%s", round, point, err, out)
		}
		total += b.checkBoxes(t, plan, "2026-12", 100)
	}
	b.checkBoxStock(t, total)
	t.Logf("%d rounds, %d allocate processes killed, %d boxes", 2*len(points), killed, total)
}

// TestAllocateConcurrentProcesses runs four `shopd allocate` processes at
// once on one period: the run's unique pending key lets one write at a
// time (the others stop with box-run-pending or find nothing left), and
// every paid subscription ends with exactly one box and one order.
func TestAllocateConcurrentProcesses(t *testing.T) {
	bin, err := buildShopd()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range storetest.Engines(t) {
		t.Run(d.String(), func(t *testing.T) {
			b := newBoxBusiness(t, d, time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC))
			plan := b.paidPlan(t, bin, 400, "2026-12")
			args := append([]string{"--plan", plan, "--period", "2026-12", "--market", "us", "--batch", "32"}, b.flags...)
			const procs = 4
			errs := make(chan error, procs)
			for range procs {
				go func() { _, err := allocate(bin, nil, args...); errs <- err }()
			}
			ok := 0
			for range procs {
				err := <-errs
				switch {
				case err == nil:
					ok++
				case !strings.Contains(err.Error(), "approve or discard it"): // another process's run is pending
					t.Fatal(err)
				}
			}
			if ok == 0 {
				t.Fatal("no allocate process succeeded")
			}
			// Whoever stopped at a pending run leaves nothing behind: one more
			// run finds nothing to allocate.
			if out, err := allocate(bin, nil, args...); err != nil || !strings.Contains(out, "nothing to allocate") {
				t.Fatalf("after the race: %v\n%s", err, out)
			}
			b.checkBoxStock(t, b.checkBoxes(t, plan, "2026-12", 400))
			t.Logf("%d of %d processes succeeded", ok, procs)
		})
	}
}

// BenchmarkAllocateCommand times `shopd allocate` end to end over
// SHOPD_BENCH_SUBSCRIPTIONS paid subscribers (default 2,000; seeding and
// billing are not timed): the run with --review (read the period, allocate,
// write every box holding its stock), then --resume (approve: every box
// becomes a paid order and sells its stock).
func BenchmarkAllocateCommand(b *testing.B) {
	bin, err := buildShopd()
	if err != nil {
		b.Fatal(err)
	}
	n := 2000
	if v := os.Getenv("SHOPD_BENCH_SUBSCRIPTIONS"); v != "" {
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	for _, d := range storetest.Engines(b) {
		b.Run(d.String(), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				bb := newBoxBusiness(b, d, time.Date(2026, 12, 3, 15, 0, 0, 0, time.UTC))
				plan := bb.paidPlan(b, bin, n, "2026-12")
				args := append([]string{"--plan", plan, "--period", "2026-12", "--market", "us"}, bb.flags...)
				b.StartTimer()
				start := time.Now()
				if out, err := allocate(bin, nil, append(args, "--review")...); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
				written := time.Since(start)
				if out, err := allocate(bin, nil, append(args, "--resume")...); err != nil {
					b.Fatalf("%v\n%s", err, out)
				}
				approved := time.Since(start) - written
				b.StopTimer()
				bb.checkBoxStock(b, bb.checkBoxes(b, plan, "2026-12", n))
				b.ReportMetric(written.Seconds(), "allocate+write-s")
				b.ReportMetric(approved.Seconds(), "approve-s")
				b.ReportMetric(float64(n)/(written+approved).Seconds(), "boxes/s")
			}
		})
	}
}
