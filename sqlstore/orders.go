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
	err := tx.errorsMapped(func(err error) error {
		return conflictOr(err, "order-exists", "An order with this ID exists.")
	}, func() error {
		return tx.insertRows(ctx, `INSERT INTO orders (id, customer_id, email, market, currency, status, tax_included,
		subtotal, discount, discount_code, shipping, tax, total, refunded, ship_to, payment_id, created_at, updated_at, paid_at, canceled_at) VALUES `, orders)
	})
	if err != nil {
		return err
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
	if s.db.batch.orders != nil {
		return s.db.batch.orders.Do(ctx, id) // coalesced.go
	}
	return readOrder(ctx, s.db.reader(), id)
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

// readOrders loads the orders a WHERE clause selects, then their lines.
func readOrders(ctx context.Context, r Reader, where string, args ...any) ([]order.Order, error) {
	rows, err := r.QueryContext(ctx, `SELECT `+orderColumns+` FROM orders o `+where, args...)
	if err != nil {
		return nil, err
	}
	var out []order.Order
	byID := map[string]int{}
	err = func() error {
		defer rows.Close()
		for rows.Next() {
			var os orderScan
			if err := rows.Scan(os.dest()...); err != nil {
				return err
			}
			o, err := os.order()
			if err != nil {
				return err
			}
			byID[o.ID] = len(out)
			out = append(out, o)
		}
		return rows.Err()
	}()
	if err != nil || len(out) == 0 {
		return out, err
	}
	ids := make([]string, len(out))
	for i, o := range out {
		ids[i] = o.ID
	}
	for in, args := range inLists(r.Dialect(), ids) {
		if err := readLines(ctx, r, in, args, func(id string) *order.Order { return &out[byID[id]] }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readLines reads the lines of the orders in an IN list and appends each to
// the order of its ID.
func readLines(ctx context.Context, r Reader, in string, args []any, of func(id string) *order.Order) error {
	rows, err := r.QueryContext(ctx, ordersWithLines(r.Dialect(), `o.id, `+lineColumns, in), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var orderID string
		var ls lineScan
		if err := rows.Scan(append([]any{&orderID}, ls.dest()...)...); err != nil {
			return err
		}
		if err := ls.appendTo(of(orderID)); err != nil {
			return err
		}
	}
	return rows.Err()
}

// readOrder loads one order with its lines in one statement (a read after
// every checkout: one round trip, where readOrders takes two).
func readOrder(ctx context.Context, r Reader, id string) (order.Order, error) {
	os, err := readOrdersByID(ctx, r, []string{id})
	return found(os, id, err, errOrderNotFound)
}

// readOrdersByID loads orders (up to 256) with their lines in one
// statement.
func readOrdersByID(ctx context.Context, r Reader, ids []string) (map[string]order.Order, error) {
	in, args := inList(r.Dialect(), ids)
	rows, err := r.QueryContext(ctx, ordersWithLines(r.Dialect(), orderColumns+`, `+lineColumns, in), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]order.Order, len(ids))
	for rows.Next() {
		var os orderScan
		var ls lineScan
		if err := rows.Scan(append(os.dest(), ls.dest()...)...); err != nil {
			return nil, err
		}
		o, ok := out[os.o.ID]
		if !ok {
			if o, err = os.order(); err != nil {
				return nil, err
			}
		}
		if err := ls.appendTo(&o); err != nil {
			return nil, err
		}
		out[o.ID] = o
	}
	return out, rows.Err()
}

// ordersWithLines reads columns of orders (o) and their lines (l) by an IN
// list of order IDs, one row per line (or per order without lines).
func ordersWithLines(d Dialect, columns, in string) string {
	return `SELECT ` + columns + ` FROM orders o` + d.ChildJoin("order_lines", "l", "order_id", "o.id") +
		` WHERE o.id IN ` + in + ` ORDER BY o.id, l.position`
}

// orderColumns are an order's columns (orders o) in orderScan's order.
const orderColumns = `o.id, o.customer_id, o.email, o.market, o.currency, o.status, o.tax_included, o.subtotal, o.discount,
	o.discount_code, o.shipping, o.tax, o.total, o.refunded, o.ship_to, o.payment_id, o.created_at, o.updated_at, o.paid_at, o.canceled_at`

// orderScan receives a row of orderColumns.
type orderScan struct {
	o                                                   order.Order
	customer                                            sql.NullString
	cur, shipTo                                         string
	sub, disc, ship, tax, total, refunded, created, upd int64
	paid, canceled                                      sql.NullInt64
}

func (s *orderScan) dest() []any {
	o := &s.o
	return []any{&o.ID, &s.customer, &o.Email, &o.Market, &s.cur, &o.Status, &o.TaxIncluded, &s.sub, &s.disc, &o.DiscountCode,
		&s.ship, &s.tax, &s.total, &s.refunded, &s.shipTo, &o.PaymentID, &s.created, &s.upd, &s.paid, &s.canceled}
}

func (s *orderScan) order() (order.Order, error) {
	o := s.o
	m := func(n int64) shopd.Money { return shopd.Money{Amount: n, Currency: s.cur} }
	o.CustomerID = s.customer.String
	o.Subtotal, o.Discount, o.Shipping, o.Tax, o.Total, o.Refunded = m(s.sub), m(s.disc), m(s.ship), m(s.tax), m(s.total), m(s.refunded)
	o.RefundStatus = order.RefundStatusFor(s.total, s.refunded)
	o.CreatedAt, o.UpdatedAt, o.PaidAt, o.CanceledAt = fromMicros(s.created), fromMicros(s.upd), fromNullMicros(s.paid), fromNullMicros(s.canceled)
	o.Lines = []order.Line{}
	return o, json.Unmarshal([]byte(s.shipTo), &o.ShipTo)
}

// lineColumns are an order line's columns (order_lines l) in lineScan's
// order; all NULL when an outer join found no line.
const lineColumns = `l.id, l.variant_id, l.product_id, l.sku, l.title, l.options, l.quantity, l.unit_price, l.subtotal,
	l.discount, l.tax, l.total`

// lineScan receives a row of lineColumns.
type lineScan struct {
	id, variant, product, sku, title, opts sql.NullString
	quantity, unit, sub, disc, tax, total  sql.NullInt64
}

func (s *lineScan) dest() []any {
	return []any{&s.id, &s.variant, &s.product, &s.sku, &s.title, &s.opts, &s.quantity, &s.unit, &s.sub, &s.disc, &s.tax, &s.total}
}

// appendTo adds the line to o, if there is one.
func (s *lineScan) appendTo(o *order.Order) error {
	if !s.id.Valid {
		return nil
	}
	m := func(n sql.NullInt64) shopd.Money { return shopd.Money{Amount: n.Int64, Currency: o.Total.Currency} }
	l := order.Line{ID: s.id.String, VariantID: s.variant.String, ProductID: s.product.String, SKU: s.sku.String, Title: s.title.String,
		Quantity: s.quantity.Int64, UnitPrice: m(s.unit), Subtotal: m(s.sub), Discount: m(s.disc), Tax: m(s.tax), Total: m(s.total)}
	if err := json.Unmarshal([]byte(s.opts.String), &l.Options); err != nil {
		return err
	}
	o.Lines = append(o.Lines, l)
	return nil
}
