package subscription

import (
	"time"

	"github.com/shopd/shopd"
)

// Proration is what a plan change in the middle of a period costs: Credit
// gives back the unused share of the old price, Charge asks for the unused
// share of the new price, and Net = Charge − Credit is what the subscriber
// pays now (negative: what they get back or keep as a credit).
type Proration struct {
	Credit shopd.Money `json:"credit"`
	Charge shopd.Money `json:"charge"`
	Net    shopd.Money `json:"net"`
}

// Prorate prorates a change from oldPrice to newPrice made at `at` inside the
// period [start, end). The unused share is the remaining microseconds over
// the period's microseconds, so a period an hour short for DST is prorated by
// its real length; Credit and Charge are each rounded half up to the minor
// unit, exactly (128-bit arithmetic, no floats). At the start of the period
// the whole old price is credited and the whole new price charged.
//
// It returns shopd.ErrCurrencyMismatch if the prices are in different
// currencies, and EINVALID for a negative price, an empty period or `at`
// outside [start, end).
func Prorate(oldPrice, newPrice shopd.Money, start, end, at time.Time) (Proration, error) {
	if oldPrice.Currency != newPrice.Currency {
		return Proration{}, shopd.ErrCurrencyMismatch
	}
	var v shopd.Validation
	v.Check(oldPrice.Amount >= 0, "old_price", "must not be negative")
	v.Check(newPrice.Amount >= 0, "new_price", "must not be negative")
	total, left := end.UnixMicro()-start.UnixMicro(), end.UnixMicro()-at.UnixMicro()
	if v.Check(total > 0, "end", "must be at least a microsecond after the start") {
		v.Check(!at.Before(start) && at.Before(end), "at",
			"must be within the period ["+start.UTC().Format(time.RFC3339Nano)+", "+end.UTC().Format(time.RFC3339Nano)+")")
	}
	if err := v.Err(); err != nil {
		return Proration{}, err
	}
	// 0 ≤ left ≤ total, so each share is at most the price: no overflow.
	share := func(price shopd.Money) shopd.Money {
		return shopd.Money{Amount: shopd.MulDiv(price.Amount, left, total, shopd.RoundHalfUp), Currency: price.Currency}
	}
	p := Proration{Credit: share(oldPrice), Charge: share(newPrice)}
	var err error
	if p.Net, err = p.Charge.Sub(p.Credit); err != nil {
		return Proration{}, err
	}
	return p, nil
}
