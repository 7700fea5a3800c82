// Package market holds the countries shopd sells in: currency, tax mode and
// rates, shipping rates, languages; and the pure rules that price a basket in
// a market (tax-inclusive or tax-exclusive).
package market

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones validate the same in a scratch container

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/readcache"
)

// TaxMode says whether a market's prices include tax.
type TaxMode string

// Tax modes.
const (
	TaxExclusive TaxMode = "exclusive" // US, CA: tax is added at checkout
	TaxInclusive TaxMode = "inclusive" // BR, IN: shelf prices include tax
)

// Valid reports whether m is a known tax mode.
func (m TaxMode) Valid() bool { return m == TaxExclusive || m == TaxInclusive }

// Market is a country shopd sells in, with its currency and tax rules.
//
// Currency and TaxMode are fixed once the market exists: every price in the
// market (catalog prices, shipping rates, orders, subscriptions) is an amount
// in that currency, and in an inclusive market a shelf price already holds the
// tax. Changing either would silently turn R$ 49,90 into $49.90, or make every
// price tax-exclusive overnight; a merchant who needs that opens a new market
// and moves prices over deliberately.
type Market struct {
	Code          string         `json:"code"` // lower-case, e.g. "us"
	Name          string         `json:"name"`
	Country       string         `json:"country"` // ISO 3166-1 alpha-2, e.g. "US"
	Currency      string         `json:"currency"`
	TaxMode       TaxMode        `json:"tax_mode"`
	Rounding      shopd.Rounding `json:"rounding"`
	Languages     []string       `json:"languages"`      // BCP 47, first is the default
	DefaultLocale string         `json:"default_locale"` // for formatting money, e.g. "en-US"
	TimeZone      string         `json:"time_zone"`      // IANA, e.g. "America/New_York"
	Enabled       bool           `json:"enabled"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
}

// Format renders an amount for people in the market (its default locale).
func (m Market) Format(x shopd.Money) string { return x.Format(m.DefaultLocale) }

// TaxRate is one tax that applies in a market: to one region (a state or
// province code such as "ON" or "SP") or, with an empty Region, to every
// region; and to one tax category ("standard", "apparel", "shipping", …).
// Several rates may apply to one line at once (Quebec: GST and QST); each is
// computed on the line's net amount, never on another tax.
type TaxRate struct {
	ID        string     `json:"id"`
	Market    string     `json:"market"`
	Region    string     `json:"region"`
	Category  string     `json:"category"`
	Name      string     `json:"name"` // as printed on invoices: "GST", "QST", "ICMS"
	Rate      shopd.Rate `json:"rate"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// ShippingRate is a way to ship in a market at a price, free when the
// order's discounted subtotal reaches FreeAbove.
type ShippingRate struct {
	ID        string       `json:"id"`
	Market    string       `json:"market"`
	Name      string       `json:"name"`
	Region    string       `json:"region"` // "" for every region of the market
	Price     shopd.Money  `json:"price"`
	FreeAbove *shopd.Money `json:"free_above"` // nil: never free
	MinDays   int          `json:"min_delivery_days"`
	MaxDays   int          `json:"max_delivery_days"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// AppliesTo reports whether the rate ships to region.
func (r ShippingRate) AppliesTo(region string) bool { return r.Region == "" || r.Region == region }

// Limits on what staff may store.
const (
	MaxNameLength             = 200
	MaxLanguages              = 20
	MaxCategoryLength         = 50
	MaxRegionLength           = 10
	MaxAmount                 = 1_000_000_000_000 // minor units
	MaxDeliveryDays           = 365
	MaxTaxRatesPerMarket      = 2000
	MaxShippingRatesPerMarket = 100
)

// StandardCategory is the tax category of goods with no category of their
// own, and the fallback for a category that has no rate in a market.
const StandardCategory = "standard"

// ShippingCategory is the tax category that taxes shipping charges. Shipping
// is taxed only by rates of this category (none by default).
const ShippingCategory = "shipping"

// Store is what Service needs from storage. Methods return ENOTFOUND for a
// missing market or rate and ECONFLICT for a duplicate.
type Store interface {
	// CreateDefaults inserts the markets with their tax and shipping rates,
	// in one transaction, unless some market already exists; it reports
	// whether it inserted them. Concurrent callers insert them once.
	CreateDefaults(ctx context.Context, markets []Market, taxes []TaxRate, shipping []ShippingRate) (bool, error)
	// Markets lists every market, ordered by code.
	Markets(ctx context.Context) ([]Market, error)
	// Market returns one market.
	Market(ctx context.Context, code string) (Market, error)
	// UpdateMarket reads the market under a row lock, lets fn change it and
	// stores the result (fn's error aborts).
	UpdateMarket(ctx context.Context, code string, fn func(*Market) error) (Market, error)

	// TaxRates lists a market's tax rates by region, category and name.
	TaxRates(ctx context.Context, market string) ([]TaxRate, error)
	// TaxRate returns one tax rate.
	TaxRate(ctx context.Context, id string) (TaxRate, error)
	// CreateTaxRate stores a new rate; ENOTFOUND if the market does not
	// exist, ECONFLICT "tax-rate-exists" for a duplicate (market, region,
	// category, name), ECONFLICT "too-many-tax-rates" beyond
	// MaxTaxRatesPerMarket.
	CreateTaxRate(ctx context.Context, r TaxRate) error
	// UpdateTaxRate reads the rate under a row lock, lets fn change it and
	// stores the result.
	UpdateTaxRate(ctx context.Context, id string, fn func(*TaxRate) error) (TaxRate, error)
	// DeleteTaxRate removes a rate.
	DeleteTaxRate(ctx context.Context, id string) error

	// ShippingRates lists a market's shipping rates by region, price and name.
	ShippingRates(ctx context.Context, market string) ([]ShippingRate, error)
	// ShippingRate returns one shipping rate.
	ShippingRate(ctx context.Context, id string) (ShippingRate, error)
	// CreateShippingRate stores a new rate; ENOTFOUND if the market does not
	// exist, ECONFLICT "shipping-rate-exists" for a duplicate (market, region,
	// name), ECONFLICT "too-many-shipping-rates" beyond
	// MaxShippingRatesPerMarket.
	CreateShippingRate(ctx context.Context, r ShippingRate) error
	// UpdateShippingRate reads the rate under a row lock, lets fn change it
	// and stores the result.
	UpdateShippingRate(ctx context.Context, id string, fn func(*ShippingRate) error) (ShippingRate, error)
	// DeleteShippingRate removes a rate.
	DeleteShippingRate(ctx context.Context, id string) error
}

// ID prefixes.
const (
	TaxRatePrefix      = "txr"
	ShippingRatePrefix = "shp"
)

// Errors.
var (
	// ErrMarketNotFound is returned for an unknown market code.
	ErrMarketNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "market-not-found", "No such market.")
	// ErrTaxRateNotFound is returned for an unknown tax rate.
	ErrTaxRateNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "tax-rate-not-found", "No such tax rate.")
	// ErrShippingRateNotFound is returned for an unknown shipping rate.
	ErrShippingRateNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "shipping-rate-not-found", "No such shipping rate.")
)

// Service manages markets, tax rates and shipping rates.
type Service struct {
	store Store
	clock shopd.Clock
	cache *readcache.Cache
}

// NewService returns a Service on store.
func NewService(store Store, clock shopd.Clock) *Service {
	return &Service{store: store, clock: clock, cache: readcache.New(CacheTTL)}
}

var codeRE = regexp.MustCompile(`^[a-z]{2,8}$`)

// Market returns the market with the code (enabled or not), or ENOTFOUND.
func (s *Service) Market(ctx context.Context, code string) (Market, error) {
	if !codeRE.MatchString(code) {
		return Market{}, ErrMarketNotFound
	}
	return s.market(ctx, code)
}

// Markets lists every market, enabled or not, ordered by code.
func (s *Service) Markets(ctx context.Context) ([]Market, error) { return s.store.Markets(ctx) }

// EnabledMarkets lists the markets shoppers can buy in, ordered by code.
func (s *Service) EnabledMarkets(ctx context.Context) ([]Market, error) {
	all, err := s.store.Markets(ctx)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, m := range all {
		if m.Enabled {
			out = append(out, m)
		}
	}
	return out, nil
}

// EnsureDefaults creates the default markets (US, CA, BR, IN) with their tax
// and shipping rates if no market exists yet. It is safe to call at every
// start, and from many replicas starting at once: the defaults are created
// once, in one transaction. A shop that already has markets is never touched,
// so merchants' edits survive restarts.
func (s *Service) EnsureDefaults(ctx context.Context) error {
	defer s.cache.Forget()
	now := s.clock.Now()
	markets, taxes, shipping := Defaults(now)
	_, err := s.store.CreateDefaults(ctx, markets, taxes, shipping)
	return err
}

// MarketUpdate is a partial change to a market; nil fields stay as they are.
// Currency and tax mode cannot change (see Market).
type MarketUpdate struct {
	Name          *string
	Languages     *[]string
	DefaultLocale *string
	TimeZone      *string
	Rounding      *shopd.Rounding
	Enabled       *bool
}

// UpdateMarket changes a market. It returns ENOTFOUND for an unknown market
// and EINVALID for bad fields.
func (s *Service) UpdateMarket(ctx context.Context, code string, u MarketUpdate) (Market, error) {
	defer s.cache.Forget()
	var v shopd.Validation
	if u.Name != nil {
		*u.Name = strings.TrimSpace(*u.Name)
		checkName(&v, "name", *u.Name)
	}
	if u.Languages != nil {
		langs := *u.Languages
		if v.Check(len(langs) >= 1 && len(langs) <= MaxLanguages, "languages", "must list 1 to 20 languages") {
			seen := map[string]bool{}
			for i, l := range langs {
				field := "languages[" + strconv.Itoa(i) + "]"
				if v.Check(validLanguageTag(l), field, "must be a BCP 47 language tag such as \"en\" or \"pt-BR\"") {
					v.Check(!seen[strings.ToLower(l)], field, "is listed twice")
					seen[strings.ToLower(l)] = true
				}
			}
		}
	}
	if u.DefaultLocale != nil {
		v.Check(validLanguageTag(*u.DefaultLocale), "default_locale", "must be a BCP 47 locale such as \"en-US\"")
	}
	if u.TimeZone != nil {
		v.Check(validTimeZone(*u.TimeZone), "time_zone", "must be an IANA time zone such as \"America/New_York\"")
	}
	if u.Rounding != nil {
		v.Check(u.Rounding.Valid(), "rounding", "must be half_up or half_even")
	}
	if err := v.Err(); err != nil {
		return Market{}, err
	}
	if !codeRE.MatchString(code) {
		return Market{}, ErrMarketNotFound
	}
	now := s.clock.Now()
	return s.store.UpdateMarket(ctx, code, func(m *Market) error {
		if u.Name != nil {
			m.Name = *u.Name
		}
		if u.Languages != nil {
			m.Languages = append([]string(nil), (*u.Languages)...)
		}
		if u.DefaultLocale != nil {
			m.DefaultLocale = *u.DefaultLocale
		}
		if u.TimeZone != nil {
			m.TimeZone = *u.TimeZone
		}
		if u.Rounding != nil {
			m.Rounding = *u.Rounding
		}
		if u.Enabled != nil {
			m.Enabled = *u.Enabled
		}
		m.UpdatedAt = now
		return nil
	})
}

// TaxRates lists a market's tax rates. It returns ENOTFOUND for an unknown
// market.
func (s *Service) TaxRates(ctx context.Context, code string) ([]TaxRate, error) {
	if _, err := s.Market(ctx, code); err != nil {
		return nil, err
	}
	return s.taxRates(ctx, code)
}

// TaxRate returns one tax rate, or ENOTFOUND.
func (s *Service) TaxRate(ctx context.Context, id string) (TaxRate, error) {
	if !shopd.HasIDPrefix(id, TaxRatePrefix) {
		return TaxRate{}, ErrTaxRateNotFound
	}
	return s.store.TaxRate(ctx, id)
}

// NewTaxRate is the input of CreateTaxRate.
type NewTaxRate struct {
	Region   string // "" for every region
	Category string // "" means StandardCategory
	Name     string
	Rate     shopd.Rate
}

// CreateTaxRate adds a tax rate to a market. It returns ENOTFOUND for an
// unknown market, EINVALID for bad fields and ECONFLICT "tax-rate-exists" if
// the market already has a rate with the same region, category and name.
func (s *Service) CreateTaxRate(ctx context.Context, code string, in NewTaxRate) (TaxRate, error) {
	defer s.cache.Forget()
	if _, err := s.Market(ctx, code); err != nil {
		return TaxRate{}, err
	}
	now := s.clock.Now()
	r := TaxRate{ID: shopd.NewID(TaxRatePrefix), Market: code, CreatedAt: now, UpdatedAt: now}
	var v shopd.Validation
	r.Region = normalizeRegion(&v, "region", in.Region)
	r.Category = normalizeCategory(&v, "category", in.Category)
	r.Name = strings.TrimSpace(in.Name)
	checkName(&v, "name", r.Name)
	r.Rate = in.Rate
	v.Check(in.Rate >= 0 && in.Rate <= shopd.MaxRate, "rate_percent", "must be between 0 and 100")
	if err := v.Err(); err != nil {
		return TaxRate{}, err
	}
	if err := s.store.CreateTaxRate(ctx, r); err != nil {
		return TaxRate{}, err
	}
	return r, nil
}

// TaxRateUpdate is a partial change to a tax rate; nil fields stay as they are.
type TaxRateUpdate struct {
	Region   *string
	Category *string
	Name     *string
	Rate     *shopd.Rate
}

// UpdateTaxRate changes a tax rate. It returns ENOTFOUND for an unknown
// rate, EINVALID for bad fields and ECONFLICT "tax-rate-exists" if the change
// makes it a duplicate.
func (s *Service) UpdateTaxRate(ctx context.Context, id string, u TaxRateUpdate) (TaxRate, error) {
	defer s.cache.Forget()
	var v shopd.Validation
	if u.Region != nil {
		*u.Region = normalizeRegion(&v, "region", *u.Region)
	}
	if u.Category != nil {
		*u.Category = normalizeCategory(&v, "category", *u.Category)
	}
	if u.Name != nil {
		*u.Name = strings.TrimSpace(*u.Name)
		checkName(&v, "name", *u.Name)
	}
	if u.Rate != nil {
		v.Check(*u.Rate >= 0 && *u.Rate <= shopd.MaxRate, "rate_percent", "must be between 0 and 100")
	}
	if err := v.Err(); err != nil {
		return TaxRate{}, err
	}
	if !shopd.HasIDPrefix(id, TaxRatePrefix) {
		return TaxRate{}, ErrTaxRateNotFound
	}
	now := s.clock.Now()
	return s.store.UpdateTaxRate(ctx, id, func(r *TaxRate) error {
		if u.Region != nil {
			r.Region = *u.Region
		}
		if u.Category != nil {
			r.Category = *u.Category
		}
		if u.Name != nil {
			r.Name = *u.Name
		}
		if u.Rate != nil {
			r.Rate = *u.Rate
		}
		r.UpdatedAt = now
		return nil
	})
}

// DeleteTaxRate removes a tax rate. It returns ENOTFOUND for an unknown rate.
func (s *Service) DeleteTaxRate(ctx context.Context, id string) error {
	defer s.cache.Forget()
	if !shopd.HasIDPrefix(id, TaxRatePrefix) {
		return ErrTaxRateNotFound
	}
	return s.store.DeleteTaxRate(ctx, id)
}

// ShippingRates lists a market's shipping rates. It returns ENOTFOUND for an
// unknown market.
func (s *Service) ShippingRates(ctx context.Context, code string) ([]ShippingRate, error) {
	if _, err := s.Market(ctx, code); err != nil {
		return nil, err
	}
	return s.shippingRates(ctx, code)
}

// ShippingOptions lists the shipping rates of a market that ship to region.
// It returns ENOTFOUND for an unknown market.
func (s *Service) ShippingOptions(ctx context.Context, code, region string) ([]ShippingRate, error) {
	all, err := s.ShippingRates(ctx, code)
	if err != nil {
		return nil, err
	}
	region = strings.ToUpper(strings.TrimSpace(region))
	out := all[:0]
	for _, r := range all {
		if r.AppliesTo(region) {
			out = append(out, r)
		}
	}
	return out, nil
}

// ShippingRate returns one shipping rate, or ENOTFOUND.
func (s *Service) ShippingRate(ctx context.Context, id string) (ShippingRate, error) {
	if !shopd.HasIDPrefix(id, ShippingRatePrefix) {
		return ShippingRate{}, ErrShippingRateNotFound
	}
	return s.store.ShippingRate(ctx, id)
}

// NewShippingRate is the input of CreateShippingRate.
type NewShippingRate struct {
	Name      string
	Region    string
	Price     shopd.Money
	FreeAbove *shopd.Money
	MinDays   int
	MaxDays   int
}

// CreateShippingRate adds a shipping rate to a market. It returns ENOTFOUND
// for an unknown market, EINVALID for bad fields (including amounts in
// another currency than the market's) and ECONFLICT "shipping-rate-exists"
// for a duplicate name in the same region.
func (s *Service) CreateShippingRate(ctx context.Context, code string, in NewShippingRate) (ShippingRate, error) {
	defer s.cache.Forget()
	m, err := s.Market(ctx, code)
	if err != nil {
		return ShippingRate{}, err
	}
	now := s.clock.Now()
	r := ShippingRate{ID: shopd.NewID(ShippingRatePrefix), Market: code, CreatedAt: now, UpdatedAt: now,
		Price: in.Price, FreeAbove: in.FreeAbove, MinDays: in.MinDays, MaxDays: in.MaxDays}
	var v shopd.Validation
	r.Name = strings.TrimSpace(in.Name)
	checkName(&v, "name", r.Name)
	r.Region = normalizeRegion(&v, "region", in.Region)
	checkShipping(&v, m, r)
	if err := v.Err(); err != nil {
		return ShippingRate{}, err
	}
	if err := s.store.CreateShippingRate(ctx, r); err != nil {
		return ShippingRate{}, err
	}
	return r, nil
}

// ShippingRateUpdate is a partial change to a shipping rate; nil fields stay
// as they are. When SetFreeAbove is true, FreeAbove replaces the threshold
// (nil removes it).
type ShippingRateUpdate struct {
	Name         *string
	Region       *string
	Price        *shopd.Money
	SetFreeAbove bool
	FreeAbove    *shopd.Money
	MinDays      *int
	MaxDays      *int
}

// UpdateShippingRate changes a shipping rate. It returns ENOTFOUND for an
// unknown rate, EINVALID for bad fields and ECONFLICT "shipping-rate-exists"
// if the change makes it a duplicate.
func (s *Service) UpdateShippingRate(ctx context.Context, id string, u ShippingRateUpdate) (ShippingRate, error) {
	defer s.cache.Forget()
	var v shopd.Validation
	if u.Name != nil {
		*u.Name = strings.TrimSpace(*u.Name)
		checkName(&v, "name", *u.Name)
	}
	if u.Region != nil {
		*u.Region = normalizeRegion(&v, "region", *u.Region)
	}
	if err := v.Err(); err != nil {
		return ShippingRate{}, err
	}
	if !shopd.HasIDPrefix(id, ShippingRatePrefix) {
		return ShippingRate{}, ErrShippingRateNotFound
	}
	// A rate never moves to another market and a market's currency never
	// changes, so both can be read before the rate's row lock is taken (and
	// no read waits for a connection while the transaction holds one).
	current, err := s.store.ShippingRate(ctx, id)
	if err != nil {
		return ShippingRate{}, err
	}
	m, err := s.store.Market(ctx, current.Market)
	if err != nil {
		return ShippingRate{}, err
	}
	now := s.clock.Now()
	return s.store.UpdateShippingRate(ctx, id, func(r *ShippingRate) error {
		if u.Name != nil {
			r.Name = *u.Name
		}
		if u.Region != nil {
			r.Region = *u.Region
		}
		if u.Price != nil {
			r.Price = *u.Price
		}
		if u.SetFreeAbove {
			r.FreeAbove = u.FreeAbove
		}
		if u.MinDays != nil {
			r.MinDays = *u.MinDays
		}
		if u.MaxDays != nil {
			r.MaxDays = *u.MaxDays
		}
		var v shopd.Validation
		checkShipping(&v, m, *r)
		if err := v.Err(); err != nil {
			return err
		}
		r.UpdatedAt = now
		return nil
	})
}

// DeleteShippingRate removes a shipping rate. It returns ENOTFOUND for an
// unknown rate.
func (s *Service) DeleteShippingRate(ctx context.Context, id string) error {
	defer s.cache.Forget()
	if !shopd.HasIDPrefix(id, ShippingRatePrefix) {
		return ErrShippingRateNotFound
	}
	return s.store.DeleteShippingRate(ctx, id)
}

// Price prices a basket in a market: it loads the market, its tax rates and
// the chosen shipping rate (shippingRateID "" for none) and applies Price.
// It returns ENOTFOUND for an unknown market or shipping rate (or one of
// another market) and EINVALID for bad lines or a rate that does not ship to
// the region.
func (s *Service) Price(ctx context.Context, code, region string, lines []Line, shippingRateID string) (Breakdown, error) {
	m, err := s.Market(ctx, code)
	if err != nil {
		return Breakdown{}, err
	}
	rates, err := s.store.TaxRates(ctx, code)
	if err != nil {
		return Breakdown{}, err
	}
	var ship *ShippingRate
	if shippingRateID != "" {
		r, err := s.ShippingRate(ctx, shippingRateID)
		if err != nil {
			return Breakdown{}, err
		}
		if r.Market != m.Code {
			return Breakdown{}, ErrShippingRateNotFound
		}
		ship = &r
	}
	return Price(m, rates, region, lines, ship)
}

// checkShipping validates a shipping rate's amounts and days against its
// market.
func checkShipping(v *shopd.Validation, m Market, r ShippingRate) {
	checkMoney(v, "price", m, r.Price)
	if r.FreeAbove != nil {
		checkMoney(v, "free_above", m, *r.FreeAbove)
	}
	v.Check(r.MinDays >= 0 && r.MinDays <= MaxDeliveryDays, "min_delivery_days", "must be from 0 to 365")
	if v.Check(r.MaxDays >= 0 && r.MaxDays <= MaxDeliveryDays, "max_delivery_days", "must be from 0 to 365") {
		v.Check(r.MaxDays >= r.MinDays, "max_delivery_days", "must not be less than min_delivery_days")
	}
}

func checkMoney(v *shopd.Validation, field string, m Market, x shopd.Money) {
	if v.Check(x.Currency == m.Currency, field+".currency", "must be "+m.Currency+", the currency of market "+m.Code) {
		v.Check(x.Amount >= 0 && x.Amount <= MaxAmount, field+".amount", "must be from 0 to 1000000000000 minor units")
	}
}

func checkName(v *shopd.Validation, field, name string) {
	v.Check(name != "" && len(name) <= MaxNameLength && !hasControl(name), field, "must be 1 to 200 characters, without control characters")
}

var regionRE = regexp.MustCompile(`^[A-Z0-9]{1,10}$`)

// normalizeRegion upper-cases a region code (the subdivision part of ISO
// 3166-2, e.g. "ON", "QC", "SP") and checks it; "" means every region.
func normalizeRegion(v *shopd.Validation, field, region string) string {
	region = strings.ToUpper(strings.TrimSpace(region))
	v.Check(region == "" || regionRE.MatchString(region), field, "must be a region code of 1 to 10 letters or digits, such as \"ON\", or empty for every region")
	return region
}

var categoryRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,49}$`)

// normalizeCategory lower-cases a tax category and checks it; "" means
// StandardCategory.
func normalizeCategory(v *shopd.Validation, field, c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	if c == "" {
		return StandardCategory
	}
	v.Check(categoryRE.MatchString(c), field, "must be 1 to 50 lower-case letters, digits, - or _, such as \"apparel\"")
	return c
}

// ValidCategory reports whether c is a well-formed tax category.
func ValidCategory(c string) bool { return categoryRE.MatchString(c) }

var languageTagRE = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,3}$`)

func validLanguageTag(s string) bool { return len(s) <= 35 && languageTagRE.MatchString(s) }

// validTimeZone accepts IANA zone names that load; "" and "Local" load too
// but name no place, so they are refused.
func validTimeZone(tz string) bool {
	if tz == "" || tz == "Local" || len(tz) > 64 {
		return false
	}
	_, err := time.LoadLocation(tz)
	return err == nil
}

func hasControl(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
