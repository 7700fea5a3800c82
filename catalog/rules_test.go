package catalog

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
)

func TestMakeHandle(t *testing.T) {
	long := strings.Repeat("abc ", 40)
	tests := []struct {
		title, want string
	}{
		{"Cloud Paint", "cloud-paint"},
		{"  Cloud   Paint!! ", "cloud-paint"},
		{"Crème Rosé N°5", "creme-rose-n-5"},
		{"Protetor Solar FPS 50 — Açaí", "protetor-solar-fps-50-acai"},
		{"Straße & Œuvre", "strasse-oeuvre"},
		{"ÉCLAT", "eclat"},
		{"100% Pure", "100-pure"},
		{"-leading-and-trailing-", "leading-and-trailing"},
		{"日本語", "product"},
		{"", "product"},
		{"!!!", "product"},
		{long, strings.TrimRight(strings.Repeat("abc-", 25), "-")},
	}
	for _, tt := range tests {
		got := MakeHandle(tt.title)
		if got != tt.want {
			t.Errorf("MakeHandle(%q) = %q, want %q", tt.title, got, tt.want)
		}
		if !validHandle(got) {
			t.Errorf("MakeHandle(%q) = %q is not a valid handle", tt.title, got)
		}
	}
}

func TestSuffixHandle(t *testing.T) {
	tests := []struct {
		base string
		n    int
		want string
	}{
		{"cloud-paint", 2, "cloud-paint-2"},
		{"cloud-paint", 13, "cloud-paint-13"},
		{strings.Repeat("a", 100), 2, strings.Repeat("a", 98) + "-2"},
		{strings.Repeat("a", 97) + "-bc", 10, strings.Repeat("a", 97) + "-10"},
	}
	for _, tt := range tests {
		got := suffixHandle(tt.base, tt.n)
		if got != tt.want || !validHandle(got) {
			t.Errorf("suffixHandle(%q, %d) = %q, want %q", tt.base, tt.n, got, tt.want)
		}
	}
}

func TestValidID(t *testing.T) {
	id := shopd.NewID("prd")
	tests := []struct {
		id, prefix string
		want       bool
	}{
		{id, "prd", true},
		{id, "var", false},
		{strings.ToLower(id), "prd", false},
		{id[:len(id)-1] + "\x00", "prd", false},
		{id[:len(id)-1] + "U", "prd", false},
		{id + "0", "prd", false},
		{"prd_", "prd", false},
		{"", "prd", false},
	}
	for _, tt := range tests {
		if got := validID(tt.id, tt.prefix); got != tt.want {
			t.Errorf("validID(%q, %q) = %v, want %v", tt.id, tt.prefix, got, tt.want)
		}
	}
}

// validProduct returns input that buildProduct accepts; tests change one
// thing at a time.
func validProduct() NewProduct {
	return NewProduct{
		Title:      "Cloud Paint",
		Attributes: map[string][]string{"brand": {"Glossier"}, "skin_type": {"dry", "oily"}},
		Media:      []Media{{URL: "https://cdn.example.com/cloud.jpg", Alt: "Cloud Paint in Puff"}},
		Variants: []NewVariant{
			{SKU: "CP-PUFF", Options: map[string]string{"shade": "Puff"}, Prices: map[string]Price{"us": {Amount: shopd.Money{Amount: 2000, Currency: "USD"}}}},
			{SKU: "CP-BEAM", Options: map[string]string{"shade": "Beam"}, Prices: map[string]Price{"us": {Amount: shopd.Money{Amount: 2000, Currency: "USD"}}}},
		},
	}
}

func TestBuildProductValidation(t *testing.T) {
	pos := func(n int) *int { return &n }
	usd := func(n int64) shopd.Money { return shopd.Money{Amount: n, Currency: "USD"} }
	tests := []struct {
		name   string
		change func(p *NewProduct)
		fields []string // the field paths reported, in order; nil: valid
	}{
		{"valid", func(p *NewProduct) {}, nil},
		{"no title", func(p *NewProduct) { p.Title = "  " }, []string{"title"}},
		{"long title", func(p *NewProduct) { p.Title = strings.Repeat("é", 201) }, []string{"title"}},
		{"title of 200 runes", func(p *NewProduct) { p.Title = strings.Repeat("é", 200) }, nil},
		{"control character in title", func(p *NewProduct) { p.Title = "a\x00b" }, []string{"title"}},
		{"invalid UTF-8", func(p *NewProduct) { p.Title = "a\xffb" }, []string{"title"}},
		{"bad handle", func(p *NewProduct) { p.Handle = "Cloud_Paint" }, []string{"handle"}},
		{"handle ending in hyphen", func(p *NewProduct) { p.Handle = "cloud-" }, []string{"handle"}},
		{"long handle", func(p *NewProduct) { p.Handle = strings.Repeat("a", 101) }, []string{"handle"}},
		{"long description", func(p *NewProduct) { p.Description = strings.Repeat("x", 10_001) }, []string{"description"}},
		{"multi-line description", func(p *NewProduct) { p.Description = "line 1\nline 2\tand a tab" }, nil},
		{"bad status", func(p *NewProduct) { p.Status = "live" }, []string{"status"}},
		{"negative purchase limit", func(p *NewProduct) { p.PurchaseLimit = -1 }, []string{"purchase_limit"}},
		{"huge purchase limit", func(p *NewProduct) { p.PurchaseLimit = 10_001 }, []string{"purchase_limit"}},
		{"bad tax category", func(p *NewProduct) { p.TaxCategory = "Food & drink" }, []string{"tax_category"}},
		{"bad attribute name", func(p *NewProduct) { p.Attributes["Skin Type"] = []string{"dry"} }, []string{"attributes.Skin Type"}},
		{"attribute without values", func(p *NewProduct) { p.Attributes["brand"] = nil }, []string{"attributes.brand"}},
		{"attribute value with comma", func(p *NewProduct) { p.Attributes["brand"] = []string{"a,b"} }, []string{"attributes.brand[0]"}},
		{"duplicate attribute value", func(p *NewProduct) { p.Attributes["skin_type"] = []string{"dry", "dry"} }, []string{"attributes.skin_type[1]"}},
		{"empty attribute value", func(p *NewProduct) { p.Attributes["skin_type"] = []string{"dry", ""} }, []string{"attributes.skin_type[1]"}},
		{"long attribute value", func(p *NewProduct) { p.Attributes["brand"] = []string{strings.Repeat("x", 101)} }, []string{"attributes.brand[0]"}},
		{"too many attribute values", func(p *NewProduct) { p.Attributes["brand"] = make([]string, 21) }, []string{"attributes.brand"}},
		{"too many attributes", func(p *NewProduct) {
			for i := range 51 {
				p.Attributes[strings.Repeat("a", i+1)] = []string{"x"}
			}
		}, []string{"attributes"}},
		{"http media", func(p *NewProduct) { p.Media[0].URL = "http://cdn.example.com/a.jpg" }, []string{"media[0].url"}},
		{"javascript media", func(p *NewProduct) { p.Media[0].URL = "javascript:alert(1)" }, []string{"media[0].url"}},
		{"media without host", func(p *NewProduct) { p.Media[0].URL = "https:///a.jpg" }, []string{"media[0].url"}},
		{"long media URL", func(p *NewProduct) { p.Media[0].URL = "https://a.example/" + strings.Repeat("x", 2048) }, []string{"media[0].url"}},
		{"no variants", func(p *NewProduct) { p.Variants = nil }, []string{"variants"}},
		{"101 variants", func(p *NewProduct) { p.Variants = make([]NewVariant, 101) }, []string{"variants"}},
		{"no SKU", func(p *NewProduct) { p.Variants[1].SKU = "" }, []string{"variants[1].sku"}},
		{"SKU with space", func(p *NewProduct) { p.Variants[1].SKU = "CP BEAM" }, []string{"variants[1].sku"}},
		{"long SKU", func(p *NewProduct) { p.Variants[1].SKU = strings.Repeat("A", 65) }, []string{"variants[1].sku"}},
		{"duplicate SKU", func(p *NewProduct) { p.Variants[1].SKU = "CP-PUFF" }, []string{"variants[1].sku"}},
		{"duplicate options", func(p *NewProduct) { p.Variants[1].Options = map[string]string{"shade": "Puff"} }, []string{"variants[1].options"}},
		{"too many options", func(p *NewProduct) {
			p.Variants[1].Options = map[string]string{"a": "1", "b": "1", "c": "1", "d": "1", "e": "1", "f": "1"}
		}, []string{"variants[1].options"}},
		{"bad option name", func(p *NewProduct) { p.Variants[1].Options = map[string]string{"Shade": "Beam"} }, []string{"variants[1].options.Shade"}},
		{"empty option value", func(p *NewProduct) { p.Variants[1].Options = map[string]string{"shade": ""} }, []string{"variants[1].options.shade"}},
		{"negative position", func(p *NewProduct) { p.Variants[0].Position = pos(-1) }, []string{"variants[0].position"}},
		{"negative price", func(p *NewProduct) { p.Variants[1].Prices["us"] = Price{Amount: usd(-1)} }, []string{"variants[1].prices.us.amount.amount"}},
		{"price over 1e12", func(p *NewProduct) { p.Variants[1].Prices["us"] = Price{Amount: usd(1e12 + 1)} }, []string{"variants[1].prices.us.amount.amount"}},
		{"price of 1e12", func(p *NewProduct) { p.Variants[1].Prices["us"] = Price{Amount: usd(1e12)} }, nil},
		{"free", func(p *NewProduct) { p.Variants[1].Prices["us"] = Price{Amount: usd(0)} }, nil},
		{"unknown currency", func(p *NewProduct) {
			p.Variants[1].Prices["us"] = Price{Amount: shopd.Money{Amount: 1, Currency: "XXQ"}}
		}, []string{"variants[1].prices.us.amount.currency"}},
		{"compare-at below price", func(p *NewProduct) {
			c := usd(1999)
			p.Variants[1].Prices["us"] = Price{Amount: usd(1999), CompareAt: &c}
		}, []string{"variants[1].prices.us.compare_at.amount"}},
		{"compare-at in other currency", func(p *NewProduct) {
			c := shopd.Money{Amount: 5000, Currency: "CAD"}
			p.Variants[1].Prices["us"] = Price{Amount: usd(1999), CompareAt: &c}
		}, []string{"variants[1].prices.us.compare_at.currency"}},
		{"several problems", func(p *NewProduct) { p.Title = ""; p.Variants[0].SKU = "" }, []string{"title", "variants[0].sku"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			np := validProduct()
			tt.change(&np)
			_, err := buildProduct(np, time.Now())
			if got := fieldsOf(t, err); !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("fields %q, want %q (err %v)", got, tt.fields, err)
			}
		})
	}
}

func fieldsOf(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var e *shopd.Error
	if !errors.As(err, &e) || e.Code != shopd.EINVALID {
		t.Fatalf("error %v is not EINVALID", err)
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestBuildProductDefaults(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	launch := time.Date(2026, 6, 1, 15, 0, 0, 123456789, time.FixedZone("BRT", -3*3600))
	np := validProduct()
	np.Title = "Crème Rosé"
	np.LaunchAt = &launch
	np.Variants = append(np.Variants, NewVariant{SKU: "CP-DAWN"})
	p, err := buildProduct(np, now)
	if err != nil {
		t.Fatal(err)
	}
	if !shopd.HasIDPrefix(p.ID, "prd") || p.Handle != "creme-rose" || p.Status != StatusDraft || p.TaxCategory != "standard" {
		t.Errorf("got id %q handle %q status %q tax category %q", p.ID, p.Handle, p.Status, p.TaxCategory)
	}
	if want := time.Date(2026, 6, 1, 18, 0, 0, 123456000, time.UTC); !p.LaunchAt.Equal(want) || p.LaunchAt.Location() != time.UTC {
		t.Errorf("launch at %v, want %v in UTC", p.LaunchAt, want)
	}
	titles := []string{}
	for i, v := range p.Variants {
		if v.Position != i+1 || v.ProductID != p.ID || !shopd.HasIDPrefix(v.ID, "var") || v.Prices == nil || v.Options == nil {
			t.Errorf("variant %d: %+v", i, v)
		}
		titles = append(titles, v.Title)
	}
	if want := []string{"Puff", "Beam", "Default"}; !reflect.DeepEqual(titles, want) {
		t.Errorf("titles %q, want %q", titles, want)
	}
}

func TestVariantTitle(t *testing.T) {
	tests := []struct {
		opts map[string]string
		want string
	}{
		{nil, "Default"},
		{map[string]string{"shade": "Rose"}, "Rose"},
		{map[string]string{"size": "30 ml", "shade": "Rose"}, "Rose / 30 ml"}, // by option name
		{map[string]string{"a": strings.Repeat("é", 100), "b": strings.Repeat("é", 100)}, strings.Repeat("é", 100) + " / " + strings.Repeat("é", 97)},
	}
	for _, tt := range tests {
		if got := variantTitle(tt.opts); got != tt.want {
			t.Errorf("variantTitle(%v) = %q, want %q", tt.opts, got, tt.want)
		}
	}
}

func TestAvailable(t *testing.T) {
	launch := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		status Status
		launch time.Time
		now    time.Time
		want   bool
	}{
		{StatusActive, time.Time{}, launch, true},
		{StatusActive, launch, launch.Add(-time.Microsecond), false},
		{StatusActive, launch, launch, true},
		{StatusActive, launch, launch.Add(time.Hour), true},
		{StatusDraft, time.Time{}, launch, false},
		{StatusArchived, time.Time{}, launch, false},
	}
	for _, tt := range tests {
		p := Product{Status: tt.status, LaunchAt: tt.launch}
		if got := p.Available(tt.now); got != tt.want {
			t.Errorf("%s launching %v at %v: available %v, want %v", tt.status, tt.launch, tt.now, got, tt.want)
		}
	}
}

// memMarkets is a fixed set of markets for tests of price checks.
type memMarkets map[string]market.Market

// Generation never changes: the markets are fixed.
func (m memMarkets) Generation() uint64 { return 0 }

func (m memMarkets) Market(ctx context.Context, code string) (market.Market, error) {
	if mk, ok := m[code]; ok {
		return mk, nil
	}
	return market.Market{}, shopd.Errorf(shopd.ENOTFOUND, "no market %q", code)
}

var testMarkets = memMarkets{
	"us": {Code: "us", Currency: "USD", DefaultLocale: "en-US", Enabled: true},
	"br": {Code: "br", Currency: "BRL", DefaultLocale: "pt-BR", Enabled: true},
	"xx": {Code: "xx", Currency: "EUR", DefaultLocale: "fr-FR", Enabled: false},
}

func TestCheckPrices(t *testing.T) {
	s := NewService(nil, testMarkets, shopd.SystemClock{})
	price := func(amount int64, cur string) Price { return Price{Amount: shopd.Money{Amount: amount, Currency: cur}} }
	tests := []struct {
		name   string
		prices []map[string]Price
		typ    string
		fields []string
	}{
		{"valid", []map[string]Price{{"us": price(100, "USD"), "br": price(500, "BRL")}}, "", nil},
		{"disabled market is fine for staff", []map[string]Price{{"xx": price(100, "EUR")}}, "", nil},
		{"unknown market", []map[string]Price{{"us": price(1, "USD")}, {"de": price(1, "EUR"), "us": price(1, "USD")}}, "unknown-market", []string{"variants[1].prices.de"}},
		{"junk market code", []map[string]Price{{"US\x00": price(1, "USD")}}, "unknown-market", []string{"variants[0].prices.US\x00"}},
		{"currency mismatch", []map[string]Price{{"br": price(1, "USD"), "us": price(1, "USD")}}, "currency-mismatch", []string{"variants[0].prices.br.amount.currency"}},
		{"unknown market wins", []map[string]Price{{"br": price(1, "USD"), "zz": price(1, "USD")}}, "unknown-market", []string{"variants[0].prices.zz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := make([]Variant, len(tt.prices))
			for i, p := range tt.prices {
				vs[i].Prices = p
			}
			err := s.checkPrices(context.Background(), vs, "variants[%d].prices")
			var e *shopd.Error
			switch {
			case tt.typ == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tt.typ == "":
				return
			case !errors.As(err, &e) || e.Code != shopd.EINVALID || e.Type != tt.typ:
				t.Fatalf("error %v, want EINVALID %s", err, tt.typ)
			}
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			if !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("fields %q, want %q", got, tt.fields)
			}
		})
	}
}

func TestStorefrontMarket(t *testing.T) {
	s := NewService(nil, testMarkets, shopd.SystemClock{})
	for code, want := range map[string]string{"us": "", "br": "", "xx": "unknown-market", "de": "unknown-market", "": "unknown-market", "u": "unknown-market", "US": "unknown-market"} {
		_, err := s.StorefrontMarket(context.Background(), code)
		var e *shopd.Error
		if got := ""; errors.As(err, &e) {
			got = e.Type
			if got != want {
				t.Errorf("StorefrontMarket(%q): %v, want %q", code, err, want)
			}
		} else if err != nil || want != "" {
			t.Errorf("StorefrontMarket(%q): %v, want %q", code, err, want)
		}
	}
}

func TestListing(t *testing.T) {
	clock := shopd.NewTestClock(time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC))
	s := NewService(nil, testMarkets, clock)
	usd := func(n int64) shopd.Money { return shopd.Money{Amount: n, Currency: "USD"} }
	p := Product{Status: StatusActive, LaunchAt: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), Variants: []Variant{
		{ID: "a", Prices: map[string]Price{"us": {Amount: usd(2500)}, "br": {Amount: shopd.Money{Amount: 9000, Currency: "BRL"}}}},
		{ID: "b", Prices: map[string]Price{"br": {Amount: shopd.Money{Amount: 9900, Currency: "BRL"}}}},
		{ID: "c", Prices: map[string]Price{"us": {Amount: usd(1800)}}},
		{ID: "d", Prices: map[string]Price{"us": {Amount: shopd.Money{Amount: 1, Currency: "CAD"}}}}, // stale currency
	}}
	l, ok := s.listing(p, testMarkets["us"], 300*time.Millisecond)
	if !ok || l.Available || l.MinPrice != usd(1800) || l.MaxPrice != usd(2500) {
		t.Fatalf("listing: ok %v available %v range %v–%v", ok, l.Available, l.MinPrice, l.MaxPrice)
	}
	// Read 300 ms ago: fresh for the rest of CacheTTL, but only until the
	// launch once that is nearer.
	if want := clock.Now().Add(CacheTTL - 300*time.Millisecond); !l.FreshUntil.Equal(want) {
		t.Errorf("fresh until %v, want %v", l.FreshUntil, want)
	}
	clock.Advance(time.Hour - 100*time.Millisecond)
	if l, _ := s.listing(p, testMarkets["us"], 0); l.Available || !l.FreshUntil.Equal(p.LaunchAt) {
		t.Errorf("100 ms before the launch: available %v, fresh until %v; want until the launch", l.Available, l.FreshUntil)
	}
	clock.Advance(100 * time.Millisecond)
	var ids []string
	for _, v := range l.Product.Variants {
		ids = append(ids, v.ID)
		if len(v.Prices) != 1 {
			t.Errorf("variant %s has prices %v, want only us", v.ID, v.Prices)
		}
	}
	if !reflect.DeepEqual(ids, []string{"a", "c"}) {
		t.Errorf("variants %v, want [a c]", ids)
	}
	if len(p.Variants[0].Prices) != 2 {
		t.Error("listing changed the product it was given")
	}
	if l, _ := s.listing(p, testMarkets["us"], 0); !l.Available || !l.FreshUntil.Equal(clock.Now().Add(CacheTTL)) {
		t.Errorf("at launch time: available %v, fresh until %v", l.Available, l.FreshUntil)
	}
	if _, ok := s.listing(Product{Variants: []Variant{{Prices: map[string]Price{}}}}, testMarkets["us"], 0); ok {
		t.Error("a product with no price in the market has a listing")
	}
}
