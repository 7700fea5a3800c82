// Package checkout turns a cart into a paid order without overselling and
// without charging twice.
//
// The protocol:
//
//  1. Quote the cart in the shipping region (prices, discount, tax, shipping).
//  2. In ONE transaction: insert the order (pending_payment) and its payment
//     row with the payment's idempotency key, append order.created, count
//     the buyer's units against purchase limits, redeem the discount code,
//     and reserve the stock — last, so the hot stock rows stay locked for
//     the shortest time. Any failure rolls everything back.
//  3. After that commit, and outside any transaction, take the payment
//     (payment.Service.Execute).
//  4. The payment's settle hook, running in the transaction that records the
//     payment's outcome — whether from step 3, the reconciler after a crash,
//     or a gateway webhook — makes the order paid (the reservation becomes a
//     sale) or canceled (stock, discount use and purchase counts are given
//     back). So an order and its payment can never disagree.
package checkout

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/cart"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/idempotency"
	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/payment"
)

// Tx is what checkout changes in one transaction.
type Tx interface {
	event.Appender
	idempotency.Claimer
	InsertOrder(ctx context.Context, o order.Order) error
	LockOrder(ctx context.Context, id string) (order.Order, error)
	LockOrders(ctx context.Context, ids []string) ([]order.Order, error)
	UpdateOrderStatus(ctx context.Context, o order.Order) error
	UpdateOrderStatuses(ctx context.Context, os []order.Order) error
	InsertPayment(ctx context.Context, p payment.Payment) error
	ReserveStock(ctx context.Context, req inventory.ReserveRequest) (inventory.Reservation, error)
	CommitReservation(ctx context.Context, reference string) (inventory.Reservation, error)
	CommitReservations(ctx context.Context, references []string) (missing []string, err error)
	ReleaseReservation(ctx context.Context, reference string) (int, error)
	RedeemDiscount(ctx context.Context, code, customer, orderRef string) (cart.Discount, error)
	ReleaseDiscount(ctx context.Context, orderRef string) (bool, error)
	CountPurchase(ctx context.Context, buyer, productID string, quantity, limit int64) error
	UncountPurchase(ctx context.Context, buyer, productID string, quantity int64) error

	// For batches of checkouts (PlaceOrders): the same writes for many at once.
	ClaimKeys(ctx context.Context, recs []idempotency.Record) (claimed []bool, err error)
	ClaimNewKeys(ctx context.Context, recs []idempotency.Record) error
	ReleaseKeys(ctx context.Context, recs []idempotency.Record) error
	InsertOrders(ctx context.Context, os []order.Order) error
	InsertPayments(ctx context.Context, ps []payment.Payment) error
	AppendEvents(ctx context.Context, es []event.Event) error
	ReserveStocks(ctx context.Context, reqs []inventory.ReserveRequest) (errs []error, err error)
	Savepoint(ctx context.Context, fn func() error) error
	// Pipeline runs fn with its writes sent to the database together; any
	// failure among them is Pipeline's (see sqlstore.Tx.Pipeline).
	Pipeline(ctx context.Context, fn func() error) error
}

// Store runs checkout's transactions.
type Store interface {
	InTx(ctx context.Context, fn func(tx Tx) error) error
	Order(ctx context.Context, id string) (order.Order, error)
}

// Carts quotes carts.
type Carts interface {
	SetRegion(ctx context.Context, id string, who cart.Caller, region string) (cart.Quote, error)
}

// Reservations builds validated stock reservation requests.
type Reservations interface {
	NewReserveRequest(reference, marketCode string, lines []inventory.Line) (inventory.ReserveRequest, error)
}

// Payments prepares and takes payments.
type Payments interface {
	Prepare(req payment.Request) (payment.Payment, error)
	Leased(p payment.Payment) payment.Payment
	NewBatch(ctx context.Context, opts payment.BatchOptions, report func(payment.Payment, error)) *payment.Batch
	OnSettleBatch(h payment.BatchSettleHook)
}

// Service checks carts out.
type Service struct {
	store    Store
	carts    Carts
	stock    Reservations
	payments Payments
	clock    shopd.Clock
	placer   *Placer
	charges  *payment.Batch // takes every checkout's payment

	mu      sync.Mutex
	waiting map[string]chan charged // by payment ID

	failed atomic.Int64                // batches redone one by one (FailedBatches)
	log    atomic.Pointer[slog.Logger] // SetLogger
}

// charged is a payment's outcome, as payment.Service.Execute returns it.
type charged struct {
	p   payment.Payment
	err error
}

// maxCharges bounds the gateway calls of checkouts in flight; more wait.
const maxCharges = 1024

// placeWorkers is how many batches of checkouts are placed at once: one,
// since two would wait for each other's rows (the hot SKU's stock) and
// could deadlock on a buyer's purchase counts, locked in arrival order;
// the next batch fills while one commits.
const placeWorkers = 1

// NewService returns a checkout service and registers its settle hook with
// the payments service, so every settlement of an order's payment — here,
// by the reconciler, or by a webhook — moves the order.
func NewService(store Store, carts Carts, stock Reservations, payments Payments, clock shopd.Clock) *Service {
	s := &Service{store: store, carts: carts, stock: stock, payments: payments, clock: clock,
		waiting: map[string]chan charged{}}
	s.placer = NewPlacer(store, placeWorkers, s.batchFailed("placement"))
	s.charges = payments.NewBatch(context.Background(), payment.BatchOptions{Concurrency: maxCharges, Unlimited: true,
		Failed: s.batchFailed("payment outcomes")}, s.reported)
	payments.OnSettleBatch(s.settled)
	return s
}

// Close stops placing checkouts, after the batches in progress, and waits
// for the payments being taken; later checkouts fail with EUNAVAILABLE.
// The HTTP server must have stopped sending checkouts.
func (s *Service) Close() {
	s.placer.Close()
	s.charges.Close()
}

// FailedBatches returns how many batches of checkouts — placements or
// payment outcomes — failed as a whole and were redone one checkout at a
// time, with the same outcomes. Exported as a metric: it should stay at 0.
func (s *Service) FailedBatches() int64 { return s.failed.Load() }

// SetLogger makes the service log each failed batch (with the error that
// failed it); without one it only counts them.
func (s *Service) SetLogger(l *slog.Logger) { s.log.Store(l) }

// batchFailed counts and logs the failed batches of one kind.
func (s *Service) batchFailed(what string) func(n int, err error) {
	return func(n int, err error) {
		s.failed.Add(1)
		if l := s.log.Load(); l != nil {
			l.Warn("checkout: a batch failed and is redone one checkout at a time", slog.String("batch", what),
				slog.Int("checkouts", n), slog.String("error", err.Error()))
		}
	}
}

// execute takes a placed order's payment as payment.Service.Execute does,
// in a batch with the other checkouts': the payment was committed with its
// lease (payment.Service.Leased), so the gateway is called at once, and
// the outcomes are recorded together, orders moved by one settle hook call
// (settled).
func (s *Service) execute(p payment.Payment) (payment.Payment, error) {
	ch := make(chan charged, 1)
	s.mu.Lock()
	s.waiting[p.ID] = ch
	s.mu.Unlock()
	s.charges.SubmitLeased([]payment.Payment{p})
	c := <-ch
	return c.p, c.err
}

// reported hands a payment's outcome to the checkout waiting for it.
func (s *Service) reported(p payment.Payment, err error) {
	s.mu.Lock()
	ch := s.waiting[p.ID]
	delete(s.waiting, p.ID)
	s.mu.Unlock()
	if ch != nil {
		ch <- charged{p, err}
	}
}

// Request is a checkout.
type Request struct {
	CartID     string
	CustomerID string // the logged-in customer, "" for a guest
	Email      string // required for a guest; a customer's defaults to the account's
	ShipTo     order.Address
	Payment    payment.Method
}

// Result is a placed order and its payment.
type Result struct {
	Order   order.Order
	Payment payment.Payment
}

// Checkout places the cart's order and takes its payment. It returns the
// paid order; a declined payment returns the canceled order's Result with
// the decline error (EPAYMENT); an unknown outcome returns the pending order
// with an error wrapping payment.ErrUnknownOutcome: the reconciler settles
// it, never by charging again.
func (s *Service) Checkout(ctx context.Context, req Request) (Result, error) {
	if err := validate(&req); err != nil {
		return Result{}, err
	}
	q, err := s.carts.SetRegion(ctx, req.CartID, cart.Caller{CustomerID: req.CustomerID}, req.ShipTo.Region)
	if err != nil {
		return Result{}, err
	}
	if err := q.CheckoutError(); err != nil {
		return Result{}, err
	}
	if !strings.EqualFold(req.ShipTo.Country, q.Market.Country) {
		return Result{}, &shopd.Error{Code: shopd.EINVALID, Type: "validation", Message: "The request has invalid fields.",
			Fields: []shopd.FieldError{{Field: "ship_to.country", Message: "must be " + q.Market.Country + ", the cart's market"}}}
	}
	o, lines := s.orderFor(q, req)
	p, err := s.payments.Prepare(payment.Request{Reference: o.ID, CustomerID: req.CustomerID, Amount: o.Total, Capture: true, Method: req.Payment})
	if err != nil {
		return Result{}, err
	}
	p = s.payments.Leased(p)
	o.PaymentID = p.ID
	rr, err := s.stock.NewReserveRequest(o.ID, o.Market, lines)
	if err != nil {
		return Result{}, err
	}
	pl := Placement{Key: idempotency.PendingFrom(ctx), Order: o, Payment: p, Limits: limitedUnits(q), Reserve: rr}
	if err := s.placer.Place(ctx, pl); err != nil {
		return Result{}, err
	}
	if pl.Key != nil {
		pl.Key.Claimed = true
	}
	shopd.CrashPoint("checkout.committed") // order, payment row and reservation committed; gateway not called
	paid, perr := s.execute(p)
	res := Result{Payment: paid}
	// The settle hook moved the order; read it back as it now stands.
	if res.Order, err = s.store.Order(context.WithoutCancel(ctx), o.ID); err != nil {
		return res, errors.Join(perr, err)
	}
	return res, perr
}

// Placement is what one checkout writes in its transaction.
type Placement struct {
	Key     *idempotency.Pending // the request's Idempotency-Key, if any
	Order   order.Order          // pending_payment, with PaymentID set
	Payment payment.Payment      // pending, from payment.Service.Prepare
	Limits  []ProductUnits       // units of products with a purchase limit, sorted by product
	Reserve inventory.ReserveRequest
}

// PlaceOrder is checkout's transaction: the request's idempotency key, the
// order, its payment row and order.created first, then the buyer's
// purchase counts, the discount redemption and the stock reservation last,
// so that the hottest rows (a drop's stock) stay locked for the shortest
// time. Any error leaves nothing; a key that an earlier request holds
// returns its *idempotency.Replay or conflict.
func PlaceOrder(ctx context.Context, tx Tx, pl Placement) error {
	if pl.Key != nil {
		if err := pl.Key.Claim(ctx, tx); err != nil {
			return err
		}
	}
	o := pl.Order
	if err := tx.InsertOrder(ctx, o); err != nil {
		return err
	}
	if err := tx.InsertPayment(ctx, pl.Payment); err != nil {
		return err
	}
	if err := order.AppendEvent(ctx, tx, "order.created", o); err != nil {
		return err
	}
	if err := takeHolds(ctx, tx, pl); err != nil {
		return err
	}
	_, err := tx.ReserveStock(ctx, pl.Reserve)
	shopd.CrashPoint("checkout.reserving") // stock reserved, nothing committed
	return err
}

// takeHolds counts a placement's units against purchase limits and
// redeems its discount code.
func takeHolds(ctx context.Context, tx Tx, pl Placement) error {
	for _, u := range pl.Limits {
		if err := tx.CountPurchase(ctx, buyer(pl.Order), u.Product, u.Quantity, u.Limit); err != nil {
			return err
		}
	}
	if pl.Order.DiscountCode != "" {
		_, err := tx.RedeemDiscount(ctx, pl.Order.DiscountCode, buyer(pl.Order), pl.Order.ID)
		return err
	}
	return nil
}

// untakeHolds gives back what takeHolds took, in the same order.
func untakeHolds(ctx context.Context, tx Tx, pl Placement) error {
	for _, u := range pl.Limits {
		if err := tx.UncountPurchase(ctx, buyer(pl.Order), u.Product, u.Quantity); err != nil {
			return err
		}
	}
	if pl.Order.DiscountCode != "" {
		_, err := tx.ReleaseDiscount(ctx, pl.Order.ID)
		return err
	}
	return nil
}

// holds tells whether a placement takes holds besides stock.
func (pl Placement) holds() bool { return len(pl.Limits) > 0 || pl.Order.DiscountCode != "" }

// validate checks the outside input of a checkout.
func validate(req *Request) error {
	var v shopd.Validation
	order.CheckAddress(&v, &req.ShipTo)
	req.Email = strings.TrimSpace(req.Email)
	if len(req.Email) > 254 {
		v.Addf("email", "must be at most 254 characters")
	}
	req.Email = strings.ToLower(req.Email)
	if req.CustomerID == "" && (req.Email == "" || !strings.Contains(req.Email, "@")) {
		v.Addf("email", "is required for a guest checkout")
	}
	v.Check(req.CartID != "" && len(req.CartID) <= 64, "cart_id", "is required")
	return v.Err()
}

// orderFor turns a quote that passed CheckoutError into a pending order and
// the stock it needs.
func (s *Service) orderFor(q cart.Quote, req Request) (order.Order, []inventory.Line) {
	var lines []inventory.Line
	now := s.clock.Now()
	b := q.Breakdown
	o := order.Order{
		ID: shopd.NewID("ord"), CustomerID: req.CustomerID, Email: req.Email, Market: q.Market.Code,
		Status: order.StatusPendingPayment, RefundStatus: order.RefundNone, TaxIncluded: b.TaxIncluded,
		Subtotal: b.Subtotal, Discount: b.Discount, Shipping: b.Shipping, Tax: b.Tax, Total: b.Total, Refunded: shopd.Zero(b.Currency),
		ShipTo: req.ShipTo, CreatedAt: now, UpdatedAt: now,
	}
	for _, l := range q.Lines {
		title := l.ProductTitle
		if l.VariantTitle != "" {
			title += " / " + l.VariantTitle
		}
		o.Lines = append(o.Lines, order.Line{
			ID: shopd.NewID("oln"), VariantID: l.VariantID, ProductID: l.ProductID, SKU: l.SKU, Title: title,
			Quantity: int64(l.Quantity), UnitPrice: l.UnitPrice,
			Subtotal: l.Price.Subtotal, Discount: l.Price.Discount, Tax: l.Price.Tax, Total: l.Price.Total,
		})
		lines = append(lines, inventory.Line{SKU: l.SKU, Quantity: int64(l.Quantity)})
	}
	if q.Discount != nil {
		o.DiscountCode = q.Discount.Code
	}
	return o, lines
}

// ProductUnits is how many units of a product with a purchase limit an
// order buys.
type ProductUnits struct {
	Product         string
	Quantity, Limit int64
}

// limitedUnits sums the quote's units per product that has a purchase
// limit, sorted by product ID so that concurrent checkouts lock the counts
// in one order.
func limitedUnits(q cart.Quote) []ProductUnits {
	byProduct := map[string]ProductUnits{}
	for _, l := range q.Lines {
		if l.PurchaseLimit > 0 {
			u := byProduct[l.ProductID]
			u.Product, u.Quantity, u.Limit = l.ProductID, u.Quantity+int64(l.Quantity), int64(l.PurchaseLimit)
			byProduct[l.ProductID] = u
		}
	}
	out := make([]ProductUnits, 0, len(byProduct))
	for _, id := range slices.Sorted(maps.Keys(byProduct)) {
		out = append(out, byProduct[id])
	}
	return out
}

// buyer names who buys, for purchase limits and per-customer discount
// limits: the customer, or a guest's email.
func buyer(o order.Order) string {
	if o.CustomerID != "" {
		return o.CustomerID
	}
	return "email:" + o.Email
}

// settled is the payment settle hook: it runs in the transaction that
// records payments' outcomes — checkouts' a batch at a time, one from the
// reconciler or a webhook — and moves their orders with them: paid (the
// reservation becomes a sale) or canceled (stock, discount use and
// purchase counts are given back).
func (s *Service) settled(ctx context.Context, ptx payment.Tx, ps []payment.Payment) error {
	outcome := map[string]payment.Payment{}
	var ids []string
	for _, p := range ps {
		if shopd.HasIDPrefix(p.Reference, "ord") { // not an invoice's
			outcome[p.Reference] = p
			ids = append(ids, p.Reference)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	tx, ok := ptx.(Tx)
	if !ok {
		return errors.New("checkout: the payment transaction cannot change orders")
	}
	os, err := tx.LockOrders(ctx, ids)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	var moved []order.Order
	var paid []string
	var events []event.Event
	for _, o := range os {
		if o.Status != order.StatusPendingPayment {
			continue // already moved: a settlement replayed by a webhook
		}
		typ := "order.paid"
		switch outcome[o.ID].Status {
		case payment.StatusSucceeded, payment.StatusAuthorized:
			err = o.Become(order.StatusPaid, now)
			paid = append(paid, o.ID)
		case payment.StatusFailed:
			typ = "order.canceled"
			if err = o.Become(order.StatusCanceled, now); err == nil {
				err = GiveBack(ctx, tx, o)
			}
		default:
			continue
		}
		if err != nil {
			return err
		}
		e, err := event.New(typ, o.ID, o, o.UpdatedAt)
		if err != nil {
			return err
		}
		moved, events = append(moved, o), append(events, e)
	}
	// The settling transaction pipelines its writes (payment.Service):
	// nothing written here is read back, and the reservations' stock rows
	// (a drop's hot row) are queued last (sqlstore's Tx.execLast), so that
	// they stay locked for the shortest time.
	if err := tx.UpdateOrderStatuses(ctx, moved); err != nil {
		return err
	}
	if err := tx.AppendEvents(ctx, events); err != nil {
		return err
	}
	lost, err := tx.CommitReservations(ctx, paid)
	if err != nil {
		return err
	}
	events = events[:0]
	for _, id := range lost {
		// The payment settled after the reservation lapsed (the shop was
		// down longer than the reservation TTL). The money is taken, so the
		// order stands; staff restock or refund it.
		i := slices.IndexFunc(moved, func(o order.Order) bool { return o.ID == id })
		e, err := event.New("order.reservation_lost", id, moved[i], now)
		if err != nil {
			return err
		}
		events = append(events, e)
	}
	return tx.AppendEvents(ctx, events)
}

// Releaser is what GiveBack changes; checkout's Tx is one.
type Releaser interface {
	UncountPurchase(ctx context.Context, buyer, productID string, quantity int64) error
	ReleaseDiscount(ctx context.Context, orderRef string) (bool, error)
	ReleaseReservation(ctx context.Context, reference string) (int, error)
}

// GiveBack releases what an order held — its units against purchase
// limits, its discount use and its active stock reservation — in the order
// checkout took them, so the two never deadlock. Canceling a paid order
// uses it too (its reservation is committed, so no stock moves here). It
// returns the store's errors.
func GiveBack(ctx context.Context, tx Releaser, o order.Order) error {
	units := map[string]int64{}
	for _, l := range o.Lines {
		units[l.ProductID] += l.Quantity
	}
	for _, product := range slices.Sorted(maps.Keys(units)) {
		if err := tx.UncountPurchase(ctx, buyer(o), product, units[product]); err != nil {
			return err
		}
	}
	if o.DiscountCode != "" {
		if _, err := tx.ReleaseDiscount(ctx, o.ID); err != nil {
			return err
		}
	}
	_, err := tx.ReleaseReservation(ctx, o.ID)
	return err
}
