package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

// mktMarket is a market as the admin API shows it.
type mktMarket struct {
	Code, Name, Country, Currency string
	TaxMode                       string `json:"tax_mode"`
	Rounding                      string
	Languages                     []string
	DefaultLocale                 string `json:"default_locale"`
	TimeZone                      string `json:"time_zone"`
	Enabled                       bool
	CreatedAt                     string `json:"created_at"`
	UpdatedAt                     string `json:"updated_at"`
}

type mktTaxRate struct {
	ID, Market, Region, Category, Name string
	RatePercent                        string `json:"rate_percent"`
}

type mktMoney struct {
	Amount    int64
	Currency  string
	Formatted string
}

type mktShippingRate struct {
	ID, Market, Name, Region string
	Price                    mktMoney
	FreeAbove                *mktMoney `json:"free_above"`
	MinDays                  int       `json:"min_delivery_days"`
	MaxDays                  int       `json:"max_delivery_days"`
}

// mktWantField fails unless the response is a 400 validation problem whose
// first field error is on field.
func mktWantField(t *testing.T, r *resp, field string) {
	t.Helper()
	r.wantProblem(t, 400, "validation")
	var p struct{ Errors []shopd.FieldError }
	r.JSON(t, &p)
	if len(p.Errors) == 0 || p.Errors[0].Field != field {
		t.Fatalf("field errors %+v, want one on %s", p.Errors, field)
	}
}

// mktCustomerToken registers a shopper and returns a session token.
func mktCustomerToken(t *testing.T, e *env) string {
	t.Helper()
	_, ns, err := e.svc.customers.Register(context.Background(), customer.Registration{
		Email: "ana@example.com", Password: "correct horse battery staple", Name: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Token
}

func TestPublicMarkets(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		r := e.do("GET", "/v1/markets", nil).want(t, 200)
		want := `{"data":[` +
			`{"code":"br","name":"Brazil","country":"BR","currency":"BRL","tax_mode":"inclusive","languages":["pt"],"default_locale":"pt-BR"},` +
			`{"code":"ca","name":"Canada","country":"CA","currency":"CAD","tax_mode":"exclusive","languages":["en","fr"],"default_locale":"en-CA"},` +
			`{"code":"in","name":"India","country":"IN","currency":"INR","tax_mode":"inclusive","languages":["en","hi"],"default_locale":"en-IN"},` +
			`{"code":"us","name":"United States","country":"US","currency":"USD","tax_mode":"exclusive","languages":["en","es"],"default_locale":"en-US"}]}` + "\n"
		if string(r.Body) != want {
			t.Fatalf("body\n%s\nwant\n%s", r.Body, want)
		}
		etag := r.Header.Get("ETag")
		if etag == "" || r.Header.Get("Surrogate-Key") != "markets" || !strings.HasPrefix(r.Header.Get("Cache-Control"), "public") {
			t.Fatalf("cache headers %v", r.Header)
		}
		e.do("GET", "/v1/markets", nil, header("If-None-Match", etag)).want(t, 304)

		// A disabled market leaves the storefront, and the ETag changes.
		e.do("PATCH", "/v1/admin/markets/in", map[string]any{"enabled": false}, as(e.keys[staff.RoleAdmin])).want(t, 200)
		r = e.do("GET", "/v1/markets", nil, header("If-None-Match", etag)).want(t, 200)
		var list struct{ Data []mktMarket }
		r.JSON(t, &list)
		if len(list.Data) != 3 || list.Data[2].Code != "us" || r.Header.Get("ETag") == etag {
			t.Fatalf("after disabling in: %s (etag %s)", r.Body, r.Header.Get("ETag"))
		}
		// Still visible to staff.
		var all struct{ Data []mktMarket }
		e.do("GET", "/v1/admin/markets", nil, as(e.keys[staff.RoleReadOnly])).want(t, 200).JSON(t, &all)
		if len(all.Data) != 4 || all.Data[2].Code != "in" || all.Data[2].Enabled {
			t.Fatalf("admin list %+v", all.Data)
		}
	})
}

func TestAdminMarkets(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin, readOnly, support := as(e.keys[staff.RoleAdmin]), as(e.keys[staff.RoleReadOnly]), as(e.keys[staff.RoleSupport])

		// Access.
		e.do("GET", "/v1/admin/markets", nil).wantProblem(t, 401, "unauthorized")
		e.do("GET", "/v1/admin/markets", nil, as("sk_bogus")).wantProblem(t, 401, "invalid-api-key")
		e.do("GET", "/v1/admin/markets", nil, as(mktCustomerToken(t, e))).wantProblem(t, 403, "forbidden")
		e.do("PATCH", "/v1/admin/markets/us", map[string]any{"name": "USA"}, readOnly).wantProblem(t, 403, "insufficient-role")
		e.do("PATCH", "/v1/admin/markets/us", map[string]any{"name": "USA"}, support).wantProblem(t, 403, "insufficient-role")

		var us mktMarket
		e.do("GET", "/v1/admin/markets/us", nil, readOnly).want(t, 200).JSON(t, &us)
		created := "2026-11-23T10:00:00Z"
		want := mktMarket{Code: "us", Name: "United States", Country: "US", Currency: "USD", TaxMode: "exclusive", Rounding: "half_up",
			Languages: []string{"en", "es"}, DefaultLocale: "en-US", TimeZone: "America/New_York", Enabled: true, CreatedAt: created, UpdatedAt: created}
		if fmt.Sprintf("%+v", us) != fmt.Sprintf("%+v", want) {
			t.Fatalf("us = %+v\nwant %+v", us, want)
		}
		e.do("GET", "/v1/admin/markets/xx", nil, readOnly).wantProblem(t, 404, "market-not-found")
		e.do("GET", "/v1/admin/markets/US", nil, readOnly).wantProblem(t, 404, "market-not-found")

		// Change everything that may change.
		e.clock.Advance(3600e9)
		var ca mktMarket
		e.do("PATCH", "/v1/admin/markets/ca", map[string]any{
			"name": "Canada / Kanata", "languages": []string{"fr", "en"}, "default_locale": "fr-CA",
			"time_zone": "America/Vancouver", "rounding": "half_even", "enabled": false,
		}, admin).want(t, 200).JSON(t, &ca)
		want = mktMarket{Code: "ca", Name: "Canada / Kanata", Country: "CA", Currency: "CAD", TaxMode: "exclusive", Rounding: "half_even",
			Languages: []string{"fr", "en"}, DefaultLocale: "fr-CA", TimeZone: "America/Vancouver", Enabled: false,
			CreatedAt: created, UpdatedAt: "2026-11-23T11:00:00Z"}
		if fmt.Sprintf("%+v", ca) != fmt.Sprintf("%+v", want) {
			t.Fatalf("ca = %+v\nwant %+v", ca, want)
		}
		var again mktMarket
		e.do("GET", "/v1/admin/markets/ca", nil, readOnly).want(t, 200).JSON(t, &again)
		if fmt.Sprintf("%+v", again) != fmt.Sprintf("%+v", want) {
			t.Fatalf("stored ca = %+v", again)
		}

		// Bad input changes nothing.
		for _, tc := range []struct {
			body  any
			field string
		}{
			{map[string]any{"currency": "USD"}, "currency"},
			{map[string]any{"tax_mode": "inclusive"}, "tax_mode"},
			{map[string]any{"time_zone": "Mars/Olympus"}, "time_zone"},
			{map[string]any{"time_zone": "Local"}, "time_zone"},
			{map[string]any{"rounding": "up"}, "rounding"},
			{map[string]any{"name": ""}, "name"},
			{map[string]any{"name": strings.Repeat("n", 201)}, "name"},
			{map[string]any{"languages": []string{}}, "languages"},
			{map[string]any{"languages": []string{"en", "not a tag"}}, "languages[1]"},
			{map[string]any{"default_locale": "x"}, "default_locale"},
			{map[string]any{"enabled": "yes"}, "enabled"},
			{map[string]any{"languages": "en"}, "languages"},
			{map[string]any{"code": "cx"}, "code"},
		} {
			mktWantField(t, e.do("PATCH", "/v1/admin/markets/ca", tc.body, admin), tc.field)
		}
		e.do("PATCH", "/v1/admin/markets/ca", `{"name":`, admin).wantProblem(t, 400, "malformed-json")
		e.do("PATCH", "/v1/admin/markets/ca", `{"name":"a"}{}`, admin).wantProblem(t, 400, "malformed-json")
		e.do("PATCH", "/v1/admin/markets/zz", map[string]any{"name": "Z"}, admin).wantProblem(t, 404, "market-not-found")
		e.do("GET", "/v1/admin/markets/ca", nil, readOnly).want(t, 200).JSON(t, &again)
		if fmt.Sprintf("%+v", again) != fmt.Sprintf("%+v", want) {
			t.Fatalf("a rejected PATCH changed ca: %+v", again)
		}
	})
}

func TestTaxRatesAPI(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin, readOnly := as(e.keys[staff.RoleAdmin]), as(e.keys[staff.RoleReadOnly])

		var list struct{ Data []mktTaxRate }
		e.do("GET", "/v1/admin/markets/ca/tax-rates", nil, readOnly).want(t, 200).JSON(t, &list)
		var qc []string
		for _, r := range list.Data {
			if r.Region == "QC" {
				qc = append(qc, r.Name+" "+r.RatePercent)
			}
		}
		if len(list.Data) != 17 || strings.Join(qc, ", ") != "GST 5, QST 9.975" {
			t.Fatalf("%d ca rates; QC: %v", len(list.Data), qc)
		}
		e.do("GET", "/v1/admin/markets/in/tax-rates", nil, readOnly).want(t, 200).JSON(t, &list)
		if got := fmt.Sprintf("%+v", list.Data); !strings.Contains(got, "Region: Category:apparel Name:GST RatePercent:5}") ||
			!strings.Contains(got, "Region: Category:standard Name:GST RatePercent:18}") || len(list.Data) != 2 {
			t.Fatalf("in rates %s", got)
		}
		e.do("GET", "/v1/admin/markets/zz/tax-rates", nil, readOnly).wantProblem(t, 404, "market-not-found")
		e.do("GET", "/v1/admin/markets/ca/tax-rates", nil).wantProblem(t, 401, "unauthorized")

		// Create, with an idempotent replay.
		body := map[string]any{"region": "ny", "name": "NYC local", "rate_percent": "4.5"}
		r := e.do("POST", "/v1/admin/markets/us/tax-rates", body, admin, header("Idempotency-Key", "tr-1")).want(t, 201)
		var tr mktTaxRate
		r.JSON(t, &tr)
		if tr.Region != "NY" || tr.Category != "standard" || tr.RatePercent != "4.5" || tr.Market != "us" || tr.Name != "NYC local" ||
			r.Header.Get("Location") != "/v1/admin/tax-rates/"+tr.ID {
			t.Fatalf("created %+v at %q", tr, r.Header.Get("Location"))
		}
		replay := e.do("POST", "/v1/admin/markets/us/tax-rates", body, admin, header("Idempotency-Key", "tr-1")).want(t, 201)
		if string(replay.Body) != string(r.Body) || replay.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay %s %v", replay.Body, replay.Header)
		}
		e.do("POST", "/v1/admin/markets/us/tax-rates", map[string]any{"region": "NY", "name": "NYC local", "rate_percent": "5"},
			admin, header("Idempotency-Key", "tr-1")).wantProblem(t, 422, "idempotency-key-reused")
		e.do("POST", "/v1/admin/markets/us/tax-rates", body, admin).wantProblem(t, 409, "tax-rate-exists")
		e.do("GET", "/v1/admin/markets/us/tax-rates", nil, readOnly).want(t, 200).JSON(t, &list)
		if len(list.Data) != 11 {
			t.Fatalf("%d us rates after create, want 11", len(list.Data))
		}

		// Bad input.
		for _, tc := range []struct {
			body  any
			field string
		}{
			{map[string]any{"name": "X", "rate_percent": "abc"}, "rate_percent"},
			{map[string]any{"name": "X", "rate_percent": "-1"}, "rate_percent"},
			{map[string]any{"name": "X", "rate_percent": "101"}, "rate_percent"},
			{map[string]any{"name": "X", "rate_percent": "1.23456"}, "rate_percent"},
			{map[string]any{"name": "X", "rate_percent": ""}, "rate_percent"},
			{map[string]any{"name": "X", "rate_percent": 5}, "rate_percent"},
			{map[string]any{"name": "X"}, "rate_percent"},
			{map[string]any{"name": "", "rate_percent": "5"}, "name"},
			{map[string]any{"name": strings.Repeat("n", 201), "rate_percent": "5"}, "name"},
			{map[string]any{"name": "X", "rate_percent": "5", "region": "New York"}, "region"},
			{map[string]any{"name": "X", "rate_percent": "5", "category": "Apparel!"}, "category"},
			{map[string]any{"name": "X", "rate_percent": "5", "market": "ca"}, "market"},
		} {
			mktWantField(t, e.do("POST", "/v1/admin/markets/us/tax-rates", tc.body, admin), tc.field)
		}
		e.do("POST", "/v1/admin/markets/us/tax-rates", `[]`, admin).wantProblem(t, 400, "validation")
		e.do("POST", "/v1/admin/markets/us/tax-rates", `{"name":"X","rate_percent":"5"}`, admin, header("Content-Type", "text/plain")).
			wantProblem(t, 400, "unsupported-media-type")
		e.do("POST", "/v1/admin/markets/zz/tax-rates", map[string]any{"name": "X", "rate_percent": "5"}, admin).wantProblem(t, 404, "market-not-found")
		e.do("POST", "/v1/admin/markets/us/tax-rates", map[string]any{"name": "X", "rate_percent": "5"}, readOnly).wantProblem(t, 403, "insufficient-role")

		// Update.
		e.do("PATCH", "/v1/admin/tax-rates/"+tr.ID, map[string]any{"rate_percent": "4.875"}, admin).want(t, 200).JSON(t, &tr)
		if tr.RatePercent != "4.875" || tr.Name != "NYC local" || tr.Region != "NY" {
			t.Fatalf("updated %+v", tr)
		}
		mktWantField(t, e.do("PATCH", "/v1/admin/tax-rates/"+tr.ID, map[string]any{"rate_percent": "abc"}, admin), "rate_percent")
		mktWantField(t, e.do("PATCH", "/v1/admin/tax-rates/"+tr.ID, map[string]any{"rate_percent": "100.5"}, admin), "rate_percent")
		mktWantField(t, e.do("PATCH", "/v1/admin/tax-rates/"+tr.ID, map[string]any{"name": " "}, admin), "name")
		e.do("PATCH", "/v1/admin/tax-rates/"+tr.ID, map[string]any{"name": "Sales tax"}, admin).wantProblem(t, 409, "tax-rate-exists")
		e.do("PATCH", "/v1/admin/tax-rates/txr_nope", map[string]any{"rate_percent": "1"}, admin).wantProblem(t, 404, "tax-rate-not-found")
		e.do("PATCH", "/v1/admin/tax-rates/"+tr.ID, map[string]any{"rate_percent": "1"}, readOnly).wantProblem(t, 403, "insufficient-role")

		// Delete.
		e.do("DELETE", "/v1/admin/tax-rates/"+tr.ID, nil, readOnly).wantProblem(t, 403, "insufficient-role")
		e.do("DELETE", "/v1/admin/tax-rates/"+tr.ID, nil, admin).want(t, 204)
		e.do("DELETE", "/v1/admin/tax-rates/"+tr.ID, nil, admin).wantProblem(t, 404, "tax-rate-not-found")
		e.do("GET", "/v1/admin/markets/us/tax-rates", nil, readOnly).want(t, 200).JSON(t, &list)
		if len(list.Data) != 10 {
			t.Fatalf("%d us rates after delete, want 10", len(list.Data))
		}
	})
}

func TestShippingRatesAPI(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin, readOnly := as(e.keys[staff.RoleAdmin]), as(e.keys[staff.RoleReadOnly])

		defaults := map[string]string{
			"us": "Standard 599 USD $5.99 free above 5000 $50.00, 3-7 days",
			"ca": "Standard 999 CAD $9.99 free above 7500 $75.00, 3-8 days",
			"br": "Padrão 1990 BRL R$\u00a019,90 free above 19900 R$\u00a0199,00, 5-12 days",
			"in": "Standard 9900 INR ₹99.00 free above 99900 ₹999.00, 3-7 days",
		}
		for code, want := range defaults {
			var list struct{ Data []mktShippingRate }
			e.do("GET", "/v1/admin/markets/"+code+"/shipping-rates", nil, readOnly).want(t, 200).JSON(t, &list)
			if len(list.Data) != 1 {
				t.Fatalf("%s: %d rates", code, len(list.Data))
			}
			s := list.Data[0]
			got := fmt.Sprintf("%s %d %s %s free above %d %s, %d-%d days", s.Name, s.Price.Amount, s.Price.Currency, s.Price.Formatted,
				s.FreeAbove.Amount, s.FreeAbove.Formatted, s.MinDays, s.MaxDays)
			if got != want {
				t.Errorf("%s: %q, want %q", code, got, want)
			}
		}
		e.do("GET", "/v1/admin/markets/zz/shipping-rates", nil, readOnly).wantProblem(t, 404, "market-not-found")

		// Create with a replay.
		body := map[string]any{"name": "Express", "region": "on", "price": map[string]any{"amount": 1999, "currency": "CAD"},
			"free_above": map[string]any{"amount": 15000, "currency": "CAD"}, "min_delivery_days": 1, "max_delivery_days": 2}
		r := e.do("POST", "/v1/admin/markets/ca/shipping-rates", body, admin, header("Idempotency-Key", "sr-1")).want(t, 201)
		var sr mktShippingRate
		r.JSON(t, &sr)
		if sr.Region != "ON" || sr.Price != (mktMoney{1999, "CAD", "$19.99"}) || sr.FreeAbove == nil || *sr.FreeAbove != (mktMoney{15000, "CAD", "$150.00"}) ||
			sr.MinDays != 1 || sr.MaxDays != 2 || r.Header.Get("Location") != "/v1/admin/shipping-rates/"+sr.ID {
			t.Fatalf("created %+v at %q", sr, r.Header.Get("Location"))
		}
		replay := e.do("POST", "/v1/admin/markets/ca/shipping-rates", body, admin, header("Idempotency-Key", "sr-1")).want(t, 201)
		if string(replay.Body) != string(r.Body) || replay.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay %s", replay.Body)
		}
		body["name"] = "Overnight"
		e.do("POST", "/v1/admin/markets/ca/shipping-rates", body, admin, header("Idempotency-Key", "sr-1")).wantProblem(t, 422, "idempotency-key-reused")
		body["name"] = "Express"
		e.do("POST", "/v1/admin/markets/ca/shipping-rates", body, admin).wantProblem(t, 409, "shipping-rate-exists")

		// One delivery figure means both.
		var one mktShippingRate
		e.do("POST", "/v1/admin/markets/ca/shipping-rates", map[string]any{"name": "Pickup", "price": map[string]any{"amount": 0, "currency": "CAD"},
			"min_delivery_days": 2}, admin).want(t, 201).JSON(t, &one)
		if one.MinDays != 2 || one.MaxDays != 2 || one.FreeAbove != nil || one.Region != "" || one.Price.Formatted != "$0.00" {
			t.Fatalf("pickup %+v", one)
		}

		// Bad input.
		price := func(amount any, cur string) map[string]any { return map[string]any{"amount": amount, "currency": cur} }
		for _, tc := range []struct {
			body  any
			field string
		}{
			{map[string]any{"name": "X", "price": price(500, "USD")}, "price.currency"},
			{map[string]any{"name": "X", "price": price(500, "XYZ")}, "price.currency"},
			{map[string]any{"name": "X", "price": price(500, "CAD"), "free_above": price(500, "USD")}, "free_above.currency"},
			{map[string]any{"name": "X", "price": price(-1, "CAD")}, "price.amount"},
			{map[string]any{"name": "X", "price": price(int64(1e12)+1, "CAD")}, "price.amount"},
			{map[string]any{"name": "X", "price": price(19.99, "CAD")}, "price.amount"},
			{map[string]any{"name": "X", "price": price("500", "CAD")}, "price.amount"},
			{map[string]any{"name": "X", "price": map[string]any{"currency": "CAD"}}, "price.amount"},
			{map[string]any{"name": "X", "price": map[string]any{"amount": 1, "currency": "CAD", "formatted": "$0.01"}}, "formatted"},
			{map[string]any{"name": "X"}, "price"},
			{map[string]any{"name": "", "price": price(1, "CAD")}, "name"},
			{map[string]any{"name": strings.Repeat("x", 201), "price": price(1, "CAD")}, "name"},
			{map[string]any{"name": "X", "price": price(1, "CAD"), "min_delivery_days": 5, "max_delivery_days": 2}, "max_delivery_days"},
			{map[string]any{"name": "X", "price": price(1, "CAD"), "min_delivery_days": -1}, "min_delivery_days"},
			{map[string]any{"name": "X", "price": price(1, "CAD"), "region": "O N"}, "region"},
		} {
			mktWantField(t, e.do("POST", "/v1/admin/markets/ca/shipping-rates", tc.body, admin), tc.field)
		}
		e.do("POST", "/v1/admin/markets/zz/shipping-rates", map[string]any{"name": "X", "price": price(1, "USD")}, admin).wantProblem(t, 404, "market-not-found")
		e.do("POST", "/v1/admin/markets/ca/shipping-rates", map[string]any{"name": "X", "price": price(1, "CAD")}, readOnly).wantProblem(t, 403, "insufficient-role")
		e.do("POST", "/v1/admin/markets/ca/shipping-rates", map[string]any{"name": "X", "price": price(1, "CAD")}).wantProblem(t, 401, "unauthorized")

		// Update: remove the threshold, then reject another currency.
		var upd mktShippingRate
		r = e.do("PATCH", "/v1/admin/shipping-rates/"+sr.ID, map[string]any{"free_above": nil, "price": price(2499, "CAD")}, admin).want(t, 200)
		r.JSON(t, &upd)
		if upd.FreeAbove != nil || upd.Price.Amount != 2499 || upd.Name != "Express" || strings.Contains(string(r.Body), "free_above") {
			t.Fatalf("updated %s", r.Body)
		}
		e.do("PATCH", "/v1/admin/shipping-rates/"+sr.ID, map[string]any{"free_above": price(9900, "CAD")}, admin).want(t, 200).JSON(t, &upd)
		if upd.FreeAbove == nil || upd.FreeAbove.Amount != 9900 || upd.Price.Amount != 2499 {
			t.Fatalf("threshold back: %+v", upd)
		}
		mktWantField(t, e.do("PATCH", "/v1/admin/shipping-rates/"+sr.ID, map[string]any{"price": price(2499, "USD")}, admin), "price.currency")
		mktWantField(t, e.do("PATCH", "/v1/admin/shipping-rates/"+sr.ID, map[string]any{"free_above": "lots"}, admin), "free_above")
		mktWantField(t, e.do("PATCH", "/v1/admin/shipping-rates/"+sr.ID, map[string]any{"min_delivery_days": 3}, admin), "max_delivery_days")
		e.do("PATCH", "/v1/admin/shipping-rates/"+sr.ID, map[string]any{"name": "Pickup", "region": ""}, admin).wantProblem(t, 409, "shipping-rate-exists")
		e.do("PATCH", "/v1/admin/shipping-rates/shp_nope", map[string]any{"name": "Y"}, admin).wantProblem(t, 404, "shipping-rate-not-found")
		e.do("PATCH", "/v1/admin/shipping-rates/"+sr.ID, map[string]any{"name": "Y"}, readOnly).wantProblem(t, 403, "insufficient-role")
		var stored struct{ Data []mktShippingRate }
		e.do("GET", "/v1/admin/markets/ca/shipping-rates", nil, readOnly).want(t, 200).JSON(t, &stored)
		for _, s := range stored.Data {
			if s.ID == sr.ID && (s.Price.Amount != 2499 || s.FreeAbove.Amount != 9900 || s.MinDays != 1 || s.Name != "Express") {
				t.Fatalf("rejected updates changed the rate: %+v", s)
			}
		}

		// Delete.
		e.do("DELETE", "/v1/admin/shipping-rates/"+sr.ID, nil, readOnly).wantProblem(t, 403, "insufficient-role")
		e.do("DELETE", "/v1/admin/shipping-rates/"+sr.ID, nil, admin).want(t, 204)
		e.do("DELETE", "/v1/admin/shipping-rates/"+sr.ID, nil, admin).wantProblem(t, 404, "shipping-rate-not-found")
		e.do("GET", "/v1/admin/markets/ca/shipping-rates", nil, readOnly).want(t, 200).JSON(t, &stored)
		if len(stored.Data) != 2 {
			t.Fatalf("%d ca rates after delete, want 2", len(stored.Data))
		}
	})
}

// TestMarketWritesAudited checks that staff writes to markets reach the
// audit log.
func TestMarketWritesAudited(t *testing.T) {
	e := newEnv(t, storetest.Open(t, sqlstore.SQLite))
	e.do("PATCH", "/v1/admin/markets/us", map[string]any{"name": "USA"}, as(e.keys[staff.RoleAdmin])).want(t, 200)
	var log struct{ Data []staff.AuditEntry }
	e.do("GET", "/v1/admin/audit-log", nil, as(e.keys[staff.RoleAdmin])).want(t, 200).JSON(t, &log)
	if len(log.Data) == 0 || log.Data[0].Action != "PATCH /v1/admin/markets/{market}" || log.Data[0].Status != 200 {
		b, _ := json.Marshal(log.Data)
		t.Fatalf("audit log %s", b)
	}
}
