package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/seed"
	"github.com/shopd/shopd/sqlstore"
)

func testCatalog(t *testing.T, db *sqlstore.DB) {
	s := db.Catalog()
	t.Run("CreateAndGet", func(t *testing.T) { testCatalogCreateAndGet(t, s) })
	t.Run("Conflicts", func(t *testing.T) { testCatalogConflicts(t, s) })
	t.Run("HandleRace", func(t *testing.T) { testCatalogHandleRace(t, s) })
	t.Run("UpdateProduct", func(t *testing.T) { testCatalogUpdateProduct(t, s) })
	t.Run("Variants", func(t *testing.T) { testCatalogVariants(t, s) })
	t.Run("AdminList", func(t *testing.T) { testCatalogAdminList(t, Open(t, db.Dialect()).Catalog()) })
	t.Run("Storefront", func(t *testing.T) { testCatalogStorefront(t, Open(t, db.Dialect()).Catalog()) })
	t.Run("BulkInsert", func(t *testing.T) { testCatalogBulkInsert(t, Open(t, db.Dialect())) })
}

// catalogTime is when the suite's products are made.
var catalogTime = time.Date(2026, 11, 23, 10, 0, 0, 123456000, time.UTC)

func catalogUSD(n int64) shopd.Money { return shopd.Money{Amount: n, Currency: "USD"} }

// catalogProduct returns a valid active product with one variant per SKU,
// each priced in USD in market us.
func catalogProduct(handle string, attrs map[string][]string, skus ...string) catalog.Product {
	p := catalog.Product{
		ID: shopd.NewID("prd"), Handle: handle, Title: "Product " + handle, Status: catalog.StatusActive,
		TaxCategory: catalog.DefaultTaxCategory, Attributes: attrs, Media: []catalog.Media{},
		Variants: []catalog.Variant{}, CreatedAt: catalogTime, UpdatedAt: catalogTime,
	}
	if p.Attributes == nil {
		p.Attributes = map[string][]string{}
	}
	for i, sku := range skus {
		p.Variants = append(p.Variants, catalog.Variant{
			ID: shopd.NewID("var"), ProductID: p.ID, SKU: sku, Title: sku, Options: map[string]string{"n": fmt.Sprint(i)},
			Position: i + 1, Prices: map[string]catalog.Price{"us": {Amount: catalogUSD(1000 + int64(i))}},
			CreatedAt: catalogTime, UpdatedAt: catalogTime,
		})
	}
	return p
}

// catalogWantErr fails unless err has the code and type.
func catalogWantErr(t *testing.T, what string, err error, code, typ string) {
	t.Helper()
	var e *shopd.Error
	if !errors.As(err, &e) || e.Code != code || e.Type != typ {
		t.Fatalf("%s: error %v, want %s %s", what, err, code, typ)
	}
}

func catalogEqual(t *testing.T, what string, got, want catalog.Product) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testCatalogCreateAndGet(t *testing.T, s *sqlstore.CatalogStore) {
	cmp := catalogUSD(2500)
	p := catalogProduct("cloud-paint", map[string][]string{"brand": {"Glossier"}, "skin_type": {"oily", "dry"}}, "CP-1", "CP-2")
	p.Description = "Gel-cream blush.\nSheer, buildable."
	p.Status = catalog.StatusDraft
	p.LaunchAt = catalogTime.Add(72 * time.Hour)
	p.PurchaseLimit = 2
	p.TaxCategory = "cosmetics"
	p.Media = []catalog.Media{{URL: "https://cdn.example.com/1.jpg", Alt: "Puff"}, {URL: "https://cdn.example.com/2.jpg"}}
	p.Variants[0].Prices["br"] = catalog.Price{Amount: shopd.Money{Amount: 9990, Currency: "BRL"}}
	p.Variants[1].Prices["us"] = catalog.Price{Amount: catalogUSD(1800), CompareAt: &cmp}
	p.Variants[1].Options = map[string]string{"shade": "Beam", "size": "10 ml"}
	if err := s.CreateProduct(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := s.Product(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	catalogEqual(t, "by ID", got, p)
	got, err = s.ProductByHandle(ctx, "cloud-paint")
	if err != nil {
		t.Fatal(err)
	}
	catalogEqual(t, "by handle", got, p)

	// A product with no attributes, media, launch time or compare-at.
	plain := catalogProduct("plain", nil, "PL-1")
	plain.Variants[0].Prices = map[string]catalog.Price{}
	plain.Variants[0].Options = map[string]string{}
	if err := s.CreateProduct(ctx, plain); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Product(ctx, plain.ID); err != nil {
		t.Fatal(err)
	} else {
		catalogEqual(t, "plain", got, plain)
	}

	_, err = s.Product(ctx, shopd.NewID("prd"))
	catalogWantErr(t, "unknown ID", err, shopd.ENOTFOUND, "product-not-found")
	_, err = s.ProductByHandle(ctx, "no-such-handle")
	catalogWantErr(t, "unknown handle", err, shopd.ENOTFOUND, "product-not-found")
}

func testCatalogConflicts(t *testing.T, s *sqlstore.CatalogStore) {
	a := catalogProduct("conflict-a", map[string][]string{"brand": {"A"}}, "CONF-A1")
	if err := s.CreateProduct(ctx, a); err != nil {
		t.Fatal(err)
	}
	err := s.CreateProduct(ctx, catalogProduct("conflict-a", nil, "CONF-B1"))
	catalogWantErr(t, "same handle", err, shopd.ECONFLICT, "handle-taken")
	b := catalogProduct("conflict-b", map[string][]string{"brand": {"B"}}, "CONF-B1", "CONF-A1")
	err = s.CreateProduct(ctx, b)
	catalogWantErr(t, "same SKU", err, shopd.ECONFLICT, "sku-taken")
	// Nothing of the failed product was written.
	_, err = s.ProductByHandle(ctx, "conflict-b")
	catalogWantErr(t, "failed create", err, shopd.ENOTFOUND, "product-not-found")
	b = catalogProduct("conflict-b", nil, "CONF-B1")
	if err := s.CreateProduct(ctx, b); err != nil {
		t.Fatalf("after a failed create, the same product with a free SKU: %v", err)
	}

	_, err = s.UpdateProduct(ctx, b.ID, func(p *catalog.Product) error { p.Handle = "conflict-a"; return nil })
	catalogWantErr(t, "rename to a taken handle", err, shopd.ECONFLICT, "handle-taken")
	_, err = s.UpdateVariant(ctx, b.Variants[0].ID, func(p *catalog.Product, v *catalog.Variant) error { v.SKU = "CONF-A1"; return nil })
	catalogWantErr(t, "change to a taken SKU", err, shopd.ECONFLICT, "sku-taken")
	_, err = s.AddVariant(ctx, b.ID, func(p *catalog.Product) (catalog.Variant, error) {
		v := catalogProduct("x", nil, "CONF-A1").Variants[0]
		return v, nil
	})
	catalogWantErr(t, "add a taken SKU", err, shopd.ECONFLICT, "sku-taken")
	got, err := s.Product(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	catalogEqual(t, "after failed changes", got, b)
}

// testCatalogHandleRace creates the same handle from 100 goroutines: exactly
// one wins, the others get handle-taken and leave nothing behind.
func testCatalogHandleRace(t *testing.T, s *sqlstore.CatalogStore) {
	const n = 100
	errs := make([]error, n)
	ps := make([]catalog.Product, n)
	var wg sync.WaitGroup
	for i := range n {
		ps[i] = catalogProduct("drop-day", nil, fmt.Sprintf("RACE-%d-A", i), fmt.Sprintf("RACE-%d-B", i))
		wg.Go(func() { errs[i] = s.CreateProduct(ctx, ps[i]) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			if winner >= 0 {
				t.Fatalf("creates %d and %d both succeeded", winner, i)
			}
			winner = i
			continue
		}
		catalogWantErr(t, fmt.Sprintf("create %d", i), err, shopd.ECONFLICT, "handle-taken")
	}
	if winner < 0 {
		t.Fatal("no create succeeded")
	}
	got, err := s.ProductByHandle(ctx, "drop-day")
	if err != nil {
		t.Fatal(err)
	}
	catalogEqual(t, "winner", got, ps[winner])
	// The losers' SKUs are free: their variants were rolled back.
	for i := range n {
		if i == winner {
			continue
		}
		if err := s.CreateProduct(ctx, catalogProduct(fmt.Sprintf("drop-day-%d", i), nil, ps[i].Variants[0].SKU)); err != nil {
			t.Fatalf("SKU of loser %d: %v", i, err)
		}
	}
}

func testCatalogUpdateProduct(t *testing.T, s *sqlstore.CatalogStore) {
	p := catalogProduct("update-me", map[string][]string{"brand": {"Old"}, "finish": {"matte"}}, "UPD-1")
	if err := s.CreateProduct(ctx, p); err != nil {
		t.Fatal(err)
	}
	later := catalogTime.Add(time.Hour)
	got, err := s.UpdateProduct(ctx, p.ID, func(q *catalog.Product) error {
		if !reflect.DeepEqual(q.Attributes, p.Attributes) {
			t.Errorf("fn saw attributes %v", q.Attributes)
		}
		q.Handle, q.Title, q.Description, q.Status = "updated", "Updated", "New text", catalog.StatusArchived
		q.LaunchAt, q.PurchaseLimit, q.TaxCategory = later, 3, "reduced"
		q.Attributes = map[string][]string{"brand": {"New"}, "skin_type": {"dry"}}
		q.Media = []catalog.Media{{URL: "https://cdn.example.com/new.jpg", Alt: "new"}}
		q.UpdatedAt = later
		q.CreatedAt = later // ignored: creation time never changes
		q.ID = "prd_other"  // ignored
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := p
	want.Handle, want.Title, want.Description, want.Status = "updated", "Updated", "New text", catalog.StatusArchived
	want.LaunchAt, want.PurchaseLimit, want.TaxCategory = later, 3, "reduced"
	want.Attributes = map[string][]string{"brand": {"New"}, "skin_type": {"dry"}}
	want.Media = []catalog.Media{{URL: "https://cdn.example.com/new.jpg", Alt: "new"}}
	want.UpdatedAt = later
	catalogEqual(t, "returned", got, want)
	stored, err := s.ProductByHandle(ctx, "updated")
	if err != nil {
		t.Fatal(err)
	}
	catalogEqual(t, "stored", stored, want)

	// Clearing the launch time; an error from fn changes nothing.
	if got, err = s.UpdateProduct(ctx, p.ID, func(q *catalog.Product) error { q.LaunchAt = time.Time{}; return nil }); err != nil || !got.LaunchAt.IsZero() {
		t.Fatalf("clear launch: %v %v", got.LaunchAt, err)
	}
	boom := shopd.Errorf(shopd.EINVALID, "boom")
	_, err = s.UpdateProduct(ctx, p.ID, func(q *catalog.Product) error { q.Title = "Lost"; return boom })
	if err != boom {
		t.Fatalf("fn error: got %v", err)
	}
	if stored, _ = s.Product(ctx, p.ID); stored.Title != "Updated" {
		t.Fatalf("title %q after a failed update", stored.Title)
	}
	_, err = s.UpdateProduct(ctx, shopd.NewID("prd"), func(q *catalog.Product) error { return nil })
	catalogWantErr(t, "unknown product", err, shopd.ENOTFOUND, "product-not-found")
}

func testCatalogVariants(t *testing.T, s *sqlstore.CatalogStore) {
	p := catalogProduct("variants", nil, "VAR-1")
	if err := s.CreateProduct(ctx, p); err != nil {
		t.Fatal(err)
	}
	later := catalogTime.Add(time.Minute)
	added, err := s.AddVariant(ctx, p.ID, func(q *catalog.Product) (catalog.Variant, error) {
		if len(q.Variants) != 1 {
			t.Errorf("fn saw %d variants", len(q.Variants))
		}
		v := catalogProduct("x", nil, "VAR-0").Variants[0]
		v.Position = 0 // sorts first
		v.Prices["ca"] = catalog.Price{Amount: shopd.Money{Amount: 1399, Currency: "CAD"}}
		q.UpdatedAt = later
		return v, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if added.ProductID != p.ID {
		t.Errorf("added variant has product %q", added.ProductID)
	}
	got, err := s.Product(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Variants) != 2 || !reflect.DeepEqual(got.Variants[0], added) || !reflect.DeepEqual(got.Variants[1], p.Variants[0]) || !got.UpdatedAt.Equal(later) {
		t.Fatalf("after AddVariant: %+v", got)
	}

	cmp := catalogUSD(5000)
	upd, err := s.UpdateVariant(ctx, added.ID, func(q *catalog.Product, v *catalog.Variant) error {
		v.SKU, v.Title, v.Position = "VAR-0B", "Renamed", 7
		v.Options = map[string]string{"shade": "Rose"}
		v.Prices = map[string]catalog.Price{"us": {Amount: catalogUSD(4000), CompareAt: &cmp}} // ca removed, us replaced
		v.UpdatedAt, q.UpdatedAt = later.Add(time.Minute), later.Add(time.Minute)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := added
	want.SKU, want.Title, want.Position, want.Options = "VAR-0B", "Renamed", 7, map[string]string{"shade": "Rose"}
	want.Prices = map[string]catalog.Price{"us": {Amount: catalogUSD(4000), CompareAt: &cmp}}
	want.UpdatedAt = later.Add(time.Minute)
	if !reflect.DeepEqual(upd, want) {
		t.Fatalf("UpdateVariant returned %+v, want %+v", upd, want)
	}
	got, _ = s.Product(ctx, p.ID)
	if len(got.Variants) != 2 || !reflect.DeepEqual(got.Variants[1], want) || !got.UpdatedAt.Equal(later.Add(time.Minute)) {
		t.Fatalf("stored after UpdateVariant: %+v", got)
	}
	// The old SKU is free again.
	if err := s.CreateProduct(ctx, catalogProduct("variants-2", nil, "VAR-0")); err != nil {
		t.Fatal(err)
	}
	_, err = s.UpdateVariant(ctx, shopd.NewID("var"), func(*catalog.Product, *catalog.Variant) error { return nil })
	catalogWantErr(t, "unknown variant", err, shopd.ENOTFOUND, "variant-not-found")
	_, err = s.AddVariant(ctx, shopd.NewID("prd"), func(*catalog.Product) (catalog.Variant, error) { return catalog.Variant{}, nil })
	catalogWantErr(t, "unknown product", err, shopd.ENOTFOUND, "product-not-found")
}

func testCatalogAdminList(t *testing.T, s *sqlstore.CatalogStore) {
	var ids []string
	statuses := []catalog.Status{catalog.StatusDraft, catalog.StatusActive, catalog.StatusArchived}
	byStatus := map[catalog.Status][]string{}
	for i := range 25 {
		p := catalogProduct(fmt.Sprintf("admin-%d", i), nil, fmt.Sprintf("ADM-%d", i))
		p.Status = statuses[i%3]
		if err := s.CreateProduct(ctx, p); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
		byStatus[p.Status] = append(byStatus[p.Status], p.ID)
	}
	walk := func(status catalog.Status, limit int) (got []string, pages int) {
		f := catalog.ListFilter{Status: status, Limit: limit}
		for {
			page, err := s.Products(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, p := range page.Products {
				if status != "" && p.Status != status {
					t.Fatalf("status filter %q returned %s", status, p.Status)
				}
				if len(p.Variants) != 1 || len(p.Variants[0].Prices) != 1 {
					t.Fatalf("product %s without its variants: %+v", p.ID, p.Variants)
				}
				got = append(got, p.ID)
			}
			if page.NextCursor == "" {
				return got, pages
			}
			f.Cursor = page.NextCursor
		}
	}
	newestFirst := func(ids []string) []string {
		out := slices.Clone(ids)
		slices.Reverse(out)
		return out
	}
	if got, pages := walk("", 10); !reflect.DeepEqual(got, newestFirst(ids)) || pages != 3 {
		t.Errorf("all in %d pages: %v, want %v in 3", pages, got, newestFirst(ids))
	}
	if got, pages := walk("", 25); !reflect.DeepEqual(got, newestFirst(ids)) || pages != 1 {
		t.Errorf("one full page: %d pages", pages)
	}
	for _, st := range statuses {
		if got, _ := walk(st, 3); !reflect.DeepEqual(got, newestFirst(byStatus[st])) {
			t.Errorf("status %s: %v, want %v", st, got, newestFirst(byStatus[st]))
		}
	}
}

func testCatalogStorefront(t *testing.T, s *sqlstore.CatalogStore) {
	type spec struct {
		handle string
		status catalog.Status
		attrs  map[string][]string
		br     bool // also priced in br
		us     bool
	}
	specs := []spec{
		{"sf-glossier-dry", catalog.StatusActive, map[string][]string{"brand": {"Glossier"}, "skin_type": {"dry"}}, true, true},
		{"sf-glossier-oily", catalog.StatusActive, map[string][]string{"brand": {"Glossier"}, "skin_type": {"oily", "combination"}}, false, true},
		{"sf-glossier-normal", catalog.StatusActive, map[string][]string{"brand": {"Glossier"}, "skin_type": {"normal"}}, true, true},
		{"sf-fenty-dry", catalog.StatusActive, map[string][]string{"brand": {"Fenty"}, "skin_type": {"dry", "oily"}}, true, true},
		{"sf-draft", catalog.StatusDraft, map[string][]string{"brand": {"Glossier"}, "skin_type": {"dry"}}, true, true},
		{"sf-archived", catalog.StatusArchived, map[string][]string{"brand": {"Glossier"}, "skin_type": {"dry"}}, true, true},
		{"sf-br-only", catalog.StatusActive, map[string][]string{"brand": {"Glossier"}, "skin_type": {"dry"}}, true, false},
		{"sf-no-attrs", catalog.StatusActive, nil, false, true},
	}
	ids := map[string]string{}
	for i, sp := range specs {
		p := catalogProduct(sp.handle, sp.attrs, fmt.Sprintf("SF-%d-A", i), fmt.Sprintf("SF-%d-B", i))
		p.Status = sp.status
		if !sp.us {
			delete(p.Variants[0].Prices, "us")
			delete(p.Variants[1].Prices, "us")
		}
		if sp.br {
			// Only the second variant is sold in Brazil.
			p.Variants[1].Prices["br"] = catalog.Price{Amount: shopd.Money{Amount: 5990, Currency: "BRL"}}
		}
		if err := s.CreateProduct(ctx, p); err != nil {
			t.Fatal(err)
		}
		ids[sp.handle] = p.ID
	}
	tests := []struct {
		name   string
		market string
		attrs  map[string][]string
		want   []string
	}{
		{"all in us", "us", nil, []string{"sf-glossier-dry", "sf-glossier-oily", "sf-glossier-normal", "sf-fenty-dry", "sf-no-attrs"}},
		{"all in br", "br", nil, []string{"sf-glossier-dry", "sf-glossier-normal", "sf-fenty-dry", "sf-br-only"}},
		{"none in in", "in", nil, nil},
		{"brand", "us", map[string][]string{"brand": {"Glossier"}}, []string{"sf-glossier-dry", "sf-glossier-oily", "sf-glossier-normal"}},
		{"or within a name", "us", map[string][]string{"skin_type": {"dry", "oily"}}, []string{"sf-glossier-dry", "sf-glossier-oily", "sf-fenty-dry"}},
		{"and across names", "us", map[string][]string{"brand": {"Glossier"}, "skin_type": {"dry", "oily"}}, []string{"sf-glossier-dry", "sf-glossier-oily"}},
		{"and across names in br", "br", map[string][]string{"brand": {"Glossier"}, "skin_type": {"dry"}}, []string{"sf-glossier-dry", "sf-br-only"}},
		{"values are exact", "us", map[string][]string{"brand": {"glossier"}}, nil},
		{"unknown attribute", "us", map[string][]string{"finish": {"matte"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for _, h := range tt.want {
				want = append(want, ids[h])
			}
			slices.Sort(want)
			var got []string
			for _, limit := range []int{1, 2, 100} {
				got = nil
				f := catalog.ListFilter{Market: tt.market, Attributes: tt.attrs, Limit: limit}
				for range 20 {
					page, err := s.StorefrontProducts(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					if len(page.Products) > limit {
						t.Fatalf("page of %d with limit %d", len(page.Products), limit)
					}
					for _, p := range page.Products {
						got = append(got, p.ID)
						for _, v := range p.Variants {
							if _, ok := v.Prices[tt.market]; !ok || len(v.Prices) != 1 {
								t.Fatalf("variant %s has prices %v in market %s", v.SKU, v.Prices, tt.market)
							}
						}
						wantVariants := 2
						if tt.market == "br" {
							wantVariants = 1
						}
						if len(p.Variants) != wantVariants {
							t.Fatalf("product %s has %d variants in %s, want %d", p.Handle, len(p.Variants), tt.market, wantVariants)
						}
					}
					if page.NextCursor == "" {
						break
					}
					f.Cursor = page.NextCursor
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("limit %d: got %v, want %v", limit, got, want)
				}
			}
		})
	}
}

// testCatalogBulkInsert loads more products than one transaction and one
// statement hold, and checks every row.
func testCatalogBulkInsert(t *testing.T, db *sqlstore.DB) {
	s := db.Catalog()
	markets := []market.Market{{Code: "us", Currency: "USD"}, {Code: "ca", Currency: "CAD"}, {Code: "br", Currency: "BRL"}, {Code: "in", Currency: "INR"}}
	ps := seed.Products(1, 2500, markets, catalogTime)
	if err := s.InsertProducts(ctx, ps); err != nil {
		t.Fatal(err)
	}
	var variants, prices, attrValues int
	for _, p := range ps {
		variants += len(p.Variants)
		for _, v := range p.Variants {
			prices += len(v.Prices)
		}
		for _, vs := range p.Attributes {
			attrValues += len(vs)
		}
	}
	counts := map[string]int{"products": len(ps), "variants": variants, "variant_prices": prices, "product_attributes": attrValues}
	err := db.InTx(ctx, func(tx *sqlstore.Tx) error {
		for table, want := range counts {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
				return err
			}
			if n != want {
				t.Errorf("%s: %d rows, want %d", table, n, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1999, 2000, 2499} {
		got, err := s.Product(ctx, ps[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		catalogEqual(t, fmt.Sprintf("product %d", i), got, ps[i])
	}
	// The attribute index answers filters on bulk-loaded products.
	want := 0
	for _, p := range ps {
		if p.Status == catalog.StatusActive && p.Attributes["brand"][0] == "Glow Theory" && slices.Contains(p.Attributes["skin_type"], "dry") {
			want++
		}
	}
	got := 0
	f := catalog.ListFilter{Market: "in", Attributes: map[string][]string{"brand": {"Glow Theory"}, "skin_type": {"dry"}}, Limit: 100}
	for {
		page, err := s.StorefrontProducts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		got += len(page.Products)
		if page.NextCursor == "" {
			break
		}
		f.Cursor = page.NextCursor
	}
	if got != want || want == 0 {
		t.Errorf("filter found %d, want %d (> 0)", got, want)
	}
	// A batch with a taken handle fails whole.
	dup := seed.Products(2, 3, markets, catalogTime)
	dup[2].Handle = ps[0].Handle
	err = s.InsertProducts(ctx, dup)
	catalogWantErr(t, "bulk insert with a taken handle", err, shopd.ECONFLICT, "handle-taken")
	if _, err := s.Product(ctx, dup[0].ID); shopd.ErrorCode(err) != shopd.ENOTFOUND {
		t.Errorf("first product of a failed batch: %v", err)
	}
}
