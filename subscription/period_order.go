package subscription

import (
	"context"
	"errors"
	"fmt"
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
// the goods move together or not at all. The orders of a transaction's
// periods (a batch of settled payments, or of free renewals) are written
// and sold together, with the transaction's other billing changes. A box plan's period gets its
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

// periodOrder makes the order of a paid replenishment period — the plan's
// items, read once per plan in w's transaction, priced and shipped by
// NewPeriodOrder — names it on the invoice, and keeps it for w's next
// write, which sells it with the others (sellOrders). A plan without items
// gets no order.
func (w *billingWrites) periodOrder(ctx context.Context, tx BillingTx, s Subscription, inv *Invoice, now time.Time) error {
	pls, ok := w.plans[inv.PlanID]
	if !ok {
		var err error
		if pls, err = tx.PlanLines(ctx, inv.PlanID); err != nil {
			return err
		}
		if w.plans == nil {
			w.plans = map[string][]PlanLine{}
		}
		w.plans[inv.PlanID] = pls
	}
	if len(pls) == 0 {
		return nil
	}
	lines := make([]order.Line, len(pls))
	for i, pl := range pls {
		lines[i] = pl.Line
		lines[i].ID = "" // each order's lines get IDs of their own
	}
	o, err := NewPeriodOrder(shopd.NewID("ord"), s, *inv, "", lines, now) // the email comes at the write
	if err != nil {
		return err
	}
	inv.OrderID = o.ID
	w.orders = append(w.orders, o)
	return nil
}

// sellOrders sells the period orders kept since the last write, with their
// customers' emails (one query for all).
func (w *billingWrites) sellOrders(ctx context.Context, tx BillingTx) error {
	if len(w.orders) == 0 {
		return nil
	}
	ids := make([]string, len(w.orders))
	for i, o := range w.orders {
		ids[i] = o.CustomerID
	}
	emails, err := tx.CustomerEmails(ctx, ids)
	if err != nil {
		return err
	}
	for i := range w.orders {
		w.orders[i].Email = emails[w.orders[i].CustomerID] // "" for a deleted account: its order ships all the same
	}
	return SellOrders(ctx, tx, w.orders)
}

// OrderTx is what selling a stored order's stock needs of a transaction
// (SellStock).
type OrderTx interface {
	event.Appender
	ReserveStock(ctx context.Context, req inventory.ReserveRequest) (inventory.Reservation, error)
	CommitReservation(ctx context.Context, reference string) (inventory.Reservation, error)
	// Savepoint runs fn so that, if it fails, its changes are undone and
	// the transaction goes on; it returns fn's error.
	Savepoint(ctx context.Context, fn func() error) error
}

// OrdersTx is what selling many new period orders at once needs of a
// transaction (SellOrders).
type OrdersTx interface {
	InsertOrders(ctx context.Context, os []order.Order) error
	AppendEvents(ctx context.Context, es []event.Event) error
	// ReserveStocks reserves stock for each request as ReserveStock would,
	// in turn; errs[i] is request i's own failure (invalid, or out of
	// stock), which leaves nothing of it; err leaves the transaction
	// unusable.
	ReserveStocks(ctx context.Context, reqs []inventory.ReserveRequest) (errs []error, err error)
	// CommitReservations commits the active reservations of the
	// references and returns those that hold nothing active.
	CommitReservations(ctx context.Context, references []string) (missing []string, err error)
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

// SellOrders stores new paid period orders, with their PaidOrderEvents, and
// sells their stock as SellStock sells a stored order's that holds none,
// at any warehouse — with a few statements for all of them: the orders in
// one insert, the stock reserved for all (ReserveStocks: each order whole
// or not at all, in their order, one update per stock row) and committed
// together (CommitReservations), the events in one insert. An order whose
// stock is short, or whose SKU is no longer sold, stands unsold with an
// order.out_of_stock event, as with SellStock.
func SellOrders(ctx context.Context, tx OrdersTx, os []order.Order) error {
	if len(os) == 0 {
		return nil
	}
	events, err := order.Events(os, PaidOrderEvents...)
	if err != nil {
		return err
	}
	if err := tx.InsertOrders(ctx, os); err != nil {
		return err
	}
	reqs := make([]inventory.ReserveRequest, len(os))
	for i, o := range os {
		reqs[i] = saleRequest(o, "")
	}
	errs, err := tx.ReserveStocks(ctx, reqs)
	if err != nil {
		return err
	}
	var reserved []string
	var short []order.Order
	for i, err := range errs {
		switch {
		case err == nil:
			reserved = append(reserved, os[i].ID)
		case unsellable(err):
			short = append(short, os[i])
		default:
			return err
		}
	}
	missing, err := tx.CommitReservations(ctx, reserved)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("subscription: %d of %d period orders' stock reservations vanished before their commit (%s…)", len(missing), len(reserved), missing[0])
	}
	outs, err := order.Events(short, EventOrderOutOfStock)
	if err != nil {
		return err
	}
	return tx.AppendEvents(ctx, append(events, outs...))
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
		if _, err := tx.ReserveStock(ctx, saleRequest(o, warehouse)); err != nil {
			return err
		}
		_, err := tx.CommitReservation(ctx, o.ID)
		return err
	})
	if unsellable(err) {
		return order.AppendEvent(ctx, tx, EventOrderOutOfStock, o)
	}
	return err
}

// saleRequest is the reservation of an order's lines, under its ID, at
// warehouse unless "".
func saleRequest(o order.Order, warehouse string) inventory.ReserveRequest {
	req := inventory.ReserveRequest{Reference: o.ID, Market: o.Market, Warehouse: warehouse, ExpiresAt: o.CreatedAt.Add(time.Hour)}
	for _, l := range o.Lines {
		req.Lines = append(req.Lines, inventory.Line{SKU: l.SKU, Quantity: l.Quantity})
	}
	return req
}

// unsellable reports whether a sale failed for its goods — short, or a SKU
// no longer sold — rather than for the store: the order stands, unsold.
func unsellable(err error) bool {
	switch shopd.ErrorCode(err) {
	case shopd.ECONFLICT, shopd.ENOTFOUND, shopd.EINVALID:
		return true
	}
	return false
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
