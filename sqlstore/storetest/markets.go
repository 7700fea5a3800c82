package storetest

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/sqlstore"
)

func testMarkets(t *testing.T, db *sqlstore.DB) {
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	clock := shopd.NewTestClock(start)
	svc := market.NewService(db.Markets(), clock)

	// 50 replicas starting at once create the defaults exactly once.
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := svc.EnsureDefaults(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	all, err := svc.Markets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, m := range all {
		codes = append(codes, m.Code)
	}
	if got := strings.Join(codes, ","); got != "br,ca,in,us" {
		t.Fatalf("markets = %s, want br,ca,in,us", got)
	}
	wantTaxes := map[string]int{"us": 10, "ca": 17, "br": 1, "in": 2}
	for code, want := range wantTaxes {
		rates, err := svc.TaxRates(ctx, code)
		if err != nil || len(rates) != want {
			t.Fatalf("%s: %d tax rates, %v; want %d", code, len(rates), err, want)
		}
		ships, err := svc.ShippingRates(ctx, code)
		if err != nil || len(ships) != 1 {
			t.Fatalf("%s: %d shipping rates, %v; want 1", code, len(ships), err)
		}
	}

	t.Run("Market", func(t *testing.T) {
		us, err := svc.Market(ctx, "us")
		if err != nil {
			t.Fatal(err)
		}
		want := market.Market{Code: "us", Name: "United States", Country: "US", Currency: "USD", TaxMode: market.TaxExclusive,
			Rounding: shopd.RoundHalfUp, Languages: []string{"en", "es"}, DefaultLocale: "en-US", TimeZone: "America/New_York",
			Enabled: true, CreatedAt: start, UpdatedAt: start}
		if fmt.Sprintf("%+v", us) != fmt.Sprintf("%+v", want) {
			t.Fatalf("us = %+v\nwant %+v", us, want)
		}
		br, err := svc.Market(ctx, "br")
		if err != nil || br.TaxMode != market.TaxInclusive || br.Currency != "BRL" || br.TimeZone != "America/Sao_Paulo" || br.DefaultLocale != "pt-BR" {
			t.Fatalf("br = %+v, %v", br, err)
		}
		for _, code := range []string{"xx", "US", "", "u s", strings.Repeat("a", 9)} {
			if _, err := svc.Market(ctx, code); shopd.ErrorCode(err) != shopd.ENOTFOUND {
				t.Errorf("Market(%q) = %v, want ENOTFOUND", code, err)
			}
		}
	})

	t.Run("UpdateMarket", func(t *testing.T) {
		clock.Advance(time.Minute)
		name, langs, locale, tz, rounding, off := "Canada (fr)", []string{"fr", "en"}, "fr-CA", "America/Vancouver", shopd.RoundHalfEven, false
		m, err := svc.UpdateMarket(ctx, "ca", market.MarketUpdate{Name: &name, Languages: &langs, DefaultLocale: &locale,
			TimeZone: &tz, Rounding: &rounding, Enabled: &off})
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.Market(ctx, "ca")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", m) || got.Name != name || strings.Join(got.Languages, ",") != "fr,en" ||
			got.DefaultLocale != locale || got.TimeZone != tz || got.Rounding != rounding || got.Enabled ||
			got.Currency != "CAD" || got.TaxMode != market.TaxExclusive || !got.UpdatedAt.Equal(clock.Now()) || !got.CreatedAt.Equal(start) {
			t.Fatalf("after update: %+v (returned %+v)", got, m)
		}
		enabled, err := svc.EnabledMarkets(ctx)
		if err != nil || len(enabled) != 3 {
			t.Fatalf("enabled = %+v, %v", enabled, err)
		}
		on := true
		if _, err := svc.UpdateMarket(ctx, "ca", market.MarketUpdate{Enabled: &on}); err != nil {
			t.Fatal(err)
		}

		// Restarts never reset a merchant's markets.
		if err := svc.EnsureDefaults(ctx); err != nil {
			t.Fatal(err)
		}
		if got, _ := svc.Market(ctx, "ca"); got.Name != name || got.TimeZone != tz {
			t.Fatalf("EnsureDefaults changed an existing market: %+v", got)
		}

		bad := func(field string, u market.MarketUpdate) {
			t.Helper()
			_, err := svc.UpdateMarket(ctx, "ca", u)
			e, ok := err.(*shopd.Error)
			if !ok || e.Code != shopd.EINVALID || len(e.Fields) == 0 || e.Fields[0].Field != field {
				t.Errorf("update %s: err = %v, want EINVALID on %s", field, err, field)
			}
		}
		s := func(v string) *string { return &v }
		bad("time_zone", market.MarketUpdate{TimeZone: s("Mars/Olympus")})
		bad("time_zone", market.MarketUpdate{TimeZone: s("Local")})
		bad("time_zone", market.MarketUpdate{TimeZone: s("")})
		bad("time_zone", market.MarketUpdate{TimeZone: s("../../etc/passwd")})
		bad("name", market.MarketUpdate{Name: s(" ")})
		bad("name", market.MarketUpdate{Name: s(strings.Repeat("x", 201))})
		bad("default_locale", market.MarketUpdate{DefaultLocale: s("english")})
		bad("languages", market.MarketUpdate{Languages: &[]string{}})
		bad("languages[1]", market.MarketUpdate{Languages: &[]string{"en", "en"}})
		bad("languages[0]", market.MarketUpdate{Languages: &[]string{"e"}})
		r := shopd.Rounding("up")
		bad("rounding", market.MarketUpdate{Rounding: &r})
		if got, _ := svc.Market(ctx, "ca"); got.Name != name || got.TimeZone != tz {
			t.Fatalf("a rejected update changed the market: %+v", got)
		}
		if _, err := svc.UpdateMarket(ctx, "zz", market.MarketUpdate{Name: s("Z")}); shopd.ErrorCode(err) != shopd.ENOTFOUND {
			t.Errorf("update unknown market: %v", err)
		}
	})

	t.Run("TaxRates", func(t *testing.T) {
		r, err := svc.CreateTaxRate(ctx, "us", market.NewTaxRate{Region: " ny ", Name: "NYC local", Rate: 45_000})
		if err != nil {
			t.Fatal(err)
		}
		if r.Region != "NY" || r.Category != "standard" || r.Name != "NYC local" || r.Rate != 45_000 || r.Market != "us" ||
			!shopd.HasIDPrefix(r.ID, "txr") {
			t.Fatalf("created %+v", r)
		}
		got, err := svc.TaxRate(ctx, r.ID)
		if err != nil || fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", r) {
			t.Fatalf("TaxRate = %+v, %v; want %+v", got, err, r)
		}
		if _, err := svc.CreateTaxRate(ctx, "us", market.NewTaxRate{Region: "NY", Name: "NYC local", Rate: 1}); !marketErrIs(err, shopd.ECONFLICT, "tax-rate-exists") {
			t.Fatalf("duplicate: %v", err)
		}
		other, err := svc.CreateTaxRate(ctx, "us", market.NewTaxRate{Region: "NY", Category: "apparel", Name: "NYC local", Rate: 0})
		if err != nil {
			t.Fatalf("same name, other category: %v", err)
		}
		std := "standard"
		if _, err := svc.UpdateTaxRate(ctx, other.ID, market.TaxRateUpdate{Category: &std}); !marketErrIs(err, shopd.ECONFLICT, "tax-rate-exists") {
			t.Fatalf("update into a duplicate: %v", err)
		}
		rate := shopd.Rate(48_750)
		clock.Advance(time.Second)
		upd, err := svc.UpdateTaxRate(ctx, r.ID, market.TaxRateUpdate{Rate: &rate})
		if err != nil || upd.Rate != 48_750 || !upd.UpdatedAt.Equal(clock.Now()) || upd.Name != "NYC local" {
			t.Fatalf("update = %+v, %v", upd, err)
		}
		if got, _ := svc.TaxRate(ctx, r.ID); got.Rate != 48_750 {
			t.Fatalf("stored rate %d", got.Rate)
		}
		for _, tc := range []struct {
			in    market.NewTaxRate
			field string
		}{
			{market.NewTaxRate{Name: "", Rate: 1}, "name"},
			{market.NewTaxRate{Name: "X", Rate: -1}, "rate_percent"},
			{market.NewTaxRate{Name: "X", Rate: shopd.MaxRate + 1}, "rate_percent"},
			{market.NewTaxRate{Name: "X", Region: "N-Y", Rate: 1}, "region"},
			{market.NewTaxRate{Name: "X", Category: "Apparel wear", Rate: 1}, "category"},
		} {
			_, err := svc.CreateTaxRate(ctx, "us", tc.in)
			if e, ok := err.(*shopd.Error); !ok || e.Code != shopd.EINVALID || e.Fields[0].Field != tc.field {
				t.Errorf("%+v: %v, want EINVALID on %s", tc.in, err, tc.field)
			}
		}
		if _, err := svc.CreateTaxRate(ctx, "zz", market.NewTaxRate{Name: "X"}); !marketErrIs(err, shopd.ENOTFOUND, "market-not-found") {
			t.Errorf("unknown market: %v", err)
		}
		if err := svc.DeleteTaxRate(ctx, other.ID); err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteTaxRate(ctx, other.ID); !marketErrIs(err, shopd.ENOTFOUND, "tax-rate-not-found") {
			t.Fatalf("delete twice: %v", err)
		}
		if _, err := svc.TaxRate(ctx, other.ID); !marketErrIs(err, shopd.ENOTFOUND, "tax-rate-not-found") {
			t.Fatalf("get deleted: %v", err)
		}
		if _, err := svc.UpdateTaxRate(ctx, "txr_nope", market.TaxRateUpdate{Rate: &rate}); !marketErrIs(err, shopd.ENOTFOUND, "tax-rate-not-found") {
			t.Fatalf("update unknown: %v", err)
		}
		rates, _ := svc.TaxRates(ctx, "us")
		if len(rates) != 11 {
			t.Fatalf("us has %d rates, want 11", len(rates))
		}

		// 30 concurrent creations of the same rate: one wins.
		var ok, conflict atomic.Int64
		var wg sync.WaitGroup
		for range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := svc.CreateTaxRate(ctx, "in", market.NewTaxRate{Category: "cosmetics", Name: "GST", Rate: 180_000})
				switch {
				case err == nil:
					ok.Add(1)
				case marketErrIs(err, shopd.ECONFLICT, "tax-rate-exists"):
					conflict.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || conflict.Load() != 29 {
			t.Fatalf("ok=%d conflict=%d, want 1 and 29", ok.Load(), conflict.Load())
		}
	})

	t.Run("ShippingRates", func(t *testing.T) {
		free := shopd.Money{Amount: 10000, Currency: "USD"}
		r, err := svc.CreateShippingRate(ctx, "us", market.NewShippingRate{Name: "Express", Region: "ny",
			Price: shopd.Money{Amount: 1500, Currency: "USD"}, FreeAbove: &free, MinDays: 1, MaxDays: 2})
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.ShippingRate(ctx, r.ID)
		if err != nil || fmt.Sprintf("%+v %+v", got, *got.FreeAbove) != fmt.Sprintf("%+v %+v", r, *r.FreeAbove) || got.Region != "NY" {
			t.Fatalf("ShippingRate = %+v, %v; want %+v", got, err, r)
		}
		if _, err := svc.CreateShippingRate(ctx, "us", market.NewShippingRate{Name: "Express", Region: "NY",
			Price: shopd.Money{Amount: 1, Currency: "USD"}}); !marketErrIs(err, shopd.ECONFLICT, "shipping-rate-exists") {
			t.Fatalf("duplicate: %v", err)
		}
		for _, tc := range []struct {
			in    market.NewShippingRate
			field string
		}{
			{market.NewShippingRate{Name: "X", Price: shopd.Money{Amount: 100, Currency: "CAD"}}, "price.currency"},
			{market.NewShippingRate{Name: "X", Price: shopd.Money{Amount: -1, Currency: "USD"}}, "price.amount"},
			{market.NewShippingRate{Name: "X", Price: shopd.Money{Amount: market.MaxAmount + 1, Currency: "USD"}}, "price.amount"},
			{market.NewShippingRate{Name: "X", Price: shopd.Money{Amount: 1, Currency: "USD"}, FreeAbove: &shopd.Money{Amount: 1, Currency: "EUR"}}, "free_above.currency"},
			{market.NewShippingRate{Name: "X", Price: shopd.Money{Amount: 1, Currency: "USD"}, MinDays: 5, MaxDays: 2}, "max_delivery_days"},
			{market.NewShippingRate{Name: "X", Price: shopd.Money{Amount: 1, Currency: "USD"}, MaxDays: 366}, "max_delivery_days"},
		} {
			_, err := svc.CreateShippingRate(ctx, "us", tc.in)
			if e, ok := err.(*shopd.Error); !ok || e.Code != shopd.EINVALID || e.Fields[0].Field != tc.field {
				t.Errorf("%+v: %v, want EINVALID on %s", tc.in, err, tc.field)
			}
		}

		// Remove the threshold, change the price.
		price := shopd.Money{Amount: 1700, Currency: "USD"}
		upd, err := svc.UpdateShippingRate(ctx, r.ID, market.ShippingRateUpdate{Price: &price, SetFreeAbove: true})
		if err != nil || upd.FreeAbove != nil || upd.Price != price {
			t.Fatalf("update = %+v, %v", upd, err)
		}
		if got, _ := svc.ShippingRate(ctx, r.ID); got.FreeAbove != nil || got.Price != price || got.MinDays != 1 || got.MaxDays != 2 {
			t.Fatalf("stored %+v", got)
		}
		cad := shopd.Money{Amount: 1, Currency: "CAD"}
		if _, err := svc.UpdateShippingRate(ctx, r.ID, market.ShippingRateUpdate{Price: &cad}); !marketErrIs(err, shopd.EINVALID, "validation") {
			t.Fatalf("update in CAD: %v", err)
		}
		minDays := 3
		if _, err := svc.UpdateShippingRate(ctx, r.ID, market.ShippingRateUpdate{MinDays: &minDays}); !marketErrIs(err, shopd.EINVALID, "validation") {
			t.Fatalf("min above max: %v", err)
		}
		if got, _ := svc.ShippingRate(ctx, r.ID); got.Price != price || got.MinDays != 1 {
			t.Fatalf("a rejected update changed the rate: %+v", got)
		}
		opts, err := svc.ShippingOptions(ctx, "us", "ca")
		if err != nil || len(opts) != 1 || opts[0].Name != "Standard" {
			t.Fatalf("options for CA = %+v, %v", opts, err)
		}
		opts, err = svc.ShippingOptions(ctx, "us", "NY")
		if err != nil || len(opts) != 2 {
			t.Fatalf("options for NY = %+v, %v", opts, err)
		}
		if err := svc.DeleteShippingRate(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteShippingRate(ctx, r.ID); !marketErrIs(err, shopd.ENOTFOUND, "shipping-rate-not-found") {
			t.Fatalf("delete twice: %v", err)
		}

		// The per-market limit holds under concurrency: br has 1 rate, so
		// of 120 concurrent creations exactly 99 fit.
		var ok, full atomic.Int64
		var wg sync.WaitGroup
		for i := range 120 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := svc.CreateShippingRate(ctx, "br", market.NewShippingRate{Name: fmt.Sprintf("Opção %d", i),
					Price: shopd.Money{Amount: int64(i), Currency: "BRL"}})
				switch {
				case err == nil:
					ok.Add(1)
				case marketErrIs(err, shopd.ECONFLICT, "too-many-shipping-rates"):
					full.Add(1)
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 99 || full.Load() != 21 {
			t.Fatalf("created %d, refused %d; want 99 and 21", ok.Load(), full.Load())
		}
	})

	t.Run("Price", func(t *testing.T) {
		ships, err := svc.ShippingRates(ctx, "ca")
		if err != nil {
			t.Fatal(err)
		}
		b, err := svc.Price(ctx, "ca", "QC", []market.Line{{UnitPrice: shopd.Money{Amount: 1999, Currency: "CAD"}, Quantity: 1}}, ships[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		// The rounding was set to half_even above: QST 199.40025 → 199 either way, GST 99.95 → 100.
		if b.Tax.Amount != 299 || b.Shipping.Amount != 999 || b.Total.Amount != 3297 || len(b.Taxes) != 2 {
			t.Fatalf("breakdown = %+v", b)
		}
		usShips, _ := svc.ShippingRates(ctx, "us")
		if _, err := svc.Price(ctx, "ca", "QC", nil, usShips[0].ID); !marketErrIs(err, shopd.ENOTFOUND, "shipping-rate-not-found") {
			t.Fatalf("shipping rate of another market: %v", err)
		}
		if _, err := svc.Price(ctx, "zz", "QC", nil, ""); !marketErrIs(err, shopd.ENOTFOUND, "market-not-found") {
			t.Fatalf("unknown market: %v", err)
		}
	})
}

// marketErrIs reports whether err is a *shopd.Error with the code and type.
func marketErrIs(err error, code, typ string) bool {
	e, ok := err.(*shopd.Error)
	return ok && e.Code == code && e.Type == typ
}
