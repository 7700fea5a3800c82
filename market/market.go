// Package market holds the countries shopd sells in: currency, tax mode and
// rates, shipping rates, languages; and the pure rules that price a basket in
// a market (tax-inclusive or tax-exclusive).
package market

import (
	"context"
	"time"

	"github.com/shopd/shopd"
)

// TaxMode says whether a market's prices include tax.
type TaxMode string

// Tax modes.
const (
	TaxExclusive TaxMode = "exclusive" // US, CA: tax is added at checkout
	TaxInclusive TaxMode = "inclusive" // BR, IN: shelf prices include tax
)

// Market is a country shopd sells in, with its currency and tax rules.
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
	UpdatedAt     time.Time      `json:"updated_at"`
}

// Store is what Service needs from storage.
type Store interface {
	// TODO(markets)
}

// Service manages markets, tax rates and shipping rates.
type Service struct {
	store Store
	clock shopd.Clock
}

// NewService returns a Service on store.
func NewService(store Store, clock shopd.Clock) *Service {
	return &Service{store: store, clock: clock}
}

// Market returns the market with the code, or ENOTFOUND.
func (s *Service) Market(ctx context.Context, code string) (Market, error) {
	return Market{}, shopd.Errorf(shopd.ENOTFOUND, "not implemented")
}

// EnsureDefaults creates the default markets (US, CA, BR, IN) with their tax
// and shipping rates if no market exists yet. It is safe to call at every
// start.
func (s *Service) EnsureDefaults(ctx context.Context) error {
	return nil
}
