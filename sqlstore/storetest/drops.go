package storetest

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/sqlstore"
)

// testDrops: drop.started once per product and launch time, at the launch
// and not a microsecond before, for active products launched within the
// window; drop.sold_out once, when no variant has a unit left to reserve
// in any warehouse; neither ever twice, with many workers in several
// processes announcing at once.
func testDrops(t *testing.T, db *sqlstore.DB) {
	d := db.Dialect()
	t.Run("Start", func(t *testing.T) { testDropsStart(t, newDropFix(t, db)) })
	t.Run("SoldOut", func(t *testing.T) { testDropsSoldOut(t, newDropFix(t, Open(t, d))) })
	t.Run("Concurrent", func(t *testing.T) { testDropsConcurrent(t, d) })
}

// dropLaunch is the launch time of the tests' drops, an hour after the
// inventory fixture's clock starts.
var dropLaunch = invStart.Add(time.Hour)

// dropFix is the inventory fixture with a warehouse serving us, and the
// drops service on its clock.
type dropFix struct {
	*invFix
	drops *catalog.Drops
}

func newDropFix(t *testing.T, db *sqlstore.DB) *dropFix {
	t.Helper()
	f := &dropFix{invFix: newInvFix(t, db)}
	f.drops = catalog.NewDrops(db.Drops(), f.clock)
	f.warehouse(t, "dr-1", 1, "us")
	return f
}

// product creates a product in the status, launching at launch (none if
// zero), with a variant per SKU and stock of each SKU in dr-1 (none if 0).
func (f *dropFix) product(t *testing.T, handle string, status catalog.Status, launch time.Time, stock int64, skus ...string) catalog.Product {
	t.Helper()
	p := catalogProduct(handle, nil, skus...)
	p.Status, p.LaunchAt = status, launch
	if err := f.db.Catalog().CreateProduct(ctx, p); err != nil {
		t.Fatal(err)
	}
	for _, sku := range skus {
		if stock > 0 {
			f.receive(t, "dr-1", sku, stock)
		}
	}
	return p
}

// announce runs Announce and fails unless it announced the products'
// starts and sell-outs, in product ID order.
func (f *dropFix) announce(t *testing.T, started, soldOut []catalog.Product) {
	t.Helper()
	a, err := f.drops.Announce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dropWant(t, "started", a.Started, started, f.clock.Now())
	dropWant(t, "sold out", a.SoldOut, soldOut, f.clock.Now())
}

// dropWant fails unless got holds the products' drops, sorted by ID, at at.
func dropWant(t *testing.T, what string, got []catalog.Drop, want []catalog.Product, at time.Time) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d drops %+v, want %d", what, len(got), got, len(want))
	}
	ws := slices.Clone(want)
	slices.SortFunc(ws, func(a, b catalog.Product) int { return strings.Compare(a.ID, b.ID) })
	for i, p := range ws {
		w := catalog.Drop{ProductID: p.ID, Handle: p.Handle, LaunchAt: p.LaunchAt, At: at}
		if got[i] != w {
			t.Fatalf("%s %d: %+v, want %+v", what, i, got[i], w)
		}
	}
}

// wantEvents fails unless the outbox holds n events of the type, and
// returns their data.
func (f *dropFix) wantEvents(t *testing.T, typ string, n int) []catalog.Drop {
	t.Helper()
	es := f.events(t, typ)
	if len(es) != n {
		t.Fatalf("%d %s events, want %d", len(es), typ, n)
	}
	return dropData(t, es)
}

func dropData(t *testing.T, es []event.Event) []catalog.Drop {
	t.Helper()
	out := make([]catalog.Drop, len(es))
	for i, e := range es {
		if err := json.Unmarshal(e.Data, &out[i]); err != nil {
			t.Fatal(err)
		}
		if e.Subject != out[i].ProductID || !e.CreatedAt.Equal(out[i].At) {
			t.Fatalf("event %s: subject %s, created %v; data %s", e.Type, e.Subject, e.CreatedAt, e.Data)
		}
	}
	return out
}

func testDropsStart(t *testing.T, f *dropFix) {
	a := f.product(t, "drop-a", catalog.StatusActive, dropLaunch, 10, "DA-1", "DA-2")
	empty := f.product(t, "drop-empty", catalog.StatusActive, dropLaunch, 0, "DE-1") // starts sold out
	f.product(t, "no-launch", catalog.StatusActive, time.Time{}, 10, "NL-1")
	f.product(t, "draft", catalog.StatusDraft, invStart.Add(30*time.Minute), 10, "DR-1")
	f.product(t, "old", catalog.StatusActive, invStart.Add(-catalog.DefaultDropWindow-time.Hour), 0, "OL-1") // outside the window
	f.product(t, "later", catalog.StatusActive, dropLaunch.Add(time.Hour), 10, "LA-1")

	// Before the launch, not even a microsecond before: nothing.
	for _, at := range []time.Time{invStart, dropLaunch.Add(-time.Second), dropLaunch.Add(-time.Microsecond)} {
		f.clock.Set(at)
		f.announce(t, nil, nil)
	}
	f.wantEvents(t, "drop.", 0)

	// At the launch: both drops start, the empty one sells out with it.
	f.clock.Set(dropLaunch)
	f.announce(t, []catalog.Product{a, empty}, []catalog.Product{empty})
	es := f.events(t, "drop.")
	if len(es) != 3 || es[2].Type != catalog.EventDropSoldOut || es[2].Subject != empty.ID {
		t.Fatalf("events %+v: want two starts, then the empty drop's sell-out", es)
	}
	got := f.wantEvents(t, catalog.EventDropStarted, 2)
	dropWant(t, "drop.started events", got, []catalog.Product{a, empty}, dropLaunch)
	dropWant(t, "drop.sold_out events", f.wantEvents(t, catalog.EventDropSoldOut, 1), []catalog.Product{empty}, dropLaunch)

	// Again, a second later, and after a restart (a new service): nothing new.
	f.announce(t, nil, nil)
	f.clock.Advance(time.Second)
	f.announce(t, nil, nil)
	f.drops = catalog.NewDrops(f.db.Drops(), f.clock)
	f.announce(t, nil, nil)
	f.wantEvents(t, catalog.EventDropStarted, 2)
	f.wantEvents(t, catalog.EventDropSoldOut, 1)

	// Moving a's launch makes a new drop that starts at the new time; the
	// later product starts at its own.
	moved := dropLaunch.Add(90 * time.Minute)
	if _, err := f.db.Catalog().UpdateProduct(ctx, a.ID, func(p *catalog.Product) error { p.LaunchAt = moved; return nil }); err != nil {
		t.Fatal(err)
	}
	later, err := f.db.Catalog().ProductByHandle(ctx, "later")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Set(later.LaunchAt)
	f.announce(t, []catalog.Product{later}, nil)
	f.clock.Set(moved)
	a.LaunchAt = moved
	f.announce(t, []catalog.Product{a}, nil)
	f.announce(t, nil, nil)
	f.wantEvents(t, catalog.EventDropStarted, 4)
	f.wantEvents(t, catalog.EventDropSoldOut, 1)

	// A product activated after its launch starts when it is seen active.
	draft, err := f.db.Catalog().ProductByHandle(ctx, "draft")
	if err != nil {
		t.Fatal(err)
	}
	f.announce(t, nil, nil)
	if _, err := f.db.Catalog().UpdateProduct(ctx, draft.ID, func(p *catalog.Product) error { p.Status = catalog.StatusActive; return nil }); err != nil {
		t.Fatal(err)
	}
	f.announce(t, []catalog.Product{draft}, nil)
	f.wantEvents(t, catalog.EventDropStarted, 5)

	// Past the window, nothing is announced any more, even a sell-out.
	f.clock.Set(moved.Add(catalog.DefaultDropWindow))
	if _, err := f.svc.Adjust(ctx, inventory.Adjustment{Warehouse: "dr-1", SKU: "LA-1", Delta: -10, Reason: "count"}); err != nil {
		t.Fatal(err)
	}
	f.announce(t, nil, nil)
	f.wantEvents(t, "drop.", 6)
}

func testDropsSoldOut(t *testing.T, f *dropFix) {
	f.warehouse(t, "dr-2", 2, "us")
	p := f.product(t, "drop-so", catalog.StatusActive, dropLaunch, 0, "SO-1", "SO-2")
	keep := f.product(t, "drop-keep", catalog.StatusActive, dropLaunch, 5, "KP-1")
	f.receive(t, "dr-1", "SO-1", 3)
	f.receive(t, "dr-2", "SO-1", 2)
	f.receive(t, "dr-1", "SO-2", 4)

	// Sold out before the launch is not a drop's sell-out.
	if _, err := f.svc.Reserve(ctx, "early", "us", []inventory.Line{{SKU: "KP-1", Quantity: 5}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Release(ctx, "early"); err != nil {
		t.Fatal(err)
	}
	f.clock.Set(dropLaunch)
	f.announce(t, []catalog.Product{p, keep}, nil)

	// SO-1 sells out in both warehouses, SO-2 still has units: not sold out.
	steps := []struct {
		ref    string
		sku    string
		q      int64
		commit bool
	}{
		{"co-1", "SO-1", 4, true},
		{"co-2", "SO-1", 1, false},
		{"co-3", "SO-2", 3, false},
		{"co-4", "KP-1", 4, true},
	}
	for _, s := range steps {
		if _, err := f.svc.Reserve(ctx, s.ref, "us", []inventory.Line{{SKU: s.sku, Quantity: s.q}}); err != nil {
			t.Fatalf("%s: %v", s.ref, err)
		}
		if s.commit {
			if _, err := f.svc.Commit(ctx, s.ref); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Advance(time.Second)
		f.announce(t, nil, nil)
	}
	f.wantLevel(t, "SO-1", "dr-1", 0, 0)
	f.wantLevel(t, "SO-1", "dr-2", 1, 1)

	// The last unit of SO-2 is reserved: sold out, once.
	f.clock.Advance(time.Second)
	if _, err := f.svc.Reserve(ctx, "co-5", "us", []inventory.Line{{SKU: "SO-2", Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	f.announce(t, nil, []catalog.Product{p})
	f.announce(t, nil, nil)
	got := f.wantEvents(t, catalog.EventDropSoldOut, 1)
	dropWant(t, "drop.sold_out events", got, []catalog.Product{p}, f.clock.Now())

	// Units released later do not make it sell out again.
	if _, err := f.svc.Release(ctx, "co-5"); err != nil {
		t.Fatal(err)
	}
	f.announce(t, nil, nil)
	if _, err := f.svc.Reserve(ctx, "co-6", "us", []inventory.Line{{SKU: "SO-2", Quantity: 1}}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	f.announce(t, nil, nil)
	f.wantEvents(t, catalog.EventDropSoldOut, 1)
	f.wantEvents(t, catalog.EventDropStarted, 2)
	if es := f.events(t, "drop."); len(es) != 3 || es[2].Subject != p.ID {
		t.Fatalf("events %+v: want the starts and p's sell-out", es)
	}
}

// testDropsConcurrent runs Announce from 4 processes (each its own store on
// one database) with 4 workers each, all at once: every drop starts once,
// and every drop that sells out is announced once.
func testDropsConcurrent(t *testing.T, d sqlstore.Dialect) {
	const procs, workers, drops, empty = 4, 4, 12, 3
	url := URL(t, d)
	dbs := make([]*sqlstore.DB, procs)
	for i := range dbs {
		db, err := sqlstore.Open(ctx, url, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if i == 0 && d == sqlstore.SQLite {
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		dbs[i] = db
	}
	f := newDropFix(t, dbs[0])
	var ps []catalog.Product
	for i := range drops {
		stock := int64(2)
		if i < empty {
			stock = 0
		}
		sku := "CC-" + strings.Repeat("X", i+1)
		ps = append(ps, f.product(t, "drop-cc-"+strings.ToLower(sku), catalog.StatusActive, dropLaunch, stock, sku))
	}
	race := func() (started, soldOut []catalog.Drop) {
		t.Helper()
		var mu sync.Mutex
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for _, db := range dbs {
			svc := catalog.NewDrops(db.Drops(), f.clock)
			for range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-gate
					a, err := svc.Announce(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					started, soldOut = append(started, a.Started...), append(soldOut, a.SoldOut...)
					mu.Unlock()
				}()
			}
		}
		close(gate)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		return started, soldOut
	}

	f.clock.Set(dropLaunch.Add(-time.Microsecond))
	if s, so := race(); len(s)+len(so) != 0 {
		t.Fatalf("before the launch: %d started, %d sold out", len(s), len(so))
	}
	f.clock.Set(dropLaunch)
	started, soldOut := race()
	if len(started) != drops || len(soldOut) != empty {
		t.Fatalf("at the launch: %d started, %d sold out; want %d and %d", len(started), len(soldOut), drops, empty)
	}
	f.wantEvents(t, catalog.EventDropStarted, drops)
	f.wantEvents(t, catalog.EventDropSoldOut, empty)
	sortDrops(started)
	sortDrops(soldOut)
	dropWant(t, "started", started, ps, dropLaunch)
	dropWant(t, "sold out", soldOut, ps[:empty], dropLaunch)

	// Every other drop with stock sells out; all workers race again.
	var sold []catalog.Product
	for i := empty; i < drops; i += 2 {
		if _, err := f.svc.Reserve(ctx, "cc-"+ps[i].ID, "us", []inventory.Line{{SKU: ps[i].Variants[0].SKU, Quantity: 2}}); err != nil {
			t.Fatal(err)
		}
		sold = append(sold, ps[i])
	}
	f.clock.Advance(time.Second)
	started, soldOut = race()
	if len(started) != 0 || len(soldOut) != len(sold) {
		t.Fatalf("after the sales: %d started, %d sold out; want 0 and %d", len(started), len(soldOut), len(sold))
	}
	sortDrops(soldOut)
	dropWant(t, "sold out", soldOut, sold, f.clock.Now())
	if s, so := race(); len(s)+len(so) != 0 {
		t.Fatalf("once more: %d started, %d sold out", len(s), len(so))
	}
	f.wantEvents(t, catalog.EventDropStarted, drops)
	f.wantEvents(t, catalog.EventDropSoldOut, empty+len(sold))
}

func sortDrops(ds []catalog.Drop) {
	slices.SortFunc(ds, func(a, b catalog.Drop) int { return strings.Compare(a.ProductID, b.ProductID) })
}
