package subscription

import (
	"context"
	"testing"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/market"
)

// defaultMarkets serves the default markets and tax rates.
type defaultMarkets struct {
	markets []market.Market
	rates   []market.TaxRate
}

func (d defaultMarkets) Market(_ context.Context, code string) (market.Market, error) {
	for _, m := range d.markets {
		if m.Code == code {
			return m, nil
		}
	}
	return market.Market{}, shopd.Errorf(shopd.ENOTFOUND, "no market %s", code)
}

func (d defaultMarkets) TaxRates(_ context.Context, code string) (out []market.TaxRate, _ error) {
	for _, r := range d.rates {
		if r.Market == code {
			out = append(out, r)
		}
	}
	return out, nil
}

// TestRenewalTax: a box renewal is taxed as checkout taxes it, by the
// subscriber's region: added in an exclusive market, included in an
// inclusive one, none where there is no tax.
func TestRenewalTax(t *testing.T) {
	ms, rates, _ := market.Defaults(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC))
	tax := newTaxes(defaultMarkets{ms, rates}, nil)
	for _, c := range []struct {
		market, region, currency  string
		price, wantTax, wantTotal int64
		included                  bool
	}{
		{"us", "NY", "USD", 2900, 116, 3016, false},   // 4% added
		{"us", "OR", "USD", 2900, 0, 2900, false},     // no sales tax
		{"br", "SP", "BRL", 12990, 1982, 12990, true}, // 18% ICMS inside: 12990 × 18/118 = 1981.53
	} {
		s := Subscription{Market: c.market, Kind: KindBox}
		s.ShipTo.Region = c.region
		price := shopd.Money{Amount: c.price, Currency: c.currency}
		inv := &Invoice{Price: price, Total: price, Tax: shopd.Zero(c.currency)}
		if err := tax.apply(context.Background(), s, inv); err != nil {
			t.Fatal(err)
		}
		if inv.TaxIncluded != c.included || inv.Total.Amount != c.wantTotal || inv.Tax.Amount != c.wantTax {
			t.Errorf("%s %s: tax %v (included %v), total %v", c.market, c.region, inv.Tax, inv.TaxIncluded, inv.Total)
		}
	}
}
