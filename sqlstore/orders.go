package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/order"
)

// OrderStore implements order.Store.
type OrderStore struct{ db *DB }

var _ order.Store = (*OrderStore)(nil)

// Orders returns the order store.
func (db *DB) Orders() *OrderStore { return &OrderStore{db: db} }

// InsertOrder stores a new order with its lines in the transaction. It
// refuses an order that does not add up (order.Order.Check).
func (tx *Tx) InsertOrder(ctx context.Context, o order.Order) error {
	return tx.InsertOrders(ctx, []order.Order{o})
}

// InsertOrders stores new orders with their lines in the transaction, a
// statement for up to 256 orders and one for up to 256 lines (box
// approval writes hundreds at once). It refuses an order that does not
// add up (order.Order.Check).
func (tx *Tx) InsertOrders(ctx context.Context, os []order.Order) error {
	var orders, lines [][]any
	for _, o := range os {
		if err := o.Check(); err != nil {
			return err
		}
		shipTo, err := json.Marshal(o.ShipTo)
		if err != nil {
			return err
		}
		orders = append(orders, []any{o.ID, nullString(o.CustomerID), o.Email, o.Market, o.Total.Currency, string(o.Status), o.TaxIncluded,
			o.Subtotal.Amount, o.Discount.Amount, o.DiscountCode, o.Shipping.Amount, o.Tax.Amount, o.Total.Amount, o.Refunded.Amount,
			string(shipTo), o.PaymentID, micros(o.CreatedAt), micros(o.UpdatedAt), nullMicros(o.PaidAt), nullMicros(o.CanceledAt)})
		for i, l := range o.Lines {
			opts, err := json.Marshal(l.Options)
			if err != nil {
				return err
			}
			lines = append(lines, []any{l.ID, o.ID, i, l.VariantID, l.ProductID, l.SKU, l.Title, string(opts),
				l.Quantity, l.UnitPrice.Amount, l.Subtotal.Amount, l.Discount.Amount, l.Tax.Amount, l.Total.Amount})
		}
	}
	err := tx.insertRows(ctx, `INSERT INTO orders (id, customer_id, email, market, currency, status, tax_included,
		subtotal, discount, discount_code, shipping, tax, total, refunded, ship_to, payment_id, created_at, updated_at, paid_at, canceled_at) VALUES `, orders)
	if err != nil {
		return conflictOr(err, "order-exists", "An order with this ID exists.")
	}
	return tx.insertRows(ctx, `INSERT INTO order_lines (id, order_id, position, variant_id, product_id, sku, title, options,
		quantity, unit_price, subtotal, discount, tax, total) VALUES `, lines)
}

// UpdateOrderStatus stores an order's status, timestamps, refunded amount
// and payment in the transaction.
func (tx *Tx) UpdateOrderStatus(ctx context.Context, o order.Order) error {
	return tx.UpdateOrderStatuses(ctx, []order.Order{o})
}

// UpdateOrderStatuses stores many orders' statuses as UpdateOrderStatus
// does one, with one statement per few hundred.
func (tx *Tx) UpdateOrderStatuses(ctx context.Context, os []order.Order) error {
	rows := make([][]any, len(os))
	for i, o := range os {
		rows[i] = []any{o.ID, string(o.Status), o.Refunded.Amount, o.PaymentID, micros(o.UpdatedAt), nullMicros(o.PaidAt), nullMicros(o.CanceledAt)}
	}
	return tx.updateRows(ctx, "orders", orderStatusColumns, rows)
}

var orderStatusColumns = []column{{"id", "TEXT"}, {"status", "TEXT"}, {"refunded", "BIGINT"}, {"payment_id", "TEXT"},
	{"updated_at", "BIGINT"}, {"paid_at", "BIGINT"}, {"canceled_at", "BIGINT"}}

// LockOrders reads orders under row locks, in ID order.
func (tx *Tx) LockOrders(ctx context.Context, ids []string) ([]order.Order, error) {
	os, err := lockIn(ctx, tx, ids, readOrders)
	if shopd.ErrorCode(err) == shopd.ENOTFOUND {
		return nil, errOrderNotFound
	}
	return os, err
}

// LockOrder reads an order under a row lock in the transaction.
func (tx *Tx) LockOrder(ctx context.Context, id string) (order.Order, error) {
	os, err := readOrders(ctx, tx, `WHERE id = $1`+tx.Dialect().ForUpdate(), id)
	if err != nil {
		return order.Order{}, err
	}
	if len(os) == 0 {
		return order.Order{}, errOrderNotFound
	}
	return os[0], nil
}

var errOrderNotFound = shopd.TypedErrorf(shopd.ENOTFOUND, "order-not-found", "No such order.")

// Order implements order.Store.
func (s *OrderStore) Order(ctx context.Context, id string) (order.Order, error) {
	os, err := readOrders(ctx, s.db.reader(), `WHERE id = $1`, id)
	if err != nil {
		return order.Order{}, err
	}
	if len(os) == 0 {
		return order.Order{}, errOrderNotFound
	}
	return os[0], nil
}

// Orders implements order.Store.
func (s *OrderStore) Orders(ctx context.Context, f order.Filter) ([]order.Order, error) {
	var where []string
	var args params
	for _, c := range []struct{ cond, v string }{
		{"customer_id = ", f.CustomerID}, {"status = ", string(f.Status)}, {"email = ", f.Email}, {"market = ", f.Market}, {"id < ", f.Before},
	} {
		if c.v != "" {
			where = append(where, c.cond+args.add(c.v))
		}
	}
	q := ""
	if len(where) > 0 {
		q = "WHERE " + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ` + args.add(f.Limit)
	return readOrders(ctx, s.db.reader(), q, args...)
}

// UpdateOrder implements order.Store.
func (s *OrderStore) UpdateOrder(ctx context.Context, id string, fn func(o *order.Order) error) (order.Order, error) {
	var out order.Order
	err := s.db.InTx(ctx, func(tx *Tx) error {
		o, err := tx.LockOrder(ctx, id)
		if err != nil {
			return err
		}
		if err := fn(&o); err != nil {
			return err
		}
		out = o
		return tx.UpdateOrderStatus(ctx, o)
	})
	return out, err
}

// readOrders loads the orders a WHERE clause selects, with their lines, in
// two queries.
func readOrders(ctx context.Context, r Reader, where string, args ...any) ([]order.Order, error) {
	rows, err := r.QueryContext(ctx, `SELECT id, customer_id, email, market, currency, status, tax_included, subtotal, discount, discount_code,
		shipping, tax, total, refunded, ship_to, payment_id, created_at, updated_at, paid_at, canceled_at FROM orders `+where, args...)
	if err != nil {
		return nil, err
	}
	var out []order.Order
	byID := map[string]int{}
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			var o order.Order
			var customer sql.NullString
			var cur, shipTo string
			var sub, disc, ship, tax, total, refunded, created, updated int64
			var paid, canceled sql.NullInt64
			if err := rows.Scan(&o.ID, &customer, &o.Email, &o.Market, &cur, &o.Status, &o.TaxIncluded, &sub, &disc, &o.DiscountCode,
				&ship, &tax, &total, &refunded, &shipTo, &o.PaymentID, &created, &updated, &paid, &canceled); err != nil {
				return err
			}
			m := func(n int64) shopd.Money { return shopd.Money{Amount: n, Currency: cur} }
			o.CustomerID = customer.String
			o.Subtotal, o.Discount, o.Shipping, o.Tax, o.Total, o.Refunded = m(sub), m(disc), m(ship), m(tax), m(total), m(refunded)
			o.RefundStatus = order.RefundStatusFor(total, refunded)
			o.CreatedAt, o.UpdatedAt, o.PaidAt, o.CanceledAt = fromMicros(created), fromMicros(updated), fromNullMicros(paid), fromNullMicros(canceled)
			if err := json.Unmarshal([]byte(shipTo), &o.ShipTo); err != nil {
				return err
			}
			o.Lines = []order.Line{}
			byID[o.ID] = len(out)
			out = append(out, o)
		}
		return rows.Err()
	}()
	if err != nil || len(out) == 0 {
		return out, err
	}
	var ids params
	ph := make([]string, 0, len(out))
	for _, o := range out {
		ph = append(ph, ids.add(o.ID))
	}
	lines, err := r.QueryContext(ctx, `SELECT order_id, id, variant_id, product_id, sku, title, options, quantity, unit_price, subtotal, discount, tax, total
		FROM order_lines WHERE order_id IN (`+strings.Join(ph, ", ")+`) ORDER BY order_id, position`, ids...)
	if err != nil {
		return nil, err
	}
	defer lines.Close()
	for lines.Next() {
		var orderID, opts string
		var l order.Line
		var unit, sub, disc, tax, total int64
		if err := lines.Scan(&orderID, &l.ID, &l.VariantID, &l.ProductID, &l.SKU, &l.Title, &opts, &l.Quantity, &unit, &sub, &disc, &tax, &total); err != nil {
			return nil, err
		}
		o := &out[byID[orderID]]
		cur := o.Total.Currency
		l.UnitPrice, l.Subtotal, l.Discount = shopd.Money{Amount: unit, Currency: cur}, shopd.Money{Amount: sub, Currency: cur}, shopd.Money{Amount: disc, Currency: cur}
		l.Tax, l.Total = shopd.Money{Amount: tax, Currency: cur}, shopd.Money{Amount: total, Currency: cur}
		if err := json.Unmarshal([]byte(opts), &l.Options); err != nil {
			return nil, err
		}
		o.Lines = append(o.Lines, l)
	}
	if err := lines.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
