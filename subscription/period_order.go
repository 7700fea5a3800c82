package subscription

import (
	"context"
	"time"

	"github.com/shopd/shopd"
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
// total (the plan's price and any proration), spread evenly over the
// units. Renewals are not taxed yet, so the orders carry no tax.

// EventOrderOutOfStock says that a period's order is paid but its stock
// could not be sold: staff restock and fulfill it, or refund it.
const EventOrderOutOfStock = "order.out_of_stock"

// periodOrder creates and sells the order of a paid replenishment period
// and returns its ID.
func (b *Biller) periodOrder(ctx context.Context, tx BillingTx, s Subscription, inv Invoice, now time.Time) (string, error) {
	lines, err := tx.PlanLines(ctx, inv.PlanID)
	if err != nil || len(lines) == 0 {
		return "", err
	}
	email, err := tx.CustomerEmail(ctx, s.CustomerID)
	if err != nil && shopd.ErrorCode(err) != shopd.ENOTFOUND { // a deleted account's order ships all the same
		return "", err
	}
	o := order.Order{
		ID: shopd.NewID("ord"), CustomerID: s.CustomerID, Email: email, Market: s.Market,
		Status: order.StatusPaid, RefundStatus: order.RefundNone, Lines: lines,
		Shipping: shopd.Zero(inv.Total.Currency), Tax: shopd.Zero(inv.Total.Currency), Total: inv.Total,
		Refunded: shopd.Zero(inv.Total.Currency), ShipTo: s.ShipTo, PaymentID: inv.PaymentID,
		CreatedAt: now, UpdatedAt: now, PaidAt: now,
	}
	priceLines(&o)
	if err := tx.InsertOrder(ctx, o); err != nil {
		return "", err
	}
	for _, typ := range []string{"order.created", "order.paid"} {
		if err := order.AppendEvent(ctx, tx, typ, o); err != nil {
			return "", err
		}
	}
	req := inventory.ReserveRequest{Reference: o.ID, Market: o.Market, ExpiresAt: now.Add(time.Hour)}
	for _, l := range o.Lines {
		req.Lines = append(req.Lines, inventory.Line{SKU: l.SKU, Quantity: l.Quantity})
	}
	// A shortage must not undo the payment's record: the sale is tried in
	// a savepoint, and the order stands without it.
	err = tx.Savepoint(ctx, func() error {
		if _, err := tx.ReserveStock(ctx, req); err != nil {
			return err
		}
		_, err := tx.CommitReservation(ctx, o.ID)
		return err
	})
	switch shopd.ErrorCode(err) {
	case shopd.ECONFLICT, shopd.ENOTFOUND, shopd.EINVALID: // short, or a SKU no longer sold
		return o.ID, order.AppendEvent(ctx, tx, EventOrderOutOfStock, o)
	}
	return o.ID, err
}

// priceLines spreads the order's total over its units: each unit costs the
// total divided by the units, rounded up, and the rounding is given back as
// discount on the first lines, so every line and the order add up exactly.
func priceLines(o *order.Order) {
	cur := o.Total.Currency
	var units int64
	for _, l := range o.Lines {
		units += l.Quantity
	}
	unit := (o.Total.Amount + units - 1) / units
	excess := unit*units - o.Total.Amount // < units ≤ the subtotal, so it always fits
	var sub, disc int64
	for i := range o.Lines {
		l := &o.Lines[i]
		d := min(excess, unit*l.Quantity)
		excess -= d
		l.UnitPrice = shopd.Money{Amount: unit, Currency: cur}
		l.Subtotal = shopd.Money{Amount: unit * l.Quantity, Currency: cur}
		l.Discount = shopd.Money{Amount: d, Currency: cur}
		l.Tax = shopd.Zero(cur)
		l.Total = shopd.Money{Amount: l.Subtotal.Amount - d, Currency: cur}
		sub, disc = sub+l.Subtotal.Amount, disc+d
	}
	o.Subtotal, o.Discount = shopd.Money{Amount: sub, Currency: cur}, shopd.Money{Amount: disc, Currency: cur}
}
