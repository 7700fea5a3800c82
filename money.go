package shopd

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync"

	"github.com/bojanz/currency"
)

// Money is an exact amount in a currency's minor unit (cents for USD, paise
// for INR) with its ISO 4217 code. No float ever holds money in shopd.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// ValidCurrency reports whether code is an ISO 4217 currency code known to
// shopd's CLDR data.
func ValidCurrency(code string) bool {
	return len(code) == 3 && currency.IsValid(code)
}

// CurrencyDigits returns how many minor-unit digits a currency has (2 for
// USD, 0 for JPY). It returns EINVALID for an unknown code.
func CurrencyDigits(code string) (int, error) {
	if !ValidCurrency(code) {
		return 0, TypedErrorf(EINVALID, "unknown-currency", "Unknown currency %q.", code)
	}
	d, _ := currency.GetDigits(code)
	return int(d), nil
}

// NewMoney returns amount minor units of the currency, or EINVALID if the
// currency is unknown.
func NewMoney(amount int64, code string) (Money, error) {
	if !ValidCurrency(code) {
		return Money{}, TypedErrorf(EINVALID, "unknown-currency", "Unknown currency %q.", code)
	}
	return Money{Amount: amount, Currency: code}, nil
}

// Zero returns zero in the currency.
func Zero(code string) Money { return Money{Currency: code} }

func (m Money) String() string {
	d, err := CurrencyDigits(m.Currency)
	if err != nil || d == 0 {
		return fmt.Sprintf("%d %s", m.Amount, m.Currency)
	}
	sign, a := "", m.Amount
	if a < 0 {
		sign, a = "-", -a
	}
	p := int64(math.Pow10(d))
	return fmt.Sprintf("%s%d.%0*d %s", sign, a/p, d, a%p, m.Currency)
}

// ErrCurrencyMismatch is returned by arithmetic on two currencies.
var ErrCurrencyMismatch = TypedErrorf(EINVALID, "currency-mismatch", "Amounts in different currencies cannot be combined.")

// ErrOverflow is returned when an amount does not fit in 64 bits.
var ErrOverflow = TypedErrorf(EINVALID, "amount-overflow", "The amount is too large.")

// Add returns m + o. It refuses amounts in different currencies and overflow.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, ErrCurrencyMismatch
	}
	s := m.Amount + o.Amount
	if (s > m.Amount) != (o.Amount > 0) {
		return Money{}, ErrOverflow
	}
	return Money{Amount: s, Currency: m.Currency}, nil
}

// Sub returns m − o. It refuses amounts in different currencies and overflow.
func (m Money) Sub(o Money) (Money, error) {
	if o.Amount == math.MinInt64 {
		return Money{}, ErrOverflow
	}
	return m.Add(Money{Amount: -o.Amount, Currency: o.Currency})
}

// Mul returns m × n (a quantity), or ErrOverflow.
func (m Money) Mul(n int64) (Money, error) {
	if n == 0 || m.Amount == 0 {
		return Money{Currency: m.Currency}, nil
	}
	p := m.Amount * n
	if p/n != m.Amount || (m.Amount == -1 && n == math.MinInt64) || (n == -1 && m.Amount == math.MinInt64) {
		return Money{}, ErrOverflow
	}
	return Money{Amount: p, Currency: m.Currency}, nil
}

// Sum adds amounts of one currency; code is the currency of an empty sum.
func Sum(code string, ms ...Money) (Money, error) {
	total := Zero(code)
	for _, m := range ms {
		var err error
		if total, err = total.Add(m); err != nil {
			return Money{}, err
		}
	}
	return total, nil
}

var (
	formattersMu sync.Mutex
	formatters   = map[string]*currency.Formatter{}
	formatted    = map[formatKey]string{} // recent results: a shop's prices repeat in every response
)

// formatKey is an amount rendered in a locale.
type formatKey struct {
	locale string
	m      Money
}

// maxFormatted bounds the remembered renderings; past it they start over.
const maxFormatted = 4096

// Format renders m for people in a locale such as "en-US", "fr-CA", "pt-BR"
// or "hi-IN", with the CLDR symbol, separators and digits.
func (m Money) Format(locale string) string {
	k := formatKey{locale, m}
	formattersMu.Lock()
	s, ok := formatted[k]
	f := formatters[locale]
	if f == nil {
		f = currency.NewFormatter(currency.NewLocale(locale))
		formatters[locale] = f
	}
	formattersMu.Unlock()
	if ok {
		return s
	}
	a, err := currency.NewAmountFromInt64(m.Amount, m.Currency)
	if err != nil {
		return m.String()
	}
	s = f.Format(a) // the Formatter is not changed after it is made: safe to share
	formattersMu.Lock()
	if len(formatted) >= maxFormatted {
		clear(formatted)
	}
	formatted[k] = s
	formattersMu.Unlock()
	return s
}

// Rounding says how a fraction of a minor unit is rounded. Tax authorities
// differ; each market names its mode so the rule is explicit.
type Rounding string

const (
	// RoundHalfUp rounds halves away from zero: 0.5¢ → 1¢. Most tax
	// authorities (US states, Canada, Brazil, India) use it per line.
	RoundHalfUp Rounding = "half_up"
	// RoundHalfEven rounds halves to the even neighbour (banker's rounding):
	// 0.5¢ → 0¢, 1.5¢ → 2¢. It has no bias over many roundings.
	RoundHalfEven Rounding = "half_even"
)

// Valid reports whether r is a known rounding mode.
func (r Rounding) Valid() bool { return r == RoundHalfUp || r == RoundHalfEven }

// Rate is a tax rate in millionths (parts per million): 13% is 130000 and
// Quebec's 9.975% is 99750. Six decimals of a fraction cover every real rate.
type Rate int64

// RateScale is the denominator of a Rate.
const RateScale = 1_000_000

// MaxRate is the largest rate shopd accepts (100%).
const MaxRate Rate = RateScale

// ParseRate parses a percentage such as "13", "9.975" or "0.5" (at most four
// decimals) into a Rate. It returns EINVALID for anything else, including
// negative rates and rates over 100%.
func ParseRate(percent string) (Rate, error) {
	bad := TypedErrorf(EINVALID, "invalid-rate", "Rate %q must be a percentage between 0 and 100 with at most 4 decimals.", percent)
	whole, frac, _ := strings.Cut(percent, ".")
	if whole == "" || len(whole) > 3 || len(frac) > 4 || strings.ContainsAny(whole+frac, "+-") {
		return 0, bad
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, bad
	}
	var f int64
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 4-len(frac)), 10, 64); err != nil {
			return 0, bad
		}
	}
	r := Rate(w*10_000 + f)
	if r > MaxRate {
		return 0, bad
	}
	return r, nil
}

// Percent renders the rate as a percentage without trailing zeros: "9.975".
func (r Rate) Percent() string {
	s := fmt.Sprintf("%d.%04d", r/10_000, r%10_000)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// TaxOn returns the tax on a tax-exclusive amount: amount × rate, rounded.
func TaxOn(amount Money, r Rate, mode Rounding) Money {
	return Money{Amount: mulDiv(amount.Amount, int64(r), RateScale, mode), Currency: amount.Currency}
}

// TaxIn returns the tax contained in a tax-inclusive amount:
// amount × rate / (1 + rate), rounded.
func TaxIn(amount Money, r Rate, mode Rounding) Money {
	return Money{Amount: mulDiv(amount.Amount, int64(r), RateScale+int64(r), mode), Currency: amount.Currency}
}

// MulDiv returns a × b / c rounded by mode, computed exactly in 128 bits.
// b and c must be positive; the result must fit in an int64.
func MulDiv(a, b, c int64, mode Rounding) int64 { return mulDiv(a, b, c, mode) }

func mulDiv(a, b, c int64, mode Rounding) int64 {
	if b < 0 || c <= 0 {
		panic("shopd: mulDiv needs b ≥ 0 and c > 0")
	}
	neg := a < 0
	ua := uint64(a)
	if neg {
		ua = uint64(-a)
	}
	hi, lo := bits.Mul64(ua, uint64(b))
	if hi >= uint64(c) {
		panic("shopd: mulDiv overflow")
	}
	q, rem := bits.Div64(hi, lo, uint64(c))
	// Compare 2×rem with c without overflow: rem < c ≤ MaxInt64, so 2×rem fits.
	switch twice := 2 * rem; {
	case twice > uint64(c):
		q++
	case twice == uint64(c):
		if mode == RoundHalfUp || q%2 == 1 {
			q++
		}
	}
	if neg {
		return -int64(q)
	}
	return int64(q)
}
