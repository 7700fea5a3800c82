// Package catalog holds products, their variants (SKUs) and prices per
// market, with attributes for filtering and a launch time for drops.
package catalog

import (
	"context"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
	"github.com/shopd/shopd/readcache"
)

// Status is where a product is in its life.
type Status string

// Product statuses. Only active products are shown on the storefront.
const (
	StatusDraft    Status = "draft"    // being prepared; staff only
	StatusActive   Status = "active"   // on the storefront (purchasable from LaunchAt)
	StatusArchived Status = "archived" // withdrawn; kept for orders and history
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	return s == StatusDraft || s == StatusActive || s == StatusArchived
}

// Limits on catalog input. They keep rows, responses and indexes bounded.
const (
	MaxHandleLen         = 100
	MaxTitleLen          = 200
	MaxDescriptionLen    = 10_000
	MaxVariants          = 100
	MaxAttributes        = 50
	MaxAttributeValues   = 20
	MaxAttributeNameLen  = 40
	MaxAttributeValueLen = 100
	MaxMedia             = 20
	MaxURLLen            = 2048
	MaxAltLen            = 500
	MaxSKULen            = 64
	MaxOptions           = 5
	MaxOptionNameLen     = 40
	MaxOptionValueLen    = 100
	MaxTaxCategoryLen    = 40
	MaxPurchaseLimit     = 10_000
	MaxPosition          = 1_000_000
	MaxAmount            = 1_000_000_000_000 // minor units
	MaxPageSize          = 100
	DefaultPageSize      = 20
	MaxFilterNames       = 10
)

// DefaultTaxCategory is the tax category of a product that names none.
const DefaultTaxCategory = "standard"

// Product is something the shop sells, in one or more variants.
type Product struct {
	ID          string `json:"id"` // "prd_…"
	Handle      string `json:"handle"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Status      Status `json:"status"`
	// LaunchAt is when a drop opens; before it an active product is listed
	// as upcoming but cannot be bought. Zero means no launch time.
	LaunchAt time.Time `json:"launch_at,omitzero"`
	// PurchaseLimit is the most units one customer may buy; 0 means no limit.
	PurchaseLimit int                 `json:"purchase_limit"`
	TaxCategory   string              `json:"tax_category"`
	Attributes    map[string][]string `json:"attributes"` // brand, category, skin_type, …
	Media         []Media             `json:"media"`
	Variants      []Variant           `json:"variants"` // by position, then ID
	CreatedAt     time.Time           `json:"created_at"`
	UpdatedAt     time.Time           `json:"updated_at"`
}

// Available reports whether the product can be bought at now: it is active
// and its launch time, if any, has come.
func (p *Product) Available(now time.Time) bool {
	return p.Status == StatusActive && !now.Before(p.LaunchAt)
}

// Variant returns the product's variant with the ID.
func (p *Product) Variant(id string) (Variant, bool) {
	for _, v := range p.Variants {
		if v.ID == id {
			return v, true
		}
	}
	return Variant{}, false
}

// Media is an image or video of a product.
type Media struct {
	URL string `json:"url"` // https only
	Alt string `json:"alt"`
}

// Variant is one purchasable version of a product (a SKU): a shade, a size.
type Variant struct {
	ID        string            `json:"id"` // "var_…"
	ProductID string            `json:"product_id"`
	SKU       string            `json:"sku"`
	Title     string            `json:"title"`
	Options   map[string]string `json:"options"` // e.g. {"shade": "Rose", "size": "30 ml"}
	Position  int               `json:"position"`
	Prices    map[string]Price  `json:"prices"` // by market code
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Price is a variant's price in one market.
type Price struct {
	Amount shopd.Money `json:"amount"`
	// CompareAt is the struck-through "was" price, higher than Amount.
	CompareAt *shopd.Money `json:"compare_at,omitempty"`
}

// NewProduct is the input that creates a product.
type NewProduct struct {
	Handle        string              `json:"handle"` // made from Title if empty
	Title         string              `json:"title"`
	Description   string              `json:"description"`
	Status        Status              `json:"status"` // draft if empty
	LaunchAt      *time.Time          `json:"launch_at"`
	PurchaseLimit int                 `json:"purchase_limit"`
	TaxCategory   string              `json:"tax_category"` // DefaultTaxCategory if empty
	Attributes    map[string][]string `json:"attributes"`
	Media         []Media             `json:"media"`
	Variants      []NewVariant        `json:"variants"`
}

// NewVariant is the input that creates a variant.
type NewVariant struct {
	SKU     string            `json:"sku"`
	Title   string            `json:"title"` // made from the option values if empty
	Options map[string]string `json:"options"`
	// Position orders the variants; after the last one if nil.
	Position *int             `json:"position"`
	Prices   map[string]Price `json:"prices"`
}

// ProductUpdate changes some fields of a product; nil fields stay as they are.
type ProductUpdate struct {
	Handle        *string
	Title         *string
	Description   *string
	Status        *Status
	LaunchAt      *time.Time // a zero time clears the launch time
	PurchaseLimit *int
	TaxCategory   *string
	Attributes    map[string][]string // replaces all attributes; an empty map clears them
	Media         *[]Media
}

// VariantUpdate changes some fields of a variant; nil fields stay as they are.
type VariantUpdate struct {
	SKU      *string
	Title    *string
	Options  map[string]string // replaces all options
	Position *int
}

// ListFilter selects a page of products.
type ListFilter struct {
	// Status keeps only products in this status (staff lists; "" is any).
	Status Status
	// Market keeps only products with a price in the market (storefront).
	Market string
	// Attributes keeps products that have, for every name, one of the values.
	Attributes map[string][]string
	// Cursor is the NextCursor of the previous page.
	Cursor string
	// Limit is the page size, 1 to MaxPageSize.
	Limit int
}

// Page is a page of products.
type Page struct {
	Products   []Product
	NextCursor string // "" on the last page
}

// Store is what Service needs from storage. Methods return ENOTFOUND for an
// unknown product or variant, and ECONFLICT "handle-taken" or "sku-taken"
// when a handle or SKU is already used.
type Store interface {
	// CreateProduct stores a new product with its variants, prices and
	// attributes in one transaction.
	CreateProduct(ctx context.Context, p Product) error
	// InsertProducts bulk-loads many new products (seeding, imports).
	InsertProducts(ctx context.Context, ps []Product) error
	// Product returns the product with the ID, with its variants and prices.
	Product(ctx context.Context, id string) (Product, error)
	// ProductByHandle returns the product with the handle.
	ProductByHandle(ctx context.Context, handle string) (Product, error)
	// UpdateProduct runs fn on the product under a lock and stores the
	// product's own fields and attributes (not its variants) if fn returns
	// nil.
	UpdateProduct(ctx context.Context, id string, fn func(p *Product) error) (Product, error)
	// AddVariant runs fn on the locked product and stores the variant it
	// returns, with its prices, if fn returns nil.
	AddVariant(ctx context.Context, productID string, fn func(p *Product) (Variant, error)) (Variant, error)
	// UpdateVariant runs fn on the variant (and its locked product) and
	// stores the variant's fields and its complete set of prices if fn
	// returns nil.
	UpdateVariant(ctx context.Context, id string, fn func(p *Product, v *Variant) error) (Variant, error)
	// Products lists products newest first, with all variants and prices,
	// optionally of one status (staff view).
	Products(ctx context.Context, f ListFilter) (Page, error)
	// StorefrontProducts lists active products that have a price in
	// f.Market and match f.Attributes, by ID ascending; each product holds
	// only its variants priced in the market, each with only that price.
	StorefrontProducts(ctx context.Context, f ListFilter) (Page, error)
}

// Markets is what the catalog needs to know about markets: a market, and
// a Generation that changes with every write that could change one.
type Markets interface {
	Market(ctx context.Context, code string) (market.Market, error)
	Generation() uint64
}

// Service manages the catalog.
type Service struct {
	store   Store
	markets Markets
	clock   shopd.Clock
	cache   *readcache.Cache // storefront reads (cache.go)
	pages   *readcache.Cache // storefront list pages (cache.go)
}

// NewService returns a Service on store.
func NewService(store Store, markets Markets, clock shopd.Clock) *Service {
	return &Service{store: store, markets: markets, clock: clock, cache: readcache.New(CacheTTL), pages: readcache.NewSized(CacheTTL, maxCachedPages)}
}

// errUnknownMarket is the error for a market code that no market has, or (on
// the storefront) a market that is disabled.
func errUnknownMarket(code string) *shopd.Error {
	return shopd.TypedErrorf(shopd.EINVALID, "unknown-market", "Unknown market %q.", code)
}

func errProductNotFound() error {
	return shopd.TypedErrorf(shopd.ENOTFOUND, "product-not-found", "No such product.")
}

func errVariantNotFound() error {
	return shopd.TypedErrorf(shopd.ENOTFOUND, "variant-not-found", "No such variant.")
}

// CreateProduct validates np and stores it as a new product. It returns
// EINVALID with field errors for bad input ("validation"), EINVALID
// "unknown-market" for a price in a market that does not exist, EINVALID
// "currency-mismatch" for a price not in its market's currency, and
// ECONFLICT "handle-taken" or "sku-taken". A handle made from the title gets
// a numeric suffix ("-2", "-3", …) until it is free.
func (s *Service) CreateProduct(ctx context.Context, np NewProduct) (Product, error) {
	defer s.forget()
	now := s.now()
	p, err := buildProduct(np, now)
	if err != nil {
		return Product{}, err
	}
	if err := s.checkPrices(ctx, p.Variants, "variants[%d].prices"); err != nil {
		return Product{}, err
	}
	base := p.Handle
	for attempt := 1; ; attempt++ {
		err = s.store.CreateProduct(ctx, p)
		if np.Handle != "" || !isConflict(err, "handle-taken") || attempt == 50 {
			break
		}
		p.Handle = suffixHandle(base, attempt+1)
	}
	if err != nil {
		return Product{}, err
	}
	return p, nil
}

func isConflict(err error, typ string) bool {
	return shopd.ErrorCode(err) == shopd.ECONFLICT && shopd.ErrorType(err) == typ
}

// Product returns the product with the ID or handle, in any status, with all
// its variants and prices (the staff view). It returns ENOTFOUND.
func (s *Service) Product(ctx context.Context, idOrHandle string) (Product, error) {
	switch {
	case validID(idOrHandle, "prd"):
		return s.store.Product(ctx, idOrHandle)
	case validHandle(idOrHandle):
		return s.store.ProductByHandle(ctx, idOrHandle)
	default:
		return Product{}, errProductNotFound()
	}
}

// UpdateProduct applies u to the product with the ID or handle. It returns
// ENOTFOUND, EINVALID with field errors, or ECONFLICT "handle-taken".
func (s *Service) UpdateProduct(ctx context.Context, idOrHandle string, u ProductUpdate) (Product, error) {
	defer s.forget()
	var v shopd.Validation
	checkUpdate(&v, u)
	if err := v.Err(); err != nil {
		return Product{}, err
	}
	p, err := s.Product(ctx, idOrHandle)
	if err != nil {
		return Product{}, err
	}
	now := s.now()
	return s.store.UpdateProduct(ctx, p.ID, func(p *Product) error {
		applyUpdate(p, u)
		p.UpdatedAt = now
		return nil
	})
}

// ArchiveProduct archives the product with the ID or handle, taking it off
// the storefront. Archiving an archived product changes nothing. It returns
// ENOTFOUND.
func (s *Service) ArchiveProduct(ctx context.Context, idOrHandle string) (Product, error) {
	defer s.forget()
	p, err := s.Product(ctx, idOrHandle)
	if err != nil {
		return Product{}, err
	}
	if p.Status == StatusArchived {
		return p, nil
	}
	now := s.now()
	return s.store.UpdateProduct(ctx, p.ID, func(p *Product) error {
		if p.Status != StatusArchived {
			p.Status = StatusArchived
			p.UpdatedAt = now
		}
		return nil
	})
}

// AddVariant adds a variant to the product with the ID or handle. It returns
// ENOTFOUND, EINVALID (field errors, "too-many-variants", "unknown-market",
// "currency-mismatch") or ECONFLICT "sku-taken".
func (s *Service) AddVariant(ctx context.Context, productIDOrHandle string, nv NewVariant) (Variant, error) {
	defer s.forget()
	now := s.now()
	var val shopd.Validation
	nvar := buildVariant(&val, nv, "", now)
	if err := val.Err(); err != nil {
		return Variant{}, err
	}
	if err := s.checkPrices(ctx, []Variant{nvar}, "prices"); err != nil {
		return Variant{}, err
	}
	p, err := s.Product(ctx, productIDOrHandle)
	if err != nil {
		return Variant{}, err
	}
	return s.store.AddVariant(ctx, p.ID, func(p *Product) (Variant, error) {
		if len(p.Variants) >= MaxVariants {
			return Variant{}, shopd.TypedErrorf(shopd.EINVALID, "too-many-variants", "A product has at most %d variants.", MaxVariants)
		}
		v := nvar
		v.ProductID = p.ID
		if nv.Position == nil {
			v.Position = 1
			for _, o := range p.Variants {
				v.Position = max(v.Position, o.Position+1)
			}
		}
		var val shopd.Validation
		for _, o := range p.Variants {
			if o.SKU == v.SKU {
				return Variant{}, shopd.TypedErrorf(shopd.ECONFLICT, "sku-taken", "SKU %q is already used.", v.SKU)
			}
			if sameOptions(o.Options, v.Options) {
				val.Addf("options", "variant %s already has these options", o.ID)
			}
		}
		if err := val.Err(); err != nil {
			return Variant{}, err
		}
		p.UpdatedAt = now
		return v, nil
	})
}

// UpdateVariant applies u to the variant with the ID. It returns ENOTFOUND,
// EINVALID with field errors or ECONFLICT "sku-taken".
func (s *Service) UpdateVariant(ctx context.Context, id string, u VariantUpdate) (Variant, error) {
	defer s.forget()
	var val shopd.Validation
	if u.SKU != nil {
		checkSKU(&val, "sku", *u.SKU)
	}
	if u.Title != nil {
		val.Text("title", *u.Title, MaxTitleLen, false)
	}
	if u.Options != nil {
		checkOptions(&val, "options", u.Options)
	}
	if u.Position != nil {
		val.Check(*u.Position >= 0 && *u.Position <= MaxPosition, "position", "must be from 0 to 1000000")
	}
	if err := val.Err(); err != nil {
		return Variant{}, err
	}
	if !validID(id, "var") {
		return Variant{}, errVariantNotFound()
	}
	now := s.now()
	return s.store.UpdateVariant(ctx, id, func(p *Product, v *Variant) error {
		if u.SKU != nil {
			v.SKU = *u.SKU
		}
		if u.Options != nil {
			v.Options = u.Options
			var val shopd.Validation
			for _, o := range p.Variants {
				if o.ID != v.ID && sameOptions(o.Options, v.Options) {
					val.Addf("options", "variant %s already has these options", o.ID)
				}
			}
			if err := val.Err(); err != nil {
				return err
			}
		}
		if u.Title != nil {
			v.Title = *u.Title
		}
		if v.Title == "" {
			v.Title = variantTitle(v.Options)
		}
		if u.Position != nil {
			v.Position = *u.Position
		}
		v.UpdatedAt, p.UpdatedAt = now, now
		return nil
	})
}

// SetPrice sets (creates or replaces) the variant's price in a market. It
// returns ENOTFOUND for an unknown variant, EINVALID "unknown-market",
// "currency-mismatch" or field errors.
func (s *Service) SetPrice(ctx context.Context, variantID, marketCode string, pr Price) (Variant, error) {
	defer s.forget()
	var val shopd.Validation
	checkPrice(&val, "", pr)
	if err := val.Err(); err != nil {
		return Variant{}, err
	}
	m, err := s.lookupMarket(ctx, marketCode)
	if err != nil {
		return Variant{}, err
	}
	if pr.Amount.Currency != m.Currency {
		return Variant{}, currencyMismatch([]shopd.FieldError{{Field: "amount.currency", Message: "must be " + m.Currency + ", the currency of market " + m.Code}})
	}
	if !validID(variantID, "var") {
		return Variant{}, errVariantNotFound()
	}
	now := s.now()
	return s.store.UpdateVariant(ctx, variantID, func(p *Product, v *Variant) error {
		prices := make(map[string]Price, len(v.Prices)+1)
		for k, old := range v.Prices {
			prices[k] = old
		}
		prices[m.Code] = pr
		v.Prices = prices
		v.UpdatedAt, p.UpdatedAt = now, now
		return nil
	})
}

// DeletePrice removes the variant's price in a market, so the variant is no
// longer sold there. It returns ENOTFOUND if the variant or the price does
// not exist.
func (s *Service) DeletePrice(ctx context.Context, variantID, marketCode string) error {
	defer s.forget()
	if !validID(variantID, "var") {
		return errVariantNotFound()
	}
	now := s.now()
	_, err := s.store.UpdateVariant(ctx, variantID, func(p *Product, v *Variant) error {
		if _, ok := v.Prices[marketCode]; !ok {
			return shopd.TypedErrorf(shopd.ENOTFOUND, "price-not-found", "The variant has no price in market %q.", marketCode)
		}
		prices := make(map[string]Price, len(v.Prices))
		for k, old := range v.Prices {
			if k != marketCode {
				prices[k] = old
			}
		}
		v.Prices = prices
		v.UpdatedAt, p.UpdatedAt = now, now
		return nil
	})
	return err
}

// Products lists products for staff, newest first, in any status or one.
// It returns EINVALID for a bad status, limit or cursor.
func (s *Service) Products(ctx context.Context, f ListFilter) (Page, error) {
	var val shopd.Validation
	if f.Status != "" {
		val.Check(f.Status.Valid(), "status", "must be draft, active or archived")
	}
	checkPaging(&val, &f)
	if err := val.Err(); err != nil {
		return Page{}, err
	}
	f.Market, f.Attributes = "", nil
	return s.store.Products(ctx, f)
}

// Listing is a product as the storefront shows it in one market.
type Listing struct {
	// Product holds only the variants priced in the market, each with only
	// that market's price.
	Product Product
	// Available is false before the launch time: the product is upcoming.
	Available bool
	// MinPrice and MaxPrice span the variants' prices.
	MinPrice, MaxPrice shopd.Money
	// FreshUntil is how long, on the Service's clock, the listing stays as
	// it is as far as this process can tell while Generation stays the
	// same: CacheTTL after its product was read from the store (another
	// process's writes show within that), or the launch, which makes it
	// Available, if that comes first.
	FreshUntil time.Time
}

// StorefrontPage is a page of listings in one market.
type StorefrontPage struct {
	Market     market.Market
	Listings   []Listing
	NextCursor string
	// FreshUntil is as a Listing's, for the page and all its listings.
	FreshUntil time.Time
}

// StorefrontMarket returns the enabled market with the code, or EINVALID
// "unknown-market".
func (s *Service) StorefrontMarket(ctx context.Context, code string) (market.Market, error) {
	m, err := s.lookupMarket(ctx, code)
	if err != nil {
		return market.Market{}, err
	}
	if !m.Enabled {
		return market.Market{}, errUnknownMarket(code)
	}
	return m, nil
}

// StorefrontProduct returns an active product by ID or handle as sold in the
// market. It returns EINVALID "unknown-market" for an unknown or disabled
// market, and ENOTFOUND if the product does not exist, is not active or has
// no price in the market.
func (s *Service) StorefrontProduct(ctx context.Context, marketCode, idOrHandle string) (market.Market, Listing, error) {
	m, err := s.StorefrontMarket(ctx, marketCode)
	if err != nil {
		return market.Market{}, Listing{}, err
	}
	p, age, err := s.storefrontProduct(ctx, idOrHandle)
	if err != nil {
		return market.Market{}, Listing{}, err
	}
	if p.Status != StatusActive {
		return market.Market{}, Listing{}, errProductNotFound()
	}
	l, ok := s.listing(p, m, age)
	if !ok {
		return market.Market{}, Listing{}, errProductNotFound()
	}
	return m, l, nil
}

// StorefrontProducts lists active products priced in f.Market that match the
// attribute filters, by ID. It returns EINVALID "unknown-market", or EINVALID
// with field errors for bad filters, limit or cursor.
func (s *Service) StorefrontProducts(ctx context.Context, f ListFilter) (StorefrontPage, error) {
	var val shopd.Validation
	checkPaging(&val, &f)
	checkFilters(&val, f.Attributes)
	if err := val.Err(); err != nil {
		return StorefrontPage{}, err
	}
	m, err := s.StorefrontMarket(ctx, f.Market)
	if err != nil {
		return StorefrontPage{}, err
	}
	f.Market, f.Status = m.Code, StatusActive
	page, age, err := s.storefrontPage(ctx, f)
	if err != nil {
		return StorefrontPage{}, err
	}
	out := StorefrontPage{Market: m, NextCursor: page.NextCursor, Listings: make([]Listing, 0, len(page.Products)),
		FreshUntil: s.clock.Now().Add(CacheTTL - age)}
	for _, p := range page.Products {
		// A product whose only prices are in a stale currency drops out of
		// the page; the cursor still moves past it.
		if l, ok := s.listing(p, m, age); ok {
			out.Listings = append(out.Listings, l)
			out.FreshUntil = earlier(out.FreshUntil, l.FreshUntil)
		}
	}
	return out, nil
}

// listing narrows p to the variants priced in m. It reports false if none is.
// age is how long ago p was read from the store.
func (s *Service) listing(p Product, m market.Market, age time.Duration) (Listing, bool) {
	now := s.clock.Now()
	l := Listing{Available: p.Available(now), FreshUntil: now.Add(CacheTTL - age)}
	if now.Before(p.LaunchAt) {
		l.FreshUntil = earlier(l.FreshUntil, p.LaunchAt)
	}
	variants := make([]Variant, 0, len(p.Variants))
	for _, v := range p.Variants {
		pr, ok := v.Prices[m.Code]
		// A price left in another currency (the market's currency changed)
		// cannot be sold until staff reprice it.
		if !ok || pr.Amount.Currency != m.Currency {
			continue
		}
		v.Prices = map[string]Price{m.Code: pr}
		if len(variants) == 0 || pr.Amount.Amount < l.MinPrice.Amount {
			l.MinPrice = pr.Amount
		}
		if len(variants) == 0 || pr.Amount.Amount > l.MaxPrice.Amount {
			l.MaxPrice = pr.Amount
		}
		variants = append(variants, v)
	}
	if len(variants) == 0 {
		return Listing{}, false
	}
	p.Variants = variants
	l.Product = p
	return l, true
}

// earlier returns the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// lookupMarket returns the market with the code, or EINVALID "unknown-market".
func (s *Service) lookupMarket(ctx context.Context, code string) (market.Market, error) {
	if !validMarketCode(code) {
		return market.Market{}, errUnknownMarket(code)
	}
	m, err := s.markets.Market(ctx, code)
	if shopd.ErrorCode(err) == shopd.ENOTFOUND {
		return market.Market{}, errUnknownMarket(code)
	}
	return m, err
}

// checkPrices checks every price's market and currency. where formats the
// field path of a variant's prices from its index.
func (s *Service) checkPrices(ctx context.Context, vs []Variant, where string) error {
	known := map[string]market.Market{}
	var unknown, mismatch []shopd.FieldError
	for i, v := range vs {
		for _, code := range sortedKeys(v.Prices) {
			path := pricesPath(where, i) + "." + code
			m, ok := known[code]
			if !ok {
				var err error
				m, err = s.lookupMarket(ctx, code)
				if shopd.ErrorCode(err) == shopd.EINVALID {
					unknown = append(unknown, shopd.FieldError{Field: path, Message: "unknown market"})
					continue
				}
				if err != nil {
					return err
				}
				known[code] = m
			}
			if c := v.Prices[code].Amount.Currency; c != m.Currency {
				mismatch = append(mismatch, shopd.FieldError{Field: path + ".amount.currency", Message: "must be " + m.Currency + ", the currency of market " + code})
			}
		}
	}
	switch {
	case len(unknown) > 0:
		return &shopd.Error{Code: shopd.EINVALID, Type: "unknown-market", Message: "A price names a market that does not exist.", Fields: unknown}
	case len(mismatch) > 0:
		return currencyMismatch(mismatch)
	}
	return nil
}

func currencyMismatch(fields []shopd.FieldError) error {
	return &shopd.Error{Code: shopd.EINVALID, Type: "currency-mismatch", Message: "A price must be in its market's currency.", Fields: fields}
}
