package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/cart"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

// cartEnv is newEnv and its cart service.
func cartEnv(t *testing.T, db *sqlstore.DB) (*env, *cart.Service) {
	t.Helper()
	e := newEnv(t, db)
	return e, e.svc.carts
}

// cartMoney is Money in a cart response.
type cartMoney struct {
	Amount    int64
	Currency  string
	Formatted string
}

type cartBody struct {
	ID           string
	Market       string
	CustomerID   string `json:"customer_id"`
	Region       string
	Currency     string
	TaxIncluded  bool `json:"tax_included"`
	ItemCount    int  `json:"item_count"`
	Lines        []cartLineBody
	DiscountCode *struct {
		Code, Kind, Percent, Problem string
		Applied                      bool
		Amount                       cartMoney
	} `json:"discount_code"`
	Subtotal, Discount, Shipping, Tax, Total cartMoney
	ShippingTax                              cartMoney                  `json:"shipping_tax"`
	ShippingFree                             bool                       `json:"shipping_free"`
	ShippingRate                             *struct{ ID, Name string } `json:"shipping_rate"`
	Taxes                                    []struct {
		Name        string
		RatePercent string `json:"rate_percent"`
		Amount      cartMoney
	}
	Checkout struct {
		Ready   bool
		Problem string
	}
	ExpiresAt time.Time `json:"expires_at"`
}

type cartLineBody struct {
	ID, SKU, Title     string
	VariantID          string `json:"variant_id"`
	Quantity           int
	PurchaseLimit      int `json:"purchase_limit"`
	Available          bool
	UnavailableReason  string     `json:"unavailable_reason"`
	UnitPrice          *cartMoney `json:"unit_price"`
	Subtotal, Discount cartMoney
	Tax, Total         cartMoney
}

// cartProducts makes the products the cart tests buy and returns variant
// IDs by name.
func cartProducts(t *testing.T, e *env) map[string]string {
	t.Helper()
	ctx := context.Background()
	usd := func(n int64) map[string]catalog.Price {
		return map[string]catalog.Price{"us": {Amount: shopd.Money{Amount: n, Currency: "USD"}}}
	}
	later := testStart.Add(24 * time.Hour)
	out := map[string]string{}
	for _, p := range []struct {
		name   string
		status catalog.Status
		launch *time.Time
		limit  int
		prices map[string]catalog.Price
	}{
		{"glow", catalog.StatusActive, nil, 0, map[string]catalog.Price{
			"us": {Amount: shopd.Money{Amount: 1999, Currency: "USD"}}, "br": {Amount: shopd.Money{Amount: 9990, Currency: "BRL"}}}},
		{"limited", catalog.StatusActive, nil, 2, usd(1000)},
		{"drop", catalog.StatusActive, &later, 1, usd(5000)},
		{"draft", catalog.StatusDraft, nil, 0, usd(700)},
		{"brazil-only", catalog.StatusActive, nil, 0, map[string]catalog.Price{"br": {Amount: shopd.Money{Amount: 100, Currency: "BRL"}}}},
	} {
		prod, err := e.svc.catalog.CreateProduct(ctx, catalog.NewProduct{Handle: p.name, Title: strings.ToUpper(p.name), Status: p.status,
			LaunchAt: p.launch, PurchaseLimit: p.limit, Variants: []catalog.NewVariant{{SKU: "SKU-" + p.name, Prices: p.prices}}})
		if err != nil {
			t.Fatal(err)
		}
		out[p.name] = prod.Variants[0].ID
	}
	return out
}

func (e *env) newCart(t *testing.T, body any, opts ...opt) cartBody {
	t.Helper()
	var c cartBody
	r := e.do("POST", "/v1/carts", body, opts...).want(t, 201)
	r.JSON(t, &c)
	if r.Header.Get("Location") != "/v1/carts/"+c.ID || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers %v", r.Header)
	}
	return c
}

func (e *env) cartDo(t *testing.T, status int, method, path string, body any, opts ...opt) cartBody {
	t.Helper()
	var c cartBody
	e.do(method, path, body, opts...).want(t, status).JSON(t, &c)
	return c
}

func TestCartPricing(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e, _ := cartEnv(t, db)
		v := cartProducts(t, e)

		c := e.newCart(t, map[string]string{"market": "us", "region": "ny"})
		if !strings.HasPrefix(c.ID, "crt_") || c.Market != "us" || c.Region != "NY" || c.CustomerID != "" || c.Currency != "USD" ||
			c.TaxIncluded || len(c.Lines) != 0 || c.Total.Amount != 0 || c.Checkout.Ready || c.Checkout.Problem != "cart-empty" ||
			!c.ExpiresAt.Equal(testStart.Add(30*24*time.Hour)) {
			t.Fatalf("new cart %+v", c)
		}
		lines := "/v1/carts/" + c.ID + "/lines"

		// 3 × 19.99 in New York: 4% sales tax, free shipping above $50.
		c = e.cartDo(t, 200, "POST", lines, map[string]any{"variant_id": v["glow"], "quantity": 3})
		l := c.Lines[0]
		if len(c.Lines) != 1 || l.Quantity != 3 || !l.Available || l.UnitPrice.Amount != 1999 || l.Subtotal.Amount != 5997 ||
			l.Tax.Amount != 240 || l.Total.Amount != 6237 || l.SKU != "SKU-glow" || l.Title != "GLOW" {
			t.Fatalf("line %+v", l)
		}
		if c.Subtotal.Amount != 5997 || c.Tax.Amount != 240 || c.Shipping.Amount != 0 || !c.ShippingFree || c.Total.Amount != 6237 ||
			c.Total.Formatted != "$62.37" || c.ShippingRate == nil || c.ShippingRate.Name != "Standard" || !c.Checkout.Ready ||
			len(c.Taxes) != 1 || c.Taxes[0].Name != "Sales tax" || c.Taxes[0].RatePercent != "4" || c.ItemCount != 3 {
			t.Fatalf("cart %+v", c)
		}
		// The same variant again raises the line's quantity; quantity defaults to 1.
		c = e.cartDo(t, 200, "POST", lines, map[string]any{"variant_id": v["glow"]})
		if len(c.Lines) != 1 || c.Lines[0].Quantity != 4 || c.Lines[0].ID != l.ID {
			t.Fatalf("lines %+v", c.Lines)
		}

		// What cannot be bought.
		for name, typ := range map[string]string{"drop": "not-purchasable", "draft": "not-purchasable", "brazil-only": "not-purchasable"} {
			e.do("POST", lines, map[string]any{"variant_id": v[name]}).wantProblem(t, 400, typ)
		}
		e.do("POST", lines, map[string]any{"variant_id": shopd.NewID("var")}).wantProblem(t, 400, "not-purchasable")
		e.do("POST", lines, map[string]any{"variant_id": "bogus"}).wantProblem(t, 400, "not-purchasable")

		// Purchase limit 2.
		e.do("POST", lines, map[string]any{"variant_id": v["limited"], "quantity": 3}).wantProblem(t, 400, "purchase-limit-exceeded")
		c = e.cartDo(t, 200, "POST", lines, map[string]any{"variant_id": v["limited"], "quantity": 2})
		lim := c.Lines[1]
		if lim.PurchaseLimit != 2 || lim.Quantity != 2 {
			t.Fatalf("limited line %+v", lim)
		}
		e.do("POST", lines, map[string]any{"variant_id": v["limited"]}).wantProblem(t, 400, "purchase-limit-exceeded")
		e.do("PATCH", lines+"/"+lim.ID, map[string]any{"quantity": 3}).wantProblem(t, 400, "purchase-limit-exceeded")

		// Change and remove lines.
		c = e.cartDo(t, 200, "PATCH", lines+"/"+l.ID, map[string]any{"quantity": 1})
		// 19.99 + 20.00 = 39.99 < 50: shipping 5.99; tax 0.80 + 0.80.
		if c.Lines[0].Quantity != 1 || c.Subtotal.Amount != 3999 || c.Shipping.Amount != 599 || c.Tax.Amount != 160 || c.Total.Amount != 3999+599+160 {
			t.Fatalf("after update %+v", c)
		}
		c = e.cartDo(t, 200, "DELETE", lines+"/"+lim.ID, nil)
		if len(c.Lines) != 1 || c.Subtotal.Amount != 1999 {
			t.Fatalf("after remove %+v", c)
		}
		e.do("DELETE", lines+"/"+lim.ID, nil).wantProblem(t, 404, "cart-line-not-found")
		e.do("PATCH", lines+"/cln_nope", map[string]any{"quantity": 1}).wantProblem(t, 404, "cart-line-not-found")

		// Bad input.
		for _, body := range []any{
			map[string]any{"variant_id": v["glow"], "quantity": 0},
			map[string]any{"variant_id": v["glow"], "quantity": 1001},
			map[string]any{"variant_id": v["glow"], "quantity": "two"},
			map[string]any{"variant_id": v["glow"], "colour": "red"},
			map[string]any{"quantity": 1},
		} {
			e.do("POST", lines, body).wantProblem(t, 400, "validation")
		}
		e.do("POST", lines, "{").wantProblem(t, 400, "malformed-json")
		e.do("PATCH", lines+"/"+l.ID, map[string]any{}).wantProblem(t, 400, "validation")
		e.do("PATCH", lines+"/"+l.ID, map[string]any{"quantity": -1}).wantProblem(t, 400, "validation")
		e.do("POST", "/v1/carts", map[string]any{"market": "zz"}).wantProblem(t, 400, "unknown-market")
		e.do("POST", "/v1/carts", map[string]any{"market": "us", "region": strings.Repeat("X", 11)}).wantProblem(t, 400, "validation")
		e.do("POST", "/v1/carts", map[string]any{"market": 1}).wantProblem(t, 400, "validation")

		// A product that goes off sale stays in the cart, flagged and not
		// counted.
		if _, err := e.svc.catalog.ArchiveProduct(context.Background(), "glow"); err != nil {
			t.Fatal(err)
		}
		c = e.cartDo(t, 200, "GET", "/v1/carts/"+c.ID, nil)
		if c.Lines[0].Available || c.Lines[0].UnavailableReason != "not_active" || c.Total.Amount != 0 || c.Checkout.Problem != "not-purchasable" {
			t.Fatalf("archived line %+v", c)
		}

		// The default market; unknown carts.
		if d := e.newCart(t, map[string]any{}); d.Market != "us" {
			t.Fatalf("default market %q", d.Market)
		}
		e.do("GET", "/v1/carts/"+shopd.NewID("crt"), nil).wantProblem(t, 404, "cart-not-found")
		e.do("GET", "/v1/carts/nope", nil).wantProblem(t, 404, "cart-not-found")
		e.do("POST", "/v1/carts/nope/lines", map[string]any{"variant_id": v["limited"]}).wantProblem(t, 404, "cart-not-found")

		// Expiry: 30 days after the last change.
		e.clock.Advance(30 * 24 * time.Hour)
		e.do("GET", "/v1/carts/"+c.ID, nil).wantProblem(t, 404, "cart-not-found")
	})
}

// TestCartCreateWithLines: a cart made with its lines in one request ("buy
// now"), checked as adding them one by one is; a cart that fails a check is
// not made at all.
func TestCartCreateWithLines(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e, _ := cartEnv(t, db)
		v := cartProducts(t, e)
		carts := func() (n int) {
			t.Helper()
			if err := db.InTx(context.Background(), func(tx *sqlstore.Tx) error {
				return tx.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM carts`).Scan(&n)
			}); err != nil {
				t.Fatal(err)
			}
			return n
		}

		c := e.newCart(t, map[string]any{"market": "us", "region": "NY", "lines": []map[string]any{
			{"variant_id": v["glow"], "quantity": 2}, {"variant_id": v["limited"]}, {"variant_id": v["glow"]}}})
		if len(c.Lines) != 2 || c.Lines[0].VariantID != v["glow"] || c.Lines[0].Quantity != 3 || c.Lines[1].VariantID != v["limited"] ||
			c.Lines[1].Quantity != 1 || !strings.HasPrefix(c.Lines[0].ID, "cln_") || c.Subtotal.Amount != 3*1999+1000 || !c.Checkout.Ready {
			t.Fatalf("cart with lines %+v", c)
		}
		if got := e.cartDo(t, 200, "GET", "/v1/carts/"+c.ID, nil); len(got.Lines) != 2 || got.Lines[0].ID != c.Lines[0].ID || got.Total != c.Total {
			t.Fatalf("read back %+v", got)
		}
		made := carts()

		tooMany := make([]map[string]any, cart.MaxLines+1)
		for i := range tooMany {
			tooMany[i] = map[string]any{"variant_id": v["glow"]}
		}
		for typ, lines := range map[string][]map[string]any{
			"not-purchasable":         {{"variant_id": v["glow"]}, {"variant_id": v["drop"]}},
			"purchase-limit-exceeded": {{"variant_id": v["limited"], "quantity": 2}, {"variant_id": v["limited"]}},
			"validation":              {{"variant_id": v["glow"], "quantity": 0}},
			"too-many-lines":          tooMany,
		} {
			e.do("POST", "/v1/carts", map[string]any{"market": "us", "lines": lines}).wantProblem(t, 400, typ)
		}
		if p := e.do("POST", "/v1/carts", map[string]any{"lines": []map[string]any{{"quantity": 1}}}).wantProblem(t, 400, "validation"); !strings.Contains(string(p.Body), "lines[0].variant_id") {
			t.Fatalf("field not named: %s", p.Body)
		}
		if n := carts(); n != made {
			t.Fatalf("%d carts after the failed requests, want %d", n, made)
		}
	})
}

// TestCartInclusiveMarket: in Brazil shelf prices hold 18% ICMS.
func TestCartInclusiveMarket(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e, _ := cartEnv(t, db)
		v := cartProducts(t, e)
		c := e.newCart(t, map[string]string{"market": "br"})
		c = e.cartDo(t, 200, "POST", "/v1/carts/"+c.ID+"/lines", map[string]any{"variant_id": v["glow"]})
		// 99.90 holds 99.90 × 18/118 = 15.239 → 15.24 of tax; shipping 19.90
		// below R$ 199, untaxed; the total is what the shelf says.
		if !c.TaxIncluded || c.Currency != "BRL" || c.Subtotal.Amount != 9990 || c.Tax.Amount != 1524 || c.Shipping.Amount != 1990 ||
			c.Total.Amount != 11980 || c.Lines[0].Total.Amount != 9990 || c.Total.Formatted != "R$\u00a0119,80" {
			t.Fatalf("cart %+v", c)
		}
	})
}

func TestCartOwnership(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e, _ := cartEnv(t, db)
		v := cartProducts(t, e)
		ana, tokAna := e.register("ana@example.com")
		_, tokBob := e.register("bob@example.com")
		c := e.newCart(t, map[string]string{"market": "us"}, as(tokAna))
		if c.CustomerID != ana {
			t.Fatalf("customer %q, want %q", c.CustomerID, ana)
		}
		path := "/v1/carts/" + c.ID
		e.cartDo(t, 200, "GET", path, nil, as(tokAna))
		for _, o := range [][]opt{nil, {as(tokBob)}, {as(e.keys[staff.RoleOwner])}} {
			e.do("GET", path, nil, o...).wantProblem(t, 404, "cart-not-found")
			e.do("POST", path+"/lines", map[string]any{"variant_id": v["glow"]}, o...).wantProblem(t, 404, "cart-not-found")
		}
		e.do("GET", path, nil, as("ses_bogus")).want(t, 401)
		// A guest cart is anyone's who holds its ID.
		g := e.newCart(t, map[string]string{"market": "us"})
		e.cartDo(t, 200, "POST", "/v1/carts/"+g.ID+"/lines", map[string]any{"variant_id": v["glow"]}, as(tokBob))
	})
}

func TestCartIdempotency(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e, _ := cartEnv(t, db)
		v := cartProducts(t, e)
		c := e.newCart(t, map[string]string{"market": "us"})
		lines := "/v1/carts/" + c.ID + "/lines"
		key := header("Idempotency-Key", "add-1")
		first := e.do("POST", lines, map[string]any{"variant_id": v["glow"], "quantity": 2}, key).want(t, 200)
		again := e.do("POST", lines, map[string]any{"variant_id": v["glow"], "quantity": 2}, key).want(t, 200)
		if string(again.Body) != string(first.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay %s / %v", again.Body, again.Header)
		}
		e.do("POST", lines, map[string]any{"variant_id": v["glow"], "quantity": 3}, key).wantProblem(t, 422, "idempotency-key-reused")
		if got := e.cartDo(t, 200, "GET", "/v1/carts/"+c.ID, nil); got.Lines[0].Quantity != 2 {
			t.Fatalf("quantity %d after a replay, want 2", got.Lines[0].Quantity)
		}
	})
}

// discountBody is a discount as staff see it.
type discountBody struct {
	ID, Code, Kind, Percent, Currency string
	Amount                            *shopd.Money
	MinimumSubtotal                   *shopd.Money `json:"minimum_subtotal"`
	StartsAt                          *time.Time   `json:"starts_at"`
	EndsAt                            *time.Time   `json:"ends_at"`
	UsageLimit                        int          `json:"usage_limit"`
	PerCustomerLimit                  int          `json:"per_customer_limit"`
	Active                            bool
	TimesUsed                         int `json:"times_used"`
}

func TestDiscountAdmin(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e, _ := cartEnv(t, db)
		admin, reader := as(e.keys[staff.RoleAdmin]), as(e.keys[staff.RoleReadOnly])
		starts, ends := testStart.Add(time.Hour), testStart.Add(48*time.Hour)
		var d discountBody
		r := e.do("POST", "/v1/admin/discounts", map[string]any{
			"code": "save15", "kind": "percent", "percent": "15", "minimum_subtotal": map[string]any{"amount": 5000, "currency": "USD"},
			"starts_at": starts, "ends_at": ends, "usage_limit": 50, "per_customer_limit": 1,
		}, admin).want(t, 201)
		r.JSON(t, &d)
		if r.Header.Get("Location") != "/v1/admin/discounts/"+d.ID || d.Code != "SAVE15" || d.Kind != "percent" || d.Percent != "15" ||
			d.Currency != "USD" || *d.MinimumSubtotal != (shopd.Money{Amount: 5000, Currency: "USD"}) || !d.StartsAt.Equal(starts) ||
			!d.EndsAt.Equal(ends) || d.UsageLimit != 50 || d.PerCustomerLimit != 1 || !d.Active || d.TimesUsed != 0 || d.Amount != nil {
			t.Fatalf("discount %+v", d)
		}
		var got discountBody
		e.do("GET", "/v1/admin/discounts/save15", nil, reader).want(t, 200).JSON(t, &got)
		if got.ID != d.ID {
			t.Fatalf("by code: %+v", got)
		}
		e.do("GET", "/v1/admin/discounts/"+d.ID, nil, reader).want(t, 200)
		e.do("GET", "/v1/admin/discounts/NOPE", nil, reader).wantProblem(t, 404, "discount-not-found")
		e.do("GET", "/v1/admin/discounts/"+shopd.NewID("dsc"), nil, reader).wantProblem(t, 404, "discount-not-found")
		e.do("POST", "/v1/admin/discounts", map[string]any{"code": "Save15", "kind": "percent", "percent": "5"}, admin).wantProblem(t, 409, "discount-code-taken")

		fixed := map[string]any{"code": "FIVE-OFF", "kind": "fixed", "amount": map[string]any{"amount": 500, "currency": "USD"}}
		var f discountBody
		e.do("POST", "/v1/admin/discounts", fixed, admin).want(t, 201).JSON(t, &f)
		if f.Amount == nil || *f.Amount != (shopd.Money{Amount: 500, Currency: "USD"}) || f.Percent != "" || f.Currency != "USD" {
			t.Fatalf("fixed %+v", f)
		}

		// Bad input.
		for name, body := range map[string]map[string]any{
			"bad code":            {"code": "no spaces", "kind": "percent", "percent": "5"},
			"long code":           {"code": strings.Repeat("A", 33), "kind": "percent", "percent": "5"},
			"bad kind":            {"code": "K1", "kind": "bogo", "percent": "5"},
			"zero percent":        {"code": "K2", "kind": "percent", "percent": "0"},
			"over 100":            {"code": "K3", "kind": "percent", "percent": "101"},
			"no percent":          {"code": "K4", "kind": "percent"},
			"fixed, no amount":    {"code": "K5", "kind": "fixed"},
			"negative amount":     {"code": "K6", "kind": "fixed", "amount": map[string]any{"amount": -1, "currency": "USD"}},
			"unknown currency":    {"code": "K7", "kind": "fixed", "amount": map[string]any{"amount": 1, "currency": "XXY"}},
			"currencies differ":   {"code": "K8", "kind": "fixed", "amount": map[string]any{"amount": 1, "currency": "USD"}, "minimum_subtotal": map[string]any{"amount": 1, "currency": "CAD"}},
			"percent with amount": {"code": "K9", "kind": "percent", "percent": "5", "amount": map[string]any{"amount": 1, "currency": "USD"}},
			"ends before start":   {"code": "K10", "kind": "percent", "percent": "5", "starts_at": ends, "ends_at": starts},
			"negative limit":      {"code": "K11", "kind": "percent", "percent": "5", "usage_limit": -1},
			"unknown field":       {"code": "K12", "kind": "percent", "percent": "5", "stackable": true},
			"wrong type":          {"code": "K13", "kind": "percent", "percent": 5},
		} {
			r := e.do("POST", "/v1/admin/discounts", body, admin)
			if r.Status != 400 || r.Problem() != "validation" {
				t.Errorf("%s: %d %s", name, r.Status, r.Body)
			}
		}

		// Update: null clears, the other kind's value is refused.
		got = discountBody{}
		e.do("PATCH", "/v1/admin/discounts/SAVE15", map[string]any{"minimum_subtotal": nil, "ends_at": nil, "percent": "20", "active": false}, admin).want(t, 200).JSON(t, &got)
		if got.MinimumSubtotal != nil || got.EndsAt != nil || got.Percent != "20" || got.Active || got.Currency != "" || !got.StartsAt.Equal(starts) {
			t.Fatalf("updated %+v", got)
		}
		e.do("PATCH", "/v1/admin/discounts/SAVE15", map[string]any{"amount": map[string]any{"amount": 1, "currency": "USD"}}, admin).wantProblem(t, 400, "validation")
		e.do("PATCH", "/v1/admin/discounts/SAVE15", map[string]any{"code": "OTHER"}, admin).wantProblem(t, 400, "validation")
		e.do("PATCH", "/v1/admin/discounts/NOPE", map[string]any{"active": true}, admin).wantProblem(t, 404, "discount-not-found")

		// List, newest first, in pages.
		var page struct {
			Data       []discountBody
			NextCursor string `json:"next_cursor"`
		}
		e.do("GET", "/v1/admin/discounts?limit=1", nil, reader).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].Code != "FIVE-OFF" || page.NextCursor == "" {
			t.Fatalf("page 1 %+v", page)
		}
		cursor := page.NextCursor
		page.Data, page.NextCursor = nil, ""
		e.do("GET", "/v1/admin/discounts?limit=1&cursor="+cursor, nil, reader).want(t, 200).JSON(t, &page)
		if len(page.Data) != 1 || page.Data[0].Code != "SAVE15" || page.NextCursor != "" {
			t.Fatalf("page 2 %+v", page)
		}
		e.do("GET", "/v1/admin/discounts?limit=0", nil, reader).wantProblem(t, 400, "validation")
		e.do("GET", "/v1/admin/discounts?cursor=x", nil, reader).wantProblem(t, 400, "validation")

		// Access.
		_, tok := e.register("c@example.com")
		e.do("GET", "/v1/admin/discounts", nil).want(t, 401)
		e.do("GET", "/v1/admin/discounts", nil, as(tok)).want(t, 403)
		e.do("POST", "/v1/admin/discounts", fixed, reader).wantProblem(t, 403, "insufficient-role")
		e.do("PATCH", "/v1/admin/discounts/SAVE15", map[string]any{"active": true}, reader).wantProblem(t, 403, "insufficient-role")

		// Idempotent create.
		key := header("Idempotency-Key", "disc-1")
		body := map[string]any{"code": "ONCE", "kind": "percent", "percent": "10"}
		first := e.do("POST", "/v1/admin/discounts", body, admin, key).want(t, 201)
		again := e.do("POST", "/v1/admin/discounts", body, admin, key).want(t, 201)
		if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay %s", again.Body)
		}
		body["percent"] = "11"
		e.do("POST", "/v1/admin/discounts", body, admin, key).wantProblem(t, 422, "idempotency-key-reused")
	})
}

func TestCartDiscounts(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e, _ := cartEnv(t, db)
		v := cartProducts(t, e)
		admin := as(e.keys[staff.RoleAdmin])
		mk := func(body map[string]any) {
			e.do("POST", "/v1/admin/discounts", body, admin).want(t, 201)
		}
		mk(map[string]any{"code": "SAVE15", "kind": "percent", "percent": "15", "minimum_subtotal": map[string]any{"amount": 5000, "currency": "USD"}})
		mk(map[string]any{"code": "FIVE", "kind": "fixed", "amount": map[string]any{"amount": 500, "currency": "USD"}})
		mk(map[string]any{"code": "CAD5", "kind": "fixed", "amount": map[string]any{"amount": 500, "currency": "CAD"}})
		mk(map[string]any{"code": "LATER", "kind": "percent", "percent": "5", "starts_at": testStart.Add(time.Hour)})
		mk(map[string]any{"code": "GONE", "kind": "percent", "percent": "5", "ends_at": testStart})
		mk(map[string]any{"code": "OFF", "kind": "percent", "percent": "5", "active": false})
		mk(map[string]any{"code": "USEDUP", "kind": "percent", "percent": "5", "usage_limit": 1})
		mk(map[string]any{"code": "ONEEACH", "kind": "percent", "percent": "5", "per_customer_limit": 1})
		cusID, tok := e.register("dee@example.com")
		ctx := context.Background()
		for _, red := range []struct{ code, customer, ref string }{{"USEDUP", "x@example.com", "ord_1"}, {"ONEEACH", cusID, "ord_2"}} {
			if err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
				_, err := tx.RedeemDiscount(ctx, red.code, red.customer, red.ref)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}

		c := e.newCart(t, map[string]string{"market": "us", "region": "CA"})
		path := "/v1/carts/" + c.ID
		// 19.99 + 2 × 10.00 = 39.99: below SAVE15's minimum.
		e.cartDo(t, 200, "POST", path+"/lines", map[string]any{"variant_id": v["glow"]})
		e.cartDo(t, 200, "POST", path+"/lines", map[string]any{"variant_id": v["limited"], "quantity": 2})
		for code, want := range map[string][2]any{
			"save15": {400, "minimum-not-met"}, "NOPE": {404, "discount-not-found"}, "OFF": {404, "discount-not-found"},
			"CAD5": {400, "discount-not-applicable"}, "LATER": {400, "discount-not-started"}, "GONE": {400, "discount-expired"},
			"USEDUP": {409, "discount-exhausted"}, "bad code": {400, "validation"},
		} {
			e.do("POST", path+"/discounts", map[string]string{"code": code}).wantProblem(t, want[0].(int), want[1].(string))
		}
		e.do("POST", path+"/discounts", map[string]any{"code": "FIVE", "stack": true}).wantProblem(t, 400, "validation")

		// $5 off 39.99, split 19.99 : 20.00 → 2.50 (2.4994 rounds down, then
		// the larger remainder) and 2.50; CA 7.25% on 17.49 and 17.50.
		c = e.cartDo(t, 200, "POST", path+"/discounts", map[string]string{"code": "five"})
		if c.DiscountCode == nil || c.DiscountCode.Code != "FIVE" || !c.DiscountCode.Applied || c.DiscountCode.Amount.Amount != 500 ||
			c.Discount.Amount != 500 || c.Lines[0].Discount.Amount+c.Lines[1].Discount.Amount != 500 {
			t.Fatalf("applied %+v", c)
		}
		wantTax := int64(127 + 127) // 17.49 × 7.25% = 1.268 → 1.27; 17.50 × 7.25% = 1.269 → 1.27
		if c.Lines[0].Discount.Amount != 250 || c.Lines[1].Discount.Amount != 250 || c.Tax.Amount != wantTax ||
			c.Total.Amount != 3999-500+599+wantTax {
			t.Fatalf("discounted cart %+v", c)
		}
		// Raising the subtotal over 50 makes SAVE15 apply; it replaces FIVE.
		c = e.cartDo(t, 200, "POST", path+"/lines", map[string]any{"variant_id": v["glow"], "quantity": 1})
		c = e.cartDo(t, 200, "POST", path+"/discounts", map[string]string{"code": "SAVE15"})
		if c.DiscountCode.Code != "SAVE15" || c.Subtotal.Amount != 5998 || c.Discount.Amount != 900 { // 899.7 → 900
			t.Fatalf("SAVE15 %+v", c)
		}
		// Dropping below the minimum keeps the code on the cart, not applied.
		c = e.cartDo(t, 200, "PATCH", path+"/lines/"+c.Lines[0].ID, map[string]any{"quantity": 1})
		if c.DiscountCode.Applied || c.DiscountCode.Problem != "minimum-not-met" || c.Discount.Amount != 0 || c.Checkout.Problem != "minimum-not-met" {
			t.Fatalf("below minimum %+v", c)
		}
		e.do("DELETE", path+"/discounts/FIVE", nil).wantProblem(t, 404, "discount-not-found")
		c = e.cartDo(t, 200, "DELETE", path+"/discounts/save15", nil)
		if c.DiscountCode != nil || !c.Checkout.Ready {
			t.Fatalf("removed %+v", c)
		}

		// The per-customer limit, for a customer's own cart.
		mine := e.newCart(t, map[string]string{"market": "us"}, as(tok))
		e.cartDo(t, 200, "POST", "/v1/carts/"+mine.ID+"/lines", map[string]any{"variant_id": v["glow"]}, as(tok))
		e.do("POST", "/v1/carts/"+mine.ID+"/discounts", map[string]string{"code": "ONEEACH"}, as(tok)).wantProblem(t, 409, "discount-limit-reached")
		// A guest is checked at checkout (by email).
		e.cartDo(t, 200, "POST", path+"/discounts", map[string]string{"code": "ONEEACH"})
	})
}

// TestCartQuote checks what checkout gets from Quote.
func TestCartQuote(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e, carts := cartEnv(t, db)
		v := cartProducts(t, e)
		ctx := context.Background()
		who := cart.Caller{}
		q, err := carts.Create(ctx, who, cart.NewCart{Market: "ca"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = carts.AddLine(ctx, q.Cart.ID, who, v["glow"], 1)
		if shopd.ErrorCode(err) != shopd.EINVALID {
			t.Fatalf("glow has no CAD price: %v", err)
		}
		if q, err = carts.SetRegion(ctx, q.Cart.ID, who, "qc"); err != nil || q.Cart.Region != "QC" {
			t.Fatalf("SetRegion: %+v, %v", q.Cart, err)
		}
		if _, err := carts.SetRegion(ctx, q.Cart.ID, who, "not a region"); shopd.ErrorCode(err) != shopd.EINVALID {
			t.Fatalf("bad region: %v", err)
		}
		if _, err := carts.Quote(ctx, q.Cart.ID, cart.Caller{CustomerID: "cus_X"}); err != nil {
			t.Fatalf("a guest cart is anyone's: %v", err)
		}
		// Purge: nothing yet, then the expired cart.
		if n, err := carts.PurgeExpired(ctx); err != nil || n != 0 {
			t.Fatalf("purge = %d, %v", n, err)
		}
		e.clock.Advance(cart.CartTTL)
		if n, err := carts.PurgeExpired(ctx); err != nil || n != 1 {
			t.Fatalf("purge = %d, %v", n, err)
		}
		if _, err := db.Carts().Cart(ctx, q.Cart.ID); shopd.ErrorCode(err) != shopd.ENOTFOUND {
			t.Fatalf("purged cart: %v", err)
		}
	})
}
