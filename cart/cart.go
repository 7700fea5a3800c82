// Package cart holds shopping carts in one market, their pricing (subtotal,
// discounts, tax, shipping, total) and discount codes.
//
// A cart belongs to a market and, when a logged-in customer made it, to that
// customer. A guest cart has no owner: its unguessable ID is the capability
// that reaches it. Carts expire after CartTTL without a change.
//
// Every read prices the cart afresh from the catalog's current prices and the
// market's tax and shipping rates (see Quote). Discount codes are checked
// when applied and on every read; their usage is consumed only at checkout,
// in the checkout's transaction (sqlstore's Tx.RedeemDiscount), where the
// total and per-customer limits are enforced exactly.
package cart

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/market"
)

// ID prefixes.
const (
	CartPrefix     = "crt"
	LinePrefix     = "cln"
	DiscountPrefix = "dsc"
)

// Limits on carts.
const (
	// MaxLines is the most lines a cart holds.
	MaxLines = 100
	// MaxQuantity is the most units of one variant in a cart, below any
	// purchase limit of its product.
	MaxQuantity = 1000
	// CartTTL is how long a cart lives after its last change.
	CartTTL = 30 * 24 * time.Hour
	// PurgeBatch is how many expired carts PurgeExpired deletes at once.
	PurgeBatch = 500
)

// Cart is a shopper's basket in one market.
type Cart struct {
	ID     string // "crt_…"
	Market string
	// CustomerID is the owner of a customer's cart; "" for a guest cart.
	CustomerID string
	// Region is the state or province that taxes and ships the cart ("ON",
	// "NY"); "" when unknown (market-wide rates only).
	Region string
	Lines  []Line // in the order they were added
	// DiscountCode is the code applied to the cart ("" for none). A cart
	// holds one code at a time; applying another replaces it.
	DiscountCode string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ExpiresAt    time.Time
}

// Line is a variant and a quantity in a cart. A cart has one line per
// variant: adding the variant again raises the quantity.
type Line struct {
	ID        string // "cln_…"
	VariantID string
	Quantity  int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// line returns the index of the line with the ID, or -1.
func (c *Cart) line(id string) int {
	for i, l := range c.Lines {
		if l.ID == id {
			return i
		}
	}
	return -1
}

// Caller is who acts on a cart: a customer (by ID) or a guest ("").
type Caller struct {
	CustomerID string
}

// canSee reports whether the caller may read and change the cart: anyone
// holding a guest cart's ID, only its owner for a customer's cart.
func (c Cart) canSee(who Caller) bool {
	return c.CustomerID == "" || c.CustomerID == who.CustomerID
}

// Store is what Service needs from storage. Methods return ENOTFOUND
// "cart-not-found" or "discount-not-found" for a missing row.
type Store interface {
	// CreateCart stores a new cart (with no lines).
	CreateCart(ctx context.Context, c Cart) error
	// Cart returns a cart with its lines, expired or not.
	Cart(ctx context.Context, id string) (Cart, error)
	// UpdateCart reads the cart under a row lock, lets fn change it, and
	// stores the cart's fields and lines (added, changed and removed) if fn
	// returns nil.
	UpdateCart(ctx context.Context, id string, fn func(c *Cart) error) (Cart, error)
	// DeleteExpiredCarts deletes up to limit carts that expired before now
	// and returns how many it deleted.
	DeleteExpiredCarts(ctx context.Context, now time.Time, limit int) (int, error)

	// CreateDiscount stores a new discount code; ECONFLICT
	// "discount-code-taken" if the code exists.
	CreateDiscount(ctx context.Context, d Discount) error
	// Discount returns the discount with the ID.
	Discount(ctx context.Context, id string) (Discount, error)
	// DiscountByCode returns the discount with the (normalized) code.
	DiscountByCode(ctx context.Context, code string) (Discount, error)
	// Discounts lists discounts newest first.
	Discounts(ctx context.Context, f DiscountFilter) (DiscountPage, error)
	// UpdateDiscount reads the discount under a row lock, lets fn change it
	// and stores it if fn returns nil. It never changes TimesUsed.
	UpdateDiscount(ctx context.Context, id string, fn func(d *Discount) error) (Discount, error)
	// DiscountUses counts the redemptions of a discount by one customer key.
	DiscountUses(ctx context.Context, discountID, customer string) (int, error)
}

// Catalog is what the cart needs from the catalog: variants with their
// product and price in a market (catalog.Service implements it).
type Catalog interface {
	VariantsInMarket(ctx context.Context, market string, ids []string) ([]catalog.MarketVariant, error)
}

// Markets is what the cart needs from markets (market.Service implements
// it).
type Markets interface {
	Market(ctx context.Context, code string) (market.Market, error)
	TaxRates(ctx context.Context, code string) ([]market.TaxRate, error)
	ShippingOptions(ctx context.Context, code, region string) ([]market.ShippingRate, error)
}

// Errors.
var (
	// ErrCartNotFound is returned for an unknown or expired cart, and for a
	// customer's cart asked for by anyone else.
	ErrCartNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "cart-not-found", "No such cart.")
	// ErrLineNotFound is returned for a line the cart does not have.
	ErrLineNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "cart-line-not-found", "The cart has no such line.")
	// ErrTooManyLines is returned when a cart would hold more than MaxLines.
	ErrTooManyLines = shopd.TypedErrorf(shopd.EINVALID, "too-many-lines", "A cart holds at most %d lines.", MaxLines)
)

// errNotPurchasable says why a variant cannot be added to a cart.
func errNotPurchasable(variantID, why string) error {
	return &shopd.Error{Code: shopd.EINVALID, Type: "not-purchasable", Message: "This variant cannot be bought: " + why + ".",
		Fields: []shopd.FieldError{{Field: "variant_id", Message: why}}}
}

func errPurchaseLimit(limit int) error {
	return &shopd.Error{Code: shopd.EINVALID, Type: "purchase-limit-exceeded",
		Message: "This product is limited per customer; the cart may hold at most " + strconv.Itoa(limit) + " units of it.",
		Fields:  []shopd.FieldError{{Field: "quantity", Message: "must be at most " + strconv.Itoa(limit) + " in all"}}}
}

// Service manages carts and discount codes. Catalog and Markets must be set
// before carts are used.
type Service struct {
	store Store
	clock shopd.Clock
	// Catalog prices the variants in carts.
	Catalog Catalog
	// Markets gives each cart's market, tax rates and shipping options.
	Markets Markets
}

// NewService returns a Service on store. Set Catalog and Markets before use.
func NewService(store Store, clock shopd.Clock) *Service { return &Service{store: store, clock: clock} }

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// NewCart is the input that creates a cart.
type NewCart struct {
	Market string
	Region string
	// Lines are put in the cart as it is made (a "buy now" button needs
	// no second request); a variant named twice gets one line.
	Lines []NewLine
}

// NewLine is a line of a new cart.
type NewLine struct {
	VariantID string
	Quantity  int
}

var regionRE = regexp.MustCompile(`^[A-Z0-9]{1,10}$`)

// normalizeRegion upper-cases a region and checks it ("" is allowed).
func normalizeRegion(v *shopd.Validation, region string) string {
	region = strings.ToUpper(strings.TrimSpace(region))
	v.Check(region == "" || regionRE.MatchString(region), "region", "must be a state or province code of 1 to 10 letters or digits, such as \"ON\"")
	return region
}

// errUnknownMarket is returned for a market that does not exist or is not
// enabled.
func errUnknownMarket(code string) error {
	return &shopd.Error{Code: shopd.EINVALID, Type: "unknown-market", Message: fmt.Sprintf("Unknown market %q.", code),
		Fields: []shopd.FieldError{{Field: "market", Message: "must be an enabled market"}}}
}

// Create makes a cart in an enabled market, with the lines of in, owned by
// the caller if the caller is a customer. It returns EINVALID
// "unknown-market" for an unknown or disabled market, "validation" for a
// bad region or line, and for a line the errors of AddLine
// ("not-purchasable", "purchase-limit-exceeded", "too-many-lines").
func (s *Service) Create(ctx context.Context, who Caller, in NewCart) (Quote, error) {
	var v shopd.Validation
	region := normalizeRegion(&v, in.Region)
	code := strings.TrimSpace(in.Market)
	v.Check(len(code) >= 2 && len(code) <= 8, "market", "must be a market code such as \"us\"")
	if len(in.Lines) > MaxLines {
		return Quote{}, ErrTooManyLines
	}
	for i, l := range in.Lines {
		field := fmt.Sprintf("lines[%d].", i)
		v.Check(l.VariantID != "" && len(l.VariantID) <= 100, field+"variant_id", "is required")
		v.Check(l.Quantity >= 1 && l.Quantity <= MaxQuantity, field+"quantity", "must be from 1 to 1000")
	}
	if err := v.Err(); err != nil {
		return Quote{}, err
	}
	m, err := s.Markets.Market(ctx, code)
	if shopd.ErrorCode(err) == shopd.ENOTFOUND || (err == nil && !m.Enabled) {
		return Quote{}, errUnknownMarket(code)
	} else if err != nil {
		return Quote{}, err
	}
	now := s.now()
	c := Cart{ID: shopd.NewID(CartPrefix), Market: m.Code, CustomerID: who.CustomerID, Region: region,
		Lines: []Line{}, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(CartTTL)}
	for _, l := range in.Lines {
		mv, err := s.purchasable(ctx, c, l.VariantID)
		if err != nil {
			return Quote{}, err
		}
		if err := c.add(mv, l.Quantity, now); err != nil {
			return Quote{}, err
		}
	}
	if err := s.store.CreateCart(ctx, c); err != nil {
		return Quote{}, err
	}
	return s.quote(ctx, c, who)
}

// cart reads a cart the caller may see. It returns ErrCartNotFound for a
// malformed ID, an unknown or expired cart, or someone else's cart.
func (s *Service) cart(ctx context.Context, id string, who Caller) (Cart, error) {
	if !shopd.HasIDPrefix(id, CartPrefix) {
		return Cart{}, ErrCartNotFound
	}
	c, err := s.store.Cart(ctx, id)
	if err != nil {
		return Cart{}, err
	}
	if !c.canSee(who) || !s.now().Before(c.ExpiresAt) {
		return Cart{}, ErrCartNotFound
	}
	return c, nil
}

// change runs fn on the cart under its row lock, after the same checks as
// cart, then marks it changed (which extends its life) and prices it.
func (s *Service) change(ctx context.Context, id string, who Caller, fn func(c *Cart, now time.Time) error) (Quote, error) {
	if !shopd.HasIDPrefix(id, CartPrefix) {
		return Quote{}, ErrCartNotFound
	}
	now := s.now()
	c, err := s.store.UpdateCart(ctx, id, func(c *Cart) error {
		if !c.canSee(who) || !now.Before(c.ExpiresAt) {
			return ErrCartNotFound
		}
		if err := fn(c, now); err != nil {
			return err
		}
		c.UpdatedAt, c.ExpiresAt = now, now.Add(CartTTL)
		return nil
	})
	if err != nil {
		return Quote{}, err
	}
	return s.quote(ctx, c, who)
}

// SetRegion sets the state or province that taxes and ships the cart ("" to
// clear it); checkout calls it with the shipping address before Quote. It
// returns ENOTFOUND "cart-not-found" or EINVALID for a bad region.
func (s *Service) SetRegion(ctx context.Context, id string, who Caller, region string) (Quote, error) {
	var v shopd.Validation
	region = normalizeRegion(&v, region)
	if err := v.Err(); err != nil {
		return Quote{}, err
	}
	// A cart made for the region (the storefront asked for it up front)
	// is only read: checkout needs no write of its own here.
	if c, err := s.cart(ctx, id, who); err != nil || c.Region == region {
		if err != nil {
			return Quote{}, err
		}
		return s.quote(ctx, c, who)
	}
	return s.change(ctx, id, who, func(c *Cart, now time.Time) error {
		c.Region = region
		return nil
	})
}

// checkQuantity validates a quantity from outside.
func checkQuantity(q int) error {
	var v shopd.Validation
	v.Check(q >= 1 && q <= MaxQuantity, "quantity", "must be from 1 to 1000")
	return v.Err()
}

// purchasable returns the variant in the cart's market if it can be bought
// now, or EINVALID "not-purchasable" saying why not.
func (s *Service) purchasable(ctx context.Context, c Cart, variantID string) (catalog.MarketVariant, error) {
	m, err := s.Markets.Market(ctx, c.Market)
	if err != nil {
		return catalog.MarketVariant{}, err
	}
	vs, err := s.Catalog.VariantsInMarket(ctx, c.Market, []string{variantID})
	if err != nil {
		return catalog.MarketVariant{}, err
	}
	if len(vs) == 0 {
		return catalog.MarketVariant{}, errNotPurchasable(variantID, "no such variant")
	}
	mv := vs[0]
	if reason := unavailable(mv, m, s.now()); reason != "" {
		return catalog.MarketVariant{}, errNotPurchasable(variantID, reasonText[reason])
	}
	return mv, nil
}

// checkLimit reports an error if q units exceed the product's limits.
func checkLimit(p catalog.Product, q int) error {
	if p.PurchaseLimit > 0 && q > p.PurchaseLimit {
		return errPurchaseLimit(p.PurchaseLimit)
	}
	if q > MaxQuantity {
		var v shopd.Validation
		v.Addf("quantity", "a cart holds at most %d units of one variant", MaxQuantity)
		return v.Err()
	}
	return nil
}

// AddLine adds quantity units of a variant to the cart; a variant already in
// the cart gets its quantity raised. It returns ENOTFOUND "cart-not-found",
// EINVALID "not-purchasable" (unknown variant, not sold in the cart's
// market, not active or not launched yet), "purchase-limit-exceeded",
// "too-many-lines" or "validation".
func (s *Service) AddLine(ctx context.Context, id string, who Caller, variantID string, quantity int) (Quote, error) {
	if err := checkQuantity(quantity); err != nil {
		return Quote{}, err
	}
	c, err := s.cart(ctx, id, who)
	if err != nil {
		return Quote{}, err
	}
	mv, err := s.purchasable(ctx, c, variantID)
	if err != nil {
		return Quote{}, err
	}
	return s.change(ctx, id, who, func(c *Cart, now time.Time) error { return c.add(mv, quantity, now) })
}

// add puts quantity units of a purchasable variant in the cart: a new
// line, or more units on the variant's line.
func (c *Cart) add(mv catalog.MarketVariant, quantity int, now time.Time) error {
	for i := range c.Lines {
		if l := &c.Lines[i]; l.VariantID == mv.Variant.ID {
			if err := checkLimit(mv.Product, l.Quantity+quantity); err != nil {
				return err
			}
			l.Quantity += quantity
			l.UpdatedAt = now
			return nil
		}
	}
	if len(c.Lines) >= MaxLines {
		return ErrTooManyLines
	}
	if err := checkLimit(mv.Product, quantity); err != nil {
		return err
	}
	c.Lines = append(c.Lines, Line{ID: shopd.NewID(LinePrefix), VariantID: mv.Variant.ID, Quantity: quantity, CreatedAt: now, UpdatedAt: now})
	return nil
}

// UpdateLine sets a line's quantity. It returns ENOTFOUND "cart-not-found"
// or "cart-line-not-found", EINVALID "purchase-limit-exceeded" or
// "validation".
func (s *Service) UpdateLine(ctx context.Context, id string, who Caller, lineID string, quantity int) (Quote, error) {
	if err := checkQuantity(quantity); err != nil {
		return Quote{}, err
	}
	c, err := s.cart(ctx, id, who)
	if err != nil {
		return Quote{}, err
	}
	i := c.line(lineID)
	if i < 0 {
		return Quote{}, ErrLineNotFound
	}
	// The limit is checked against the product as it is now; a variant that
	// became unavailable may still have its quantity lowered.
	vs, err := s.Catalog.VariantsInMarket(ctx, c.Market, []string{c.Lines[i].VariantID})
	if err != nil {
		return Quote{}, err
	}
	return s.change(ctx, id, who, func(c *Cart, now time.Time) error {
		i := c.line(lineID)
		if i < 0 {
			return ErrLineNotFound
		}
		l := &c.Lines[i]
		if len(vs) == 1 && quantity > l.Quantity {
			if err := checkLimit(vs[0].Product, quantity); err != nil {
				return err
			}
		}
		if l.Quantity != quantity {
			l.Quantity, l.UpdatedAt = quantity, now
		}
		return nil
	})
}

// RemoveLine removes a line. It returns ENOTFOUND "cart-not-found" or
// "cart-line-not-found".
func (s *Service) RemoveLine(ctx context.Context, id string, who Caller, lineID string) (Quote, error) {
	return s.change(ctx, id, who, func(c *Cart, now time.Time) error {
		i := c.line(lineID)
		if i < 0 {
			return ErrLineNotFound
		}
		c.Lines = append(c.Lines[:i], c.Lines[i+1:]...)
		return nil
	})
}

// Quote returns the cart priced now: every line with its current catalog
// price in the cart's market (or why it cannot be bought), the discount
// code's effect, line-level tax, the cheapest shipping option and the
// totals. It is what the storefront shows and what checkout buys; see the
// Quote type. It returns ENOTFOUND "cart-not-found" for an unknown, expired
// or someone else's cart.
func (s *Service) Quote(ctx context.Context, id string, who Caller) (Quote, error) {
	c, err := s.cart(ctx, id, who)
	if err != nil {
		return Quote{}, err
	}
	return s.quote(ctx, c, who)
}

// PurgeExpired deletes one batch (up to PurgeBatch) of carts that expired,
// and returns how many it deleted; a worker calls it until it returns less
// than a full batch.
func (s *Service) PurgeExpired(ctx context.Context) (int, error) {
	return s.store.DeleteExpiredCarts(ctx, s.now(), PurgeBatch)
}
