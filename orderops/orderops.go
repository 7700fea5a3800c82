// Package orderops moves placed orders on after payment: fulfillments per
// warehouse with tracking, delivery, cancellation (restock and refund),
// full and partial refunds, and returns that restock.
//
// Every change of an order runs in one transaction that locks the order
// row first, so concurrent operations on one order serialize. Money goes
// back through payment.Service.Refund only after that transaction commits
// (never call a gateway inside a transaction); the payment row bounds
// refunds by what was captured, even under concurrency.
package orderops

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/checkout"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/payment"
)

// LineQuantity is a quantity of one order line.
type LineQuantity struct {
	LineID   string `json:"line_id"`
	Quantity int64  `json:"quantity"`
}

// Fulfillment is a shipment of an order's units from one warehouse.
type Fulfillment struct {
	ID             string         `json:"id"` // "ful_…"
	OrderID        string         `json:"order_id"`
	WarehouseID    string         `json:"warehouse_id"`
	Warehouse      string         `json:"warehouse"` // code
	Lines          []LineQuantity `json:"lines"`
	TrackingNumber string         `json:"tracking_number"`
	Carrier        string         `json:"carrier"`
	CreatedAt      time.Time      `json:"created_at"`
}

// Return is a set of an order's units that came back and were restocked in
// one warehouse.
type Return struct {
	ID          string         `json:"id"` // "ret_…"
	OrderID     string         `json:"order_id"`
	WarehouseID string         `json:"warehouse_id"`
	Warehouse   string         `json:"warehouse"`
	Lines       []LineQuantity `json:"lines"`
	Refund      shopd.Money    `json:"refund"` // what is given back for these units (zero if not refunded)
	CreatedAt   time.Time      `json:"created_at"`
}

// Tx is what order operations change in one transaction.
type Tx interface {
	event.Appender
	checkout.Releaser
	LockOrder(ctx context.Context, id string) (order.Order, error)
	UpdateOrderStatus(ctx context.Context, o order.Order) error
	// SoldAllocations returns the committed stock allocations of an order:
	// which warehouse each sold unit came from.
	SoldAllocations(ctx context.Context, orderID string) ([]inventory.Allocation, error)
	ReturnStock(ctx context.Context, r inventory.Return) (inventory.Stock, error)
	// ResolveWarehouse returns the ID and code of a warehouse named by code
	// or ID, or EINVALID "unknown-warehouse" on field.
	ResolveWarehouse(ctx context.Context, ref, field string) (id, code string, err error)
	InsertFulfillment(ctx context.Context, f Fulfillment) error
	OrderFulfillments(ctx context.Context, orderID string) ([]Fulfillment, error)
	InsertOrderReturn(ctx context.Context, r Return) error
	OrderReturns(ctx context.Context, orderID string) ([]Return, error)
	// SucceededRefunds sums the payment's refunds the gateway confirmed.
	SucceededRefunds(ctx context.Context, paymentID string) (int64, error)
}

// Store runs order operations' transactions and reads orders.
type Store interface {
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Order returns an order, or ENOTFOUND "order-not-found".
	Order(ctx context.Context, id string) (order.Order, error)
	// Fulfillments lists an order's fulfillments, oldest first.
	Fulfillments(ctx context.Context, orderID string) ([]Fulfillment, error)
}

// Payments reads payments and refunds them.
type Payments interface {
	Payment(ctx context.Context, id string) (payment.Payment, error)
	Refund(ctx context.Context, paymentID string, amount shopd.Money, reason string) (payment.Refund, error)
}

// Service runs order operations.
type Service struct {
	store    Store
	payments Payments
	clock    shopd.Clock
}

// NewService returns a Service.
func NewService(store Store, payments Payments, clock shopd.Clock) *Service {
	return &Service{store: store, payments: payments, clock: clock}
}

// Limits on outside input.
const (
	MaxLines     = 100
	MaxReasonLen = 500
	maxText      = 100
	maxQuantity  = 1_000_000
)

var (
	errNotFound       = shopd.TypedErrorf(shopd.ENOTFOUND, "order-not-found", "No such order.")
	errPaymentInDoubt = shopd.TypedErrorf(shopd.ECONFLICT, "payment-in-doubt",
		"The order's payment has not settled; it is canceled automatically if the payment fails.")
	errFulfilled = shopd.TypedErrorf(shopd.ECONFLICT, "order-fulfilled",
		"Units of this order were already fulfilled; return them instead of canceling.")
	errNotPaid = shopd.TypedErrorf(shopd.ECONFLICT, "order-not-paid", "The order has no captured payment to refund.")
)

// Fulfillments lists an order's fulfillments, oldest first. It returns
// ENOTFOUND for an unknown order.
func (s *Service) Fulfillments(ctx context.Context, orderID string) ([]Fulfillment, error) {
	if _, err := s.order(ctx, orderID); err != nil {
		return nil, err
	}
	return s.store.Fulfillments(ctx, orderID)
}

func (s *Service) order(ctx context.Context, id string) (order.Order, error) {
	if !shopd.HasIDPrefix(id, "ord") {
		return order.Order{}, errNotFound
	}
	return s.store.Order(ctx, id)
}

// FulfillRequest ships units of an order from one warehouse.
type FulfillRequest struct {
	Warehouse      string         // code or ID; required
	Lines          []LineQuantity // empty: everything still unfulfilled that was sold from the warehouse
	TrackingNumber string
	Carrier        string
}

func checkLines(v *shopd.Validation, lines []LineQuantity, required bool) {
	v.Check(!required || len(lines) > 0, "lines", "must name at least one line")
	v.Check(len(lines) <= MaxLines, "lines", "must have at most 100 lines")
	seen := map[string]bool{}
	for i, l := range lines {
		p := "lines[" + itoa(i) + "]"
		v.Check(l.LineID != "" && len(l.LineID) <= 64, p+".line_id", "is required")
		v.Check(!seen[l.LineID], p+".line_id", "appears twice")
		v.Check(l.Quantity >= 1 && l.Quantity <= maxQuantity, p+".quantity", "must be from 1 to 1000000")
		seen[l.LineID] = true
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// Fulfill records a fulfillment: the first moves a paid order to
// fulfilling, the one that covers every unit to shipped. It returns
// ENOTFOUND, EINVALID (field errors, "unknown-warehouse"), ECONFLICT
// "invalid-transition" for an order that is not paid or fulfilling,
// "over-fulfillment" for more units than ordered or than were sold from
// the warehouse, "nothing-to-fulfill".
func (s *Service) Fulfill(ctx context.Context, orderID string, req FulfillRequest) (order.Order, Fulfillment, error) {
	var v shopd.Validation
	req.Warehouse, req.TrackingNumber, req.Carrier = strings.TrimSpace(req.Warehouse), strings.TrimSpace(req.TrackingNumber), strings.TrimSpace(req.Carrier)
	v.Check(req.Warehouse != "" && len(req.Warehouse) <= 64, "warehouse", "is required")
	v.Check(len(req.TrackingNumber) <= maxText, "tracking_number", "must be at most 100 characters")
	v.Check(len(req.Carrier) <= maxText, "carrier", "must be at most 100 characters")
	checkLines(&v, req.Lines, false)
	if err := v.Err(); err != nil {
		return order.Order{}, Fulfillment{}, err
	}
	if !shopd.HasIDPrefix(orderID, "ord") {
		return order.Order{}, Fulfillment{}, errNotFound
	}
	var out order.Order
	var f Fulfillment
	err := s.store.InTx(ctx, func(tx Tx) error {
		o, err := tx.LockOrder(ctx, orderID)
		if err != nil {
			return err
		}
		if o.Status != order.StatusPaid && o.Status != order.StatusFulfilling {
			return o.Status.Transition(order.StatusFulfilling)
		}
		whID, whCode, err := tx.ResolveWarehouse(ctx, req.Warehouse, "warehouse")
		if err != nil {
			return err
		}
		allocs, err := tx.SoldAllocations(ctx, o.ID)
		if err != nil {
			return err
		}
		fs, err := tx.OrderFulfillments(ctx, o.ID)
		if err != nil {
			return err
		}
		lines := map[string]order.Line{}
		for _, l := range o.Lines {
			lines[l.ID] = l
		}
		// Units of each SKU sold from this warehouse and not yet fulfilled.
		left := map[string]int64{}
		for _, a := range allocs {
			if a.WarehouseID == whID {
				left[a.SKU] += a.Quantity
			}
		}
		done := map[string]int64{} // units fulfilled per line
		for _, prev := range fs {
			for _, l := range prev.Lines {
				done[l.LineID] += l.Quantity
				if prev.WarehouseID == whID {
					left[lines[l.LineID].SKU] -= l.Quantity
				}
			}
		}
		now := s.clock.Now()
		f = Fulfillment{ID: shopd.NewID("ful"), OrderID: o.ID, WarehouseID: whID, Warehouse: whCode,
			TrackingNumber: req.TrackingNumber, Carrier: req.Carrier, CreatedAt: now, Lines: []LineQuantity{}}
		if len(req.Lines) == 0 {
			for _, l := range o.Lines {
				if q := min(l.Quantity-done[l.ID], left[l.SKU]); q > 0 {
					f.Lines = append(f.Lines, LineQuantity{LineID: l.ID, Quantity: q})
					left[l.SKU] -= q
				}
			}
			if len(f.Lines) == 0 {
				return shopd.TypedErrorf(shopd.ECONFLICT, "nothing-to-fulfill", "Nothing of this order is left to fulfill from warehouse %s.", whCode)
			}
		}
		for i, rl := range req.Lines {
			l, ok := lines[rl.LineID]
			if !ok {
				return fieldErr("lines["+itoa(i)+"].line_id", "is not a line of this order")
			}
			if rl.Quantity > l.Quantity-done[l.ID] {
				return shopd.TypedErrorf(shopd.ECONFLICT, "over-fulfillment", "Line %s has %d units left to fulfill, not %d.", l.ID, l.Quantity-done[l.ID], rl.Quantity)
			}
			if rl.Quantity > left[l.SKU] {
				return shopd.TypedErrorf(shopd.ECONFLICT, "over-fulfillment", "Warehouse %s sold %d more units of %s for this order, not %d.", whCode, max(0, left[l.SKU]), l.SKU, rl.Quantity)
			}
			left[l.SKU] -= rl.Quantity
			f.Lines = append(f.Lines, rl)
		}
		if err := tx.InsertFulfillment(ctx, f); err != nil {
			return err
		}
		for _, l := range f.Lines {
			done[l.LineID] += l.Quantity
		}
		if o.Status == order.StatusPaid {
			if err := o.Become(order.StatusFulfilling, now); err != nil {
				return err
			}
		}
		o.UpdatedAt = now
		shipped := true
		for _, l := range o.Lines {
			shipped = shipped && done[l.ID] >= l.Quantity
		}
		if shipped {
			if err := o.Become(order.StatusShipped, now); err != nil {
				return err
			}
		}
		if err := tx.UpdateOrderStatus(ctx, o); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, "order.fulfilled", o.ID, fulfilledEvent{Order: o, Fulfillment: f}, now); err != nil {
			return err
		}
		if shipped {
			if err := appendEvent(ctx, tx, "order.shipped", o.ID, o, now); err != nil {
				return err
			}
		}
		out = o
		return nil
	})
	return out, f, err
}

type fulfilledEvent struct {
	Order       order.Order `json:"order"`
	Fulfillment Fulfillment `json:"fulfillment"`
}

// Deliver marks a shipped order delivered. It returns ENOTFOUND or
// ECONFLICT "invalid-transition".
func (s *Service) Deliver(ctx context.Context, orderID string) (order.Order, error) {
	return s.transition(ctx, orderID, order.StatusDelivered, "order.delivered")
}

func (s *Service) transition(ctx context.Context, orderID string, to order.Status, typ string) (order.Order, error) {
	if !shopd.HasIDPrefix(orderID, "ord") {
		return order.Order{}, errNotFound
	}
	var out order.Order
	err := s.store.InTx(ctx, func(tx Tx) error {
		o, err := tx.LockOrder(ctx, orderID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if err := o.Become(to, now); err != nil {
			return err
		}
		if err := tx.UpdateOrderStatus(ctx, o); err != nil {
			return err
		}
		out = o
		return appendEvent(ctx, tx, typ, o.ID, o, now)
	})
	return out, err
}

// Cancel cancels a paid order of which nothing was fulfilled: the sold
// units go back on hand in the warehouses they came from (return
// movements), the buyer's purchase counts and discount use are given back,
// and then — after that commits — the rest of the captured payment is
// refunded. Canceling an already canceled order whose refund did not go
// through retries the refund. A pending_payment order is not canceled here:
// its payment is in doubt, and checkout cancels it if the payment fails.
//
// It returns ENOTFOUND, EINVALID, ECONFLICT "payment-in-doubt",
// "order-fulfilled", "invalid-transition", and the refund's errors
// (EPAYMENT, EUNAVAILABLE, …) with the order canceled.
func (s *Service) Cancel(ctx context.Context, orderID, reason, staffKeyID string) (order.Order, error) {
	reason = strings.TrimSpace(reason)
	if len(reason) > MaxReasonLen {
		return order.Order{}, fieldErr("reason", "must be at most 500 characters")
	}
	if !shopd.HasIDPrefix(orderID, "ord") {
		return order.Order{}, errNotFound
	}
	var o order.Order
	retry := false
	err := s.store.InTx(ctx, func(tx Tx) (err error) {
		retry = false
		if o, err = tx.LockOrder(ctx, orderID); err != nil {
			return err
		}
		switch o.Status {
		case order.StatusPendingPayment:
			return errPaymentInDoubt
		case order.StatusCanceled:
			retry = true
			return nil
		case order.StatusPaid, order.StatusFulfilling:
		default:
			return o.Status.Transition(order.StatusCanceled)
		}
		fs, err := tx.OrderFulfillments(ctx, o.ID)
		if err != nil {
			return err
		}
		if len(fs) > 0 {
			return errFulfilled
		}
		now := s.clock.Now()
		if err := o.Become(order.StatusCanceled, now); err != nil {
			return err
		}
		allocs, err := tx.SoldAllocations(ctx, o.ID)
		if err != nil {
			return err
		}
		note := "order canceled"
		if reason != "" {
			note += ": " + reason
		}
		for _, a := range allocs {
			if _, err := tx.ReturnStock(ctx, inventory.Return{Warehouse: a.WarehouseID, SKU: a.SKU, Quantity: a.Quantity,
				Reference: o.ID, Note: note, StaffKeyID: staffKeyID}); err != nil {
				return err
			}
		}
		if err := checkout.GiveBack(ctx, tx, o); err != nil {
			return err
		}
		if err := tx.UpdateOrderStatus(ctx, o); err != nil {
			return err
		}
		return appendEvent(ctx, tx, "order.canceled", o.ID, canceledEvent{Order: o, Reason: reason}, now)
	})
	if err != nil {
		return order.Order{}, err
	}
	left, err := s.refundable(ctx, o)
	if err != nil {
		return o, err
	}
	if left <= 0 {
		if !retry {
			return o, nil
		}
		// A refund left pending by an earlier cancel may have settled since.
		synced, err := s.syncRefunded(ctx, o, "", shopd.Money{}, "")
		if err != nil || synced.Refunded.Amount != o.Refunded.Amount {
			return synced, err
		}
		return o, o.Status.Transition(order.StatusCanceled)
	}
	if reason == "" {
		reason = "order canceled"
	}
	return s.refund(ctx, o, shopd.Money{Amount: left, Currency: o.Total.Currency}, reason)
}

type canceledEvent struct {
	Order  order.Order `json:"order"`
	Reason string      `json:"reason,omitempty"`
}

// refundable returns what is left to refund on the order's payment (0 if it
// has no captured payment).
func (s *Service) refundable(ctx context.Context, o order.Order) (int64, error) {
	if o.PaymentID == "" {
		return 0, nil
	}
	p, err := s.payments.Payment(ctx, o.PaymentID)
	if err != nil {
		return 0, err
	}
	if p.Status != payment.StatusSucceeded {
		return 0, nil
	}
	return max(0, min(p.Captured-p.Refunded, o.Total.Amount-o.Refunded.Amount)), nil
}

// Refund gives back part or all of an order's captured payment. It returns
// ENOTFOUND, EINVALID (field errors; a currency other than the order's),
// ECONFLICT "order-not-paid", EUNPROCESSABLE "refund-exceeds-captured"
// when the amount is more than what is left to refund, and the gateway's
// errors (EPAYMENT, EUNAVAILABLE).
func (s *Service) Refund(ctx context.Context, orderID string, amount shopd.Money, reason string) (order.Order, error) {
	reason = strings.TrimSpace(reason)
	var v shopd.Validation
	v.Check(amount.Amount >= 1 && amount.Amount <= payment.MaxAmount, "amount.amount", "must be from 1 to 1000000000000")
	v.Check(len(reason) <= MaxReasonLen, "reason", "must be at most 500 characters")
	if err := v.Err(); err != nil {
		return order.Order{}, err
	}
	o, err := s.order(ctx, orderID)
	if err != nil {
		return order.Order{}, err
	}
	if amount.Currency != o.Total.Currency {
		return order.Order{}, fieldErr("amount.currency", "must be the order's currency, "+o.Total.Currency)
	}
	if o.Status == order.StatusPendingPayment || o.PaymentID == "" {
		return order.Order{}, errNotPaid
	}
	left, err := s.refundable(ctx, o)
	if err != nil {
		return order.Order{}, err
	}
	if left <= 0 && o.Refunded.Amount == 0 {
		return order.Order{}, errNotPaid
	}
	if amount.Amount > left {
		return order.Order{}, errExceeds(left, o.Total.Currency)
	}
	return s.refund(ctx, o, amount, reason)
}

func errExceeds(left int64, currency string) error {
	return shopd.TypedErrorf(shopd.EUNPROCESSABLE, "refund-exceeds-captured", "At most %s is left to refund on this order.",
		shopd.Money{Amount: left, Currency: currency}.Format("en-US"))
}

// refund refunds amount on the order's payment and, once the gateway
// confirms it, adds it to the order's refunded amount.
func (s *Service) refund(ctx context.Context, o order.Order, amount shopd.Money, reason string) (order.Order, error) {
	ctx = context.WithoutCancel(ctx) // money may move: record what happened even if the client leaves
	r, err := s.payments.Refund(ctx, o.PaymentID, amount, reason)
	if err != nil {
		return o, err
	}
	if r.Status != payment.RefundSucceeded {
		return o, shopd.TypedErrorf(shopd.EUNAVAILABLE, "refund-pending", "Refund %s is %s; the reconciler settles it.", r.ID, r.Status)
	}
	return s.syncRefunded(ctx, o, r.ID, amount, reason)
}

// syncRefunded sets the order's refunded amount to what its payment's
// confirmed refunds add up to, read under the order's lock so concurrent
// refunds never lose one another's amounts; refunds the reconciler settled
// later are picked up too. With a refund ID it appends order.refunded.
func (s *Service) syncRefunded(ctx context.Context, o order.Order, refundID string, amount shopd.Money, reason string) (order.Order, error) {
	var out order.Order
	err := s.store.InTx(ctx, func(tx Tx) error {
		o, err := tx.LockOrder(ctx, o.ID)
		if err != nil {
			return err
		}
		out = o
		total, err := tx.SucceededRefunds(ctx, o.PaymentID)
		if err != nil {
			return err
		}
		refunded := min(o.Total.Amount, max(o.Refunded.Amount, total))
		if refunded == o.Refunded.Amount && refundID == "" {
			return nil
		}
		if refundID == "" {
			amount = shopd.Money{Amount: refunded - o.Refunded.Amount, Currency: o.Total.Currency}
		}
		now := s.clock.Now()
		o.Refunded.Amount, o.UpdatedAt = refunded, now
		o.RefundStatus = order.RefundStatusFor(o.Total.Amount, o.Refunded.Amount)
		if err := tx.UpdateOrderStatus(ctx, o); err != nil {
			return err
		}
		out = o
		return appendEvent(ctx, tx, "order.refunded", o.ID, refundedEvent{Order: o, RefundID: refundID, Amount: amount, Reason: reason}, now)
	})
	return out, err
}

type refundedEvent struct {
	Order    order.Order `json:"order"`
	RefundID string      `json:"refund_id"`
	Amount   shopd.Money `json:"amount"`
	Reason   string      `json:"reason,omitempty"`
}

// ReturnRequest takes units of a shipped order back into a warehouse.
type ReturnRequest struct {
	Warehouse  string // code or ID; required
	Lines      []LineQuantity
	Refund     bool // refund the lines' share of their totals (tax included)
	Reason     string
	StaffKeyID string
}

// Return restocks returned units of a shipped or delivered order in a
// warehouse and, if asked, refunds their share of the lines' totals (their
// tax included) after that commits. It returns ENOTFOUND, EINVALID (field
// errors, "unknown-warehouse"), ECONFLICT "order-not-shipped",
// "return-exceeds-shipped", and the refund's errors with the return
// recorded.
func (s *Service) Return(ctx context.Context, orderID string, req ReturnRequest) (order.Order, Return, error) {
	var v shopd.Validation
	req.Warehouse, req.Reason = strings.TrimSpace(req.Warehouse), strings.TrimSpace(req.Reason)
	v.Check(req.Warehouse != "" && len(req.Warehouse) <= 64, "warehouse", "is required")
	v.Check(len(req.Reason) <= MaxReasonLen, "reason", "must be at most 500 characters")
	checkLines(&v, req.Lines, true)
	if err := v.Err(); err != nil {
		return order.Order{}, Return{}, err
	}
	if !shopd.HasIDPrefix(orderID, "ord") {
		return order.Order{}, Return{}, errNotFound
	}
	var o order.Order
	var ret Return
	err := s.store.InTx(ctx, func(tx Tx) (err error) {
		if o, err = tx.LockOrder(ctx, orderID); err != nil {
			return err
		}
		if o.Status != order.StatusShipped && o.Status != order.StatusDelivered {
			return shopd.TypedErrorf(shopd.ECONFLICT, "order-not-shipped", "Only a shipped or delivered order takes returns; this one is %s.", o.Status)
		}
		whID, whCode, err := tx.ResolveWarehouse(ctx, req.Warehouse, "warehouse")
		if err != nil {
			return err
		}
		prev, err := tx.OrderReturns(ctx, o.ID)
		if err != nil {
			return err
		}
		returned := map[string]int64{}
		for _, r := range prev {
			for _, l := range r.Lines {
				returned[l.LineID] += l.Quantity
			}
		}
		lines := map[string]order.Line{}
		for _, l := range o.Lines {
			lines[l.ID] = l
		}
		now := s.clock.Now()
		ret = Return{ID: shopd.NewID("ret"), OrderID: o.ID, WarehouseID: whID, Warehouse: whCode, Lines: req.Lines,
			Refund: shopd.Zero(o.Total.Currency), CreatedAt: now}
		for i, rl := range req.Lines {
			l, ok := lines[rl.LineID]
			if !ok {
				return fieldErr("lines["+itoa(i)+"].line_id", "is not a line of this order")
			}
			before := returned[l.ID]
			if rl.Quantity > l.Quantity-before {
				return shopd.TypedErrorf(shopd.ECONFLICT, "return-exceeds-shipped", "Line %s has %d units left to return, not %d.", l.ID, l.Quantity-before, rl.Quantity)
			}
			// The line's total shared by units; summing per return gives
			// back exactly the line's total once every unit came back.
			ret.Refund.Amount += l.Total.Amount*(before+rl.Quantity)/l.Quantity - l.Total.Amount*before/l.Quantity
		}
		if !req.Refund {
			ret.Refund.Amount = 0
		}
		note := "order return " + ret.ID
		if req.Reason != "" {
			note += ": " + req.Reason
		}
		// Restock in SKU order, so concurrent returns lock stock rows alike.
		byLine := slices.Clone(req.Lines)
		slices.SortFunc(byLine, func(a, b LineQuantity) int { return cmp.Compare(lines[a.LineID].SKU, lines[b.LineID].SKU) })
		for _, rl := range byLine {
			if _, err := tx.ReturnStock(ctx, inventory.Return{Warehouse: whID, SKU: lines[rl.LineID].SKU, Quantity: rl.Quantity,
				Reference: o.ID, Note: note, StaffKeyID: req.StaffKeyID}); err != nil {
				return err
			}
		}
		if err := tx.InsertOrderReturn(ctx, ret); err != nil {
			return err
		}
		o.UpdatedAt = now
		if err := tx.UpdateOrderStatus(ctx, o); err != nil {
			return err
		}
		return appendEvent(ctx, tx, "order.returned", o.ID, returnedEvent{Order: o, Return: ret}, now)
	})
	if err != nil || ret.Refund.Amount == 0 {
		return o, ret, err
	}
	left, err := s.refundable(ctx, o)
	if err != nil {
		return o, ret, err
	}
	if amount := min(left, ret.Refund.Amount); amount > 0 {
		reason := "return " + ret.ID
		if req.Reason != "" {
			reason += ": " + req.Reason
		}
		o, err = s.refund(ctx, o, shopd.Money{Amount: amount, Currency: o.Total.Currency}, reason)
	}
	return o, ret, err
}

type returnedEvent struct {
	Order  order.Order `json:"order"`
	Return Return      `json:"return"`
}

func appendEvent(ctx context.Context, tx event.Appender, typ, subject string, data any, now time.Time) error {
	e, err := event.New(typ, subject, data, now)
	if err != nil {
		return err
	}
	return tx.AppendEvent(ctx, e)
}

func fieldErr(field, msg string) error {
	return &shopd.Error{Code: shopd.EINVALID, Type: "validation", Message: "The request has invalid fields.",
		Fields: []shopd.FieldError{{Field: field, Message: msg}}}
}
