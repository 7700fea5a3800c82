package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/cart"
	"github.com/shopd/shopd/catalog"
	"github.com/shopd/shopd/market"
)

// cartJSON is a cart priced now, as shoppers see it.
type cartJSON struct {
	ID           string            `json:"id"`
	Market       string            `json:"market"`
	CustomerID   string            `json:"customer_id,omitempty"`
	Region       string            `json:"region"`
	Currency     string            `json:"currency"`
	TaxIncluded  bool              `json:"tax_included"`
	Lines        []cartLineJSON    `json:"lines"`
	ItemCount    int               `json:"item_count"`
	DiscountCode *cartDiscountJSON `json:"discount_code,omitempty"`
	Subtotal     moneyJSON         `json:"subtotal"`
	Discount     moneyJSON         `json:"discount"`
	Shipping     moneyJSON         `json:"shipping"`
	ShippingFree bool              `json:"shipping_free"`
	ShippingRate *cartShippingJSON `json:"shipping_rate,omitempty"`
	ShippingTax  moneyJSON         `json:"shipping_tax"`
	Tax          moneyJSON         `json:"tax"`
	Taxes        []cartTaxJSON     `json:"taxes"`
	Total        moneyJSON         `json:"total"`
	Checkout     cartCheckoutJSON  `json:"checkout"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
	ExpiresAt    time.Time         `json:"expires_at"`
}

type cartLineJSON struct {
	ID                string        `json:"id"`
	VariantID         string        `json:"variant_id"`
	ProductID         string        `json:"product_id,omitempty"`
	SKU               string        `json:"sku,omitempty"`
	Title             string        `json:"title,omitempty"`
	VariantTitle      string        `json:"variant_title,omitempty"`
	Quantity          int           `json:"quantity"`
	PurchaseLimit     int           `json:"purchase_limit"`
	UnitPrice         *moneyJSON    `json:"unit_price,omitempty"`
	CompareAtPrice    *moneyJSON    `json:"compare_at_price,omitempty"`
	Available         bool          `json:"available"`
	UnavailableReason string        `json:"unavailable_reason,omitempty"`
	Subtotal          moneyJSON     `json:"subtotal"`
	Discount          moneyJSON     `json:"discount"`
	Tax               moneyJSON     `json:"tax"`
	Total             moneyJSON     `json:"total"`
	Taxes             []cartTaxJSON `json:"taxes"`
}

type cartTaxJSON struct {
	Name        string    `json:"name"`
	RatePercent string    `json:"rate_percent"`
	Amount      moneyJSON `json:"amount"`
}

type cartDiscountJSON struct {
	Code    string     `json:"code"`
	Kind    cart.Kind  `json:"kind,omitempty"`
	Percent string     `json:"percent,omitempty"`
	Value   *moneyJSON `json:"value,omitempty"`
	Applied bool       `json:"applied"`
	// Problem is the problem type slug that says why the code does not
	// apply now (e.g. "minimum-not-met").
	Problem string    `json:"problem,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Amount  moneyJSON `json:"amount"`
}

type cartShippingJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	MinDays int    `json:"min_delivery_days"`
	MaxDays int    `json:"max_delivery_days"`
}

// cartCheckoutJSON says whether the cart can be bought as it is.
type cartCheckoutJSON struct {
	Ready   bool   `json:"ready"`
	Problem string `json:"problem,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

func taxesOut(ts []market.TaxLine, loc string) []cartTaxJSON {
	out := make([]cartTaxJSON, 0, len(ts))
	for _, t := range ts {
		out = append(out, cartTaxJSON{Name: t.Name, RatePercent: t.Rate.Percent(), Amount: moneyOut(t.Amount, loc)})
	}
	return out
}

// problemSlug returns the stable type of a domain error.
func problemSlug(err error) (slug, detail string) {
	var e *shopd.Error
	if !errors.As(err, &e) {
		return "internal", ""
	}
	p := problemFor(e)
	return p.Type[len(ProblemTypeBase):], e.Message
}

func cartOut(q cart.Quote) cartJSON {
	loc, b, c := q.Market.DefaultLocale, q.Breakdown, q.Cart
	out := cartJSON{
		ID: c.ID, Market: c.Market, CustomerID: c.CustomerID, Region: c.Region, Currency: b.Currency, TaxIncluded: b.TaxIncluded,
		Lines: make([]cartLineJSON, 0, len(q.Lines)), ItemCount: q.ItemCount(),
		Subtotal: moneyOut(b.Subtotal, loc), Discount: moneyOut(b.Discount, loc), Shipping: moneyOut(b.Shipping, loc),
		ShippingFree: b.ShippingFree, ShippingTax: moneyOut(b.ShippingTax, loc), Tax: moneyOut(b.Tax, loc),
		Taxes: taxesOut(b.Taxes, loc), Total: moneyOut(b.Total, loc), Checkout: cartCheckoutJSON{Ready: true},
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, ExpiresAt: c.ExpiresAt,
	}
	for _, l := range q.Lines {
		lj := cartLineJSON{
			ID: l.ID, VariantID: l.VariantID, ProductID: l.ProductID, SKU: l.SKU, Title: l.ProductTitle, VariantTitle: l.VariantTitle,
			Quantity: l.Quantity, PurchaseLimit: l.PurchaseLimit, Available: l.Available, UnavailableReason: l.Reason,
			Subtotal: moneyOut(l.Price.Subtotal, loc), Discount: moneyOut(l.Price.Discount, loc), Tax: moneyOut(l.Price.Tax, loc),
			Total: moneyOut(l.Price.Total, loc), Taxes: taxesOut(l.Price.Taxes, loc),
		}
		if l.ProductID != "" && l.Reason != cart.ReasonNotSold {
			up := moneyOut(l.UnitPrice, loc)
			lj.UnitPrice = &up
			if l.CompareAt != nil {
				cmp := moneyOut(*l.CompareAt, loc)
				lj.CompareAtPrice = &cmp
			}
		}
		out.Lines = append(out.Lines, lj)
	}
	if d := q.Discount; d != nil {
		dj := &cartDiscountJSON{Code: d.Code, Applied: d.Applied, Amount: moneyOut(d.Amount, loc)}
		if def := d.Discount; def != nil {
			dj.Kind = def.Kind
			if def.Kind == cart.KindPercent {
				dj.Percent = def.Rate.Percent()
			} else {
				v := moneyOut(def.Amount, loc)
				dj.Value = &v
			}
		}
		if !d.Applied {
			dj.Problem, dj.Detail = problemSlug(d.Problem)
		}
		out.DiscountCode = dj
	}
	if r := q.Shipping; r != nil {
		out.ShippingRate = &cartShippingJSON{ID: r.ID, Name: r.Name, MinDays: r.MinDays, MaxDays: r.MaxDays}
	}
	if err := q.CheckoutError(); err != nil {
		out.Checkout = cartCheckoutJSON{}
		out.Checkout.Problem, out.Checkout.Detail = problemSlug(err)
	}
	return out
}

// cartCaller is who acts on a cart: the logged-in customer, or a guest.
func cartCaller(r *http.Request) cart.Caller {
	return cart.Caller{CustomerID: callerFrom(r).session.CustomerID}
}

// respondCart writes a priced cart. Carts are private: never cached.
func respondCart(w http.ResponseWriter, status int, q cart.Quote) error {
	w.Header().Set("Cache-Control", "no-store")
	return respond(w, status, cartOut(q))
}

// createCartRequest is the body of POST /v1/carts.
type createCartRequest struct {
	Market string               `json:"market"`
	Region string               `json:"region"`
	Lines  []addCartLineRequest `json:"lines"`
}

// createCart makes a cart, empty or with lines, owned by the customer if
// one is logged in.
func (s *Server) createCart(w http.ResponseWriter, r *http.Request) error {
	var req createCartRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Market == "" {
		req.Market = s.DefaultMarket
	}
	in := cart.NewCart{Market: req.Market, Region: req.Region, Lines: make([]cart.NewLine, len(req.Lines))}
	for i, l := range req.Lines {
		in.Lines[i] = cart.NewLine{VariantID: l.VariantID, Quantity: 1}
		if l.Quantity != nil {
			in.Lines[i].Quantity = *l.Quantity
		}
	}
	q, err := s.Carts.Create(r.Context(), cartCaller(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/carts/"+q.Cart.ID)
	return respondCart(w, http.StatusCreated, q)
}

// getCart returns a cart priced now.
func (s *Server) getCart(w http.ResponseWriter, r *http.Request) error {
	q, err := s.Carts.Quote(r.Context(), r.PathValue("cart"), cartCaller(r))
	if err != nil {
		return err
	}
	return respondCart(w, http.StatusOK, q)
}

// addCartLineRequest is the body of POST /v1/carts/{cart}/lines.
type addCartLineRequest struct {
	VariantID string `json:"variant_id"`
	Quantity  *int   `json:"quantity"`
}

// addCartLine adds units of a variant (raising the quantity of its line if
// the cart has one).
func (s *Server) addCartLine(w http.ResponseWriter, r *http.Request) error {
	var req addCartLineRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var v shopd.Validation
	v.Check(req.VariantID != "" && len(req.VariantID) <= 100, "variant_id", "is required")
	qty := 1
	if req.Quantity != nil {
		qty = *req.Quantity
	}
	if err := v.Err(); err != nil {
		return err
	}
	q, err := s.Carts.AddLine(r.Context(), r.PathValue("cart"), cartCaller(r), req.VariantID, qty)
	if err != nil {
		return err
	}
	return respondCart(w, http.StatusOK, q)
}

// updateCartLineRequest is the body of PATCH /v1/carts/{cart}/lines/{line}.
type updateCartLineRequest struct {
	Quantity *int `json:"quantity"`
}

// updateCartLine sets a line's quantity.
func (s *Server) updateCartLine(w http.ResponseWriter, r *http.Request) error {
	var req updateCartLineRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var v shopd.Validation
	v.Check(req.Quantity != nil, "quantity", "is required")
	if err := v.Err(); err != nil {
		return err
	}
	q, err := s.Carts.UpdateLine(r.Context(), r.PathValue("cart"), cartCaller(r), r.PathValue("line"), *req.Quantity)
	if err != nil {
		return err
	}
	return respondCart(w, http.StatusOK, q)
}

// removeCartLine removes a line.
func (s *Server) removeCartLine(w http.ResponseWriter, r *http.Request) error {
	q, err := s.Carts.RemoveLine(r.Context(), r.PathValue("cart"), cartCaller(r), r.PathValue("line"))
	if err != nil {
		return err
	}
	return respondCart(w, http.StatusOK, q)
}

// applyDiscountRequest is the body of POST /v1/carts/{cart}/discounts.
type applyDiscountRequest struct {
	Code string `json:"code"`
}

// applyDiscount puts a discount code on the cart, replacing any other.
func (s *Server) applyDiscount(w http.ResponseWriter, r *http.Request) error {
	var req applyDiscountRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	q, err := s.Carts.ApplyDiscount(r.Context(), r.PathValue("cart"), cartCaller(r), req.Code)
	if err != nil {
		return err
	}
	return respondCart(w, http.StatusOK, q)
}

// removeDiscount takes a code off the cart.
func (s *Server) removeDiscount(w http.ResponseWriter, r *http.Request) error {
	q, err := s.Carts.RemoveDiscount(r.Context(), r.PathValue("cart"), cartCaller(r), r.PathValue("code"))
	if err != nil {
		return err
	}
	return respondCart(w, http.StatusOK, q)
}

// discountJSON is a discount code as staff see it.
type discountJSON struct {
	ID               string       `json:"id"`
	Code             string       `json:"code"`
	Kind             cart.Kind    `json:"kind"`
	Percent          string       `json:"percent,omitempty"`
	Amount           *shopd.Money `json:"amount,omitempty"`
	MinimumSubtotal  *shopd.Money `json:"minimum_subtotal,omitempty"`
	Currency         string       `json:"currency,omitempty"`
	StartsAt         time.Time    `json:"starts_at,omitzero"`
	EndsAt           time.Time    `json:"ends_at,omitzero"`
	UsageLimit       int          `json:"usage_limit"`
	PerCustomerLimit int          `json:"per_customer_limit"`
	Active           bool         `json:"active"`
	TimesUsed        int          `json:"times_used"`
	CreatedAt        time.Time    `json:"created_at"`
	UpdatedAt        time.Time    `json:"updated_at"`
}

func discountOut(d cart.Discount) discountJSON {
	out := discountJSON{ID: d.ID, Code: d.Code, Kind: d.Kind, Currency: d.Currency(), StartsAt: d.StartsAt, EndsAt: d.EndsAt,
		UsageLimit: d.UsageLimit, PerCustomerLimit: d.PerCustomerLimit, Active: d.Active, TimesUsed: d.TimesUsed,
		CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if d.Kind == cart.KindPercent {
		out.Percent = d.Rate.Percent()
	} else {
		a := d.Amount
		out.Amount = &a
	}
	if d.MinSubtotal != (shopd.Money{}) {
		m := d.MinSubtotal
		out.MinimumSubtotal = &m
	}
	return out
}

// discountMoneyIn is an amount in a discount request.
type discountMoneyIn struct {
	Amount   *int64 `json:"amount"`
	Currency string `json:"currency"`
}

func (in *discountMoneyIn) money(v *shopd.Validation, field string) *shopd.Money {
	if in == nil {
		return nil
	}
	ok := v.Check(in.Amount != nil, field+".amount", "is required")
	if v.Check(shopd.ValidCurrency(in.Currency), field+".currency", "must be an ISO 4217 currency code such as \"USD\"") && ok {
		v.Check(*in.Amount >= 0 && *in.Amount <= cart.MaxAmount, field+".amount", "must be from 0 to 1000000000000 minor units")
		return &shopd.Money{Amount: *in.Amount, Currency: in.Currency}
	}
	return nil
}

// parsePercent reads a "percent" field such as "15" or "12.5".
func parsePercent(v *shopd.Validation, s *string) shopd.Rate {
	if s == nil {
		return 0
	}
	rate, err := shopd.ParseRate(*s)
	if err != nil || rate == 0 {
		v.Addf("percent", "must be a percentage above 0 and at most 100 with at most 4 decimals, such as \"15\"")
		return 0
	}
	return rate
}

// createDiscountRequest is the body of POST /v1/admin/discounts.
type createDiscountRequest struct {
	Code             string           `json:"code"`
	Kind             cart.Kind        `json:"kind"`
	Percent          *string          `json:"percent"`
	Amount           *discountMoneyIn `json:"amount"`
	MinimumSubtotal  *discountMoneyIn `json:"minimum_subtotal"`
	StartsAt         *time.Time       `json:"starts_at"`
	EndsAt           *time.Time       `json:"ends_at"`
	UsageLimit       int              `json:"usage_limit"`
	PerCustomerLimit int              `json:"per_customer_limit"`
	Active           *bool            `json:"active"`
}

// createDiscount makes a discount code.
func (s *Server) createDiscount(w http.ResponseWriter, r *http.Request) error {
	var req createDiscountRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var v shopd.Validation
	in := cart.NewDiscount{Code: req.Code, Kind: req.Kind, Rate: parsePercent(&v, req.Percent), Amount: req.Amount.money(&v, "amount"),
		MinSubtotal: req.MinimumSubtotal.money(&v, "minimum_subtotal"), StartsAt: req.StartsAt, EndsAt: req.EndsAt,
		UsageLimit: req.UsageLimit, PerCustomerLimit: req.PerCustomerLimit, Active: req.Active}
	v.Check(req.Kind != cart.KindPercent || req.Percent != nil, "percent", "is required for a percent discount")
	if err := v.Err(); err != nil {
		return err
	}
	d, err := s.Carts.CreateDiscount(r.Context(), in)
	if err != nil {
		return err
	}
	return created(w, "/v1/admin/discounts/"+d.ID, discountOut(d))
}

// listDiscounts lists discount codes, newest first.
func (s *Server) listDiscounts(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", catalog.DefaultPageSize, 1, cart.MaxDiscountsPage)
	if err != nil {
		return err
	}
	page, err := s.Carts.Discounts(r.Context(), cart.DiscountFilter{Cursor: r.URL.Query().Get("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	out := List[discountJSON]{Data: make([]discountJSON, 0, len(page.Discounts)), NextCursor: page.NextCursor}
	for _, d := range page.Discounts {
		out.Data = append(out.Data, discountOut(d))
	}
	return respond(w, http.StatusOK, out)
}

// getDiscount returns one discount code, by ID or code.
func (s *Server) getDiscount(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Carts.Discount(r.Context(), r.PathValue("discount"))
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, discountOut(d))
}

// optional is a PATCH field that tells absent (Set false), null (Null)
// and a value apart.
type optional[T any] struct {
	Set, Null bool
	Value     T
}

// UnmarshalJSON implements json.Unmarshaler; encoding/json calls it for
// null too, so null is seen.
func (o *optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Null = true
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(&o.Value)
}

// updateDiscountRequest is the body of PATCH /v1/admin/discounts/{discount};
// null clears minimum_subtotal, starts_at or ends_at.
type updateDiscountRequest struct {
	Percent          *string                   `json:"percent"`
	Amount           *discountMoneyIn          `json:"amount"`
	MinimumSubtotal  optional[discountMoneyIn] `json:"minimum_subtotal"`
	StartsAt         optional[time.Time]       `json:"starts_at"`
	EndsAt           optional[time.Time]       `json:"ends_at"`
	UsageLimit       *int                      `json:"usage_limit"`
	PerCustomerLimit *int                      `json:"per_customer_limit"`
	Active           *bool                     `json:"active"`
}

// updateDiscount changes a discount code; the code and kind never change.
func (s *Server) updateDiscount(w http.ResponseWriter, r *http.Request) error {
	var req updateDiscountRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var v shopd.Validation
	u := cart.DiscountUpdate{Amount: req.Amount.money(&v, "amount"), UsageLimit: req.UsageLimit,
		PerCustomerLimit: req.PerCustomerLimit, Active: req.Active}
	if req.Percent != nil {
		rate := parsePercent(&v, req.Percent)
		u.Rate = &rate
	}
	if m := req.MinimumSubtotal; m.Set {
		u.SetMinSubtotal = true
		if !m.Null {
			u.MinSubtotal = m.Value.money(&v, "minimum_subtotal")
		}
	}
	if t := req.StartsAt; t.Set {
		u.SetStartsAt = true
		if !t.Null {
			u.StartsAt = &t.Value
		}
	}
	if t := req.EndsAt; t.Set {
		u.SetEndsAt = true
		if !t.Null {
			u.EndsAt = &t.Value
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	d, err := s.Carts.UpdateDiscount(r.Context(), r.PathValue("discount"), u)
	if err != nil {
		return err
	}
	return respond(w, http.StatusOK, discountOut(d))
}
