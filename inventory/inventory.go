// Package inventory holds warehouses and stock: on hand and reserved per SKU
// and warehouse, reservations with expiry, the movement ledger that explains
// every change of on-hand, and sync from external warehouse systems.
//
// The invariant it keeps is DESIGN.md §2.1, no oversell: a reservation takes
// stock only with one conditional UPDATE whose condition is that enough is
// available (on hand − reserved), so available never goes below zero under
// any concurrency. The only way on hand can fall below reserved is a sync
// from the warehouse system reporting fewer units than shopd has promised;
// that row is then "short", shows 0 available, and raises an
// inventory.shortfall event instead of breaking the orders already taken.
package inventory

import (
	"context"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/event"
	"github.com/shopd/shopd/market"
)

// Warehouse is a place that holds stock and ships to the markets it serves.
type Warehouse struct {
	ID   string `json:"id"`   // "whs_…"
	Code string `json:"code"` // unique, [a-z0-9-], used by sync and imports
	Name string `json:"name"`
	// Markets lists the codes of the markets it ships to, sorted.
	Markets []string `json:"markets"`
	// Priority orders routing: lower first; ties by code.
	Priority int `json:"priority"`
	// Region is where the warehouse is (a state or province code such as "ON").
	Region string `json:"region"`
	// Active warehouses receive new reservations; inactive ones keep their
	// stock and reservations but are skipped by routing.
	Active bool `json:"active"`
	// SyncSequence is the sequence number of the last applied warehouse
	// sync; 0 if none was applied.
	SyncSequence int64 `json:"sync_sequence"`
	// SyncedAt is when the last sync was applied.
	SyncedAt  time.Time `json:"synced_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Stock is the stock of one SKU in one warehouse.
type Stock struct {
	SKU         string `json:"sku"`
	WarehouseID string `json:"warehouse_id"`
	Warehouse   string `json:"warehouse"` // the warehouse code
	OnHand      int64  `json:"on_hand"`
	Reserved    int64  `json:"reserved"`
	// LowStockThreshold raises inventory.low when available falls below it;
	// nil for none.
	LowStockThreshold *int64    `json:"low_stock_threshold"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// Available is what can still be reserved: on hand − reserved, never below
// zero (a row that a sync left short shows 0).
func (s Stock) Available() int64 { return max(0, s.OnHand-s.Reserved) }

// ShortBy is how many reserved units the warehouse does not have: reserved −
// on hand when a sync reported fewer units than are reserved, else 0.
func (s Stock) ShortBy() int64 { return max(0, s.Reserved-s.OnHand) }

// MovementKind says why on hand changed.
type MovementKind string

// Movement kinds. Every change of on hand writes exactly one movement, so
// that the sum of a row's movements is its on hand.
const (
	KindReceipt     MovementKind = "receipt"      // goods arrived
	KindSale        MovementKind = "sale"         // a reservation was committed (paid)
	KindReturn      MovementKind = "return"       // a customer return put back on the shelf
	KindAdjustment  MovementKind = "adjustment"   // a count, damage, loss, correction
	KindTransferOut MovementKind = "transfer_out" // moved to another warehouse
	KindTransferIn  MovementKind = "transfer_in"  // moved from another warehouse
	KindSync        MovementKind = "sync"         // set by the warehouse system
)

// Valid reports whether k is a known kind.
func (k MovementKind) Valid() bool {
	switch k {
	case KindReceipt, KindSale, KindReturn, KindAdjustment, KindTransferOut, KindTransferIn, KindSync:
		return true
	}
	return false
}

// Movement is one entry of the ledger: a change of on hand.
type Movement struct {
	ID          string       `json:"id"` // "mov_…"
	SKU         string       `json:"sku"`
	WarehouseID string       `json:"warehouse_id"`
	Warehouse   string       `json:"warehouse"` // code
	Kind        MovementKind `json:"kind"`
	Delta       int64        `json:"delta"`         // signed change of on hand
	OnHandAfter int64        `json:"on_hand_after"` // on hand right after the change
	Reference   string       `json:"reference"`     // order, transfer, purchase order, sync sequence…
	Note        string       `json:"note"`
	StaffKeyID  string       `json:"staff_key_id"` // who did it, when a staff key did
	CreatedAt   time.Time    `json:"created_at"`
}

// ReservationState is where a reservation line is in its life.
type ReservationState string

// Reservation states. Only active reservations hold stock.
const (
	ReservationActive    ReservationState = "active"
	ReservationCommitted ReservationState = "committed" // turned into a sale
	ReservationReleased  ReservationState = "released"  // given back (payment declined, checkout abandoned)
	ReservationExpired   ReservationState = "expired"   // given back by the expiry worker
)

// Line asks for a quantity of a SKU.
type Line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// Allocation is the part of a reservation held in one warehouse.
type Allocation struct {
	ID          string           `json:"id"` // "rsv_…"
	SKU         string           `json:"sku"`
	WarehouseID string           `json:"warehouse_id"`
	Warehouse   string           `json:"warehouse"` // code
	Quantity    int64            `json:"quantity"`
	State       ReservationState `json:"state"`
}

// Reservation is the stock held for one reference (a checkout or an order):
// each requested SKU allocated to one warehouse, or split across several
// when none could cover it alone.
type Reservation struct {
	Reference   string       `json:"reference"`
	Allocations []Allocation `json:"allocations"` // by SKU, then routing order
	ExpiresAt   time.Time    `json:"expires_at"`
}

// ReserveRequest asks to reserve stock for a reference. Build it with
// Service.NewReserveRequest, which validates it and sets the expiry.
type ReserveRequest struct {
	Reference string
	Market    string // routes to active warehouses serving this market
	Warehouse string // if set, only this one of them (code or ID): a box is packed where it was allocated
	Lines     []Line // a SKU may appear more than once; quantities add up
	ExpiresAt time.Time
}

// Receipt adds received goods to a warehouse.
type Receipt struct {
	Warehouse         string // code or ID
	SKU               string
	Quantity          int64
	Reference         string
	Note              string
	LowStockThreshold *int64 // sets the row's threshold when not nil
	StaffKeyID        string
}

// Adjustment corrects on hand by a signed delta.
type Adjustment struct {
	Warehouse         string // code or ID
	SKU               string
	Delta             int64
	Reason            string
	LowStockThreshold *int64
	StaffKeyID        string
}

// Transfer moves units between two warehouses.
type Transfer struct {
	From, To   string // codes or IDs
	SKU        string
	Quantity   int64
	Reference  string // "trf_…" made up if empty
	Note       string
	StaffKeyID string
}

// TransferResult is the stock of both rows after a transfer.
type TransferResult struct {
	Reference string `json:"reference"`
	From      Stock  `json:"from"`
	To        Stock  `json:"to"`
}

// Return puts returned units back on hand in a warehouse.
type Return struct {
	Warehouse  string // code or ID
	SKU        string
	Quantity   int64
	Reference  string // the order or return
	Note       string
	StaffKeyID string
}

// Count is one row of a warehouse snapshot: an absolute on hand.
type Count struct {
	SKU               string `json:"sku"`
	OnHand            int64  `json:"on_hand"`
	LowStockThreshold *int64 `json:"low_stock_threshold,omitempty"`
}

// Sync is a snapshot from an external warehouse system.
type Sync struct {
	Warehouse  string // code or ID
	Sequence   int64  // increases with every snapshot of the warehouse
	Counts     []Count
	StaffKeyID string
}

// Shortfall is a row that a sync left with fewer units than are reserved.
type Shortfall struct {
	SKU         string `json:"sku"`
	WarehouseID string `json:"warehouse_id"`
	Warehouse   string `json:"warehouse"`
	OnHand      int64  `json:"on_hand"`
	Reserved    int64  `json:"reserved"`
	ShortBy     int64  `json:"short_by"`
}

// SyncResult says what a sync did.
type SyncResult struct {
	WarehouseID string `json:"warehouse_id"`
	Warehouse   string `json:"warehouse"`
	Sequence    int64  `json:"sequence"`
	// Applied is false when this exact snapshot was applied before.
	Applied bool `json:"applied"`
	// Rows is how many rows the snapshot listed; Changed how many of them
	// changed on hand (each wrote a sync movement).
	Rows       int         `json:"rows"`
	Changed    int         `json:"changed"`
	Shortfalls []Shortfall `json:"shortfalls"`
}

// StockFilter selects a page of stock rows, ordered by SKU then warehouse ID.
type StockFilter struct {
	SKU       string
	Warehouse string // code or ID
	Cursor    string
	Limit     int
}

// StockPage is a page of stock rows.
type StockPage struct {
	Stock      []Stock
	NextCursor string
}

// MovementFilter selects a page of movements, newest first.
type MovementFilter struct {
	SKU       string
	Warehouse string // code or ID
	Kind      MovementKind
	Reference string
	Cursor    string
	Limit     int
}

// MovementPage is a page of movements.
type MovementPage struct {
	Movements  []Movement
	NextCursor string
}

// Event types written to the outbox in the transaction of the change.
const (
	EventLow       = "inventory.low"       // available fell below a row's low-stock threshold
	EventShortfall = "inventory.shortfall" // a sync left on hand below reserved
)

// LowStock is the data of an inventory.low event.
type LowStock struct {
	SKU         string `json:"sku"`
	WarehouseID string `json:"warehouse_id"`
	Warehouse   string `json:"warehouse"`
	Available   int64  `json:"available"`
	Threshold   int64  `json:"threshold"`
}

// Tx is what a transaction offers to inventory and to the modules that
// reserve stock inside a larger transaction (checkout: order, reservation,
// payment and events commit together). The store's transaction implements it.
type Tx interface {
	event.Appender
	// ReserveStock holds stock for req.Reference, all lines or none. Each
	// SKU goes to the first active warehouse serving the market, by
	// priority, that can cover its whole quantity; when none can, it is
	// split across them in priority order. It returns ECONFLICT
	// "out-of-stock" naming the SKU that cannot be covered (with a field
	// error at lines[i].quantity) and ECONFLICT "reservation-exists" if the
	// reference already holds active reservations.
	ReserveStock(ctx context.Context, req ReserveRequest) (Reservation, error)
	// CommitReservation turns the reference's active reservations into
	// sales: on hand and reserved both drop by the quantity and a sale
	// movement is written. Committing again returns the committed lines
	// unchanged. It returns ENOTFOUND "reservation-not-found" and ECONFLICT
	// "reservation-released" or "reservation-expired".
	CommitReservation(ctx context.Context, reference string) (Reservation, error)
	// ReleaseReservation gives back the reference's active reservations and
	// returns how many lines it released (0 if none was active). It returns
	// ENOTFOUND "reservation-not-found" for a reference that never reserved.
	ReleaseReservation(ctx context.Context, reference string) (int, error)
	// ReturnStock puts returned units back on hand with a return movement.
	// It returns EINVALID "unknown-warehouse" or "unknown-sku".
	ReturnStock(ctx context.Context, r Return) (Stock, error)
}

// Store is what Service needs from storage. Methods return ENOTFOUND
// "warehouse-not-found" for an unknown warehouse named in a path and
// EINVALID "unknown-warehouse" for one named in a body, EINVALID
// "unknown-sku" for SKUs the catalog does not have.
type Store interface {
	// InTx runs fn in one transaction.
	InTx(ctx context.Context, fn func(tx Tx) error) error

	// CreateWarehouse stores a new warehouse; ECONFLICT "warehouse-code-taken".
	CreateWarehouse(ctx context.Context, w Warehouse) error
	// Warehouse returns the warehouse with the ID or code.
	Warehouse(ctx context.Context, idOrCode string) (Warehouse, error)
	// Warehouses lists every warehouse by priority, then code.
	Warehouses(ctx context.Context) ([]Warehouse, error)
	// UpdateWarehouse reads the warehouse under a row lock, lets fn change
	// it and stores the result (fn's error aborts).
	UpdateWarehouse(ctx context.Context, idOrCode string, fn func(*Warehouse) error) (Warehouse, error)

	// Receive, Adjust and Transfer change on hand with a movement each; see
	// the Service methods of the same names.
	Receive(ctx context.Context, r Receipt) (Stock, error)
	Adjust(ctx context.Context, a Adjustment) (Stock, error)
	Transfer(ctx context.Context, t Transfer) (TransferResult, error)
	// Sync applies a snapshot; see Service.Sync. digest identifies the
	// snapshot's content.
	Sync(ctx context.Context, s Sync, digest string) (SyncResult, error)

	// Stock lists stock rows; Movements lists the ledger.
	Stock(ctx context.Context, f StockFilter) (StockPage, error)
	Movements(ctx context.Context, f MovementFilter) (MovementPage, error)
	// Reservation returns the reservation lines of a reference, every state.
	Reservation(ctx context.Context, reference string) (Reservation, error)

	// ExpireReservations releases up to limit active reservations that
	// expired at or before now, marking them expired, and returns how many
	// it released. Concurrent callers share the work without waiting on
	// each other.
	ExpireReservations(ctx context.Context, now time.Time, limit int) (int, error)
}

// Markets looks up market codes; market.Service implements it.
type Markets interface {
	Market(ctx context.Context, code string) (market.Market, error)
}

// ID prefixes.
const (
	WarehousePrefix   = "whs"
	ReservationPrefix = "rsv"
	MovementPrefix    = "mov"
	TransferPrefix    = "trf"
)

// DefaultReservationTTL is how long an unfinished checkout holds stock.
const DefaultReservationTTL = 10 * time.Minute

// DefaultExpiryBatch is how many reservations one ExpireReservations call
// releases at most.
const DefaultExpiryBatch = 500

// Errors.
var (
	// ErrWarehouseNotFound is returned for an unknown warehouse in a path.
	ErrWarehouseNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "warehouse-not-found", "No such warehouse.")
	// ErrReservationNotFound is returned for a reference that never reserved stock.
	ErrReservationNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "reservation-not-found", "No reservation has this reference.")
)

// Service manages warehouses and stock.
type Service struct {
	store Store
	clock shopd.Clock
	// Markets checks the market codes a warehouse serves. If nil, codes are
	// checked for form only.
	Markets Markets
	// ReservationTTL is how long a reservation holds stock before the
	// expiry worker gives it back; DefaultReservationTTL if zero.
	ReservationTTL time.Duration
	// ExpiryBatch bounds one ExpireReservations call; DefaultExpiryBatch if zero.
	ExpiryBatch int
}

// NewService returns a Service on store.
func NewService(store Store, clock shopd.Clock) *Service { return &Service{store: store, clock: clock} }

func (s *Service) ttl() time.Duration {
	if s.ReservationTTL > 0 {
		return s.ReservationTTL
	}
	return DefaultReservationTTL
}

// CreateWarehouse validates nw and stores it. It returns EINVALID with field
// errors, EINVALID "unknown-market", or ECONFLICT "warehouse-code-taken".
func (s *Service) CreateWarehouse(ctx context.Context, nw NewWarehouse) (Warehouse, error) {
	w, err := nw.build()
	if err != nil {
		return Warehouse{}, err
	}
	if err := s.checkMarkets(ctx, w.Markets); err != nil {
		return Warehouse{}, err
	}
	now := s.clock.Now()
	w.ID, w.CreatedAt, w.UpdatedAt = shopd.NewID(WarehousePrefix), now, now
	if err := s.store.CreateWarehouse(ctx, w); err != nil {
		return Warehouse{}, err
	}
	return w, nil
}

// Warehouse returns the warehouse with the ID or code, or ENOTFOUND
// "warehouse-not-found".
func (s *Service) Warehouse(ctx context.Context, idOrCode string) (Warehouse, error) {
	if !validRef(idOrCode) {
		return Warehouse{}, ErrWarehouseNotFound
	}
	return s.store.Warehouse(ctx, idOrCode)
}

// Warehouses lists every warehouse by priority, then code.
func (s *Service) Warehouses(ctx context.Context) ([]Warehouse, error) {
	return s.store.Warehouses(ctx)
}

// UpdateWarehouse changes a warehouse. It returns ENOTFOUND, EINVALID with
// field errors or "unknown-market".
func (s *Service) UpdateWarehouse(ctx context.Context, idOrCode string, u WarehouseUpdate) (Warehouse, error) {
	if !validRef(idOrCode) {
		return Warehouse{}, ErrWarehouseNotFound
	}
	if err := u.check(); err != nil {
		return Warehouse{}, err
	}
	if u.Markets != nil {
		if err := s.checkMarkets(ctx, *u.Markets); err != nil {
			return Warehouse{}, err
		}
	}
	now := s.clock.Now()
	return s.store.UpdateWarehouse(ctx, idOrCode, func(w *Warehouse) error {
		u.apply(w)
		w.UpdatedAt = now
		return nil
	})
}

// checkMarkets makes sure every code names an existing market.
func (s *Service) checkMarkets(ctx context.Context, codes []string) error {
	if s.Markets == nil {
		return nil
	}
	for _, c := range codes {
		if _, err := s.Markets.Market(ctx, c); err != nil {
			if shopd.ErrorCode(err) == shopd.ENOTFOUND {
				return shopd.TypedErrorf(shopd.EINVALID, "unknown-market", "Unknown market %q.", c)
			}
			return err
		}
	}
	return nil
}

// Receive adds received units to a warehouse's stock of a SKU, creating the
// row if needed, with a receipt movement, and returns the row. It returns
// EINVALID (field errors, "unknown-warehouse", "unknown-sku").
func (s *Service) Receive(ctx context.Context, r Receipt) (Stock, error) {
	if err := r.check(); err != nil {
		return Stock{}, err
	}
	return s.store.Receive(ctx, r)
}

// Adjust changes on hand by a signed delta with an adjustment movement. A
// decrease that would leave on hand below reserved is refused with ECONFLICT
// "would-oversell": units promised to shoppers cannot be adjusted away (a
// sync from the warehouse system may record such a loss; it raises a
// shortfall). It returns EINVALID (field errors, "unknown-warehouse",
// "unknown-sku").
func (s *Service) Adjust(ctx context.Context, a Adjustment) (Stock, error) {
	if err := a.check(); err != nil {
		return Stock{}, err
	}
	return s.store.Adjust(ctx, a)
}

// Transfer moves available units of a SKU from one warehouse to another
// atomically, with a transfer_out and a transfer_in movement sharing a
// reference. Reserved units cannot move: it returns ECONFLICT
// "insufficient-stock" if the source has fewer available, and EINVALID
// (field errors, "unknown-warehouse", "unknown-sku").
func (s *Service) Transfer(ctx context.Context, t Transfer) (TransferResult, error) {
	if err := t.check(); err != nil {
		return TransferResult{}, err
	}
	if t.Reference == "" {
		t.Reference = shopd.NewID(TransferPrefix)
	}
	return s.store.Transfer(ctx, t)
}

// Return puts returned units back on hand with a return movement. It
// returns EINVALID (field errors, "unknown-warehouse", "unknown-sku").
func (s *Service) Return(ctx context.Context, r Return) (Stock, error) {
	if err := r.check(); err != nil {
		return Stock{}, err
	}
	var out Stock
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		out, err = tx.ReturnStock(ctx, r)
		return err
	})
	return out, err
}

// Sync applies a snapshot of absolute on-hand counts from the warehouse
// system. SKUs not listed keep their counts. Reservations are untouched: a
// row whose new on hand is below its reserved units becomes short (0
// available) and raises inventory.shortfall. The same sequence with the same
// snapshot changes nothing (Applied false); it returns ECONFLICT
// "sync-sequence-reused" for the same sequence with another snapshot,
// ECONFLICT "stale-sync" for a sequence older than the last applied,
// ENOTFOUND "warehouse-not-found", EINVALID with field errors or
// "unknown-sku" listing the SKUs the catalog does not have.
func (s *Service) Sync(ctx context.Context, sy Sync) (SyncResult, error) {
	digest, err := sy.check()
	if err != nil {
		return SyncResult{}, err
	}
	if !validRef(sy.Warehouse) {
		return SyncResult{}, ErrWarehouseNotFound
	}
	return s.store.Sync(ctx, sy, digest)
}

// Stock lists stock rows by SKU then warehouse. It returns EINVALID for bad
// filters or cursor.
func (s *Service) Stock(ctx context.Context, f StockFilter) (StockPage, error) {
	var v shopd.Validation
	if f.SKU != "" {
		checkSKU(&v, "sku", f.SKU)
	}
	if f.Warehouse != "" {
		v.Check(validRef(f.Warehouse), "warehouse", "must be a warehouse code or ID")
	}
	checkLimit(&v, f.Limit)
	if f.Cursor != "" {
		_, _, ok := DecodeStockCursor(f.Cursor)
		v.Check(ok, "cursor", "is not a cursor from this list")
	}
	if err := v.Err(); err != nil {
		return StockPage{}, err
	}
	return s.store.Stock(ctx, f)
}

// Movements lists the ledger, newest first. It returns EINVALID for bad
// filters or cursor.
func (s *Service) Movements(ctx context.Context, f MovementFilter) (MovementPage, error) {
	var v shopd.Validation
	if f.SKU != "" {
		checkSKU(&v, "sku", f.SKU)
	}
	if f.Warehouse != "" {
		v.Check(validRef(f.Warehouse), "warehouse", "must be a warehouse code or ID")
	}
	if f.Kind != "" {
		v.Check(f.Kind.Valid(), "kind", "must be receipt, sale, return, adjustment, transfer_out, transfer_in or sync")
	}
	if f.Reference != "" {
		v.Text("reference", f.Reference, MaxReferenceLen, false)
	}
	checkLimit(&v, f.Limit)
	if f.Cursor != "" {
		v.Check(shopd.HasIDPrefix(f.Cursor, MovementPrefix), "cursor", "is not a cursor from this list")
	}
	if err := v.Err(); err != nil {
		return MovementPage{}, err
	}
	return s.store.Movements(ctx, f)
}

// NewReserveRequest validates a reservation request and sets its expiry to
// now + ReservationTTL. It returns EINVALID with field errors (lines[i].sku,
// lines[i].quantity).
func (s *Service) NewReserveRequest(reference, marketCode string, lines []Line) (ReserveRequest, error) {
	req := ReserveRequest{Reference: reference, Market: marketCode, Lines: lines, ExpiresAt: s.clock.Now().Add(s.ttl())}
	return req, req.Validate()
}

// Reserve holds stock for a reference in its own transaction; see
// Tx.ReserveStock for routing and errors. It also returns EINVALID for bad
// input.
func (s *Service) Reserve(ctx context.Context, reference, marketCode string, lines []Line) (Reservation, error) {
	req, err := s.NewReserveRequest(reference, marketCode, lines)
	if err != nil {
		return Reservation{}, err
	}
	var out Reservation
	err = s.store.InTx(ctx, func(tx Tx) error {
		var err error
		out, err = tx.ReserveStock(ctx, req)
		return err
	})
	return out, err
}

// Commit turns a reference's reservations into sales in its own
// transaction; see Tx.CommitReservation.
func (s *Service) Commit(ctx context.Context, reference string) (Reservation, error) {
	if !validReference(reference) {
		return Reservation{}, ErrReservationNotFound
	}
	var out Reservation
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		out, err = tx.CommitReservation(ctx, reference)
		return err
	})
	return out, err
}

// Release gives back a reference's active reservations in its own
// transaction and returns how many lines it released; see
// Tx.ReleaseReservation.
func (s *Service) Release(ctx context.Context, reference string) (int, error) {
	if !validReference(reference) {
		return 0, ErrReservationNotFound
	}
	var n int
	err := s.store.InTx(ctx, func(tx Tx) error {
		var err error
		n, err = tx.ReleaseReservation(ctx, reference)
		return err
	})
	return n, err
}

// Reservation returns every reservation line of a reference, or ENOTFOUND
// "reservation-not-found".
func (s *Service) Reservation(ctx context.Context, reference string) (Reservation, error) {
	if !validReference(reference) {
		return Reservation{}, ErrReservationNotFound
	}
	return s.store.Reservation(ctx, reference)
}

// ExpireReservations releases one batch of reservations whose time ran out
// (an abandoned checkout) and returns how many it released. It is the
// expiry worker's job: call it until it returns less than a full batch.
// Several workers may run it at once; they share the work.
func (s *Service) ExpireReservations(ctx context.Context) (int, error) {
	n := s.ExpiryBatch
	if n <= 0 {
		n = DefaultExpiryBatch
	}
	return s.store.ExpireReservations(ctx, s.clock.Now(), n)
}
