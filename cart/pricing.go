package cart

import (
	"cmp"
	"context"
	"math/bits"
	"slices"
	"strconv"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/market"
)

// Why a line cannot be bought; stable API values of a line's
// unavailable_reason.
const (
	ReasonUnknownVariant = "unknown_variant"        // the variant no longer exists
	ReasonNotSold        = "not_sold_in_market"     // no price in the cart's market
	ReasonNotActive      = "not_active"             // the product is draft or archived
	ReasonNotLaunched    = "not_launched"           // the product's launch time has not come
	ReasonOverLimit      = "exceeds_purchase_limit" // the quantity is over the product's per-customer limit
)

var reasonText = map[string]string{
	ReasonUnknownVariant: "no such variant",
	ReasonNotSold:        "not sold in this market",
	ReasonNotActive:      "not on sale",
	ReasonNotLaunched:    "not launched yet",
	ReasonOverLimit:      "the quantity exceeds the product's purchase limit",
}

// unavailable returns why the variant cannot be bought in market m at now,
// or "".
func unavailable(mv catalog.MarketVariant, m market.Market, now time.Time) string {
	switch _, priced := mv.Price(m.Code, m.Currency); {
	case mv.Product.Status != catalog.StatusActive:
		return ReasonNotActive
	case !priced:
		return ReasonNotSold
	case !mv.Product.Available(now):
		return ReasonNotLaunched
	}
	return ""
}

// Allocate splits total among lines in proportion to weights (each line's
// subtotal) by the largest-remainder method: each share is first rounded
// down, then the minor units left over go one each to the lines with the
// largest remainders (ties: the larger weight, then the earlier line). The
// shares add up to total exactly and no share exceeds its weight.
//
// It needs 0 ≤ total ≤ Σweights and every weight ≥ 0; otherwise it returns
// EINVALID.
func Allocate(total int64, weights []int64) ([]int64, error) {
	var sum uint64
	for _, w := range weights {
		if w < 0 {
			return nil, shopd.Errorf(shopd.EINVALID, "Allocate: negative weight %d.", w)
		}
		var carry uint64
		sum, carry = bits.Add64(sum, uint64(w), 0)
		if carry != 0 || sum > 1<<63-1 {
			return nil, shopd.ErrOverflow
		}
	}
	if total < 0 || uint64(total) > sum {
		return nil, shopd.Errorf(shopd.EINVALID, "Allocate: cannot split %d over weights that add up to %d.", total, sum)
	}
	shares := make([]int64, len(weights))
	if total == 0 {
		return shares, nil
	}
	rems := make([]uint64, len(weights))
	left := total
	for i, w := range weights {
		// total × w / sum in 128 bits: total ≤ sum, so the quotient fits.
		hi, lo := bits.Mul64(uint64(total), uint64(w))
		q, r := bits.Div64(hi, lo, sum)
		shares[i], rems[i] = int64(q), r
		left -= int64(q)
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := cmp.Compare(rems[b], rems[a]); c != 0 {
			return c
		}
		if c := cmp.Compare(weights[b], weights[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	// Fewer units are left than lines with a nonzero remainder, since the
	// remainders add up to left × sum and each is below sum.
	for _, i := range order[:left] {
		shares[i]++
	}
	return shares, nil
}

// Quote is a cart priced now. Storefront reads show it; checkout buys
// exactly what it says.
//
// How it is made:
//   - Each line is looked up in the catalog with its product and its price
//     in the cart's market. A line whose variant is unknown, not priced in
//     the market, whose product is not active or not launched yet, or whose
//     quantity exceeds the product's purchase limit is unavailable (Reason
//     says why) and left out of every total.
//   - The discount code, if any, is checked (Discount.Check) against the
//     subtotal of the available lines; when it applies, AmountOff is split
//     over the available lines by Allocate, so Σ line discounts = discount.
//   - Shipping is the cheapest of the market's shipping rates that ship to
//     the cart's region, counting a rate as free when the discounted
//     subtotal reaches its threshold (ties: the fastest, then by ID). An
//     empty cart ships nothing.
//   - market.Price then computes line-level tax (inclusive or exclusive by
//     market), shipping tax and the totals: Breakdown.Lines[i] prices the
//     i-th available line (its Ref is the cart line's ID).
type Quote struct {
	Cart   Cart
	Market market.Market
	// Lines are every cart line, in cart order, available or not.
	Lines []QuoteLine
	// Discount is the cart's code and its effect; nil if the cart has none.
	Discount *QuoteDiscount
	// Shipping is the chosen shipping rate; nil when the cart is empty or no
	// rate ships to the region.
	Shipping *market.ShippingRate
	// Breakdown is market.Price's result for the available lines.
	Breakdown market.Breakdown
	// PricedAt is when the quote was made (launch times and discount windows
	// are judged at this time).
	PricedAt time.Time
}

// QuoteLine is a cart line with what checkout needs to buy it.
type QuoteLine struct {
	Line
	ProductID     string
	ProductTitle  string
	VariantTitle  string
	SKU           string
	TaxCategory   string
	PurchaseLimit int       // per customer; 0 for none
	LaunchAt      time.Time // zero for none
	// UnitPrice is the shelf price of one unit in the market (zero Money if
	// the variant has none there). CompareAt is the struck-through price.
	UnitPrice shopd.Money
	CompareAt *shopd.Money
	// Available is false when the line cannot be bought; Reason says why.
	Available bool
	Reason    string
	// Price is the line's slice of the Breakdown (zero for an unavailable
	// line): subtotal, allocated discount, tax lines and total.
	Price market.LineBreakdown
}

// QuoteDiscount is the cart's discount code and what it does now.
type QuoteDiscount struct {
	Code string
	// Discount is the code's definition; nil if the code no longer exists.
	Discount *Discount
	// Applied is true when the code takes Amount off the cart; otherwise
	// Problem says why not (an error with a stable type such as
	// "minimum-not-met").
	Applied bool
	Problem error
	Amount  shopd.Money
}

// ItemCount is the number of units in the available lines.
func (q Quote) ItemCount() int {
	n := 0
	for _, l := range q.Lines {
		if l.Available {
			n += l.Quantity
		}
	}
	return n
}

// CheckoutError returns nil if the quote can be bought as it is, or why not:
// EINVALID "cart-empty", "not-purchasable" (naming the line),
// "no-shipping-rate", or the discount code's problem (a shopper must remove
// a code that no longer applies rather than pay more than they saw).
func (q Quote) CheckoutError() error {
	if len(q.Lines) == 0 {
		return shopd.TypedErrorf(shopd.EINVALID, "cart-empty", "The cart is empty.")
	}
	for i, l := range q.Lines {
		if !l.Available {
			return &shopd.Error{Code: shopd.EINVALID, Type: "not-purchasable", Message: "A line of the cart cannot be bought: " + reasonText[l.Reason] + ".",
				Fields: []shopd.FieldError{{Field: "lines[" + strconv.Itoa(i) + "]", Message: l.Reason}}}
		}
	}
	if q.Discount != nil && !q.Discount.Applied {
		return q.Discount.Problem
	}
	if q.Shipping == nil {
		return shopd.TypedErrorf(shopd.EINVALID, "no-shipping-rate", "No shipping rate of market %s ships to this region.", q.Market.Code)
	}
	return nil
}

// quoteInput is everything a quote is computed from; buildQuote does no I/O.
type quoteInput struct {
	cart     Cart
	market   market.Market
	rates    []market.TaxRate
	shipping []market.ShippingRate // the rates that ship to the cart's region
	variants map[string]catalog.MarketVariant
	// discount is the cart's code (nil if the cart has none or it does not
	// exist); customerUses is the caller's uses of it (-1 unknown).
	discount     *Discount
	customerUses int
	now          time.Time
}

// buildQuote prices a cart; see Quote.
func buildQuote(in quoteInput) (Quote, error) {
	m, cur := in.market, in.market.Currency
	q := Quote{Cart: in.cart, Market: m, Lines: make([]QuoteLine, 0, len(in.cart.Lines)), PricedAt: in.now}
	var avail []int // indexes into q.Lines
	subtotal := shopd.Zero(cur)
	for _, l := range in.cart.Lines {
		ql := QuoteLine{Line: l, UnitPrice: shopd.Zero(cur), Price: emptyLine(l.ID, cur)}
		mv, ok := in.variants[l.VariantID]
		if !ok {
			ql.Reason = ReasonUnknownVariant
			q.Lines = append(q.Lines, ql)
			continue
		}
		p, v := mv.Product, mv.Variant
		ql.ProductID, ql.ProductTitle, ql.VariantTitle, ql.SKU = p.ID, p.Title, v.Title, v.SKU
		ql.TaxCategory, ql.PurchaseLimit, ql.LaunchAt = p.TaxCategory, p.PurchaseLimit, p.LaunchAt
		if pr, ok := mv.Price(m.Code, cur); ok {
			ql.UnitPrice, ql.CompareAt = pr.Amount, pr.CompareAt
		}
		ql.Reason = unavailable(mv, m, in.now)
		if ql.Reason == "" && p.PurchaseLimit > 0 && l.Quantity > p.PurchaseLimit {
			ql.Reason = ReasonOverLimit
		}
		if ql.Available = ql.Reason == ""; ql.Available {
			sub, err := ql.UnitPrice.Mul(int64(l.Quantity))
			if err != nil {
				return Quote{}, err
			}
			if subtotal, err = subtotal.Add(sub); err != nil {
				return Quote{}, err
			}
			avail = append(avail, len(q.Lines))
		}
		q.Lines = append(q.Lines, ql)
	}

	// The discount, split over the available lines.
	off := shopd.Zero(cur)
	if code := in.cart.DiscountCode; code != "" {
		qd := &QuoteDiscount{Code: code, Amount: shopd.Zero(cur), Problem: ErrDiscountNotFound}
		if d := in.discount; d != nil {
			dc := *d
			qd.Discount = &dc
			if qd.Problem = d.Check(in.now, subtotal, in.customerUses); qd.Problem == nil {
				qd.Applied, off = true, d.AmountOff(subtotal, m.Rounding)
				qd.Amount = off
			}
		}
		q.Discount = qd
	}
	weights := make([]int64, len(avail))
	for i, j := range avail {
		weights[i] = q.Lines[j].UnitPrice.Amount * int64(q.Lines[j].Quantity)
	}
	shares, err := Allocate(off.Amount, weights)
	if err != nil {
		return Quote{}, err
	}
	lines := make([]market.Line, len(avail))
	for i, j := range avail {
		ql := q.Lines[j]
		lines[i] = market.Line{Ref: ql.ID, UnitPrice: ql.UnitPrice, Quantity: int64(ql.Quantity), TaxCategory: ql.TaxCategory,
			Discount: shopd.Money{Amount: shares[i], Currency: cur}}
	}

	if len(avail) > 0 {
		merchandise := subtotal.Amount - off.Amount
		q.Shipping = cheapestShipping(in.shipping, m, merchandise)
	}
	if q.Breakdown, err = market.Price(m, in.rates, in.cart.Region, lines, q.Shipping); err != nil {
		return Quote{}, err
	}
	for i, j := range avail {
		q.Lines[j].Price = q.Breakdown.Lines[i]
	}
	return q, nil
}

// emptyLine is the price of a line left out of the totals.
func emptyLine(ref, cur string) market.LineBreakdown {
	z := shopd.Zero(cur)
	return market.LineBreakdown{Ref: ref, Subtotal: z, Discount: z, Tax: z, Total: z, Taxes: []market.TaxLine{}}
}

// cheapestShipping picks the rate that costs the least for merchandise
// (minor units, after discount), counting a rate free above its threshold;
// ties go to the fastest, then to the lowest ID. Rates in another currency
// are skipped. It returns nil if there is none.
func cheapestShipping(rates []market.ShippingRate, m market.Market, merchandise int64) *market.ShippingRate {
	var best *market.ShippingRate
	var bestCost int64
	for i := range rates {
		r := &rates[i]
		if r.Market != m.Code || r.Price.Currency != m.Currency || (r.FreeAbove != nil && r.FreeAbove.Currency != m.Currency) {
			continue
		}
		cost := r.Price.Amount
		if r.FreeAbove != nil && merchandise >= r.FreeAbove.Amount {
			cost = 0
		}
		if best == nil || cost < bestCost ||
			(cost == bestCost && (r.MaxDays < best.MaxDays || (r.MaxDays == best.MaxDays && r.ID < best.ID))) {
			best, bestCost = r, cost
		}
	}
	if best == nil {
		return nil
	}
	out := *best
	return &out
}

// quote loads what a cart's price depends on and prices it.
func (s *Service) quote(ctx context.Context, c Cart, who Caller) (Quote, error) {
	m, err := s.Markets.Market(ctx, c.Market)
	if err != nil {
		return Quote{}, err
	}
	rates, err := s.Markets.TaxRates(ctx, c.Market)
	if err != nil {
		return Quote{}, err
	}
	ships, err := s.Markets.ShippingOptions(ctx, c.Market, c.Region)
	if err != nil {
		return Quote{}, err
	}
	ids := make([]string, len(c.Lines))
	for i, l := range c.Lines {
		ids[i] = l.VariantID
	}
	vs, err := s.Catalog.VariantsInMarket(ctx, c.Market, ids)
	if err != nil {
		return Quote{}, err
	}
	in := quoteInput{cart: c, market: m, rates: rates, shipping: ships, variants: make(map[string]catalog.MarketVariant, len(vs)),
		customerUses: -1, now: s.now()}
	for _, v := range vs {
		in.variants[v.Variant.ID] = v
	}
	if c.DiscountCode != "" {
		d, err := s.store.DiscountByCode(ctx, c.DiscountCode)
		switch {
		case err == nil:
			in.discount = &d
			if in.customerUses, err = s.customerUses(ctx, d, who); err != nil {
				return Quote{}, err
			}
		case shopd.ErrorCode(err) != shopd.ENOTFOUND:
			return Quote{}, err
		}
	}
	return buildQuote(in)
}
