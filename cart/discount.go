package cart

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/shopd/shopd"
)

// Kind is how a discount takes money off.
type Kind string

// Discount kinds.
const (
	KindPercent Kind = "percent" // a share of the subtotal
	KindFixed   Kind = "fixed"   // an amount in one currency, at most the subtotal
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == KindPercent || k == KindFixed }

// Limits on discount codes.
const (
	MaxCodeLength    = 32
	MaxUsageLimit    = 1_000_000_000
	MaxAmount        = 1_000_000_000_000 // minor units
	MaxDiscountsPage = 100
)

// Discount is a code shoppers enter to take money off a cart.
//
// The discount applies to the cart's subtotal of purchasable lines at shelf
// prices (before tax in exclusive markets, tax included in inclusive ones)
// and is allocated to the lines (see Allocate), so each line's tax is on its
// discounted amount.
type Discount struct {
	ID   string // "dsc_…"
	Code string // upper-case, [A-Z0-9_-], unique
	Kind Kind
	// Rate is the share taken off by a percent discount.
	Rate shopd.Rate
	// Amount is what a fixed discount takes off (never more than the
	// subtotal); zero Money for a percent discount.
	Amount shopd.Money
	// MinSubtotal is the subtotal a cart must reach; zero Money for none.
	MinSubtotal shopd.Money
	// StartsAt and EndsAt bound when the code works: from StartsAt, until
	// (not including) EndsAt. Zero means no bound.
	StartsAt time.Time
	EndsAt   time.Time
	// UsageLimit is how many orders may use the code in all; 0 for no limit.
	UsageLimit int
	// PerCustomerLimit is how many orders one customer may use it for; 0 for
	// no limit.
	PerCustomerLimit int
	// Active is false for a code staff switched off; it then works nowhere.
	Active bool
	// TimesUsed counts the orders that redeemed the code (checkouts that
	// failed give their use back).
	TimesUsed int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Currency is the only currency the code works in: a fixed code's, or the
// minimum subtotal's; "" when it works in every market.
func (d Discount) Currency() string {
	if d.Kind == KindFixed {
		return d.Amount.Currency
	}
	return d.MinSubtotal.Currency
}

// Errors of discount codes. Their types are stable API.
var (
	// ErrDiscountNotFound is returned for an unknown code, and for a code
	// staff switched off (shoppers cannot tell the two apart).
	ErrDiscountNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "discount-not-found", "No such discount code.")
	// ErrDiscountNotStarted is returned before the code's start.
	ErrDiscountNotStarted = shopd.TypedErrorf(shopd.EINVALID, "discount-not-started", "This discount code is not valid yet.")
	// ErrDiscountExpired is returned from the code's end.
	ErrDiscountExpired = shopd.TypedErrorf(shopd.EINVALID, "discount-expired", "This discount code has expired.")
	// ErrDiscountNotApplicable is returned for a code in another currency
	// than the cart's market.
	ErrDiscountNotApplicable = shopd.TypedErrorf(shopd.EINVALID, "discount-not-applicable", "This discount code is not valid in this market.")
	// ErrMinimumNotMet is returned when the cart's subtotal is below the
	// code's minimum.
	ErrMinimumNotMet = shopd.TypedErrorf(shopd.EINVALID, "minimum-not-met", "The cart's subtotal is below this discount code's minimum.")
	// ErrDiscountExhausted is returned when the code reached its usage limit.
	ErrDiscountExhausted = shopd.TypedErrorf(shopd.ECONFLICT, "discount-exhausted", "This discount code has been used up.")
	// ErrDiscountLimitReached is returned when the customer used the code as
	// many times as it allows per customer.
	ErrDiscountLimitReached = shopd.TypedErrorf(shopd.ECONFLICT, "discount-limit-reached", "You have already used this discount code as many times as it allows.")
)

// CheckTime returns nil if the code works at now, or ErrDiscountNotFound
// (switched off), ErrDiscountNotStarted or ErrDiscountExpired.
func (d Discount) CheckTime(now time.Time) error {
	switch {
	case !d.Active:
		return ErrDiscountNotFound
	case !d.StartsAt.IsZero() && now.Before(d.StartsAt):
		return ErrDiscountNotStarted
	case !d.EndsAt.IsZero() && !now.Before(d.EndsAt):
		return ErrDiscountExpired
	}
	return nil
}

// CheckUses returns ErrDiscountExhausted if the code reached its usage limit
// and ErrDiscountLimitReached if a customer who used it customerUses times
// reached the per-customer limit (customerUses < 0: unknown, not checked).
func (d Discount) CheckUses(customerUses int) error {
	if d.UsageLimit > 0 && d.TimesUsed >= d.UsageLimit {
		return ErrDiscountExhausted
	}
	if d.PerCustomerLimit > 0 && customerUses >= d.PerCustomerLimit {
		return ErrDiscountLimitReached
	}
	return nil
}

// Check returns nil if the code can apply at now to a cart whose purchasable
// lines add up to subtotal, for a customer who used it customerUses times
// (< 0 when unknown, as for a guest). The checks, in order: active and in
// its time window, the market's currency, the usage limits, the minimum.
func (d Discount) Check(now time.Time, subtotal shopd.Money, customerUses int) error {
	if err := d.CheckTime(now); err != nil {
		return err
	}
	if cur := d.Currency(); cur != "" && cur != subtotal.Currency {
		return ErrDiscountNotApplicable
	}
	if err := d.CheckUses(customerUses); err != nil {
		return err
	}
	if d.MinSubtotal.Amount > 0 && subtotal.Amount < d.MinSubtotal.Amount {
		return ErrMinimumNotMet
	}
	return nil
}

// AmountOff is what the code takes off a subtotal: the rate's share rounded
// by the market's rounding mode, or the fixed amount capped at the subtotal.
// It never exceeds the subtotal nor goes below zero.
func (d Discount) AmountOff(subtotal shopd.Money, mode shopd.Rounding) shopd.Money {
	if subtotal.Amount <= 0 {
		return shopd.Zero(subtotal.Currency)
	}
	var off int64
	switch d.Kind {
	case KindPercent:
		off = shopd.MulDiv(subtotal.Amount, int64(min(max(d.Rate, 0), shopd.MaxRate)), shopd.RateScale, mode)
	case KindFixed:
		off = max(d.Amount.Amount, 0)
	}
	return shopd.Money{Amount: min(off, subtotal.Amount), Currency: subtotal.Currency}
}

var codeRE = regexp.MustCompile(`^[A-Z0-9_-]{1,32}$`)

// NormalizeCode returns a code as stored: trimmed and upper-case. Codes
// compare without regard to case.
func NormalizeCode(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }

// ValidCode reports whether a normalized code is well-formed.
func ValidCode(code string) bool { return codeRE.MatchString(code) }

// NewDiscount is the input that creates a discount code.
type NewDiscount struct {
	Code             string
	Kind             Kind
	Rate             shopd.Rate   // percent
	Amount           *shopd.Money // fixed
	MinSubtotal      *shopd.Money
	StartsAt         *time.Time
	EndsAt           *time.Time
	UsageLimit       int
	PerCustomerLimit int
	Active           *bool // true if nil
}

// DiscountUpdate changes some fields of a discount; nil fields stay as they
// are. The code and the kind never change. SetX with a nil X clears an
// optional field.
type DiscountUpdate struct {
	Rate             *shopd.Rate
	Amount           *shopd.Money
	SetMinSubtotal   bool
	MinSubtotal      *shopd.Money
	SetStartsAt      bool
	StartsAt         *time.Time
	SetEndsAt        bool
	EndsAt           *time.Time
	UsageLimit       *int
	PerCustomerLimit *int
	Active           *bool
}

// DiscountFilter selects a page of discounts.
type DiscountFilter struct {
	Cursor string // the NextCursor of the previous page
	Limit  int    // 1 to MaxDiscountsPage
}

// DiscountPage is a page of discounts, newest first.
type DiscountPage struct {
	Discounts  []Discount
	NextCursor string // "" on the last page
}

// checkDiscount validates a whole discount.
func checkDiscount(v *shopd.Validation, d Discount) {
	v.Check(ValidCode(d.Code), "code", "must be 1 to 32 letters, digits, - or _")
	switch d.Kind {
	case KindPercent:
		v.Check(d.Rate > 0 && d.Rate <= shopd.MaxRate, "percent", "must be more than 0 and at most 100")
	case KindFixed:
		if v.Check(shopd.ValidCurrency(d.Amount.Currency), "amount.currency", "must be an ISO 4217 currency code") {
			v.Check(d.Amount.Amount > 0 && d.Amount.Amount <= MaxAmount, "amount.amount", "must be from 1 to 1000000000000 minor units")
		}
	default:
		v.Addf("kind", "must be percent or fixed")
	}
	if d.MinSubtotal != (shopd.Money{}) {
		if v.Check(shopd.ValidCurrency(d.MinSubtotal.Currency), "minimum_subtotal.currency", "must be an ISO 4217 currency code") {
			v.Check(d.MinSubtotal.Amount >= 0 && d.MinSubtotal.Amount <= MaxAmount, "minimum_subtotal.amount", "must be from 0 to 1000000000000 minor units")
			if d.Kind == KindFixed && shopd.ValidCurrency(d.Amount.Currency) {
				v.Check(d.MinSubtotal.Currency == d.Amount.Currency, "minimum_subtotal.currency", "must be the currency of amount")
			}
		}
	}
	if !d.StartsAt.IsZero() && !d.EndsAt.IsZero() {
		v.Check(d.EndsAt.After(d.StartsAt), "ends_at", "must be after starts_at")
	}
	v.Check(d.UsageLimit >= 0 && d.UsageLimit <= MaxUsageLimit, "usage_limit", "must be from 0 (no limit) to 1000000000")
	v.Check(d.PerCustomerLimit >= 0 && d.PerCustomerLimit <= MaxUsageLimit, "per_customer_limit", "must be from 0 (no limit) to 1000000000")
}

// cleanMinimum drops a zero minimum, so that "no minimum" has one form.
func cleanMinimum(m *shopd.Money) shopd.Money {
	if m == nil || m.Amount == 0 {
		return shopd.Money{}
	}
	return *m
}

func utcMicros(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// CreateDiscount makes a discount code. It returns EINVALID "validation" for
// bad fields and ECONFLICT "discount-code-taken" for a code that exists
// (codes compare without regard to case).
func (s *Service) CreateDiscount(ctx context.Context, in NewDiscount) (Discount, error) {
	now := s.now()
	d := Discount{
		ID: shopd.NewID(DiscountPrefix), Code: NormalizeCode(in.Code), Kind: in.Kind, MinSubtotal: cleanMinimum(in.MinSubtotal),
		StartsAt: utcMicros(in.StartsAt), EndsAt: utcMicros(in.EndsAt), UsageLimit: in.UsageLimit,
		PerCustomerLimit: in.PerCustomerLimit, Active: in.Active == nil || *in.Active, CreatedAt: now, UpdatedAt: now,
	}
	var v shopd.Validation
	switch in.Kind {
	case KindPercent:
		d.Rate = in.Rate
		v.Check(in.Amount == nil, "amount", "is only for fixed discounts")
	case KindFixed:
		v.Check(in.Rate == 0, "percent", "is only for percent discounts")
		if v.Check(in.Amount != nil, "amount", "is required for a fixed discount") {
			d.Amount = *in.Amount
		}
	}
	if in.Kind != KindFixed || in.Amount != nil {
		checkDiscount(&v, d)
	}
	if err := v.Err(); err != nil {
		return Discount{}, err
	}
	if err := s.store.CreateDiscount(ctx, d); err != nil {
		return Discount{}, err
	}
	return d, nil
}

// Discount returns the discount with the ID ("dsc_…") or code, active or
// not. It returns ENOTFOUND "discount-not-found".
func (s *Service) Discount(ctx context.Context, idOrCode string) (Discount, error) {
	if shopd.HasIDPrefix(idOrCode, DiscountPrefix) {
		return s.store.Discount(ctx, idOrCode)
	}
	code := NormalizeCode(idOrCode)
	if !ValidCode(code) {
		return Discount{}, ErrDiscountNotFound
	}
	return s.store.DiscountByCode(ctx, code)
}

// Discounts lists discount codes newest first. It returns EINVALID for a bad
// limit.
func (s *Service) Discounts(ctx context.Context, f DiscountFilter) (DiscountPage, error) {
	var v shopd.Validation
	v.Check(f.Limit >= 1 && f.Limit <= MaxDiscountsPage, "limit", "must be from 1 to 100")
	v.Check(f.Cursor == "" || shopd.HasIDPrefix(f.Cursor, DiscountPrefix), "cursor", "must be the next_cursor of a previous page")
	if err := v.Err(); err != nil {
		return DiscountPage{}, err
	}
	return s.store.Discounts(ctx, f)
}

// UpdateDiscount changes a discount code (by ID or code). Lowering the usage
// limit below the uses so far exhausts the code; uses are never undone. It
// returns ENOTFOUND "discount-not-found" or EINVALID "validation" (including
// a value for the other kind).
func (s *Service) UpdateDiscount(ctx context.Context, idOrCode string, u DiscountUpdate) (Discount, error) {
	cur, err := s.Discount(ctx, idOrCode)
	if err != nil {
		return Discount{}, err
	}
	now := s.now()
	return s.store.UpdateDiscount(ctx, cur.ID, func(d *Discount) error {
		var v shopd.Validation
		if u.Rate != nil && v.Check(d.Kind == KindPercent, "percent", "is only for percent discounts") {
			d.Rate = *u.Rate
		}
		if u.Amount != nil && v.Check(d.Kind == KindFixed, "amount", "is only for fixed discounts") {
			d.Amount = *u.Amount
		}
		if u.SetMinSubtotal {
			d.MinSubtotal = cleanMinimum(u.MinSubtotal)
		}
		if u.SetStartsAt {
			d.StartsAt = utcMicros(u.StartsAt)
		}
		if u.SetEndsAt {
			d.EndsAt = utcMicros(u.EndsAt)
		}
		if u.UsageLimit != nil {
			d.UsageLimit = *u.UsageLimit
		}
		if u.PerCustomerLimit != nil {
			d.PerCustomerLimit = *u.PerCustomerLimit
		}
		if u.Active != nil {
			d.Active = *u.Active
		}
		checkDiscount(&v, *d)
		if err := v.Err(); err != nil {
			return err
		}
		d.UpdatedAt = now
		return nil
	})
}

// customerUses counts the caller's redemptions of d, or -1 for a guest
// (checked at checkout, by email).
func (s *Service) customerUses(ctx context.Context, d Discount, who Caller) (int, error) {
	if who.CustomerID == "" || d.PerCustomerLimit == 0 {
		return -1, nil
	}
	return s.store.DiscountUses(ctx, d.ID, who.CustomerID)
}

// ApplyDiscount puts a code on the cart, replacing any other. Everything but
// a guest's per-customer use is checked now (and again on every read and at
// checkout). It returns ENOTFOUND "cart-not-found" or "discount-not-found",
// EINVALID "discount-not-started", "discount-expired",
// "discount-not-applicable" (another currency) or "minimum-not-met", and
// ECONFLICT "discount-exhausted" or "discount-limit-reached".
func (s *Service) ApplyDiscount(ctx context.Context, id string, who Caller, code string) (Quote, error) {
	code = NormalizeCode(code)
	if !ValidCode(code) {
		var v shopd.Validation
		v.Addf("code", "must be 1 to 32 letters, digits, - or _")
		return Quote{}, v.Err()
	}
	c, err := s.cart(ctx, id, who)
	if err != nil {
		return Quote{}, err
	}
	d, err := s.store.DiscountByCode(ctx, code)
	if err != nil {
		return Quote{}, err
	}
	c.DiscountCode = ""
	q, err := s.quote(ctx, c, who)
	if err != nil {
		return Quote{}, err
	}
	uses, err := s.customerUses(ctx, d, who)
	if err != nil {
		return Quote{}, err
	}
	if err := d.Check(s.now(), q.Breakdown.Subtotal, uses); err != nil {
		return Quote{}, err
	}
	return s.change(ctx, id, who, func(c *Cart, now time.Time) error {
		c.DiscountCode = d.Code
		return nil
	})
}

// RemoveDiscount takes the code off the cart. It returns ENOTFOUND
// "cart-not-found", or "discount-not-found" if the cart does not hold the
// code.
func (s *Service) RemoveDiscount(ctx context.Context, id string, who Caller, code string) (Quote, error) {
	code = NormalizeCode(code)
	return s.change(ctx, id, who, func(c *Cart, now time.Time) error {
		if c.DiscountCode == "" || c.DiscountCode != code {
			return shopd.TypedErrorf(shopd.ENOTFOUND, "discount-not-found", "The cart does not hold this discount code.")
		}
		c.DiscountCode = ""
		return nil
	})
}
