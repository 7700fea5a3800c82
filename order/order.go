// Package order holds orders: what a shopper bought, at which prices and
// taxes, in which market, and where the order is in its life — paid,
// fulfilled per warehouse, shipped, delivered, canceled, refunded. Every
// change of status goes through one transition table, so an order can never
// jump from pending_payment to shipped.
package order

import (
	"strings"
	"time"

	"github.com/shopd/shopd"
)

// Status is where an order is in its life.
type Status string

// Order statuses. An order starts pending_payment; canceled and delivered
// are final for fulfillment (refunds remain possible after delivery).
const (
	StatusPendingPayment Status = "pending_payment"
	StatusPaid           Status = "paid"
	StatusFulfilling     Status = "fulfilling"
	StatusShipped        Status = "shipped"
	StatusDelivered      Status = "delivered"
	StatusCanceled       Status = "canceled"
)

// RefundStatus says how much of an order's payment went back. It is kept
// apart from Status because a partially refunded order can still ship.
type RefundStatus string

// Refund statuses.
const (
	RefundNone    RefundStatus = "none"
	RefundPartial RefundStatus = "partially_refunded"
	RefundFull    RefundStatus = "refunded"
)

// transitions lists every legal change of Status.
var transitions = map[Status][]Status{
	StatusPendingPayment: {StatusPaid, StatusCanceled},
	StatusPaid:           {StatusFulfilling, StatusCanceled},
	StatusFulfilling:     {StatusShipped, StatusCanceled},
	StatusShipped:        {StatusDelivered},
	StatusDelivered:      {},
	StatusCanceled:       {},
}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { _, ok := transitions[s]; return ok }

// CanBecome reports whether an order in status s may move to next.
func (s Status) CanBecome(next Status) bool {
	for _, t := range transitions[s] {
		if t == next {
			return true
		}
	}
	return false
}

// Transition returns nil if an order may go from s to next, or ECONFLICT
// `invalid-transition` naming both.
func (s Status) Transition(next Status) error {
	if !s.CanBecome(next) {
		return shopd.TypedErrorf(shopd.ECONFLICT, "invalid-transition", "An order that is %s cannot become %s.", s, next)
	}
	return nil
}

// RefundStatusFor returns the refund status of an order that took paid and
// gave back refunded (both in one currency).
func RefundStatusFor(paid, refunded int64) RefundStatus {
	switch {
	case refunded <= 0:
		return RefundNone
	case refunded >= paid:
		return RefundFull
	default:
		return RefundPartial
	}
}

// Line is one product line of an order, priced when the order was placed.
type Line struct {
	ID        string            `json:"id"` // "oln_…"
	VariantID string            `json:"variant_id"`
	ProductID string            `json:"product_id"`
	SKU       string            `json:"sku"`
	Title     string            `json:"title"` // product and variant title at the time of the order
	Quantity  int64             `json:"quantity"`
	UnitPrice shopd.Money       `json:"unit_price"`
	Subtotal  shopd.Money       `json:"subtotal"`
	Discount  shopd.Money       `json:"discount"`
	Tax       shopd.Money       `json:"tax"`
	Total     shopd.Money       `json:"total"`
	Options   map[string]string `json:"options,omitempty"`
}

// Address is where an order ships.
type Address struct {
	Name       string `json:"name"`
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	City       string `json:"city"`
	Region     string `json:"region"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country"`
	Phone      string `json:"phone,omitempty"`
}

// CheckAddress checks a shipping address from outside (field errors under
// ship_to.*) and normalises it: every field trimmed, country and region
// upper-cased.
func CheckAddress(v *shopd.Validation, a *Address) {
	for _, f := range []struct {
		name string
		s    *string
		max  int
		req  bool
	}{
		{"ship_to.name", &a.Name, 200, true}, {"ship_to.line1", &a.Line1, 200, true}, {"ship_to.line2", &a.Line2, 200, false},
		{"ship_to.city", &a.City, 100, true}, {"ship_to.region", &a.Region, 8, false}, {"ship_to.postal_code", &a.PostalCode, 20, false},
		{"ship_to.country", &a.Country, 2, true}, {"ship_to.phone", &a.Phone, 32, false},
	} {
		*f.s = strings.TrimSpace(*f.s)
		v.Text(f.name, *f.s, f.max, f.req)
	}
	a.Country, a.Region = strings.ToUpper(a.Country), strings.ToUpper(a.Region)
}

// Order is a placed order.
type Order struct {
	ID           string       `json:"id"` // "ord_…"
	CustomerID   string       `json:"customer_id,omitempty"`
	Email        string       `json:"email"`
	Market       string       `json:"market"`
	Status       Status       `json:"status"`
	RefundStatus RefundStatus `json:"refund_status"`
	TaxIncluded  bool         `json:"tax_included"`
	Lines        []Line       `json:"lines"`
	Subtotal     shopd.Money  `json:"subtotal"`
	Discount     shopd.Money  `json:"discount"`
	DiscountCode string       `json:"discount_code,omitempty"`
	Shipping     shopd.Money  `json:"shipping"`
	Tax          shopd.Money  `json:"tax"`
	Total        shopd.Money  `json:"total"`
	Refunded     shopd.Money  `json:"refunded"`
	ShipTo       Address      `json:"ship_to"`
	PaymentID    string       `json:"payment_id,omitempty"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
	PaidAt       time.Time    `json:"paid_at,omitzero"`
	CanceledAt   time.Time    `json:"canceled_at,omitzero"`
}

// Check verifies that an order adds up: every line's subtotal is unit price ×
// quantity and its total is subtotal − discount (+ tax when tax is added);
// the order's sums equal its lines' plus shipping; all in one currency. It
// returns EINTERNAL on the first mismatch: an order that does not add up is
// a bug, never stored.
func (o *Order) Check() error {
	cur := o.Total.Currency
	bad := func(format string, args ...any) error {
		return shopd.Errorf(shopd.EINTERNAL, "order %s does not add up: "+format, append([]any{o.ID}, args...)...)
	}
	var sub, disc, tax int64
	for i, l := range o.Lines {
		for _, m := range []shopd.Money{l.UnitPrice, l.Subtotal, l.Discount, l.Tax, l.Total} {
			if m.Currency != cur {
				return bad("line %d has %s amounts in a %s order", i, m.Currency, cur)
			}
		}
		if l.Quantity <= 0 || l.UnitPrice.Amount*l.Quantity != l.Subtotal.Amount {
			return bad("line %d: %d × %d ≠ %d", i, l.Quantity, l.UnitPrice.Amount, l.Subtotal.Amount)
		}
		want := l.Subtotal.Amount - l.Discount.Amount
		if !o.TaxIncluded {
			want += l.Tax.Amount
		}
		if l.Total.Amount != want {
			return bad("line %d total %d, want %d", i, l.Total.Amount, want)
		}
		sub, disc, tax = sub+l.Subtotal.Amount, disc+l.Discount.Amount, tax+l.Tax.Amount
	}
	if o.Subtotal.Amount != sub || o.Discount.Amount != disc || o.Tax.Amount < tax {
		return bad("sums %d/%d/%d, lines %d/%d/%d", o.Subtotal.Amount, o.Discount.Amount, o.Tax.Amount, sub, disc, tax)
	}
	want := sub - disc + o.Shipping.Amount
	if !o.TaxIncluded {
		want += o.Tax.Amount
	}
	if o.Total.Amount != want {
		return bad("total %d, want %d", o.Total.Amount, want)
	}
	return nil
}

// Filter selects orders for staff or for one customer.
type Filter struct {
	CustomerID string // only this customer's orders
	Status     Status
	Email      string // exact, lower-cased
	Market     string
	Before     string // an order ID: older orders only (cursor)
	Limit      int
}
