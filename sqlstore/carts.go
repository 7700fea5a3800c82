package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/shopd/shopd"
	"github.com/shopd/shopd/cart"
)

// CartStore implements cart.Store.
type CartStore struct{ db *DB }

var _ cart.Store = (*CartStore)(nil)

// Carts returns the cart store.
func (db *DB) Carts() *CartStore { return &CartStore{db: db} }

const cartColumns = `id, market, customer_id, region, discount_code, created_at, updated_at, expires_at`

// CreateCart implements cart.Store. A drop's shoppers each make a cart,
// so carts are most of its commits: on PostgreSQL the carts asked for at
// the same moment are made in one transaction (coalesced.go), and a cart is
// neither an order nor a payment, so its commit does not wait for the
// disk (see Tx.commitLazily).
func (s *CartStore) CreateCart(ctx context.Context, c cart.Cart) error {
	if s.db.batch.newCarts != nil {
		_, err := s.db.batch.newCarts.Do(ctx, c)
		return err
	}
	return s.db.createCarts(ctx, []cart.Cart{c})
}

// createCarts makes carts in one transaction, their rows in one round
// trip.
func (db *DB) createCarts(ctx context.Context, cs []cart.Cart) error {
	var carts, lines [][]any
	for _, c := range cs {
		carts = append(carts, []any{c.ID, c.Market, sql.NullString{String: c.CustomerID, Valid: c.CustomerID != ""}, c.Region, c.DiscountCode,
			micros(c.CreatedAt), micros(c.UpdatedAt), micros(c.ExpiresAt)})
		for i, l := range c.Lines {
			lines = append(lines, cartLineRow(c.ID, l, i+1))
		}
	}
	return db.InTx(ctx, func(tx *Tx) error {
		return tx.Pipeline(ctx, func() error {
			if err := tx.commitLazily(ctx); err != nil {
				return err
			}
			if err := tx.insertRows(ctx, `INSERT INTO carts (`+cartColumns+`) VALUES `, carts); err != nil {
				return err
			}
			return cartLinesMapped(tx, func() error {
				return tx.insertRows(ctx, `INSERT INTO cart_lines (`+cartLineColumns+`) VALUES `, lines)
			})
		})
	})
}

const cartLineColumns = `id, cart_id, variant_id, quantity, position, created_at, updated_at`

// cartLineRow is a cart line's row of cartLineColumns.
func cartLineRow(cartID string, l cart.Line, position int) []any {
	return []any{l.ID, cartID, l.VariantID, l.Quantity, position, micros(l.CreatedAt), micros(l.UpdatedAt)}
}

// cartLinesMapped runs fn, which inserts cart lines, telling a variant
// already in its cart.
func cartLinesMapped(tx *Tx, fn func() error) error {
	return tx.errorsMapped(func(err error) error {
		return conflictOr(err, "cart-line-exists", "The cart already has a line for this variant.")
	}, fn)
}

func insertCartLine(ctx context.Context, tx *Tx, cartID string, l cart.Line, position int) error {
	return cartLinesMapped(tx, func() error {
		return tx.exec(ctx, nil, `INSERT INTO cart_lines (`+cartLineColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`, cartLineRow(cartID, l, position)...)
	})
}

// writeCartChange stores c over cart id as it was (its lines old, at
// oldPos), committed lazily (see CreateCart).
func writeCartChange(ctx context.Context, tx *Tx, id string, c cart.Cart, old map[string]cart.Line, oldPos map[string]int) error {
	if err := tx.commitLazily(ctx); err != nil {
		return err
	}
	if err := tx.exec(ctx, nil, `UPDATE carts SET region = $2, discount_code = $3, updated_at = $4, expires_at = $5 WHERE id = $1`,
		id, c.Region, c.DiscountCode, micros(c.UpdatedAt), micros(c.ExpiresAt)); err != nil {
		return err
	}
	keep := make(map[string]bool, len(c.Lines))
	for _, l := range c.Lines {
		keep[l.ID] = true
	}
	// Delete first, so that a variant removed and added again in one
	// change does not trip the (cart, variant) unique index.
	for lid := range old {
		if !keep[lid] {
			if err := tx.exec(ctx, nil, `DELETE FROM cart_lines WHERE id = $1 AND cart_id = $2`, lid, id); err != nil {
				return err
			}
		}
	}
	for i, l := range c.Lines {
		prev, existed := old[l.ID]
		switch {
		case !existed:
			if err := insertCartLine(ctx, tx, id, l, i+1); err != nil {
				return err
			}
		case prev != l || oldPos[l.ID] != i+1:
			if err := tx.exec(ctx, nil, `UPDATE cart_lines SET quantity = $3, position = $4, updated_at = $5 WHERE id = $1 AND cart_id = $2`,
				l.ID, id, l.Quantity, i+1, micros(l.UpdatedAt)); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadCart reads a cart and its lines in one statement: one snapshot, one
// round trip.
func loadCart(ctx context.Context, r Reader, id string) (cart.Cart, error) {
	carts, err := loadCarts(ctx, r, []string{id})
	return found(carts, id, err, cart.ErrCartNotFound)
}

// loadCarts reads carts (up to 256) and their lines in one statement.
func loadCarts(ctx context.Context, r Reader, ids []string) (map[string]cart.Cart, error) {
	in, args := inList(r.Dialect(), ids)
	rows, err := r.QueryContext(ctx, cartsByID(r.Dialect(), in), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]cart.Cart, len(ids))
	for rows.Next() {
		c := cart.Cart{Lines: []cart.Line{}}
		var customer, lineID, variantID sql.NullString
		var created, updated, expires int64
		var quantity, lineCreated, lineUpdated sql.NullInt64
		if err := rows.Scan(&c.ID, &c.Market, &customer, &c.Region, &c.DiscountCode, &created, &updated, &expires,
			&lineID, &variantID, &quantity, &lineCreated, &lineUpdated); err != nil {
			return nil, err
		}
		if seen, ok := out[c.ID]; ok {
			c = seen
		} else {
			c.CustomerID = customer.String
			c.CreatedAt, c.UpdatedAt, c.ExpiresAt = fromMicros(created), fromMicros(updated), fromMicros(expires)
		}
		if lineID.Valid {
			c.Lines = append(c.Lines, cart.Line{ID: lineID.String, VariantID: variantID.String, Quantity: int(quantity.Int64),
				CreatedAt: fromMicros(lineCreated.Int64), UpdatedAt: fromMicros(lineUpdated.Int64)})
		}
		out[c.ID] = c
	}
	return out, rows.Err()
}

// cartsByID reads carts and their lines by an IN list of cart IDs.
func cartsByID(d Dialect, in string) string {
	return `SELECT c.id, c.market, c.customer_id, c.region, c.discount_code, c.created_at, c.updated_at,
		c.expires_at, l.id, l.variant_id, l.quantity, l.created_at, l.updated_at
		FROM carts c` + d.ChildJoin("cart_lines", "l", "cart_id", "c.id") + ` WHERE c.id IN ` + in + ` ORDER BY c.id, l.position, l.id`
}

// Cart implements cart.Store. It returns ENOTFOUND "cart-not-found".
func (s *CartStore) Cart(ctx context.Context, id string) (cart.Cart, error) {
	if s.db.batch.carts != nil {
		return s.db.batch.carts.Do(ctx, id)
	}
	return loadCart(ctx, s.db.reader(), id)
}

// lockCart locks a cart's row, which guards its lines, then reads it. The
// lock comes first, in a statement of its own: PostgreSQL re-reads a row it
// waited for, but not the rows joined to it, which would be a snapshot
// older than the change that held the lock.
func lockCart(ctx context.Context, tx *Tx, id string) (cart.Cart, error) {
	var locked string
	err := tx.QueryRowContext(ctx, `SELECT id FROM carts WHERE id = $1`+tx.Dialect().ForUpdate(), id).Scan(&locked)
	if errors.Is(err, sql.ErrNoRows) {
		return cart.Cart{}, cart.ErrCartNotFound
	} else if err != nil {
		return cart.Cart{}, err
	}
	return loadCart(ctx, tx, id)
}

// UpdateCart implements cart.Store. The cart's row lock serializes changes
// to one cart; lines are written as a difference (inserted, updated,
// deleted), and their positions follow the order fn leaves them in. The
// owner and market never change.
func (s *CartStore) UpdateCart(ctx context.Context, id string, fn func(c *cart.Cart) error) (cart.Cart, error) {
	var out cart.Cart
	err := s.db.InTx(ctx, func(tx *Tx) error {
		c, err := lockCart(ctx, tx, id)
		if err != nil {
			return err
		}
		old := make(map[string]cart.Line, len(c.Lines))
		oldPos := make(map[string]int, len(c.Lines))
		for i, l := range c.Lines {
			old[l.ID], oldPos[l.ID] = l, i+1
		}
		c.Lines = slices.Clone(c.Lines)
		if err := fn(&c); err != nil {
			return err
		}
		if err := tx.Pipeline(ctx, func() error { return writeCartChange(ctx, tx, id, c, old, oldPos) }); err != nil {
			return err
		}
		out = c
		return nil
	})
	if err != nil {
		return cart.Cart{}, err
	}
	return out, nil
}

// DeleteExpiredCarts implements cart.Store; lines go with their carts.
func (s *CartStore) DeleteExpiredCarts(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int64
	err := s.db.InTx(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM carts WHERE id IN (
			SELECT id FROM carts WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2)`, micros(now), limit)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

const discountColumns = `id, code, kind, rate, amount, currency, minimum_subtotal, starts_at, ends_at, usage_limit,
	per_customer_limit, active, times_used, created_at, updated_at`

func scanDiscount(row interface{ Scan(...any) error }) (cart.Discount, error) {
	var d cart.Discount
	var kind, currency string
	var rate, amount, minimum, created, updated int64
	var starts, ends sql.NullInt64
	err := row.Scan(&d.ID, &d.Code, &kind, &rate, &amount, &currency, &minimum, &starts, &ends, &d.UsageLimit,
		&d.PerCustomerLimit, &d.Active, &d.TimesUsed, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return cart.Discount{}, cart.ErrDiscountNotFound
	} else if err != nil {
		return cart.Discount{}, err
	}
	d.Kind, d.Rate = cart.Kind(kind), shopd.Rate(rate)
	if d.Kind == cart.KindFixed {
		d.Amount = shopd.Money{Amount: amount, Currency: currency}
	}
	if minimum > 0 {
		d.MinSubtotal = shopd.Money{Amount: minimum, Currency: currency}
	}
	d.StartsAt, d.EndsAt = fromNullMicros(starts), fromNullMicros(ends)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
	return d, nil
}

// discountRow is a discount's stored amount columns.
func discountRow(d cart.Discount) (amount int64, currency string) {
	if d.Kind == cart.KindFixed {
		return d.Amount.Amount, d.Amount.Currency
	}
	return 0, d.MinSubtotal.Currency
}

// CreateDiscount implements cart.Store. It returns ECONFLICT
// "discount-code-taken".
func (s *CartStore) CreateDiscount(ctx context.Context, d cart.Discount) error {
	amount, currency := discountRow(d)
	return s.db.InTx(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO discounts (`+discountColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			d.ID, d.Code, string(d.Kind), int64(d.Rate), amount, currency, d.MinSubtotal.Amount, nullMicros(d.StartsAt),
			nullMicros(d.EndsAt), d.UsageLimit, d.PerCustomerLimit, d.Active, d.TimesUsed, micros(d.CreatedAt), micros(d.UpdatedAt))
		return conflictOr(err, "discount-code-taken", "A discount with this code exists.")
	})
}

// Discount implements cart.Store. It returns ENOTFOUND "discount-not-found".
func (s *CartStore) Discount(ctx context.Context, id string) (cart.Discount, error) {
	return scanDiscount(s.db.reader().QueryRowContext(ctx, `SELECT `+discountColumns+` FROM discounts WHERE id = $1`, id))
}

// DiscountByCode implements cart.Store. It returns ENOTFOUND
// "discount-not-found".
func (s *CartStore) DiscountByCode(ctx context.Context, code string) (cart.Discount, error) {
	return scanDiscount(s.db.reader().QueryRowContext(ctx, `SELECT `+discountColumns+` FROM discounts WHERE code = $1`, code))
}

// Discounts implements cart.Store: newest first (IDs are time-ordered).
func (s *CartStore) Discounts(ctx context.Context, f cart.DiscountFilter) (cart.DiscountPage, error) {
	q, args := `SELECT `+discountColumns+` FROM discounts`, []any{f.Limit + 1}
	if f.Cursor != "" {
		q += ` WHERE id < $2`
		args = append(args, f.Cursor)
	}
	rows, err := s.db.reader().QueryContext(ctx, q+` ORDER BY id DESC LIMIT $1`, args...)
	if err != nil {
		return cart.DiscountPage{}, err
	}
	defer rows.Close()
	page := cart.DiscountPage{Discounts: []cart.Discount{}}
	for rows.Next() {
		d, err := scanDiscount(rows)
		if err != nil {
			return cart.DiscountPage{}, err
		}
		page.Discounts = append(page.Discounts, d)
	}
	if err := rows.Err(); err != nil {
		return cart.DiscountPage{}, err
	}
	if len(page.Discounts) > f.Limit {
		page.Discounts = page.Discounts[:f.Limit]
		page.NextCursor = page.Discounts[f.Limit-1].ID
	}
	return page, nil
}

// UpdateDiscount implements cart.Store. The code, kind and times_used are
// never written here.
func (s *CartStore) UpdateDiscount(ctx context.Context, id string, fn func(d *cart.Discount) error) (cart.Discount, error) {
	var out cart.Discount
	err := s.db.InTx(ctx, func(tx *Tx) error {
		d, err := scanDiscount(tx.QueryRowContext(ctx, `SELECT `+discountColumns+` FROM discounts WHERE id = $1`+tx.Dialect().ForUpdate(), id))
		if err != nil {
			return err
		}
		if err := fn(&d); err != nil {
			return err
		}
		amount, currency := discountRow(d)
		if _, err := tx.ExecContext(ctx, `UPDATE discounts SET rate = $2, amount = $3, currency = $4, minimum_subtotal = $5,
			starts_at = $6, ends_at = $7, usage_limit = $8, per_customer_limit = $9, active = $10, updated_at = $11 WHERE id = $1`,
			id, int64(d.Rate), amount, currency, d.MinSubtotal.Amount, nullMicros(d.StartsAt), nullMicros(d.EndsAt),
			d.UsageLimit, d.PerCustomerLimit, d.Active, micros(d.UpdatedAt)); err != nil {
			return err
		}
		out, err = scanDiscount(tx.QueryRowContext(ctx, `SELECT `+discountColumns+` FROM discounts WHERE id = $1`, id))
		return err
	})
	return out, err
}

// DiscountUses implements cart.Store.
func (s *CartStore) DiscountUses(ctx context.Context, discountID, customer string) (int, error) {
	var n int
	err := s.db.reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM discount_redemptions WHERE discount_id = $1 AND customer = $2`,
		discountID, NormalizeDiscountCustomer(customer)).Scan(&n)
	return n, err
}

// NormalizeDiscountCustomer returns the form in which a buyer's key for
// per-customer limits is stored: trimmed, and lower-cased (an email's case
// does not make another buyer; customer IDs have no lower-case letters, so
// they are stored as given).
func NormalizeDiscountCustomer(customer string) string {
	customer = strings.TrimSpace(customer)
	if strings.Contains(customer, "@") {
		return strings.ToLower(customer)
	}
	return customer
}

// RedeemDiscount consumes one use of the discount code for an order, inside
// the checkout's transaction, and returns the discount as redeemed (with
// TimesUsed counting this use). customer is the buyer's key for the
// per-customer limit: a customer ID, or a guest's email (compared without
// regard to case); orderRef names the order (one redemption per order).
//
// Both limits hold exactly under any concurrency: the discount's row is
// locked first, so redemptions of one code run one at a time; the
// customer's redemptions are counted under that lock (PostgreSQL's READ
// COMMITTED gives each statement a fresh snapshot, so the count sees every
// committed redemption); and times_used is raised by a conditional UPDATE
// that re-checks the total limit. A failed check writes nothing, so the
// caller's transaction is left as it was. Call it after locking stock rows,
// in the same order in every checkout, so that transactions never wait on
// each other in a cycle.
//
// It returns ENOTFOUND "discount-not-found" (unknown or switched off),
// EINVALID "discount-not-started", "discount-expired", or "validation" (no
// customer key for a code with a per-customer limit; an empty or oversize
// orderRef), and ECONFLICT "discount-exhausted", "discount-limit-reached" or
// "discount-already-redeemed" (orderRef already redeemed a code).
func (tx *Tx) RedeemDiscount(ctx context.Context, code, customer, orderRef string) (cart.Discount, error) {
	customer = NormalizeDiscountCustomer(customer)
	var v shopd.Validation
	v.Check(orderRef != "" && len(orderRef) <= 200, "order_ref", "must be 1 to 200 characters")
	v.Check(len(customer) <= 320, "customer", "must be at most 320 characters")
	if err := v.Err(); err != nil {
		return cart.Discount{}, err
	}
	code = cart.NormalizeCode(code)
	if !cart.ValidCode(code) {
		return cart.Discount{}, cart.ErrDiscountNotFound
	}
	d, err := scanDiscount(tx.QueryRowContext(ctx, `SELECT `+discountColumns+` FROM discounts WHERE code = $1`+tx.Dialect().ForUpdate(), code))
	if err != nil {
		return cart.Discount{}, err
	}
	if err := d.CheckTime(tx.Now()); err != nil {
		return cart.Discount{}, err
	}
	if d.PerCustomerLimit > 0 && customer == "" {
		v.Addf("customer", "is required: the code has a per-customer limit")
		return cart.Discount{}, v.Err()
	}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM discount_redemptions WHERE order_ref = $1)`, orderRef).Scan(&exists); err != nil {
		return cart.Discount{}, err
	}
	if exists {
		return cart.Discount{}, shopd.TypedErrorf(shopd.ECONFLICT, "discount-already-redeemed", "This order already redeemed a discount code.")
	}
	uses := -1
	if d.PerCustomerLimit > 0 {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM discount_redemptions WHERE discount_id = $1 AND customer = $2`,
			d.ID, customer).Scan(&uses); err != nil {
			return cart.Discount{}, err
		}
	}
	if err := d.CheckUses(uses); err != nil {
		return cart.Discount{}, err
	}
	res, err := tx.ExecContext(ctx, `UPDATE discounts SET times_used = times_used + 1
		WHERE id = $1 AND (usage_limit = 0 OR times_used < usage_limit)`, d.ID)
	if err != nil {
		return cart.Discount{}, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return cart.Discount{}, err
	} else if n != 1 {
		return cart.Discount{}, cart.ErrDiscountExhausted
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO discount_redemptions (order_ref, discount_id, customer, created_at) VALUES ($1, $2, $3, $4)`,
		orderRef, d.ID, customer, micros(tx.Now())); err != nil {
		return cart.Discount{}, conflictOr(err, "discount-already-redeemed", "This order already redeemed a discount code.")
	}
	d.TimesUsed++
	return d, nil
}

// ReleaseDiscount gives back the use an order's redemption took (a checkout
// that failed after RedeemDiscount committed, an order canceled before
// payment). It reports whether there was a redemption to release; releasing
// twice is harmless.
func (tx *Tx) ReleaseDiscount(ctx context.Context, orderRef string) (bool, error) {
	var discountID string
	err := tx.QueryRowContext(ctx, `DELETE FROM discount_redemptions WHERE order_ref = $1 RETURNING discount_id`, orderRef).Scan(&discountID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE discounts SET times_used = times_used - 1 WHERE id = $1 AND times_used > 0`, discountID)
	return err == nil, err
}
