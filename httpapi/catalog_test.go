package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/customer"
	"github.com/shopd/shopd/httpapi"
	"github.com/shopd/shopd/idempotency"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/sqlstore"
	"github.com/shopd/shopd/sqlstore/storetest"
	"github.com/shopd/shopd/staff"
)

// Response shapes of the catalog API, as a client decodes them.
type (
	moneyOut struct {
		Amount    int64  `json:"amount"`
		Currency  string `json:"currency"`
		Formatted string `json:"formatted"`
	}
	priceOut struct {
		Amount    moneyOut  `json:"amount"`
		CompareAt *moneyOut `json:"compare_at"`
	}
	variantOut struct {
		ID        string              `json:"id"`
		ProductID string              `json:"product_id"`
		SKU       string              `json:"sku"`
		Title     string              `json:"title"`
		Options   map[string]string   `json:"options"`
		Position  int                 `json:"position"`
		Prices    map[string]priceOut `json:"prices"`
		UpdatedAt time.Time           `json:"updated_at"`
	}
	productOut struct {
		ID            string              `json:"id"`
		Handle        string              `json:"handle"`
		Title         string              `json:"title"`
		Description   string              `json:"description"`
		Status        string              `json:"status"`
		LaunchAt      *time.Time          `json:"launch_at"`
		PurchaseLimit int                 `json:"purchase_limit"`
		TaxCategory   string              `json:"tax_category"`
		Attributes    map[string][]string `json:"attributes"`
		Media         []catalog.Media     `json:"media"`
		Variants      []variantOut        `json:"variants"`
		CreatedAt     time.Time           `json:"created_at"`
		UpdatedAt     time.Time           `json:"updated_at"`
	}
	shopVariantOut struct {
		ID             string            `json:"id"`
		SKU            string            `json:"sku"`
		Title          string            `json:"title"`
		Options        map[string]string `json:"options"`
		Price          moneyOut          `json:"price"`
		CompareAtPrice *moneyOut         `json:"compare_at_price"`
	}
	shopProductOut struct {
		ID         string                      `json:"id"`
		Handle     string                      `json:"handle"`
		Market     string                      `json:"market"`
		Available  bool                        `json:"available"`
		LaunchAt   *time.Time                  `json:"launch_at"`
		PriceRange struct{ Min, Max moneyOut } `json:"price_range"`
		Variants   []shopVariantOut            `json:"variants"`
	}
)

// cloudPaint is a product body priced in the US and Brazil; the second
// variant has no Brazilian price.
func cloudPaint(handle, skuPrefix string) map[string]any {
	return map[string]any{
		"handle": handle, "title": "Cloud Paint", "status": "active", "description": "Gel-cream blush.",
		"attributes": map[string][]string{"brand": {"Glossier"}, "skin_type": {"dry", "oily"}},
		"media":      []map[string]string{{"url": "https://cdn.example.com/cloud-paint.jpg", "alt": "Cloud Paint"}},
		"variants": []map[string]any{
			{"sku": skuPrefix + "-PUFF", "options": map[string]string{"shade": "Puff"}, "prices": map[string]any{
				"us": map[string]any{"amount": map[string]any{"amount": 2000, "currency": "USD"}, "compare_at": map[string]any{"amount": 2600, "currency": "USD"}},
				"br": map[string]any{"amount": map[string]any{"amount": 9990, "currency": "BRL"}},
			}},
			{"sku": skuPrefix + "-BEAM", "options": map[string]string{"shade": "Beam"}, "prices": map[string]any{
				"us": map[string]any{"amount": map[string]any{"amount": 1800, "currency": "USD"}},
			}},
		},
	}
}

func (e *env) createProduct(t *testing.T, body any) productOut {
	t.Helper()
	var p productOut
	e.do("POST", "/v1/admin/products", body, as(e.keys[staff.RoleAdmin])).want(t, 201).JSON(t, &p)
	return p
}

func TestCatalogAdmin(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin, reader := as(e.keys[staff.RoleAdmin]), as(e.keys[staff.RoleReadOnly])

		// Create: 201, Location, defaults, prices formatted per market.
		body := cloudPaint("", "CP")
		delete(body, "status")
		r := e.do("POST", "/v1/admin/products", body, admin).want(t, 201)
		var p productOut
		r.JSON(t, &p)
		if loc := r.Header.Get("Location"); loc != "/v1/admin/products/"+p.ID || !strings.HasPrefix(p.ID, "prd_") {
			t.Fatalf("Location %q for product %q", loc, p.ID)
		}
		if p.Handle != "cloud-paint" || p.Status != "draft" || p.TaxCategory != "standard" || p.LaunchAt != nil ||
			!p.CreatedAt.Equal(testStart) || !p.UpdatedAt.Equal(testStart) || len(p.Variants) != 2 {
			t.Fatalf("created %+v", p)
		}
		v0 := p.Variants[0]
		wantPrices := map[string]priceOut{
			"us": {Amount: moneyOut{2000, "USD", "$20.00"}, CompareAt: &moneyOut{2600, "USD", "$26.00"}},
			"br": {Amount: moneyOut{9990, "BRL", "R$\u00a099,90"}},
		}
		if v0.SKU != "CP-PUFF" || v0.Title != "Puff" || v0.Position != 1 || v0.ProductID != p.ID || !reflect.DeepEqual(v0.Prices, wantPrices) {
			t.Fatalf("variant 0: %+v", v0)
		}
		// A second product from the same title gets a suffixed handle.
		if p2 := e.createProduct(t, cloudPaint("", "CP2")); p2.Handle != "cloud-paint-2" {
			t.Fatalf("second handle %q", p2.Handle)
		}

		// Read by ID and by handle, with the read-only role.
		byID := e.do("GET", "/v1/admin/products/"+p.ID, nil, reader).want(t, 200)
		byHandle := e.do("GET", "/v1/admin/products/cloud-paint", nil, reader).want(t, 200)
		if string(byID.Body) != string(byHandle.Body) || string(byID.Body) != string(r.Body) {
			t.Fatalf("reads differ:\n%s\n%s\n%s", byID.Body, byHandle.Body, r.Body)
		}

		// Update some fields; others stay.
		e.clock.Advance(time.Minute)
		var u productOut
		e.do("PATCH", "/v1/admin/products/"+p.ID, map[string]any{
			"title": "Cloud Paint Blush", "status": "active", "launch_at": "2026-12-01T15:00:00-03:00",
			"attributes": map[string][]string{"brand": {"Glossier"}}, "purchase_limit": 2,
		}, admin).want(t, 200).JSON(t, &u)
		if u.Title != "Cloud Paint Blush" || u.Status != "active" || u.LaunchAt == nil || !u.LaunchAt.Equal(time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)) ||
			u.PurchaseLimit != 2 || !reflect.DeepEqual(u.Attributes, map[string][]string{"brand": {"Glossier"}}) ||
			u.Description != "Gel-cream blush." || u.Handle != "cloud-paint" || !u.UpdatedAt.Equal(testStart.Add(time.Minute)) {
			t.Fatalf("updated %+v", u)
		}
		var cleared productOut
		e.do("PATCH", "/v1/admin/products/"+p.ID, map[string]any{"launch_at": nil}, admin).want(t, 200).JSON(t, &cleared)
		if cleared.LaunchAt != nil || cleared.Title != "Cloud Paint Blush" {
			t.Fatalf("launch_at not cleared: %+v", cleared)
		}
		e.do("PATCH", "/v1/admin/products/"+p.ID, map[string]any{"launch_at": "soon"}, admin).wantProblem(t, 400, "validation")
		e.do("PATCH", "/v1/admin/products/"+p.ID, map[string]any{"handle": "cloud-paint-2"}, admin).wantProblem(t, 409, "handle-taken")

		// Variants: add, change, price.
		var v variantOut
		e.do("POST", "/v1/admin/products/cloud-paint/variants", map[string]any{
			"sku": "CP-DUSK", "options": map[string]string{"shade": "Dusk"},
			"prices": map[string]any{"ca": map[string]any{"amount": map[string]any{"amount": 2599, "currency": "CAD"}}},
		}, admin).want(t, 201).JSON(t, &v)
		if v.Position != 3 || v.Title != "Dusk" || !reflect.DeepEqual(v.Prices, map[string]priceOut{"ca": {Amount: moneyOut{2599, "CAD", "$25.99"}}}) {
			t.Fatalf("added variant %+v", v)
		}
		e.do("POST", "/v1/admin/products/cloud-paint/variants", map[string]any{"sku": "CP-PUFF", "options": map[string]string{"shade": "X"}}, admin).wantProblem(t, 409, "sku-taken")
		e.do("POST", "/v1/admin/products/cloud-paint/variants", map[string]any{"sku": "CP-NEW", "options": map[string]string{"shade": "Dusk"}}, admin).wantProblem(t, 400, "validation")
		e.do("PATCH", "/v1/admin/variants/"+v.ID, map[string]any{"sku": "CP-DUSK-2", "title": "Dusk (limited)", "position": 0}, admin).want(t, 200).JSON(t, &v)
		if v.SKU != "CP-DUSK-2" || v.Title != "Dusk (limited)" || v.Position != 0 {
			t.Fatalf("updated variant %+v", v)
		}
		e.do("PATCH", "/v1/admin/variants/"+v.ID, map[string]any{"sku": "CP-BEAM"}, admin).wantProblem(t, 409, "sku-taken")
		e.do("PUT", "/v1/admin/variants/"+v.ID+"/prices/in", map[string]any{"amount": map[string]any{"amount": 129900, "currency": "INR"}}, admin).want(t, 200)
		vid := v.ID
		v = variantOut{} // decode afresh: JSON merges into existing maps
		e.do("PUT", "/v1/admin/variants/"+vid+"/prices/ca", map[string]any{"amount": map[string]any{"amount": 2999, "currency": "CAD"}}, admin).want(t, 200).JSON(t, &v)
		want := map[string]priceOut{"ca": {Amount: moneyOut{2999, "CAD", "$29.99"}}, "in": {Amount: moneyOut{129900, "INR", "₹1,299.00"}}}
		if !reflect.DeepEqual(v.Prices, want) {
			t.Fatalf("prices %+v, want %+v", v.Prices, want)
		}
		e.do("PUT", "/v1/admin/variants/"+v.ID+"/prices/in", map[string]any{"amount": map[string]any{"amount": 100, "currency": "USD"}}, admin).wantProblem(t, 400, "currency-mismatch")
		e.do("PUT", "/v1/admin/variants/"+v.ID+"/prices/de", map[string]any{"amount": map[string]any{"amount": 100, "currency": "EUR"}}, admin).wantProblem(t, 400, "unknown-market")
		e.do("DELETE", "/v1/admin/variants/"+v.ID+"/prices/ca", nil, admin).want(t, 204)
		e.do("DELETE", "/v1/admin/variants/"+v.ID+"/prices/ca", nil, admin).wantProblem(t, 404, "price-not-found")
		var got productOut
		e.do("GET", "/v1/admin/products/"+p.ID, nil, reader).want(t, 200).JSON(t, &got)
		if len(got.Variants) != 3 || got.Variants[0].ID != v.ID || !reflect.DeepEqual(got.Variants[0].Prices, map[string]priceOut{"in": want["in"]}) {
			t.Fatalf("after variant changes: %+v", got.Variants)
		}

		// Archive, twice: the same answer, and off the storefront.
		e.clock.Advance(time.Minute)
		a1 := e.do("POST", "/v1/admin/products/"+p.ID+"/archive", nil, admin).want(t, 200)
		e.clock.Advance(time.Minute)
		a2 := e.do("POST", "/v1/admin/products/cloud-paint/archive", nil, admin).want(t, 200)
		var archived productOut
		a2.JSON(t, &archived)
		if string(a1.Body) != string(a2.Body) || archived.Status != "archived" || !archived.UpdatedAt.Equal(testStart.Add(2*time.Minute)) {
			t.Fatalf("archive twice:\n%s\n%s", a1.Body, a2.Body)
		}
		e.do("GET", "/v1/products/cloud-paint", nil).wantProblem(t, 404, "product-not-found")

		// Admin list: all statuses, newest first, status filter, paging.
		type listOut struct {
			Data       []productOut `json:"data"`
			NextCursor string       `json:"next_cursor"`
		}
		getList := func(query string) (l listOut) {
			e.do("GET", "/v1/admin/products?"+query, nil, reader).want(t, 200).JSON(t, &l)
			return l
		}
		list := getList("limit=1")
		if len(list.Data) != 1 || list.Data[0].Handle != "cloud-paint-2" || list.NextCursor == "" {
			t.Fatalf("page 1: %+v", list)
		}
		list = getList("limit=1&cursor=" + list.NextCursor)
		if len(list.Data) != 1 || list.Data[0].ID != p.ID || list.NextCursor != "" {
			t.Fatalf("page 2: %+v", list)
		}
		list = getList("status=archived")
		if len(list.Data) != 1 || list.Data[0].ID != p.ID || list.NextCursor != "" {
			t.Fatalf("archived: %+v", list)
		}
		if list = getList("status=active"); len(list.Data) != 1 || list.Data[0].Handle != "cloud-paint-2" {
			t.Fatalf("active: %+v", list)
		}
		e.do("GET", "/v1/admin/products?status=gone", nil, reader).wantProblem(t, 400, "validation")
		e.do("GET", "/v1/admin/products?limit=0", nil, reader).wantProblem(t, 400, "validation")
		e.do("GET", "/v1/admin/products?cursor=bogus", nil, reader).wantProblem(t, 400, "validation")
	})
}

func TestCatalogStorefront(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		p := e.createProduct(t, cloudPaint("cloud-paint", "CP"))

		// The same product in two markets.
		var us, br shopProductOut
		rUS := e.do("GET", "/v1/products/cloud-paint?market=us", nil).want(t, 200)
		rUS.JSON(t, &us)
		e.do("GET", "/v1/products/"+p.ID+"?market=br", nil).want(t, 200).JSON(t, &br)
		if us.ID != p.ID || us.Market != "us" || !us.Available || len(us.Variants) != 2 ||
			us.Variants[0].Price != (moneyOut{2000, "USD", "$20.00"}) || *us.Variants[0].CompareAtPrice != (moneyOut{2600, "USD", "$26.00"}) ||
			us.Variants[1].Price != (moneyOut{1800, "USD", "$18.00"}) || us.Variants[1].CompareAtPrice != nil ||
			us.PriceRange.Min != (moneyOut{1800, "USD", "$18.00"}) || us.PriceRange.Max != (moneyOut{2000, "USD", "$20.00"}) {
			t.Fatalf("us: %+v", us)
		}
		if br.Market != "br" || len(br.Variants) != 1 || br.Variants[0].SKU != "CP-PUFF" ||
			br.Variants[0].Price != (moneyOut{9990, "BRL", "R$\u00a099,90"}) || br.Variants[0].CompareAtPrice != nil ||
			br.PriceRange.Min != br.Variants[0].Price || br.PriceRange.Max != br.Variants[0].Price {
			t.Fatalf("br: %+v", br)
		}
		// The default market is us.
		if def := e.do("GET", "/v1/products/cloud-paint", nil).want(t, 200); string(def.Body) != string(rUS.Body) {
			t.Fatalf("default market:\n%s\nwant\n%s", def.Body, rUS.Body)
		}

		// CDN headers and revalidation.
		etag := rUS.Header.Get("ETag")
		if etag == "" || rUS.Header.Get("Cache-Control") != "public, max-age=30, stale-while-revalidate=60, stale-if-error=600" ||
			rUS.Header.Get("Surrogate-Key") != "products market-us product-"+p.ID {
			t.Fatalf("headers %v", rUS.Header)
		}
		nm := e.do("GET", "/v1/products/cloud-paint?market=us", nil, header("If-None-Match", etag)).want(t, 304)
		if len(nm.Body) != 0 || nm.Header.Get("ETag") != etag {
			t.Fatalf("304 body %q etag %q", nm.Body, nm.Header.Get("ETag"))
		}
		e.do("GET", "/v1/products/cloud-paint?market=br", nil, header("If-None-Match", etag)).want(t, 200)
		// A price change makes a new ETag.
		e.do("PUT", "/v1/admin/variants/"+p.Variants[1].ID+"/prices/us", map[string]any{"amount": map[string]any{"amount": 1900, "currency": "USD"}},
			as(e.keys[staff.RoleAdmin])).want(t, 200)
		e.do("GET", "/v1/products/cloud-paint?market=us", nil, header("If-None-Match", etag)).want(t, 200)

		// Not sold: no price in the market, unknown or disabled market, draft.
		e.do("GET", "/v1/products/cloud-paint?market=in", nil).wantProblem(t, 404, "product-not-found")
		e.do("GET", "/v1/products/cloud-paint?market=zz", nil).wantProblem(t, 400, "unknown-market")
		e.do("GET", "/v1/products?market=zz", nil).wantProblem(t, 400, "unknown-market")
		off := false
		if _, err := e.svc.markets.UpdateMarket(context.Background(), "br", market.MarketUpdate{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		e.do("GET", "/v1/products/cloud-paint?market=br", nil).wantProblem(t, 400, "unknown-market")
		draft := cloudPaint("draft-paint", "DR")
		draft["status"] = "draft"
		e.createProduct(t, draft)
		e.do("GET", "/v1/products/draft-paint", nil).wantProblem(t, 404, "product-not-found")
		e.do("GET", "/v1/products/no-such-thing", nil).wantProblem(t, 404, "product-not-found")
		e.do("GET", "/v1/products/prd_01JC6Q8Z3V4W5X6Y7Z8A9B0C1D", nil).wantProblem(t, 404, "product-not-found")
		e.do("GET", "/v1/products/"+url.PathEscape("bad\x00handle"), nil).wantProblem(t, 404, "product-not-found")

		// A drop: upcoming on its page and in the list until its launch
		// time, available from that very moment, though both answers were
		// just made and kept (respondStorefront) and nothing was written.
		drop := cloudPaint("the-drop", "DROP")
		drop["launch_at"] = testStart.Add(time.Hour).Format(time.RFC3339)
		e.createProduct(t, drop)
		listed := func() bool {
			t.Helper()
			var l struct{ Data []shopProductOut }
			e.do("GET", "/v1/products?limit=100", nil).want(t, 200).JSON(t, &l)
			for _, p := range l.Data {
				if p.Handle == "the-drop" {
					return p.Available
				}
			}
			t.Fatal("the drop is not listed")
			return false
		}
		var d shopProductOut
		before := e.do("GET", "/v1/products/the-drop", nil).want(t, 200)
		before.JSON(t, &d)
		if d.Available || d.LaunchAt == nil || !d.LaunchAt.Equal(testStart.Add(time.Hour)) || listed() {
			t.Fatalf("before launch: %+v", d)
		}
		e.clock.Advance(time.Hour - time.Millisecond)
		if e.do("GET", "/v1/products/the-drop", nil).want(t, 200).JSON(t, &d); d.Available || listed() {
			t.Fatalf("a millisecond before launch: %+v", d)
		}
		e.clock.Advance(time.Millisecond)
		d = shopProductOut{}
		e.do("GET", "/v1/products/the-drop", nil, header("If-None-Match", before.Header.Get("ETag"))).want(t, 200).JSON(t, &d)
		if !d.Available || !listed() {
			t.Fatalf("at launch: %+v", d)
		}
	})
}

func TestCatalogStorefrontList(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		type spec struct{ handle, brand, skin string }
		specs := []spec{
			{"a-glossier-dry", "Glossier", "dry"}, {"b-glossier-oily", "Glossier", "oily"}, {"c-fenty-dry", "Fenty Beauty", "dry"},
			{"d-glossier-normal", "Glossier", "normal"}, {"e-natura-oily", "Natura", "oily"},
		}
		ids := map[string]string{}
		for i, sp := range specs {
			b := cloudPaint(sp.handle, fmt.Sprintf("L%d", i))
			b["attributes"] = map[string][]string{"brand": {sp.brand}, "skin_type": {sp.skin}}
			ids[sp.handle] = e.createProduct(t, b).ID
		}
		draft := cloudPaint("z-draft", "ZD")
		draft["status"] = "draft"
		e.createProduct(t, draft)

		walk := func(query string) (handles []string, pages int) {
			t.Helper()
			next := ""
			for {
				q := query
				if next != "" {
					q += "&cursor=" + next
				}
				var page struct {
					Data       []shopProductOut `json:"data"`
					NextCursor string           `json:"next_cursor"`
				}
				r := e.do("GET", "/v1/products?"+q, nil).want(t, 200)
				r.JSON(t, &page)
				pages++
				for _, p := range page.Data {
					handles = append(handles, p.Handle)
					if !strings.Contains(r.Header.Get("Surrogate-Key"), "product-"+p.ID) {
						t.Errorf("Surrogate-Key %q lacks product-%s", r.Header.Get("Surrogate-Key"), p.ID)
					}
				}
				if next = page.NextCursor; next == "" || pages > 10 {
					return handles, pages
				}
			}
		}
		tests := []struct {
			query string
			want  []string
			pages int
		}{
			{"market=us&limit=2", []string{"a-glossier-dry", "b-glossier-oily", "c-fenty-dry", "d-glossier-normal", "e-natura-oily"}, 3},
			{"limit=100", []string{"a-glossier-dry", "b-glossier-oily", "c-fenty-dry", "d-glossier-normal", "e-natura-oily"}, 1},
			{"market=br&attr.brand=Glossier", []string{"a-glossier-dry", "b-glossier-oily", "d-glossier-normal"}, 1},
			{"attr.brand=Glossier&attr.skin_type=dry,oily&limit=1", []string{"a-glossier-dry", "b-glossier-oily"}, 2},
			{"attr.brand=" + url.QueryEscape("Fenty Beauty,Natura"), []string{"c-fenty-dry", "e-natura-oily"}, 1},
			{"attr.brand=Glossier&attr.brand=Natura&attr.skin_type=oily", []string{"b-glossier-oily", "e-natura-oily"}, 1},
			{"attr.brand=glossier", nil, 1},
			{"market=in", nil, 1},
			{"attr.brand=Glossier&utm_source=mail&sort=whatever", []string{"a-glossier-dry", "b-glossier-oily", "d-glossier-normal"}, 1},
		}
		for _, tt := range tests {
			got, pages := walk(tt.query)
			if !reflect.DeepEqual(got, tt.want) || pages != tt.pages {
				t.Errorf("%s: %v in %d pages, want %v in %d", tt.query, got, pages, tt.want, tt.pages)
			}
		}

		r := e.do("GET", "/v1/products?market=br&limit=1", nil).want(t, 200)
		if r.Header.Get("Surrogate-Key") != "products market-br product-"+ids["a-glossier-dry"] {
			t.Errorf("Surrogate-Key %q", r.Header.Get("Surrogate-Key"))
		}
		e.do("GET", "/v1/products?market=br&limit=1", nil, header("If-None-Match", r.Header.Get("ETag"))).want(t, 304)

		for _, q := range []string{"limit=0", "limit=101", "limit=ten", "limit=-1", "cursor=nope", "cursor=prd_x",
			"attr.Brand=x", "attr.brand=", "attr.brand=" + strings.Repeat("x", 101), "attr.brand=%00"} {
			e.do("GET", "/v1/products?"+q, nil).wantProblem(t, 400, "validation")
		}
	})
}

func TestCatalogBadInput(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin := as(e.keys[staff.RoleAdmin])
		e.createProduct(t, cloudPaint("taken", "TAKEN"))
		with := func(change func(b map[string]any)) map[string]any {
			b := cloudPaint("", "NEW")
			change(b)
			return b
		}
		price := func(b map[string]any, i int, market string, p any) {
			b["variants"].([]map[string]any)[i]["prices"].(map[string]any)[market] = p
		}
		tests := []struct {
			name   string
			body   any
			status int
			typ    string
			field  string // the first field error, if any
		}{
			{"empty body", "", 400, "malformed-json", ""},
			{"not JSON", "{title:", 400, "malformed-json", ""},
			{"array", "[]", 400, "validation", "(body)"},
			{"two objects", `{"title":"a","variants":[{"sku":"A"}]} {}`, 400, "malformed-json", ""},
			{"title is a number", with(func(b map[string]any) { b["title"] = 5 }), 400, "validation", "title"},
			{"amount is a string", with(func(b map[string]any) {
				price(b, 0, "us", map[string]any{"amount": map[string]any{"amount": "20", "currency": "USD"}})
			}), 400, "validation", "variants.prices.amount.amount"},
			{"amount is a fraction", with(func(b map[string]any) {
				price(b, 0, "us", map[string]any{"amount": map[string]any{"amount": 19.99, "currency": "USD"}})
			}), 400, "validation", "variants.prices.amount.amount"},
			{"unknown field", with(func(b map[string]any) { b["vendor"] = "x" }), 400, "validation", "vendor"},
			{"formatted is read-only", with(func(b map[string]any) {
				price(b, 0, "us", map[string]any{"amount": map[string]any{"amount": 1, "currency": "USD", "formatted": "$0.01"}})
			}), 400, "validation", "formatted"},
			{"bad launch time", with(func(b map[string]any) { b["launch_at"] = "tomorrow" }), 400, "malformed-json", ""},
			{"no title", with(func(b map[string]any) { delete(b, "title") }), 400, "validation", "title"},
			{"long title", with(func(b map[string]any) { b["title"] = strings.Repeat("t", 201) }), 400, "validation", "title"},
			{"long description", with(func(b map[string]any) { b["description"] = strings.Repeat("d", 10_001) }), 400, "validation", "description"},
			{"NUL in title", with(func(b map[string]any) { b["title"] = "a\x00b" }), 400, "validation", "title"},
			{"bad handle", with(func(b map[string]any) { b["handle"] = "Bad Handle" }), 400, "validation", "handle"},
			{"bad status", with(func(b map[string]any) { b["status"] = "live" }), 400, "validation", "status"},
			{"no variants", with(func(b map[string]any) { b["variants"] = []any{} }), 400, "validation", "variants"},
			{"negative amount", with(func(b map[string]any) {
				price(b, 1, "us", map[string]any{"amount": map[string]any{"amount": -1, "currency": "USD"}})
			}), 400, "validation", "variants[1].prices.us.amount.amount"},
			{"amount over 1e12", with(func(b map[string]any) {
				price(b, 1, "us", map[string]any{"amount": map[string]any{"amount": int64(1e12) + 1, "currency": "USD"}})
			}), 400, "validation", "variants[1].prices.us.amount.amount"},
			{"unknown currency", with(func(b map[string]any) {
				price(b, 1, "us", map[string]any{"amount": map[string]any{"amount": 1, "currency": "ABC"}})
			}), 400, "validation", "variants[1].prices.us.amount.currency"},
			{"unknown market", with(func(b map[string]any) {
				price(b, 1, "de", map[string]any{"amount": map[string]any{"amount": 1, "currency": "EUR"}})
			}), 400, "unknown-market", "variants[1].prices.de"},
			{"currency mismatch", with(func(b map[string]any) {
				price(b, 1, "br", map[string]any{"amount": map[string]any{"amount": 1, "currency": "USD"}})
			}), 400, "currency-mismatch", "variants[1].prices.br.amount.currency"},
			{"compare-at not higher", with(func(b map[string]any) {
				price(b, 1, "us", map[string]any{"amount": map[string]any{"amount": 100, "currency": "USD"}, "compare_at": map[string]any{"amount": 100, "currency": "USD"}})
			}), 400, "validation", "variants[1].prices.us.compare_at.amount"},
			{"http media", with(func(b map[string]any) { b["media"] = []map[string]string{{"url": "http://x.example/a.jpg"}} }), 400, "validation", "media[0].url"},
			{"too many attribute values", with(func(b map[string]any) { b["attributes"] = map[string][]string{"brand": make([]string, 21)} }), 400, "validation", "attributes.brand"},
			{"taken handle", with(func(b map[string]any) { b["handle"] = "taken" }), 409, "handle-taken", ""},
			{"taken SKU", with(func(b map[string]any) { b["variants"].([]map[string]any)[1]["sku"] = "TAKEN-BEAM" }), 409, "sku-taken", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.do("POST", "/v1/admin/products", tt.body, admin).wantProblem(t, tt.status, tt.typ)
				var p httpapi.Problem
				r.JSON(t, &p)
				if tt.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tt.field) {
					t.Fatalf("errors %+v, want first field %q", p.Errors, tt.field)
				}
			})
		}
		e.do("POST", "/v1/admin/products", cloudPaint("x", "X"), admin, header("Content-Type", "text/plain")).wantProblem(t, 400, "unsupported-media-type")
		big := with(func(b map[string]any) { b["description"] = strings.Repeat("x", httpapi.DefaultMaxBodyBytes) })
		e.do("POST", "/v1/admin/products", big, admin).wantProblem(t, 413, "body-too-large")

		// Nothing of the rejected products was stored.
		var list struct{ Data []productOut }
		e.do("GET", "/v1/admin/products", nil, admin).want(t, 200).JSON(t, &list)
		if len(list.Data) != 1 {
			t.Fatalf("%d products after bad input, want 1", len(list.Data))
		}

		// Bad input on the other writes.
		p := list.Data[0]
		vid := p.Variants[0].ID
		e.do("PATCH", "/v1/admin/products/taken", map[string]any{"title": ""}, admin).wantProblem(t, 400, "validation")
		e.do("PATCH", "/v1/admin/products/taken", map[string]any{"purchase_limit": -1}, admin).wantProblem(t, 400, "validation")
		e.do("PATCH", "/v1/admin/products/taken", map[string]any{"id": "prd_x"}, admin).wantProblem(t, 400, "validation")
		e.do("PATCH", "/v1/admin/variants/"+vid, map[string]any{"sku": ""}, admin).wantProblem(t, 400, "validation")
		e.do("PATCH", "/v1/admin/variants/"+vid, map[string]any{"options": map[string]string{"a": "1", "b": "1", "c": "1", "d": "1", "e": "1", "f": "1"}}, admin).wantProblem(t, 400, "validation")
		e.do("PUT", "/v1/admin/variants/"+vid+"/prices/us", map[string]any{"amount": map[string]any{"amount": -5, "currency": "USD"}}, admin).wantProblem(t, 400, "validation")
		e.do("PUT", "/v1/admin/variants/"+vid+"/prices/us", map[string]any{"amount": 5}, admin).wantProblem(t, 400, "validation")
		e.do("POST", "/v1/admin/products/taken/variants", map[string]any{"sku": "Z", "prices": map[string]any{"us": map[string]any{"amount": map[string]any{"amount": 1, "currency": "CAD"}}}}, admin).wantProblem(t, 400, "currency-mismatch")
		var again productOut
		e.do("GET", "/v1/admin/products/taken", nil, admin).want(t, 200).JSON(t, &again)
		if !reflect.DeepEqual(again, p) {
			t.Fatalf("product changed by bad input:\n%+v\n%+v", again, p)
		}
	})
}

func TestCatalogNotFound(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin := as(e.keys[staff.RoleAdmin])
		prd, vr := shopd.NewID("prd"), shopd.NewID("var")
		price := map[string]any{"amount": map[string]any{"amount": 1, "currency": "USD"}}
		for _, c := range []struct {
			method, path string
			body         any
			typ          string
		}{
			{"GET", "/v1/admin/products/" + prd, nil, "product-not-found"},
			{"GET", "/v1/admin/products/no-such-handle", nil, "product-not-found"},
			{"GET", "/v1/admin/products/" + url.PathEscape("Ünïcode"), nil, "product-not-found"},
			{"PATCH", "/v1/admin/products/" + prd, map[string]any{"title": "x"}, "product-not-found"},
			{"POST", "/v1/admin/products/" + prd + "/archive", nil, "product-not-found"},
			{"POST", "/v1/admin/products/" + prd + "/variants", map[string]any{"sku": "X"}, "product-not-found"},
			{"PATCH", "/v1/admin/variants/" + vr, map[string]any{"title": "x"}, "variant-not-found"},
			{"PATCH", "/v1/admin/variants/not-an-id", map[string]any{"title": "x"}, "variant-not-found"},
			{"PUT", "/v1/admin/variants/" + vr + "/prices/us", price, "variant-not-found"},
			{"DELETE", "/v1/admin/variants/" + vr + "/prices/us", nil, "variant-not-found"},
			{"GET", "/v1/products/" + prd, nil, "product-not-found"},
		} {
			e.do(c.method, c.path, c.body, admin).wantProblem(t, 404, c.typ)
		}
	})
}

func TestCatalogAuth(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		p := e.createProduct(t, cloudPaint("auth", "AUTH"))
		_, sess, err := e.svc.customers.Register(context.Background(), customer.Registration{Email: "ana@example.com", Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		vid := p.Variants[0].ID
		price := map[string]any{"amount": map[string]any{"amount": 1, "currency": "USD"}}
		type call struct {
			method, path string
			body         any
			write        bool
		}
		calls := []call{
			{"GET", "/v1/admin/products", nil, false},
			{"GET", "/v1/admin/products/" + p.ID, nil, false},
			{"POST", "/v1/admin/products", cloudPaint("auth-2", "AUTH2"), true},
			{"PATCH", "/v1/admin/products/" + p.ID, map[string]any{"title": "x"}, true},
			{"POST", "/v1/admin/products/" + p.ID + "/archive", nil, true},
			{"POST", "/v1/admin/products/" + p.ID + "/variants", map[string]any{"sku": "AUTH-X"}, true},
			{"PATCH", "/v1/admin/variants/" + vid, map[string]any{"title": "x"}, true},
			{"PUT", "/v1/admin/variants/" + vid + "/prices/us", price, true},
			{"DELETE", "/v1/admin/variants/" + vid + "/prices/us", nil, true},
		}
		for _, c := range calls {
			e.do(c.method, c.path, c.body).wantProblem(t, 401, "unauthorized")
			e.do(c.method, c.path, c.body, as("sk_not_a_real_key")).wantProblem(t, 401, "invalid-api-key")
			e.do(c.method, c.path, c.body, as(sess.Token)).wantProblem(t, 403, "forbidden")
			if c.write {
				e.do(c.method, c.path, c.body, as(e.keys[staff.RoleReadOnly])).wantProblem(t, 403, "insufficient-role")
				e.do(c.method, c.path, c.body, as(e.keys[staff.RoleSupport])).wantProblem(t, 403, "insufficient-role")
			} else {
				e.do(c.method, c.path, c.body, as(e.keys[staff.RoleSupport])).want(t, 200)
			}
		}
		// The storefront is public; a customer may read it too.
		e.do("GET", "/v1/products/auth", nil).want(t, 200)
		e.do("GET", "/v1/products/auth", nil, as(sess.Token)).want(t, 200)
		e.do("GET", "/v1/products", nil, as(sess.Token)).want(t, 200)
		e.do("GET", "/v1/products", nil, as("cs_bogus")).wantProblem(t, 401, "invalid-session")
		// The product is unchanged by all the refused writes.
		var got productOut
		e.do("GET", "/v1/admin/products/"+p.ID, nil, as(e.keys[staff.RoleOwner])).want(t, 200).JSON(t, &got)
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("changed by refused writes:\n%+v\n%+v", got, p)
		}
	})
}

func TestCatalogIdempotency(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		admin := as(e.keys[staff.RoleAdmin])
		key := header("Idempotency-Key", "create-cloud-paint-1")
		first := e.do("POST", "/v1/admin/products", cloudPaint("idem", "IDEM"), admin, key).want(t, 201)
		if first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatal("first response marked as replayed")
		}
		e.clock.Advance(time.Minute)
		replay := e.do("POST", "/v1/admin/products", cloudPaint("idem", "IDEM"), admin, key).want(t, 201)
		if string(replay.Body) != string(first.Body) || replay.Header.Get("Idempotent-Replayed") != "true" ||
			replay.Header.Get("Location") != first.Header.Get("Location") {
			t.Fatalf("replay:\n%s %v\nfirst:\n%s", replay.Body, replay.Header, first.Body)
		}
		e.do("POST", "/v1/admin/products", cloudPaint("idem-other", "IDEM2"), admin, key).wantProblem(t, 422, "idempotency-key-reused")
		// Without the key, the same body is a second create: the handle is taken.
		e.do("POST", "/v1/admin/products", cloudPaint("idem", "IDEM"), admin).wantProblem(t, 409, "handle-taken")

		var p productOut
		first.JSON(t, &p)
		vkey := header("Idempotency-Key", "add-variant-1")
		body := map[string]any{"sku": "IDEM-DUSK", "options": map[string]string{"shade": "Dusk"}}
		v1 := e.do("POST", "/v1/admin/products/"+p.ID+"/variants", body, admin, vkey).want(t, 201)
		v2 := e.do("POST", "/v1/admin/products/"+p.ID+"/variants", body, admin, vkey).want(t, 201)
		if string(v1.Body) != string(v2.Body) || v2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("variant replay:\n%s\n%s", v1.Body, v2.Body)
		}
		akey := header("Idempotency-Key", "archive-1")
		a1 := e.do("POST", "/v1/admin/products/"+p.ID+"/archive", nil, admin, akey).want(t, 200)
		a2 := e.do("POST", "/v1/admin/products/"+p.ID+"/archive", nil, admin, akey).want(t, 200)
		if string(a1.Body) != string(a2.Body) || a2.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("archive replay:\n%s\n%s", a1.Body, a2.Body)
		}
		var got productOut
		e.do("GET", "/v1/admin/products/"+p.ID, nil, admin).want(t, 200).JSON(t, &got)
		if len(got.Variants) != 3 {
			t.Fatalf("%d variants after a replayed add, want 3", len(got.Variants))
		}
	})
}

// catalogFuzzEnv is newEnv for a fuzz target: one server on SQLite shared
// by every input.
func catalogFuzzEnv(f *testing.F) (srv *httpapi.Server, adminKey string) {
	db := storetest.Open(f, sqlstore.SQLite)
	clock := shopd.NewTestClock(testStart)
	markets := market.NewService(db.Markets(), clock)
	staffSvc := staff.NewService(db.Staff(), clock)
	ctx := context.Background()
	if err := markets.EnsureDefaults(ctx); err != nil {
		f.Fatal(err)
	}
	srv, err := httpapi.NewServer(httpapi.Deps{
		Clock:       clock,
		Idempotency: &idempotency.Service{Store: db.Idempotency(), Clock: clock},
		Markets:     markets,
		Catalog:     catalog.NewService(db.Catalog(), markets, clock),
		Customers:   customer.NewService(db.Customers(), clock),
		Staff:       staffSvc,
	})
	if err != nil {
		f.Fatal(err)
	}
	_, adminKey, err = staffSvc.CreateKey(ctx, "fuzz", staff.RoleAdmin)
	if err != nil {
		f.Fatal(err)
	}
	return srv, adminKey
}

// FuzzCreateProductBody posts arbitrary bodies to the create endpoint: the
// answer is never a server error, always matches the OpenAPI document, and
// a created product reads back.
func FuzzCreateProductBody(f *testing.F) {
	good, _ := json.Marshal(cloudPaint("", "FZ"))
	f.Add(good)
	f.Add([]byte(`{"title":"Minimal","variants":[{"sku":"MIN-1"}]}`))
	f.Add([]byte(`{"title":"Ünïcødé ✨ 日本","handle":"","variants":[{"sku":"U-1","options":{"shade":"Rosé"}}]}`))
	f.Add([]byte(`{"title":"x","variants":[{"sku":"A","prices":{"us":{"amount":{"amount":9223372036854775807,"currency":"USD"}}}}]}`))
	f.Add([]byte(`{"title":"x","variants":[{"sku":"A","prices":{"\u0000":{"amount":{"amount":1,"currency":"USD"}}}}]}`))
	f.Add([]byte(`{"title":"x","attributes":{"brand":["a\u0000b"]},"variants":[{"sku":"A\u0000"}]}`))
	f.Add([]byte(`{"title":"x","launch_at":"0001-01-01T00:00:00Z","variants":[{"sku":"B"}]}`))
	f.Add([]byte(`{"title":"x","launch_at":"9999-12-31T23:59:59Z","purchase_limit":1e3,"variants":[{"sku":"C","position":-9}]}`))
	f.Add([]byte(`{"title":"\xff\xfe","variants":[{"sku":"D"}]}`))
	f.Add([]byte(`{"title":"x","variants":[{"sku":"E"},{"sku":"F"}]}`))
	f.Add([]byte(`{"title":"x","variants":null,"media":[{"url":"https://[::1]:99999/x"}]}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	f.Add([]byte(`{"title":"x","variants":[{"sku":"G","options":{"":"a"}}],"attributes":{"":[]}}`))
	f.Add([]byte(``))
	srv, key := catalogFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/v1/admin/products", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		r := &resp{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
		if r.Status >= 500 {
			t.Fatalf("status %d for %q: %s", r.Status, body, r.Body)
		}
		checkAgainstSpec(t, req, r)
		if r.Status != 201 {
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("status %d with content type %q", r.Status, ct)
			}
			return
		}
		var p productOut
		r.JSON(t, &p)
		get := httptest.NewRecorder()
		greq := httptest.NewRequest("GET", "/v1/admin/products/"+p.ID, nil)
		greq.Header.Set("Authorization", "Bearer "+key)
		srv.ServeHTTP(get, greq)
		if get.Code != http.StatusOK || get.Body.String() != rec.Body.String() {
			t.Fatalf("read back %d:\n%s\nwant\n%s", get.Code, get.Body, rec.Body)
		}
		if !slices.ContainsFunc(p.Variants, func(v variantOut) bool { return v.ProductID == p.ID }) {
			t.Fatalf("variants not of the product: %+v", p.Variants)
		}
	})
}

// TestStorefrontAnswersAcrossProcesses: two API servers on one store, as two
// replicas are. A price changed through one shows on its own product page
// and list at once, and on the other's within catalog.CacheTTL, though
// both servers keep the answers they made (respondStorefront).
func TestStorefrontAnswersAcrossProcesses(t *testing.T) {
	storetest.EachEngine(t, func(t *testing.T, db *sqlstore.DB) {
		writer, other := newEnv(t, db), newEnv(t, db)
		p := writer.createProduct(t, cloudPaint("shared-paint", "SH"))
		// minPrices are the product page's and the list's lowest price.
		minPrices := func(e *env) [2]int64 {
			t.Helper()
			var page shopProductOut
			e.do("GET", "/v1/products/shared-paint", nil).want(t, 200).JSON(t, &page)
			var l struct{ Data []shopProductOut }
			e.do("GET", "/v1/products?limit=100", nil).want(t, 200).JSON(t, &l)
			for _, lp := range l.Data {
				if lp.ID == p.ID {
					return [2]int64{page.PriceRange.Min.Amount, lp.PriceRange.Min.Amount}
				}
			}
			t.Fatal("not listed")
			return [2]int64{}
		}
		for _, e := range []*env{writer, other} {
			if got := minPrices(e); got != [2]int64{1800, 1800} {
				t.Fatalf("before: %v", got)
			}
		}
		written := time.Now()
		writer.do("PUT", "/v1/admin/variants/"+p.Variants[1].ID+"/prices/us", map[string]any{"amount": map[string]any{"amount": 1500, "currency": "USD"}},
			as(writer.keys[staff.RoleAdmin])).want(t, 200)
		if got := minPrices(writer); got != [2]int64{1500, 1500} {
			t.Fatalf("the writer shows %v, want 1500 at once", got)
		}
		for {
			got := minPrices(other)
			if got == [2]int64{1500, 1500} {
				break
			}
			if since := time.Since(written); since > catalog.CacheTTL+500*time.Millisecond {
				t.Fatalf("the other server still shows %v %v after the write", got, since)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
