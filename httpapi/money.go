package httpapi

import "github.com/shopd/shopd"

// moneyJSON is Money as responses show it: the exact amount in minor units,
// the currency, and the amount formatted for the market's locale.
type moneyJSON struct {
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	Formatted string `json:"formatted"`
}

// moneyOut renders m for a locale such as the market's DefaultLocale.
func moneyOut(m shopd.Money, locale string) moneyJSON {
	return moneyJSON{Amount: m.Amount, Currency: m.Currency, Formatted: m.Format(locale)}
}
