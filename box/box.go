// Package box runs a box plan's periods: staff choose the period's pool of
// products, an allocation run picks every paid subscriber's box from it
// with package boxalloc (holding each box's stock at the warehouse that
// will pack it), staff inspect and approve the run, and each box becomes
// the period's paid order.
//
// A box exists only for a paid period (a paid invoice): a subscriber whose
// renewal is still in dunning gets no box and holds no stock; once the
// renewal is paid, the next run for the period (a top-up) allocates their
// box from what is left. Every subscription has at most one box per period
// (a unique key), so rerunning a period changes nothing once every paid
// subscriber has a box.
package box

import (
	"context"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/boxalloc"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/subscription"
)

// Limits on staff input.
const (
	MaxPoolItems      = 500 // products offered in one period (catalog.MaxVariantLookup)
	MaxHistoryPeriods = 36  // how far back "never the same product twice" looks
	DefaultHistory    = 12
	MaxCost           = 1_000_000_000_000
	MaxBoost          = 100 // points
	// MaxHold bounds how long an unapproved run holds its stock.
	MaxHold     = 90 * 24 * time.Hour
	DefaultHold = 14 * 24 * time.Hour
)

// RunStatus is where an allocation run is.
type RunStatus string

// Run statuses. A run that is allocating or proposed holds stock; at most
// one such run exists per plan, period and market.
const (
	RunAllocating RunStatus = "allocating" // writing its boxes (a crash leaves it here; approve or discard it)
	RunProposed   RunStatus = "proposed"   // every box written, stock held: staff inspect and approve
	RunApproved   RunStatus = "approved"   // every box is an order
	RunDiscarded  RunStatus = "discarded"  // its boxes deleted and their stock released
)

// Pending reports whether a run in status s holds stock and blocks another
// run of its period.
func (s RunStatus) Pending() bool { return s == RunAllocating || s == RunProposed }

// Status is where a box is.
type Status string

// Box statuses.
const (
	StatusAllocated Status = "allocated" // items chosen, stock held
	StatusOrdered   Status = "ordered"   // the period's paid order exists
)

// Events in the outbox.
const (
	EventRunProposed  = "box_run.proposed"
	EventRunApproved  = "box_run.approved"
	EventRunDiscarded = "box_run.discarded"
)

// PoolItem is one product offered in a period: a variant of a catalog
// product, whose attributes (category, brand, ingredients, skin_types,
// skin_tones, hair_types, concerns, tags) describe it to the scoring.
type PoolItem struct {
	VariantID string  `json:"variant_id"`
	ProductID string  `json:"product_id"` // filled in from the catalog
	SKU       string  `json:"sku"`        // filled in from the catalog
	Cost      int64   `json:"cost"`       // what it costs the merchant, minor units; reported, not scored
	Boost     float64 `json:"boost"`      // the merchant's bonus in points (scaled by the weights' boost)
}

// Pool is the products offered in a plan's period, in the staff's order.
type Pool struct {
	PlanID    string     `json:"plan_id"`
	Period    string     `json:"period"`
	Items     []PoolItem `json:"items"`
	UpdatedAt time.Time  `json:"updated_at,omitzero"`
}

// Options are a run's constraints and scoring weights.
type Options struct {
	Market         string            `json:"market"`
	CategoryLimit  int               `json:"category_limit"`            // items per category in a box; 0 means 1
	CategoryLimits map[string]int    `json:"category_limits,omitempty"` // per-category overrides
	ValueFloor     int64             `json:"value_floor"`               // minimum retail value of a box in the market's minor units
	History        int               `json:"history"`                   // no product received in the last History periods; 0 means DefaultHistory
	Weights        *boxalloc.Weights `json:"weights,omitempty"`         // nil means boxalloc.DefaultWeights
	Seed           int64             `json:"seed"`
	Hold           time.Duration     `json:"hold"` // how long boxes hold stock before approval; 0 means DefaultHold
}

// Report is what a run found: the allocation's quality and what could not
// be filled.
type Report struct {
	Subscribers int                 `json:"subscribers"` // paid, without a box, when the run started
	Boxes       int                 `json:"boxes"`       // written (each holding its stock)
	Objective   boxalloc.Points     `json:"objective"`
	Bound       boxalloc.Points     `json:"bound"`
	Gap         float64             `json:"gap"`
	Greedy      boxalloc.Points     `json:"greedy_objective"` // the first-come-first-served baseline on the same instance
	Unfilled    []boxalloc.Unfilled `json:"unfilled"`
	Usage       []boxalloc.Usage    `json:"usage"`
	Elapsed     time.Duration       `json:"elapsed"`
}

// Run is one allocation of a plan's period in one market.
type Run struct {
	ID        string    `json:"id"` // "brn_…"
	PlanID    string    `json:"plan_id"`
	Period    string    `json:"period"`
	Market    string    `json:"market"`
	Status    RunStatus `json:"status"`
	Options   Options   `json:"options"`
	Report    Report    `json:"report"`
	Boxes     int       `json:"boxes"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Item is one product in a box, with why it was chosen.
type Item struct {
	VariantID string          `json:"variant_id"`
	ProductID string          `json:"product_id"`
	SKU       string          `json:"sku"`
	Title     string          `json:"title"`
	Score     boxalloc.Points `json:"score"` // its match to the subscriber's profile
	Price     boxalloc.Points `json:"price"` // the scarcity price that steered it (the stock constraint's dual)
}

// Box is one subscriber's box for a period.
type Box struct {
	ID             string          `json:"id"` // "box_…"
	RunID          string          `json:"run_id"`
	PlanID         string          `json:"plan_id"`
	Period         string          `json:"period"`
	SubscriptionID string          `json:"subscription_id"`
	CustomerID     string          `json:"customer_id"`
	InvoiceID      string          `json:"invoice_id"`
	WarehouseID    string          `json:"warehouse_id"`
	OrderID        string          `json:"order_id"` // the order it becomes; its stock is reserved under this ID
	Status         Status          `json:"status"`
	Score          boxalloc.Points `json:"score"`
	Items          []Item          `json:"items"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// Subscriber is a paid period without a box: who is to get one.
type Subscriber struct {
	SubscriptionID string
	CustomerID     string
	InvoiceID      string
	TimeZone       string
	PeriodStart    time.Time
	Profile        boxalloc.Profile
	Recent         []string // product IDs received in the history window
}

// SubscriberQuery selects the paid periods of a plan in a market whose
// period starts in [From, To) (a margin around the month: the service
// keeps those that start in the month in the subscription's time zone),
// that have no box for Period, with the products received in periods
// [HistoryFrom, Period).
type SubscriberQuery struct {
	PlanID, Market, Period, HistoryFrom string
	From, To                            time.Time
}

// Stock is what the market's warehouses hold of the pool's SKUs.
type Stock struct {
	Warehouses []boxalloc.Warehouse // active warehouses serving the market, in routing order
	Levels     []StockLevel
}

// StockLevel is the available quantity of a SKU at a warehouse.
type StockLevel struct {
	SKU         string
	WarehouseID string
	Available   int64
}

// BoxFilter selects boxes, newest first.
type BoxFilter struct {
	RunID          string
	SubscriptionID string
	CustomerID     string
	Status         Status
	Before         string // a box ID: older ones only (cursor)
	Limit          int
}

// RunFilter selects runs, newest first.
type RunFilter struct {
	PlanID string
	Period string
	Before string
	Limit  int
}

// OrderInput is an allocated box with what its order needs.
type OrderInput struct {
	Box          Box
	Subscription subscription.Subscription
	Invoice      subscription.Invoice
	Email        string
}

// Tx is a transaction on the box tables, orders and stock.
type Tx interface {
	subscription.OrderTx
	// The bulk forms that approve a batch of boxes in a few statements.
	InsertOrders(ctx context.Context, os []order.Order) error
	AppendEvents(ctx context.Context, es []event.Event) error
	// CommitReservations commits the active reservations of the
	// references and returns those that hold nothing active.
	CommitReservations(ctx context.Context, references []string) ([]string, error)
	// InsertBox stores a new box and what it holds (box_items); ECONFLICT
	// "box-exists" if the subscription has a box for the period.
	InsertBox(ctx context.Context, b Box) error
	// ToOrder returns up to limit allocated boxes of the run, locked
	// (rows another transaction holds are skipped), with their
	// subscriptions, invoices and customers' emails.
	ToOrder(ctx context.Context, runID string, limit int) ([]OrderInput, error)
	// SetOrdered marks the boxes ordered (each becomes the order with its
	// OrderID) and records the orders on their invoices.
	SetOrdered(ctx context.Context, bs []Box) error
	// DeleteBoxes deletes up to limit allocated boxes of the run and
	// returns them; ECONFLICT "box-run-approving" if a box of the run is
	// ordered already.
	DeleteBoxes(ctx context.Context, runID string, limit int) ([]Box, error)
	ReleaseReservation(ctx context.Context, reference string) (int, error)
	// LockRun returns the run, locked.
	LockRun(ctx context.Context, id string) (Run, error)
	// SaveRun stores the run and appends event unless "".
	SaveRun(ctx context.Context, r Run, event string) error
}

// Store keeps pools, runs and boxes.
type Store interface {
	InTx(ctx context.Context, fn func(tx Tx) error) error
	Pool(ctx context.Context, planID, period string) (Pool, error)
	SavePool(ctx context.Context, p Pool) error
	// InsertRun stores a new run; ECONFLICT "run-pending" if another run
	// of its plan, period and market is allocating or proposed.
	InsertRun(ctx context.Context, r Run) error
	Run(ctx context.Context, id string) (Run, error)
	// PendingRun returns the allocating or proposed run of the plan,
	// period and market; ENOTFOUND if there is none.
	PendingRun(ctx context.Context, planID, period, market string) (Run, error)
	Runs(ctx context.Context, f RunFilter) ([]Run, error)
	Box(ctx context.Context, id string) (Box, error)
	Boxes(ctx context.Context, f BoxFilter) ([]Box, error)
	Subscribers(ctx context.Context, q SubscriberQuery) ([]Subscriber, error)
	Stock(ctx context.Context, market string, skus []string) (Stock, error)
}

// The stores' answers for unknown IDs.
var (
	ErrRunNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "box-run-not-found", "No such box allocation run.")
	ErrBoxNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "box-not-found", "No such box.")
)

// orderLines are a box's items as order lines (one unit each).
func orderLines(b Box) []order.Line {
	lines := make([]order.Line, len(b.Items))
	for i, it := range b.Items {
		lines[i] = order.Line{VariantID: it.VariantID, ProductID: it.ProductID, SKU: it.SKU, Title: it.Title, Quantity: 1}
	}
	return lines
}
