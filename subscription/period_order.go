package subscription

import (
	"context"
	"errors"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/cart"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/order"
)

// A paid period of a replenishment plan becomes an order of the plan's
// fixed items, paid by the invoice's payment, with its stock sold at once,
// in the transaction that records the payment: the money, the period and
// the goods move together or not at all. A box plan's period gets its
// order from box allocation, which picks the box's items.
//
// Renewal orders are priced so that their lines add up to the invoice's
// total and tax (the plan's price and any proration, taxed at renewal),
// spread evenly over the units.

// EventOrderOutOfStock says that a period's order is paid but its stock
// could not be sold: staff restock and fulfill it, or refund it.
const EventOrderOutOfStock = "order.out_of_stock"

// PlanLine is one of a replenishment plan's items as an order line (no
// prices yet) and its product's tax category.
type PlanLine struct {
	order.Line
	TaxCategory string
}

// periodOrder creates and sells the order of a paid replenishment period
// and returns its ID.
func (b *Biller) periodOrder(ctx context.Context, tx BillingTx, s Subscription, inv Invoice, now time.Time) (string, error) {
	pls, err := tx.PlanLines(ctx, inv.PlanID)
	if err != nil || len(pls) == 0 {
		return "", err
	}
	email, err := tx.CustomerEmail(ctx, s.CustomerID)
	if err != nil && shopd.ErrorCode(err) != shopd.ENOTFOUND { // a deleted account's order ships all the same
		return "", err
	}
	lines := make([]order.Line, len(pls))
	for i, pl := range pls {
		lines[i] = pl.Line
	}
	o, err := NewPeriodOrder(shopd.NewID("ord"), s, inv, email, lines, now)
	if err != nil {
		return "", err
	}
	return o.ID, SellOrder(ctx, tx, o, "", false)
}

// OrderTx is what selling a period's order needs of a transaction.
type OrderTx interface {
	event.Appender
	InsertOrder(ctx context.Context, o order.Order) error
	ReserveStock(ctx context.Context, req inventory.ReserveRequest) (inventory.Reservation, error)
	CommitReservation(ctx context.Context, reference string) (inventory.Reservation, error)
	// Savepoint runs fn so that, if it fails, its changes are undone and
	// the transaction goes on; it returns fn's error.
	Savepoint(ctx context.Context, fn func() error) error
}

// NewPeriodOrder returns the paid order of an invoice's period with the
// lines (IDs, SKUs, titles and quantities), priced by PriceFromTotal and
// shipped to the subscription's address.
func NewPeriodOrder(id string, s Subscription, inv Invoice, email string, lines []order.Line, now time.Time) (order.Order, error) {
	o := order.Order{
		ID: id, CustomerID: s.CustomerID, Email: email, Market: s.Market,
		Status: order.StatusPaid, RefundStatus: order.RefundNone, TaxIncluded: inv.TaxIncluded,
		Shipping: shopd.Zero(inv.Total.Currency), Tax: inv.Tax, Total: inv.Total,
		Refunded: shopd.Zero(inv.Total.Currency), ShipTo: s.ShipTo, PaymentID: inv.PaymentID,
		CreatedAt: now, UpdatedAt: now, PaidAt: now, Lines: lines,
	}
	for i := range o.Lines {
		if o.Lines[i].ID == "" {
			o.Lines[i].ID = shopd.NewID("oln")
		}
	}
	return o, PriceFromTotal(&o)
}

// PaidOrderEvents are the events of a period's order, paid when created.
var PaidOrderEvents = []string{"order.created", "order.paid"}

// SellOrder stores a paid period order, with its PaidOrderEvents, and
// sells its stock (SellStock).
func SellOrder(ctx context.Context, tx OrderTx, o order.Order, warehouse string, held bool) error {
	if err := tx.InsertOrder(ctx, o); err != nil {
		return err
	}
	for _, typ := range PaidOrderEvents {
		if err := order.AppendEvent(ctx, tx, typ, o); err != nil {
			return err
		}
	}
	return SellStock(ctx, tx, o, warehouse, held)
}

// SellStock sells a stored paid order's stock: if held, the stock
// reserved under the order's ID (a box holds its stock from allocation),
// else, or if that reservation lapsed, stock reserved now, at warehouse if
// it is not "" (a box is packed where it was allocated). A shortage must
// not undo the payment's record: the sale is tried in a savepoint, and the
// order stands without it, with an order.out_of_stock event for staff.
func SellStock(ctx context.Context, tx OrderTx, o order.Order, warehouse string, held bool) error {
	err := tx.Savepoint(ctx, func() error {
		if held {
			_, err := tx.CommitReservation(ctx, o.ID)
			if err == nil || (!errors.Is(err, inventory.ErrReservationNotFound) && shopd.ErrorCode(err) != shopd.ECONFLICT) {
				return err
			} // else the reservation lapsed: reserve again
		}
		req := inventory.ReserveRequest{Reference: o.ID, Market: o.Market, Warehouse: warehouse, ExpiresAt: o.CreatedAt.Add(time.Hour)}
		for _, l := range o.Lines {
			req.Lines = append(req.Lines, inventory.Line{SKU: l.SKU, Quantity: l.Quantity})
		}
		if _, err := tx.ReserveStock(ctx, req); err != nil {
			return err
		}
		_, err := tx.CommitReservation(ctx, o.ID)
		return err
	})
	switch shopd.ErrorCode(err) {
	case shopd.ECONFLICT, shopd.ENOTFOUND, shopd.EINVALID: // short, or a SKU no longer sold
		return order.AppendEvent(ctx, tx, EventOrderOutOfStock, o)
	}
	return err
}

// spread prices quantities of units so that they add up to total exactly:
// each unit costs total / units rounded up, and the rounding is given back
// as discount on the first lines. The rounding is less than the units, so
// it always fits.
func spread(total int64, quantities []int64) (unit int64, discounts []int64) {
	var units int64
	for _, q := range quantities {
		units += q
	}
	unit = (total + units - 1) / units
	excess := unit*units - total
	discounts = make([]int64, len(quantities))
	for i, q := range quantities {
		discounts[i] = min(excess, unit*q)
		excess -= discounts[i]
	}
	return unit, discounts
}

// PriceFromTotal prices the order's lines from its total and tax (a period
// invoice's): the amount before tax spread over the units (spread), the
// tax shared out over the lines by their amounts, so every line and the
// order add up exactly.
func PriceFromTotal(o *order.Order) error {
	cur := o.Total.Currency
	goods := o.Total.Amount
	if !o.TaxIncluded {
		goods -= o.Tax.Amount
	}
	quantities := make([]int64, len(o.Lines))
	for i, l := range o.Lines {
		quantities[i] = l.Quantity
	}
	unit, discounts := spread(goods, quantities)
	nets := make([]int64, len(o.Lines))
	for i, q := range quantities {
		nets[i] = unit*q - discounts[i]
	}
	taxes, err := cart.Allocate(o.Tax.Amount, nets)
	if err != nil {
		return err
	}
	var sub, disc int64
	for i := range o.Lines {
		l := &o.Lines[i]
		l.UnitPrice = shopd.Money{Amount: unit, Currency: cur}
		l.Subtotal = shopd.Money{Amount: unit * l.Quantity, Currency: cur}
		l.Discount = shopd.Money{Amount: discounts[i], Currency: cur}
		l.Tax = shopd.Money{Amount: taxes[i], Currency: cur}
		l.Total = shopd.Money{Amount: nets[i], Currency: cur}
		if !o.TaxIncluded {
			l.Total.Amount += taxes[i]
		}
		sub, disc = sub+l.Subtotal.Amount, disc+discounts[i]
	}
	o.Subtotal, o.Discount = shopd.Money{Amount: sub, Currency: cur}, shopd.Money{Amount: disc, Currency: cur}
	return nil
}
