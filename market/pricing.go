package market

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/shopd/shopd"
)

// Line is one basket line to price.
type Line struct {
	// Ref is the caller's name for the line (a variant ID, a cart line ID);
	// Price echoes it back.
	Ref string
	// UnitPrice is the shelf price of one unit in the market's currency:
	// before tax in an exclusive market, tax included in an inclusive one.
	UnitPrice shopd.Money
	// Quantity is at least 1.
	Quantity int64
	// TaxCategory selects the tax rates; "" means StandardCategory.
	TaxCategory string
	// Discount is taken off the whole line (not per unit), before tax; the
	// zero Money means none. It may not exceed UnitPrice × Quantity.
	Discount shopd.Money
}

// TaxLine is one tax as an invoice prints it: its name, its rate and the
// amount.
type TaxLine struct {
	Name   string      `json:"name"`
	Rate   shopd.Rate  `json:"rate"`
	Amount shopd.Money `json:"amount"`
}

// LineBreakdown is a priced line.
type LineBreakdown struct {
	Ref      string      `json:"ref,omitempty"`
	Subtotal shopd.Money `json:"subtotal"` // UnitPrice × Quantity
	Discount shopd.Money `json:"discount"`
	Tax      shopd.Money `json:"tax"`   // added (exclusive) or contained (inclusive)
	Total    shopd.Money `json:"total"` // what the shopper pays for the line
	Taxes    []TaxLine   `json:"taxes"` // one per applicable rate, even at 0
}

// Breakdown is a priced basket.
type Breakdown struct {
	Market   string  `json:"market"`
	Currency string  `json:"currency"`
	TaxMode  TaxMode `json:"tax_mode"`
	// TaxIncluded is true in inclusive markets: Tax is part of Subtotal and
	// Shipping, not added to them.
	TaxIncluded bool            `json:"tax_included"`
	Lines       []LineBreakdown `json:"lines"`
	Subtotal    shopd.Money     `json:"subtotal"` // sum of line subtotals
	Discount    shopd.Money     `json:"discount"` // sum of line discounts
	// Shipping is what shipping costs: 0 when free or when no shipping rate
	// was given.
	Shipping     shopd.Money `json:"shipping"`
	ShippingFree bool        `json:"shipping_free"`
	ShippingTax  shopd.Money `json:"shipping_tax"` // part of Tax
	Tax          shopd.Money `json:"tax"`          // every line's tax plus ShippingTax
	Total        shopd.Money `json:"total"`
	// Taxes sums the tax lines of every line and of shipping by name and
	// rate, in the order they first appear.
	Taxes []TaxLine `json:"taxes"`
}

// Limits on a basket.
const (
	MaxLines     = 500
	MaxQuantity  = 1_000_000
	MaxRefLength = 200
)

// Price prices lines in market m for a shopper in region (a state or
// province code; "" when unknown), with the market's tax rates and an
// optional shipping rate. It does no I/O.
//
// The rules:
//   - A line's subtotal is UnitPrice × Quantity; its net is subtotal −
//     Discount.
//   - Exclusive markets (US, CA) add tax: each applicable rate's tax is
//     shopd.TaxOn(net). Inclusive markets (BR, IN) extract it: the net is a
//     shelf price holding every applicable rate, and each rate's share is
//     net × rate / (1 + sum of rates) — shopd.TaxIn when one rate applies —
//     so the shopper pays exactly the shelf price.
//   - Tax is computed per line and per rate and rounded there, with the
//     market's rounding mode; order tax is the sum of the rounded line taxes.
//     Invoices (and tax authorities such as Quebec's and India's GST) show
//     tax per line, so the lines must add up to the total exactly; rounding
//     once on the order total could differ from that sum by a cent.
//   - Several rates apply at once (Quebec: GST 5% + QST 9.975%), each on
//     the net amount, never compounded on another tax.
//   - Applicable rates: those of the market for the line's tax category,
//     either market-wide (Region "") or for the shopper's region; a regional
//     rate replaces a market-wide rate of the same name. A category with no
//     applicable rate falls back to the standard rates; to exempt a
//     category, give it a 0% rate.
//   - Shipping is free when the discounted subtotal (Subtotal − Discount,
//     as shelf prices show it) reaches the rate's FreeAbove. Shipping is
//     taxed only by rates of category "shipping", with no fallback.
//   - Total = Subtotal − Discount + Shipping, plus Tax in exclusive markets.
//
// It returns EINVALID ("currency-mismatch" for an amount in another
// currency, "validation" for bad lines, "shipping-rate-unavailable" for a
// shipping rate of another market or region, "amount-overflow" for sums
// beyond int64).
func Price(m Market, rates []TaxRate, region string, lines []Line, ship *ShippingRate) (Breakdown, error) {
	region = strings.ToUpper(strings.TrimSpace(region))
	cur := m.Currency
	if !m.Rounding.Valid() || !m.TaxMode.Valid() || !shopd.ValidCurrency(cur) {
		return Breakdown{}, shopd.Errorf(shopd.EINVALID, "Market %q is not configured for pricing.", m.Code)
	}
	if err := checkLines(cur, lines); err != nil {
		return Breakdown{}, err
	}
	b := Breakdown{
		Market: m.Code, Currency: cur, TaxMode: m.TaxMode, TaxIncluded: m.TaxMode == TaxInclusive,
		Lines:    make([]LineBreakdown, 0, len(lines)),
		Subtotal: shopd.Zero(cur), Discount: shopd.Zero(cur), Shipping: shopd.Zero(cur),
		ShippingTax: shopd.Zero(cur), Tax: shopd.Zero(cur), Total: shopd.Zero(cur), Taxes: []TaxLine{},
	}
	sum := taxSummer{b: &b}
	for _, l := range lines {
		lb, err := priceLine(m, rates, region, l)
		if err != nil {
			return Breakdown{}, err
		}
		if b.Subtotal, err = b.Subtotal.Add(lb.Subtotal); err != nil {
			return Breakdown{}, err
		}
		if b.Discount, err = b.Discount.Add(lb.Discount); err != nil {
			return Breakdown{}, err
		}
		if b.Tax, err = b.Tax.Add(lb.Tax); err != nil {
			return Breakdown{}, err
		}
		if err := sum.add(lb.Taxes); err != nil {
			return Breakdown{}, err
		}
		b.Lines = append(b.Lines, lb)
	}
	merchandise, err := b.Subtotal.Sub(b.Discount)
	if err != nil {
		return Breakdown{}, err
	}

	if ship != nil {
		if ship.Market != m.Code || !ship.AppliesTo(region) {
			return Breakdown{}, shopd.TypedErrorf(shopd.EINVALID, "shipping-rate-unavailable",
				"Shipping rate %q does not ship to this address in market %s.", ship.Name, m.Code)
		}
		if ship.Price.Currency != cur || (ship.FreeAbove != nil && ship.FreeAbove.Currency != cur) {
			return Breakdown{}, shopd.ErrCurrencyMismatch
		}
		if ship.Price.Amount < 0 || ship.Price.Amount > MaxAmount {
			return Breakdown{}, shopd.Errorf(shopd.EINVALID, "Shipping rate %q has an invalid price.", ship.Name)
		}
		b.Shipping = ship.Price
		if ship.FreeAbove != nil && merchandise.Amount >= ship.FreeAbove.Amount {
			b.Shipping, b.ShippingFree = shopd.Zero(cur), true
		}
		taxes, total, err := taxesFor(m, applicableRates(rates, m.Code, region, ShippingCategory, false), b.Shipping)
		if err != nil {
			return Breakdown{}, err
		}
		b.ShippingTax = total
		if b.Tax, err = b.Tax.Add(total); err != nil {
			return Breakdown{}, err
		}
		if err := sum.add(taxes); err != nil {
			return Breakdown{}, err
		}
	}

	if b.Total, err = merchandise.Add(b.Shipping); err != nil {
		return Breakdown{}, err
	}
	if m.TaxMode == TaxExclusive {
		if b.Total, err = b.Total.Add(b.Tax); err != nil {
			return Breakdown{}, err
		}
	}
	return b, nil
}

// checkLines validates the lines; an amount in another currency is a
// "currency-mismatch" error naming the field.
func checkLines(cur string, lines []Line) error {
	var v shopd.Validation
	v.Check(len(lines) <= MaxLines, "lines", "must hold at most 500 lines")
	for i, l := range lines {
		f := "lines[" + strconv.Itoa(i) + "]."
		if l.UnitPrice.Currency != cur {
			return mismatch(f+"unit_price.currency", cur)
		}
		hasDiscount := l.Discount != (shopd.Money{})
		if hasDiscount && l.Discount.Currency != cur {
			return mismatch(f+"discount.currency", cur)
		}
		v.Check(len(l.Ref) <= MaxRefLength, f+"ref", "must be at most 200 characters")
		okPrice := v.Check(l.UnitPrice.Amount >= 0 && l.UnitPrice.Amount <= MaxAmount, f+"unit_price.amount", "must be from 0 to 1000000000000 minor units")
		okQty := v.Check(l.Quantity >= 1 && l.Quantity <= MaxQuantity, f+"quantity", "must be from 1 to 1000000")
		v.Check(l.TaxCategory == "" || ValidCategory(l.TaxCategory), f+"tax_category", "must be 1 to 50 lower-case letters, digits, - or _")
		if hasDiscount && v.Check(l.Discount.Amount >= 0, f+"discount.amount", "must not be negative") && okPrice && okQty {
			// Both factors are bounded above, so the product fits in an int64.
			v.Check(l.Discount.Amount <= l.UnitPrice.Amount*l.Quantity, f+"discount.amount", "must not exceed the line's subtotal")
		}
	}
	return v.Err()
}

func mismatch(field, cur string) error {
	return &shopd.Error{Code: shopd.EINVALID, Type: "currency-mismatch", Message: shopd.ErrCurrencyMismatch.Message,
		Fields: []shopd.FieldError{{Field: field, Message: "must be " + cur + ", the market's currency"}}}
}

// priceLine prices one valid line.
func priceLine(m Market, rates []TaxRate, region string, l Line) (LineBreakdown, error) {
	cur := m.Currency
	lb := LineBreakdown{Ref: l.Ref, Discount: shopd.Zero(cur)}
	var err error
	if lb.Subtotal, err = l.UnitPrice.Mul(l.Quantity); err != nil {
		return LineBreakdown{}, err
	}
	if l.Discount != (shopd.Money{}) {
		lb.Discount = l.Discount
	}
	net, err := lb.Subtotal.Sub(lb.Discount)
	if err != nil {
		return LineBreakdown{}, err
	}
	category := l.TaxCategory
	if category == "" {
		category = StandardCategory
	}
	lb.Taxes, lb.Tax, err = taxesFor(m, applicableRates(rates, m.Code, region, category, true), net)
	if err != nil {
		return LineBreakdown{}, err
	}
	lb.Total = net
	if m.TaxMode == TaxExclusive {
		if lb.Total, err = net.Add(lb.Tax); err != nil {
			return LineBreakdown{}, err
		}
	}
	return lb, nil
}

// taxesFor computes each rate's tax on amount (exclusive: added on top;
// inclusive: contained in it), rounded per rate, and their sum.
func taxesFor(m Market, rates []TaxRate, amount shopd.Money) ([]TaxLine, shopd.Money, error) {
	total := shopd.Zero(amount.Currency)
	out := make([]TaxLine, 0, len(rates))
	var combined int64 // sum of the rates, for extracting several at once
	for _, r := range rates {
		if r.Rate < 0 || r.Rate > shopd.MaxRate {
			return nil, shopd.Money{}, shopd.TypedErrorf(shopd.EINVALID, "invalid-rate", "Tax rate %q is outside 0 to 100%%.", r.Name)
		}
		combined += int64(r.Rate)
	}
	for _, r := range rates {
		var tax shopd.Money
		switch {
		case m.TaxMode == TaxExclusive:
			tax = shopd.TaxOn(amount, r.Rate, m.Rounding)
		case len(rates) == 1:
			tax = shopd.TaxIn(amount, r.Rate, m.Rounding)
		default:
			// amount = net × (1 + Σrates), so this rate's part is
			// amount × rate / (1 + Σrates).
			tax = shopd.Money{Amount: shopd.MulDiv(amount.Amount, int64(r.Rate), shopd.RateScale+combined, m.Rounding), Currency: amount.Currency}
		}
		var err error
		if total, err = total.Add(tax); err != nil {
			return nil, shopd.Money{}, err
		}
		out = append(out, TaxLine{Name: r.Name, Rate: r.Rate, Amount: tax})
	}
	return out, total, nil
}

// applicableRates returns the rates of a market that tax a category in a
// region, market-wide ones first, then by name. A regional rate replaces a
// market-wide rate of the same name. With fallback, a category with no
// applicable rate takes the standard category's rates.
func applicableRates(rates []TaxRate, market, region, category string, fallback bool) []TaxRate {
	var out []TaxRate
	regional := map[string]bool{}
	for _, r := range rates {
		if r.Market == market && r.Category == category && region != "" && r.Region == region {
			regional[r.Name] = true
		}
	}
	for _, r := range rates {
		if r.Market != market || r.Category != category {
			continue
		}
		if (region != "" && r.Region == region) || (r.Region == "" && !regional[r.Name]) {
			out = append(out, r)
		}
	}
	if len(out) == 0 && fallback && category != StandardCategory {
		return applicableRates(rates, market, region, StandardCategory, false)
	}
	slices.SortStableFunc(out, func(a, b TaxRate) int {
		if (a.Region == "") != (b.Region == "") {
			if a.Region == "" {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

// taxSummer adds tax lines into the breakdown's Taxes by name and rate.
type taxSummer struct {
	b     *Breakdown
	index map[string]int
}

func (s *taxSummer) add(lines []TaxLine) error {
	if s.index == nil {
		s.index = map[string]int{}
	}
	for _, t := range lines {
		key := t.Name + "\x00" + strconv.FormatInt(int64(t.Rate), 10)
		i, ok := s.index[key]
		if !ok {
			s.index[key] = len(s.b.Taxes)
			s.b.Taxes = append(s.b.Taxes, TaxLine{Name: t.Name, Rate: t.Rate, Amount: shopd.Zero(t.Amount.Currency)})
			i = len(s.b.Taxes) - 1
		}
		sum, err := s.b.Taxes[i].Amount.Add(t.Amount)
		if err != nil {
			return err
		}
		s.b.Taxes[i].Amount = sum
	}
	return nil
}
