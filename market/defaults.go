package market

import (
	"time"

	"github.com/shopd/shopd"
)

// Defaults returns the markets a new shop starts with (us, ca, br, in), their
// tax rates and their shipping rates, stamped with now and fresh IDs.
//
// The tax rates are a starting point, not tax advice:
//   - us: the statewide base sales tax of a handful of states only. Counties
//     and cities add local rates (Los Angeles is 9.5%, New York City 8.875%);
//     merchants must add the local rates of the places where they have nexus.
//     States without a sales tax (OR, MT, NH, DE) need no row.
//   - ca: GST/HST per province, plus QST (QC), PST (BC, SK) and RST (MB).
//   - br: ICMS 18% in every state; merchants add state-specific rates as
//     overrides (a rate for a region replaces the market-wide rate of the
//     same name and category, see Price).
//   - in: GST 18% on standard goods and 5% on apparel.
func Defaults(now time.Time) ([]Market, []TaxRate, []ShippingRate) {
	mk := func(code, name, country, cur string, mode TaxMode, langs []string, locale, tz string) Market {
		return Market{Code: code, Name: name, Country: country, Currency: cur, TaxMode: mode, Rounding: shopd.RoundHalfUp,
			Languages: langs, DefaultLocale: locale, TimeZone: tz, Enabled: true, CreatedAt: now, UpdatedAt: now}
	}
	markets := []Market{
		mk("us", "United States", "US", "USD", TaxExclusive, []string{"en", "es"}, "en-US", "America/New_York"),
		mk("ca", "Canada", "CA", "CAD", TaxExclusive, []string{"en", "fr"}, "en-CA", "America/Toronto"),
		mk("br", "Brazil", "BR", "BRL", TaxInclusive, []string{"pt"}, "pt-BR", "America/Sao_Paulo"),
		mk("in", "India", "IN", "INR", TaxInclusive, []string{"en", "hi"}, "en-IN", "Asia/Kolkata"),
	}

	var taxes []TaxRate
	add := func(market, region, category, name string, r shopd.Rate) {
		taxes = append(taxes, TaxRate{ID: shopd.NewID(TaxRatePrefix), Market: market, Region: region, Category: category,
			Name: name, Rate: r, CreatedAt: now, UpdatedAt: now})
	}
	const pct = shopd.RateScale / 100 // 1% as a Rate
	for _, s := range []struct {
		state string
		rate  shopd.Rate
	}{
		{"CA", 72_500}, {"NY", 40_000}, {"TX", 62_500}, {"WA", 65_000}, {"FL", 60_000},
		{"IL", 62_500}, {"PA", 60_000}, {"NJ", 66_250}, {"MA", 62_500}, {"GA", 40_000},
	} {
		add("us", s.state, StandardCategory, "Sales tax", s.rate)
	}
	// Harmonized provinces charge one HST. Nova Scotia lowered its HST from
	// 15% to 14% on 1 April 2025.
	for _, p := range []struct {
		province string
		rate     shopd.Rate
	}{{"ON", 13 * pct}, {"NB", 15 * pct}, {"NL", 15 * pct}, {"NS", 14 * pct}, {"PE", 15 * pct}} {
		add("ca", p.province, StandardCategory, "HST", p.rate)
	}
	for _, p := range []struct {
		province, name string
		rate           shopd.Rate
	}{{"QC", "QST", 99_750}, {"BC", "PST", 7 * pct}, {"MB", "RST", 7 * pct}, {"SK", "PST", 6 * pct}} {
		add("ca", p.province, StandardCategory, "GST", 5*pct)
		add("ca", p.province, StandardCategory, p.name, p.rate)
	}
	for _, p := range []string{"AB", "NT", "NU", "YT"} {
		add("ca", p, StandardCategory, "GST", 5*pct)
	}
	add("br", "", StandardCategory, "ICMS", 18*pct)
	add("in", "", StandardCategory, "GST", 18*pct)
	add("in", "", "apparel", "GST", 5*pct)

	ship := func(market, name string, price, freeAbove int64, cur string, minDays, maxDays int) ShippingRate {
		return ShippingRate{ID: shopd.NewID(ShippingRatePrefix), Market: market, Name: name,
			Price: shopd.Money{Amount: price, Currency: cur}, FreeAbove: &shopd.Money{Amount: freeAbove, Currency: cur},
			MinDays: minDays, MaxDays: maxDays, CreatedAt: now, UpdatedAt: now}
	}
	shipping := []ShippingRate{
		ship("us", "Standard", 599, 50_00, "USD", 3, 7),
		ship("ca", "Standard", 999, 75_00, "CAD", 3, 8),
		ship("br", "Padrão", 19_90, 199_00, "BRL", 5, 12),
		ship("in", "Standard", 99_00, 999_00, "INR", 3, 7),
	}
	return markets, taxes, shipping
}
