package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/market"
)

// storefrontProduct is a product as shoppers see it in one market.
type storefrontProduct struct {
	ID            string              `json:"id"`
	Handle        string              `json:"handle"`
	Title         string              `json:"title"`
	Description   string              `json:"description"`
	Market        string              `json:"market"`
	Available     bool                `json:"available"`
	LaunchAt      time.Time           `json:"launch_at,omitzero"`
	PurchaseLimit int                 `json:"purchase_limit"`
	Attributes    map[string][]string `json:"attributes"`
	Media         []catalog.Media     `json:"media"`
	PriceRange    priceRangeJSON      `json:"price_range"`
	Variants      []storefrontVariant `json:"variants"`
}

type priceRangeJSON struct {
	Min moneyJSON `json:"min"`
	Max moneyJSON `json:"max"`
}

type storefrontVariant struct {
	ID             string            `json:"id"`
	SKU            string            `json:"sku"`
	Title          string            `json:"title"`
	Options        map[string]string `json:"options"`
	Position       int               `json:"position"`
	Price          moneyJSON         `json:"price"`
	CompareAtPrice *moneyJSON        `json:"compare_at_price,omitempty"`
}

func storefrontJSON(l catalog.Listing, m market.Market) storefrontProduct {
	p := l.Product
	out := storefrontProduct{
		ID: p.ID, Handle: p.Handle, Title: p.Title, Description: p.Description, Market: m.Code,
		Available: l.Available, LaunchAt: p.LaunchAt, PurchaseLimit: p.PurchaseLimit,
		Attributes: p.Attributes, Media: p.Media,
		PriceRange: priceRangeJSON{Min: moneyOut(l.MinPrice, m.DefaultLocale), Max: moneyOut(l.MaxPrice, m.DefaultLocale)},
		Variants:   make([]storefrontVariant, 0, len(p.Variants)),
	}
	for _, v := range p.Variants {
		pr := v.Prices[m.Code]
		sv := storefrontVariant{ID: v.ID, SKU: v.SKU, Title: v.Title, Options: v.Options, Position: v.Position,
			Price: moneyOut(pr.Amount, m.DefaultLocale)}
		if pr.CompareAt != nil {
			c := moneyOut(*pr.CompareAt, m.DefaultLocale)
			sv.CompareAtPrice = &c
		}
		out.Variants = append(out.Variants, sv)
	}
	return out
}

// adminProduct is a product as staff see it: any status, every market.
type adminProduct struct {
	ID            string              `json:"id"`
	Handle        string              `json:"handle"`
	Title         string              `json:"title"`
	Description   string              `json:"description"`
	Status        catalog.Status      `json:"status"`
	LaunchAt      time.Time           `json:"launch_at,omitzero"`
	PurchaseLimit int                 `json:"purchase_limit"`
	TaxCategory   string              `json:"tax_category"`
	Attributes    map[string][]string `json:"attributes"`
	Media         []catalog.Media     `json:"media"`
	Variants      []adminVariant      `json:"variants"`
	CreatedAt     time.Time           `json:"created_at"`
	UpdatedAt     time.Time           `json:"updated_at"`
}

type adminVariant struct {
	ID        string                `json:"id"`
	ProductID string                `json:"product_id"`
	SKU       string                `json:"sku"`
	Title     string                `json:"title"`
	Options   map[string]string     `json:"options"`
	Position  int                   `json:"position"`
	Prices    map[string]adminPrice `json:"prices"`
	CreatedAt time.Time             `json:"created_at"`
	UpdatedAt time.Time             `json:"updated_at"`
}

type adminPrice struct {
	Amount    moneyJSON  `json:"amount"`
	CompareAt *moneyJSON `json:"compare_at,omitempty"`
}

// locales finds the default locale of markets, once per response.
type locales struct {
	ctx     context.Context
	markets *market.Service
	byCode  map[string]string
}

func (s *Server) locales(ctx context.Context) *locales {
	return &locales{ctx: ctx, markets: s.Markets, byCode: map[string]string{}}
}

func (l *locales) of(code string) string {
	if loc, ok := l.byCode[code]; ok {
		return loc
	}
	loc := "en"
	if l.markets != nil {
		if m, err := l.markets.Market(l.ctx, code); err == nil && m.DefaultLocale != "" {
			loc = m.DefaultLocale
		}
	}
	l.byCode[code] = loc
	return loc
}

func adminProductJSON(p catalog.Product, l *locales) adminProduct {
	out := adminProduct{
		ID: p.ID, Handle: p.Handle, Title: p.Title, Description: p.Description, Status: p.Status, LaunchAt: p.LaunchAt,
		PurchaseLimit: p.PurchaseLimit, TaxCategory: p.TaxCategory, Attributes: p.Attributes, Media: p.Media,
		Variants: make([]adminVariant, 0, len(p.Variants)), CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	for _, v := range p.Variants {
		out.Variants = append(out.Variants, adminVariantJSON(v, l))
	}
	return out
}

func adminVariantJSON(v catalog.Variant, l *locales) adminVariant {
	out := adminVariant{ID: v.ID, ProductID: v.ProductID, SKU: v.SKU, Title: v.Title, Options: v.Options, Position: v.Position,
		Prices: make(map[string]adminPrice, len(v.Prices)), CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
	for code, pr := range v.Prices {
		loc := l.of(code)
		ap := adminPrice{Amount: moneyOut(pr.Amount, loc)}
		if pr.CompareAt != nil {
			c := moneyOut(*pr.CompareAt, loc)
			ap.CompareAt = &c
		}
		out.Prices[code] = ap
	}
	return out
}

// productKeys are the Surrogate-Keys of a storefront response: purge
// "product-<id>" when a product changes, "market-<code>" when a market
// does, "products" for the whole catalog.
func productKeys(m market.Market, ids ...string) []string {
	keys := []string{"products", "market-" + m.Code}
	for _, id := range ids {
		keys = append(keys, "product-"+id)
	}
	return keys
}

// storefrontMarket is the market a storefront request is priced in.
func (s *Server) storefrontMarket(r *http.Request) string {
	if m := r.URL.Query().Get("market"); m != "" {
		return m
	}
	return s.DefaultMarket
}

// attrFilters reads "attr.<name>=v1,v2" query parameters: values of one
// name are alternatives, names must all match.
func attrFilters(q url.Values) map[string][]string {
	var out map[string][]string
	for key, vals := range q {
		name, ok := strings.CutPrefix(key, "attr.")
		if !ok {
			continue
		}
		if out == nil {
			out = map[string][]string{}
		}
		list := out[name]
		for _, v := range vals {
			for part := range strings.SplitSeq(v, ",") {
				if part = strings.TrimSpace(part); part != "" {
					list = append(list, part)
				}
			}
		}
		out[name] = list
	}
	return out
}

// listProducts serves GET /v1/products: the storefront catalog in a market.
func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) error {
	// The answer is kept by storefrontKey: a query parameter read here must
	// be one of its.
	return s.respondStorefront(w, r, func() (any, []string, time.Time, error) {
		limit, err := queryInt(r, "limit", catalog.DefaultPageSize, 1, catalog.MaxPageSize)
		if err != nil {
			return nil, nil, time.Time{}, err
		}
		q := r.URL.Query()
		page, err := s.Catalog.StorefrontProducts(r.Context(), catalog.ListFilter{
			Market: s.storefrontMarket(r), Attributes: attrFilters(q), Cursor: q.Get("cursor"), Limit: limit,
		})
		if err != nil {
			return nil, nil, time.Time{}, err
		}
		out := List[storefrontProduct]{Data: make([]storefrontProduct, 0, len(page.Listings)), NextCursor: page.NextCursor}
		ids := make([]string, 0, len(page.Listings))
		for _, l := range page.Listings {
			out.Data = append(out.Data, storefrontJSON(l, page.Market))
			ids = append(ids, l.Product.ID)
		}
		return out, productKeys(page.Market, ids...), page.FreshUntil, nil
	})
}

// getProduct serves GET /v1/products/{product}: one product, by ID or
// handle, in a market.
func (s *Server) getProduct(w http.ResponseWriter, r *http.Request) error {
	return s.respondStorefront(w, r, func() (any, []string, time.Time, error) {
		m, l, err := s.Catalog.StorefrontProduct(r.Context(), s.storefrontMarket(r), r.PathValue("product"))
		if err != nil {
			return nil, nil, time.Time{}, err
		}
		return storefrontJSON(l, m), productKeys(m, l.Product.ID), l.FreshUntil, nil
	})
}

// adminListProducts serves GET /v1/admin/products.
func (s *Server) adminListProducts(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", catalog.DefaultPageSize, 1, catalog.MaxPageSize)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.Catalog.Products(r.Context(), catalog.ListFilter{Status: catalog.Status(q.Get("status")), Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	loc := s.locales(r.Context())
	out := List[adminProduct]{Data: make([]adminProduct, 0, len(page.Products)), NextCursor: page.NextCursor}
	for _, p := range page.Products {
		out.Data = append(out.Data, adminProductJSON(p, loc))
	}
	return respond(w, http.StatusOK, out)
}

// createProduct serves POST /v1/admin/products.
func (s *Server) createProduct(w http.ResponseWriter, r *http.Request) error {
	var in catalog.NewProduct
	if err := decode(r, &in); err != nil {
		return err
	}
	p, err := s.Catalog.CreateProduct(r.Context(), in)
	if err != nil {
		return err
	}
	return created(w, "/v1/admin/products/"+p.ID, adminProductJSON(p, s.locales(r.Context())))
}

// adminGetProduct serves GET /v1/admin/products/{product}.
func (s *Server) adminGetProduct(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Catalog.Product(r.Context(), r.PathValue("product"))
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, adminProductJSON(p, s.locales(r.Context())))
}

// productPatch is the body of PATCH /v1/admin/products/{product}.
type productPatch struct {
	Handle        *string             `json:"handle"`
	Title         *string             `json:"title"`
	Description   *string             `json:"description"`
	Status        *catalog.Status     `json:"status"`
	LaunchAt      json.RawMessage     `json:"launch_at"` // absent: unchanged; null: cleared
	PurchaseLimit *int                `json:"purchase_limit"`
	TaxCategory   *string             `json:"tax_category"`
	Attributes    map[string][]string `json:"attributes"`
	Media         *[]catalog.Media    `json:"media"`
}

// updateProduct serves PATCH /v1/admin/products/{product}.
func (s *Server) updateProduct(w http.ResponseWriter, r *http.Request) error {
	var in productPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	u := catalog.ProductUpdate{Handle: in.Handle, Title: in.Title, Description: in.Description, Status: in.Status,
		PurchaseLimit: in.PurchaseLimit, TaxCategory: in.TaxCategory, Attributes: in.Attributes, Media: in.Media}
	if in.LaunchAt != nil {
		var t time.Time
		if !bytes.Equal(in.LaunchAt, []byte("null")) {
			if err := json.Unmarshal(in.LaunchAt, &t); err != nil {
				return &shopd.Error{Code: shopd.EINVALID, Type: "validation", Message: "The request has invalid fields.",
					Fields: []shopd.FieldError{{Field: "launch_at", Message: "must be an RFC 3339 time or null"}}}
			}
		}
		u.LaunchAt = &t
	}
	p, err := s.Catalog.UpdateProduct(r.Context(), r.PathValue("product"), u)
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, adminProductJSON(p, s.locales(r.Context())))
}

// archiveProduct serves POST /v1/admin/products/{product}/archive.
func (s *Server) archiveProduct(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Catalog.ArchiveProduct(r.Context(), r.PathValue("product"))
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, adminProductJSON(p, s.locales(r.Context())))
}

// createVariant serves POST /v1/admin/products/{product}/variants.
func (s *Server) createVariant(w http.ResponseWriter, r *http.Request) error {
	var in catalog.NewVariant
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := s.Catalog.AddVariant(r.Context(), r.PathValue("product"), in)
	if err != nil {
		return err
	}
	return respond(w, http.StatusCreated, adminVariantJSON(v, s.locales(r.Context())))
}

// variantPatch is the body of PATCH /v1/admin/variants/{variant}.
type variantPatch struct {
	SKU      *string           `json:"sku"`
	Title    *string           `json:"title"`
	Options  map[string]string `json:"options"`
	Position *int              `json:"position"`
}

// updateVariant serves PATCH /v1/admin/variants/{variant}.
func (s *Server) updateVariant(w http.ResponseWriter, r *http.Request) error {
	var in variantPatch
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := s.Catalog.UpdateVariant(r.Context(), r.PathValue("variant"),
		catalog.VariantUpdate{SKU: in.SKU, Title: in.Title, Options: in.Options, Position: in.Position})
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, adminVariantJSON(v, s.locales(r.Context())))
}

// setPrice serves PUT /v1/admin/variants/{variant}/prices/{market}: it
// creates or replaces the price.
func (s *Server) setPrice(w http.ResponseWriter, r *http.Request) error {
	var in catalog.Price
	if err := decode(r, &in); err != nil {
		return err
	}
	v, err := s.Catalog.SetPrice(r.Context(), r.PathValue("variant"), r.PathValue("market"), in)
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, adminVariantJSON(v, s.locales(r.Context())))
}

// deletePrice serves DELETE /v1/admin/variants/{variant}/prices/{market}.
func (s *Server) deletePrice(w http.ResponseWriter, r *http.Request) error {
	if err := s.Catalog.DeletePrice(r.Context(), r.PathValue("variant"), r.PathValue("market")); err != nil {
		return err
	}
	return noContent(w)
}
