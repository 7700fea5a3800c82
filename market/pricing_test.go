package market_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
)

// defaults returns the default markets, tax rates and shipping rates by
// market code.
func defaults(t testing.TB) (map[string]market.Market, []market.TaxRate, map[string]market.ShippingRate) {
	t.Helper()
	ms, taxes, ships := market.Defaults(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	mm := map[string]market.Market{}
	for _, m := range ms {
		mm[m.Code] = m
	}
	sm := map[string]market.ShippingRate{}
	for _, s := range ships {
		sm[s.Market] = s
	}
	return mm, taxes, sm
}

func money(amount int64, cur string) shopd.Money { return shopd.Money{Amount: amount, Currency: cur} }

// taxString renders tax lines as "GST@5=100,QST@9.975=199".
func taxString(lines []market.TaxLine) string {
	var parts []string
	for _, l := range lines {
		parts = append(parts, fmt.Sprintf("%s@%s=%d", l.Name, l.Rate.Percent(), l.Amount.Amount))
	}
	return strings.Join(parts, ",")
}

func TestPrice(t *testing.T) {
	markets, taxes, ships := defaults(t)
	usd := func(a int64) shopd.Money { return money(a, "USD") }
	cad := func(a int64) shopd.Money { return money(a, "CAD") }
	brl := func(a int64) shopd.Money { return money(a, "BRL") }
	inr := func(a int64) shopd.Money { return money(a, "INR") }
	halfEvenCA := markets["ca"]
	halfEvenCA.Rounding = shopd.RoundHalfEven
	withRates := func(extra ...market.TaxRate) []market.TaxRate {
		return append(append([]market.TaxRate(nil), taxes...), extra...)
	}

	type want struct {
		subtotal, discount, tax, shipping, shippingTax, total int64
		free                                                  bool
		taxes                                                 string  // order-level tax lines
		lineTax                                               []int64 // per line
		lineTotal                                             []int64
	}
	tests := []struct {
		name   string
		market market.Market
		rates  []market.TaxRate // nil: the defaults
		region string
		lines  []market.Line
		ship   bool // use the market's default shipping rate
		want   want
	}{
		{
			name: "US NY 4% on 19.99×3, free shipping above 50", market: markets["us"], region: "NY", ship: true,
			lines: []market.Line{{Ref: "v1", UnitPrice: usd(1999), Quantity: 3}},
			// 5997 × 4% = 239.88 → 240
			want: want{subtotal: 5997, tax: 240, total: 6237, free: true, taxes: "Sales tax@4=240", lineTax: []int64{240}, lineTotal: []int64{6237}},
		},
		{
			name: "US NY below the threshold pays shipping, untaxed", market: markets["us"], region: "ny", ship: true,
			lines: []market.Line{{UnitPrice: usd(1999), Quantity: 1}},
			// 1999 × 4% = 79.96 → 80
			want: want{subtotal: 1999, tax: 80, shipping: 599, total: 2678, taxes: "Sales tax@4=80", lineTax: []int64{80}, lineTotal: []int64{2079}},
		},
		{
			name: "US CA 7.25% over two lines rounds per line", market: markets["us"], region: "CA", ship: true,
			lines: []market.Line{{UnitPrice: usd(1010), Quantity: 1}, {UnitPrice: usd(1010), Quantity: 1}},
			// 1010 × 7.25% = 73.225 → 73 per line; on the order 146.45 would round to 146 too,
			// but each line shows 73.
			want: want{subtotal: 2020, tax: 146, shipping: 599, total: 2765, taxes: "Sales tax@7.25=146", lineTax: []int64{73, 73}, lineTotal: []int64{1083, 1083}},
		},
		{
			name: "US OR has no sales tax", market: markets["us"], region: "OR", ship: true,
			lines: []market.Line{{UnitPrice: usd(1000), Quantity: 1}},
			want:  want{subtotal: 1000, shipping: 599, total: 1599, lineTax: []int64{0}, lineTotal: []int64{1000}},
		},
		{
			name: "CA ON HST 13%", market: markets["ca"], region: "ON", ship: true,
			lines: []market.Line{{UnitPrice: cad(1999), Quantity: 2}},
			// 3998 × 13% = 519.74 → 520
			want: want{subtotal: 3998, tax: 520, shipping: 999, total: 5517, taxes: "HST@13=520", lineTax: []int64{520}, lineTotal: []int64{4518}},
		},
		{
			name: "CA QC GST + QST, each on the net, rounded per line", market: markets["ca"], region: "QC", ship: true,
			lines: []market.Line{{UnitPrice: cad(1999), Quantity: 1}, {UnitPrice: cad(1999), Quantity: 1}},
			// per line: GST 99.95 → 100, QST 199.40025 → 199 (on 3998 at once QST would be 399)
			want: want{subtotal: 3998, tax: 598, shipping: 999, total: 5595, taxes: "GST@5=200,QST@9.975=398", lineTax: []int64{299, 299}, lineTotal: []int64{2298, 2298}},
		},
		{
			name: "CA BC GST + PST, free shipping above 75", market: markets["ca"], region: "BC", ship: true,
			lines: []market.Line{{UnitPrice: cad(8000), Quantity: 1}},
			want:  want{subtotal: 8000, tax: 960, total: 8960, free: true, taxes: "GST@5=400,PST@7=560", lineTax: []int64{960}, lineTotal: []int64{8960}},
		},
		{
			name: "CA AB GST only, free shipping exactly at the threshold", market: markets["ca"], region: "AB", ship: true,
			lines: []market.Line{{UnitPrice: cad(2500), Quantity: 3}},
			want:  want{subtotal: 7500, tax: 375, total: 7875, free: true, taxes: "GST@5=375", lineTax: []int64{375}, lineTotal: []int64{7875}},
		},
		{
			name: "CA AB half_up rounds 62.5¢ up", market: markets["ca"], region: "AB",
			lines: []market.Line{{UnitPrice: cad(1250), Quantity: 1}},
			want:  want{subtotal: 1250, tax: 63, total: 1313, taxes: "GST@5=63", lineTax: []int64{63}, lineTotal: []int64{1313}},
		},
		{
			name: "CA AB half_even rounds 62.5¢ to even", market: halfEvenCA, region: "AB",
			lines: []market.Line{{UnitPrice: cad(1250), Quantity: 1}},
			want:  want{subtotal: 1250, tax: 62, total: 1312, taxes: "GST@5=62", lineTax: []int64{62}, lineTotal: []int64{1312}},
		},
		{
			name: "CA AB half_even rounds 63.5¢ to even (up)", market: halfEvenCA, region: "AB",
			lines: []market.Line{{UnitPrice: cad(1270), Quantity: 1}},
			want:  want{subtotal: 1270, tax: 64, total: 1334, taxes: "GST@5=64", lineTax: []int64{64}, lineTotal: []int64{1334}},
		},
		{
			name: "CA ON with a shipping-category rate taxes shipping", market: markets["ca"], region: "ON", ship: true,
			rates: withRates(market.TaxRate{Market: "ca", Region: "ON", Category: "shipping", Name: "HST", Rate: 130_000}),
			lines: []market.Line{{UnitPrice: cad(1000), Quantity: 1}},
			// goods 130 + shipping 999 × 13% = 129.87 → 130
			want: want{subtotal: 1000, tax: 260, shipping: 999, shippingTax: 130, total: 2259, taxes: "HST@13=260", lineTax: []int64{130}, lineTotal: []int64{1130}},
		},
		{
			name: "CA unknown region: no tax", market: markets["ca"], region: "",
			lines: []market.Line{{UnitPrice: cad(1000), Quantity: 1}},
			want:  want{subtotal: 1000, total: 1000, lineTax: []int64{0}, lineTotal: []int64{1000}},
		},
		{
			name: "BR inclusive ICMS extracted, total is the shelf price plus shipping", market: markets["br"], region: "SP", ship: true,
			lines: []market.Line{{UnitPrice: brl(10000), Quantity: 1}},
			// 10000 × 18/118 = 1525.42 → 1525
			want: want{subtotal: 10000, tax: 1525, shipping: 1990, total: 11990, taxes: "ICMS@18=1525", lineTax: []int64{1525}, lineTotal: []int64{10000}},
		},
		{
			name: "BR free shipping at R$199,00", market: markets["br"], region: "RJ", ship: true,
			lines: []market.Line{{UnitPrice: brl(19900), Quantity: 1}},
			// 19900 × 18/118 = 3035.59 → 3036
			want: want{subtotal: 19900, tax: 3036, total: 19900, free: true, taxes: "ICMS@18=3036", lineTax: []int64{3036}, lineTotal: []int64{19900}},
		},
		{
			name: "BR one centavo below the threshold pays shipping", market: markets["br"], region: "RJ", ship: true,
			lines: []market.Line{{UnitPrice: brl(19899), Quantity: 1}},
			// 19899 × 18/118 = 3035.44 → 3035
			want: want{subtotal: 19899, tax: 3035, shipping: 1990, total: 21889, taxes: "ICMS@18=3035", lineTax: []int64{3035}, lineTotal: []int64{19899}},
		},
		{
			name: "BR state rate replaces the market-wide rate of the same name", market: markets["br"], region: "RJ",
			rates: withRates(market.TaxRate{Market: "br", Region: "RJ", Category: "standard", Name: "ICMS", Rate: 200_000}),
			lines: []market.Line{{UnitPrice: brl(10000), Quantity: 1}},
			// 10000 × 20/120 = 1666.67 → 1667
			want: want{subtotal: 10000, tax: 1667, total: 10000, taxes: "ICMS@20=1667", lineTax: []int64{1667}, lineTotal: []int64{10000}},
		},
		{
			name: "IN inclusive, standard and apparel in one basket", market: markets["in"], region: "MH", ship: true,
			lines: []market.Line{
				{Ref: "serum", UnitPrice: inr(100000), Quantity: 1},
				{Ref: "tee", UnitPrice: inr(50000), Quantity: 2, TaxCategory: "apparel"},
				{Ref: "lipstick", UnitPrice: inr(59000), Quantity: 1, TaxCategory: "cosmetics"}, // no own rate: standard
			},
			// 100000 × 18/118 = 15254.24 → 15254; 100000 × 5/105 = 4761.90 → 4762; 59000 × 18/118 = 9000
			want: want{subtotal: 259000, tax: 29016, total: 259000, free: true, taxes: "GST@18=24254,GST@5=4762",
				lineTax: []int64{15254, 4762, 9000}, lineTotal: []int64{100000, 100000, 59000}},
		},
		{
			name: "IN pays shipping below ₹999", market: markets["in"], region: "KA", ship: true,
			lines: []market.Line{{UnitPrice: inr(99899), Quantity: 1}},
			// 99899 × 18/118 = 15238.83 → 15239
			want: want{subtotal: 99899, tax: 15239, shipping: 9900, total: 109799, taxes: "GST@18=15239", lineTax: []int64{15239}, lineTotal: []int64{99899}},
		},
		{
			name: "inclusive with two rates splits the tax by rate", market: markets["in"], region: "KA",
			rates: []market.TaxRate{
				{Market: "in", Region: "KA", Category: "standard", Name: "CGST", Rate: 90_000},
				{Market: "in", Region: "KA", Category: "standard", Name: "SGST", Rate: 90_000},
			},
			lines: []market.Line{{UnitPrice: inr(11800), Quantity: 1}},
			want:  want{subtotal: 11800, tax: 1800, total: 11800, taxes: "CGST@9=900,SGST@9=900", lineTax: []int64{1800}, lineTotal: []int64{11800}},
		},
		{
			name: "a line discount is taken before tax and before the threshold", market: markets["us"], region: "NY", ship: true,
			lines: []market.Line{{UnitPrice: usd(2500), Quantity: 2, Discount: usd(100)}},
			// net 4900 < 5000: shipping is due; 4900 × 4% = 196
			want: want{subtotal: 5000, discount: 100, tax: 196, shipping: 599, total: 5695, taxes: "Sales tax@4=196", lineTax: []int64{196}, lineTotal: []int64{5096}},
		},
		{
			name: "discounted line in an inclusive market", market: markets["br"], region: "SP",
			lines: []market.Line{{UnitPrice: brl(11800), Quantity: 1, Discount: brl(0)}, {UnitPrice: brl(12800), Quantity: 1, Discount: brl(1000)}},
			// 11800 × 18/118 = 1800; (12800 − 1000) × 18/118 = 1800
			want: want{subtotal: 24600, discount: 1000, tax: 3600, total: 23600, taxes: "ICMS@18=3600", lineTax: []int64{1800, 1800}, lineTotal: []int64{11800, 11800}},
		},
		{
			name: "empty basket with shipping", market: markets["us"], region: "NY", ship: true,
			want: want{shipping: 599, total: 599},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rates := tt.rates
			if rates == nil {
				rates = taxes
			}
			var ship *market.ShippingRate
			if tt.ship {
				s := ships[tt.market.Code]
				ship = &s
			}
			b, err := market.Price(tt.market, rates, tt.region, tt.lines, ship)
			if err != nil {
				t.Fatal(err)
			}
			cur := tt.market.Currency
			got := want{
				subtotal: b.Subtotal.Amount, discount: b.Discount.Amount, tax: b.Tax.Amount, shipping: b.Shipping.Amount,
				shippingTax: b.ShippingTax.Amount, total: b.Total.Amount, free: b.ShippingFree, taxes: taxString(b.Taxes),
			}
			for _, l := range b.Lines {
				got.lineTax = append(got.lineTax, l.Tax.Amount)
				got.lineTotal = append(got.lineTotal, l.Total.Amount)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			for _, m := range []shopd.Money{b.Subtotal, b.Discount, b.Tax, b.Shipping, b.ShippingTax, b.Total} {
				if m.Currency != cur {
					t.Errorf("amount %v not in %s", m, cur)
				}
			}
			if b.TaxIncluded != (tt.market.TaxMode == market.TaxInclusive) || b.Market != tt.market.Code || b.Currency != cur {
				t.Errorf("header = %s %s included=%v", b.Market, b.Currency, b.TaxIncluded)
			}
			// Invariants: line taxes add up to the order tax (per-line
			// rounding), and tax lines add up to it too.
			sum := b.ShippingTax.Amount
			for i, l := range b.Lines {
				sum += l.Tax.Amount
				if l.Ref != tt.lines[i].Ref {
					t.Errorf("line %d ref %q", i, l.Ref)
				}
				var lineSum int64
				for _, tl := range l.Taxes {
					lineSum += tl.Amount.Amount
				}
				if lineSum != l.Tax.Amount {
					t.Errorf("line %d: tax lines %d ≠ tax %d", i, lineSum, l.Tax.Amount)
				}
			}
			var taxSum int64
			for _, tl := range b.Taxes {
				taxSum += tl.Amount.Amount
			}
			if sum != b.Tax.Amount || taxSum != b.Tax.Amount {
				t.Errorf("tax %d, lines sum %d, tax lines sum %d", b.Tax.Amount, sum, taxSum)
			}
		})
	}
}

// TestPriceInclusiveSingleRateIsTaxIn pins the inclusive rule to shopd.TaxIn.
func TestPriceInclusiveSingleRateIsTaxIn(t *testing.T) {
	markets, taxes, _ := defaults(t)
	for _, amount := range []int64{1, 99, 118, 1999, 4990, 10001, 123457} {
		b, err := market.Price(markets["br"], taxes, "SP", []market.Line{{UnitPrice: money(amount, "BRL"), Quantity: 1}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want := shopd.TaxIn(money(amount, "BRL"), 180_000, shopd.RoundHalfUp); b.Tax != want || b.Total.Amount != amount {
			t.Errorf("%d: tax %v total %v, want tax %v", amount, b.Tax, b.Total, want)
		}
	}
}

func TestPriceErrors(t *testing.T) {
	markets, taxes, ships := defaults(t)
	us, ca := markets["us"], markets["ca"]
	usShip, caShip := ships["us"], ships["ca"]
	eurShip := usShip
	eurShip.Price = money(599, "EUR")
	nyOnly := usShip
	nyOnly.Region = "NY"
	huge := money(market.MaxAmount, "USD")
	tests := []struct {
		name     string
		m        market.Market
		region   string
		lines    []market.Line
		ship     *market.ShippingRate
		code     string
		typ      string
		field    string // first field error, if any
		fieldMsg string
	}{
		{"unit price in another currency", us, "NY", []market.Line{{UnitPrice: money(1999, "CAD"), Quantity: 1}}, nil,
			shopd.EINVALID, "currency-mismatch", "lines[0].unit_price.currency", "must be USD, the market's currency"},
		{"discount in another currency", us, "NY", []market.Line{{UnitPrice: money(1999, "USD"), Quantity: 1, Discount: money(100, "EUR")}}, nil,
			shopd.EINVALID, "currency-mismatch", "lines[0].discount.currency", "must be USD, the market's currency"},
		{"shipping price in another currency", us, "NY", []market.Line{{UnitPrice: money(1999, "USD"), Quantity: 1}}, &eurShip,
			shopd.EINVALID, "currency-mismatch", "", ""},
		{"shipping rate of another market", us, "NY", []market.Line{{UnitPrice: money(1999, "USD"), Quantity: 1}}, &caShip,
			shopd.EINVALID, "shipping-rate-unavailable", "", ""},
		{"shipping rate of another region", us, "CA", []market.Line{{UnitPrice: money(1999, "USD"), Quantity: 1}}, &nyOnly,
			shopd.EINVALID, "shipping-rate-unavailable", "", ""},
		{"zero quantity", us, "NY", []market.Line{{UnitPrice: money(1999, "USD"), Quantity: 0}}, nil,
			shopd.EINVALID, "validation", "lines[0].quantity", "must be from 1 to 1000000"},
		{"negative price", ca, "ON", []market.Line{{UnitPrice: money(1999, "CAD"), Quantity: 1}, {UnitPrice: money(-1, "CAD"), Quantity: 1}}, nil,
			shopd.EINVALID, "validation", "lines[1].unit_price.amount", "must be from 0 to 1000000000000 minor units"},
		{"discount above the subtotal", us, "NY", []market.Line{{UnitPrice: money(1000, "USD"), Quantity: 2, Discount: money(2001, "USD")}}, nil,
			shopd.EINVALID, "validation", "lines[0].discount.amount", "must not exceed the line's subtotal"},
		{"negative discount", us, "NY", []market.Line{{UnitPrice: money(1000, "USD"), Quantity: 2, Discount: money(-1, "USD")}}, nil,
			shopd.EINVALID, "validation", "lines[0].discount.amount", "must not be negative"},
		{"bad tax category", us, "NY", []market.Line{{UnitPrice: money(1000, "USD"), Quantity: 1, TaxCategory: "Apparel!"}}, nil,
			shopd.EINVALID, "validation", "lines[0].tax_category", "must be 1 to 50 lower-case letters, digits, - or _"},
		{"sum beyond int64", us, "OR", []market.Line{
			{UnitPrice: huge, Quantity: market.MaxQuantity}, {UnitPrice: huge, Quantity: market.MaxQuantity},
			{UnitPrice: huge, Quantity: market.MaxQuantity}, {UnitPrice: huge, Quantity: market.MaxQuantity},
			{UnitPrice: huge, Quantity: market.MaxQuantity}, {UnitPrice: huge, Quantity: market.MaxQuantity},
			{UnitPrice: huge, Quantity: market.MaxQuantity}, {UnitPrice: huge, Quantity: market.MaxQuantity},
			{UnitPrice: huge, Quantity: market.MaxQuantity}, {UnitPrice: huge, Quantity: market.MaxQuantity}}, nil,
			shopd.EINVALID, "amount-overflow", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := market.Price(tt.m, taxes, tt.region, tt.lines, tt.ship)
			e, ok := err.(*shopd.Error)
			if !ok || e.Code != tt.code || e.Type != tt.typ {
				t.Fatalf("err = %#v, want %s/%s", err, tt.code, tt.typ)
			}
			if tt.field == "" {
				if len(e.Fields) != 0 {
					t.Fatalf("fields = %+v, want none", e.Fields)
				}
				return
			}
			if len(e.Fields) == 0 || e.Fields[0].Field != tt.field || e.Fields[0].Message != tt.fieldMsg {
				t.Fatalf("fields = %+v, want %s: %s", e.Fields, tt.field, tt.fieldMsg)
			}
		})
	}
}

// TestDefaults pins the default catalogue of markets and rates.
func TestDefaults(t *testing.T) {
	markets, taxes, ships := defaults(t)
	if len(markets) != 4 || len(ships) != 4 {
		t.Fatalf("%d markets, %d shipping rates", len(markets), len(ships))
	}
	count := map[string]int{}
	for _, r := range taxes {
		count[r.Market]++
		if !shopd.HasIDPrefix(r.ID, market.TaxRatePrefix) {
			t.Errorf("tax rate ID %q", r.ID)
		}
	}
	if want := map[string]int{"us": 10, "ca": 17, "br": 1, "in": 2}; fmt.Sprint(count) != fmt.Sprint(want) {
		t.Errorf("tax rates per market = %v, want %v", count, want)
	}
	for code, m := range markets {
		if _, err := time.LoadLocation(m.TimeZone); err != nil {
			t.Errorf("%s: %v", code, err)
		}
		s := ships[code]
		if s.Price.Currency != m.Currency || s.FreeAbove == nil || s.FreeAbove.Currency != m.Currency {
			t.Errorf("%s: shipping %+v", code, s)
		}
	}
	got := fmt.Sprintf("%s %s %s %s", ships["us"].Price.Format("en-US"), ships["ca"].FreeAbove.Format("en-CA"),
		ships["br"].Price.Format("pt-BR"), ships["in"].FreeAbove.Format("en-IN"))
	if want := "$5.99 $75.00 R$\u00a019,90 ₹999.00"; got != want {
		t.Errorf("formatted defaults = %q, want %q", got, want)
	}
}

// FuzzPrice checks the invariants of Price on arbitrary baskets: it never
// panics, and whenever it succeeds the parts add up exactly.
func FuzzPrice(f *testing.F) {
	f.Add("ca", "QC", int64(1999), int64(3), int64(0), "", int64(500), int64(2), "apparel", true)
	f.Add("br", "SP", int64(19900), int64(1), int64(100), "standard", int64(1), int64(1), "", true)
	f.Add("in", "", int64(1_000_000_000_000), int64(1_000_000), int64(0), "apparel", int64(0), int64(1), "cosmetics", false)
	f.Add("us", "ny", int64(-5), int64(0), int64(-1), "Bad!", int64(7), int64(9), "shipping", true)
	markets, taxes, ships := defaults(f)
	f.Fuzz(func(t *testing.T, code, region string, p1, q1, d1 int64, c1 string, p2, q2 int64, c2 string, ship bool) {
		m, ok := markets[code]
		if !ok {
			return
		}
		cur := m.Currency
		lines := []market.Line{
			{UnitPrice: money(p1, cur), Quantity: q1, Discount: money(d1, cur), TaxCategory: c1},
			{UnitPrice: money(p2, cur), Quantity: q2, TaxCategory: c2},
		}
		var sr *market.ShippingRate
		if ship {
			s := ships[code]
			sr = &s
		}
		b, err := market.Price(m, taxes, region, lines, sr)
		if err != nil {
			if shopd.ErrorCode(err) != shopd.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		var sub, disc, tax int64
		for _, l := range b.Lines {
			sub, disc, tax = sub+l.Subtotal.Amount, disc+l.Discount.Amount, tax+l.Tax.Amount
			if l.Tax.Amount < 0 || l.Tax.Amount > l.Subtotal.Amount-l.Discount.Amount && m.TaxMode == market.TaxInclusive {
				t.Fatalf("line tax %d outside [0, net] in %s", l.Tax.Amount, code)
			}
		}
		want := sub - disc + b.Shipping.Amount
		if m.TaxMode == market.TaxExclusive {
			want += b.Tax.Amount
		}
		if sub != b.Subtotal.Amount || disc != b.Discount.Amount || tax+b.ShippingTax.Amount != b.Tax.Amount || want != b.Total.Amount {
			t.Fatalf("breakdown does not add up: %+v", b)
		}
	})
}
