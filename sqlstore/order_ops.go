package sqlstore

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/shopd/shopd/inventory"
	"github.com/shopd/shopd/order"
	"github.com/shopd/shopd/orderops"
)

// OrderOpsStore implements orderops.Store: fulfillments, returns, cancels
// and refunds of orders in one transaction with stock and the outbox.
type OrderOpsStore struct{ db *DB }

var (
	_ orderops.Store = (*OrderOpsStore)(nil)
	_ orderops.Tx    = (*Tx)(nil)
)

// OrderOps returns the order operations store.
func (db *DB) OrderOps() *OrderOpsStore { return &OrderOpsStore{db: db} }

// InTx implements orderops.Store.
func (s *OrderOpsStore) InTx(ctx context.Context, fn func(tx orderops.Tx) error) error {
	return s.db.InTx(ctx, func(tx *Tx) error { return fn(tx) })
}

// Order implements orderops.Store.
func (s *OrderOpsStore) Order(ctx context.Context, id string) (order.Order, error) {
	return s.db.Orders().Order(ctx, id)
}

// Fulfillments implements orderops.Store.
func (s *OrderOpsStore) Fulfillments(ctx context.Context, orderID string) ([]orderops.Fulfillment, error) {
	return orderFulfillments(ctx, s.db.reader(), orderID)
}

// SoldAllocations returns the committed stock allocations of an order (none
// if its reservation lapsed before payment).
func (tx *Tx) SoldAllocations(ctx context.Context, orderID string) ([]inventory.Allocation, error) {
	r, err := invReservation(ctx, tx, orderID)
	if errors.Is(err, inventory.ErrReservationNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []inventory.Allocation
	for _, a := range r.Allocations {
		if a.State == inventory.ReservationCommitted {
			out = append(out, a)
		}
	}
	return out, nil
}

// ResolveWarehouse returns the ID and code of a warehouse named by code or
// ID, or EINVALID "unknown-warehouse" on field.
func (tx *Tx) ResolveWarehouse(ctx context.Context, ref, field string) (id, code string, err error) {
	w, err := invResolve(ctx, tx, ref, field)
	return w.id, w.code, err
}

// InsertFulfillment stores a fulfillment in the transaction.
func (tx *Tx) InsertFulfillment(ctx context.Context, f orderops.Fulfillment) error {
	lines, err := json.Marshal(f.Lines)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO order_fulfillments (id, order_id, warehouse_id, warehouse, lines, tracking_number, carrier, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, f.ID, f.OrderID, f.WarehouseID, f.Warehouse, string(lines), f.TrackingNumber, f.Carrier, micros(f.CreatedAt))
	return conflictOr(err, "fulfillment-exists", "A fulfillment with this ID exists.")
}

// OrderFulfillments lists an order's fulfillments, oldest first, in the
// transaction.
func (tx *Tx) OrderFulfillments(ctx context.Context, orderID string) ([]orderops.Fulfillment, error) {
	return orderFulfillments(ctx, tx, orderID)
}

func orderFulfillments(ctx context.Context, r Reader, orderID string) ([]orderops.Fulfillment, error) {
	rows, err := r.QueryContext(ctx, `SELECT id, order_id, warehouse_id, warehouse, lines, tracking_number, carrier, created_at
		FROM order_fulfillments WHERE order_id = $1 ORDER BY created_at, id`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []orderops.Fulfillment{}
	for rows.Next() {
		var f orderops.Fulfillment
		var lines string
		var created int64
		if err := rows.Scan(&f.ID, &f.OrderID, &f.WarehouseID, &f.Warehouse, &lines, &f.TrackingNumber, &f.Carrier, &created); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(lines), &f.Lines); err != nil {
			return nil, err
		}
		f.CreatedAt = fromMicros(created)
		out = append(out, f)
	}
	return out, rows.Err()
}

// InsertOrderReturn stores a return in the transaction.
func (tx *Tx) InsertOrderReturn(ctx context.Context, r orderops.Return) error {
	lines, err := json.Marshal(r.Lines)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO order_returns (id, order_id, warehouse_id, warehouse, lines, refunded, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, r.ID, r.OrderID, r.WarehouseID, r.Warehouse, string(lines), r.Refund.Amount, micros(r.CreatedAt))
	return conflictOr(err, "return-exists", "A return with this ID exists.")
}

// OrderReturns lists an order's returns, oldest first, in the transaction.
func (tx *Tx) OrderReturns(ctx context.Context, orderID string) ([]orderops.Return, error) {
	rows, err := tx.QueryContext(ctx, `SELECT r.id, r.order_id, r.warehouse_id, r.warehouse, r.lines, r.refunded, r.created_at, o.currency
		FROM order_returns r JOIN orders o ON o.id = r.order_id WHERE r.order_id = $1 ORDER BY r.created_at, r.id`, orderID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []orderops.Return{}
	for rows.Next() {
		var r orderops.Return
		var lines string
		var created int64
		if err := rows.Scan(&r.ID, &r.OrderID, &r.WarehouseID, &r.Warehouse, &lines, &r.Refund.Amount, &created, &r.Refund.Currency); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(lines), &r.Lines); err != nil {
			return nil, err
		}
		r.CreatedAt = fromMicros(created)
		out = append(out, r)
	}
	return out, rows.Err()
}

// SucceededRefunds sums the payment's refunds the gateway confirmed, in the
// transaction.
func (tx *Tx) SucceededRefunds(ctx context.Context, paymentID string) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM payment_refunds WHERE payment_id = $1 AND status = 'succeeded'`, paymentID).Scan(&n)
	return n, err
}
