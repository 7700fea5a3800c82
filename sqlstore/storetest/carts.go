package storetest

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/cart"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/sqlstore"
)

func testCarts(t *testing.T, db *sqlstore.DB) {
	t.Run("CartLines", func(t *testing.T) { testCartLines(t, db) })
	t.Run("PurgeExpired", func(t *testing.T) { testCartPurge(t, Open(t, db.Dialect())) })
	t.Run("VariantLookup", func(t *testing.T) { testVariantLookup(t, Open(t, db.Dialect())) })
	t.Run("Discounts", func(t *testing.T) { testDiscounts(t, Open(t, db.Dialect())) })
	t.Run("Redeem", func(t *testing.T) { testRedeem(t, Open(t, db.Dialect())) })
	t.Run("RedeemTotalLimitRace", func(t *testing.T) { testRedeemTotalRace(t, Open(t, db.Dialect())) })
	t.Run("RedeemPerCustomerRace", func(t *testing.T) { testRedeemCustomerRace(t, Open(t, db.Dialect())) })
}

var cartTime = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func cartWantErr(t *testing.T, what string, err error, code, typ string) {
	t.Helper()
	catalogWantErr(t, what, err, code, typ)
}

func testCartLines(t *testing.T, db *sqlstore.DB) {
	s := db.Carts()
	cus := customer.Customer{ID: shopd.NewID("cus"), Email: "cart@example.com", Market: "us", CreatedAt: cartTime, UpdatedAt: cartTime}
	sess := customer.Session{ID: shopd.NewID("ses"), CustomerID: cus.ID, CreatedAt: cartTime, ExpiresAt: cartTime.Add(time.Hour)}
	if err := db.Customers().CreateCustomer(ctx, cus, "x", sess, shopd.HashSecret(sess.ID)); err != nil {
		t.Fatal(err)
	}
	c := cart.Cart{ID: shopd.NewID("crt"), Market: "us", CustomerID: cus.ID, Region: "NY", Lines: []cart.Line{},
		CreatedAt: cartTime, UpdatedAt: cartTime, ExpiresAt: cartTime.Add(cart.CartTTL)}
	if err := s.CreateCart(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Cart(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("cart\n got %+v\nwant %+v", got, c)
	}
	guest := cart.Cart{ID: shopd.NewID("crt"), Market: "br", Lines: []cart.Line{}, CreatedAt: cartTime, UpdatedAt: cartTime, ExpiresAt: cartTime}
	if err := s.CreateCart(ctx, guest); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Cart(ctx, guest.ID); err != nil || got.CustomerID != "" || got.Market != "br" {
		t.Fatalf("guest cart %+v, %v", got, err)
	}

	line := func(v string, q int) cart.Line {
		return cart.Line{ID: shopd.NewID("cln"), VariantID: v, Quantity: q, CreatedAt: cartTime, UpdatedAt: cartTime}
	}
	a, b, d := line("var_A", 1), line("var_B", 2), line("var_D", 3)
	later := cartTime.Add(time.Hour)
	steps := []struct {
		name string
		fn   func(c *cart.Cart)
		want []cart.Line
	}{
		{"add three", func(c *cart.Cart) { c.Lines = append(c.Lines, a, b, d) }, []cart.Line{a, b, d}},
		{"change one", func(c *cart.Cart) { c.Lines[1].Quantity, c.Lines[1].UpdatedAt = 7, later }, []cart.Line{a, {ID: b.ID, VariantID: "var_B", Quantity: 7, CreatedAt: cartTime, UpdatedAt: later}, d}},
		{"remove the middle", func(c *cart.Cart) { c.Lines = append(c.Lines[:1], c.Lines[2:]...) }, []cart.Line{a, d}},
		{"remove and re-add a variant", func(c *cart.Cart) { b = line("var_A", 4); c.Lines = []cart.Line{d, b} }, nil},
	}
	for _, st := range steps {
		out, err := s.UpdateCart(ctx, c.ID, func(c *cart.Cart) error {
			st.fn(c)
			c.DiscountCode, c.Region, c.UpdatedAt = "SAVE10", "CA", later
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		want := st.want
		if want == nil {
			want = []cart.Line{d, b}
		}
		stored, err := s.Cart(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(stored.Lines, want) || !reflect.DeepEqual(out.Lines, want) {
			t.Fatalf("%s: lines\n got %+v\nwant %+v", st.name, stored.Lines, want)
		}
		if stored.DiscountCode != "SAVE10" || stored.Region != "CA" || !stored.UpdatedAt.Equal(later) || stored.CustomerID != cus.ID {
			t.Fatalf("%s: cart %+v", st.name, stored)
		}
	}

	// fn's error changes nothing; a duplicate variant is a conflict.
	_, err = s.UpdateCart(ctx, c.ID, func(c *cart.Cart) error { c.Lines = nil; return cart.ErrLineNotFound })
	cartWantErr(t, "fn error", err, shopd.ENOTFOUND, "cart-line-not-found")
	_, err = s.UpdateCart(ctx, c.ID, func(c *cart.Cart) error { c.Lines = append(c.Lines, line("var_D", 1)); return nil })
	cartWantErr(t, "duplicate variant", err, shopd.ECONFLICT, "cart-line-exists")
	if got, _ := s.Cart(ctx, c.ID); len(got.Lines) != 2 {
		t.Fatalf("lines after failed changes: %+v", got.Lines)
	}

	_, err = s.Cart(ctx, shopd.NewID("crt"))
	cartWantErr(t, "unknown cart", err, shopd.ENOTFOUND, "cart-not-found")
	_, err = s.UpdateCart(ctx, shopd.NewID("crt"), func(*cart.Cart) error { return nil })
	cartWantErr(t, "update unknown cart", err, shopd.ENOTFOUND, "cart-not-found")

	// Concurrent changes to one cart are serialized: none is lost.
	const n = 40
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.UpdateCart(ctx, c.ID, func(c *cart.Cart) error { c.Lines[0].Quantity++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got, _ := s.Cart(ctx, c.ID); got.Lines[0].Quantity != d.Quantity+n {
		t.Fatalf("quantity after %d concurrent increments = %d, want %d", n, got.Lines[0].Quantity, d.Quantity+n)
	}
}

func testCartPurge(t *testing.T, db *sqlstore.DB) {
	s := db.Carts()
	var live []string
	for i := range 7 {
		c := cart.Cart{ID: shopd.NewID("crt"), Market: "us", Lines: []cart.Line{{ID: shopd.NewID("cln"), VariantID: "var_X", Quantity: 1, CreatedAt: cartTime, UpdatedAt: cartTime}},
			CreatedAt: cartTime, UpdatedAt: cartTime, ExpiresAt: cartTime.Add(time.Duration(i) * time.Hour)}
		if err := s.CreateCart(ctx, c); err != nil {
			t.Fatal(err)
		}
		if i >= 4 {
			live = append(live, c.ID)
		}
	}
	now := cartTime.Add(3 * time.Hour) // carts expiring at 0h..3h are gone
	for _, want := range []int{3, 1, 0} {
		n, err := s.DeleteExpiredCarts(ctx, now, 3)
		if err != nil || n != want {
			t.Fatalf("DeleteExpiredCarts = %d, %v; want %d", n, err, want)
		}
	}
	for _, id := range live {
		if _, err := s.Cart(ctx, id); err != nil {
			t.Fatalf("live cart %s: %v", id, err)
		}
	}
}

func testVariantLookup(t *testing.T, db *sqlstore.DB) {
	ms := market.NewService(db.Markets(), shopd.NewTestClock(cartTime))
	if err := ms.EnsureDefaults(ctx); err != nil {
		t.Fatal(err)
	}
	cs := db.Catalog()
	p := catalogProduct("lookup", map[string][]string{"brand": {"B"}}, "LK-1", "LK-2", "LK-3")
	p.LaunchAt, p.PurchaseLimit, p.TaxCategory = cartTime.Add(time.Hour), 2, "apparel"
	cmp := catalogUSD(5000)
	p.Variants[0].Prices["us"] = catalog.Price{Amount: catalogUSD(1500), CompareAt: &cmp}
	p.Variants[0].Prices["br"] = catalog.Price{Amount: shopd.Money{Amount: 9990, Currency: "BRL"}}
	p.Variants[2].Prices = map[string]catalog.Price{"br": {Amount: shopd.Money{Amount: 100, Currency: "BRL"}}}
	if err := cs.CreateProduct(ctx, p); err != nil {
		t.Fatal(err)
	}
	other := catalogProduct("lookup-other", nil, "LK-9")
	if err := cs.CreateProduct(ctx, other); err != nil {
		t.Fatal(err)
	}
	svc := catalog.NewService(cs, ms, shopd.NewTestClock(cartTime))
	ids := []string{p.Variants[2].ID, "var_nope", shopd.NewID("var"), p.Variants[0].ID, other.Variants[0].ID, p.Variants[0].ID, p.Variants[1].ID}
	got, err := svc.VariantsInMarket(ctx, "us", ids)
	if err != nil {
		t.Fatal(err)
	}
	bare := p
	bare.Variants = []catalog.Variant{}
	bareOther := other
	bareOther.Variants = []catalog.Variant{}
	inUS := func(v catalog.Variant) catalog.Variant {
		pr, ok := v.Prices["us"]
		v.Prices = map[string]catalog.Price{}
		if ok {
			v.Prices["us"] = pr
		}
		return v
	}
	want := map[string]catalog.MarketVariant{
		p.Variants[0].ID:     {Product: bare, Variant: inUS(p.Variants[0])},
		p.Variants[1].ID:     {Product: bare, Variant: inUS(p.Variants[1])},
		p.Variants[2].ID:     {Product: bare, Variant: inUS(p.Variants[2])},
		other.Variants[0].ID: {Product: bareOther, Variant: inUS(other.Variants[0])},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d variants, want %d: %+v", len(got), len(want), got)
	}
	for _, mv := range got {
		if !reflect.DeepEqual(mv, want[mv.Variant.ID]) {
			t.Fatalf("variant %s\n got %+v\nwant %+v", mv.Variant.ID, mv, want[mv.Variant.ID])
		}
	}
	if pr, ok := want[p.Variants[0].ID].Price("us", "USD"); !ok || pr.Amount != catalogUSD(1500) {
		t.Fatalf("Price = %+v, %v", pr, ok)
	}
	if _, ok := want[p.Variants[2].ID].Price("us", "USD"); ok {
		t.Fatal("a variant with no us price has one")
	}
	if _, ok := want[p.Variants[0].ID].Price("us", "CAD"); ok {
		t.Fatal("a price in another currency counts")
	}
	if got, err := svc.VariantsInMarket(ctx, "us", nil); err != nil || len(got) != 0 {
		t.Fatalf("no IDs: %v, %v", got, err)
	}
	many := make([]string, catalog.MaxVariantLookup+1)
	for i := range many {
		many[i] = shopd.NewID("var")
	}
	_, err = svc.VariantsInMarket(ctx, "us", many)
	cartWantErr(t, "too many", err, shopd.EINVALID, "too-many-variants")
}

// newDiscount returns a valid active percent discount.
func newDiscount(code string) cart.Discount {
	return cart.Discount{ID: shopd.NewID("dsc"), Code: code, Kind: cart.KindPercent, Rate: 150_000, Active: true,
		CreatedAt: cartTime, UpdatedAt: cartTime}
}

func testDiscounts(t *testing.T, db *sqlstore.DB) {
	s := db.Carts()
	fixed := cart.Discount{ID: shopd.NewID("dsc"), Code: "TENOFF", Kind: cart.KindFixed, Amount: shopd.Money{Amount: 1000, Currency: "USD"},
		MinSubtotal: shopd.Money{Amount: 5000, Currency: "USD"}, StartsAt: cartTime, EndsAt: cartTime.Add(48 * time.Hour),
		UsageLimit: 50, PerCustomerLimit: 1, Active: true, CreatedAt: cartTime, UpdatedAt: cartTime}
	pct := newDiscount("SAVE15")
	pct.MinSubtotal = shopd.Money{Amount: 100_00, Currency: "BRL"}
	plain := newDiscount("PLAIN")
	plain.Active = false
	for _, d := range []cart.Discount{fixed, pct, plain} {
		if err := s.CreateDiscount(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []cart.Discount{fixed, pct, plain} {
		got, err := s.Discount(ctx, d.ID)
		if err != nil || !reflect.DeepEqual(got, d) {
			t.Fatalf("Discount(%s)\n got %+v, %v\nwant %+v", d.Code, got, err, d)
		}
		got, err = s.DiscountByCode(ctx, d.Code)
		if err != nil || !reflect.DeepEqual(got, d) {
			t.Fatalf("DiscountByCode(%s)\n got %+v, %v\nwant %+v", d.Code, got, err, d)
		}
	}
	dup := newDiscount("SAVE15")
	cartWantErr(t, "duplicate code", s.CreateDiscount(ctx, dup), shopd.ECONFLICT, "discount-code-taken")
	_, err := s.DiscountByCode(ctx, "NOPE")
	cartWantErr(t, "unknown code", err, shopd.ENOTFOUND, "discount-not-found")
	_, err = s.Discount(ctx, shopd.NewID("dsc"))
	cartWantErr(t, "unknown ID", err, shopd.ENOTFOUND, "discount-not-found")

	// Pages, newest first.
	page, err := s.Discounts(ctx, cart.DiscountFilter{Limit: 2})
	if err != nil || len(page.Discounts) != 2 || page.Discounts[0].ID != plain.ID || page.Discounts[1].ID != pct.ID || page.NextCursor != pct.ID {
		t.Fatalf("page 1 = %+v, %v", page, err)
	}
	page, err = s.Discounts(ctx, cart.DiscountFilter{Limit: 2, Cursor: page.NextCursor})
	if err != nil || len(page.Discounts) != 1 || page.Discounts[0].ID != fixed.ID || page.NextCursor != "" {
		t.Fatalf("page 2 = %+v, %v", page, err)
	}

	// Update writes every changeable field, and never times_used.
	later := cartTime.Add(time.Hour)
	got, err := s.UpdateDiscount(ctx, fixed.ID, func(d *cart.Discount) error {
		d.Amount = shopd.Money{Amount: 1500, Currency: "USD"}
		d.MinSubtotal = shopd.Money{}
		d.StartsAt, d.EndsAt = time.Time{}, time.Time{}
		d.UsageLimit, d.PerCustomerLimit, d.Active, d.UpdatedAt = 0, 0, false, later
		d.TimesUsed = 99
		return nil
	})
	want := fixed
	want.Amount, want.MinSubtotal, want.StartsAt, want.EndsAt = shopd.Money{Amount: 1500, Currency: "USD"}, shopd.Money{}, time.Time{}, time.Time{}
	want.UsageLimit, want.PerCustomerLimit, want.Active, want.UpdatedAt = 0, 0, false, later
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("UpdateDiscount\n got %+v, %v\nwant %+v", got, err, want)
	}
	_, err = s.UpdateDiscount(ctx, fixed.ID, func(d *cart.Discount) error { return cart.ErrDiscountExpired })
	cartWantErr(t, "fn error", err, shopd.EINVALID, "discount-expired")
	_, err = s.UpdateDiscount(ctx, shopd.NewID("dsc"), func(d *cart.Discount) error { return nil })
	cartWantErr(t, "update unknown", err, shopd.ENOTFOUND, "discount-not-found")
}

// redeem runs RedeemDiscount in its own transaction.
func redeem(db *sqlstore.DB, code, customer, ref string) (cart.Discount, error) {
	var d cart.Discount
	err := db.InTx(ctx, func(tx *sqlstore.Tx) (err error) {
		d, err = tx.RedeemDiscount(ctx, code, customer, ref)
		return err
	})
	return d, err
}

func release(db *sqlstore.DB, ref string) (bool, error) {
	var ok bool
	err := db.InTx(ctx, func(tx *sqlstore.Tx) (err error) {
		ok, err = tx.ReleaseDiscount(ctx, ref)
		return err
	})
	return ok, err
}

func timesUsed(t *testing.T, db *sqlstore.DB, code string) int {
	t.Helper()
	d, err := db.Carts().DiscountByCode(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	return d.TimesUsed
}

func testRedeem(t *testing.T, db0 *sqlstore.DB) {
	clock := shopd.NewTestClock(cartTime)
	db := OpenWith(t, db0.Dialect(), sqlstore.Options{Clock: clock})
	s := db.Carts()
	d := newDiscount("TWICE")
	d.UsageLimit, d.PerCustomerLimit = 3, 2
	d.StartsAt, d.EndsAt = cartTime, cartTime.Add(24*time.Hour)
	if err := s.CreateDiscount(ctx, d); err != nil {
		t.Fatal(err)
	}
	off := newDiscount("OFF")
	off.Active = false
	if err := s.CreateDiscount(ctx, off); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		code, customer, ref string
		code2, typ          string // expected error
		used                int    // times_used afterwards
	}{
		{"twice", "Ana@Example.com", "ord_1", "", "", 1},
		{"TWICE", "ana@example.com", "ord_1", shopd.ECONFLICT, "discount-already-redeemed", 1},
		{"TWICE", " ANA@example.com ", "ord_2", "", "", 2},
		{"TWICE", "ana@example.com", "ord_3", shopd.ECONFLICT, "discount-limit-reached", 2},
		{"TWICE", "", "ord_3", shopd.EINVALID, "validation", 2},
		{"TWICE", "cus_B", "", shopd.EINVALID, "validation", 2},
		{"TWICE", "cus_B", "ord_3", "", "", 3},
		{"TWICE", "cus_C", "ord_4", shopd.ECONFLICT, "discount-exhausted", 3},
		{"NOPE", "cus_C", "ord_4", shopd.ENOTFOUND, "discount-not-found", 3},
		{"bad code!", "cus_C", "ord_4", shopd.ENOTFOUND, "discount-not-found", 3},
		{"OFF", "cus_C", "ord_4", shopd.ENOTFOUND, "discount-not-found", 3},
	}
	for i, st := range steps {
		got, err := redeem(db, st.code, st.customer, st.ref)
		if st.code2 == "" {
			if err != nil || got.ID != d.ID || got.TimesUsed != st.used {
				t.Fatalf("step %d: %+v, %v", i, got, err)
			}
		} else {
			cartWantErr(t, fmt.Sprintf("step %d", i), err, st.code2, st.typ)
		}
		if n := timesUsed(t, db, "TWICE"); n != st.used {
			t.Fatalf("step %d: times_used = %d, want %d", i, n, st.used)
		}
	}
	if n, err := s.DiscountUses(ctx, d.ID, "ANA@example.com"); err != nil || n != 2 {
		t.Fatalf("DiscountUses = %d, %v", n, err)
	}
	// A failed check leaves the caller's transaction usable and unchanged.
	err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := tx.RedeemDiscount(ctx, "TWICE", "cus_D", "ord_5"); shopd.ErrorCode(err) != shopd.ECONFLICT {
			return fmt.Errorf("want exhausted, got %v", err)
		}
		_, err := tx.ExecContext(ctx, `SELECT 1`)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// Release gives a use back, once.
	for _, want := range []bool{true, false} {
		if ok, err := release(db, "ord_2"); err != nil || ok != want {
			t.Fatalf("release = %v, %v; want %v", ok, err, want)
		}
	}
	if n := timesUsed(t, db, "TWICE"); n != 2 {
		t.Fatalf("times_used after release = %d", n)
	}
	if _, err := redeem(db, "TWICE", "ana@example.com", "ord_6"); err != nil {
		t.Fatalf("redeem after release: %v", err)
	}
	// A redemption rolled back with its transaction leaves no trace.
	if _, err := release(db, "ord_6"); err != nil {
		t.Fatal(err)
	}
	err = db.InTx(ctx, func(tx *sqlstore.Tx) error {
		if _, err := tx.RedeemDiscount(ctx, "TWICE", "cus_E", "ord_7"); err != nil {
			return err
		}
		return fmt.Errorf("payment failed")
	})
	if err == nil || timesUsed(t, db, "TWICE") != 2 {
		t.Fatalf("rolled back redemption: %v, times_used %d", err, timesUsed(t, db, "TWICE"))
	}

	// The time window.
	clock.Set(cartTime.Add(-time.Second))
	_, err = redeem(db, "TWICE", "cus_F", "ord_8")
	cartWantErr(t, "before start", err, shopd.EINVALID, "discount-not-started")
	clock.Set(cartTime.Add(24 * time.Hour))
	_, err = redeem(db, "TWICE", "cus_F", "ord_8")
	cartWantErr(t, "at the end", err, shopd.EINVALID, "discount-expired")
}

// testRedeemTotalRace: 500 checkouts race for a code limited to 50 uses.
func testRedeemTotalRace(t *testing.T, db *sqlstore.DB) {
	d := newDiscount("FIFTY")
	d.UsageLimit = 50
	if err := db.Carts().CreateDiscount(ctx, d); err != nil {
		t.Fatal(err)
	}
	warmPool(t, db)
	const n = 500
	var ok, exhausted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := redeem(db, "FIFTY", fmt.Sprintf("buyer%d@example.com", i), fmt.Sprintf("ord_%d", i))
			switch shopd.ErrorCode(err) {
			case "":
				ok.Add(1)
			case shopd.ECONFLICT:
				exhausted.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if ok.Load() != 50 || exhausted.Load() != n-50 || timesUsed(t, db, "FIFTY") != 50 {
		t.Fatalf("%d redeemed, %d exhausted, times_used %d; want 50, %d, 50", ok.Load(), exhausted.Load(), timesUsed(t, db, "FIFTY"), n-50)
	}
	if rows := redemptionRows(t, db, d.ID); rows != 50 {
		t.Fatalf("%d redemption rows, want 50", rows)
	}
}

// warmPool opens every connection of a PostgreSQL pool before a race: a
// cold pool connects one by one, and the first transactions would finish
// before the others start, hiding the race the test is about.
func warmPool(t *testing.T, db *sqlstore.DB) {
	t.Helper()
	if db.Dialect() != sqlstore.Postgres {
		return
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
				_, err := tx.ExecContext(ctx, `SELECT pg_sleep(0.05)`)
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func redemptionRows(t *testing.T, db *sqlstore.DB, discountID string) int {
	t.Helper()
	var n int
	err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM discount_redemptions WHERE discount_id = $1`, discountID).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testRedeemCustomerRace: one customer fires 100 checkouts at once with a
// code limited to one use per customer; exactly one wins, and other
// customers can still use the code.
func testRedeemCustomerRace(t *testing.T, db *sqlstore.DB) {
	d := newDiscount("ONCE")
	d.PerCustomerLimit = 1
	if err := db.Carts().CreateDiscount(ctx, d); err != nil {
		t.Fatal(err)
	}
	warmPool(t, db)
	const n = 100
	var mine, limited atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{}) // all at once, to widen every race window
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := redeem(db, "ONCE", "cus_SAME", fmt.Sprintf("ord_same_%d", i))
			switch {
			case err == nil:
				mine.Add(1)
			case shopd.ErrorCode(err) == shopd.ECONFLICT && err.(*shopd.Error).Type == "discount-limit-reached":
				limited.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if mine.Load() != 1 || limited.Load() != n-1 || timesUsed(t, db, "ONCE") != 1 {
		t.Fatalf("same customer redeemed %d times (%d refused), times_used %d; want 1 (%d), 1", mine.Load(), limited.Load(), timesUsed(t, db, "ONCE"), n-1)
	}
	for i := range 3 {
		if _, err := redeem(db, "ONCE", fmt.Sprintf("cus_%d", i), fmt.Sprintf("ord_other_%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if timesUsed(t, db, "ONCE") != 4 || redemptionRows(t, db, d.ID) != 4 {
		t.Fatalf("times_used %d, rows %d; want 4", timesUsed(t, db, "ONCE"), redemptionRows(t, db, d.ID))
	}
}
