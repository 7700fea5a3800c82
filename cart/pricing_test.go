package cart

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/market"
)

func TestAllocate(t *testing.T) {
	tests := []struct {
		name    string
		total   int64
		weights []int64
		want    []int64
		wantErr bool
	}{
		{"nothing to split", 0, []int64{100, 200}, []int64{0, 0}, false},
		{"no lines", 0, nil, []int64{}, false},
		{"exact shares", 300, []int64{100, 200}, []int64{100, 200}, false},
		{"one unit, equal weights: first line", 1, []int64{100, 100, 100}, []int64{1, 0, 0}, false},
		{"thirds", 100, []int64{1000, 1000, 1000}, []int64{34, 33, 33}, false},
		// 10 × 1/6, 2/6, 3/6 = 1.67, 3.33, 5 → 1, 3, 5 and the unit left goes
		// to the largest remainder (.67).
		{"largest remainder wins", 10, []int64{10, 20, 30}, []int64{2, 3, 5}, false},
		// 3 over 2, 2, 4: 0.75, 0.75, 1.5 → 0, 0, 1; the two units left go
		// to the .75s before the .5.
		{"remainders in order", 3, []int64{2, 2, 4}, []int64{1, 1, 1}, false},
		// 1 over 3, 3: .5 and .5 → the earlier line.
		{"tie on remainder: earlier line", 1, []int64{3, 3}, []int64{1, 0}, false},
		// 2 over 1, 3: .5, 1.5 → 0, 1; remainders .5 and .5 → the larger weight.
		{"tie on remainder: larger weight", 2, []int64{1, 3}, []int64{0, 2}, false},
		{"all of it", 1234, []int64{1000, 234}, []int64{1000, 234}, false},
		{"zero-weight line gets nothing", 5, []int64{0, 10, 0}, []int64{0, 5, 0}, false},
		{"huge amounts stay exact", 999_999_999_999_999, []int64{1_000_000_000_000_000, 1}, []int64{999_999_999_999_998, 1}, false},
		{"more than the lines", 11, []int64{5, 5}, nil, true},
		{"negative total", -1, []int64{5}, nil, true},
		{"negative weight", 1, []int64{5, -1}, nil, true},
		{"weights overflow", 1, []int64{math.MaxInt64, 1}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Allocate(tt.total, tt.weights)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Allocate = %v, want an error", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Allocate(%d, %v) = %v, %v; want %v", tt.total, tt.weights, got, err, tt.want)
			}
		})
	}
}

// TestAllocateInvariants checks the sum and the bounds on many splits.
func TestAllocateInvariants(t *testing.T) {
	weights := []int64{1999, 1, 4550, 333, 333, 333, 7, 100_000}
	var sum int64
	for _, w := range weights {
		sum += w
	}
	for total := int64(0); total <= sum; total += 97 {
		got, err := Allocate(total, weights)
		if err != nil {
			t.Fatal(err)
		}
		var s int64
		for i, g := range got {
			if g < 0 || g > weights[i] {
				t.Fatalf("total %d: share %d of weight %d", total, g, weights[i])
			}
			// Each share is within one unit of the exact proportion.
			exact := float64(total) * float64(weights[i]) / float64(sum)
			if math.Abs(float64(g)-exact) >= 1 {
				t.Fatalf("total %d: share %d, exact %.3f", total, g, exact)
			}
			s += g
		}
		if s != total {
			t.Fatalf("total %d: shares add up to %d", total, s)
		}
	}
}

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func usd(n int64) shopd.Money { return shopd.Money{Amount: n, Currency: "USD"} }

func TestDiscountCheck(t *testing.T) {
	base := Discount{Code: "X", Kind: KindPercent, Rate: 100_000, Active: true}
	with := func(f func(d *Discount)) Discount { d := base; f(&d); return d }
	tests := []struct {
		name     string
		d        Discount
		subtotal shopd.Money
		uses     int
		want     error
	}{
		{"plain", base, usd(100), -1, nil},
		{"switched off", with(func(d *Discount) { d.Active = false }), usd(100), -1, ErrDiscountNotFound},
		{"before start", with(func(d *Discount) { d.StartsAt = now.Add(time.Second) }), usd(100), -1, ErrDiscountNotStarted},
		{"at start", with(func(d *Discount) { d.StartsAt = now }), usd(100), -1, nil},
		{"at end", with(func(d *Discount) { d.EndsAt = now }), usd(100), -1, ErrDiscountExpired},
		{"before end", with(func(d *Discount) { d.EndsAt = now.Add(time.Microsecond) }), usd(100), -1, nil},
		{"fixed in another currency", Discount{Kind: KindFixed, Amount: shopd.Money{Amount: 5, Currency: "CAD"}, Active: true}, usd(100), -1, ErrDiscountNotApplicable},
		{"minimum in another currency", with(func(d *Discount) { d.MinSubtotal = shopd.Money{Amount: 5, Currency: "BRL"} }), usd(100), -1, ErrDiscountNotApplicable},
		{"used up", with(func(d *Discount) { d.UsageLimit, d.TimesUsed = 50, 50 }), usd(100), -1, ErrDiscountExhausted},
		{"one use left", with(func(d *Discount) { d.UsageLimit, d.TimesUsed = 50, 49 }), usd(100), -1, nil},
		{"customer at limit", with(func(d *Discount) { d.PerCustomerLimit = 1 }), usd(100), 1, ErrDiscountLimitReached},
		{"customer below limit", with(func(d *Discount) { d.PerCustomerLimit = 2 }), usd(100), 1, nil},
		{"guest: unknown uses", with(func(d *Discount) { d.PerCustomerLimit = 1 }), usd(100), -1, nil},
		{"below minimum", with(func(d *Discount) { d.MinSubtotal = usd(101) }), usd(100), -1, ErrMinimumNotMet},
		{"at minimum", with(func(d *Discount) { d.MinSubtotal = usd(100) }), usd(100), -1, nil},
	}
	for _, tt := range tests {
		if got := tt.d.Check(now, tt.subtotal, tt.uses); !errors.Is(got, tt.want) {
			t.Errorf("%s: Check = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAmountOff(t *testing.T) {
	pct := func(r shopd.Rate) Discount { return Discount{Kind: KindPercent, Rate: r} }
	tests := []struct {
		name     string
		d        Discount
		subtotal int64
		mode     shopd.Rounding
		want     int64
	}{
		{"15% of 19.99", pct(150_000), 1999, shopd.RoundHalfUp, 300},        // 299.85
		{"12.5% of 1.00 half up", pct(125_000), 100, shopd.RoundHalfUp, 13}, // 12.5
		{"12.5% of 1.00 half even", pct(125_000), 100, shopd.RoundHalfEven, 12},
		{"100%", pct(shopd.MaxRate), 4321, shopd.RoundHalfUp, 4321},
		{"empty cart", pct(150_000), 0, shopd.RoundHalfUp, 0},
		{"fixed below subtotal", Discount{Kind: KindFixed, Amount: usd(500)}, 1999, shopd.RoundHalfUp, 500},
		{"fixed capped at subtotal", Discount{Kind: KindFixed, Amount: usd(5000)}, 1999, shopd.RoundHalfUp, 1999},
	}
	for _, tt := range tests {
		if got := tt.d.AmountOff(usd(tt.subtotal), tt.mode); got != usd(tt.want) {
			t.Errorf("%s: AmountOff = %v, want %d", tt.name, got, tt.want)
		}
	}
}

// quoteFixture is a Quebec cart with three lines: two purchasable, one not
// launched yet.
func quoteFixture(t *testing.T) quoteInput {
	t.Helper()
	ms, taxes, ships := market.Defaults(now)
	var ca market.Market
	for _, m := range ms {
		if m.Code == "ca" {
			ca = m
		}
	}
	var caShips []market.ShippingRate
	for _, s := range ships {
		if s.Market == "ca" {
			caShips = append(caShips, s)
		}
	}
	express := market.ShippingRate{ID: "shp_EXPRESS", Market: "ca", Name: "Express", Price: shopd.Money{Amount: 1999, Currency: "CAD"}, MinDays: 1, MaxDays: 2}
	caShips = append(caShips, express)
	cad := func(n int64) catalog.Price { return catalog.Price{Amount: shopd.Money{Amount: n, Currency: "CAD"}} }
	mv := func(pid, vid string, price int64, launch time.Time) catalog.MarketVariant {
		return catalog.MarketVariant{
			Product: catalog.Product{ID: pid, Title: "P " + pid, Status: catalog.StatusActive, LaunchAt: launch, TaxCategory: "standard", PurchaseLimit: 5},
			Variant: catalog.Variant{ID: vid, ProductID: pid, SKU: "SKU-" + vid, Title: "V " + vid, Prices: map[string]catalog.Price{"ca": cad(price)}},
		}
	}
	line := func(id, v string, q int) Line { return Line{ID: id, VariantID: v, Quantity: q} }
	return quoteInput{
		cart: Cart{ID: "crt_1", Market: "ca", Region: "QC", DiscountCode: "SAVE15",
			Lines: []Line{line("cln_1", "var_A", 3), line("cln_2", "var_B", 1), line("cln_3", "var_C", 1)}},
		market: ca, rates: taxes, shipping: caShips,
		variants: map[string]catalog.MarketVariant{
			"var_A": mv("prd_1", "var_A", 1999, time.Time{}),
			"var_B": mv("prd_2", "var_B", 1001, now),
			"var_C": mv("prd_3", "var_C", 5000, now.Add(time.Hour)),
		},
		discount:     &Discount{Code: "SAVE15", Kind: KindPercent, Rate: 150_000, Active: true},
		customerUses: -1, now: now,
	}
}

func TestBuildQuote(t *testing.T) {
	q, err := buildQuote(quoteFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	// Subtotal 5997 + 1001 = 6998; 15% = 1049.7 → 1050, split 5997:1001 →
	// 899.96 and 150.04 → 900 and 150.
	b := q.Breakdown
	if b.Subtotal.Amount != 6998 || b.Discount.Amount != 1050 || q.Discount == nil || !q.Discount.Applied || q.Discount.Amount.Amount != 1050 {
		t.Fatalf("subtotal %v discount %v (%+v)", b.Subtotal, b.Discount, q.Discount)
	}
	type lineWant struct {
		avail         bool
		reason        string
		discount, tax int64
	}
	// Net 5097: GST 5% = 254.85 → 255, QST 9.975% = 508.43 → 508.
	// Net 851: GST 42.55 → 43, QST 84.89 → 85.
	want := []lineWant{{true, "", 900, 763}, {true, "", 150, 128}, {false, ReasonNotLaunched, 0, 0}}
	for i, w := range want {
		l := q.Lines[i]
		if l.Available != w.avail || l.Reason != w.reason || l.Price.Discount.Amount != w.discount || l.Price.Tax.Amount != w.tax {
			t.Errorf("line %d: available %v %q discount %v tax %v; want %+v", i, l.Available, l.Reason, l.Price.Discount, l.Price.Tax, w)
		}
	}
	if q.Lines[2].UnitPrice.Amount != 5000 || q.Lines[2].SKU != "SKU-var_C" || q.Lines[0].PurchaseLimit != 5 {
		t.Errorf("line details: %+v", q.Lines)
	}
	// 5948 of merchandise is below the 75.00 threshold: Standard 9.99 is the
	// cheapest, untaxed.
	if q.Shipping == nil || q.Shipping.Name != "Standard" || b.Shipping.Amount != 999 {
		t.Fatalf("shipping %+v %v", q.Shipping, b.Shipping)
	}
	if b.Tax.Amount != 891 || b.Total.Amount != 6998-1050+999+891 {
		t.Fatalf("tax %v total %v", b.Tax, b.Total)
	}
	if q.ItemCount() != 4 {
		t.Fatalf("ItemCount = %d", q.ItemCount())
	}
	var e *shopd.Error
	if err := q.CheckoutError(); !errors.As(err, &e) || e.Type != "not-purchasable" || e.Fields[0].Field != "lines[2]" {
		t.Fatalf("CheckoutError = %v", err)
	}
}

func TestBuildQuoteCases(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(in *quoteInput)
		check func(t *testing.T, q Quote)
	}{
		{"discount below its minimum shows why and takes nothing off", func(in *quoteInput) {
			in.discount.MinSubtotal = shopd.Money{Amount: 100_00, Currency: "CAD"}
		}, func(t *testing.T, q Quote) {
			if q.Discount.Applied || !errors.Is(q.Discount.Problem, ErrMinimumNotMet) || q.Breakdown.Discount.Amount != 0 {
				t.Fatalf("discount %+v", q.Discount)
			}
			if err := q.CheckoutError(); err == nil {
				t.Fatal("no checkout error")
			}
		}},
		{"a code that no longer exists", func(in *quoteInput) { in.discount = nil }, func(t *testing.T, q Quote) {
			if q.Discount.Applied || !errors.Is(q.Discount.Problem, ErrDiscountNotFound) || q.Discount.Discount != nil {
				t.Fatalf("discount %+v", q.Discount)
			}
		}},
		{"free shipping above the threshold after discount", func(in *quoteInput) {
			in.cart.DiscountCode = ""
			in.cart.Lines[0].Quantity = 5 // 9995 + 1001 ≥ 7500
		}, func(t *testing.T, q Quote) {
			if q.Shipping == nil || q.Shipping.Name != "Standard" || !q.Breakdown.ShippingFree || q.Breakdown.Shipping.Amount != 0 {
				t.Fatalf("shipping %+v %+v", q.Shipping, q.Breakdown)
			}
			if q.Discount != nil {
				t.Fatal("a discount without a code")
			}
		}},
		{"over the purchase limit", func(in *quoteInput) { in.cart.Lines[0].Quantity = 6 }, func(t *testing.T, q Quote) {
			if q.Lines[0].Available || q.Lines[0].Reason != ReasonOverLimit || q.Breakdown.Subtotal.Amount != 1001 {
				t.Fatalf("line %+v subtotal %v", q.Lines[0], q.Breakdown.Subtotal)
			}
		}},
		{"unknown, unpriced and archived variants", func(in *quoteInput) {
			in.cart.DiscountCode = ""
			delete(in.variants, "var_A")
			b := in.variants["var_B"]
			b.Variant.Prices = map[string]catalog.Price{"us": {Amount: usd(1)}}
			in.variants["var_B"] = b
			c := in.variants["var_C"]
			c.Product.Status = catalog.StatusArchived
			in.variants["var_C"] = c
		}, func(t *testing.T, q Quote) {
			got := []string{q.Lines[0].Reason, q.Lines[1].Reason, q.Lines[2].Reason}
			if !reflect.DeepEqual(got, []string{ReasonUnknownVariant, ReasonNotSold, ReasonNotActive}) {
				t.Fatalf("reasons %v", got)
			}
			// Nothing to buy: no shipping, all zero.
			if q.Shipping != nil || q.Breakdown.Total.Amount != 0 || len(q.Breakdown.Lines) != 0 {
				t.Fatalf("empty quote %+v %+v", q.Shipping, q.Breakdown)
			}
		}},
		{"no rate ships to the region", func(in *quoteInput) { in.shipping = nil }, func(t *testing.T, q Quote) {
			var e *shopd.Error
			in := q
			in.Lines = in.Lines[:2]
			if q.Shipping != nil || !errors.As(in.CheckoutError(), &e) || e.Type != "no-shipping-rate" {
				t.Fatalf("shipping %+v, %v", q.Shipping, in.CheckoutError())
			}
		}},
		{"an empty cart cannot be bought", func(in *quoteInput) { in.cart.Lines = nil }, func(t *testing.T, q Quote) {
			var e *shopd.Error
			if !errors.As(q.CheckoutError(), &e) || e.Type != "cart-empty" {
				t.Fatalf("CheckoutError = %v", q.CheckoutError())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := quoteFixture(t)
			tt.edit(&in)
			q, err := buildQuote(in)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, q)
		})
	}
}

func TestCheapestShipping(t *testing.T) {
	m := market.Market{Code: "us", Currency: "USD"}
	free := usd(5000)
	r := func(id string, price int64, freeAbove *shopd.Money, maxDays int) market.ShippingRate {
		return market.ShippingRate{ID: id, Market: "us", Price: usd(price), FreeAbove: freeAbove, MaxDays: maxDays}
	}
	rates := []market.ShippingRate{r("shp_C", 999, nil, 2), r("shp_B", 599, &free, 7), r("shp_A", 599, nil, 5),
		{ID: "shp_0", Market: "us", Price: shopd.Money{Amount: 0, Currency: "CAD"}}}
	for _, tt := range []struct {
		merchandise int64
		want        string
	}{{100, "shp_A"}, {5000, "shp_B"}} {
		if got := cheapestShipping(rates, m, tt.merchandise); got == nil || got.ID != tt.want {
			t.Errorf("merchandise %d: %+v, want %s", tt.merchandise, got, tt.want)
		}
	}
	if got := cheapestShipping(nil, m, 1); got != nil {
		t.Errorf("no rates: %+v", got)
	}
}
